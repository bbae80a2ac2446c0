//! The `goto` target: the GoTo Admin REST API.
//!
//! Reads users page by page (de-duplicated by key, starting over when the total moves),
//! licenses with their holders, and admin roles from wherever the API shows them. Writes
//! creates in "Add Users" batches of people with the same grants, everything else
//! concurrently within the rate limit, then reads back what it cannot be sure of (whether a
//! PUT of `licenseKeys` replaces or merges, whether "Add Users" granted licenses to users that
//! already existed) and fixes or reports what did not take.
//!
//! What a real account may do that the documentation leaves open is settled by reading back,
//! never by guessing: creates send `allOrNothing=false` and take the per-user answer; an
//! email conflict, a 409 for a batch or a lost answer is settled by reading those emails; a
//! write answered 5xx (or not at all) is settled by reading the user before it is sent again.
//! Transfer invitations (`invitedUserKeys`) count as held grants, waiting for acceptance.

pub mod auth;
mod check;
pub mod probe;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::engine::{LISTING_ATTEMPTS, Ledger, Lost, Task, Unlisted, failed, list_all, run};
use super::http::{Http, HttpError, Request, Response};
use super::shapes::{Listed, account_of, key_json, key_of, licenses_of};
use super::{ApplySink, Outcome, Target};
use crate::diag::{Code, Problem};
use crate::live::{Grant, GrantSet, Key, LiveAccount, LiveState, domain_of};
use crate::plan::effect::Expected;
use crate::plan::{Action, ActionKind};
use crate::vocab::TargetInfo;
use auth::Tokens;

pub const DEFAULT_API_URL: &str = "https://api.getgo.com/admin/rest/v1";
pub const DEFAULT_TOKEN_URL: &str = "https://authentication.logmeininc.com/oauth/token";
/// Users per "Add Users" request.
pub const CREATE_BATCH: usize = 50;
const PAGE_SIZE: usize = 1000;
/// What the manifest tells the reader, so it fetches only what matters.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// Some role names an admin role: admin roles must be known for in-scope users.
    pub admin_roles_matter: bool,
    /// scope.domains (lower-cased); empty = unscoped.
    pub domains: Vec<String>,
    /// Some role names a license: the caller needs MANAGE_SEATS (`check`).
    pub licenses_matter: bool,
}

pub struct Settings {
    pub api_url: String,
    pub token_url: String,
    pub account_key: Option<String>,
    pub requests_per_second: f64,
    pub welcome_email: bool,
    pub hints: Hints,
}

struct Client {
    http: Http,
    tokens: Tokens,
    api: String,
}

fn error(e: HttpError) -> Problem {
    let mut p = Problem::new(Code::Target, e.message.clone());
    let mut help = Vec::new();
    if let Some(i) = &e.incident {
        help.push(format!("GoTo incident id {i}"));
    }
    match e.status {
        Some(401) => help.push("the credentials were refused: check GOTO_PAT / GOTO_CLIENT_ID / GOTO_CLIENT_SECRET (or GOTO_ACCESS_TOKEN) and that the token has the `identity:` scope".into()),
        Some(403) => help.push("the credential's user needs the SUPER_USER or MANAGE_USERS admin role in this account".into()),
        None => help.push("check the network, HTTPS_PROXY and the api_url / token_url".into()),
        _ => {}
    }
    if !help.is_empty() {
        p = p.help(help.join("; "));
    }
    p
}

/// A write failed without a clear answer (no answer, 5xx): it may have taken effect.
fn unsure(e: &HttpError) -> bool {
    e.status.is_none_or(|s| s >= 500)
}

impl Client {
    async fn call(&self, method: Method, path: &str, body: Option<Value>, what: String) -> Result<Response, HttpError> {
        self.call_as(method, path, body, what, false, false).await
    }

    /// A read whose answer's text the caller parses itself (`Response::text`).
    async fn read_text(&self, path: &str, what: String) -> Result<String, HttpError> {
        Ok(self.call_as(Method::GET, path, None, what, false, true).await?.text.unwrap_or_default())
    }

