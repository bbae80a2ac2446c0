//! GoTo OAuth: a static access token, or a token exchanged at the token endpoint with HTTP
//! Basic client credentials for a personal access token or a refresh token. Cached until
//! shortly before it expires; refreshed once when the API answers 401.

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
    Exchange { client_id: String, client_secret: SecretString, kind: ExchangeKind, secret: SecretString },
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
        let refresh = env("GOTO_REFRESH_TOKEN");
        match (id, secret, pat, refresh) {
            (Some(client_id), Some(client_secret), Some(pat), _) => Ok(Credentials::Exchange {
                client_id,
                client_secret: client_secret.into(),
                kind: ExchangeKind::PersonalAccessToken,
                secret: pat.into(),
            }),
            (Some(client_id), Some(client_secret), None, Some(rt)) => Ok(Credentials::Exchange {
                client_id,
                client_secret: client_secret.into(),
                kind: ExchangeKind::RefreshToken,
                secret: rt.into(),
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
                    missing.push("GOTO_PAT (or GOTO_REFRESH_TOKEN)");
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
    /// A refresh token GoTo rotated (kept in memory for this run).
    rotated: Mutex<Option<SecretString>>,
}

impl Tokens {
    pub fn new(grant: Credentials, token_url: String) -> Self {
        Tokens { grant, token_url, cached: Mutex::new(None), rotated: Mutex::new(None) }
    }

    pub fn can_refresh(&self) -> bool {
        matches!(self.grant, Credentials::Exchange { .. })
    }

    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// A valid access token, exchanging one if needed.
    pub async fn token(&self, http: &Http) -> Result<SecretString, HttpError> {
        let (client_id, client_secret, kind, secret) = match &self.grant {
            Credentials::Static(t) => {
                crate::redact::register(t.expose_secret());
                return Ok(t.clone());
            }
            Credentials::Exchange { client_id, client_secret, kind, secret } => {
                (client_id, client_secret, kind, secret)
            }
        };
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let rotated = self.rotated.lock().await.clone();
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
        if let Some(rt) = resp.body.get("refresh_token").and_then(Value::as_str) {
            crate::redact::register(rt);
            *self.rotated.lock().await = Some(SecretString::from(rt.to_owned()));
        }
        let token = SecretString::from(token.to_owned());
        // Renew a little before GoTo would say 401.
        let until = Instant::now() + Duration::from_secs(ttl.saturating_sub(ttl.min(60) / 2).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }
}
