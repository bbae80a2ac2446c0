//! The `scim` target: any SCIM 2.0 service (RFC 7643, RFC 7644).
//!
//! Reads `/ServiceProviderConfig` (page size, ETags, PATCH) and every user page by page
//! (`startIndex` and `count` until `totalResults`, de-duplicated by id, starting over when the
//! total moves). Writes each action as one request, concurrently within the rate limit: a POST
//! to create (a 409 looks the user up by `userName` and adopts it), one `PatchOp` to update,
//! enable (`active: true`) or disable (`active: false`), a DELETE to delete; with `If-Match`
//! when the service offers versions, without when it does not. Every write is checked against
//! what the service then holds: the body of a 201 or a 200, or a GET after a 204.
//!
//! Disabling sets `active: false` and leaves the roles alone, so enabling (`active: true`)
//! gives the person back exactly what they had; deleting deletes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use super::engine::{LISTING_ATTEMPTS, Ledger, Lost, Task, Unlisted, failed, list_all, run};
use super::http::{Http, HttpError, Request, Response, encode};
use super::{ApplySink, Outcome, Target};
use crate::diag::{Code, Problem};
use crate::live::{ACTIVE, Grant, Key, LiveAccount, LiveState, Locks};
use crate::plan::effect::Expected;
use crate::plan::{Action, ActionKind, Change};
use crate::vocab::TargetInfo;

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
use crate::vocab::{
    SCIM_ENTERPRISE_ATTRIBUTES as ENTERPRISE_ATTRIBUTES, SCIM_NAME_ATTRIBUTES, SCIM_SIMPLE_ATTRIBUTES as SIMPLE,
    SCIM_WORK_EMAIL as WORK_EMAIL,
};
/// Users per page asked for (the service may cap it lower: `filter.maxResults`).
const PAGE_SIZE: u64 = 100;
const SCIM_JSON: &str = "application/scim+json";

pub struct Settings {
    /// The SCIM base URL (the one `/Users` hangs off).
    pub url: String,
    pub requests_per_second: f64,
    /// Every value some role's `scim_roles` names: the only roles rollcall adds or removes.
    pub managed_roles: BTreeSet<String>,
}

/// What the service says it supports (`/ServiceProviderConfig`), with lenient defaults when
/// it does not say.
#[derive(Debug, Clone, Copy)]
struct Capabilities {
    /// false: the service said `etag.supported: false`; no `If-Match` is ever sent then.
    etag: bool,
    patch: bool,
    page: u64,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities { etag: true, patch: true, page: PAGE_SIZE }
    }
}

struct Client {
    http: Http,
    token: SecretString,
    base: String,
}

fn error(e: HttpError) -> Problem {
    let help = match e.status {
        Some(401) => Some("the service refused the bearer token: check SCIM_TOKEN"),
        Some(403) => Some("the token is not allowed to manage users on this service"),
        Some(404) => Some("check target.url (or ROLLCALL_SCIM_URL): it is the SCIM base URL, the one /Users hangs off"),
        None => Some("check the network, HTTPS_PROXY and target.url (or ROLLCALL_SCIM_URL)"),
        _ => None,
    };
    let p = Problem::new(Code::Target, e.to_string());
    match help {
        Some(h) => p.help(h),
        None => p,
    }
}

fn failure(message: String) -> Outcome {
    Outcome::Failed { message, status: None, incident: None }
}

/// A SCIM filter comparing `attribute` with `value` (a JSON string literal, RFC 7644 §3.4.2.2).
fn eq_filter(attribute: &str, value: &str) -> String {
    format!("{attribute} eq {}", Value::String(value.to_owned()))
}

