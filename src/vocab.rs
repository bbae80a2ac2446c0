//! The words every layer shares: GoTo keys, grants, the kinds of target and the facts that
//! differ between them (which attribute is the identity, which attributes a mapping may
//! set), what a plan is about, and how a value is quoted for people. The leaf of the crate:
//! it uses nothing of rollcall's (see docs/ARCHITECTURE.md).

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A GoTo key (account, user, license). GoTo sends keys as JSON strings in some responses
/// and as numbers (some beyond 2^53) in others: kept as the digits, never as a float.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub String);

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Key(s.to_owned())
    }
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key (a string or an integer)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Err(E::custom(format!("key {v} lost its digits to floating point; send keys as strings")))
            }
            // serde_json's arbitrary-precision numbers arrive as a one-entry map holding the digits.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
                let Some((_, digits)) = map.next_entry::<String, String>()? else {
                    return Err(de::Error::custom("expected a key"));
                };
                if !digits.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                    return Err(de::Error::custom(format!("key {digits} is not an integer")));
                }
                Ok(Key(digits))
            }
        }
        d.deserialize_any(V)
    }
}

/// Something rollcall grants an account: a GoTo license, a GoTo admin role, a SCIM role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Grant {
    License(#[schemars(with = "String")] Key),
    AdminRole(String),
    ScimRole(String),
}

impl Grant {
    /// What names the grant: a license key, an admin role, a SCIM role.
    pub fn id(&self) -> &str {
        match self {
            Grant::License(k) => k.as_str(),
            Grant::AdminRole(r) | Grant::ScimRole(r) => r,
        }
    }

    /// The kind of grant in words, as plans list them.
    pub fn label(&self) -> &'static str {
        match self {
            Grant::License(_) => "licenses",
            Grant::AdminRole(_) => "admin roles",
            Grant::ScimRole(_) => "roles",
        }
    }
}

pub const SUPER_USER: &str = "SUPER_USER";

/// The domain of an email, lower-cased.
pub fn domain_of(email: &str) -> String {
    email.rsplit_once('@').map_or(String::new(), |(_, d)| d.to_ascii_lowercase())
}

/// From this many people on, desired state and the planner split their per-person work in two
/// halves, one on each core (below it, a second thread costs more than it saves).
pub const TWO_CORES_FROM: usize = 8192;

/// Whether work on `n` people is split over two cores. Tests set the threshold of their own
/// thread (`TEST_TWO_CORES_FROM`), to hold the two ways to the same result.
pub fn on_two_cores(n: usize) -> bool {
    #[cfg(test)]
    return n >= TEST_TWO_CORES_FROM.with(std::cell::Cell::get);
    #[cfg(not(test))]
    return n >= TWO_CORES_FROM;
}

/// `name`, as one allocation per name (and thread) however many records have it: a
/// directory's 100,000 records do not hold 100,000 copies of "userPrincipalName".
pub fn shared_name(name: &str) -> std::sync::Arc<str> {
    thread_local! {
        static NAMES: std::cell::RefCell<foldhash::HashSet<std::sync::Arc<str>>> = Default::default();
    }
    NAMES.with_borrow_mut(|names| match names.get(name) {
        Some(shared) => std::sync::Arc::clone(shared),
        None => {
            let shared: std::sync::Arc<str> = name.into();
            names.insert(std::sync::Arc::clone(&shared));
            shared
        }
    })
}

#[cfg(test)]
thread_local! {
    pub static TEST_TWO_CORES_FROM: std::cell::Cell<usize> = const { std::cell::Cell::new(TWO_CORES_FROM) };
}

/// Whether the email's domain is one of `domains` (lower-cased): `domain_of`, without a copy.
pub fn in_domains(domains: &[String], email: &str) -> bool {
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
}

/// `s.to_lowercase()`, without a copy when `s` is already lower case (the usual email):
/// the planner and the directory index lower-case every account's identity.
pub fn lowercase(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.to_lowercase())
    }
}

/// The kinds of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A JSON snapshot of an account (`path:`), in the GoTo Admin API's shapes.
    File,
    /// The GoTo Admin REST API.
    Goto,
    /// Any SCIM 2.0 service.
    Scim,
}

