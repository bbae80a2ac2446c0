//! Routing, authentication, queries, paging and faults of the Graph emulator.

// As in the GoTo emulator: an error response is an ordinary outcome of a request here.
#![allow(clippy::result_large_err)]

use super::{GraphConfig, GraphLoggedRequest, GraphRequestCounts, Tenant};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const LOG_CAP: usize = 10_000;

/// Properties of `microsoft.graph.user` that `$select` accepts (scalars and the few
/// collections a test may ask for); `extension_*` directory extensions are accepted too.
const USER_PROPERTIES: &[&str] = &[
    "accountEnabled",
    "ageGroup",
    "businessPhones",
    "city",
    "companyName",
    "consentProvidedForMinor",
    "country",
    "createdDateTime",
    "creationType",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeLeaveDateTime",
    "employeeType",
    "externalUserState",
    "faxNumber",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesDistinguishedName",
    "onPremisesDomainName",
    "onPremisesImmutableId",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "onPremisesUserPrincipalName",
    "otherMails",
    "passwordPolicies",
    "postalCode",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "securityIdentifier",
    "showInAddressList",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// What `/users` returns without `$select` (Graph's documented default set).
const DEFAULT_SELECT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

pub(crate) struct Inner {
    /// `http://127.0.0.1:PORT`, for `@odata.nextLink`.
    pub base: String,
    pub tenant: Tenant,
    /// User object id -> index in `tenant.users`; rebuilt whenever the tenant changes.
    pub user_index: HashMap<String, usize>,
    pub config: GraphConfig,
    pub tokens: HashMap<String, Instant>,
    pub token_seq: u64,
    pub counts: GraphRequestCounts,
    pub log: VecDeque<GraphLoggedRequest>,
    pub request_seq: u64,
}

#[derive(Clone)]
pub(crate) struct App(Arc<Mutex<Inner>>);

impl App {
    pub fn new(base: String, tenant: Tenant, config: GraphConfig) -> App {
        let user_index = index(&tenant);
        App(Arc::new(Mutex::new(Inner {
            base,
            user_index,
            tenant,
            config,
            tokens: HashMap::new(),
            token_seq: 0,
            counts: GraphRequestCounts::default(),
            log: VecDeque::new(),
            request_seq: 0,
        })))
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) fn index(tenant: &Tenant) -> HashMap<String, usize> {
    tenant.users.iter().enumerate().map(|(i, u)| (u.id.clone(), i)).collect()
}

pub(crate) fn router(app: App) -> Router {
    Router::new().fallback(handle).with_state(app)
}

/// Graph's error body.
fn error(g: &mut Inner, status: StatusCode, code: &str, message: &str) -> Response {
    g.request_seq += 1;
    let id = format!("5e0c1d2a-0000-4000-8000-{:012x}", g.request_seq);
    let body = json!({"error": {"code": code, "message": message,
        "innerError": {"date": "2026-01-01T00:00:00", "request-id": id, "client-request-id": id}}});
    (status, [("request-id", id.as_str())], axum::Json(body)).into_response()
}

/// The identity platform's error body.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description, "error_codes": [],
        "trace_id": "00000000-0000-0000-0000-000000000000", "correlation_id": "00000000-0000-0000-0000-000000000000"});
    (status, axum::Json(body)).into_response()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn handle(State(app): State<App>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let eventual = headers.get("ConsistencyLevel").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut g = app.lock();
    g.counts.total += 1;
    let response = route(&mut g, &method, &path, &query, eventual.as_deref(), &headers, &body);
    let status = response.status().as_u16();
    if status == 429 {
        g.counts.status_429 += 1;
    } else if status >= 500 {
        g.counts.status_5xx += 1;
    }
    if g.log.len() >= LOG_CAP {
        g.log.pop_front();
    }
    g.log.push_back(GraphLoggedRequest {
        method: method.to_string(),
        path,
        query: (!query.is_empty()).then(|| decode(&query)),
        consistency_level: eventual,
        status,
    });
    response
}

