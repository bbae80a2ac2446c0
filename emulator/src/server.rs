//! Routes, handlers, authentication and fault injection.

// Handlers build their error responses in helpers returning `Result<_, Response>`; an error
// response is an ordinary outcome of a request here, not worth boxing.
#![allow(clippy::result_large_err)]

use crate::config::{Config, GrantsVisibility, KeysAsNumbers, LicensesPaging, OnElsewhere, OnExisting, PutGrants};
use crate::conn::ConnMeta;
use crate::faults::{Bucket, SplitMix64, chance};
use crate::state::{self, DEFAULT_LOCALE, DEFAULT_TIME_ZONE, State as Account, User, key_json, user_json};
use crate::{LoggedRequest, RequestCounts};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const LOG_CAP: usize = 10_000;

pub(crate) struct Inner {
    pub state: Account,
    pub config: Config,
    pub tokens: HashMap<String, Instant>,
    /// API requests made with each issued token (for `token_max_uses`).
    pub token_uses: HashMap<String, u64>,
    /// The refresh token accepted now, once one was rotated (`refresh_token_in_answer`).
    pub rotated_refresh_token: Option<String>,
    pub token_seq: u64,
    pub counts: RequestCounts,
    pub log: VecDeque<LoggedRequest>,
    pub rng: SplitMix64,
    pub bucket: Bucket,
}

impl Inner {
    pub fn new(state: Account, config: Config) -> Inner {
        let rng = SplitMix64::new(config.faults.seed);
        Inner {
            state,
            config,
            tokens: HashMap::new(),
            token_uses: HashMap::new(),
            rotated_refresh_token: None,
            token_seq: 0,
            counts: RequestCounts::default(),
            log: VecDeque::new(),
            rng,
            bucket: Bucket::new(),
        }
    }

    /// New configuration: the fault generator restarts from the new seed and the bucket refills.
    pub fn set_config(&mut self, config: Config) {
        self.rng = SplitMix64::new(config.faults.seed);
        self.bucket = Bucket::new();
        self.rotated_refresh_token = None;
        self.config = config;
    }
}

#[derive(Clone)]
pub(crate) struct App {
    pub shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub inner: Mutex<Inner>,
    incident: AtomicU64,
}

impl App {
    pub fn new(state: Account, config: Config) -> App {
        App { shared: Arc::new(Shared { inner: Mutex::new(Inner::new(state, config)), incident: AtomicU64::new(1) }) }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn incident_id(&self) -> String {
        let n = self.shared.incident.fetch_add(1, Ordering::Relaxed);
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    /// GoTo's error body: `{incidentId, errors: [{code, value}]}`.
    fn error(&self, status: StatusCode, code: &str, value: impl Into<Value>) -> Response {
        let body = json!({"incidentId": self.incident_id(), "errors": [{"code": code, "value": value.into()}]});
        (status, axum::Json(body)).into_response()
    }
}

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/admin/rest/v1/me", get(me))
        .route("/admin/rest/v1/accounts/{account}/users", get(list_users).post(add_users))
        .route("/admin/rest/v1/accounts/{account}/users/{user}", get(get_user).put(update_user).delete(delete_user))
        .route("/admin/rest/v1/accounts/{account}/licenses", get(list_licenses))
        .route("/_emulator/state", get(control_get_state).put(control_put_state))
        .route("/_emulator/requests", get(control_requests).delete(control_reset_requests))
        .route("/_emulator/log", get(control_log))
        .route("/_emulator/config", get(control_get_config).put(control_put_config))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), faults_layer))
        .with_state(app)
}

async fn not_found(State(app): State<App>, req: Request) -> Response {
    app.error(StatusCode::NOT_FOUND, "not.found", req.uri().path().to_string())
}

// ---------------------------------------------------------------------------------------------
// Request kinds, counting, faults

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Token,
    Me,
    ListUsers,
    GetUser,
    Create,
    Update,
    Delete,
    Licenses,
    Other,
}

impl Kind {
    fn of(method: &Method, path: &str) -> Kind {
        if path == "/oauth/token" {
            return if method == Method::POST { Kind::Token } else { Kind::Other };
        }
        let Some(rest) = path.strip_prefix("/admin/rest/v1/") else { return Kind::Other };
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("GET", ["me"]) => Kind::Me,
            ("GET", ["accounts", _, "users"]) => Kind::ListUsers,
            ("POST", ["accounts", _, "users"]) => Kind::Create,
            ("GET", ["accounts", _, "users", _]) => Kind::GetUser,
            ("PUT", ["accounts", _, "users", _]) => Kind::Update,
            ("DELETE", ["accounts", _, "users", _]) => Kind::Delete,
            ("GET", ["accounts", _, "licenses"]) => Kind::Licenses,
            _ => Kind::Other,
        }
    }

    fn is_write(self) -> bool {
        matches!(self, Kind::Create | Kind::Update | Kind::Delete)
    }
}