    /// A write: sent again only when it surely did not happen; anything else is for the
    /// caller to settle by reading back.
    async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        what: String,
    ) -> Result<Response, HttpError> {
        self.call_as(method, path, body, what, true, false).await
    }

    async fn call_as(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        what: String,
        write: bool,
        raw: bool,
    ) -> Result<Response, HttpError> {
        // A 401 gets a new token, a few times: requests in flight together may outlive one.
        let mut refreshes = 0;
        loop {
            let token = self.tokens.token(&self.http).await?;
            let req = Request {
                raw,
                method: method.clone(),
                url: format!("{}{path}", self.api),
                bearer: Some(token.clone()),
                basic: None,
                json: body.clone(),
                form: None,
                what: what.clone(),
            };
            let sent = if write { self.http.send_write(&req).await } else { self.http.send(&req).await };
            match sent {
                Err(e) if e.status == Some(401) && refreshes < 3 && self.tokens.can_refresh() => {
                    self.tokens.invalidate_if(&token).await;
                    refreshes += 1;
                }
                other => return other,
            }
        }
    }

    /// The account's licenses. Whether `/licenses` pages is undocumented (clients call it
    /// without paging parameters): asked plainly first, paged only when the answer is a page
    /// that does not hold them all.
    async fn licenses(&self, base: &str) -> Result<Vec<Value>, HttpError> {
        let path = format!("{base}/licenses");
        let first = self.call(Method::GET, &path, None, "list licenses".into()).await?;
        match &first.body {
            Value::Array(items) => Ok(items.clone()),
            body => {
                let results = body.get("results").and_then(Value::as_array).cloned().unwrap_or_default();
                match body.get("total").and_then(Value::as_u64) {
                    Some(total) if total > results.len() as u64 => self.all(&path, "list licenses").await,
                    _ => Ok(results),
                }
            }
        }
    }

    /// The user with this email, if the account has one (`filter=email eq "..."`).
    async fn find_email(&self, base: &str, email: &str) -> Result<Option<Value>, HttpError> {
        let filter = super::http::encode(&format!("email eq \"{email}\""));
        let r =
            self.call(Method::GET, &format!("{base}/users?filter={filter}"), None, format!("look up {email}")).await?;
        let results = r.body.get("results").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(results
            .into_iter()
            .find(|u| u.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(email))))
    }

    /// Every item of a paged list; starts over (bounded) when the total moves under it.
    async fn all(&self, path: &str, what: &str) -> Result<Vec<Value>, HttpError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page = move |offset: u64| async move {
            let mut page = self
                .call(
                    Method::GET,
                    &format!("{path}{sep}offset={offset}&pageSize={PAGE_SIZE}"),
                    None,
                    format!("{what} (offset {offset})"),
                )
                .await?;
            // The page's entries are taken out of the answer, not copied (1,000 users a page).
            let results = match page.body.get_mut("results").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            Ok((results, page.body.get("total").and_then(Value::as_u64)))
        };
        list_all(page, |item| item.get("key").and_then(key_of), unlisted(what), self.http.concurrency).await
    }

    /// Every user of the account, as the listing shows them. Each page is read straight into
    /// the live model (`shapes::listed_page`); a page with anything out of the ordinary is
    /// read as JSON values instead, which takes each field as leniently as before.
    async fn users(&self, base: &str) -> Result<Vec<Listed>, HttpError> {
        let what = "list users";
        let page = move |offset: u64| async move {
            let path = format!("{base}/users?offset={offset}&pageSize={PAGE_SIZE}");
            let text = self.read_text(&path, format!("{what} (offset {offset})")).await?;
            Ok(super::shapes::listed_page(&text).unwrap_or_else(|| super::shapes::listed_values(&text)))
        };
        list_all(page, |user: &Listed| user.key.clone(), unlisted(what), self.http.concurrency).await
    }
}

/// How a listing that is given up is told.
fn unlisted(what: &str) -> impl FnOnce(Unlisted) -> HttpError + '_ {
    move |why| {
        let message = match why {
            Unlisted::Moved => format!(
                "{what}: the number of entries kept changing while listing ({LISTING_ATTEMPTS} attempts); try again when the account is quiet"
            ),
            Unlisted::Short { .. } => format!(
                "{what}: GoTo returned an empty page before the total it announced ({LISTING_ATTEMPTS} attempts); rollcall never plans from a short list: try again later"
            ),
            Unlisted::Repeats { position } => format!(
                "{what}: GoTo returned the same entries again at offset {position}: it does not page; rollcall never plans from a short list"
            ),
        };
        HttpError { status: None, code: None, incident: None, message }
    }
}

pub struct GotoTarget {
    rt: tokio::runtime::Runtime,
    client: Arc<Client>,
    settings: Settings,
    account: Option<(Key, String)>,
    /// Users read one by one in this run (the listing did not show their grants), by key;
    /// dropped for users rollcall writes to.
    detailed: std::sync::Mutex<HashMap<Key, Value>>,
}

impl GotoTarget {
    pub fn new(settings: Settings, grant: auth::Credentials) -> Result<Self, Problem> {
        let (rt, http) = super::engine::connect(settings.requests_per_second)?;
        let client = Arc::new(Client {
            http,
            tokens: Tokens::new(grant, settings.token_url.clone()),
            api: settings.api_url.trim_end_matches('/').to_owned(),
        });
        Ok(GotoTarget { rt, client, settings, account: None, detailed: std::sync::Mutex::new(HashMap::new()) })
    }

    fn account_key(&self) -> &Key {
        &self.account.as_ref().expect("read() resolves the account first").0
    }

    async fn me(&self) -> Result<Value, Problem> {
        Ok(self.client.call(Method::GET, "/me", None, "read /me".into()).await.map_err(error)?.body)
    }