fn route(
    g: &mut Inner,
    method: &Method,
    path: &str,
    query: &str,
    eventual: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if segments.len() == 4 && segments[1] == "oauth2" && segments[2] == "v2.0" && segments[3] == "token" {
        g.counts.token += 1;
        if method != Method::POST {
            return token_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "AADSTS900561: The endpoint only accepts POST requests.",
            );
        }
        return token(g, segments[0], body);
    }
    if segments.first() != Some(&"v1.0") {
        g.counts.other += 1;
        return error(
            g,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Invalid version: {}", segments.first().unwrap_or(&"")),
        );
    }
    match &segments[1..] {
        ["users"] => g.counts.users += 1,
        ["groups", _, ..] => g.counts.group_members += 1,
        ["servicePrincipals", _] => g.counts.service_principals += 1,
        ["servicePrincipals", _, "appRoleAssignedTo"] => g.counts.app_role_assignments += 1,
        _ => g.counts.other += 1,
    }
    // Authentication.
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    match bearer.as_deref().map(|t| g.tokens.get(t).copied()) {
        None => return error(g, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token is empty."),
        Some(None) => {
            return error(
                g,
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "IDX14100: JWT is not well formed.",
            );
        }
        Some(Some(until)) if Instant::now() >= until => {
            return error(
                g,
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            );
        }
        Some(Some(_)) => {}
    }
    // Faults.
    let retry_after = g.config.faults.retry_after_secs.to_string();
    if g.config.faults.throttle_next > 0 {
        g.config.faults.throttle_next -= 1;
        let mut r = error(g, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.");
        r.headers_mut().insert("Retry-After", retry_after.parse().expect("digits"));
        return r;
    }
    if g.config.faults.unavailable_next > 0 {
        g.config.faults.unavailable_next -= 1;
        let mut r = error(g, StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Service unavailable.");
        r.headers_mut().insert("Retry-After", retry_after.parse().expect("digits"));
        return r;
    }
    if method != Method::GET {
        return error(g, StatusCode::METHOD_NOT_ALLOWED, "Request_BadRequest", "The emulator serves reads only.");
    }
    let q = pairs(query);
    let param = |name: &str| q.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let advanced_ok = !g.config.advanced_queries_need_eventual
        || (eventual.is_some_and(|e| e.eq_ignore_ascii_case("eventual")) && param("$count").as_deref() == Some("true"));
    match &segments[1..] {
        ["users"] => {
            let select = match selection(g, param("$select").as_deref()) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let filter = match param("$filter") {
                None => None,
                Some(f) => match Filter::parse(&f) {
                    Some(filter) if filter.advanced() && !advanced_ok => {
                        return error(
                            g,
                            StatusCode::BAD_REQUEST,
                            "Request_UnsupportedQuery",
                            "Unsupported or invalid query filter clause specified for property of resource 'User'.",
                        );
                    }
                    Some(filter) => Some(filter),
                    None => {
                        return error(g, StatusCode::BAD_REQUEST, "BadRequest", &format!("Invalid filter clause: {f}"));
                    }
                },
            };
            let (offset, top) = match window(g, &q) {
                Ok(w) => w,
                Err(r) => return r,
            };
            let matching: Vec<usize> = match &filter {
                None => (0..g.tenant.users.len()).collect(),
                Some(f) => (0..g.tenant.users.len())
                    .filter(|&i| f.matches(&g.tenant.users[i].id, &g.tenant.users[i].properties))
                    .collect(),
            };
            let items = matching
                .iter()
                .skip(offset)
                .take(top)
                .map(|&i| project(&g.tenant.users[i].id, &g.tenant.users[i].properties, &select, false))
                .collect();
            respond(g, path, &q, (offset, top), matching.len(), items)
        }
        ["groups", id, "transitiveMembers", "microsoft.graph.user"] => {
            if !advanced_ok {
                return error(
                    g,
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "The specified OData cast on a transitive member list requires ConsistencyLevel: eventual and $count=true.",
                );
            }
            let select = match selection(g, param("$select").as_deref()) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let Some(users) = transitive_users(&g.tenant, id) else {
                return not_found(g, id);
            };
            let (offset, top) = match window(g, &q) {
                Ok(w) => w,
                Err(r) => return r,
            };
            let items = users
                .iter()
                .skip(offset)
                .take(top)
                .filter_map(|uid| g.user_index.get(uid).map(|&i| &g.tenant.users[i]))
                .map(|u| project(&u.id, &u.properties, &select, true))
                .collect();
            respond(g, path, &q, (offset, top), users.len(), items)
        }
        ["groups", id, "members", "microsoft.graph.group"] => {
            if !advanced_ok {
                return error(
                    g,
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "The specified OData cast requires ConsistencyLevel: eventual and $count=true.",
                );
            }
            let Some(group) = g.tenant.groups.iter().find(|x| x.id.eq_ignore_ascii_case(id)) else {
                return not_found(g, id);
            };
            let items = group
                .members
                .iter()
                .filter_map(|m| g.tenant.groups.iter().find(|x| &x.id == m))
                .map(|x| json!({"@odata.type": "#microsoft.graph.group", "id": x.id, "displayName": x.display_name}))
                .collect();
            page(g, path, &q, items)
        }
        ["servicePrincipals", id] => {
            let Some(sp) = g.tenant.service_principals.iter().find(|s| s.id.eq_ignore_ascii_case(id)) else {
                return not_found(g, id);
            };
            let roles: Vec<Value> = sp
                .app_roles
                .iter()
                .map(|r| {
                    json!({"allowedMemberTypes": ["User"], "description": r.display_name, "displayName": r.display_name,
                    "id": r.id, "isEnabled": true, "origin": "Application", "value": r.value})
                })
                .collect();
            let body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
                "id": sp.id, "appId": sp.app_id, "displayName": sp.display_name, "appRoles": roles});
            axum::Json(body).into_response()
        }
        ["servicePrincipals", id, "appRoleAssignedTo"] => {
            let Some(sp) = g.tenant.service_principals.iter().find(|s| s.id.eq_ignore_ascii_case(id)).cloned() else {
                return not_found(g, id);
            };
            let items = sp
                .assigned_to
                .iter()
                .enumerate()
                .map(|(i, (principal, role))| {
                    let (kind, name) = match g.tenant.groups.iter().find(|x| &x.id == principal) {
                        Some(x) => ("Group", x.display_name.clone()),
                        None => (
                            "User",
                            g.tenant
                                .users
                                .iter()
                                .find(|u| &u.id == principal)
                                .and_then(|u| u.properties.get("displayName").and_then(Value::as_str))
                                .unwrap_or_default()
                                .to_owned(),
                        ),
                    };
                    json!({"id": format!("assignment-{i}"), "appRoleId": role, "createdDateTime": "2024-01-01T00:00:00Z",
                        "principalDisplayName": name, "principalId": principal, "principalType": kind,
                        "resourceDisplayName": sp.display_name, "resourceId": sp.id})
                })
                .collect();
            page(g, path, &q, items)
        }
        _ => error(
            g,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{}'.", segments.last().unwrap_or(&"")),
        ),
    }
}