impl RequestCounts {
    fn bump(&mut self, kind: Kind) {
        self.total += 1;
        let c = match kind {
            Kind::Token => &mut self.token,
            Kind::Me => &mut self.me,
            Kind::ListUsers => &mut self.list_users,
            Kind::GetUser => &mut self.get_user,
            Kind::Create => &mut self.create,
            Kind::Update => &mut self.update,
            Kind::Delete => &mut self.delete,
            Kind::Licenses => &mut self.licenses,
            Kind::Other => &mut self.other,
        };
        *c += 1;
    }
}

enum Outcome {
    Pass { drop: bool },
    RateLimited { retry_after: Option<u64> },
    Fail(u16),
}

fn decide(g: &mut Inner, kind: Kind) -> (Duration, Outcome) {
    let f = g.config.faults.clone();
    if kind == Kind::Token && !f.token_endpoint {
        return (Duration::ZERO, Outcome::Pass { drop: false });
    }
    let latency = Duration::from_millis(f.latency_ms);
    // Always three draws, whatever happens, so that the sequence of faults depends only on the
    // seed and the sequence of requests.
    let (r_fail, r_status, r_drop) = (g.rng.next_u64(), g.rng.next_u64(), g.rng.next_u64());
    if let Some(rate) = f.rate_limit_per_second
        && let Err(wait) = g.bucket.take(rate, Instant::now())
    {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        return (latency, Outcome::RateLimited { retry_after: f.retry_after.then_some(secs) });
    }
    if !f.error_statuses.is_empty() && chance(r_fail, f.error_rate) {
        let status = f.error_statuses[(r_status % f.error_statuses.len() as u64) as usize];
        return (latency, Outcome::Fail(status));
    }
    (latency, Outcome::Pass { drop: kind.is_write() && chance(r_drop, f.drop_after_write) })
}

fn injected_error(app: &App, status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status {
        // Gateways answer in HTML, not GoTo's JSON (the reference: non-JSON error bodies exist).
        502 => (code, [(header::CONTENT_TYPE, "text/html")], "<html><body><h1>502 Bad Gateway</h1></body></html>")
            .into_response(),
        503 => (code, [(header::CONTENT_TYPE, "text/plain")], "Service Unavailable").into_response(),
        _ => app.error(code, "internal.error", "injected fault"),
    }
}

async fn faults_layer(
    State(app): State<App>,
    ConnectInfo(conn): ConnectInfo<ConnMeta>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_emulator/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_string);
    let kind = Kind::of(&method, &path);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let logged_body = if bytes.is_empty() || kind == Kind::Token {
        None // token requests carry secrets: not logged
    } else {
        Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())))
    };
    let req = Request::from_parts(parts, Body::from(bytes));

    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let (latency, outcome) = {
        let mut g = app.lock();
        g.counts.bump(kind);
        // An issued token used up (`token_max_uses`): expired, as an hour of a run would make it.
        if let (Some(max), Some(t)) = (g.config.token_max_uses, bearer)
            && g.tokens.contains_key(&t)
        {
            let uses = g.token_uses.entry(t.clone()).or_default();
            *uses += 1;
            if *uses > max {
                g.tokens.remove(&t);
                let resp = app.error(StatusCode::UNAUTHORIZED, "not.authenticated", "access token expired");
                push_log(&mut g, method.as_str(), &path, query, logged_body, Some(401), None);
                return resp;
            }
        }
        decide(&mut g, kind)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (resp, fault) = match outcome {
        Outcome::RateLimited { retry_after } => {
            let mut resp = app.error(StatusCode::TOO_MANY_REQUESTS, "too.many.requests", "rate limit exceeded");
            if let Some(secs) = retry_after {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            (resp, Some("rate_limited"))
        }
        Outcome::Fail(status) => (injected_error(&app, status), Some("error")),
        Outcome::Pass { drop } => {
            let resp = next.run(req).await;
            if drop && resp.status().is_success() {
                conn.kill();
                let mut g = app.lock();
                g.counts.dropped += 1;
                push_log(&mut g, method.as_str(), &path, query, logged_body, None, Some("dropped"));
                return resp;
            }
            (resp, None)
        }
    };
    let status = resp.status().as_u16();
    let mut g = app.lock();
    if status == 429 {
        g.counts.status_429 += 1;
    }
    if status >= 500 {
        g.counts.status_5xx += 1;
    }
    push_log(&mut g, method.as_str(), &path, query, logged_body, Some(status), fault);
    resp
}

fn push_log(
    g: &mut Inner,
    method: &str,
    path: &str,
    query: Option<String>,
    body: Option<Value>,
    status: Option<u16>,
    fault: Option<&str>,
) {
    if g.log.len() >= LOG_CAP {
        g.log.pop_front();
    }
    g.log.push_back(LoggedRequest {
        method: method.to_string(),
        path: path.to_string(),
        query,
        body,
        status,
        fault: fault.map(str::to_string),
    });
}

// ---------------------------------------------------------------------------------------------
// OAuth token endpoint

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, axum::Json(json!({"error": error, "error_description": description}))).into_response()
}

fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn parse_pairs(raw: &str, plus_is_space: bool) -> Option<Vec<(String, String)>> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((percent_decode(k, plus_is_space)?, percent_decode(v, plus_is_space)?))
        })
        .collect()
}

async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let mut g = app.lock();
    let cfg = g.config.clone();
    let Some((id, secret)) = basic.as_deref().and_then(|b| b.split_once(':')) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "HTTP Basic client authentication required");
    };
    if id != cfg.client_id || secret != cfg.client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Bad client credentials");
    }
    let Some(form) = std::str::from_utf8(&body).ok().and_then(|s| parse_pairs(s, true)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "malformed form body");
    };
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    // Neither grant returns a refresh_token: a refresh response omits it (D7), and a PAT can
    // simply be exchanged again.
    match field("grant_type") {
        Some("personal_access_token") => {
            if field("pat") != Some(cfg.pat.as_str()) || cfg.pat.is_empty() {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_grant", "Invalid personal access token");
            }
        }
        Some("refresh_token") => {
            let accepted = g.rotated_refresh_token.clone().unwrap_or_else(|| cfg.refresh_token.clone());
            if field("refresh_token") != Some(accepted.as_str()) || accepted.is_empty() {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_grant", "Invalid refresh token");
            }
        }
        Some(_) => return oauth_error(StatusCode::UNAUTHORIZED, "unauthorized_client", "Unauthorized grant type"),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
    };
    g.token_seq += 1;
    // Not drawn from the fault generator, so that token requests do not shift the faults.
    let noise = SplitMix64::new(g.token_seq).next_u64();
    let token = format!("emu-at-{:06}-{noise:016x}", g.token_seq);
    let now = Instant::now();
    g.tokens.retain(|_, exp| *exp > now);
    g.tokens.insert(token.clone(), now + Duration::from_millis(cfg.token_ttl_ms));
    let principal = admin_of(&g).email.clone();
    let mut resp = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": cfg.token_ttl_ms.div_ceil(1000),
        "scope": cfg.scope,
        "principal": principal,
    });
    if cfg.refresh_token_in_answer {
        // A new refresh token; after a refresh-token grant it replaces the one just used.
        let rt = format!("emu-rt-{:06}-{:016x}", g.token_seq, noise.rotate_left(17));
        if field("grant_type") == Some("refresh_token") {
            g.rotated_refresh_token = Some(rt.clone());
        }
        resp["refresh_token"] = Value::String(rt);
    }
    axum::Json(resp).into_response()
}

// ---------------------------------------------------------------------------------------------
// Admin API

fn authenticate(app: &App, g: &Inner, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(token) = token else {
        return Err(app.error(StatusCode::UNAUTHORIZED, "not.authenticated", "missing bearer token"));
    };
    if !g.config.access_token.is_empty() && token == g.config.access_token {
        return Ok(());
    }
    match g.tokens.get(token) {
        Some(exp) if *exp > Instant::now() => Ok(()),
        Some(_) => Err(app.error(StatusCode::UNAUTHORIZED, "not.authenticated", "access token expired")),
        None => Err(app.error(StatusCode::UNAUTHORIZED, "not.authenticated", "invalid access token")),
    }
}

fn check_account(app: &App, g: &Inner, account: &str) -> Result<(), Response> {
    if account == g.state.account.key {
        Ok(())
    } else if g.config.extra_accounts.iter().any(|a| a.key == account) {
        Err(app.error(StatusCode::FORBIDDEN, "account.access.denied", account.to_string()))
    } else {
        Err(app.error(StatusCode::NOT_FOUND, "account.not.found", account.to_string()))
    }
}

/// The calling admin, as a user record.
fn admin_of(g: &Inner) -> User {
    let users = g.state.users();
    let found = match &g.config.admin_email {
        Some(e) => users.iter().find(|u| u.email.eq_ignore_ascii_case(e)),
        // Without a SUPER_USER in the account, a synthetic one: the caller can apply any plan
        // (`admin_email` names a weaker admin when a test wants one).
        None => users.iter().find(|u| u.admin_roles.iter().any(|r| r == "SUPER_USER")),
    };
    found.cloned().unwrap_or_else(|| User {
        key: "9000000000000000001".into(),
        email: g.config.admin_email.clone().unwrap_or_else(|| "admin@emulator.example".into()),
        first_name: "Account".into(),
        last_name: "Admin".into(),
        locale: DEFAULT_LOCALE.into(),
        time_zone: DEFAULT_TIME_ZONE.into(),
        license_keys: Vec::new(),
        admin_roles: vec!["SUPER_USER".into()],
        name_locked: false,
        email_locked: false,
        identity_read_only: false,
        status: "ACTIVE".into(),
        invited_license_keys: Vec::new(),
        extra: Map::new(),
    })
}

