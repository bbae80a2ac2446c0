//! `rollcall check --probe EMAIL [--record DIR]`: on a real account, with a test user the
//! administrator names, makes and reverts the smallest changes that settle what GoTo's
//! documentation leaves open, and reports what it saw. `--record` saves every HTTP exchange,
//! secrets redacted, for the administrator to send to rollcall's maintainers.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use super::{GotoTarget, Settings, auth, key_of};
use crate::live::Key;

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

type Lines = Vec<(String, Result<String, String>)>;

/// Runs the probe; every step a line, ok or what went wrong.
pub fn run(settings: Settings, grant: auth::Credentials, email: &str, record: Option<&Path>) -> Lines {
    let mut lines = Vec::new();
    let target = match GotoTarget::new(settings, grant) {
        Ok(t) => t,
        Err(p) => return vec![("setup".into(), Err(p.message))],
    };
    if record.is_some() {
        target.client.http.start_recording();
    }
    let created = target.rt.block_on(steps(&target, email, &mut lines));
    if let Some((base, key)) = created {
        // A step failed after the test user was made: it is removed all the same.
        let r = target.rt.block_on(target.client.write(
            Method::DELETE,
            &format!("{base}/users/{key}"),
            None,
            format!("delete {email} (clean-up)"),
        ));
        lines.push((
            "clean-up".into(),
            r.map(|_| format!("{email} deleted"))
                .map_err(|e| format!("{email} could not be deleted: {e}: delete it by hand")),
        ));
    }
    if let Some(dir) = record {
        let saved = (|| -> std::io::Result<usize> {
            std::fs::create_dir_all(dir)?;
            let exchanges = target.client.http.recorded();
            for (n, x) in exchanges.iter().enumerate() {
                let what: String = x["what"]
                    .as_str()
                    .unwrap_or("exchange")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
                    .collect();
                let text = serde_json::to_string_pretty(x).unwrap_or_default();
                std::fs::write(dir.join(format!("{:03}-{}.json", n + 1, what.trim_matches('-'))), text + "\n")?;
            }
            Ok(exchanges.len())
        })();
        lines.push((
            "record".into(),
            saved
                .map(|n| format!("{n} exchanges saved in {} (secrets redacted)", dir.display()))
                .map_err(|e| format!("cannot write {}: {e}", dir.display())),
        ));
    }
    lines
}