    /// The account to manage: the configured one (checked against /me), or /me's only one.
    fn resolve_account(&self, me: &Value) -> Result<(Key, String), Problem> {
        let accounts: Vec<(Key, String)> = me
            .get("accounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some((a.get("key").and_then(key_of)?, a.get("name").and_then(Value::as_str).unwrap_or("").to_owned()))
            })
            .collect();
        let listed = accounts.iter().map(|(k, n)| format!("{k} ({n})")).collect::<Vec<_>>().join(", ");
        match &self.settings.account_key {
            Some(k) => match accounts.iter().find(|(key, _)| key.0 == *k) {
                Some(found) => Ok(found.clone()),
                None if accounts.is_empty() => Ok((Key(k.clone()), String::new())),
                None => Err(Problem::new(Code::Target, format!("the credential has no access to account {k}"))
                    .help(format!("it can reach: {listed}; fix target.account_key or ROLLCALL_ACCOUNT_KEY"))),
            },
            None => match accounts.as_slice() {
                [one] => Ok(one.clone()),
                [] => me.get("accountKey").and_then(key_of).map(|k| (k, String::new())).ok_or_else(|| {
                    Problem::new(Code::Target, "/me names no account")
                        .help("set target.account_key or ROLLCALL_ACCOUNT_KEY")
                }),
                _ => Err(Problem::new(
                    Code::Target,
                    format!("the credential can reach {} accounts: {listed}", accounts.len()),
                )
                .help("say which one rollcall manages: target.account_key in rollcall.yaml, or ROLLCALL_ACCOUNT_KEY")),
            },
        }
    }

    /// Users by key, one request each, concurrently within the rate; answers cached for the run.
    async fn users_by_key(&self, base: &str, keys: Vec<Key>) -> Result<HashMap<Key, Option<Value>>, Problem> {
        let mut out = HashMap::new();
        let mut todo = Vec::new();
        {
            let cache = self.detailed.lock().unwrap_or_else(|p| p.into_inner());
            for k in keys {
                match cache.get(&k) {
                    Some(v) => {
                        out.insert(k, Some(v.clone()));
                    }
                    None => todo.push(k),
                }
            }
        }
        let mut read: (HashMap<Key, Option<Value>>, Option<Problem>) = (out, None);
        let start = |read: &mut (_, Option<Problem>), k: Key| {
            if read.1.is_some() {
                return None;
            }
            let client = self.client.clone();
            let path = format!("{base}/users/{k}");
            let task: Task<_> = Box::pin(async move {
                let r = client.call(Method::GET, &path, None, "read user".into()).await;
                (k, r)
            });
            Some(((), task))
        };
        let finish = |read: &mut (HashMap<Key, Option<Value>>, Option<Problem>),
                      answer: Result<(Key, Result<Response, HttpError>), Lost<()>>| {
            match answer {
                Ok((k, Ok(resp))) => {
                    let body = resp.body;
                    self.detailed.lock().unwrap_or_else(|p| p.into_inner()).insert(k.clone(), body.clone());
                    read.0.insert(k, Some(body));
                }
                // Gone since the listing (or an invitation withdrawn).
                Ok((k, Err(e))) if e.status == Some(404) => {
                    read.0.insert(k, None);
                }
                Ok((_, Err(e))) => {
                    read.1.get_or_insert(error(e));
                }
                Err(lost) => {
                    read.1.get_or_insert(Problem::new(Code::Target, lost.message));
                }
            }
            None
        };
        run(&mut read, self.client.http.concurrency, todo, start, finish).await;
        match read.1 {
            Some(p) => Err(p),
            None => Ok(read.0),
        }
    }

    /// Forgets what was read of these users (rollcall wrote to them).
    fn forget(&self, keys: impl IntoIterator<Item = Key>) {
        let mut cache = self.detailed.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            cache.remove(&k);
        }
    }

    async fn read_state(&self, key: &Key, name: &str, me_email: Option<String>) -> Result<LiveState, Problem> {
        let base = format!("/accounts/{key}");
        let licenses_raw = self.client.licenses(&base).await.map_err(error)?;
        let listed = self.client.users(&base).await.map_err(error)?;
        let (licenses, holders) = licenses_of(&licenses_raw);
        // Transfer invitations waiting for acceptance: user key -> the licenses they will get.
        let mut invited: HashMap<Key, Vec<Key>> = HashMap::new();
        for l in &licenses_raw {
            let Some(lk) = l.get("key").and_then(key_of) else { continue };
            for u in super::shapes::keys_of(l.get("invitedUserKeys")) {
                invited.entry(u).or_default().push(lk.clone());
            }
        }
        let mut accounts = Vec::with_capacity(listed.len());
        let mut need_roles = Vec::new();
        for user in listed {
            let Listed { key: Some(k), mut account, status, roles_shown } = user else { continue };
            if let Some(status) = status {
                account.attributes.insert(crate::live::STATUS, status);
            }
            account.grants.extend(holders.get(&k).into_iter().flatten().cloned().map(Grant::License));
            let in_scope = self.settings.hints.domains.is_empty()
                || self.settings.hints.domains.contains(&domain_of(account.email()));
            if self.settings.hints.admin_roles_matter && !roles_shown && in_scope {
                need_roles.push(accounts.len());
            }
            accounts.push(account);
        }
        // Invited people the listing does not show: read by key.
        let listed: BTreeSet<Key> = accounts.iter().map(|a| a.key.clone()).collect();
        let unlisted: Vec<Key> = invited.keys().filter(|k| !listed.contains(*k)).cloned().collect();
        if !unlisted.is_empty() {
            for (k, body) in self.users_by_key(&base, unlisted).await? {
                let Some(body) = body else { continue };
                let mut account = account_of(&body, k.clone());
                if let Some(status) = body.get("status").and_then(Value::as_str) {
                    account.attributes.insert(crate::live::STATUS, status);
                }
                accounts.push(account);
            }
        }
        for account in &mut accounts {
            if let Some(pending) = invited.get(&account.key) {
                account.attributes.insert(crate::live::INVITED, "true");
                account.grants.extend(pending.iter().cloned().map(Grant::License));
            }
        }
        // Admin roles not shown in the list: read them per user, for the users that matter.
        if !need_roles.is_empty() {
            let cached = {
                let cache = self.detailed.lock().unwrap_or_else(|p| p.into_inner());
                need_roles.iter().filter(|&&i| cache.contains_key(&accounts[i].key)).count()
            };
            if crate::progress::verbosity() > 0 {
                eprintln!(
                    "read the admin roles of {} users one by one: the user list does not show adminRoles, a role names an admin role, and these users are in scope{}",
                    need_roles.len() - cached,
                    if cached > 0 { format!(" ({cached} more already read in this run)") } else { String::new() }
                );
            }
            let keys: Vec<Key> = need_roles.iter().map(|&i| accounts[i].key.clone()).collect();
            let bodies = self.users_by_key(&base, keys).await?;
            for &i in &need_roles {
                if let Some(Some(body)) = bodies.get(&accounts[i].key) {
                    let detailed = account_of(body, accounts[i].key.clone());
                    accounts[i].grants.extend(detailed.grants);
                }
            }
        }
        Ok(LiveState {
            account_key: key.clone(),
            account_name: name.to_owned(),
            licenses,
            accounts,
            me: me_email,
            caller_admin_roles: None,
        })
    }

    /// The caller's admin roles: from /me, else from their own user.
    async fn caller_roles(&self, me: &Value, key: &Key) -> Result<BTreeSet<String>, Problem> {
        let roles = |v: &Value| -> Option<BTreeSet<String>> {
            v.get("adminRoles")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        };
        if let Some(r) = roles(me) {
            return Ok(r);
        }
        let Some(my_key) = me.get("key").and_then(key_of) else { return Ok(BTreeSet::new()) };
        let body = self
            .client
            .call(Method::GET, &format!("/accounts/{key}/users/{my_key}"), None, "read own user".into())
            .await
            .map_err(error)?
            .body;
        Ok(roles(&body).unwrap_or_default())
    }
}