impl Client {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
        what: String,
    ) -> Result<Response, HttpError> {
        let req = Request {
            raw: false,
            method,
            url: format!("{}{path}", self.base),
            bearer: Some(self.token.clone()),
            basic: None,
            json: body,
            form: None,
            what,
        };
        let mut headers = vec![("Accept", "application/scim+json, application/json")];
        if req.json.is_some() {
            headers.push(("Content-Type", SCIM_JSON));
        }
        if let Some(v) = if_match {
            headers.push(("If-Match", v));
        }
        self.http.send_with(&req, &headers).await
    }

    async fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        // Optional for rollcall: a service without it gets the defaults.
        if let Ok(r) =
            self.call(Method::GET, "/ServiceProviderConfig", None, None, "read ServiceProviderConfig".into()).await
        {
            let b = &r.body;
            if let Some(false) = b.pointer("/etag/supported").and_then(Value::as_bool) {
                caps.etag = false;
            }
            if let Some(false) = b.pointer("/patch/supported").and_then(Value::as_bool) {
                caps.patch = false;
            }
            if let Some(max) = b.pointer("/filter/maxResults").and_then(Value::as_u64).filter(|&m| m > 0) {
                caps.page = caps.page.min(max);
            }
        }
        caps
    }

    /// Every user (matching `filter`, when given), page by page; starts over (bounded) when
    /// `totalResults` moves under it.
    async fn users(&self, filter: Option<&str>, page: u64, what: &str) -> Result<Vec<Value>, HttpError> {
        let filter = filter.map(|f| format!("&filter={}", encode(f))).unwrap_or_default();
        let filter = filter.as_str();
        let fetch = move |read: u64| async move {
            let start = read + 1;
            let mut resp = self
                .call(
                    Method::GET,
                    &format!("/Users?startIndex={start}&count={page}{filter}"),
                    None,
                    None,
                    format!("{what} (startIndex {start})"),
                )
                .await?;
            // SCIM 2.0 says `Resources`; GoTo's SCIM 1.x dialect says `resources`. Taken out
            // of the answer, not copied.
            let key = if resp.body.get("Resources").is_some() { "Resources" } else { "resources" };
            let resources = match resp.body.get_mut(key).map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            Ok((resources, resp.body.get("totalResults").and_then(Value::as_u64)))
        };
        let give_up = |why| {
            let why = match why {
                Unlisted::Moved => format!(
                    "the number of users kept changing while listing ({LISTING_ATTEMPTS} attempts); try again when the service is quiet"
                ),
                Unlisted::Short { total, got } => format!("the service reported {total} users but stopped after {got}"),
                Unlisted::Repeats { position } => format!(
                    "the service returned the same users again at startIndex {}: it does not page",
                    position + 1
                ),
            };
            HttpError { status: None, code: None, incident: None, message: format!("{what}: {why}") }
        };
        list_all(fetch, id_of, give_up, self.http.concurrency).await
    }

    async fn get_user(&self, id: &Key, what: &str) -> Result<Response, HttpError> {
        self.call(Method::GET, &format!("/Users/{}", encode(id.as_str())), None, None, what.into()).await
    }
}

/// A resource id: a string, or a number (GoTo's SCIM 1.x `userKey`), kept as its digits.
fn id_of(u: &Value) -> Option<Key> {
    match u.get("id")? {
        Value::String(s) => Some(Key(s.clone())),
        v @ Value::Number(_) => serde_json::from_value(v.clone()).ok(),
        _ => None,
    }
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A SCIM User as the live model sees it, with its version (`meta.version`) when it has one.
fn account_of(u: &Value) -> Option<(LiveAccount, Option<String>)> {
    let key = id_of(u)?;
    let mut attributes = crate::live::Attributes::new();
    for &a in SIMPLE {
        if let Some(v) = text_of(u.get(a)) {
            attributes.insert(a, v);
        }
    }
    for &a in SCIM_NAME_ATTRIBUTES {
        let sub = a.trim_start_matches("name.");
        if let Some(v) = text_of(u.get("name").and_then(|n| n.get(sub))) {
            attributes.insert(a, v);
        }
    }
    let work = u
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| e.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("work")));
    if let Some(v) = text_of(work.and_then(|e| e.get("value"))) {
        attributes.insert(WORK_EMAIL, v);
    }
    for &a in ENTERPRISE_ATTRIBUTES {
        if let Some(v) = text_of(u.get(ENTERPRISE).and_then(|x| x.get(a))) {
            attributes.insert(a, v);
        }
    }
    // RFC 7643 leaves `active` optional; an account without it is not a disabled one.
    let active = match u.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        _ => true,
    };
    attributes.insert(ACTIVE, active.to_string());
    let grants = u
        .get("roles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("value").and_then(Value::as_str))
        .map(|r| Grant::ScimRole(r.to_owned()))
        .collect();
    let version = u.pointer("/meta/version").and_then(Value::as_str).map(str::to_owned);
    Some((LiveAccount { key, attributes, grants, locks: Locks::default() }, version))
}