/// The steps; returns the test user's key when it still exists (a step failed after creating it).
async fn steps(target: &GotoTarget, email: &str, lines: &mut Lines) -> Option<(String, Key)> {
    let client = &target.client;
    if let Err(e) = client.tokens.token(&client.http).await {
        lines.push(("credentials".into(), Err(e.message)));
        return None;
    }
    let answer = client.tokens.answer();
    lines.push((
        "token answers".into(),
        Ok(match (&answer.scope, answer.refresh_token) {
            (None, false) => "no token exchange (GOTO_ACCESS_TOKEN) or no scope and no refresh_token".to_owned(),
            (scope, rt) => format!(
                "{} (scope: {})",
                if rt { "carry a refresh_token" } else { "no refresh_token" },
                scope.as_deref().unwrap_or("not named")
            ),
        }),
    ));
    let me = match target.me().await {
        Ok(me) => me,
        Err(p) => {
            lines.push(("/me".into(), Err(p.message)));
            return None;
        }
    };
    let (key, _) = match target.resolve_account(&me) {
        Ok(a) => a,
        Err(p) => {
            lines.push(("account".into(), Err(p.message)));
            return None;
        }
    };
    let base = format!("/accounts/{key}");
    match client
        .call(Method::GET, &format!("{base}/licenses?offset=0&pageSize=1000"), None, "list licenses paged".into())
        .await
    {
        Ok(_) => lines.push(("licenses".into(), Ok("paged (offset and pageSize accepted)".into()))),
        Err(e) if e.status.is_some_and(|s| (400..500).contains(&s)) => lines.push((
            "licenses".into(),
            Ok(format!(
                "unpaged (offset/pageSize refused: HTTP {}; rollcall asks without them)",
                e.status.unwrap_or(0)
            )),
        )),
        Err(e) => lines.push(("licenses".into(), Err(e.message))),
    }
    let licenses = match client.licenses(&base).await {
        Ok(l) => l,
        Err(e) => {
            lines.push(("licenses".into(), Err(e.message)));
            return None;
        }
    };
    let free = licenses.iter().find(|l| {
        let used = l.get("userKeys").and_then(Value::as_array).map_or(0, Vec::len) as u64;
        l.get("seats").and_then(Value::as_u64).is_none_or(|s| used < s)
    });
    let Some(license) = free.and_then(|l| l.get("key").and_then(key_of)) else {
        lines.push(("licenses".into(), Err("no license has a free seat for the test user".into())));
        return None;
    };
    match client.find_email(&base, email).await {
        Ok(None) => {}
        Ok(Some(_)) => {
            lines.push((
                "test user".into(),
                Err(format!(
                    "{email} already has a user in this account: refusing (the probe creates and deletes its test user; name an email that has no GoTo user)"
                )),
            ));
            return None;
        }
        Err(e) => {
            lines.push(("test user".into(), Err(e.message)));
            return None;
        }
    }

    // 2. Create.
    let body = json!({
        "users": [{"email": email, "firstName": "Rollcall", "lastName": "Probe"}],
        "licenseKeys": [super::key_json(&license)],
        "suppressEmail": true,
    });
    let created = client
        .write(Method::POST, &format!("{base}/users?allOrNothing=false"), Some(body), format!("create {email}"))
        .await;
    let user_key = match created {
        Ok(r) => r.body.as_array().into_iter().flatten().find_map(|u| u.get("key").and_then(key_of)),
        Err(e) => {
            lines.push(("create".into(), Err(e.message)));
            None
        }
    };
    // Whatever the answer said, the account says whether the user exists.
    let found = client.find_email(&base, email).await.ok().flatten();
    let user_key = user_key.or_else(|| found.as_ref().and_then(|u| u.get("key").and_then(key_of)));
    let Some(user_key) = user_key else {
        lines.push((
            "create".into(),
            Err(format!(
                "{email} was not created (an email conflict? it may have a GoTo identity elsewhere): name another email"
            )),
        ));
        return None;
    };
    lines.push(("create".into(), Ok(format!("{email} created ({user_key})"))));

    // 3. Listings.
    let listed = match found {
        Some(u) => u,
        None => {
            lines.push(("user listings".into(), Err(format!("{email} is not in the user list after its create"))));
            return Some((base, user_key));
        }
    };
    let shows = |f: &str| listed.get(f).is_some();
    lines.push((
        "user listings".into(),
        Ok(match (shows("licenseKeys"), shows("adminRoles")) {
            (true, true) => "carry licenseKeys and adminRoles (no per-user reads needed)".to_owned(),
            (false, false) => {
                "omit licenseKeys and adminRoles (licenses come from /licenses; admin roles need a read per user)"
                    .to_owned()
            }
            (true, false) => "carry licenseKeys, omit adminRoles".to_owned(),
            (false, true) => "omit licenseKeys, carry adminRoles".to_owned(),
        }),
    ));

    // 4. The allOrNothing default: the same email again, without the parameter.
    let again = json!({"users": [{"email": email}], "suppressEmail": true});
    let conflict =
        client.write(Method::POST, &format!("{base}/users"), Some(again), format!("add {email} again")).await;
    lines.push(match conflict {
        Err(e) if e.status == Some(409) => (
            "allOrNothing default".into(),
            Ok("true: an email conflict answers 409 for the whole request (rollcall sends allOrNothing=false)".into()),
        ),
        Ok(r) => {
            let entry = r.body.as_array().into_iter().flatten().find(|u| {
                u.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(email))
            });
            match entry {
                Some(u) if u.get("key").is_some() => (
                    "Add Users".into(),
                    Ok("Add Users returns existing users with their key (no conflict: the allOrNothing default does not show)".into()),
                ),
                _ => (
                    "allOrNothing default".into(),
                    Ok("false: an email conflict is an entry without key, the rest of the request goes on".into()),
                ),
            }
        }
        Err(e) => ("allOrNothing default".into(), Err(e.message)),
    });

    // 5. PUT licenseKeys: replace or merge.
    let user_path = format!("{base}/users/{user_key}");
    if let Err(e) = client
        .write(Method::PUT, &user_path, Some(json!({"licenseKeys": []})), format!("PUT licenseKeys [] on {email}"))
        .await
    {
        lines.push(("PUT licenseKeys".into(), Err(e.message)));
        return Some((base, user_key));
    }
    let held = match client.call(Method::GET, &user_path, None, format!("read {email}")).await {
        Ok(r) if r.body.get("licenseKeys").is_some() => {
            Some(super::super::shapes::keys_of(r.body.get("licenseKeys")).contains(&license))
        }
        Ok(_) => client.licenses(&base).await.ok().map(|ls| {
            ls.iter().any(|l| {
                l.get("key").and_then(key_of).as_ref() == Some(&license)
                    && super::super::shapes::keys_of(l.get("userKeys")).contains(&user_key)
            })
        }),
        Err(_) => None,
    };
    lines.push((
        "PUT licenseKeys".into(),
        match held {
            Some(false) => {
                Ok("replaces: the list sent becomes the user's list (an empty list removed the license)".into())
            }
            Some(true) => Ok(
                "merges: the license stayed after a PUT of an empty list (rollcall cannot take licenses away by PUT)"
                    .into(),
            ),
            None => Err("could not read the user back".into()),
        },
    ));

    // 6. DELETE twice.
    if let Err(e) = client.write(Method::DELETE, &user_path, None, format!("delete {email}")).await {
        lines.push(("DELETE".into(), Err(e.message)));
        return Some((base, user_key));
    }
    let second = client.write(Method::DELETE, &user_path, None, format!("delete {email} again")).await;
    lines.push((
        "DELETE".into(),
        Ok(match second {
            Ok(r) => format!("DELETE of a deleted user: HTTP {} (accepted)", r.status),
            Err(e) => format!(
                "DELETE of a deleted user: HTTP {} (rollcall settles any delete answered 5xx by reading the user back)",
                e.status.map_or("none".into(), |s| s.to_string())
            ),
        }),
    ));

    // 7. Gone?
    match client.find_email(&base, email).await {
        Ok(None) => lines.push(("account".into(), Ok(format!("as found: {email} is gone")))),
        Ok(Some(_)) => {
            lines.push(("account".into(), Err(format!("{email} still exists after its delete"))));
            return Some((base, user_key));
        }
        Err(e) => lines.push(("account".into(), Err(e.message))),
    }
    None
}
