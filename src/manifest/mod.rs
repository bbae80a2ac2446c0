//! The manifest as written: `rollcall.yaml` and rollcall's own directory YAML files.
//!
//! These types mirror the YAML one to one (serde + schemars). Values that later checks
//! point at are `Spanned`, so a diagnostic can underline them. `validate` turns them
//! into the plain model the rest of rollcall works with.

pub mod files;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

pub use yaml::Spanned;

/// `rollcall.yaml`: the root of a manifest directory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rollcall manifest", description = "rollcall.yaml: what GoToMeeting accounts should exist and how")]
pub struct RawManifest {
    /// Manifest format version. Only 1 exists.
    #[schemars(with = "u32")]
    pub version: Option<Spanned<u64>>,
    /// Where the live accounts are.
    pub target: RawTarget,
    /// Which live accounts this manifest owns. Without it nothing is ever deprovisioned.
    #[serde(default)]
    pub scope: Option<RawScope>,
    /// Where people and groups come from: rollcall YAML paths or globs, or `{format, path}` entries.
    #[serde(default)]
    pub directory: Vec<RawDirectorySource>,
    /// Entra-style scoping filters: a record passes when any filter holds; a filter is a clause or a list of clauses that must all hold.
    #[serde(default)]
    pub scoping: Vec<RawScopingFilter>,
    /// Matching attributes in precedence order. Default: [email].
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub matching: Option<Spanned<Vec<Spanned<String>>>>,
    /// Role name -> what the account receives.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawRole>")]
    pub roles: Ordered<Spanned<String>, RawRole>,
    /// Target attribute <- source.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawMapping>")]
    pub mappings: Ordered<Spanned<String>, RawMapping>,
    /// Who gets GoToMeeting, with which role.
    #[serde(default)]
    pub assignments: Vec<RawAssignment>,
    /// Deprovisioning and safety.
    #[serde(default)]
    pub policy: RawPolicy,
}

pub use crate::vocab::TargetKind;

/// Where the live accounts are. Credentials never go here: they come from the environment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    #[schemars(with = "TargetKind")]
    pub kind: Spanned<String>,
    /// file: the snapshot, relative to the manifest directory.
    #[schemars(with = "Option<String>")]
    pub path: Option<Spanned<String>>,
    /// goto: GoTo account key; discovered from /me when absent.
    #[schemars(with = "Option<String>")]
    pub account_key: Option<Spanned<ScalarString>>,
    /// goto: Admin API base URL (default https://api.getgo.com/admin/rest/v1).
    #[schemars(with = "Option<String>")]
    pub api_url: Option<Spanned<String>>,
    /// goto: OAuth token endpoint (default https://authentication.logmeininc.com/oauth/token).
    #[schemars(with = "Option<String>")]
    pub token_url: Option<Spanned<String>>,
    /// scim: the SCIM 2.0 base URL.
    #[schemars(with = "Option<String>")]
    pub url: Option<Spanned<String>>,
    /// goto, scim: request rate limit (default 10, GoTo's documented limit).
    #[schemars(with = "Option<f64>", range(min = 0.1))]
    pub requests_per_second: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScope {
    /// Exact email domains owned by this manifest. Unmatched live accounts in them are deprovisioned.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub domains: Vec<Spanned<String>>,
    /// Accounts rollcall never sees: never matched, created, changed or counted.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exclude: Vec<Spanned<String>>,
}

/// A directory source: a path or glob of rollcall YAML, or `{format, path, group, pull}`.
#[derive(Debug)]
pub struct RawDirectorySource {
    pub format: Option<Spanned<String>>,
    pub path: Spanned<String>,
    pub group: Option<Spanned<String>>,
    pub pull: Option<Spanned<RawPull>>,
}

/// Where `rollcall pull` fetches an entra-json or entra-group-members file from in Microsoft
/// Graph: exactly one of the keys.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPull {
    /// `all`: every user of the tenant.
    #[schemars(with = "Option<PullUsers>")]
    pub users: Option<Spanned<String>>,
    /// An OData $filter on /users, e.g. "department eq 'Sales'".
    #[schemars(with = "Option<String>")]
    pub filter: Option<Spanned<String>>,
    /// A group's object id: its transitive user members (nested groups expanded by Graph).
    #[schemars(with = "Option<String>")]
    pub group: Option<Spanned<String>>,
}