/// The PUT body that makes `account` (currently holding `current`) match `e`.
fn put_body(e: &Expected, current: &GrantSet, include_attributes: bool) -> Value {
    let mut body = Map::new();
    if include_attributes {
        for (a, v) in &e.attributes {
            body.insert(a.clone(), Value::String(v.clone()));
        }
    }
    let after: BTreeSet<&Grant> = current.iter().filter(|g| !e.remove.contains(g)).chain(e.add.iter()).collect();
    let touches = |f: fn(&Grant) -> bool| e.add.iter().chain(e.remove.iter()).any(f);
    if touches(|g| matches!(g, Grant::License(_))) {
        // The whole list: right whether GoTo replaces or merges (a merge cannot remove, which
        // the read-back then reports).
        let keys: Vec<Value> =
            after.iter().filter_map(|g| if let Grant::License(k) = g { Some(key_json(k)) } else { None }).collect();
        body.insert("licenseKeys".into(), Value::Array(keys));
    }
    if touches(|g| matches!(g, Grant::AdminRole(_))) {
        let roles: Vec<Value> = after
            .iter()
            .filter_map(|g| if let Grant::AdminRole(r) = g { Some(Value::String(r.clone())) } else { None })
            .collect();
        body.insert("adminRoles".into(), Value::Array(roles));
    }
    Value::Object(body)
}

/// The grants an account holds right now, read just before a write replaces its grant lists:
/// a license or admin role someone else granted or revoked during the run survives the PUT.
async fn fresh_grants(client: &Client, base: &str, user: &Key, known: &GrantSet) -> Result<GrantSet, HttpError> {
    let u = client.call(Method::GET, &format!("{base}/users/{user}"), None, format!("re-read user {user}")).await?.body;
    let detailed = account_of(&u, user.clone());
    let mut grants = GrantSet::new();
    if u.get("licenseKeys").is_some() {
        grants.extend(detailed.grants.iter().filter(|g| matches!(g, Grant::License(_))).cloned());
    } else {
        // Licenses not shown on the user: the license list says who holds what.
        let raw = client.licenses(base).await?;
        let (_, holders) = licenses_of(&raw);
        grants.extend(holders.get(user).into_iter().flatten().cloned().map(Grant::License));
    }
    if u.get("adminRoles").is_some() {
        grants.extend(detailed.grants.iter().filter(|g| matches!(g, Grant::AdminRole(_))).cloned());
    } else {
        grants.extend(known.iter().filter(|g| matches!(g, Grant::AdminRole(_))).cloned());
    }
    Ok(grants)
}

impl Target for GotoTarget {
    fn info(&self) -> TargetInfo {
        let (account, name) = self.account.as_ref().map(|(k, n)| (k.0.clone(), n.clone())).unwrap_or_default();
        TargetInfo { kind: "goto".into(), account, name }
    }

    fn check(&mut self) -> Vec<crate::targets::CheckStep> {
        check::steps(self)
    }