/// What an account should look like once `action` is done (`plan::effect`), with what a
/// SCIM create adds: a created account is an active one, holding exactly the managed roles
/// it is given (an adopted one may hold others).
fn expected(action: &Action, managed: &BTreeSet<String>) -> Result<Expected, String> {
    let mut e = Expected::of(action);
    if let Some(g) = e.add.iter().chain(&e.remove).find(|g| !matches!(g, Grant::ScimRole(_))) {
        let name = action.changes.iter().find_map(|c| match c {
            Change::Add(c) | Change::Remove(c) if c.grant == *g => Some(c.name.as_str()),
            _ => None,
        });
        return Err(format!("a SCIM service has no {} grants ({})", g.label(), name.unwrap_or(g.id())));
    }
    if action.action == ActionKind::Create {
        e.attributes.entry(ACTIVE.to_owned()).or_insert_with(|| "true".into());
        e.remove = managed.iter().map(|r| Grant::ScimRole(r.clone())).filter(|g| !e.add.contains(g)).collect();
    }
    Ok(e)
}

fn same(attribute: &str, have: &str, want: &str) -> bool {
    if crate::vocab::case_insensitive(attribute) { have.eq_ignore_ascii_case(want) } else { have == want }
}

/// Where a mapping's attribute lives in a User resource: a PATCH path.
fn patch_path(attribute: &str) -> Result<String, String> {
    if attribute == ACTIVE || SIMPLE.contains(&attribute) || attribute == WORK_EMAIL {
        return Ok(attribute.to_owned());
    }
    if SCIM_NAME_ATTRIBUTES.contains(&attribute) {
        return Ok(attribute.to_owned());
    }
    if ENTERPRISE_ATTRIBUTES.contains(&attribute) {
        return Ok(format!("{ENTERPRISE}:{attribute}"));
    }
    Err(format!("rollcall does not know where `{attribute}` lives in a SCIM User"))
}

fn scalar(attribute: &str, value: &str) -> Value {
    if attribute == ACTIVE { Value::Bool(value == "true") } else { Value::String(value.to_owned()) }
}

/// The `PatchOp` operations that take `current` to `e`: only what differs.
fn operations(e: &Expected, current: &LiveAccount) -> Result<Vec<Value>, String> {
    let mut ops = Vec::new();
    for (a, v) in &e.attributes {
        let have = current.attributes.get(a);
        if have.is_some_and(|h| same(a, h, v)) {
            continue;
        }
        if a == WORK_EMAIL && have.is_none() {
            // A replace through a value filter that matches nothing is a 400 noTarget
            // (RFC 7644 §3.5.2.3): add the work email instead.
            ops.push(json!({"op": "add", "path": "emails", "value": [{"type": "work", "value": v}]}));
            continue;
        }
        ops.push(json!({"op": "replace", "path": patch_path(a)?, "value": scalar(a, v)}));
    }
    for r in &e.remove {
        if current.grants.contains(r) {
            ops.push(json!({"op": "remove", "path": format!("roles[{}]", eq_filter("value", r.id()))}));
        }
    }
    let add: Vec<Value> =
        e.add.iter().filter(|r| !current.grants.contains(r)).map(|r| json!({"value": r.id()})).collect();
    if !add.is_empty() {
        ops.push(json!({"op": "add", "path": "roles", "value": add}));
    }
    Ok(ops)
}

/// The POST body of a create.
fn create_body(e: &Expected) -> Result<Value, String> {
    let mut u = Map::new();
    let mut schemas = vec![Value::String(CORE.into())];
    let mut enterprise = Map::new();
    for (a, v) in &e.attributes {
        patch_path(a)?;
        if let Some(sub) = a.strip_prefix("name.") {
            let name = u.entry("name").or_insert_with(|| json!({}));
            if let Some(name) = name.as_object_mut() {
                name.insert(sub.to_owned(), Value::String(v.clone()));
            }
        } else if a == WORK_EMAIL {
            u.insert("emails".into(), json!([{"type": "work", "value": v, "primary": true}]));
        } else if ENTERPRISE_ATTRIBUTES.contains(&a.as_str()) {
            enterprise.insert(a.clone(), Value::String(v.clone()));
        } else {
            u.insert(a.clone(), scalar(a, v));
        }
    }
    if !e.add.is_empty() {
        u.insert("roles".into(), Value::Array(e.add.iter().map(|r| json!({"value": r.id()})).collect()));
    }
    if !enterprise.is_empty() {
        schemas.push(Value::String(ENTERPRISE.into()));
        u.insert(ENTERPRISE.into(), Value::Object(enterprise));
    }
    u.insert("schemas".into(), Value::Array(schemas));
    Ok(Value::Object(u))
}

/// Done when `body` (a User) is what `e` asks for, else what did not take.
fn verify(e: &Expected, body: &Value) -> Option<Outcome> {
    let (account, _) = account_of(body)?;
    let missing = e.shortfall(&account);
    Some(if missing.is_empty() {
        Outcome::Done
    } else {
        failure(format!("the service accepted the request, but {}", missing.join("; ")))
    })
}