/// The only value `pull: {users: ...}` takes.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum PullUsers {
    All,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawDirectorySourceMap {
    /// One of yaml (default), entra-json, entra-group-members, csv.
    #[schemars(with = "Option<DirectoryFormat>")]
    format: Option<Spanned<String>>,
    /// Path or glob, relative to the manifest directory.
    #[schemars(with = "String")]
    path: Spanned<String>,
    /// entra-group-members: the group whose members the file lists.
    #[schemars(with = "Option<String>")]
    group: Option<Spanned<String>>,
    /// entra-json, entra-group-members: where `rollcall pull` fetches the file from in Microsoft Graph.
    #[schemars(with = "Option<RawPull>")]
    pull: Option<Spanned<RawPull>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DirectoryFormat {
    Yaml,
    EntraJson,
    EntraGroupMembers,
    Csv,
}

impl DirectoryFormat {
    pub const NAMES: [&'static str; 4] = ["yaml", "entra-json", "entra-group-members", "csv"];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "yaml" => DirectoryFormat::Yaml,
            "entra-json" => DirectoryFormat::EntraJson,
            "entra-group-members" => DirectoryFormat::EntraGroupMembers,
            "csv" => DirectoryFormat::Csv,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for RawDirectorySource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDirectorySource;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path (or glob) of a rollcall YAML file, or a map {format, path, group, pull}")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let m = RawDirectorySourceMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawDirectorySource { format: m.format, path: m.path, group: m.group, pull: m.pull })
            }
        }
        // A bare string comes through Spanned so that its place is kept.
        struct Either(RawDirectorySource);
        impl<'de> Deserialize<'de> for Either {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(V).map(Either)
            }
        }
        let spanned = Spanned::<StringOr<Either>>::deserialize(d)?;
        Ok(match spanned.value {
            StringOr::String(path) => RawDirectorySource {
                format: None,
                path: Spanned { value: path, referenced: spanned.referenced, defined: spanned.defined },
                group: None,
                pull: None,
            },
            StringOr::Other(Either(src)) => src,
        })
    }
}

impl JsonSchema for RawDirectorySource {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DirectorySource".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let map = g.subschema_for::<RawDirectorySourceMap>();
        schemars::json_schema!({
            "description": "A path or glob of rollcall YAML files, or {format, path, group, pull}.",
            "anyOf": [{"type": "string"}, map]
        })
    }
}

/// A string, or anything else that `T` reads.
#[derive(Debug)]
pub enum StringOr<T> {
    String(String),
    Other(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for StringOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = StringOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a map")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOr::String(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(StringOr::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(StringOr::Other)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A scoping filter: one clause, or a list of clauses that must all hold.
#[derive(Debug)]
pub struct RawScopingFilter(pub Vec<RawClause>);

impl<'de> Deserialize<'de> for RawScopingFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawScopingFilter;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a clause {attribute, op, value} or a list of clauses")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawClause::deserialize(de::value::MapAccessDeserializer::new(map)).map(|c| RawScopingFilter(vec![c]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<RawClause>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(RawScopingFilter)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawScopingFilter {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ScopingFilter".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let clause = g.subschema_for::<RawClause>();
        schemars::json_schema!({
            "description": "One clause, or a list of clauses that must all hold.",
            "anyOf": [clause, {"type": "array", "items": clause}]
        })
    }
}

/// The scoping operators (Entra's scoping filter operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopingOp {
    Equals,
    NotEquals,
    IsTrue,
    IsFalse,
    IsNull,
    IsNotNull,
    StartsWith,
    EndsWith,
    Matches,
    NotMatches,
    In,
    NotIn,
}

impl ScopingOp {
    pub const ALL: [ScopingOp; 12] = [
        ScopingOp::Equals,
        ScopingOp::NotEquals,
        ScopingOp::IsTrue,
        ScopingOp::IsFalse,
        ScopingOp::IsNull,
        ScopingOp::IsNotNull,
        ScopingOp::StartsWith,
        ScopingOp::EndsWith,
        ScopingOp::Matches,
        ScopingOp::NotMatches,
        ScopingOp::In,
        ScopingOp::NotIn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ScopingOp::Equals => "equals",
            ScopingOp::NotEquals => "not_equals",
            ScopingOp::IsTrue => "is_true",
            ScopingOp::IsFalse => "is_false",
            ScopingOp::IsNull => "is_null",
            ScopingOp::IsNotNull => "is_not_null",
            ScopingOp::StartsWith => "starts_with",
            ScopingOp::EndsWith => "ends_with",
            ScopingOp::Matches => "matches",
            ScopingOp::NotMatches => "not_matches",
            ScopingOp::In => "in",
            ScopingOp::NotIn => "not_in",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }
    /// What `value:` the operator takes.
    pub fn operand(self) -> Operand {
        match self {
            ScopingOp::IsTrue | ScopingOp::IsFalse | ScopingOp::IsNull | ScopingOp::IsNotNull => Operand::None,
            ScopingOp::In | ScopingOp::NotIn => Operand::List,
            _ => Operand::One,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    None,
    One,
    List,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClause {
    /// A source attribute (e.g. userType, department).
    #[schemars(with = "String")]
    pub attribute: Spanned<String>,
    #[schemars(with = "ScopingOp")]
    pub op: Spanned<String>,
    /// The operand: a string for equals, starts_with, matches...; a list for in / not_in; absent for is_*.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub value: Option<Spanned<ScalarOrList>>,
}

/// A scalar (kept as its string form) or a list of scalars.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarOrList {
    Scalar(String),
    List(Vec<String>),
}

impl<'de> Deserialize<'de> for ScalarOrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match StringOr::<Vec<ScalarString>>::deserialize_scalar_or_seq(d)? {
            StringOr::String(s) => Ok(ScalarOrList::Scalar(s)),
            StringOr::Other(v) => Ok(ScalarOrList::List(v.into_iter().map(|s| s.0).collect())),
        }
    }
}

