//! Microsoft Graph, read only: the directory that `rollcall pull` writes into files and the
//! enterprise application that `import --from-entra-app` migrates from.
//!
//! Credentials come from the environment under the names Azure's own tools use, and every
//! request goes through the shared send-with-retry path (429/503 with `Retry-After`).

pub mod migrate;
pub mod pull;

use std::path::PathBuf;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::{Duration, Instant};

use crate::config::{UrlProblem, check_url};
use crate::diag::{Code, Problem};
use crate::targets::http::{Http, HttpError, Request, encode};

pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The largest page Graph serves for users, group members and app role assignments.
pub const PAGE_SIZE: usize = 999;

/// How the app proves who it is at the token endpoint.
pub enum ClientProof {
    /// `AZURE_CLIENT_SECRET`.
    Secret(SecretString),
    /// `AZURE_FEDERATED_TOKEN_FILE`: a workload identity token (GitHub Actions OIDC,
    /// Kubernetes), read again for every exchange since the platform rotates it.
    FederatedTokenFile(PathBuf),
}

impl std::fmt::Debug for ClientProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientProof::Secret(_) => f.write_str("ClientProof::Secret([redacted])"),
            ClientProof::FederatedTokenFile(p) => write!(f, "ClientProof::FederatedTokenFile({})", p.display()),
        }
    }
}

/// Where Graph is and who rollcall is there.
#[derive(Debug)]
pub struct Settings {
    pub tenant: String,
    pub client_id: String,
    pub proof: ClientProof,
    /// `https://login.microsoftonline.com` or `AZURE_AUTHORITY_HOST`, without a trailing `/`.
    pub authority: String,
    /// `https://graph.microsoft.com` or `ROLLCALL_GRAPH_URL`, without a trailing `/`.
    pub graph: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).map(|v| v.trim().to_owned())
}

fn checked_url(var: &str, value: String) -> Result<String, Problem> {
    match check_url(&value) {
        Ok(()) => Ok(value.trim_end_matches('/').to_owned()),
        Err(UrlProblem::Invalid(e)) => Err(Problem::new(Code::InvalidUrl, format!("{var} is not a URL: {e}"))
            .help(format!("set {var} to an https:// URL, or unset it for the default"))),
        Err(UrlProblem::Insecure(host)) => {
            Err(Problem::new(Code::InsecureUrl, format!("{var} uses http:// to {host}, which is not loopback"))
                .help("Graph and its token endpoint take https://; plain http:// is only for a local emulator"))
        }
    }
}

impl Settings {
    /// Reads the settings from the environment, naming everything that is missing.
    pub fn from_env() -> Result<Settings, Problem> {
        let tenant = env("AZURE_TENANT_ID");
        let client_id = env("AZURE_CLIENT_ID");
        let secret = env("AZURE_CLIENT_SECRET");
        let token_file = env("AZURE_FEDERATED_TOKEN_FILE");
        let mut missing = Vec::new();
        if tenant.is_none() {
            missing.push("AZURE_TENANT_ID");
        }
        if client_id.is_none() {
            missing.push("AZURE_CLIENT_ID");
        }
        if secret.is_none() && token_file.is_none() {
            missing.push("AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE)");
        }
        let (Some(tenant), Some(client_id)) = (tenant, client_id) else {
            return Err(missing_credentials(&missing));
        };
        let proof = match (secret, token_file) {
            (_, Some(file)) => ClientProof::FederatedTokenFile(PathBuf::from(file)),
            (Some(secret), None) => ClientProof::Secret(SecretString::from(secret)),
            (None, None) => return Err(missing_credentials(&missing)),
        };
        // The tenant becomes a path segment of the token URL.
        if tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            return Err(Problem::new(Code::Credentials, "AZURE_TENANT_ID is not a tenant id or domain")
                .help("set it to the directory (tenant) id shown on the app registration's overview page"));
        }
        let authority = checked_url(
            "AZURE_AUTHORITY_HOST",
            env("AZURE_AUTHORITY_HOST").unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_owned()),
        )?;
        let graph = checked_url(
            "ROLLCALL_GRAPH_URL",
            env("ROLLCALL_GRAPH_URL").unwrap_or_else(|| DEFAULT_GRAPH_URL.to_owned()),
        )?;
        Ok(Settings { tenant, client_id, proof, authority, graph })
    }
}

fn missing_credentials(missing: &[&str]) -> Problem {
    Problem::new(Code::Credentials, format!("no Microsoft Graph credentials: {} not set", missing.join(", "))).help(
        "register an app in Entra ID with the application permissions User.Read.All and GroupMember.Read.All \
         (Application.Read.All for import --from-entra-app), and set AZURE_TENANT_ID, AZURE_CLIENT_ID and \
         AZURE_CLIENT_SECRET, or AZURE_FEDERATED_TOKEN_FILE for workload identity federation",
    )
}

