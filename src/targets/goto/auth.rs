//! GoTo OAuth: a static access token, or a token exchanged at the token endpoint with HTTP
//! Basic client credentials for a personal access token or a refresh token. Cached until
//! shortly before it expires; refreshed once when the API answers 401.
//!
//! A personal access token is only ever exchanged as itself: a `refresh_token` in the answer
//! to a PAT grant is ignored. A refresh token GoTo rotates replaces the one given, in memory
//! and, when it came from `GOTO_REFRESH_TOKEN_FILE`, in that file (written atomically), so
//! the next run starts from the new one.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::targets::http::{Http, HttpError, Request, encode};

pub enum Credentials {
    /// `GOTO_ACCESS_TOKEN`: used as is, cannot be refreshed.
    Static(SecretString),
    /// `GOTO_PAT` (for CI) or `GOTO_REFRESH_TOKEN` (local use), with the OAuth client.
    Exchange {
        client_id: String,
        client_secret: SecretString,
        kind: ExchangeKind,
        secret: SecretString,
        /// `GOTO_REFRESH_TOKEN_FILE`: where a rotated refresh token is written back.
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    PersonalAccessToken,
    RefreshToken,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Static(_) => f.write_str("Credentials::Static([redacted])"),
            Credentials::Exchange { client_id, kind, .. } => {
                write!(f, "Credentials::Exchange({client_id}, {kind:?}, [redacted])")
            }
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Credentials {
    /// Reads the credentials from the environment (they are never in a manifest).
    pub fn from_env() -> Result<Credentials, String> {
        if let Some(token) = env("GOTO_ACCESS_TOKEN") {
            return Ok(Credentials::Static(SecretString::from(token)));
        }
        let id = env("GOTO_CLIENT_ID");
        let secret = env("GOTO_CLIENT_SECRET");
        let pat = env("GOTO_PAT");
        let file = env("GOTO_REFRESH_TOKEN_FILE").map(PathBuf::from);
        let refresh = match (&file, env("GOTO_REFRESH_TOKEN")) {
            (_, Some(rt)) => Some(rt),
            (Some(f), None) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| format!("cannot read GOTO_REFRESH_TOKEN_FILE {}: {e}", f.display()))?
                    .trim()
                    .to_owned(),
            )
            .filter(|t| !t.is_empty()),
            (None, None) => None,
        };
        match (id, secret, pat, refresh) {
            (Some(client_id), Some(client_secret), Some(pat), _) => Ok(Credentials::Exchange {
                client_id,
                client_secret: client_secret.into(),
                kind: ExchangeKind::PersonalAccessToken,
                secret: pat.into(),
                file: None,
            }),
            (Some(client_id), Some(client_secret), None, Some(rt)) => Ok(Credentials::Exchange {
                client_id,
                client_secret: client_secret.into(),
                kind: ExchangeKind::RefreshToken,
                secret: rt.into(),
                // Written back only when the token came from the file.
                file: if env("GOTO_REFRESH_TOKEN").is_none() { file } else { None },
            }),
            (id, secret, pat, rt) => {
                let mut missing = Vec::new();
                if id.is_none() {
                    missing.push("GOTO_CLIENT_ID");
                }
                if secret.is_none() {
                    missing.push("GOTO_CLIENT_SECRET");
                }
                if pat.is_none() && rt.is_none() {
                    missing.push("GOTO_PAT (or GOTO_REFRESH_TOKEN / GOTO_REFRESH_TOKEN_FILE)");
                }
                Err(format!("no GoTo credentials: {} not set", missing.join(", ")))
            }
        }
    }
}

pub struct Tokens {
    grant: Credentials,
    token_url: String,
    cached: Mutex<Option<(SecretString, Instant)>>,
    /// A refresh token GoTo rotated (kept for this run; written back to the file it came from).
    rotated: Mutex<Option<SecretString>>,
    /// What the last token answer said: the granted `scope`, and whether it carried a refresh token.
    answer: std::sync::Mutex<TokenAnswer>,
}

/// What a token answer told, for `check`.
#[derive(Debug, Clone, Default)]
pub struct TokenAnswer {
    /// The granted scopes (None: the answer named none, or no exchange was made).
    pub scope: Option<String>,
    pub refresh_token: bool,
}

