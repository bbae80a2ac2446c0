//! The GoTo probe beneath `rollcall check --probe EMAIL`: on a real account, with a test user
//! the administrator names, makes and reverts the smallest changes that settle what GoTo's
//! documentation leaves open, and reports what it saw. The command decides how the steps are
//! shown and, with `--record`, saves the exchanges this target recorded.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Client, GotoTarget, key_of};
use crate::live::Key;
use crate::targets::CheckStep;
use crate::targets::shapes::keys_of;

/// What the probe will do, printed before it does anything.
pub fn intent(email: &str) -> String {
    format!(
        "The probe will:\n\
         \x20 1. read the token answer, /me and the licenses (paged and unpaged), and look up {email}: it must not exist in the account;\n\
         \x20 2. create {email} with one license (Add Users, allOrNothing=false, suppressEmail=true: no invitation email);\n\
         \x20 3. read the user list entry of {email}: do listings carry licenseKeys and adminRoles?\n\
         \x20 4. add {email} again without allOrNothing: what does an email conflict answer?\n\
         \x20 5. PUT licenseKeys [] on {email} and read it back: does a PUT replace or merge?\n\
         \x20 6. delete {email}, then delete it again: what does a DELETE of an unknown user answer?\n\
         \x20 7. look {email} up again: the account is left as it was found.\n\n"
    )
}

impl GotoTarget {
    /// Keeps every HTTP exchange from now on, secrets redacted (`check --probe --record`).
    pub fn record_exchanges(&self) {
        self.client.http.start_recording();
    }

    /// The exchanges kept since `record_exchanges`.
    pub fn recorded_exchanges(&self) -> Vec<Value> {
        self.client.http.recorded()
    }
}

/// Runs the probe; every step a line, ok or what went wrong.
pub fn run(target: &GotoTarget, email: &str) -> Vec<CheckStep> {
    let mut lines = Vec::new();
    let created = target.rt.block_on(steps(target, email, &mut lines));
    if let Some((base, key)) = created {
        // A step failed after the test user was made: it is removed all the same.
        let r = target.rt.block_on(target.client.write(
            Method::DELETE,
            &format!("{base}/users/{key}"),
            None,
            format!("delete {email} (clean-up)"),
        ));
        lines.push(CheckStep {
            step: "clean-up".into(),
            result: r
                .map(|_| format!("{email} deleted"))
                .map_err(|e| format!("{email} could not be deleted: {e}: delete it by hand")),
        });
    }
    lines
}

/// Where the test user is made: the account's path and a license with a free seat.
struct Ready {
    base: String,
    license: Key,
}

/// The test user once made: its key, and its entry in the user list (None: not listed).
struct Made {
    key: Key,
    listed: Option<Value>,
}

/// The steps; returns the test user's key when it still exists (a step failed after creating it).
async fn steps(target: &GotoTarget, email: &str, lines: &mut Vec<CheckStep>) -> Option<(String, Key)> {
    let client = &target.client;
    let Ready { base, license } = ready(target, email, lines).await?;
    let Made { key: user_key, listed } = create(client, &base, email, &license, lines).await?;
    // 3. Listings.
    let Some(listed) = listed else {
        lines.push(CheckStep::fail("user listings", format!("{email} is not in the user list after its create")));
        return Some((base, user_key));
    };
    lines.push(listings(&listed));
    lines.push(all_or_nothing_default(client, &base, email).await);
    let user_path = format!("{base}/users/{user_key}");
    // Each of the last steps ends the probe when it fails, with the test user still there.
    let left = async {
        lines.push(put_replaces_or_merges(client, &base, &user_path, email, &license, &user_key).await?);
        lines.push(delete_twice(client, &user_path, email).await?);
        gone(client, &base, email).await
    };
    match left.await {
        Ok(step) => {
            lines.push(step);
            None
        }
        Err(step) => {
            lines.push(step);
            Some((base, user_key))
        }
    }
}