/// What the writers share.
struct Ctx {
    client: Client,
    /// From the last read of `/ServiceProviderConfig`.
    caps: std::sync::Mutex<Capabilities>,
    managed: BTreeSet<String>,
}

impl Ctx {
    fn caps(&self) -> Capabilities {
        *self.caps.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn if_match<'a>(&self, version: Option<&'a str>) -> Option<&'a str> {
        if self.caps().etag { version } else { None }
    }

    /// The one user named `user_name`, if exactly one.
    async fn find(&self, user_name: &str) -> Result<Vec<Value>, HttpError> {
        self.client.users(Some(&eq_filter("userName", user_name)), self.caps().page, "look up user").await
    }

    /// Reads the user back and checks it against `e`.
    async fn read_back(&self, id: &Key, e: &Expected, what: &str) -> Outcome {
        match self.client.get_user(id, &format!("read back {what}")).await {
            Ok(r) => {
                verify(e, &r.body).unwrap_or_else(|| failure(format!("read back {what}: the service returned no user")))
            }
            Err(err) => failed(&err),
        }
    }

    /// One PatchOp that takes `current` (with `version`) to `e`, then a check.
    async fn patch(&self, current: &LiveAccount, version: Option<&str>, e: &Expected, what: &str) -> Outcome {
        if !self.caps().patch {
            return failure(format!(
                "{what}: the service's ServiceProviderConfig says it does not support PATCH, and rollcall changes users only with PATCH"
            ));
        }
        let ops = match operations(e, current) {
            Ok(ops) => ops,
            Err(m) => return failure(m),
        };
        if ops.is_empty() {
            return Outcome::Done;
        }
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        let path = format!("/Users/{}", encode(current.key.as_str()));
        match self.client.call(Method::PATCH, &path, Some(body), self.if_match(version), what.into()).await {
            // RFC 7644 §3.5.2: 200 with the resource, or 204 without a body.
            Ok(r) => match verify(e, &r.body) {
                Some(outcome) => outcome,
                None => self.read_back(&current.key, e, what).await,
            },
            // The version moved: someone changed the user since rollcall read it, or a PATCH
            // whose answer was lost (and was retried) already took. Which, the user tells.
            Err(err) if err.status == Some(412) => match self.read_back(&current.key, e, what).await {
                Outcome::Done => Outcome::Done,
                _ => Outcome::Failed {
                    message: format!(
                        "{what}: the user changed on the service since rollcall read it (HTTP 412 Precondition Failed on If-Match); nothing was written: make a new plan"
                    ),
                    status: Some(412),
                    incident: None,
                },
            },
            Err(err) => failed(&err),
        }
    }

    async fn create(&self, action: &Action, e: &Expected) -> Outcome {
        let what = format!("create {}", action.email);
        if e.attributes.get("userName").is_none_or(|u| u.trim().is_empty()) {
            // RFC 7643 §4.1.1 requires a non-empty userName (some services accept "" anyway).
            return failure(format!("{what}: the userName mapping yields an empty value"));
        }
        let body = match create_body(e) {
            Ok(b) => b,
            Err(m) => return failure(m),
        };
        match self.client.call(Method::POST, "/Users", Some(body), None, what.clone()).await {
            Ok(r) => match verify(e, &r.body) {
                Some(outcome) => outcome,
                None => self.adopt(&action.email, e, &what, None).await,
            },
            // Already there (made by hand, or by a retried POST whose answer was lost): adopt it.
            Err(err) if err.status == Some(409) => self.adopt(&action.email, e, &what, Some(err)).await,
            Err(err) => failed(&err),
        }
    }

    /// Finds the user named `user_name` and patches it to `e`.
    async fn adopt(&self, user_name: &str, e: &Expected, what: &str, conflict: Option<HttpError>) -> Outcome {
        let found = match self.find(user_name).await {
            Ok(found) => found,
            Err(err) => return failed(&err),
        };
        match found.as_slice() {
            [one] => match account_of(one) {
                Some((account, version)) => {
                    self.patch(&account, version.as_deref(), e, &format!("adopt existing {user_name}")).await
                }
                None => failure(format!("{what}: the service returned a user without an id")),
            },
            found => {
                let why = match conflict {
                    Some(c) => format!("{c}; "),
                    None => String::new(),
                };
                Outcome::Failed {
                    message: format!(
                        "{what}: {why}a lookup by userName found {} users, so rollcall cannot adopt one",
                        found.len()
                    ),
                    status: Some(409),
                    incident: None,
                }
            }
        }
    }

    async fn delete(&self, key: &Key, version: Option<&str>, what: &str) -> Outcome {
        let path = format!("/Users/{}", encode(key.as_str()));
        match self.client.call(Method::DELETE, &path, None, self.if_match(version), what.into()).await {
            Ok(_) => Outcome::Done,
            // Already gone: the delete converged (an earlier run, or a retry after a lost answer).
            Err(e) if e.status == Some(404) => Outcome::Done,
            Err(e) if e.status == Some(412) => Outcome::Failed {
                message: format!(
                    "{what}: the user changed on the service since rollcall read it (HTTP 412 Precondition Failed on If-Match); not deleted: make a new plan"
                ),
                status: Some(412),
                incident: None,
            },
            Err(e) => failed(&e),
        }
    }

    async fn run(&self, action: &Action, current: Option<&LiveAccount>, version: Option<&str>) -> Outcome {
        let e = match expected(action, &self.managed) {
            Ok(e) => e,
            Err(m) => return failure(m),
        };
        let what = format!("{} {}", action.action.as_str(), action.email);
        match (action.action, current) {
            (ActionKind::Create, _) => self.create(action, &e).await,
            (ActionKind::Delete, Some(c)) => self.delete(&c.key, version, &what).await,
            (_, Some(c)) => self.patch(c, version, &e, &what).await,
            (_, None) => failure(format!("{what}: the account is not in the state rollcall read")),
        }
    }
}