fn not_found(g: &mut Inner, id: &str) -> Response {
    error(
        g,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn token(g: &mut Inner, tenant: &str, body: &[u8]) -> Response {
    if !tenant.eq_ignore_ascii_case(&g.config.tenant_id) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        );
    }
    let form = pairs(&String::from_utf8_lossy(body));
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if field("grant_type") != Some("client_credentials") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if field("client_id") != Some(g.config.client_id.as_str()) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application was not found in the directory.",
        );
    }
    if !field("scope").is_some_and(|s| s.ends_with("/.default")) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    let proven = match (field("client_secret"), field("client_assertion_type"), field("client_assertion")) {
        (Some(secret), None, None) => secret == g.config.client_secret,
        (None, Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), Some(assertion)) => {
            assertion == g.config.federated_token
        }
        _ => false,
    };
    if !proven {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        );
    }
    g.token_seq += 1;
    let token = format!("eyJ0eXAiOiJKV1Qi.emulated-{}.sig", g.token_seq);
    let ttl = g.config.token_ttl_secs;
    g.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(ttl));
    axum::Json(json!({"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": token}))
        .into_response()
}

fn selection(g: &mut Inner, select: Option<&str>) -> Result<Vec<String>, Response> {
    let Some(select) = select else { return Ok(DEFAULT_SELECT.iter().map(|s| (*s).to_owned()).collect()) };
    let mut out = Vec::new();
    for name in select.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !USER_PROPERTIES.contains(&name) && !name.starts_with("extension_") {
            return Err(error(
                g,
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!("Could not find a property named '{name}' on type 'microsoft.graph.user'."),
            ));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

/// A user as Graph returns it: `id` always, the selected properties (null when unset).
fn project(id: &str, properties: &Map<String, Value>, select: &[String], typed: bool) -> Value {
    let mut m = Map::new();
    if typed {
        m.insert("@odata.type".into(), "#microsoft.graph.user".into());
    }
    m.insert("id".into(), id.into());
    for name in select.iter().filter(|n| n.as_str() != "id") {
        m.insert(name.clone(), properties.get(name).cloned().unwrap_or(Value::Null));
    }
    Value::Object(m)
}

/// The users in a group and, through nested groups, in its subgroups, each once.
fn transitive_users(tenant: &Tenant, id: &str) -> Option<Vec<String>> {
    let start = tenant.groups.iter().find(|x| x.id.eq_ignore_ascii_case(id))?;
    let groups: HashSet<&str> = tenant.groups.iter().map(|x| x.id.as_str()).collect();
    let mut seen_groups = HashSet::new();
    let mut seen_users = HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![start.id.clone()];
    while let Some(gid) = stack.pop() {
        if !seen_groups.insert(gid.clone()) {
            continue;
        }
        let Some(group) = tenant.groups.iter().find(|x| x.id == gid) else { continue };
        for m in &group.members {
            if groups.contains(m.as_str()) {
                stack.push(m.clone());
            } else if seen_users.insert(m.clone()) {
                out.push(m.clone());
            }
        }
    }
    Some(out)
}

/// One page of a whole list of `items`.
fn page(g: &mut Inner, path: &str, q: &[(String, String)], items: Vec<Value>) -> Response {
    let (offset, top) = match window(g, q) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let total = items.len();
    let slice = items.into_iter().skip(offset).take(top).collect();
    respond(g, path, q, (offset, top), total, slice)
}

/// Where the page asked for starts and how long it is, from `$top` and `$skiptoken`.
fn window(g: &mut Inner, q: &[(String, String)]) -> Result<(usize, usize), Response> {
    let param = |name: &str| q.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let top = match param("$top") {
        None => g.config.default_page_size,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=g.config.max_page_size).contains(&n) => n,
            _ => {
                let max = g.config.max_page_size;
                return Err(error(
                    g,
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    &format!("Invalid page size specified: '{t}'. Must be between 1 and {max} inclusive."),
                ));
            }
        },
    };
    let top = g.config.serve_at_most.map_or(top, |most| top.min(most.max(1)));
    let offset = match param("$skiptoken") {
        None => 0,
        Some(t) => match t
            .strip_prefix("X'")
            .and_then(|t| t.strip_suffix('\''))
            .and_then(|t| usize::from_str_radix(t, 16).ok())
        {
            Some(n) => n,
            None => {
                return Err(error(
                    g,
                    StatusCode::BAD_REQUEST,
                    "Directory_ExpiredPageToken",
                    "The specified page token value has expired and can no longer be included in your request.",
                ));
            }
        },
    };
    let number = offset / top + 1;
    if g.config.faults.fail_page == Some(number as u32) && number > 1 {
        let mut r =
            error(g, StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "The service is temporarily unavailable.");
        r.headers_mut().insert("Retry-After", "0".parse().expect("digits"));
        return Err(r);
    }
    Ok((offset, top))
}