    fn read(&mut self) -> Result<LiveState, Problem> {
        let state = self.rt.block_on(async {
            let me = self.me().await?;
            let (key, name) = self.resolve_account(&me)?;
            let email = me.get("email").and_then(Value::as_str).map(str::to_owned);
            let mut state = self.read_state(&key, &name, email).await?;
            state.caller_admin_roles = Some(self.caller_roles(&me, &key).await?);
            Ok::<_, Problem>((key, name, state))
        })?;
        self.account = Some((state.0, state.1));
        Ok(state.2)
    }

    fn apply(&mut self, actions: &[Action], live: &LiveState, sink: &mut dyn ApplySink) -> Result<(), Problem> {
        if self.account.is_none() {
            self.read()?;
        }
        let mut ledger = Ledger::new(sink, actions.len(), true);
        let before = self.rt.block_on(self.write(actions, live, &mut ledger));
        ledger.written();
        self.read_back(actions, live, &before, &mut ledger)?;
        ledger.finish();
        Ok(())
    }
}

impl GotoTarget {
    /// Carries out `actions`, concurrently within the rate limit; gives the grants each
    /// written account held right before rollcall's write.
    async fn write(&self, actions: &[Action], live: &LiveState, ledger: &mut Ledger<'_>) -> HashMap<usize, GrantSet> {
        let base = format!("/accounts/{}", self.account_key());
        let by_key: HashMap<&Key, &LiveAccount> = live.accounts.iter().map(|a| (&a.key, a)).collect();
        let writer = Writer { client: &self.client, base: &base, actions, by_key: &by_key };
        let mut before = HashMap::new();
        let picked = |pick: fn(ActionKind) -> bool| {
            actions.iter().enumerate().filter(move |(_, a)| pick(a.action)).map(|(i, _)| i)
        };
        // 1. Removals first: a disable or delete frees the seats a create may need.
        writer.each(picked(ActionKind::is_removal), ledger, &mut before).await;
        // 2. Creates, batched by identical grants ("Add Users" takes one set for the batch).
        self.create_all(&base, actions, ledger).await;
        // 3. Updates and enables.
        writer.each(picked(|k| matches!(k, ActionKind::Update | ActionKind::Enable)), ledger, &mut before).await;
        before
    }

    /// The creates, in "Add Users" batches of people with the same grants. Batches run
    /// concurrently, like the other writes: one at a time, an initial load waits a round trip
    /// per batch instead of keeping to the rate.
    async fn create_all(&self, base: &str, actions: &[Action], ledger: &mut Ledger<'_>) {
        let suppress_email = !self.settings.welcome_email;
        let mut groups: BTreeMap<(Vec<Key>, Vec<String>), Vec<usize>> = BTreeMap::new();
        for (i, a) in actions.iter().enumerate().filter(|(_, a)| a.action == ActionKind::Create) {
            let e = Expected::of(a);
            let licenses =
                e.add.iter().filter_map(|g| if let Grant::License(k) = g { Some(k.clone()) } else { None }).collect();
            let roles =
                e.add.iter().filter_map(|g| if let Grant::AdminRole(r) = g { Some(r.clone()) } else { None }).collect();
            groups.entry((licenses, roles)).or_default().push(i);
        }
        let batches = groups
            .iter()
            .flat_map(|((licenses, roles), members)| members.chunks(CREATE_BATCH).map(move |b| (licenses, roles, b)));
        let path = format!("{base}/users");
        let start = |ledger: &mut Ledger<'_>, (licenses, roles, batch): (&Vec<Key>, &Vec<String>, &[usize])| {
            if !ledger.send_all(batch, &format!("POST {path} (Add Users, {} users)", batch.len())) {
                return None;
            }
            let people: Vec<(usize, String, Value)> = batch
                .iter()
                .map(|&i| {
                    let mut u = Map::new();
                    for (a, v) in Expected::of(&actions[i]).attributes {
                        u.insert(a, Value::String(v));
                    }
                    u.entry("email").or_insert_with(|| Value::String(actions[i].email.clone()));
                    (i, actions[i].email.clone(), Value::Object(u))
                })
                .collect();
            let grants = json!({
                "licenseKeys": licenses.iter().map(key_json).collect::<Vec<_>>(),
                "adminRoles": roles,
                "suppressEmail": suppress_email,
            });
            let client = self.client.clone();
            let base = base.to_owned();
            let task: Task<_> = Box::pin(async move { create_batch(&client, &base, people, grants).await });
            Some((batch.to_vec(), task))
        };
        let finish = |ledger: &mut Ledger<'_>, answer: Result<Vec<Settled>, Lost<Vec<usize>>>| {
            match answer {
                Ok(settled) => {
                    for (i, o, key) in settled {
                        ledger.settle(i, o, key.as_ref());
                    }
                }
                Err(lost) => ledger.lost(&lost.tag, &lost.message),
            }
            None
        };
        run(ledger, self.client.http.concurrency, batches, start, finish).await;
    }

    /// Reads back what GoTo's behaviour leaves uncertain, fixes what did not take, reports the
    /// rest. Also writes that failed without a clear answer (the connection dropped, 429 or
    /// 5xx to the last attempt): the change may have been made; if it was, the action is done,
    /// else it gets one more try with the fixes.
    fn read_back(
        &self,
        actions: &[Action],
        live: &LiveState,
        before: &HashMap<usize, GrantSet>,
        ledger: &mut Ledger<'_>,
    ) -> Result<(), Problem> {
        let uncertain = |o: Option<&Outcome>| matches!(o, Some(Outcome::Failed { status, .. }) if status.is_none_or(|s| s == 429 || s >= 500));
        let accepted: Vec<bool> = (0..actions.len()).map(|i| ledger.outcome(i) == Some(&Outcome::Done)).collect();
        let done: Vec<usize> = (0..actions.len()).filter(|&i| accepted[i] || uncertain(ledger.outcome(i))).collect();
        self.forget(actions.iter().filter_map(|a| a.key.clone()));
        if done.is_empty() {
            return Ok(());
        }
        let (key, name) = self.account.clone().expect("resolved");
        let base = format!("/accounts/{key}");
        for round in 0..2 {
            let state = self.rt.block_on(self.read_state(&key, &name, live.me.clone()))?;
            let before = if round == 0 { Some(before) } else { None };
            let fixes = judge(actions, &done, &accepted, &state, before, ledger);
            if fixes.is_empty() || round == 1 || ledger.stopped() {
                break;
            }
            // Adopted accounts (they existed already) and grants a merge did not set: one PUT
            // each, from the state just read.
            self.forget(fixes.iter().map(|(_, k, _)| k.clone()));
            self.rt.block_on(complete(&self.client, &base, actions, fixes, ledger));
        }
        Ok(())
    }
}

