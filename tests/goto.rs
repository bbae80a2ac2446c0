//! The real binary against the GoTo emulator: plan, apply, converge, under every setting of
//! the emulator's switches for what GoTo's documentation leaves open, and under faults.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goto_emulator::{Config, Emulator, GrantsVisibility, KeysAsNumbers, PutGrants};
use serde_json::Value;

use crate::support::copy_dir;

const PAT: &str = "pat-123-very-secret";
const CLIENT_SECRET: &str = "s3cret-client-very-secret";
const STATIC_TOKEN: &str = "at-static-very-secret";

fn config() -> Config {
    Config {
        pat: PAT.into(),
        client_secret: CLIENT_SECRET.into(),
        access_token: STATIC_TOKEN.into(),
        ..Config::default()
    }
}

fn acme_live() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/live.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// examples/acme with a goto target, in a temp dir.
struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    emu: Emulator,
}

impl Site {
    fn new(config: Config) -> Site {
        Site::seeded(acme_live(), config)
    }

    fn seeded(seed: Value, config: Config) -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("acme");
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme"), &dir);
        std::fs::remove_file(dir.join("live.json")).unwrap();
        let manifest = std::fs::read_to_string(dir.join("rollcall.yaml")).unwrap();
        // Tests run faster than GoTo's 10 requests/s; the fault test gives the emulator a limit.
        let manifest =
            manifest.replace("  kind: file\n  path: live.json\n", "  kind: goto\n  requests_per_second: 400\n");
        assert!(manifest.contains("kind: goto"), "the example's target block changed: update this test");
        std::fs::write(dir.join("rollcall.yaml"), manifest).unwrap();
        let emu = Emulator::start(Some(seed), config).unwrap();
        Site { _tmp: tmp, dir, emu }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = crate::support::rollcall();
        c.args(args)
            .current_dir(self.dir.parent().unwrap())
            .env_remove("GOTO_ACCESS_TOKEN")
            .env_remove("GOTO_REFRESH_TOKEN")
            .env_remove("NO_COLOR")
            .env("ROLLCALL_API_URL", self.emu.api_url())
            .env("ROLLCALL_TOKEN_URL", self.emu.token_url())
            .env("GOTO_CLIENT_ID", "rollcall-test")
            .env("GOTO_CLIENT_SECRET", CLIENT_SECRET)
            .env("GOTO_PAT", PAT);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn d(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn users(&self) -> Vec<Value> {
        self.emu.snapshot()["users"].as_array().unwrap().clone()
    }

    fn user(&self, email: &str) -> Option<Value> {
        self.users().into_iter().find(|u| u["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const FULL_APPLY: &str = "Apply complete: 3 created, 6 updated, 4 disabled, 0 enabled, 0 deleted, 0 failed.";

/// plan shows the example's changes, apply makes them, the next plan is empty.
fn converges(site: &Site) {
    let o = site.run(&["plan", site.d(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("Plan: 3 to create, 6 to update, 4 to disable, 0 to enable, 0 to delete."), "{}", out(&o));
    let o = site.run(&["apply", site.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains(FULL_APPLY), "{}", out(&o));
    let o = site.run(&["plan", site.d(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).starts_with("No changes."), "{}", out(&o));
}

#[test]
fn plan_apply_plan_converges_with_the_documented_defaults() {
    let site = Site::new(config());
    converges(&site);
    let n = site.emu.requests();
    // 3 creates with the same grants: one "Add Users" request.
    assert_eq!(n.create, 1, "{n:?}");
    // The nameLocked account was warned about, not changed.
    assert_eq!(
        site.user("julia.hoffmann@acme.example").unwrap()["lastName"],
        acme_live()["users"].as_array().unwrap().iter().find(|u| u["email"] == "julia.hoffmann@acme.example").unwrap()
            ["lastName"]
    );
}

#[test]
fn converges_under_each_setting_of_the_switches() {
    let settings: Vec<(&str, Config)> = vec![
        ("add_users_grants_existing", Config { add_users_grants_existing: true, ..config() }),
        ("grants_in_list=get_only", Config { grants_in_list: GrantsVisibility::GetOnly, ..config() }),
        ("grants_in_list=licenses_only", Config { grants_in_list: GrantsVisibility::LicensesOnly, ..config() }),
        ("keys_as_numbers=always", Config { keys_as_numbers: KeysAsNumbers::Always, ..config() }),
        ("keys_as_numbers=never", Config { keys_as_numbers: KeysAsNumbers::Never, ..config() }),
        ("per_user_license_keys", Config { per_user_license_keys: true, ..config() }),
        (
            "all together",
            Config {
                add_users_grants_existing: true,
                grants_in_list: GrantsVisibility::LicensesOnly,
                keys_as_numbers: KeysAsNumbers::Always,
                ..config()
            },
        ),
    ];
    for (name, c) in settings {
        eprintln!("switch: {name}");
        converges(&Site::new(c));
    }
}

#[test]
fn a_put_that_merges_cannot_remove_and_says_so() {
    // If GoTo merged licenseKeys on PUT, nothing could take a license away: rollcall must not
    // claim it did. The read-back reports each removal that did not take.
    let site = Site::new(Config { put_license_keys: PutGrants::Merge, ..config() });
    let o = site.run(&["apply", site.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("Apply complete: 3 created, 6 updated, 0 disabled, 0 enabled, 0 deleted, 4 failed."),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("was not removed"), "{}", out(&o));
}

#[test]
fn creates_of_people_who_already_exist_are_adopted() {
    // Someone was added by hand between plan and apply: "Add Users" returns them with their
    // key, and rollcall gives them their grants and names (whatever Add Users did for them).
    for grants_existing in [false, true] {
        let site = Site::new(Config { add_users_grants_existing: grants_existing, ..config() });
        let plan = site.dir.parent().unwrap().join("plan.json");
        assert_eq!(site.run(&["plan", site.d(), "--out", plan.to_str().unwrap()]).status.code(), Some(0));
        let mut snap = site.emu.snapshot();
        snap["users"].as_array_mut().unwrap().push(serde_json::json!({"key": "5550000000000000001", "email": "priya.nair@acme.example", "firstName": "P", "lastName": "N", "licenseKeys": [], "adminRoles": []}));
        site.emu.set_snapshot(snap);
        // The live account changed under a saved plan: refused as stale.
        let o = site.run(&["apply", plan.to_str().unwrap(), "--auto-approve"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(err(&o).contains("rollcall::stale-plan"), "{}", err(&o));
        // Applying the directory instead adopts her (the plan now updates her in place).
        let o = site.run(&["apply", site.d(), "--auto-approve"]);
        assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
        let priya = site.user("priya.nair@acme.example").unwrap();
        assert_eq!(priya["key"], "5550000000000000001", "not duplicated");
        assert_eq!(priya["firstName"], "Priya");
        assert_eq!(site.users().iter().filter(|u| u["email"] == "priya.nair@acme.example").count(), 1);
        assert_eq!(site.run(&["plan", site.d(), "--detailed-exitcode"]).status.code(), Some(0));
    }
}

#[test]
fn drift_made_in_the_account_shows_as_updates() {
    let site = Site::new(config());
    converges(&site);
    let mut snap = site.emu.snapshot();
    for u in snap["users"].as_array_mut().unwrap() {
        if u["email"] == "emma.thompson@acme.example" {
            u["lastName"] = Value::String("Thomsen".into());
        }
    }
    site.emu.set_snapshot(snap);
    let o = site.run(&["plan", site.d()]);
    assert!(
        out(&o).contains("~ update emma.thompson@acme.example\n      lastName: \"Thomsen\" -> \"Thompson\""),
        "{}",
        out(&o)
    );
}

#[test]
fn unassigned_people_are_disabled_or_deleted_as_policy_says() {
    let site = Site::new(config());
    converges(&site);
    // Hannah leaves the marketing group, her only assignment.
    let people = site.dir.join("people.yaml");
    let text = std::fs::read_to_string(&people).unwrap();
    assert!(text.contains("      - hannah.schmidt@acme.example\n"), "the example's marketing group has Hannah");
    std::fs::write(&people, text.replace("      - hannah.schmidt@acme.example\n", "")).unwrap();
    let o = site.run(&["plan", site.d()]);
    assert!(out(&o).contains("- disable hannah.schmidt@acme.example   (no longer assigned)"), "{}{}", out(&o), err(&o));
    assert_eq!(site.run(&["apply", site.d(), "--auto-approve"]).status.code(), Some(0));
    let h = site.user("hannah.schmidt@acme.example").expect("disable keeps the account");
    assert!(h["licenseKeys"].as_array().is_none_or(|l| l.is_empty()), "{h}");
    // on_unassign: delete
    let manifest = site.dir.join("rollcall.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("on_unassign: disable", "on_unassign: delete");
    std::fs::write(&manifest, text).unwrap();
    let o = site.run(&["apply", site.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("deleted"), "{}", out(&o));
    assert!(site.user("hannah.schmidt@acme.example").is_none(), "deleted");
    assert_eq!(site.run(&["plan", site.d(), "--detailed-exitcode"]).status.code(), Some(0));
}

#[test]
fn a_resumed_apply_finishes_the_reviewed_plan() {
    let site = Site::new(config());
    let plan = site.dir.parent().unwrap().join("plan.json");
    assert_eq!(site.run(&["plan", site.d(), "--out", plan.to_str().unwrap()]).status.code(), Some(0));
    let o = site.run(&[
        "apply",
        site.d(),
        "--only",
        "priya.nair@acme.example",
        "--only",
        "emma.thompson@acme.example",
        "--auto-approve",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = site.run(&["apply", plan.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(err(&o).contains("Resuming: 2 of the plan's 13 actions"), "{}", err(&o));
    assert_eq!(site.run(&["plan", site.d(), "--detailed-exitcode"]).status.code(), Some(0));
}

#[test]
fn paging_over_several_pages_gives_the_same_plan() {
    let site = Site::new(Config { max_page_size: 5, ..config() });
    let o = site.run(&["plan", site.d(), "--format", "json"]);
    let paged: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(site.emu.requests().list_users >= 9, "{:?}", site.emu.requests());
    let whole = Site::new(config());
    let o = whole.run(&["plan", whole.d(), "--format", "json"]);
    let unpaged: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(paged["actions"], unpaged["actions"]);
    converges(&site);
}

#[test]
fn keys_beyond_2_pow_53_round_trip() {
    let site =
        Site::new(Config { keys_as_numbers: KeysAsNumbers::Always, new_key_prefix: "98765432109".into(), ..config() });
    converges(&site);
    let priya = site.user("priya.nair@acme.example").unwrap();
    let key = priya["key"].to_string().trim_matches('"').to_owned();
    assert!(key.len() > 19, "a key beyond 64 bits: {key}");
    // Disable her by hand-editing the directory is heavy; instead check the plan JSON carries the exact key.
    let mut snap = site.emu.snapshot();
    for u in snap["users"].as_array_mut().unwrap() {
        if u["email"] == "priya.nair@acme.example" {
            u["firstName"] = Value::String("Pri".into());
        }
    }
    site.emu.set_snapshot(snap);
    let o = site.run(&["plan", site.d(), "--format", "json"]);
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    let action = plan["actions"].as_array().unwrap().iter().find(|a| a["email"] == "priya.nair@acme.example").unwrap();
    assert_eq!(action["key"].as_str().unwrap(), key, "digits kept exactly");
    assert_eq!(site.run(&["apply", site.d(), "--auto-approve"]).status.code(), Some(0));
    assert_eq!(site.user("priya.nair@acme.example").unwrap()["firstName"], "Priya");
}

#[test]
fn apply_converges_under_5xx_dropped_connections_and_a_rate_limit() {
    let mut c = config();
    c.faults.seed = 7;
    c.faults.error_rate = 0.2;
    c.faults.drop_after_write = 0.2;
    c.faults.rate_limit_per_second = Some(10);
    c.faults.retry_after = true;
    let site = Site::new(c);
    let before = site.users().len();
    let o = site.run(&["apply", site.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains(FULL_APPLY), "{}", out(&o));
    let users = site.users();
    assert_eq!(users.len(), before + 3, "3 created, none duplicated or lost");
    let emails: std::collections::BTreeSet<String> =
        users.iter().map(|u| u["email"].as_str().unwrap().to_lowercase()).collect();
    assert_eq!(emails.len(), users.len(), "no duplicate accounts");
    let n = site.emu.requests();
    assert!(n.total > 0);
    // Faults off for the check that nothing is left to do.
    site.emu.set_config(config());
    assert_eq!(site.run(&["plan", site.d(), "--detailed-exitcode"]).status.code(), Some(0));
}

#[test]
fn secrets_never_appear_in_output_plan_files_or_audit_logs() {
    let site = Site::new(config());
    let plan = site.dir.parent().unwrap().join("plan.json");
    let audit = site.dir.parent().unwrap().join("audit.jsonl");
    let mut seen = String::new();
    for args in [
        vec!["check", site.d()],
        vec!["-v", "plan", site.d(), "--out", plan.to_str().unwrap()],
        vec!["apply", plan.to_str().unwrap(), "--auto-approve", "--audit-log", audit.to_str().unwrap()],
    ] {
        let o = site.run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}{}", out(&o), err(&o));
        seen.push_str(&out(&o));
        seen.push_str(&err(&o));
    }
    assert!(seen.contains(&format!("GET {}/me -> 200", site.emu.api_url())), "-v logs requests: {seen}");
    assert!(seen.contains("POST ") && seen.contains("/oauth/token -> 200"), "{seen}");
    // A static token, and credentials that are refused (error paths print more).
    let o = site.cmd(&["plan", site.d()]).env("GOTO_ACCESS_TOKEN", STATIC_TOKEN).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    seen.push_str(&out(&o));
    seen.push_str(&err(&o));
    let o = site.cmd(&["plan", site.d()]).env("GOTO_PAT", "wrong-pat-also-secret").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("401"), "{}", err(&o));
    seen.push_str(&out(&o));
    seen.push_str(&err(&o));
    seen.push_str(&std::fs::read_to_string(&plan).unwrap());
    seen.push_str(&std::fs::read_to_string(&audit).unwrap());
    for secret in [PAT, CLIENT_SECRET, STATIC_TOKEN, "wrong-pat-also-secret"] {
        assert!(!seen.contains(secret), "{secret} leaked");
    }
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let site = Site::new(config());
    let o =
        site.cmd(&["plan", site.d()]).env("ROLLCALL_API_URL", "http://api.example.com/admin/rest/v1").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("rollcall::insecure-url"), "{}", err(&o));
    assert_eq!(site.emu.requests().total, 0, "nothing sent anywhere");
}

#[test]
fn several_accounts_and_no_key_is_an_error_listing_them() {
    let mut c = config();
    c.extra_accounts = vec![goto_emulator::AccountRef { key: "1111".into(), name: "Other".into() }];
    let site = Site::new(c);
    let o = site.run(&["plan", site.d()]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(
        e.contains("4152318826743922179 (Acme)") && e.contains("1111 (Other)") && e.contains("ROLLCALL_ACCOUNT_KEY"),
        "{e}"
    );
    let o = site.cmd(&["plan", site.d()]).env("ROLLCALL_ACCOUNT_KEY", "4152318826743922179").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

/// examples/acme with GoToMeeting Business given `seats` seats (it has 42 holders).
fn with_business_seats(seats: usize) -> Site {
    let mut seed = acme_live();
    for l in seed["licenses"].as_array_mut().unwrap() {
        if l["description"] == "GoToMeeting Business" {
            assert_eq!(l["userKeys"].as_array().map_or(0, Vec::len), 42, "the example changed: update this test");
            l["seats"] = serde_json::json!(seats);
        }
    }
    Site::seeded(seed, config())
}

#[test]
fn removals_free_seats_before_creates_need_them() {
    // Every seat is taken; the plan frees 4 and takes 3: GoTo accepts it only in that order.
    let site = with_business_seats(42);
    let o = site.run(&["plan", site.d()]);
    assert_eq!(o.status.code(), Some(0), "not blocked: {}", out(&o));
    let o = site.run(&["apply", site.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains(FULL_APPLY), "{}", out(&o));
}

#[test]
fn a_refused_write_is_reported_with_gotos_code_and_incident_id_and_the_rest_goes_on() {
    // Over its seats already (42 holders, 39 seats): the plan makes it no better (41 after it),
    // so it is blocked; applied anyway, GoTo refuses the batch of 3 creates (38 + 3 > 39) and
    // everything else still happens.
    let site = with_business_seats(39);
    let audit = site.dir.parent().unwrap().join("audit.jsonl");
    let o = site.run(&["apply", site.d(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(3), "a blocked plan: {}{}", out(&o), err(&o));
    assert!(err(&o).contains("rollcall::seats-exceeded"), "{}", err(&o));
    let o =
        site.run(&["apply", site.d(), "--auto-approve", "--allow-over-seats", "--audit-log", audit.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    let report = out(&o);
    assert!(
        report.contains("Apply complete: 0 created, 6 updated, 4 disabled, 0 enabled, 0 deleted, 3 failed."),
        "{report}"
    );
    assert!(
        report.contains("license.seats.exceeded") && report.contains("HTTP 409") && report.contains("incident"),
        "{report}"
    );
    let lines: Vec<Value> =
        std::fs::read_to_string(&audit).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let failed: Vec<&Value> = lines.iter().filter(|l| l["rollcall.outcome"] == "failed").collect();
    assert_eq!(failed.len(), 3);
    for l in failed {
        assert_eq!(l["event.action"], "create");
        assert_eq!(l["event.outcome"], "failure");
        assert_eq!(l["http.response.status_code"], 409);
        assert!(l["error.id"].as_str().is_some_and(|i| !i.is_empty()), "{l}");
    }
}