struct Keys {
    view: bool,
    created: bool,
    licenses: bool,
}

fn keys(c: &Config) -> Keys {
    match c.keys_as_numbers {
        KeysAsNumbers::Documented => Keys { view: false, created: true, licenses: true },
        KeysAsNumbers::Always => Keys { view: true, created: true, licenses: true },
        KeysAsNumbers::Never => Keys { view: false, created: false, licenses: false },
    }
}

async fn me(State(app): State<App>, headers: HeaderMap) -> Response {
    let g = app.lock();
    if let Err(r) = authenticate(&app, &g, &headers) {
        return r;
    }
    let k = keys(&g.config);
    let admin = admin_of(&g);
    let mut accounts = vec![json!({"key": key_json(&g.state.account.key, k.view), "name": g.state.account.name})];
    for a in &g.config.extra_accounts {
        accounts.push(json!({"key": key_json(&a.key, k.view), "name": a.name}));
    }
    let mut o = Map::new();
    o.insert("key".into(), key_json(&admin.key, k.view));
    o.insert("accountKey".into(), key_json(&g.state.account.key, k.view));
    o.insert("email".into(), Value::String(admin.email.clone()));
    o.insert("firstName".into(), Value::String(admin.first_name.clone()));
    o.insert("lastName".into(), Value::String(admin.last_name.clone()));
    o.insert("locale".into(), Value::String(admin.locale.clone()));
    o.insert("timeZone".into(), Value::String(admin.time_zone.clone()));
    o.insert("adminRoles".into(), Value::from(admin.admin_roles.clone()));
    o.insert("accounts".into(), Value::Array(accounts));
    axum::Json(Value::Object(o)).into_response()
}

/// Query parameters, refusing a raw `+` as GoTo does (spaces must be `%20`).
fn query_params(app: &App, raw: Option<&str>) -> Result<Vec<(String, String)>, Response> {
    let raw = raw.unwrap_or("");
    if raw.contains('+') {
        return Err(app.error(
            StatusCode::BAD_REQUEST,
            "invalid.query",
            "'+' is not accepted in the query string; encode spaces as %20 and '+' as %2B",
        ));
    }
    parse_pairs(raw, false)
        .ok_or_else(|| app.error(StatusCode::BAD_REQUEST, "invalid.query", "malformed percent-encoding"))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn paging(app: &App, cfg: &Config, params: &[(String, String)]) -> Result<(usize, usize), Response> {
    let offset = match param(params, "offset") {
        None => 0,
        Some(s) => s.trim().parse::<usize>().map_err(|_| app.error(StatusCode::BAD_REQUEST, "invalid.offset", s))?,
    };
    let size = match param(params, "pageSize") {
        None => cfg.default_page_size,
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(app.error(StatusCode::BAD_REQUEST, "invalid.pageSize", s)),
        },
    };
    Ok((offset, size.min(cfg.max_page_size.max(1))))
}

fn paged(items: Vec<Value>, offset: usize, size: usize) -> Value {
    let total = items.len();
    page(items.into_iter().skip(offset).take(size).collect(), offset, total)
}

fn page(results: Vec<Value>, offset: usize, total: usize) -> Value {
    let to = offset + results.len();
    json!({"results": results, "fromIndex": offset, "toIndex": to, "total": total})
}

/// `email eq "x"` (case-insensitive) or `key eq "x"`.
fn parse_filter(f: &str) -> Option<(String, String)> {
    let f = f.trim();
    let (attr, rest) = f.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(char::is_whitespace)?;
    let value = value.trim();
    if !op.eq_ignore_ascii_case("eq") || value.len() < 2 || !value.starts_with('"') || !value.ends_with('"') {
        return None;
    }
    let attr = match attr {
        "email" | "key" => attr.to_string(),
        _ => return None,
    };
    Some((attr, value[1..value.len() - 1].to_string()))
}