impl StringOr<Vec<ScalarString>> {
    fn deserialize_scalar_or_seq<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOr<Vec<ScalarString>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOr::String(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(StringOr::String(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(StringOr::String(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(StringOr::String(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(StringOr::String(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<ScalarString>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(StringOr::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML scalar read as text: strings as they are, numbers and booleans in their usual form.
/// Null is kept apart so that a missing value stays missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarString(pub String);

impl<'de> Deserialize<'de> for ScalarString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar(Some(s)) => Ok(ScalarString(s)),
            Scalar(None) => Err(de::Error::invalid_type(de::Unexpected::Unit, &"a string, number or boolean")),
        }
    }
}

/// A scalar attribute value of a directory record; `None` is null. Taken as written: `No`
/// is the string `No`, `007` keeps its zeros, `1e3` stays `1e3` (no YAML 1.1 coercion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<AsWritten>::deserialize(d).map(|v| Scalar(v.map(|w| w.0)))
    }
}

/// A scalar's text as written in the file.
struct AsWritten(String);

impl<'de> Deserialize<'de> for AsWritten {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AsWritten;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AsWritten(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(AsWritten(v))
            }
            // Formats that type their scalars themselves.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(AsWritten(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AsWritten(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(AsWritten(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(AsWritten(v.to_string()))
            }
        }
        d.deserialize_string(V)
    }
}

/// What an account with this role receives.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// GoTo licenses, by description or license key.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub licenses: Vec<Spanned<ScalarString>>,
    /// GoTo admin roles as GoTo spells them (SUPER_USER, MANAGE_USERS, ...).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub admin_roles: Vec<Spanned<String>>,
    /// scim targets: values of the SCIM roles attribute.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub scim_roles: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyMode {
    /// Set on create and kept in sync on every plan.
    #[default]
    Always,
    /// Set on create only; later changes in GoTo are left alone.
    OnCreate,
}

/// One target attribute: exactly one of `from` (an expression) or `constant`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    /// An Entra-style expression, e.g. ToLower([userPrincipalName]).
    #[schemars(with = "Option<String>")]
    pub from: Option<Spanned<String>>,
    /// A fixed value.
    #[schemars(with = "Option<String>")]
    pub constant: Option<Spanned<ScalarString>>,
    #[serde(default)]
    pub apply: ApplyMode,
    /// Used on create when the expression yields null.
    #[schemars(with = "Option<String>")]
    pub default: Option<Spanned<ScalarString>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAssignment {
    /// A person, by userPrincipalName or mail.
    #[schemars(with = "Option<String>")]
    pub user: Option<Spanned<String>>,
    /// A group; nested groups are expanded.
    #[schemars(with = "Option<String>")]
    pub group: Option<Spanned<String>>,
    /// Everyone from one directory source: its `path` exactly as written under `directory:`
    /// (e.g. `exports/contractors.csv`).
    #[schemars(with = "Option<String>")]
    pub source: Option<Spanned<String>>,
    /// A role declared under roles:.
    #[schemars(with = "String")]
    pub role: Spanned<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnUnassign {
    /// Remove every managed grant and keep the account.
    #[default]
    Disable,
    /// Delete the account.
    Delete,
    /// Leave the account as it is.
    Keep,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    #[serde(default)]
    pub on_unassign: OnUnassign,
    #[serde(default)]
    pub max_removals: Option<RawMaxRemovals>,
    /// Accounts that may be created and updated, never disabled, deleted or stripped of grants.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub protect: Vec<Spanned<String>>,
    /// Whether GoTo sends its invitation email on create (default false).
    #[serde(default)]
    pub welcome_email: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMaxRemovals {
    /// Most disables + deletes a plan may hold (default 25).
    pub count: Option<u64>,
    /// Most disables + deletes as a percentage of in-scope live accounts (default 20).
    #[schemars(with = "Option<f64>", range(min = 0, max = 100))]
    pub percent: Option<Spanned<f64>>,
    /// In-scope accounts from which `percent` applies (default 10): a small organisation's
    /// first removal is not blocked by a percentage.
    pub min_accounts: Option<u64>,
}

/// A directory YAML file: people and groups.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "rollcall directory",
    description = "A rollcall directory file: people (Entra attribute names by convention) and groups"
)]
pub struct RawDirectoryFile {
    /// People: userPrincipalName or mail identifies each; any other attribute is kept for mappings.
    #[serde(default)]
    #[schemars(with = "Vec<BTreeMap<String, serde_json::Value>>")]
    pub users: Vec<Spanned<Ordered<String, Scalar>>>,
    /// Group name -> members and nested groups.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawGroup>")]
    pub groups: Ordered<Spanned<String>, RawGroup>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// People, by userPrincipalName or mail.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub members: Vec<Spanned<String>>,
    /// Nested groups, by name.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub groups: Vec<Spanned<String>>,
}

/// A YAML mapping read in file order (duplicate keys are already rejected by the parser).
#[derive(Debug, Clone)]
pub struct Ordered<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Ordered<K, V> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Ordered<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Vis<K, V> {
            type Value = Ordered<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ordered(Vec::new()))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}
