//! GoTo's part of `rollcall check`: the token, its scopes, the account, the caller's admin
//! roles, the user list and the licenses, each a step that says what it found or what to fix.
//! The command (`commands::check`) decides what is checked when and how it is shown.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::Value;

use super::{GotoTarget, key_of};
use crate::diag::Problem;
use crate::live::Key;
use crate::targets::CheckStep;

/// Every step, in order; a step that leaves nothing to check after it ends the list.
pub(super) fn steps(target: &GotoTarget) -> Vec<CheckStep> {
    let mut steps = Vec::new();
    target.rt.block_on(async {
        if let Err(e) = target.client.tokens.token(&target.client.http).await {
            steps.push(CheckStep::fail("credentials", e.message));
            return;
        }
        steps.push(CheckStep::ok("credentials", "token obtained"));
        steps.push(scopes(target));
        let (me, key) = match account(target).await {
            Ok((me, key, name)) => {
                steps.push(CheckStep::ok("account", format!("{key} ({name})")));
                (me, key)
            }
            Err(step) => {
                steps.push(step);
                return;
            }
        };
        let base = format!("/accounts/{key}");
        steps.push(admin_roles(target, &me, &key).await);
        steps.push(users(target, &base).await);
        steps.extend(licenses(target, &base).await);
    });
    steps
}

/// The granted scopes: the Admin API needs `identity:`.
fn scopes(target: &GotoTarget) -> CheckStep {
    match target.client.tokens.answer().scope {
        Some(s) if s.split_whitespace().any(|x| x.starts_with("identity:")) => {
            CheckStep::ok("scopes", format!("granted: {s}"))
        }
        Some(s) => CheckStep::fail(
            "scopes",
            format!(
                "granted: {s}; rollcall needs the identity: scope: give the OAuth client the identity: scope in GoTo's developer center and make a new personal access token"
            ),
        ),
        None => CheckStep::ok(
            "scopes",
            "not known (no token answer named them: a static GOTO_ACCESS_TOKEN, or GoTo named none)",
        ),
    }
}

/// A problem as one line: the message, and its help in brackets.
fn with_help(p: Problem) -> String {
    format!("{}{}", p.message, p.help.map(|h| format!(" ({h})")).unwrap_or_default())
}

/// /me, and the account rollcall manages: (me, key, name).
async fn account(target: &GotoTarget) -> Result<(Value, Key, String), CheckStep> {
    let me = target.me().await.map_err(|p| CheckStep::fail("/me", with_help(p)))?;
    let (key, name) = target.resolve_account(&me).map_err(|p| CheckStep::fail("account", with_help(p)))?;
    Ok((me, key, name))
}

/// The caller's admin roles against what this manifest's plans may need.
async fn admin_roles(target: &GotoTarget, me: &Value, key: &Key) -> CheckStep {
    use crate::plan::roles::{MANAGE_USERS, TO_CREATE_USERS, TO_GIVE_LICENSES, TO_GRANT_ADMIN_ROLES};
    let have = match target.caller_roles(me, key).await {
        Ok(have) => have,
        Err(p) => return CheckStep::fail("admin roles", p.message),
    };
    let who = me.get("email").and_then(Value::as_str).unwrap_or("the credential's user");
    let hints = &target.settings.hints;
    // What this manifest's plans may need (GoTo's documentation; docs/goto.md).
    let mut needed = vec![TO_CREATE_USERS, (MANAGE_USERS, "change and delete users")];
    if hints.licenses_matter {
        needed.push(TO_GIVE_LICENSES);
    }
    if hints.admin_roles_matter {
        needed.push(TO_GRANT_ADMIN_ROLES);
    }
    let holds =
        if have.is_empty() { "no admin role".to_owned() } else { have.iter().cloned().collect::<Vec<_>>().join(", ") };
    let lacks: Vec<String> = needed
        .iter()
        .filter(|(r, _)| !have.contains(crate::live::SUPER_USER) && !have.contains(*r))
        .map(|(r, why)| format!("{r} to {why}"))
        .collect();
    if lacks.is_empty() {
        CheckStep::ok("admin roles", format!("{who} ({holds})"))
    } else {
        CheckStep::fail(
            "admin roles",
            format!(
                "{who} holds {holds}; this manifest's plans may need {} (plans that need them are blocked before any write)",
                lacks.join(", ")
            ),
        )
    }
}

/// One page of the user list: can the credential list users, and how many are there.
async fn users(target: &GotoTarget, base: &str) -> CheckStep {
    match target.client.call(Method::GET, &format!("{base}/users?offset=0&pageSize=1"), None, "list users".into()).await
    {
        Ok(r) => {
            CheckStep::ok("list users", format!("{} users", r.body.get("total").and_then(Value::as_u64).unwrap_or(0)))
        }
        Err(e) => CheckStep::fail("list users", e.message),
    }
}

/// The licenses with their seats, after the transfer invitations waiting for acceptance.
async fn licenses(target: &GotoTarget, base: &str) -> Vec<CheckStep> {
    let ls = match target.client.licenses(base).await {
        Ok(ls) => ls,
        Err(e) => return vec![CheckStep::fail("licenses", e.message)],
    };
    let mut steps = Vec::new();
    if let Some(step) = invitations(target, base, &ls).await {
        steps.push(step);
    }
    let desc: Vec<String> = ls
        .iter()
        .map(|l| {
            format!(
                "{} ({}): {}/{} seats",
                l.get("description").and_then(Value::as_str).unwrap_or("?"),
                l.get("key").and_then(key_of).map(|k| k.0).unwrap_or_default(),
                l.get("userCount").and_then(Value::as_u64).unwrap_or(0),
                l.get("seats").and_then(Value::as_u64).map_or("?".into(), |s| s.to_string())
            )
        })
        .collect();
    steps.push(CheckStep::ok("licenses", desc.join("; ")));
    steps
}

/// Transfer invitations waiting for acceptance, by email (None: there are none).
async fn invitations(target: &GotoTarget, base: &str, licenses: &[Value]) -> Option<CheckStep> {
    let mut invited: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for l in licenses {
        let name = l.get("description").and_then(Value::as_str).unwrap_or("?").to_owned();
        for u in crate::targets::shapes::keys_of(l.get("invitedUserKeys")) {
            invited.entry(u).or_default().push(name.clone());
        }
    }
    if invited.is_empty() {
        return None;
    }
    let emails = target.users_by_key(base, invited.keys().cloned().collect()).await.unwrap_or_default();
    let list: Vec<String> = invited
        .iter()
        .map(|(k, ls)| {
            let email = emails
                .get(k)
                .and_then(|u| u.as_ref()?.get("email")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("user {k}"));
            format!("{email} ({})", ls.join(", "))
        })
        .collect();
    Some(CheckStep::ok("invitations", format!("{} waiting for acceptance: {}", invited.len(), list.join("; "))))
}