fn project(v: Value, attributes: Option<&str>) -> Value {
    let (Some(attrs), Value::Object(o)) = (attributes, &v) else { return v };
    let wanted: Vec<&str> = attrs.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    Value::Object(o.iter().filter(|(k, _)| wanted.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect())
}

async fn list_users(
    State(app): State<App>,
    Path(account): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let g = app.lock();
    authenticate(&app, &g, &headers)?;
    check_account(&app, &g, &account)?;
    let params = query_params(&app, raw.as_deref())?;
    let (offset, size) = paging(&app, &g.config, &params)?;
    let filter =
        match param(&params, "filter") {
            None => None,
            Some(f) => Some(parse_filter(f).ok_or_else(|| {
                app.error(StatusCode::BAD_REQUEST, "invalid.filter", format!("unsupported filter: {f}"))
            })?),
        };
    let k = keys(&g.config);
    let show = g.config.grants_in_list == GrantsVisibility::InListAndGet;
    let attributes = param(&params, "attributes");
    let users = g.state.users();
    // Only the page is rendered (a list of 100,000 users is read 1,000 at a time).
    let hide_invited = !g.config.invited_in_list;
    let matching: Vec<&User> = match &filter {
        None if hide_invited => users.iter().filter(|u| u.invited_license_keys.is_empty()).collect(),
        None => users.iter().collect(),
        Some((a, v)) if a == "email" => g.state.user_by_email(v).map(|i| &users[i]).into_iter().collect(),
        Some((_, v)) => g.state.user_index(v).map(|i| &users[i]).into_iter().collect(),
    };
    let total = matching.len();
    let cut = g.config.faults.empty_pages_from.is_some_and(|from| offset >= from);
    let results: Vec<Value> = matching
        .into_iter()
        .skip(offset)
        .take(if cut { 0 } else { size })
        .map(|u| project(user_json(u, k.view, show, show), attributes))
        .collect();
    // Written out without the lock: pages asked for at once are written at once.
    drop(g);
    Ok(axum::Json(page(results, offset, total)).into_response())
}

async fn get_user(
    State(app): State<App>,
    Path((account, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let g = app.lock();
    authenticate(&app, &g, &headers)?;
    check_account(&app, &g, &account)?;
    let i =
        g.state.user_index(&user).ok_or_else(|| app.error(StatusCode::NOT_FOUND, "user.not.found", user.clone()))?;
    let k = keys(&g.config);
    let show_licenses = g.config.grants_in_list != GrantsVisibility::LicensesOnly;
    Ok(axum::Json(user_json(&g.state.users()[i], k.view, show_licenses, true)).into_response())
}

async fn list_licenses(
    State(app): State<App>,
    Path(account): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let g = app.lock();
    authenticate(&app, &g, &headers)?;
    check_account(&app, &g, &account)?;
    let params = query_params(&app, raw.as_deref())?;
    let k = keys(&g.config);
    if g.config.licenses_paging == LicensesPaging::Unpaged {
        if let Some((p, _)) = params.iter().find(|(p, _)| p == "offset" || p == "pageSize") {
            return Err(app.error(StatusCode::BAD_REQUEST, "invalid.parameter", p.clone()));
        }
        let items: Vec<Value> = g.state.licenses.iter().map(|l| g.state.license_json(l, k.licenses)).collect();
        return Ok(axum::Json(Value::Array(items)).into_response());
    }
    let (offset, size) = paging(&app, &g.config, &params)?;
    let items: Vec<Value> = g.state.licenses.iter().map(|l| g.state.license_json(l, k.licenses)).collect();
    Ok(axum::Json(paged(items, offset, size)).into_response())
}

fn parse_body(app: &App, body: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(app.error(StatusCode::BAD_REQUEST, "request.invalid", "expected a JSON object")),
        Err(e) => Err(app.error(StatusCode::BAD_REQUEST, "request.invalid", format!("invalid JSON: {e}"))),
    }
}

fn bad(app: &App) -> impl Fn(String) -> Response + '_ {
    move |msg| app.error(StatusCode::BAD_REQUEST, "request.invalid", msg)
}

/// License keys must exist in the account.
fn check_licenses(app: &App, state: &Account, keys: &[String]) -> Result<(), Response> {
    match keys.iter().find(|k| !state.licenses.iter().any(|l| &l.key == *k)) {
        Some(k) => Err(app.error(StatusCode::BAD_REQUEST, "license.not.found", k.clone())),
        None => Ok(()),
    }
}

/// Refuses a change that gives a license more holders than seats (when it adds holders):
/// `added(license)` is how many users the change makes new holders of it.
fn check_seats(app: &App, cfg: &Config, state: &Account, added: impl Fn(&str) -> usize) -> Result<(), Response> {
    if !cfg.enforce_seats {
        return Ok(());
    }
    for l in &state.licenses {
        let n = added(&l.key);
        // Counting holders scans every user: skip it when even all users could not exceed.
        if let Some(seats) = l.seats
            && n > 0
            && state.users().len() + n > seats as usize
            && state.holder_count(&l.key) + n > seats as usize
        {
            return Err(app.error(StatusCode::CONFLICT, "license.seats.exceeded", l.key.clone()));
        }
    }
    Ok(())
}

fn union(into: &mut Vec<String>, more: &[String]) {
    for m in more {
        if !into.contains(m) {
            into.push(m.clone());
        }
    }
}

fn opt_string(o: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{field}: expected a string, got {other}")),
    }
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !e.chars().any(char::is_whitespace)
}

