//! Secrets out of anything a server said: a token endpoint that echoes its request, or an API
//! whose 403 quotes the Authorization header, must not put a credential on a CI log. Every
//! secret rollcall holds is registered here when it is read or received, and `redact` is the
//! one function that text from a server goes through before it is printed or logged.

use std::borrow::Cow;
use std::sync::{OnceLock, RwLock};

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The credentials rollcall reads from the environment (any target, any command).
const ENVIRONMENT: &[&str] =
    &["GOTO_ACCESS_TOKEN", "GOTO_CLIENT_SECRET", "GOTO_PAT", "GOTO_REFRESH_TOKEN", "SCIM_TOKEN", "AZURE_CLIENT_SECRET"];

fn known() -> &'static RwLock<Vec<String>> {
    static KNOWN: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut secrets = Vec::new();
        for name in ENVIRONMENT {
            if let Ok(value) = std::env::var(name) {
                add(&mut secrets, value.trim());
            }
        }
        if let (Ok(id), Ok(secret)) = (std::env::var("GOTO_CLIENT_ID"), std::env::var("GOTO_CLIENT_SECRET")) {
            add(&mut secrets, &basic(id.trim(), secret.trim()));
        }
        RwLock::new(secrets)
    })
}

/// A secret as it appears on the wire: as is, and percent-encoded (as a form body carries it).
fn add(secrets: &mut Vec<String>, secret: &str) {
    if secret.is_empty() {
        return;
    }
    // Percent-encoded as a form body or query carries it (`%20` for a space, as GoTo wants).
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(secret, SET).to_string();
    for form in [secret.to_owned(), encoded] {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Remembers a secret received at run time (an access token, a rotated refresh token).
pub fn register(secret: &str) {
    let mut secrets = known().write().unwrap_or_else(std::sync::PoisonError::into_inner);
    add(&mut secrets, secret);
}

/// Remembers HTTP Basic credentials in the form the Authorization header carries them.
pub fn register_basic(user: &str, password: &str) {
    register(password);
    register(&basic(user, password));
}

/// `text` with every known secret replaced by `[redacted]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = known().read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), REDACTED));
        }
    }
    out
}

/// The base64 of `user:password`, as in `Authorization: Basic ...`.
fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_is_base64() {
        assert_eq!(super::basic("Aladdin", "open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(super::basic("a", "b"), "YTpi");
        assert_eq!(super::basic("ab", "c"), "YWI6Yw==");
    }

    #[test]
    fn every_form_of_a_registered_secret_is_redacted() {
        super::register("unit-test secret/42");
        super::register_basic("client", "unit-test-basic");
        let echoed = "pat=unit-test%20secret%2F42 raw=unit-test secret/42 auth=Basic Y2xpZW50OnVuaXQtdGVzdC1iYXNpYw==";
        assert_eq!(super::redact(echoed), "pat=[redacted] raw=[redacted] auth=Basic [redacted]");
        assert_eq!(super::redact("nothing secret"), "nothing secret");
    }
}