/// Holds the accounts the actions `done` wrote to, as `state` shows them, to what the actions
/// do: settles each (an accepted write that did not take fails), warns of grants lost around
/// rollcall's write (`before`: what they held right before it), and gives the accounts to fix.
fn judge(
    actions: &[Action],
    done: &[usize],
    accepted: &[bool],
    state: &LiveState,
    before: Option<&HashMap<usize, GrantSet>>,
    ledger: &mut Ledger<'_>,
) -> Vec<(usize, Key, GrantSet)> {
    let by_email: HashMap<String, &LiveAccount> =
        state.accounts.iter().map(|a| (a.email().to_lowercase(), a)).collect();
    let by_key: HashMap<&Key, &LiveAccount> = state.accounts.iter().map(|a| (&a.key, a)).collect();
    let mut fixes = Vec::new();
    for &i in done {
        let a = &actions[i];
        let found = match &a.key {
            Some(k) => by_key.get(k).copied(),
            None => by_email.get(&a.email.to_lowercase()).copied(),
        };
        let problem = match (a.action, found) {
            (ActionKind::Delete, None) => None,
            (ActionKind::Delete, Some(_)) => Some(vec!["the account still exists".to_owned()]),
            (_, None) => Some(vec!["the account is not in the account's user list".to_owned()]),
            (_, Some(acc)) => {
                let e = Expected::of(a);
                if let Some(held) = before.and_then(|b| b.get(&i)) {
                    let lost: Vec<String> = held
                        .iter()
                        .filter(|g| !e.remove.contains(g) && !acc.grants.contains(g))
                        .map(|g| format!("{g:?}"))
                        .collect();
                    if !lost.is_empty() {
                        ledger.warn(
                            i,
                            format!(
                                "{} no longer holds {} (held before rollcall's write, which did not remove it)",
                                a.email,
                                lost.join(", ")
                            ),
                        );
                    }
                }
                let missing = e.shortfall(acc);
                (!missing.is_empty()).then(|| {
                    fixes.push((i, acc.key.clone(), acc.grants.clone()));
                    missing
                })
            }
        };
        match problem {
            Some(missing) if accepted[i] => ledger.revise(
                i,
                Outcome::Failed {
                    message: format!("GoTo accepted the request, but {}", missing.join("; ")),
                    status: None,
                    incident: None,
                },
            ),
            // An uncertain write that did not take keeps its own error (unless a fix does it).
            Some(_) => {}
            None => ledger.revise(i, Outcome::Done),
        }
    }
    fixes
}

/// The PUTs that complete what a read-back found missing: one each, from the state just read.
async fn complete(
    client: &Arc<Client>,
    base: &str,
    actions: &[Action],
    fixes: Vec<(usize, Key, GrantSet)>,
    ledger: &mut Ledger<'_>,
) {
    let start = |ledger: &mut Ledger<'_>, (i, user, current): (usize, Key, GrantSet)| {
        let path = format!("{base}/users/{user}");
        if !ledger.send(i, &format!("PUT {path}")) {
            return None;
        }
        let client = client.clone();
        let body = put_body(&Expected::of(&actions[i]), &current, true);
        let what = format!("complete {} {}", actions[i].action.as_str(), actions[i].email);
        let task: Task<_> = Box::pin(async move { (i, client.call(Method::PUT, &path, Some(body), what).await) });
        Some((i, task))
    };
    let finish = |ledger: &mut Ledger<'_>, answer: Result<(usize, Result<Response, HttpError>), Lost<usize>>| {
        match answer {
            Ok((i, Ok(_))) => ledger.settle(i, Outcome::Done, None),
            Ok((i, Err(e))) => ledger.settle(i, failed(&e), None),
            Err(lost) => ledger.lost(&[lost.tag], &lost.message),
        }
        None
    };
    run(ledger, client.http.concurrency, fixes, start, finish).await;
}

/// A step of one update, enable, disable or delete: the action to start, or (after the fresh
/// read) the grant-list PUT built from the account as read right before it.
enum Job {
    Start(usize),
    Put(usize, Key, GrantSet),
}

