//! Switches for what the GoTo reference leaves open, fault injection, and the emulator's credentials.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a `PUT .../users/{userKey}` carrying `licenseKeys` (or `adminRoles`) does with the user's
/// existing grants. The reference marks this UNKNOWN (§3.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PutGrants {
    /// The list in the body becomes the user's whole list (default).
    #[default]
    Replace,
    /// The list in the body is added to what the user already holds; nothing is removed.
    Merge,
}

/// Where a user's `licenseKeys` and `adminRoles` can be seen. The reference notes they were absent
/// from a captured list fixture (§3.3, INFERRED).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantsVisibility {
    /// Users in the list and in per-user GET responses carry `licenseKeys` and `adminRoles` (default).
    #[default]
    InListAndGet,
    /// Only the per-user GET carries them; the list omits both.
    GetOnly,
    /// Users never carry `licenseKeys` (only `/licenses` `userKeys` tells who holds what);
    /// `adminRoles` appear only in the per-user GET.
    LicensesOnly,
}

/// How keys (account, user, license) are written in responses (§3.3: strings in list/get, numbers
/// in the create response and in licenses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeysAsNumbers {
    /// Strings in `/me`, user list and get; numbers in the "Add Users" response and in `/licenses`
    /// (`key`, `userKeys`) (default).
    #[default]
    Documented,
    /// Numbers everywhere.
    Always,
    /// Strings everywhere.
    Never,
}

/// What "Add Users" does with an email that a user of the account already has. The reference
/// has both: "Add Users" returns existing users too (§8.5), and the legacy "Create User" page
/// answers email conflicts with 409 (§10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExisting {
    /// The existing user comes back with its key (default).
    #[default]
    Returned,
    /// An email conflict: 409 for the whole request under `allOrNothing=true`, else an entry
    /// without `key`.
    Conflict,
}

/// What "Add Users" does with an email that has a GoTo identity in another account
/// (`identities_elsewhere`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnElsewhere {
    /// A transfer invitation (default): the user is listed with `invited_status`, its licenses
    /// show them in `invitedUserKeys` until they accept.
    #[default]
    Invite,
    /// An email conflict, as [`OnExisting::Conflict`].
    Conflict,
}

/// Whether `GET /licenses` pages (the reference: undocumented; clients call it without paging).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicensesPaging {
    /// `offset`/`pageSize` and `{results, total}`, like users (default).
    #[default]
    Paged,
    /// A plain JSON array of every license; `offset`/`pageSize` are refused with 400.
    Unpaged,
}

/// Deterministic fault injection. Same `seed` and same sequence of requests give the same faults
/// (the rate limit alone depends on timing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Seed of the pseudo-random generator that decides errors and dropped connections.
    pub seed: u64,
    /// Token bucket: at most this many requests per second (burst of the same size); more are
    /// answered 429. `None`: no rate limit.
    pub rate_limit_per_second: Option<u32>,
    /// Send a `Retry-After` header (whole seconds) with 429 responses. GoTo documents none.
    pub retry_after: bool,
    /// Fraction (0.0..=1.0) of requests answered with one of `error_statuses` before having any effect.
    pub error_rate: f64,
    /// Statuses chosen from (uniformly, by the seeded generator) for injected errors.
    pub error_statuses: Vec<u16>,
    /// Added latency before every response, in milliseconds.
    pub latency_ms: u64,
    /// Fraction (0.0..=1.0) of successful writes (POST, PUT, DELETE of users) after which the
    /// connection is reset without a response: the write has taken effect, the client sees an error.
    pub drop_after_write: f64,
    /// Whether the faults above also apply to `POST /oauth/token` (GoTo rate-limits per API).
    pub token_endpoint: bool,
    /// User-listing pages from this offset on come back empty, with the true `total`: a
    /// listing cut short. `None`: every page is whole.
    pub empty_pages_from: Option<usize>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 0,
            rate_limit_per_second: None,
            retry_after: false,
            error_rate: 0.0,
            error_statuses: vec![500, 502, 503],
            latency_ms: 0,
            drop_after_write: 0.0,
            token_endpoint: false,
            empty_pages_from: None,
        }
    }
}

/// An extra account that `/me` lists besides the emulated one. Its endpoints answer 403.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    pub key: String,
    pub name: String,
}

