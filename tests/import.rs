//! `rollcall import`: manifests that describe the account as it is (validate ok, plan empty),
//! from a snapshot, through a manifest's target, and from the GoTo emulator.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goto_emulator::{Config, Emulator};
use serde_json::Value;

const PAT: &str = "pat-import-test";
const CLIENT_SECRET: &str = "client-secret-import-test";

fn rollcall(cwd: &Path) -> Command {
    let mut c = crate::support::rollcall();
    c.current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("GOTO_ACCESS_TOKEN")
        .env_remove("GOTO_REFRESH_TOKEN")
        .env_remove("ROLLCALL_API_URL")
        .env_remove("ROLLCALL_TOKEN_URL")
        .env_remove("ROLLCALL_ACCOUNT_KEY");
    c
}

fn ok(o: Output) -> (String, String) {
    let (out, err) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    (out, err)
}

fn acme_live() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/live.json")).unwrap()
}

/// A temp dir holding a copy of examples/acme/live.json.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    std::fs::write(root.join("live.json"), acme_live()).unwrap();
    (tmp, root)
}

/// validate passes and plan is empty (exit 0 with --detailed-exitcode).
fn assert_describes_the_account(cwd: &Path, dir: &str, cmd: impl Fn() -> Command) {
    let (_, err) = ok(cmd().args(["validate", dir]).current_dir(cwd).output().unwrap());
    assert!(err.contains(": ok ("), "{err}");
    let (out, _) = ok(cmd().args(["plan", dir, "--detailed-exitcode"]).current_dir(cwd).output().unwrap());
    assert!(out.starts_with("No changes. The account matches the manifests."), "{out}");
}

#[test]
fn import_from_a_snapshot_then_validate_and_an_empty_plan() {
    let (_t, root) = workspace();
    let (_, err) =
        ok(rollcall(&root).args(["import", "--from-snapshot", "live.json", "--out", "imported"]).output().unwrap());
    assert!(err.contains("43 accounts"), "{err}");
    assert_describes_the_account(&root, "imported", || rollcall(&root));

    let manifest = std::fs::read_to_string(root.join("imported/rollcall.yaml")).unwrap();
    assert!(manifest.contains("  kind: file\n  path: \"../live.json\"\n"), "{manifest}");
    assert!(manifest.contains("matching: [key, email]"), "{manifest}");
    assert!(manifest.contains("scope:\n  domains: [\"acme.example\", \"labs.acme.example\"]"), "{manifest}");
    assert!(manifest.contains("  gotomeeting-business-manage-users:\n    licenses: [\"GoToMeeting Business\"]\n    admin_roles: [\"MANAGE_USERS\"]\n"), "{manifest}");
    let people = std::fs::read_to_string(root.join("imported/people.yaml")).unwrap();
    assert!(people.contains("  - userPrincipalName: \"alice.archer@acme.example\"\n    givenName: \"Alice\"\n    surname: \"Archer\"\n    locale: \"en_US\"\n    timeZone: \"Europe/Berlin\"\n    key: \"6581956508604418269\"\n"), "{people}");
}

#[test]
fn matching_by_key_survives_a_renamed_email() {
    let (_t, root) = workspace();
    ok(rollcall(&root).args(["import", "--from-snapshot", "live.json", "--out", "imported"]).output().unwrap());
    let people = root.join("imported/people.yaml");
    let text = std::fs::read_to_string(&people).unwrap();
    std::fs::write(&people, text.replace("alice.archer@acme.example", "alice.smith@acme.example")).unwrap();
    let (out, _) = ok(rollcall(&root).args(["plan", "imported"]).output().unwrap());
    assert!(out.contains("~ update alice.archer@acme.example"), "renamed in place, not created: {out}");
    assert!(out.contains("email: \"alice.archer@acme.example\" -> \"alice.smith@acme.example\""), "{out}");
    assert!(out.contains("Plan: 0 to create, 1 to update, 0 to disable, 0 to enable, 0 to delete."), "{out}");
}