/// A step's answer: the fresh read before a grant-list PUT, or the write itself.
enum Step {
    Fresh(usize, Key, Result<GrantSet, HttpError>),
    Wrote(usize, Outcome),
}

/// Writes updates, enables, disables and deletes: one request each.
struct Writer<'a> {
    client: &'a Arc<Client>,
    base: &'a str,
    actions: &'a [Action],
    /// The accounts as planned against.
    by_key: &'a HashMap<&'a Key, &'a LiveAccount>,
}

impl Writer<'_> {
    /// Writes the actions `picked`, concurrently within the rate limit. A PUT that replaces a
    /// grant list is built from the account as read right before it.
    async fn each(
        &self,
        picked: impl Iterator<Item = usize>,
        ledger: &mut Ledger<'_>,
        before: &mut HashMap<usize, GrantSet>,
    ) {
        let start = |ledger: &mut Ledger<'_>, job| match job {
            Job::Put(i, key, current) => self.put(ledger, before, i, &key, current),
            Job::Start(i) => self.start(ledger, before, i),
        };
        let finish = |ledger: &mut Ledger<'_>, answer: Result<Step, Lost<usize>>| match answer {
            Ok(Step::Fresh(i, key, Ok(current))) => Some(Job::Put(i, key, current)),
            Ok(Step::Fresh(i, _, Err(e))) => {
                ledger.settle(i, failed(&e), None);
                None
            }
            Ok(Step::Wrote(i, o)) => {
                ledger.settle(i, o, None);
                None
            }
            Err(lost) => {
                ledger.lost(&[lost.tag], &lost.message);
                None
            }
        };
        run(ledger, self.client.http.concurrency, picked.map(Job::Start), start, finish).await;
    }

    /// Starts action `i`: a DELETE, a fresh read before a grant-list PUT, or (attributes
    /// only: nothing to re-read) the PUT.
    fn start(
        &self,
        ledger: &mut Ledger<'_>,
        before: &mut HashMap<usize, GrantSet>,
        i: usize,
    ) -> Option<(usize, Task<Step>)> {
        let a = &self.actions[i];
        if !ledger.may_start(i) {
            return None;
        }
        let Some(key) = a.key.clone() else {
            ledger.settle(i, Outcome::Failed { message: "no account key".into(), status: None, incident: None }, None);
            return None;
        };
        let client = self.client.clone();
        if a.action == ActionKind::Delete {
            let path = format!("{}/users/{key}", self.base);
            if !ledger.send(i, &format!("DELETE {path}")) {
                return None;
            }
            let what = format!("{} {}", a.action.as_str(), a.email);
            let expect = Expected::of(a);
            let task: Task<Step> = Box::pin(async move {
                Step::Wrote(i, write_settled(&client, &path, Method::DELETE, None, what, expect).await)
            });
            return Some((i, task));
        }
        let known = self.by_key.get(&key).map(|l| l.grants.clone()).unwrap_or_default();
        let e = Expected::of(a);
        if e.add.is_empty() && e.remove.is_empty() {
            return self.put(ledger, before, i, &key, known);
        }
        let base = self.base.to_owned();
        let task: Task<Step> = Box::pin(async move {
            let r = fresh_grants(&client, &base, &key, &known).await;
            Step::Fresh(i, key, r)
        });
        Some((i, task))
    }

    /// The PUT of action `i` to the account `key`, which holds `current`.
    fn put(
        &self,
        ledger: &mut Ledger<'_>,
        before: &mut HashMap<usize, GrantSet>,
        i: usize,
        key: &Key,
        current: GrantSet,
    ) -> Option<(usize, Task<Step>)> {
        let path = format!("{}/users/{key}", self.base);
        if !ledger.send(i, &format!("PUT {path}")) {
            return None;
        }
        let expect = Expected::of(&self.actions[i]);
        let body = put_body(&expect, &current, true);
        before.insert(i, current);
        let what = format!("{} {}", self.actions[i].action.as_str(), self.actions[i].email);
        let client = self.client.clone();
        let task: Task<Step> = Box::pin(async move {
            Step::Wrote(i, write_settled(&client, &path, Method::PUT, Some(body), what, expect).await)
        });
        Some((i, task))
    }
}

/// One update or delete. Answered 5xx or not at all, it may have taken effect: the user is
/// read back before it is sent again, and a user already as wanted (or already gone, for a
/// delete) is done at once. Bounded: six sends.
async fn write_settled(
    client: &Client,
    path: &str,
    method: Method,
    body: Option<Value>,
    what: String,
    expect: Expected,
) -> Outcome {
    const SENDS: u32 = 6;
    let delete = method == Method::DELETE;
    let mut last = None;
    for attempt in 0..SENDS {
        match client.write(method.clone(), path, body.clone(), what.clone()).await {
            Ok(_) => return Outcome::Done,
            // Already gone: the delete converged (an earlier run, or a retry after a lost response).
            Err(e) if delete && e.status == Some(404) => return Outcome::Done,
            Err(e) if unsure(&e) => {
                match client.call(Method::GET, path, None, format!("read back after {what}")).await {
                    Err(g) if g.status == Some(404) && delete => return Outcome::Done,
                    Err(g) if g.status == Some(404) => {
                        return Outcome::Failed {
                            message: format!("{what}: the account no longer exists ({e})"),
                            status: e.status,
                            incident: e.incident.clone(),
                        };
                    }
                    Ok(resp) if !delete && expect.shortfall(&account_of(&resp.body, Key::default())).is_empty() => {
                        return Outcome::Done;
                    }
                    _ => {}
                }
                last = Some(e);
                if attempt + 1 < SENDS {
                    tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                }
            }
            Err(e) => return failed(&e),
        }
    }
    last.as_ref().map_or(Outcome::Skipped { reason: "not sent".into() }, failed)
}