/// "Add Users": `{users: [...], licenseKeys, adminRoles, suppressEmail}` -> `[{key, email}]`.
async fn add_users(
    State(app): State<App>,
    Path(account): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let mut g = app.lock();
    let g = &mut *g;
    authenticate(&app, g, &headers)?;
    check_account(&app, g, &account)?;
    let params = query_params(&app, raw.as_deref())?;
    let all_or_nothing = match param(&params, "allOrNothing").filter(|_| g.config.all_or_nothing_honoured) {
        None => g.config.all_or_nothing_default,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => return Err(app.error(StatusCode::BAD_REQUEST, "invalid.parameter", format!("allOrNothing={v}"))),
    };
    let o = parse_body(&app, &body)?;
    let bad = bad(&app);
    let Some(Value::Array(users)) = o.get("users") else {
        return Err(bad("users: a non-empty array is required".into()));
    };
    if users.is_empty() {
        return Err(bad("users: a non-empty array is required".into()));
    }
    let licenses = state::request_keys(o.get("licenseKeys"), "licenseKeys").map_err(&bad)?.unwrap_or_default();
    let roles = state::request_strings(o.get("adminRoles"), "adminRoles").map_err(&bad)?.unwrap_or_default();
    check_licenses(&app, &g.state, &licenses)?;
    allowed(&app, g, "ADD_USERS")?;
    if !licenses.is_empty() {
        allowed(&app, g, "MANAGE_SEATS")?;
    }
    if !roles.is_empty() {
        allowed(&app, g, "SUPER_USER")?;
    }
    let mut conflicts: Vec<String> = Vec::new();
    // All or nothing: new users and changed grants of existing ones are collected, checked,
    // then applied (no copy of the whole account per request).
    let mut created: Vec<User> = Vec::new();
    let mut pending: HashMap<String, usize> = HashMap::new();
    let mut regranted: HashMap<usize, (Vec<String>, Vec<String>)> = HashMap::new();
    let mut next_key = g.state.next_key;
    let mut out = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let u = u.as_object().ok_or_else(|| bad(format!("users[{i}]: expected an object")))?;
        let ctx = |e: String| bad(format!("users[{i}].{e}"));
        let email = opt_string(u, "email").map_err(ctx)?.unwrap_or_default();
        if !valid_email(&email) {
            return Err(app.error(StatusCode::BAD_REQUEST, "email.invalid", email));
        }
        let mut grant = licenses.clone();
        if g.config.per_user_license_keys {
            let own = state::request_keys(u.get("licenseKeys"), "licenseKeys").map_err(ctx)?.unwrap_or_default();
            check_licenses(&app, &g.state, &own)?;
            union(&mut grant, &own);
        }
        let existing = g.state.user_by_email(&email).is_some() || pending.contains_key(&email.to_ascii_lowercase());
        let elsewhere = !existing && g.config.identities_elsewhere.iter().any(|e| e.eq_ignore_ascii_case(&email));
        if (existing && g.config.on_existing == OnExisting::Conflict)
            || (elsewhere && g.config.on_elsewhere == OnElsewhere::Conflict)
        {
            conflicts.push(email.clone());
            out.push((String::new(), email));
            continue;
        }
        if let Some(idx) = g.state.user_by_email(&email) {
            // Existing users come back with their key.
            let existing = &g.state.users()[idx];
            if g.config.add_users_grants_existing {
                let (lic, rol) = regranted
                    .entry(idx)
                    .or_insert_with(|| (existing.license_keys.clone(), existing.admin_roles.clone()));
                union(lic, &grant);
                union(rol, &roles);
            }
            out.push((existing.key.clone(), existing.email.clone()));
            continue;
        }
        if let Some(&j) = pending.get(&email.to_ascii_lowercase()) {
            // The same person twice in one request: the second comes back like an existing user.
            let earlier = &mut created[j];
            if g.config.add_users_grants_existing {
                union(&mut earlier.license_keys, &grant);
                union(&mut earlier.admin_roles, &roles);
            }
            out.push((earlier.key.clone(), earlier.email.clone()));
            continue;
        }
        let key = loop {
            let k = format!("{}{next_key}", g.config.new_key_prefix);
            next_key += 1;
            if g.state.user_index(&k).is_none() && !created.iter().any(|c| c.key == k) {
                break k;
            }
        };
        pending.insert(email.to_ascii_lowercase(), created.len());
        created.push(User {
            key: key.clone(),
            email: email.clone(),
            first_name: opt_string(u, "firstName").map_err(ctx)?.unwrap_or_default(),
            last_name: opt_string(u, "lastName").map_err(ctx)?.unwrap_or_default(),
            locale: opt_string(u, "locale").map_err(ctx)?.unwrap_or_else(|| DEFAULT_LOCALE.into()),
            time_zone: opt_string(u, "timeZone").map_err(ctx)?.unwrap_or_else(|| DEFAULT_TIME_ZONE.into()),
            // Someone with a GoTo identity elsewhere gets a transfer invitation: pending until accepted.
            license_keys: if elsewhere { Vec::new() } else { grant.clone() },
            admin_roles: roles.clone(),
            name_locked: false,
            email_locked: false,
            identity_read_only: false,
            status: if elsewhere { g.config.invited_status.clone() } else { g.config.new_user_status.clone() },
            invited_license_keys: if elsewhere { grant } else { Vec::new() },
            extra: Map::new(),
        });
        out.push((key, email));
    }
    if all_or_nothing && !conflicts.is_empty() {
        return Err(app.error(StatusCode::CONFLICT, "user.email.conflict", conflicts.join(",")));
    }
    let users = g.state.users();
    check_seats(&app, &g.config, &g.state, |l| {
        let new = created.iter().filter(|u| u.license_keys.iter().any(|k| k == l)).count();
        let gained = regranted
            .iter()
            .filter(|(idx, (lic, _))| lic.iter().any(|k| k == l) && !users[**idx].license_keys.iter().any(|k| k == l))
            .count();
        new + gained
    })?;
    for (idx, (lic, rol)) in regranted {
        let u = g.state.user_mut(idx);
        u.license_keys = lic;
        u.admin_roles = rol;
    }
    for u in created {
        g.state.push_user(u);
    }
    g.state.next_key = next_key;
    let as_num = keys(&g.config).created;
    // "The key property may be absent if the corresponding email conflicted."
    let body: Vec<Value> = out
        .iter()
        .map(|(k, e)| if k.is_empty() { json!({"email": e}) } else { json!({"key": key_json(k, as_num), "email": e}) })
        .collect();
    Ok((StatusCode::CREATED, axum::Json(Value::Array(body))).into_response())
}