/// Everything the emulator can be told. `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// OAuth client id expected in the token endpoint's HTTP Basic auth.
    pub client_id: String,
    /// OAuth client secret expected in the token endpoint's HTTP Basic auth.
    pub client_secret: String,
    /// The personal access token accepted by `grant_type=personal_access_token`.
    pub pat: String,
    /// The refresh token accepted by `grant_type=refresh_token`.
    pub refresh_token: String,
    /// An access token that is always accepted and never expires. Empty: none.
    pub access_token: String,
    /// Lifetime of issued access tokens, in milliseconds (GoTo: 3600 s).
    pub token_ttl_ms: u64,
    /// `scope` reported in token responses.
    pub scope: String,
    /// Accounts that `/me` lists after the emulated one (a super admin of several accounts).
    pub extra_accounts: Vec<AccountRef>,
    /// Email of the calling admin for `/me`. `None`: the first user holding `SUPER_USER`, else a
    /// synthetic `SUPER_USER` admin outside the user list.
    pub admin_email: Option<String>,
    /// `pageSize` used when a list request gives none (GoTo's: UNKNOWN).
    pub default_page_size: usize,
    /// Larger `pageSize` values are silently capped to this (GoTo's maximum: UNKNOWN).
    pub max_page_size: usize,
    /// See [`PutGrants`].
    pub put_license_keys: PutGrants,
    /// Whether "Add Users" grants its top-level `licenseKeys`/`adminRoles` to users that already
    /// existed (they are added to what they hold). Default false: existing users only come back with
    /// their key.
    pub add_users_grants_existing: bool,
    /// Whether `licenseKeys` inside each object of "Add Users" `users[]` are granted too (in
    /// addition to the top-level list). Default false: only the top-level list counts.
    pub per_user_license_keys: bool,
    /// See [`GrantsVisibility`].
    pub grants_in_list: GrantsVisibility,
    /// See [`KeysAsNumbers`].
    pub keys_as_numbers: KeysAsNumbers,
    /// Refuse (409 `license.seats.exceeded`) a write that would give a license more holders than
    /// its `seats`.
    pub enforce_seats: bool,
    /// Status for a refused change of a locked identity field (403 or 400).
    pub locked_status: u16,
    /// `status` of users created by "Add Users".
    pub new_user_status: String,
    /// Digits put before generated user keys (e.g. to make keys longer than 64 bits).
    pub new_key_prefix: String,
    /// `allOrNothing` when "Add Users" is called without it (GoTo's "Create User" page: true).
    pub all_or_nothing_default: bool,
    /// Whether "Add Users" honours an `allOrNothing` parameter (false: the default always applies).
    pub all_or_nothing_honoured: bool,
    /// See [`OnExisting`].
    pub on_existing: OnExisting,
    /// Emails that have a GoTo identity in another account.
    pub identities_elsewhere: Vec<String>,
    /// See [`OnElsewhere`].
    pub on_elsewhere: OnElsewhere,
    /// `status` of a user invited and not yet accepted (values seen include `SUSPENDED`).
    pub invited_status: String,
    /// Whether invited users appear in the user list (else only a GET by key finds them).
    pub invited_in_list: bool,
    /// Token answers carry a `refresh_token`; a refresh-token grant rotates it (the old one
    /// stops working).
    pub refresh_token_in_answer: bool,
    /// An issued access token answers 401 after this many API requests: hours of a run,
    /// simulated without waiting. `None`: only `token_ttl_ms` expires tokens.
    pub token_max_uses: Option<u64>,
    /// See [`LicensesPaging`].
    pub licenses_paging: LicensesPaging,
    /// Status of `DELETE` for an unknown user (404; one connector's documentation: 502).
    pub delete_unknown_status: u16,
    /// Refuse (403 `insufficient.admin.role`) writes the calling admin's roles do not allow:
    /// creating users needs ADD_USERS, license changes MANAGE_SEATS, admin-role changes
    /// SUPER_USER, other user changes and deletes MANAGE_USERS; SUPER_USER may do everything.
    pub enforce_admin_roles: bool,
    /// Fault injection.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_id: "rollcall-test".into(),
            client_secret: "s3cret-client".into(),
            pat: "pat-123".into(),
            refresh_token: "rt-123".into(),
            access_token: "at-static".into(),
            token_ttl_ms: 3_600_000,
            scope: "identity: collab:".into(),
            extra_accounts: Vec::new(),
            admin_email: None,
            default_page_size: 100,
            max_page_size: 1000,
            put_license_keys: PutGrants::Replace,
            add_users_grants_existing: false,
            per_user_license_keys: false,
            grants_in_list: GrantsVisibility::InListAndGet,
            keys_as_numbers: KeysAsNumbers::Documented,
            enforce_seats: true,
            locked_status: 403,
            new_user_status: "ACTIVE".into(),
            new_key_prefix: String::new(),
            all_or_nothing_default: true,
            all_or_nothing_honoured: true,
            on_existing: OnExisting::Returned,
            identities_elsewhere: Vec::new(),
            on_elsewhere: OnElsewhere::Invite,
            invited_status: "SUSPENDED".into(),
            invited_in_list: true,
            refresh_token_in_answer: false,
            token_max_uses: None,
            licenses_paging: LicensesPaging::Paged,
            delete_unknown_status: 404,
            enforce_admin_roles: true,
            faults: Faults::default(),
        }
    }
}

/// Error for a switch value that is not one of the known names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue(pub String);

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown value {:?}", self.0)
    }
}

impl std::error::Error for UnknownValue {}

fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace('-', "_")
}

impl FromStr for PutGrants {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "replace" => Ok(PutGrants::Replace),
            "merge" => Ok(PutGrants::Merge),
            _ => Err(UnknownValue(s.into())),
        }
    }
}

impl FromStr for GrantsVisibility {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "in_list_and_get" => Ok(GrantsVisibility::InListAndGet),
            "get_only" => Ok(GrantsVisibility::GetOnly),
            "licenses_only" => Ok(GrantsVisibility::LicensesOnly),
            _ => Err(UnknownValue(s.into())),
        }
    }
}

impl FromStr for KeysAsNumbers {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "documented" => Ok(KeysAsNumbers::Documented),
            "always" => Ok(KeysAsNumbers::Always),
            "never" => Ok(KeysAsNumbers::Never),
            _ => Err(UnknownValue(s.into())),
        }
    }
}