/// One "Add Users" batch, to the end. Sends `allOrNothing=false` and takes the per-user
/// answer: a key is a created (or existing) user; an entry without a key is an email
/// conflict. A conflict, a 409 for the whole batch, or a lost answer is settled by reading
/// those emails back: a user the account has is done (the read-back gives it its grants);
/// one it does not have is sent again (one by one after a 409 for a batch: which email
/// conflicted is read, never guessed) or, for a per-user conflict, reported with GoTo's
/// answer. A 409 about seats or licenses is no email conflict: it is reported as it is.
/// Bounded: six rounds, waiting longer before each.
async fn create_batch(client: &Client, base: &str, people: Vec<(usize, String, Value)>, grants: Value) -> Vec<Settled> {
    const ROUNDS: usize = 6;
    enum Said {
        Created(Key),
        Conflict,
        BatchConflict(HttpError),
        Unknown(HttpError),
    }
    let mut settled = Vec::new();
    let mut todo = vec![people];
    for round in 0..ROUNDS {
        let last_round = round + 1 == ROUNDS;
        let mut next = Vec::new();
        for batch in std::mem::take(&mut todo) {
            let mut body = grants.clone();
            body["users"] = Value::Array(batch.iter().map(|(_, _, u)| u.clone()).collect());
            let what = format!("create {} user{}", batch.len(), if batch.len() == 1 { "" } else { "s" });
            let answer =
                client.write(Method::POST, &format!("{base}/users?allOrNothing=false"), Some(body), what).await;
            let said: Vec<Said> = match &answer {
                Ok(resp) => {
                    let keyed: HashMap<String, Option<Key>> = resp
                        .body
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|u| {
                            let email = u.get("email").and_then(Value::as_str)?.to_lowercase();
                            Some((email, u.get("key").and_then(key_of)))
                        })
                        .collect();
                    batch
                        .iter()
                        .map(|(_, email, _)| match keyed.get(&email.to_lowercase()) {
                            Some(Some(key)) => Said::Created(key.clone()),
                            Some(None) => Said::Conflict,
                            None => Said::Unknown(HttpError {
                                status: Some(resp.status),
                                code: None,
                                incident: None,
                                message: "GoTo did not return this user from Add Users".into(),
                            }),
                        })
                        .collect()
                }
                Err(e) if e.status == Some(409) && !not_about_email(e) => {
                    batch.iter().map(|_| Said::BatchConflict(e.clone())).collect()
                }
                Err(e) if unsure(e) || e.status == Some(429) => {
                    batch.iter().map(|_| Said::Unknown(e.clone())).collect()
                }
                Err(e) => {
                    settled.extend(batch.iter().map(|(i, _, _)| (*i, failed(e), None)));
                    continue;
                }
            };
            let mut again = Vec::new();
            let single = batch.len() == 1;
            for (person, said) in batch.into_iter().zip(said) {
                if let Said::Created(key) = said {
                    settled.push((person.0, Outcome::Done, Some(key)));
                    continue;
                }
                let found = match client.find_email(base, &person.1).await {
                    Ok(found) => found,
                    Err(e) => {
                        settled.push((person.0, failed(&e), None));
                        continue;
                    }
                };
                if found.is_some() {
                    settled.push((person.0, Outcome::Done, None));
                    continue;
                }
                match said {
                    Said::Created(_) => {}
                    Said::Conflict => settled.push((
                        person.0,
                        Outcome::Failed {
                            message: format!(
                                "GoTo answered an email conflict for {} and this account has no user with it: the email belongs to a GoTo user outside this account (ask them to leave that account, or use another email)",
                                person.1
                            ),
                            status: Some(409),
                            incident: None,
                        },
                        None,
                    )),
                    // Alone in its request, the conflict is this person's.
                    Said::BatchConflict(e) if last_round || single => settled.push((person.0, failed(&e), None)),
                    // Which email conflicted is not told: each is sent on its own.
                    Said::BatchConflict(_) => next.push(vec![person]),
                    Said::Unknown(e) if last_round => settled.push((person.0, failed(&e), None)),
                    Said::Unknown(_) => again.push(person),
                }
            }
            if !again.is_empty() {
                next.push(again);
            }
        }
        todo = next;
        if todo.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100 << round)).await;
    }
    settled
}

/// An action settled by a create batch: its outcome, and the key of the account it made.
type Settled = (usize, Outcome, Option<Key>);

/// A 409 that names seats or licenses: a refusal, not an email conflict to settle.
fn not_about_email(e: &HttpError) -> bool {
    let code = e.code.as_deref().unwrap_or("").to_ascii_lowercase();
    code.contains("seat") || code.contains("license")
}