/// GoTo user attributes a mapping may set (the Admin API's user fields).
pub const GOTO_ATTRIBUTES: &[&str] = &["email", "firstName", "lastName", "locale", "timeZone"];
/// SCIM core User attributes a mapping may set, each a single value at the top level.
pub const SCIM_SIMPLE_ATTRIBUTES: &[&str] = &["userName", "externalId", "displayName", "locale", "timezone"];
/// SCIM `name` sub-attributes a mapping may set.
pub const SCIM_NAME_ATTRIBUTES: &[&str] = &["name.givenName", "name.familyName"];
/// The SCIM work email, as a mapping names it.
pub const SCIM_WORK_EMAIL: &str = "emails[type eq \"work\"].value";
/// Attributes of SCIM's enterprise User extension a mapping may set.
pub const SCIM_ENTERPRISE_ATTRIBUTES: &[&str] = &["department", "employeeNumber", "costCenter", "division"];

impl TargetKind {
    pub const NAMES: [&'static str; 3] = ["file", "goto", "scim"];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::File => "file",
            TargetKind::Goto => "goto",
            TargetKind::Scim => "scim",
        }
    }

    /// The attribute that identifies an account on this kind of target: GoTo's `email`,
    /// SCIM's `userName`.
    pub fn identity_attribute(self) -> &'static str {
        match self {
            TargetKind::Scim => "userName",
            TargetKind::File | TargetKind::Goto => "email",
        }
    }

    /// Every attribute a mapping may set on this kind of target.
    pub fn attributes(self) -> Vec<&'static str> {
        match self {
            TargetKind::File | TargetKind::Goto => GOTO_ATTRIBUTES.to_vec(),
            TargetKind::Scim => SCIM_SIMPLE_ATTRIBUTES
                .iter()
                .chain(SCIM_NAME_ATTRIBUTES)
                .chain([&SCIM_WORK_EMAIL])
                .chain(SCIM_ENTERPRISE_ATTRIBUTES)
                .copied()
                .collect(),
        }
    }
}

/// Attributes compared without regard to case: emails, and SCIM's userName and work email
/// (RFC 7643 makes both `caseExact: false`).
pub fn case_insensitive(attribute: &str) -> bool {
    matches!(attribute, "email" | "userName") || attribute == SCIM_WORK_EMAIL
}

/// The identity of an account from its attributes: GoTo's `email`, else SCIM's `userName`.
pub fn identity_of<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<&'a str> {
    get("email").or_else(|| get("userName"))
}

/// What the plan is about: shown in every header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, JsonSchema)]
pub struct TargetInfo {
    pub kind: String,
    pub account: String,
    #[serde(default)]
    pub name: String,
}

impl TargetInfo {
    pub fn describe(&self) -> String {
        let what = match self.kind.as_str() {
            "scim" => "SCIM service",
            _ => "GoTo account",
        };
        // The account's name comes from the server: shown escaped.
        let account = crate::printable::escape(&self.account);
        if self.name.is_empty() {
            format!("{what} {account}")
        } else {
            format!("{what} {account} ({})", crate::printable::escape(&self.name))
        }
    }
}

/// A value as people read it in plans, reports and messages: a JSON string literal.
pub fn quote(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""));
    // JSON escapes C0 controls; bidirectional overrides and C1 controls it leaves as they are.
    crate::printable::escape(&quoted).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_is_to_lowercase_without_a_copy_when_nothing_changes() {
        for s in ["ada@acme.example", "Ada@ACME.example", "zoë@x.example", "ZOË@X.EXAMPLE", "İstanbul", "straße", ""]
        {
            let lower = lowercase(s);
            assert_eq!(lower, s.to_lowercase(), "{s}");
            assert_eq!(matches!(lower, std::borrow::Cow::Borrowed(_)), s.is_ascii() && s == s.to_lowercase(), "{s}");
        }
        assert!(in_domains(&["acme.example".into()], "Ada@ACME.Example"));
        assert!(!in_domains(&["acme.example".into()], "ada@sub.acme.example"));
        assert!(!in_domains(&["acme.example".into()], "no-at-sign"));
    }

    #[test]
    fn each_kind_names_its_identity_among_its_attributes() {
        for kind in [TargetKind::File, TargetKind::Goto, TargetKind::Scim] {
            assert!(kind.attributes().contains(&kind.identity_attribute()), "{kind:?}");
            assert!(case_insensitive(kind.identity_attribute()));
        }
        assert_eq!(TargetKind::Scim.attributes().len(), 12);
    }
}