/// 1. The token answer, /me, the licenses (paged and unpaged); the test user must not exist.
async fn ready(target: &GotoTarget, email: &str, lines: &mut Vec<CheckStep>) -> Option<Ready> {
    let client = &target.client;
    if let Err(e) = client.tokens.token(&client.http).await {
        lines.push(CheckStep::fail("credentials", e.message));
        return None;
    }
    lines.push(token_answers(target));
    let me = match target.me().await {
        Ok(me) => me,
        Err(p) => {
            lines.push(CheckStep::fail("/me", p.message));
            return None;
        }
    };
    let (key, _) = match target.resolve_account(&me) {
        Ok(a) => a,
        Err(p) => {
            lines.push(CheckStep::fail("account", p.message));
            return None;
        }
    };
    let base = format!("/accounts/{key}");
    lines.push(license_paging(client, &base).await);
    let license = match free_license(client, &base).await {
        Ok(license) => license,
        Err(step) => {
            lines.push(step);
            return None;
        }
    };
    match client.find_email(&base, email).await {
        Ok(None) => Some(Ready { base, license }),
        Ok(Some(_)) => {
            lines.push(CheckStep::fail(
                "test user",
                format!(
                    "{email} already has a user in this account: refusing (the probe creates and deletes its test user; name an email that has no GoTo user)"
                ),
            ));
            None
        }
        Err(e) => {
            lines.push(CheckStep::fail("test user", e.message));
            None
        }
    }
}

/// What the token answer carries: a refresh token, the scopes.
fn token_answers(target: &GotoTarget) -> CheckStep {
    let answer = target.client.tokens.answer();
    CheckStep::ok(
        "token answers",
        match (&answer.scope, answer.refresh_token) {
            (None, false) => "no token exchange (GOTO_ACCESS_TOKEN) or no scope and no refresh_token".to_owned(),
            (scope, rt) => format!(
                "{} (scope: {})",
                if rt { "carry a refresh_token" } else { "no refresh_token" },
                scope.as_deref().unwrap_or("not named")
            ),
        },
    )
}

/// Does /licenses take offset and pageSize?
async fn license_paging(client: &Client, base: &str) -> CheckStep {
    match client
        .call(Method::GET, &format!("{base}/licenses?offset=0&pageSize=1000"), None, "list licenses paged".into())
        .await
    {
        Ok(_) => CheckStep::ok("licenses", "paged (offset and pageSize accepted)"),
        Err(e) if e.status.is_some_and(|s| (400..500).contains(&s)) => CheckStep::ok(
            "licenses",
            format!("unpaged (offset/pageSize refused: HTTP {}; rollcall asks without them)", e.status.unwrap_or(0)),
        ),
        Err(e) => CheckStep::fail("licenses", e.message),
    }
}

/// A license with a seat free for the test user.
async fn free_license(client: &Client, base: &str) -> Result<Key, CheckStep> {
    let licenses = client.licenses(base).await.map_err(|e| CheckStep::fail("licenses", e.message))?;
    let free = licenses.iter().find(|l| {
        let used = l.get("userKeys").and_then(Value::as_array).map_or(0, Vec::len) as u64;
        l.get("seats").and_then(Value::as_u64).is_none_or(|s| used < s)
    });
    free.and_then(|l| l.get("key").and_then(key_of))
        .ok_or_else(|| CheckStep::fail("licenses", "no license has a free seat for the test user"))
}

/// 2. Create the test user with one license; None when it was not made.
async fn create(client: &Client, base: &str, email: &str, license: &Key, lines: &mut Vec<CheckStep>) -> Option<Made> {
    let body = json!({
        "users": [{"email": email, "firstName": "Rollcall", "lastName": "Probe"}],
        "licenseKeys": [super::key_json(license)],
        "suppressEmail": true,
    });
    let created = client
        .write(Method::POST, &format!("{base}/users?allOrNothing=false"), Some(body), format!("create {email}"))
        .await;
    let user_key = match created {
        Ok(r) => r.body.as_array().into_iter().flatten().find_map(|u| u.get("key").and_then(key_of)),
        Err(e) => {
            lines.push(CheckStep::fail("create", e.message));
            None
        }
    };
    // Whatever the answer said, the account says whether the user exists.
    let listed = client.find_email(base, email).await.ok().flatten();
    let Some(key) = user_key.or_else(|| listed.as_ref().and_then(|u| u.get("key").and_then(key_of))) else {
        lines.push(CheckStep::fail(
            "create",
            format!(
                "{email} was not created (an email conflict? it may have a GoTo identity elsewhere): name another email"
            ),
        ));
        return None;
    };
    lines.push(CheckStep::ok("create", format!("{email} created ({key})")));
    Some(Made { key, listed })
}