pub struct ScimTarget {
    rt: tokio::runtime::Runtime,
    ctx: Arc<Ctx>,
    /// Versions (`meta.version`) by user id, from the last read.
    versions: HashMap<Key, String>,
    read: bool,
}

/// The URL without any user or password in it, for headers and messages.
fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string().trim_end_matches('/').to_owned()
        }
        Err(_) => url.trim_end_matches('/').to_owned(),
    }
}

impl ScimTarget {
    pub fn new(settings: Settings, token: SecretString) -> Result<Self, Problem> {
        let (rt, http) = super::engine::connect(settings.requests_per_second)?;
        let client = Client { http, token, base: settings.url.trim_end_matches('/').to_owned() };
        let ctx = Arc::new(Ctx { client, caps: Default::default(), managed: settings.managed_roles });
        Ok(ScimTarget { rt, ctx, versions: HashMap::new(), read: false })
    }
}

impl Target for ScimTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo { kind: "scim".into(), account: display_url(&self.ctx.client.base), name: String::new() }
    }

    fn read(&mut self) -> Result<LiveState, Problem> {
        let ctx = self.ctx.clone();
        let (caps, users) = self.rt.block_on(async {
            let caps = ctx.client.capabilities().await;
            let users = ctx.client.users(None, caps.page, "list users").await.map_err(error)?;
            Ok::<_, Problem>((caps, users))
        })?;
        let mut accounts = Vec::with_capacity(users.len());
        self.versions.clear();
        for u in &users {
            let Some((account, version)) = account_of(u) else { continue };
            if let Some(v) = version {
                self.versions.insert(account.key.clone(), v);
            }
            accounts.push(account);
        }
        *self.ctx.caps.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = caps;
        self.read = true;
        Ok(LiveState {
            account_key: Key(display_url(&self.ctx.client.base)),
            account_name: String::new(),
            licenses: Vec::new(),
            accounts,
            me: None,
            caller_admin_roles: None,
        })
    }

    fn apply(&mut self, actions: &[Action], live: &LiveState, sink: &mut dyn ApplySink) -> Result<(), Problem> {
        if !self.read {
            self.read()?;
        }
        let by_key: HashMap<&Key, &LiveAccount> = live.accounts.iter().map(|a| (&a.key, a)).collect();
        let mut ledger = Ledger::new(sink, actions.len(), true);
        let base = display_url(&self.ctx.client.base);
        let start = |ledger: &mut Ledger<'_>, (i, a): (usize, &Action)| {
            let request = match (&a.action, &a.key) {
                (ActionKind::Create, _) | (_, None) => format!("POST {base}/Users"),
                (ActionKind::Delete, Some(k)) => format!("DELETE {base}/Users/{k}"),
                (_, Some(k)) => format!("PATCH {base}/Users/{k}"),
            };
            if !ledger.send(i, &request) {
                return None;
            }
            let current = a.key.as_ref().and_then(|k| by_key.get(k)).map(|&c| c.clone());
            let version = a.key.as_ref().and_then(|k| self.versions.get(k)).cloned();
            let action = a.clone();
            let ctx = self.ctx.clone();
            let task: Task<_> =
                Box::pin(async move { (i, ctx.run(&action, current.as_ref(), version.as_deref()).await) });
            Some((i, task))
        };
        let finish = |ledger: &mut Ledger<'_>, answer: Result<(usize, Outcome), Lost<usize>>| {
            match answer {
                Ok((i, o)) => ledger.settle(i, o, None),
                Err(lost) => ledger.lost(&[lost.tag], &lost.message),
            }
            None
        };
        let concurrency = self.ctx.client.http.concurrency;
        self.rt.block_on(run(&mut ledger, concurrency, actions.iter().enumerate(), start, finish));
        ledger.finish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::GrantChange;
    use std::collections::BTreeMap;

    fn user() -> Value {
        json!({
            "schemas": [CORE, ENTERPRISE],
            "id": "2819c223",
            "meta": {"version": "W/\"3\""},
            "userName": "Ann@acme.example",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"type": "home", "value": "ann@home.example"}, {"type": "Work", "value": "ann@acme.example"}],
            "roles": [{"value": "organizer"}, {"value": "auditor"}],
            ENTERPRISE: {"department": "Sales", "employeeNumber": 42},
        })
    }

    fn roles(names: &[&str]) -> BTreeSet<Grant> {
        names.iter().map(|r| Grant::ScimRole((*r).to_owned())).collect()
    }

    fn role(r: &str) -> GrantChange {
        GrantChange { grant: Grant::ScimRole(r.into()), name: r.into() }
    }

    #[test]
    fn a_user_maps_onto_the_live_model() {
        let (a, version) = account_of(&user()).unwrap();
        assert_eq!(a.key, Key::from("2819c223"));
        assert_eq!(version.as_deref(), Some("W/\"3\""));
        assert_eq!(a.email(), "Ann@acme.example");
        assert_eq!(a.active(), Some(true), "no `active` is not disabled");
        assert_eq!(a.attributes.get("name.familyName").unwrap(), "Lee");
        assert_eq!(a.attributes.get(WORK_EMAIL).unwrap(), "ann@acme.example");
        assert_eq!(a.attributes.get("department").unwrap(), "Sales");
        assert_eq!(a.attributes.get("employeeNumber").unwrap(), "42");
        assert!(a.grants.contains(&Grant::ScimRole("auditor".into())));
        let mut u = user();
        u["active"] = json!(false);
        u["id"] = json!(12345678901234567890u64);
        let (a, _) = account_of(&u).unwrap();
        assert_eq!(a.active(), Some(false));
        assert_eq!(a.key, Key::from("12345678901234567890"));
    }

    #[test]
    fn patch_operations_touch_only_what_differs() {
        let (current, _) = account_of(&user()).unwrap();
        let e = Expected {
            attributes: BTreeMap::from([
                ("userName".into(), "ann@ACME.example".into()),
                ("name.familyName".into(), "Li".into()),
                ("costCenter".into(), "C1".into()),
                (ACTIVE.into(), "false".into()),
            ]),
            add: roles(&["organizer", "admin"]),
            remove: roles(&["auditor", "other"]),
            deleted: false,
        };
        let ops = operations(&e, &current).unwrap();
        assert_eq!(
            Value::Array(ops),
            json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "replace", "path": format!("{ENTERPRISE}:costCenter"), "value": "C1"},
                {"op": "replace", "path": "name.familyName", "value": "Li"},
                {"op": "remove", "path": "roles[value eq \"auditor\"]"},
                {"op": "add", "path": "roles", "value": [{"value": "admin"}]},
            ])
        );
    }

    #[test]
    fn a_missing_work_email_is_added_not_replaced() {
        let mut u = user();
        u["emails"] = json!([]);
        let (current, _) = account_of(&u).unwrap();
        let e =
            Expected { attributes: BTreeMap::from([(WORK_EMAIL.into(), "a@b.example".into())]), ..Expected::default() };
        assert_eq!(
            operations(&e, &current).unwrap(),
            vec![json!({"op": "add", "path": "emails", "value": [{"type": "work", "value": "a@b.example"}]})]
        );
        let (current, _) = account_of(&user()).unwrap();
        assert_eq!(
            operations(&e, &current).unwrap(),
            vec![json!({"op": "replace", "path": WORK_EMAIL, "value": "a@b.example"})]
        );
    }

    #[test]
    fn role_filters_escape_quotes() {
        assert_eq!(eq_filter("userName", "a\"b\\c@x.example"), r#"userName eq "a\"b\\c@x.example""#);
    }

    #[test]
    fn a_create_body_has_the_schemas_it_uses() {
        let action = Action {
            action: ActionKind::Create,
            email: "ann@acme.example".into(),
            key: None,
            reason: None,
            changes: vec![
                Change::Attribute { attribute: "userName".into(), old: None, new: "ann@acme.example".into() },
                Change::Attribute { attribute: "name.givenName".into(), old: None, new: "Ann".into() },
                Change::Attribute { attribute: WORK_EMAIL.into(), old: None, new: "ann@acme.example".into() },
                Change::Attribute { attribute: "division".into(), old: None, new: "EMEA".into() },
                Change::Add(role("organizer")),
            ],
        };
        let managed = BTreeSet::from(["organizer".to_owned(), "admin".to_owned()]);
        let e = expected(&action, &managed).unwrap();
        assert_eq!(e.remove, roles(&["admin"]));
        assert_eq!(
            create_body(&e).unwrap(),
            json!({
                "active": true,
                "emails": [{"type": "work", "value": "ann@acme.example", "primary": true}],
                "name": {"givenName": "Ann"},
                "userName": "ann@acme.example",
                "roles": [{"value": "organizer"}],
                ENTERPRISE: {"division": "EMEA"},
                "schemas": [CORE, ENTERPRISE],
            })
        );
    }

    #[test]
    fn verification_reads_a_200_body_and_names_what_did_not_take() {
        let e = Expected {
            attributes: BTreeMap::from([("name.givenName".into(), "Ann".into()), ("locale".into(), "de_DE".into())]),
            add: roles(&["organizer"]),
            remove: roles(&["auditor"]),
            deleted: false,
        };
        match verify(&e, &user()) {
            Some(Outcome::Failed { message, .. }) => {
                assert!(message.contains("locale is not \"de_DE\""), "{message}");
                assert!(message.contains("role auditor was not removed"), "{message}");
                assert!(!message.contains("givenName"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // A 204 has no body: read back instead.
        assert_eq!(verify(&e, &Value::Null), None);
    }

    /// An HTTP server on a loopback port that answers each request from `answers`, in order,
    /// and hands back the requests it got (head and body, head lower-cased).
    fn canned(answers: Vec<(u16, Value)>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v2", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, body) in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    head.push_str(&line.to_lowercase());
                }
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |n| n.trim().parse::<usize>().unwrap());
                let mut request_body = vec![0; length];
                reader.read_exact(&mut request_body).unwrap();
                seen.push(format!("{head}\n{}", String::from_utf8_lossy(&request_body)));
                let text = if body.is_null() { String::new() } else { body.to_string() };
                let version = body.pointer("/meta/version").and_then(Value::as_str).map(|v| format!("ETag: {v}\r\n"));
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{text}",
                    text.len(),
                    version.unwrap_or_default()
                )
                .unwrap();
            }
            seen
        });
        (url, handle)
    }

    fn ctx(url: String, etag: bool) -> Ctx {
        let client = Client { http: Http::new(1000.0).unwrap(), token: SecretString::from("t0ken"), base: url };
        Ctx {
            client,
            caps: std::sync::Mutex::new(Capabilities { etag, ..Capabilities::default() }),
            managed: BTreeSet::new(),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    fn renamed() -> Expected {
        Expected { attributes: BTreeMap::from([("name.familyName".into(), "Li".into())]), ..Expected::default() }
    }

    #[test]
    fn if_match_carries_the_version_read_and_a_412_is_reported_when_the_user_moved() {
        let (url, server) = canned(vec![(412, json!({"status": "412", "detail": "changed"})), (200, user())]);
        let (current, version) = account_of(&user()).unwrap();
        let outcome = block_on(ctx(url, true).patch(&current, version.as_deref(), &renamed(), "update ann"));
        match outcome {
            Outcome::Failed { message, status, .. } => {
                assert_eq!(status, Some(412));
                assert!(message.contains("changed on the service since rollcall read it"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let seen = server.join().unwrap();
        assert!(seen[0].starts_with("patch /v2/users/2819c223 "), "{}", seen[0]);
        assert!(seen[0].contains("if-match: w/\"3\"\r\n"), "{}", seen[0]);
        assert!(seen[0].contains("content-type: application/scim+json\r\n"), "{}", seen[0]);
        assert!(seen[0].contains("authorization: bearer t0ken\r\n"), "{}", seen[0]);
        assert!(seen[0].contains(r#"{"op":"replace","path":"name.familyName","value":"Li"}"#), "{}", seen[0]);
        assert!(seen[1].starts_with("get /v2/users/2819c223 "), "{}", seen[1]);
    }

    #[test]
    fn a_412_after_a_lost_answer_is_success_when_the_change_is_there() {
        let mut after = user();
        after["name"]["familyName"] = json!("Li");
        let (url, server) = canned(vec![(412, json!({"status": "412"})), (200, after)]);
        let (current, version) = account_of(&user()).unwrap();
        let outcome = block_on(ctx(url, true).patch(&current, version.as_deref(), &renamed(), "update ann"));
        assert_eq!(outcome, Outcome::Done);
        assert_eq!(server.join().unwrap().len(), 2);
    }

    #[test]
    fn without_etags_no_if_match_and_a_200_body_needs_no_read_back() {
        let mut after = user();
        after["name"]["familyName"] = json!("Li");
        let (url, server) = canned(vec![(200, after)]);
        let (current, version) = account_of(&user()).unwrap();
        let outcome = block_on(ctx(url, false).patch(&current, version.as_deref(), &renamed(), "update ann"));
        assert_eq!(outcome, Outcome::Done);
        let seen = server.join().unwrap();
        assert_eq!(seen.len(), 1, "a 200 with the user is checked as it is");
        assert!(!seen[0].contains("if-match"), "{}", seen[0]);
    }

    #[test]
    fn a_204_is_read_back_and_what_did_not_take_is_named() {
        let (url, server) = canned(vec![(204, Value::Null), (200, user())]);
        let (current, version) = account_of(&user()).unwrap();
        let outcome = block_on(ctx(url, true).patch(&current, version.as_deref(), &renamed(), "update ann"));
        match outcome {
            Outcome::Failed { message, .. } => {
                assert!(
                    message.contains("the service accepted the request, but name.familyName is not \"Li\""),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.join().unwrap().len(), 2);
    }

    #[test]
    fn the_service_provider_config_sets_the_page_size_and_turns_if_match_off() {
        // A service that shows versions but says it does not do ETags (scim2-server then
        // still answers any If-Match with 412): rollcall sends none.
        let mut second = user();
        second["id"] = json!("b2");
        second["userName"] = json!("bo@acme.example");
        let mut renamed_user = user();
        renamed_user["name"]["familyName"] = json!("Li");
        let (url, server) = canned(vec![
            (200, json!({"etag": {"supported": false}, "filter": {"supported": true, "maxResults": 1}})),
            (200, json!({"totalResults": 2, "itemsPerPage": 1, "startIndex": 1, "Resources": [user()]})),
            (200, json!({"totalResults": 2, "itemsPerPage": 1, "startIndex": 2, "Resources": [second]})),
            (200, renamed_user),
        ]);
        let settings = Settings { url, requests_per_second: 1000.0, managed_roles: BTreeSet::new() };
        let mut target = ScimTarget::new(settings, SecretString::from("t0ken")).unwrap();
        let live = target.read().unwrap();
        assert_eq!(live.accounts.len(), 2);
        let action = Action {
            action: ActionKind::Update,
            email: "ann@acme.example".into(),
            key: Some(Key::from("2819c223")),
            reason: None,
            changes: vec![Change::Attribute {
                attribute: "name.familyName".into(),
                old: Some("Lee".into()),
                new: "Li".into(),
            }],
        };
        struct Collect(Vec<(usize, Outcome)>, usize);
        impl ApplySink for Collect {
            fn sending(&mut self, _: usize, _: &str) -> bool {
                self.1 += 1;
                true
            }
            fn settled(&mut self, i: usize, o: Outcome, _: Option<&Key>) {
                self.0.push((i, o));
            }
        }
        let mut sink = Collect(Vec::new(), 0);
        target.apply(&[action], &live, &mut sink).unwrap();
        assert_eq!(sink.0, [(0, Outcome::Done)]);
        assert_eq!(sink.1, 1, "one intent before the write");
        let seen = server.join().unwrap();
        assert!(seen[1].starts_with("get /v2/users?startindex=1&count=1 "), "{}", seen[1]);
        assert!(seen[2].starts_with("get /v2/users?startindex=2&count=1 "), "{}", seen[2]);
        assert!(seen[3].starts_with("patch /v2/users/2819c223 "), "{}", seen[3]);
        assert!(!seen[3].contains("if-match"), "{}", seen[3]);
    }

    #[test]
    fn urls_lose_their_credentials_for_display() {
        assert_eq!(display_url("https://u:p@scim.example/v2/"), "https://scim.example/v2");
    }
}