/// A page: `items` (already cut to the window), `@odata.count` on the first page when asked,
/// and `@odata.nextLink` (the query with a `$skiptoken`) while more remain.
fn respond(
    g: &mut Inner,
    path: &str,
    q: &[(String, String)],
    (offset, top): (usize, usize),
    total: usize,
    items: Vec<Value>,
) -> Response {
    let param = |name: &str| q.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let mut body = Map::new();
    body.insert("@odata.context".into(), "https://graph.microsoft.com/v1.0/$metadata#users".into());
    if offset == 0 && param("$count").as_deref() == Some("true") {
        body.insert("@odata.count".into(), total.into());
    }
    if offset + top < total {
        let mut next: Vec<String> = q
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        next.push(format!("$skiptoken={}", encode(&format!("X'{:x}'", offset + top))));
        body.insert("@odata.nextLink".into(), format!("{}{path}?{}", g.base, next.join("&")).into());
    }
    body.insert("value".into(), Value::Array(items));
    axum::Json(Value::Object(body)).into_response()
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'$' | b',' | b'\'' | b'(' | b')') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `$filter` subset the emulator understands: clauses joined by `and` (or all by `or`):
/// `p eq 'v'`, `p ne 'v'`, `p eq true|false|null`, `startswith(p,'v')`, `endswith(p,'v')`,
/// `p in ('a','b')`. String comparisons ignore case, as Graph's directory queries do.
#[derive(Debug)]
pub(crate) struct Filter {
    any: bool,
    clauses: Vec<Clause>,
}