#[test]
fn import_through_a_manifest_target_and_write_a_snapshot() {
    let (_t, root) = workspace();
    // The acme example's own manifest names live.json as its file target.
    let acme = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
    let copy = root.join("acme");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["rollcall.yaml", "people.yaml"] {
        std::fs::copy(acme.join(f), copy.join(f)).unwrap();
    }
    for d in ["people", "exports"] {
        std::fs::create_dir_all(copy.join(d)).unwrap();
        for e in std::fs::read_dir(acme.join(d)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), copy.join(d).join(e.file_name())).unwrap();
        }
    }
    std::fs::copy(root.join("live.json"), copy.join("live.json")).unwrap();
    ok(rollcall(&root).args(["import", "acme", "--out", "imported", "--snapshot", "snapshot.json"]).output().unwrap());
    let manifest = std::fs::read_to_string(root.join("imported/rollcall.yaml")).unwrap();
    assert!(manifest.contains("path: \"../acme/live.json\""), "{manifest}");
    assert_describes_the_account(&root, "imported", || rollcall(&root));

    // The snapshot holds the same account: the file target reads it as it reads the original.
    let read = |p: &Path| {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let mut live = rollcall::targets::file::live_state(&v).unwrap();
        live.accounts.sort_by(|a, b| a.key.cmp(&b.key));
        live
    };
    assert_eq!(read(&root.join("snapshot.json")), read(&root.join("live.json")));

    // A second import does not overwrite the first without --force.
    let o = rollcall(&root).args(["import", "acme", "--out", "imported"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"), "{}", String::from_utf8_lossy(&o.stderr));
    ok(rollcall(&root).args(["import", "acme", "--out", "imported", "--force"]).output().unwrap());
}

#[test]
fn import_needs_an_output() {
    let (_t, root) = workspace();
    let o = rollcall(&root).args(["import", "--from-snapshot", "live.json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out DIR"));
}

#[test]
fn import_from_the_goto_emulator_then_an_empty_plan_against_it() {
    let seed: Value = serde_json::from_str(&acme_live()).unwrap();
    let emu = Emulator::start(
        Some(seed),
        Config { pat: PAT.into(), client_secret: CLIENT_SECRET.into(), ..Config::default() },
    )
    .unwrap();
    let (_t, root) = workspace();
    let goto = || {
        let mut c = rollcall(&root);
        c.env("ROLLCALL_API_URL", emu.api_url())
            .env("ROLLCALL_TOKEN_URL", emu.token_url())
            .env("GOTO_CLIENT_ID", "rollcall-test")
            .env("GOTO_CLIENT_SECRET", CLIENT_SECRET)
            .env("GOTO_PAT", PAT);
        c
    };
    // No DIR: the goto target comes from the environment.
    let (_, err) = ok(goto().args(["import", "--out", "imported", "--snapshot", "snapshot.json"]).output().unwrap());
    assert!(err.contains("43 accounts"), "{err}");
    let manifest = std::fs::read_to_string(root.join("imported/rollcall.yaml")).unwrap();
    assert!(manifest.contains(&format!("  kind: goto\n  account_key: \"{}\"\n", emu.account_key())), "{manifest}");
    assert!(!manifest.contains("api_url"), "URLs from the environment stay in the environment: {manifest}");
    assert_describes_the_account(&root, "imported", goto);
    // And plan reads nothing it should not have: no secret in the manifests.
    let people = std::fs::read_to_string(root.join("imported/people.yaml")).unwrap();
    for secret in [PAT, CLIENT_SECRET] {
        assert!(!manifest.contains(secret) && !people.contains(secret));
    }
    let snap: Value = serde_json::from_str(&std::fs::read_to_string(root.join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(snap["users"].as_array().unwrap().len(), 43);
}