/// A Graph error as rollcall reports it: what failed, with Graph's code and request id.
pub fn problem(e: &HttpError) -> Problem {
    let mut message = e.to_string();
    if let Some(id) = &e.incident {
        message.push_str(&format!(" (request-id {id})"));
    }
    let help = match e.status {
        Some(401) => "check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client secret or federated token",
        Some(403) => {
            "the app needs the application permissions User.Read.All and GroupMember.Read.All \
                      (Application.Read.All for import --from-entra-app), with admin consent"
        }
        Some(404) => "check the object id: it must name an existing group or service principal of this tenant",
        _ => "run again; nothing was written",
    };
    Problem::new(Code::Graph, message).help(help)
}

/// A read-only Microsoft Graph client.
pub struct Graph {
    settings: Settings,
    http: Http,
    token: Mutex<Option<(SecretString, Instant)>>,
    pub requests: std::sync::atomic::AtomicU64,
}

impl Graph {
    pub fn new(settings: Settings) -> Result<Graph, Problem> {
        // Graph allows far more than GoTo; this only keeps a burst polite.
        let http = Http::new(50.0).map_err(|e| Problem::new(Code::Graph, e))?;
        Ok(Graph { settings, http, token: Mutex::new(None), requests: Default::default() })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1.0{path}", self.settings.graph)
    }

    /// An access token for `{graph}/.default`, exchanged once and reused until shortly before
    /// it expires.
    async fn token(&self) -> Result<SecretString, HttpError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let s = &self.settings;
        let mut form = format!(
            "grant_type=client_credentials&client_id={}&scope={}",
            encode(&s.client_id),
            encode(&format!("{}/.default", s.graph))
        );
        match &s.proof {
            ClientProof::Secret(secret) => {
                form.push_str(&format!("&client_secret={}", encode(secret.expose_secret())));
            }
            ClientProof::FederatedTokenFile(path) => {
                let assertion = std::fs::read_to_string(path).map_err(|e| HttpError {
                    status: None,
                    code: None,
                    incident: None,
                    message: format!("cannot read AZURE_FEDERATED_TOKEN_FILE {}: {e}", path.display()),
                })?;
                form.push_str(
                    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
                );
                form.push_str(&format!("&client_assertion={}", encode(assertion.trim())));
            }
        }
        let req = Request {
            raw: false,
            method: Method::POST,
            url: format!("{}/{}/oauth2/v2.0/token", s.authority, encode(&s.tenant)),
            bearer: None,
            basic: None,
            json: None,
            form: Some(form),
            what: "Entra ID token request".into(),
        };
        self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resp = self.http.send(&req).await?;
        let token = resp.body.get("access_token").and_then(Value::as_str).ok_or_else(|| HttpError {
            status: Some(resp.status),
            code: None,
            incident: None,
            message: "Entra ID token request: the response has no access_token".into(),
        })?;
        let ttl =
            resp.body.get("expires_in").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())).unwrap_or(3599);
        let token = SecretString::from(token.to_owned());
        let until = Instant::now() + Duration::from_secs(ttl.saturating_sub(ttl.min(300) / 2).max(1));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    /// GET one URL (absolute), refreshing the token once on 401.
    async fn get_url(&self, url: &str, eventual: bool, what: &str) -> Result<Value, HttpError> {
        let headers: &[(&str, &str)] = if eventual { &[("ConsistencyLevel", "eventual")] } else { &[] };
        let mut refreshed = false;
        loop {
            let req = Request {
                raw: false,
                method: Method::GET,
                url: url.to_owned(),
                bearer: Some(self.token().await?),
                basic: None,
                json: None,
                form: None,
                what: what.to_owned(),
            };
            self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match self.http.send_with(&req, headers).await {
                Ok(resp) => return Ok(resp.body),
                Err(e) if e.status == Some(401) && !refreshed => {
                    refreshed = true;
                    *self.token.lock().await = None;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// GET one object, `path` under `/v1.0`.
    pub async fn get(&self, path: &str, what: &str) -> Result<Value, HttpError> {
        self.get_url(&self.url(path), false, what).await
    }

    /// Every item of a collection, following `@odata.nextLink`; `each` sees every page's items.
    pub async fn list(
        &self,
        path: &str,
        eventual: bool,
        what: &str,
        mut each: impl FnMut(Vec<Value>),
    ) -> Result<(), HttpError> {
        let mut url = self.url(path);
        let mut page = 1;
        loop {
            let what = if page == 1 { what.to_owned() } else { format!("{what} (page {page})") };
            let mut body = self.get_url(&url, eventual, &what).await?;
            let items = match body.get_mut("value").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(HttpError {
                        status: None,
                        code: None,
                        incident: None,
                        message: format!("{what}: the response has no `value` list"),
                    });
                }
            };
            each(items);
            match body.get("@odata.nextLink").and_then(Value::as_str) {
                // The token goes only where it came from.
                Some(next) if next.starts_with(&format!("{}/", self.settings.graph)) => url = next.to_owned(),
                Some(next) => {
                    let origin = next.split('/').take(3).collect::<Vec<_>>().join("/");
                    return Err(HttpError {
                        status: None,
                        code: None,
                        incident: None,
                        message: format!("{what}: the next page is on {origin}, not on {}", self.settings.graph),
                    });
                }
                None => return Ok(()),
            }
            page += 1;
        }
    }
}

/// A runtime for one command's Graph calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, Problem> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Problem::new(Code::Graph, format!("cannot start the HTTP runtime: {e}")))
}