#[derive(Debug)]
enum Clause {
    Eq(String, Value),
    Ne(String, Value),
    StartsWith(String, String),
    EndsWith(String, String),
    In(String, Vec<String>),
}

fn literal(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Some(Value::String(inner.replace("''", "'")));
    }
    match s {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "null" => Some(Value::Null),
        _ => None,
    }
}

fn function(s: &str, name: &str) -> Option<(String, String)> {
    let rest = s.strip_prefix(name)?.trim_start().strip_prefix('(')?.strip_suffix(')')?;
    let (p, v) = rest.split_once(',')?;
    Some((p.trim().to_owned(), literal(v)?.as_str()?.to_owned()))
}

impl Filter {
    pub fn parse(s: &str) -> Option<Filter> {
        let (any, parts): (bool, Vec<&str>) =
            if s.contains(" or ") { (true, s.split(" or ").collect()) } else { (false, s.split(" and ").collect()) };
        let mut clauses = Vec::new();
        for part in parts {
            let part = part.trim();
            let clause = if let Some((p, v)) = function(part, "startswith") {
                Clause::StartsWith(p, v)
            } else if let Some((p, v)) = function(part, "endswith") {
                Clause::EndsWith(p, v)
            } else {
                let mut words = part.splitn(3, ' ');
                let (p, op, v) = (words.next()?, words.next()?, words.next()?);
                match op {
                    "eq" => Clause::Eq(p.to_owned(), literal(v)?),
                    "ne" => Clause::Ne(p.to_owned(), literal(v)?),
                    "in" => {
                        let list = v.trim().strip_prefix('(')?.strip_suffix(')')?;
                        let items: Option<Vec<String>> =
                            list.split(',').map(|x| literal(x).and_then(|l| l.as_str().map(str::to_owned))).collect();
                        Clause::In(p.to_owned(), items?)
                    }
                    _ => return None,
                }
            };
            clauses.push(clause);
        }
        Some(Filter { any, clauses })
    }

    /// `ne` and `endswith` are advanced queries.
    pub fn advanced(&self) -> bool {
        self.clauses.iter().any(|c| matches!(c, Clause::Ne(..) | Clause::EndsWith(..)))
    }

    pub fn matches(&self, id: &str, properties: &Map<String, Value>) -> bool {
        let value = |p: &str| if p == "id" { Some(Value::String(id.to_owned())) } else { properties.get(p).cloned() };
        let same = |a: &Option<Value>, b: &Value| match (a, b) {
            (Some(Value::String(x)), Value::String(y)) => x.eq_ignore_ascii_case(y),
            (None, Value::Null) => true,
            (Some(x), y) => x == y,
            (None, _) => false,
        };
        let text = |p: &str| value(p).and_then(|v| v.as_str().map(str::to_lowercase));
        let hold = |c: &Clause| match c {
            Clause::Eq(p, v) => same(&value(p), v),
            Clause::Ne(p, v) => !same(&value(p), v),
            Clause::StartsWith(p, v) => text(p).is_some_and(|t| t.starts_with(&v.to_lowercase())),
            Clause::EndsWith(p, v) => text(p).is_some_and(|t| t.ends_with(&v.to_lowercase())),
            Clause::In(p, vs) => text(p).is_some_and(|t| vs.iter().any(|v| v.to_lowercase() == t)),
        };
        if self.any { self.clauses.iter().any(hold) } else { self.clauses.iter().all(hold) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_match() {
        let mut p = Map::new();
        p.insert("department".into(), "Sales".into());
        p.insert("userPrincipalName".into(), "ann@acme.example".into());
        let f = Filter::parse("department eq 'sales' and endswith(userPrincipalName,'@acme.example')").unwrap();
        assert!(f.advanced());
        assert!(f.matches("1", &p));
        assert!(!Filter::parse("department ne 'Sales'").unwrap().matches("1", &p));
        assert!(Filter::parse("department in ('HR','Sales')").unwrap().matches("1", &p));
        assert!(Filter::parse("department gt 'x'").is_none());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("a%20b+c%27"), "a b c'");
        assert_eq!(decode("100%"), "100%");
    }
}