/// Refuses a write the calling admin's roles do not allow (`enforce_admin_roles`).
fn allowed(app: &App, g: &Inner, role: &str) -> Result<(), Response> {
    if !g.config.enforce_admin_roles {
        return Ok(());
    }
    let have = admin_of(g).admin_roles;
    if have.iter().any(|r| r == role || r == "SUPER_USER") {
        Ok(())
    } else {
        Err(app.error(StatusCode::FORBIDDEN, "insufficient.admin.role", format!("{role} required")))
    }
}

/// Partial update. Identity fields of locked users cannot change.
async fn update_user(
    State(app): State<App>,
    Path((account, user)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let mut g = app.lock();
    let g = &mut *g;
    authenticate(&app, g, &headers)?;
    check_account(&app, g, &account)?;
    query_params(&app, raw.as_deref())?;
    let idx =
        g.state.user_index(&user).ok_or_else(|| app.error(StatusCode::NOT_FOUND, "user.not.found", user.clone()))?;
    let o = parse_body(&app, &body)?;
    let bad = bad(&app);
    if o.contains_key("key") {
        return Err(bad("key: can only be present in the URL".into()));
    }
    let first = opt_string(&o, "firstName").map_err(&bad)?;
    let last = opt_string(&o, "lastName").map_err(&bad)?;
    let email = opt_string(&o, "email").map_err(&bad)?;
    let locale = opt_string(&o, "locale").map_err(&bad)?;
    let tz = opt_string(&o, "timeZone").map_err(&bad)?;
    let lic = state::request_keys(o.get("licenseKeys"), "licenseKeys").map_err(&bad)?;
    let roles = state::request_strings(o.get("adminRoles"), "adminRoles").map_err(&bad)?;

    let cur = &g.state.users()[idx];
    let changes = |new: &Option<String>, old: &str| new.as_deref().is_some_and(|n| n != old);
    let name_change = changes(&first, &cur.first_name) || changes(&last, &cur.last_name);
    let email_change = changes(&email, &cur.email);
    let locale_change = changes(&locale, &cur.locale);
    let locked = StatusCode::from_u16(g.config.locked_status).unwrap_or(StatusCode::FORBIDDEN);
    if cur.identity_read_only && (name_change || email_change || locale_change) {
        return Err(app.error(locked, "user.identity.readonly", user.clone()));
    }
    if cur.name_locked && name_change {
        return Err(app.error(locked, "user.name.locked", user.clone()));
    }
    if cur.email_locked && email_change {
        return Err(app.error(locked, "user.email.locked", user.clone()));
    }
    if let Some(e) = &email {
        if !valid_email(e) {
            return Err(app.error(StatusCode::BAD_REQUEST, "email.invalid", e.clone()));
        }
        if g.state.user_by_email(e).is_some_and(|other| other != idx) {
            return Err(app.error(StatusCode::CONFLICT, "user.email.conflict", e.clone()));
        }
    }
    if let Some(l) = &lic {
        check_licenses(&app, &g.state, l)?;
    }
    if lic.as_ref().is_some_and(|l| {
        let mut a = l.clone();
        let mut b = cur.license_keys.clone();
        a.sort();
        b.sort();
        a != b
    }) {
        allowed(&app, g, "MANAGE_SEATS")?;
    }
    if roles.as_ref().is_some_and(|r| {
        let mut a = r.clone();
        let mut b = cur.admin_roles.clone();
        a.sort();
        b.sort();
        a != b
    }) {
        allowed(&app, g, "SUPER_USER")?;
    }
    if name_change || email_change || locale_change || changes(&tz, &cur.time_zone) {
        allowed(&app, g, "MANAGE_USERS")?;
    }
    // All or nothing: the changed user is checked before it replaces the current one.
    let mut u = cur.clone();
    if let Some(v) = first {
        u.first_name = v;
    }
    if let Some(v) = last {
        u.last_name = v;
    }
    if let Some(v) = email {
        u.email = v;
    }
    if let Some(v) = locale {
        u.locale = v;
    }
    if let Some(v) = tz {
        u.time_zone = v;
    }
    let mode = g.config.put_license_keys;
    // A pending invitation: the products wait for the acceptance too.
    let pending = !u.invited_license_keys.is_empty();
    if pending && let Some(l) = lic.clone() {
        match mode {
            PutGrants::Replace => u.invited_license_keys = l,
            PutGrants::Merge => union(&mut u.invited_license_keys, &l),
        }
    } else if let Some(l) = lic {
        match mode {
            PutGrants::Replace => u.license_keys = l,
            PutGrants::Merge => union(&mut u.license_keys, &l),
        }
    }
    if let Some(r) = roles {
        match mode {
            PutGrants::Replace => u.admin_roles = r,
            PutGrants::Merge => union(&mut u.admin_roles, &r),
        }
    }
    let before = &g.state.users()[idx];
    check_seats(&app, &g.config, &g.state, |l| {
        usize::from(u.license_keys.iter().any(|k| k == l) && !before.license_keys.iter().any(|k| k == l))
    })?;
    let email = std::mem::replace(&mut u.email, before.email.clone());
    *g.state.user_mut(idx) = u;
    if !email.eq(&g.state.users()[idx].email) {
        g.state.set_email(idx, email);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_user(
    State(app): State<App>,
    Path((account, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let mut g = app.lock();
    let g = &mut *g;
    authenticate(&app, g, &headers)?;
    check_account(&app, g, &account)?;
    allowed(&app, g, "MANAGE_USERS")?;
    let unknown = StatusCode::from_u16(g.config.delete_unknown_status).unwrap_or(StatusCode::NOT_FOUND);
    let idx = g.state.user_index(&user).ok_or_else(|| match unknown {
        // A gateway's answer, as one connector's documentation describes it.
        StatusCode::BAD_GATEWAY => injected_error(&app, 502),
        s => app.error(s, "user.not.found", user.clone()),
    })?;
    g.state.remove_user(idx);
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// Control endpoints (not part of GoTo's API; never counted, never faulted)

fn control_error(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": msg}))).into_response()
}

async fn control_get_state(State(app): State<App>) -> Response {
    axum::Json(app.lock().state.to_snapshot()).into_response()
}

async fn control_put_state(State(app): State<App>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return control_error(format!("invalid JSON: {e}")),
    };
    match Account::from_snapshot(&v) {
        Ok(s) => {
            let mut g = app.lock();
            let next_key = g.state.next_key;
            g.state = s;
            g.state.next_key = next_key;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => control_error(e),
    }
}

async fn control_requests(State(app): State<App>) -> Response {
    axum::Json(app.lock().counts.clone()).into_response()
}

async fn control_reset_requests(State(app): State<App>) -> Response {
    let mut g = app.lock();
    g.counts = RequestCounts::default();
    g.log.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn control_log(State(app): State<App>) -> Response {
    axum::Json(app.lock().log.iter().cloned().collect::<Vec<_>>()).into_response()
}

async fn control_get_config(State(app): State<App>) -> Response {
    axum::Json(app.lock().config.clone()).into_response()
}

/// Merges a JSON object onto the current configuration (objects merge, anything else replaces).
pub(crate) fn merge_config(current: &Config, patch: Value) -> Result<Config, String> {
    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => {
                for (k, v) in p {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
            (b, p) => *b = p,
        }
    }
    let mut base = serde_json::to_value(current).map_err(|e| e.to_string())?;
    if !patch.is_object() {
        return Err("expected a JSON object".into());
    }
    merge(&mut base, patch);
    serde_json::from_value(base).map_err(|e| e.to_string())
}

async fn control_put_config(State(app): State<App>, body: Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return control_error(format!("invalid JSON: {e}")),
    };
    let mut g = app.lock();
    match merge_config(&g.config, patch) {
        Ok(c) => {
            g.set_config(c);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => control_error(e),
    }
}