/// Replaces `path` with `text` atomically (a temporary file in the same folder, renamed over it),
/// readable by its owner only.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl Tokens {
    pub fn new(grant: Credentials, token_url: String) -> Self {
        Tokens {
            grant,
            token_url,
            cached: Mutex::new(None),
            rotated: Mutex::new(None),
            answer: std::sync::Mutex::new(TokenAnswer::default()),
        }
    }

    /// What the last token answer said.
    pub fn answer(&self) -> TokenAnswer {
        self.answer.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn can_refresh(&self) -> bool {
        matches!(self.grant, Credentials::Exchange { .. })
    }

    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// The API refused `used`: forget it, unless another request already replaced it (requests
    /// in flight together see the same 401; one new token serves them all).
    pub async fn invalidate_if(&self, used: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|(t, _)| t.expose_secret() == used.expose_secret()) {
            *cached = None;
        }
    }

    /// A valid access token, exchanging one if needed.
    pub async fn token(&self, http: &Http) -> Result<SecretString, HttpError> {
        let (client_id, client_secret, kind, secret, file) = match &self.grant {
            Credentials::Static(t) => {
                crate::redact::register(t.expose_secret());
                return Ok(t.clone());
            }
            Credentials::Exchange { client_id, client_secret, kind, secret, file } => {
                (client_id, client_secret, kind, secret, file)
            }
        };
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        // A PAT is only ever exchanged as itself; a refresh token as the newest one GoTo gave.
        let rotated = match kind {
            ExchangeKind::PersonalAccessToken => None,
            ExchangeKind::RefreshToken => self.rotated.lock().await.clone(),
        };
        let secret = rotated.as_ref().unwrap_or(secret);
        crate::redact::register_basic(client_id, client_secret.expose_secret());
        crate::redact::register(secret.expose_secret());
        let form = match kind {
            ExchangeKind::PersonalAccessToken => {
                format!("grant_type=personal_access_token&pat={}", encode(secret.expose_secret()))
            }
            ExchangeKind::RefreshToken => {
                format!("grant_type=refresh_token&refresh_token={}", encode(secret.expose_secret()))
            }
        };
        let req = Request {
            raw: false,
            method: Method::POST,
            url: self.token_url.clone(),
            bearer: None,
            basic: Some((client_id.clone(), client_secret.clone())),
            json: None,
            form: Some(form),
            what: "token exchange".into(),
        };
        let resp = http.send(&req).await.map_err(|mut e| {
            if e.status == Some(401) || e.status == Some(400) {
                e.message.push_str(match kind {
                    ExchangeKind::PersonalAccessToken => {
                        " — check GOTO_CLIENT_ID, GOTO_CLIENT_SECRET and GOTO_PAT (the PAT must be valid and its OAuth client must allow the Personal Access Token grant)"
                    }
                    ExchangeKind::RefreshToken => {
                        " — check GOTO_CLIENT_ID, GOTO_CLIENT_SECRET and GOTO_REFRESH_TOKEN (refresh tokens expire after 30 days unused; CI should use GOTO_PAT)"
                    }
                });
            }
            e
        })?;
        let token = resp.body.get("access_token").and_then(Value::as_str).ok_or_else(|| HttpError {
            status: Some(resp.status),
            code: None,
            incident: None,
            message: "token exchange: the response has no access_token".into(),
        })?;
        let ttl = resp.body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
        crate::redact::register(token);
        let new_refresh = resp.body.get("refresh_token").and_then(Value::as_str).filter(|t| !t.is_empty());
        if let Some(rt) = new_refresh {
            crate::redact::register(rt);
        }
        *self.answer.lock().unwrap_or_else(|p| p.into_inner()) = TokenAnswer {
            scope: resp.body.get("scope").and_then(Value::as_str).map(str::to_owned),
            refresh_token: new_refresh.is_some(),
        };
        if let (ExchangeKind::RefreshToken, Some(rt)) = (kind, new_refresh)
            && rt != secret.expose_secret()
        {
            if let Some(path) = file {
                // The old token may stop working now: the next run must find the new one.
                write_atomically(path, &format!("{rt}\n")).map_err(|e| HttpError {
                    status: None,
                    code: None,
                    incident: None,
                    message: format!(
                        "GoTo rotated the refresh token, and it could not be written back to GOTO_REFRESH_TOKEN_FILE {}: {e}",
                        path.display()
                    ),
                })?;
            }
            *self.rotated.lock().await = Some(SecretString::from(rt.to_owned()));
        }
        let token = SecretString::from(token.to_owned());
        // Renew a little before GoTo would say 401.
        let until = Instant::now() + Duration::from_secs(ttl.saturating_sub(ttl.min(60) / 2).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }
}