/// 3. Do user listings carry licenseKeys and adminRoles?
fn listings(listed: &Value) -> CheckStep {
    let shows = |f: &str| listed.get(f).is_some();
    CheckStep::ok(
        "user listings",
        match (shows("licenseKeys"), shows("adminRoles")) {
            (true, true) => "carry licenseKeys and adminRoles (no per-user reads needed)",
            (false, false) => {
                "omit licenseKeys and adminRoles (licenses come from /licenses; admin roles need a read per user)"
            }
            (true, false) => "carry licenseKeys, omit adminRoles",
            (false, true) => "omit licenseKeys, carry adminRoles",
        },
    )
}

/// 4. The allOrNothing default: the same email again, without the parameter.
async fn all_or_nothing_default(client: &Client, base: &str, email: &str) -> CheckStep {
    let again = json!({"users": [{"email": email}], "suppressEmail": true});
    let conflict =
        client.write(Method::POST, &format!("{base}/users"), Some(again), format!("add {email} again")).await;
    match conflict {
        Err(e) if e.status == Some(409) => CheckStep::ok(
            "allOrNothing default",
            "true: an email conflict answers 409 for the whole request (rollcall sends allOrNothing=false)",
        ),
        Ok(r) => {
            let entry = r
                .body
                .as_array()
                .into_iter()
                .flatten()
                .find(|u| u.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(email)));
            match entry {
                Some(u) if u.get("key").is_some() => CheckStep::ok(
                    "Add Users",
                    "Add Users returns existing users with their key (no conflict: the allOrNothing default does not show)",
                ),
                _ => CheckStep::ok(
                    "allOrNothing default",
                    "false: an email conflict is an entry without key, the rest of the request goes on",
                ),
            }
        }
        Err(e) => CheckStep::fail("allOrNothing default", e.message),
    }
}

/// 5. PUT licenseKeys []: does a PUT replace the user's list or merge into it?
async fn put_replaces_or_merges(
    client: &Client,
    base: &str,
    user_path: &str,
    email: &str,
    license: &Key,
    user_key: &Key,
) -> Result<CheckStep, CheckStep> {
    client
        .write(Method::PUT, user_path, Some(json!({"licenseKeys": []})), format!("PUT licenseKeys [] on {email}"))
        .await
        .map_err(|e| CheckStep::fail("PUT licenseKeys", e.message))?;
    let held = match client.call(Method::GET, user_path, None, format!("read {email}")).await {
        Ok(r) if r.body.get("licenseKeys").is_some() => Some(keys_of(r.body.get("licenseKeys")).contains(license)),
        Ok(_) => client.licenses(base).await.ok().map(|ls| {
            ls.iter().any(|l| {
                l.get("key").and_then(key_of).as_ref() == Some(license) && keys_of(l.get("userKeys")).contains(user_key)
            })
        }),
        Err(_) => None,
    };
    Ok(match held {
        Some(false) => CheckStep::ok(
            "PUT licenseKeys",
            "replaces: the list sent becomes the user's list (an empty list removed the license)",
        ),
        Some(true) => CheckStep::ok(
            "PUT licenseKeys",
            "merges: the license stayed after a PUT of an empty list (rollcall cannot take licenses away by PUT)",
        ),
        None => CheckStep::fail("PUT licenseKeys", "could not read the user back"),
    })
}

/// 6. Delete the test user, then delete it again: what does a DELETE of an unknown user answer?
async fn delete_twice(client: &Client, user_path: &str, email: &str) -> Result<CheckStep, CheckStep> {
    client
        .write(Method::DELETE, user_path, None, format!("delete {email}"))
        .await
        .map_err(|e| CheckStep::fail("DELETE", e.message))?;
    let second = client.write(Method::DELETE, user_path, None, format!("delete {email} again")).await;
    Ok(CheckStep::ok(
        "DELETE",
        match second {
            Ok(r) => format!("DELETE of a deleted user: HTTP {} (accepted)", r.status),
            Err(e) => format!(
                "DELETE of a deleted user: HTTP {} (rollcall settles any delete answered 5xx by reading the user back)",
                e.status.map_or("none".into(), |s| s.to_string())
            ),
        },
    ))
}

/// 7. The account is left as it was found: Err when the test user is still there.
async fn gone(client: &Client, base: &str, email: &str) -> Result<CheckStep, CheckStep> {
    match client.find_email(base, email).await {
        Ok(None) => Ok(CheckStep::ok("account", format!("as found: {email} is gone"))),
        Ok(Some(_)) => Err(CheckStep::fail("account", format!("{email} still exists after its delete"))),
        Err(e) => Ok(CheckStep::fail("account", e.message)),
    }
}
