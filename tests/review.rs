//! Review integrity, tried as an attacker would: what a reviewer approved is exactly what
//! happens. A plan file cannot choose its manifests, hostile values cannot hide actions from
//! the reviewer, directory paths stay in the manifest folder, servers cannot make rollcall
//! print or send its secrets, and SIGTERM stops an apply the way SIGINT does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::emulated::{CLIENT_SECRET, PAT, Site, World, action_set, err, out, report_line};
use crate::support::copy_dir;

fn rollcall(cwd: &Path) -> Command {
    let mut c = crate::support::rollcall();
    c.current_dir(cwd).env("NO_COLOR", "1").env("ROLLCALL_TEST", "1");
    c
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    rollcall(cwd).args(args).output().expect("rollcall runs")
}

fn acme_into(dest: &Path) {
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme"), dest);
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} does not contain {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// A reviewed checkout and, beside it, a folder an attacker controls whose manifests delete
/// the accounts of the reviewed checkout's target.
struct Attack {
    tmp: tempfile::TempDir,
    reviewed: PathBuf,
    evil: PathBuf,
    plan: PathBuf,
}

impl Attack {
    fn new() -> Attack {
        let tmp = tempfile::tempdir().unwrap();
        let (reviewed, evil) = (tmp.path().join("reviewed"), tmp.path().join("evil"));
        acme_into(&reviewed);
        acme_into(&evil);
        std::fs::remove_file(evil.join("live.json")).unwrap();
        edit(&evil.join("rollcall.yaml"), "path: live.json", "path: ../reviewed/live.json");
        edit(&evil.join("rollcall.yaml"), "on_unassign: disable", "on_unassign: delete");
        let plan = tmp.path().join("plan.json");
        let o = run(&evil, &["plan", ".", "--out", plan.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        assert!(out(&o).contains("to delete"), "{}", out(&o));
        Attack { tmp, reviewed, evil, plan }
    }

    fn tamper(&self, f: impl FnOnce(&mut Value)) {
        let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&self.plan).unwrap()).unwrap();
        f(&mut doc);
        std::fs::write(&self.plan, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }

    fn live(&self) -> Vec<u8> {
        std::fs::read(self.reviewed.join("live.json")).unwrap()
    }

    /// `apply PLAN --auto-approve ARGS` from the reviewed checkout: refused, with `code`,
    /// and the account byte-identical.
    fn assert_refused(&self, extra: &[&str], code: &str) -> String {
        let before = self.live();
        let mut args = vec!["apply", self.plan.to_str().unwrap(), "--auto-approve"];
        args.extend_from_slice(extra);
        let o = run(&self.reviewed, &args);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: not refused\n{}{}", out(&o), err(&o));
        assert!(err(&o).contains(code), "{extra:?}: expected {code}\n{}", err(&o));
        assert_eq!(before, self.live(), "{extra:?}: the account changed");
        err(&o)
    }
}

#[test]
fn a_plan_whose_manifest_dir_is_absolute_or_leaves_the_root_is_refused() {
    let a = Attack::new();
    let evil = a.evil.to_str().unwrap().to_owned();
    a.tamper(|d| d["manifest_dir"] = Value::String(evil.clone()));
    let e = a.assert_refused(&[], "rollcall::plan-dir");
    assert!(e.contains("is absolute"), "{e}");
    a.tamper(|d| d["manifest_dir"] = Value::String("../evil".into()));
    let e = a.assert_refused(&[], "rollcall::plan-dir");
    assert!(e.contains("outside the root"), "{e}");
}

#[test]
fn with_dir_a_plan_made_for_another_directory_is_refused() {
    let a = Attack::new();
    // The plan, made from the parent folder, records `evil`.
    let o = run(a.tmp.path(), &["plan", "evil", "--out", a.plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&a.plan).unwrap()).unwrap();
    assert_eq!(saved["manifest_dir"], "evil");
    let e = a.assert_refused(&["--dir", a.reviewed.to_str().unwrap()], "rollcall::plan-dir");
    assert!(e.contains("made for the manifests in `evil`"), "{e}");
}

#[test]
fn a_plan_for_a_folder_outside_the_root_applies_only_with_dir_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (elsewhere, srv) = (tmp.path().join("elsewhere"), tmp.path().join("srv/manifests"));
    std::fs::create_dir_all(&elsewhere).unwrap();
    acme_into(&srv);
    let plan = tmp.path().join("plan.json");
    let o = run(&elsewhere, &["plan", srv.to_str().unwrap(), "--out", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let recorded = saved["manifest_dir"].as_str().unwrap().to_owned();
    assert!(Path::new(&recorded).is_absolute(), "{recorded}");
    let before = std::fs::read(srv.join("live.json")).unwrap();
    let o = run(&elsewhere, &["apply", plan.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(err(&o).contains("rollcall::plan-dir"), "{}", err(&o));
    assert_eq!(before, std::fs::read(srv.join("live.json")).unwrap());
    let o = run(&elsewhere, &["apply", plan.to_str().unwrap(), "--auto-approve", "--dir", srv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let first = out(&o).lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("Applying the manifests in") && first.contains(&recorded), "{first}");
}

#[test]
fn the_apply_report_first_names_the_directory_and_the_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    acme_into(&repo.join("org"));
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t.example", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", err(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "acme"]);
    let commit = git(&["rev-parse", "HEAD"]);
    let plan = tmp.path().join("plan.json");
    let o = run(&repo.join("org"), &["plan", ".", "--out", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["manifest_dir"], "org", "relative to the repository root");
    // Applied from anywhere in the work tree, against the repository root.
    let o = run(&repo, &["apply", plan.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let first = out(&o).lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("Applying the manifests in org "), "{first}");
    assert!(first.contains(&commit), "{first}");
}

#[test]
fn only_with_a_plan_file_is_an_error_that_says_why() {
    let a = Attack::new();
    let o = run(a.tmp.path(), &["plan", "reviewed", "--out", a.plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let before = a.live();
    let o =
        run(a.tmp.path(), &["apply", a.plan.to_str().unwrap(), "--auto-approve", "--only", "ben.taylor@acme.example"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(err(&o).contains("rollcall::only-with-plan-file"), "{}", err(&o));
    assert!(err(&o).contains("--only cannot narrow a saved plan"), "{}", err(&o));
    assert_eq!(before, a.live());
}

#[test]
fn malformed_plan_fields_are_diagnostics_not_panics() {
    let a = Attack::new();
    let o = run(a.tmp.path(), &["plan", "reviewed", "--out", a.plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let original = std::fs::read_to_string(&a.plan).unwrap();
    type Tamper = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("non-ASCII digest", Box::new(|d| d["manifest_digest"] = format!("sha256:x{}", "é".repeat(40)).into())),
        ("short digest", Box::new(|d| d["live_digest"] = "sha256:abc".into())),
        ("commit with an escape", Box::new(|d| d["git"] = serde_json::json!({"commit": "\u{1b}[2J", "dirty": false}))),
        ("summary that lies", Box::new(|d| d["summary"]["disable"] = 0.into())),
        ("unknown target kind", Box::new(|d| d["target"]["kind"] = "ftp".into())),
        ("only that is not an email", Box::new(|d| d["only"] = serde_json::json!(["x\n```"]))),
        ("empty manifest_dir", Box::new(|d| d["manifest_dir"] = "".into())),
    ];
    for (what, f) in cases {
        let mut doc: Value = serde_json::from_str(&original).unwrap();
        f(&mut doc);
        std::fs::write(&a.plan, serde_json::to_string(&doc).unwrap()).unwrap();
        let before = a.live();
        for args in [vec!["apply", a.plan.to_str().unwrap(), "--auto-approve"], vec!["show", a.plan.to_str().unwrap()]]
        {
            let o = run(a.tmp.path(), &args);
            assert_eq!(o.status.code(), Some(1), "{what}: {args:?}\n{}{}", out(&o), err(&o));
            assert!(err(&o).contains("rollcall::plan-file"), "{what}: {}", err(&o));
            assert!(!err(&o).contains('\u{1b}') && !out(&o).contains('\u{1b}'), "{what}: raw escape printed");
        }
        assert_eq!(before, a.live(), "{what}");
    }
}

/// Hostile text a directory export or a live account may carry.
const HOSTILE: &[&str] = &[
    "x\n```\n</details>\n<!--",
    "\u{1b}[2J\u{1b}[1;1H  + create fake@acme.example",
    "\u{202e}moc.elpmaxe.emca@nimda",
    "a`b``c```d````e",
    "<!-- hidden",
    "</details><details><summary>",
    "line\r\n  - delete boss@acme.example",
];

fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn hostile_emails_in_the_directory_are_refused_with_a_diagnostic_at_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    acme_into(&dir);
    let mut yaml = String::from("users:\n");
    let mut members = Vec::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        let upn = format!("{h}{i}@acme.example");
        yaml.push_str(&format!("  - {{userPrincipalName: {}, givenName: Eve, surname: Hostile}}\n", yaml_quote(&upn)));
        members.push(yaml_quote(&upn));
    }
    yaml.push_str(&format!("groups:\n  hostile:\n    members: [{}]\n", members.join(", ")));
    std::fs::write(dir.join("people/hostile.yaml"), yaml).unwrap();
    edit(&dir.join("rollcall.yaml"), "assignments:\n", "assignments:\n  - { group: hostile, role: admin }\n");
    for format in ["text", "markdown"] {
        let o = run(tmp.path(), &["plan", "acme", "--format", format]);
        assert_eq!(o.status.code(), Some(1), "{format}: hostile emails planned\n{}", out(&o));
        let e = err(&o);
        assert_eq!(e.matches("rollcall::invalid-email").count(), HOSTILE.len(), "{e}");
        assert!(e.contains("people/hostile.yaml:2:"), "{e}");
        assert!(!e.contains('\u{1b}') && !e.contains('\u{202e}'), "the diagnostic escapes what it quotes: {e}");
        assert!(out(&o).is_empty(), "no plan: {}", out(&o));
    }
}

/// The action lines of a text plan.
fn action_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            let l = l.trim_start_matches("  ");
            ["+ create ", "~ update ", "- disable ", "+ enable ", "- delete "].iter().any(|p| l.starts_with(p))
        })
        .count()
}

#[test]
fn hostile_names_and_live_emails_leave_every_action_visible_in_text_and_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    acme_into(&dir);
    // New people with hostile names: creates.
    let mut yaml = String::from("users:\n");
    let mut members = Vec::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        let upn = format!("new{i}@acme.example");
        yaml.push_str(&format!(
            "  - {{userPrincipalName: {upn}, givenName: {}, surname: {}}}\n",
            yaml_quote(h),
            yaml_quote(h)
        ));
        members.push(upn);
    }
    yaml.push_str(&format!("groups:\n  newcomers:\n    members: [{}]\n", members.join(", ")));
    std::fs::write(dir.join("people/newcomers.yaml"), yaml).unwrap();
    edit(&dir.join("rollcall.yaml"), "assignments:\n", "assignments:\n  - { group: newcomers, role: admin }\n");
    edit(&dir.join("rollcall.yaml"), "count: 10, percent: 15", "count: 100, percent: 100");
    // Live accounts nobody wants any more, with hostile emails and names: disables.
    let mut live: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("live.json")).unwrap()).unwrap();
    let template = live["users"][0].clone();
    for (i, h) in HOSTILE.iter().enumerate() {
        let mut u = template.clone();
        u["key"] = format!("99{i:017}").into();
        u["email"] = format!("{h}{i}@acme.example").into();
        u["firstName"] = (*h).into();
        // A grant no role names: the plan lists it, with the hostile email, as unmanaged.
        u["adminRoles"] = serde_json::json!(["MANAGE_SEATS"]);
        live["users"].as_array_mut().unwrap().push(u);
    }
    std::fs::write(dir.join("live.json"), serde_json::to_string_pretty(&live).unwrap()).unwrap();

    let o = run(tmp.path(), &["plan", "acme", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let total = doc["actions"].as_array().unwrap().len();
    let removals = (doc["summary"]["disable"].as_u64().unwrap() + doc["summary"]["delete"].as_u64().unwrap()) as usize;
    assert!(total >= 2 * HOSTILE.len(), "{total} actions");

    let o = run(tmp.path(), &["plan", "acme"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(!text.contains(['\u{1b}', '\u{202e}', '\r']), "raw control or bidi characters in the text plan");
    assert_eq!(action_lines(&text), total, "every action, and nothing else, on an action line:\n{text}");

    let o = run(tmp.path(), &["plan", "acme", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let md = out(&o);
    assert!(!md.contains(['\u{1b}', '\u{202e}', '\r']), "raw control or bidi characters in the markdown plan");
    // The full plan's fence closes only where rollcall closes it, after every action.
    let lines: Vec<&str> = md.lines().collect();
    let open = lines.iter().position(|l| l.starts_with("```") && l.ends_with("diff")).expect("a fenced plan");
    let ticks = lines[open].len() - "diff".len();
    let close = open
        + 1
        + lines[open + 1..]
            .iter()
            .position(|l| l.trim_end().len() >= ticks && l.trim_end().chars().all(|c| c == '`'))
            .expect("a closing fence");
    assert_eq!(action_lines(&lines[open + 1..close].join("\n")), total, "{md}");
    assert_eq!(lines[close + 1..].join("\n").trim(), "</details>", "{md}");
    // Outside the fence: every removal on its own list line, and nothing that opens HTML.
    let before = lines[..open].join("\n");
    assert_eq!(
        before.lines().filter(|l| l.starts_with("- **disable**") || l.starts_with("- **delete**")).count(),
        removals
    );
    let outside_code: String = before
        .lines()
        // rollcall's own folds: the full plan and the list of unmanaged grants.
        .filter(|l| {
            *l != "<details><summary>Full plan</summary>"
                && *l != "</details>"
                && !(l.starts_with("<details><summary>Unmanaged grants (")
                    && l.ends_with("): no role names them, rollcall leaves them alone</summary>"))
        })
        .map(without_code_spans)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!outside_code.contains('<'), "HTML outside code spans: {outside_code}");
}

/// A markdown line with its code spans removed, as CommonMark finds them: a run of n
/// backticks up to the next run of exactly n.
fn without_code_spans(line: &str) -> String {
    let runs: Vec<(usize, usize)> = {
        let (mut runs, mut i, b) = (Vec::new(), 0, line.as_bytes());
        while i < b.len() {
            if b[i] == b'`' {
                let start = i;
                while i < b.len() && b[i] == b'`' {
                    i += 1;
                }
                runs.push((start, i - start));
            } else {
                i += 1;
            }
        }
        runs
    };
    let (mut out, mut at, mut r) = (String::new(), 0, 0);
    while r < runs.len() {
        let (start, n) = runs[r];
        match runs[r + 1..].iter().position(|&(_, m)| m == n) {
            Some(k) => {
                let (end, _) = runs[r + 1 + k];
                out.push_str(&line[at..start]);
                at = end + n;
                r += k + 2;
            }
            None => r += 1,
        }
    }
    out.push_str(&line[at..]);
    out
}

#[test]
fn directory_paths_outside_the_manifest_folder_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    acme_into(&dir);
    const SECRET: &str = "GOTO_CLIENT_SECRET=leaked-client-secret-42";
    std::fs::write(tmp.path().join(".env"), format!("{SECRET}\n")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join(".env"), dir.join("exports/link.csv")).unwrap();
    let env_path = tmp.path().join(".env");
    let entries = [
        format!("{{ format: csv, path: {} }}", env_path.display()),
        "{ format: csv, path: ../.env }".to_owned(),
        "{ format: csv, path: exports/../../.env }".to_owned(),
        "{ format: csv, path: exports/link.csv }".to_owned(),
        "{ format: csv, path: \"../*.env\" }".to_owned(),
        "{ format: csv, path: \"../.e*\" }".to_owned(),
        "{ format: entra-json, path: /proc/self/environ }".to_owned(),
    ];
    for entry in entries {
        let d = tempfile::tempdir().unwrap();
        let case = d.path().join("acme");
        acme_into(&case);
        std::fs::write(d.path().join(".env"), format!("{SECRET}\n")).unwrap();
        if entry.contains("link.csv") {
            std::os::unix::fs::symlink(d.path().join(".env"), case.join("exports/link.csv")).unwrap();
        }
        let entry = entry.replace(tmp.path().to_str().unwrap(), d.path().to_str().unwrap());
        edit(&case.join("rollcall.yaml"), "directory:\n", &format!("directory:\n  - {entry}\n"));
        let o = rollcall(d.path()).args(["validate", "acme"]).env("GOTO_PAT", "leaked-pat-43").output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{entry}: accepted\n{}", err(&o));
        let e = err(&o);
        assert!(e.contains("rollcall::unsafe-path"), "{entry}: {e}");
        assert!(e.contains("rollcall.yaml:"), "{entry}: the diagnostic points at the entry: {e}");
        assert!(!e.contains("leaked-client-secret-42") && !e.contains("leaked-pat-43"), "{entry}: {e}");
    }
}

/// A loopback HTTP server answering every request with `respond(request text)`, and
/// counting requests; each connection serves one request.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(respond: impl Fn(&str) -> String + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(200) {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let request = format!("{head}\r\n{}", String::from_utf8_lossy(&body));
                seen.lock().unwrap().push(request.clone());
                let _ = stream.write_all(respond(&request).as_bytes());
            }
        });
        Server { url, requests }
    }

    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn http(status: &str, headers: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}", body.len())
}

/// A goto manifest directory (the emulated world's) in a temp dir.
fn goto_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("org");
    World { people: 3, create: 1, rename: 0, regrant: 0, leavers: 1 }.write_manifests(&dir, 1000);
    (tmp, dir)
}

fn goto_cmd(cwd: &Path, api: &str, token: &str) -> Command {
    let mut c = rollcall(cwd);
    c.env_remove("GOTO_ACCESS_TOKEN")
        .env_remove("GOTO_REFRESH_TOKEN")
        .env_remove("ROLLCALL_ACCOUNT_KEY")
        .env("ROLLCALL_API_URL", api)
        .env("ROLLCALL_TOKEN_URL", token)
        .env("GOTO_CLIENT_ID", "rollcall-test")
        .env("GOTO_CLIENT_SECRET", CLIENT_SECRET)
        .env("GOTO_PAT", PAT);
    c
}

/// Every form a secret of these credentials takes on the wire.
fn secret_forms() -> Vec<String> {
    let basic = format!("rollcall-test:{CLIENT_SECRET}");
    let b64 = {
        // base64 of the Basic credentials, as the Authorization header carries them.
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for chunk in basic.as_bytes().chunks(3) {
            let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        s
    };
    vec![PAT.to_owned(), CLIENT_SECRET.to_owned(), b64]
}

fn assert_no_secret(context: &str, texts: &[&str], secrets: &[String]) {
    for t in texts {
        for s in secrets {
            assert!(!t.contains(s.as_str()), "{context}: the secret {s:?} was printed:\n{t}");
        }
    }
}

#[test]
fn an_echoing_token_endpoint_leaves_no_secret_in_the_output() {
    let (tmp, dir) = goto_dir();
    // The whole request, headers and form, echoed as the error description and as raw text.
    let json = Server::start(|req| {
        let body = serde_json::json!({"error": "invalid_request", "error_description": req}).to_string();
        http("400 Bad Request", "Content-Type: application/json\r\n", &body)
    });
    let raw = Server::start(|req| http("500 Internal Server Error", "Content-Type: text/plain\r\n", req));
    for (server, what) in [(&json, "json"), (&raw, "text")] {
        let plan = tmp.path().join("plan.json");
        let o = goto_cmd(tmp.path(), "http://127.0.0.1:9/unused", &format!("{}/oauth/token", server.url))
            .args(["plan", dir.to_str().unwrap(), "--out", plan.to_str().unwrap(), "-vv"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{what}: {}", err(&o));
        assert!(server.count() > 0, "{what}: the token endpoint was asked");
        assert!(err(&o).contains("token exchange"), "{what}: {}", err(&o));
        assert!(err(&o).contains("[redacted]"), "{what}: the echo is shown, redacted: {}", err(&o));
        assert_no_secret(what, &[&out(&o), &err(&o)], &secret_forms());
        assert!(!plan.exists());
    }
}

#[test]
fn an_api_that_echoes_the_bearer_token_leaves_no_secret_in_the_output() {
    let (tmp, dir) = goto_dir();
    let api = Server::start(|req| {
        let body = serde_json::json!({"errors": [{"code": "FORBIDDEN", "value": req}], "incidentId": req}).to_string();
        http("403 Forbidden", "Content-Type: application/json\r\n", &body)
    });
    const TOKEN: &str = "static-access-token-77";
    let o = goto_cmd(tmp.path(), &api.url, "http://127.0.0.1:9/unused")
        .env("GOTO_ACCESS_TOKEN", TOKEN)
        .args(["apply", dir.to_str().unwrap(), "--auto-approve", "-vv", "--audit-log", "audit.jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(api.requests.lock().unwrap().iter().any(|r| r.contains(TOKEN)), "the API saw the token");
    assert!(err(&o).contains("[redacted]"), "{}", err(&o));
    let audit = std::fs::read_to_string(tmp.path().join("audit.jsonl")).unwrap_or_default();
    assert_no_secret("api", &[&out(&o), &err(&o), &audit], &[TOKEN.to_owned()]);
}

#[test]
fn a_redirecting_token_endpoint_receives_nothing_it_should_not() {
    let (tmp, dir) = goto_dir();
    let elsewhere =
        Server::start(|_| http("200 OK", "Content-Type: application/json\r\n", "{\"access_token\": \"x\"}"));
    let to = format!("{}/steal", elsewhere.url);
    let token = Server::start(move |_| http("307 Temporary Redirect", &format!("Location: {to}\r\n"), ""));
    let o = goto_cmd(tmp.path(), "http://127.0.0.1:9/unused", &format!("{}/oauth/token", token.url))
        .args(["plan", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert_eq!(token.count(), 1);
    assert_eq!(elsewhere.count(), 0, "the PAT went to {:?}", elsewhere.requests.lock().unwrap());
    assert!(err(&o).contains("redirect"), "{}", err(&o));
}

#[test]
fn sigterm_mid_apply_reports_exits_143_and_the_resumed_plan_converges() {
    let world = World { people: 300, create: 120, rename: 80, regrant: 0, leavers: 40 };
    let mut config = goto_emulator::Config::default();
    config.faults.latency_ms = 5;
    let site = Site::world(&world, 200, config);
    let plan = site.path("plan.json");
    let o = site.run(&["plan", site.d(), "--out", &plan]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let reviewed: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let child =
        site.cmd(&["apply", &plan, "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while {
        let n = site.emu.requests();
        n.create + n.update + n.delete
    } < 10
    {
        assert!(started.elapsed() < Duration::from_secs(60), "apply made no writes");
        std::thread::sleep(Duration::from_millis(2));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "exits 143 by itself\n{}{}", out(&o), err(&o));
    let line = report_line(&o).unwrap_or_else(|| panic!("no report line\n{}{}", out(&o), err(&o)));
    assert!(out(&o).contains("skipped: run the same apply again"), "{}", out(&o));
    // What is left is exactly part of what was reviewed; the resumed plan converges.
    let rest = site.plan_json("after SIGTERM");
    assert!(action_set(&rest).is_subset(&action_set(&reviewed)), "{line}");
    assert!(!action_set(&rest).is_empty(), "the signal landed mid-apply: {line}");
    let o = site.run(&["apply", &plan, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(err(&o).contains("Resuming"), "{}", err(&o));
    world.assert_converged(&site.emu.snapshot(), "after the resumed apply");
    site.assert_no_changes("after the resumed apply");
}

/// Every leaf of a JSON document, as a JSON pointer, in document order.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
        Value::Array(a) if !a.is_empty() => a.iter().enumerate().for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    /// A leaf (by index) set to a value.
    Set(usize, Value),
    /// The object member holding a leaf removed.
    Remove(usize),
    /// The file cut after a fraction of its bytes.
    Truncate(f64),
    /// One byte replaced.
    Byte(f64, u8),
}

fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
    use proptest::prelude::*;
    let text = prop_oneof![
        any::<String>(),
        "\\PC{0,16}",
        Just("../evil".to_owned()),
        Just("/etc".to_owned()),
        Just("sha256:".to_owned() + &"é".repeat(30)),
        "sha256:[0-9a-f]{64}",
        "[a-z.]{1,8}@acme\\.example",
    ];
    let value = prop_oneof![
        text.prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
    ];
    prop_oneof![
        4 => (0..10_000usize, value).prop_map(|(i, v)| Mutation::Set(i, v)),
        2 => (0..10_000usize).prop_map(Mutation::Remove),
        1 => (0.0..1.0f64).prop_map(Mutation::Truncate),
        1 => (0.0..1.0f64, any::<u8>()).prop_map(|(f, b)| Mutation::Byte(f, b)),
    ]
}

fn mutate(original: &str, doc: &Value, pointers: &[String], m: &Mutation) -> Vec<u8> {
    let mut doc = doc.clone();
    match m {
        Mutation::Set(i, v) => {
            if let Some(slot) = doc.pointer_mut(&pointers[i % pointers.len()]) {
                *slot = v.clone();
            }
        }
        Mutation::Remove(i) => {
            let p = &pointers[i % pointers.len()];
            let (parent, key) = p.rsplit_once('/').unwrap();
            match doc.pointer_mut(parent) {
                Some(Value::Object(o)) => {
                    o.shift_remove(key);
                }
                Some(Value::Array(a)) => {
                    a.remove(key.parse::<usize>().unwrap());
                }
                _ => {}
            }
        }
        Mutation::Truncate(f) => return original.as_bytes()[..(original.len() as f64 * f) as usize].to_vec(),
        Mutation::Byte(f, b) => {
            let mut bytes = original.as_bytes().to_vec();
            let i = ((bytes.len() - 1) as f64 * f) as usize;
            bytes[i] = *b;
            return bytes;
        }
    }
    serde_json::to_vec_pretty(&doc).unwrap()
}

/// Seeded: random mutations of a valid plan file never panic, and are either refused with
/// the account untouched, or applied exactly as recomputed (only reviewed actions happen).
#[test]
fn mutated_plan_files_are_refused_or_applied_exactly_never_a_panic() {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    acme_into(&dir);
    let plan = tmp.path().join("plan.json");
    let o = run(tmp.path(), &["plan", "acme", "--out", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let original = std::fs::read_to_string(&plan).unwrap();
    let doc: Value = serde_json::from_str(&original).unwrap();
    let reviewed = action_set(&doc);
    let mut pointers = Vec::new();
    leaves(&doc, String::new(), &mut pointers);
    let live_before = std::fs::read(dir.join("live.json")).unwrap();
    // The account after applying the plan as saved.
    let o = run(tmp.path(), &["apply", plan.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let applied: Value = serde_json::from_slice(&std::fs::read(dir.join("live.json")).unwrap()).unwrap();

    let config = Config { cases: 64, failure_persistence: None, ..Config::default() };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[14; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let (refused, accepted) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner
        .run(&mutation(), |m| {
            std::fs::write(dir.join("live.json"), &live_before).unwrap();
            let mutated = mutate(&original, &doc, &pointers, &m);
            std::fs::write(&plan, &mutated).unwrap();
            let o = run(tmp.path(), &["apply", plan.to_str().unwrap(), "--auto-approve"]);
            let context = format!("{m:?}\n{}{}", out(&o), err(&o));
            assert!(!err(&o).contains("panicked"), "{context}");
            let live_after = std::fs::read(dir.join("live.json")).unwrap();
            match o.status.code() {
                Some(1) => {
                    refused.set(refused.get() + 1);
                    assert_eq!(live_before, live_after, "refused, yet the account changed: {context}");
                }
                Some(0) => {
                    accepted.set(accepted.get() + 1);
                    // Only reviewed actions happened: what is left is part of the reviewed plan.
                    let o = run(tmp.path(), &["plan", "acme", "--format", "json"]);
                    let rest: Value = serde_json::from_slice(&o.stdout).unwrap();
                    assert!(action_set(&rest).is_subset(&reviewed), "{context}");
                    let after: Value = serde_json::from_slice(&live_after).unwrap();
                    let narrowed = serde_json::from_slice::<Value>(&mutated)
                        .ok()
                        .is_some_and(|d| d.get("only").and_then(Value::as_array).is_some_and(|a| !a.is_empty()));
                    if !narrowed {
                        assert_eq!(after, applied, "accepted, yet applied differently: {context}");
                    }
                }
                code => panic!("exit {code:?}: {context}"),
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let (refused, accepted) = (refused.get(), accepted.get());
    assert!(refused > 0 && accepted > 0, "{refused} refused, {accepted} accepted");
}

/// The response of `upstream` (`host:port`) to `request`, read to the end, told to close.
fn forward(upstream: &str, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(upstream).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (line, rest) = request.split_once("\r\n").unwrap();
    s.write_all(format!("{line}\r\nConnection: close\r\n{rest}").as_bytes()).unwrap();
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    match response.split_once("\r\n") {
        Some((status, rest)) => format!("{status}\r\nConnection: close\r\n{rest}"),
        None => response,
    }
}

#[test]
fn an_api_that_echoes_the_token_on_writes_leaves_no_secret_in_the_report_or_audit_log() {
    const TOKEN: &str = "static-access-token-78";
    let config = goto_emulator::Config { access_token: TOKEN.into(), ..Default::default() };
    let site = Site::world(&World { people: 4, create: 1, rename: 1, regrant: 0, leavers: 1 }, 1000, config);
    let upstream = site.emu.base_url().trim_start_matches("http://").to_owned();
    // Reads pass through to the emulator; every write is refused with the request echoed.
    let proxy = Server::start(move |req| {
        if req.starts_with("GET ") {
            forward(&upstream, req)
        } else {
            let body = serde_json::json!({"errors": [{"code": "FORBIDDEN", "value": req}], "incidentId": "i-1"});
            http("403 Forbidden", "Content-Type: application/json\r\n", &body.to_string())
        }
    });
    let audit = site.path("audit.jsonl");
    let o = site
        .cmd(&["apply", site.d(), "--auto-approve", "--audit-log", &audit, "-v"])
        .env("GOTO_ACCESS_TOKEN", TOKEN)
        .env("ROLLCALL_API_URL", format!("{}/admin/rest/v1", proxy.url))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert!(proxy.requests.lock().unwrap().iter().any(|r| !r.starts_with("GET ") && r.contains(TOKEN)));
    let report = out(&o);
    assert!(report.contains("✗") && report.contains("[redacted]"), "failures shown, redacted: {report}");
    let audit = std::fs::read_to_string(&audit).unwrap();
    assert!(audit.contains("[redacted]"), "{audit}");
    assert_no_secret("writes", &[&report, &err(&o), &audit], &[TOKEN.to_owned()]);
}

#[test]
fn rollcall_diff_keeps_hostile_names_and_file_lines_inside_its_fences() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    acme_into(&repo.join("acme"));
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t.example", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", err(&o));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "acme"]);
    let dir = repo.join("acme");
    let mut yaml = String::from("# ```\n# </details>\n# <!--\nusers:\n");
    let mut members = Vec::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        let upn = format!("new{i}@acme.example");
        yaml.push_str(&format!("  - {{userPrincipalName: {upn}, givenName: {}, surname: x}}\n", yaml_quote(h)));
        members.push(upn);
    }
    yaml.push_str(&format!("groups:\n  newcomers:\n    members: [{}]\n", members.join(", ")));
    std::fs::write(dir.join("people/newcomers.yaml"), yaml).unwrap();
    edit(&dir.join("rollcall.yaml"), "assignments:\n", "assignments:\n  - { group: newcomers, role: admin }\n");
    for format in ["text", "markdown"] {
        let o = run(&repo, &["diff", "--base", "HEAD", "acme", "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", err(&o));
        let shown = out(&o);
        assert!(!shown.contains(['\u{1b}', '\u{202e}', '\r']), "{format}: raw control characters:\n{shown}");
        if format == "markdown" {
            // Each fence closes only where rollcall closes it: right before a blank line or </details>.
            let lines: Vec<&str> = shown.lines().collect();
            let mut i = 0;
            let mut fences = 0;
            while i < lines.len() {
                if lines[i].starts_with("```") && lines[i].ends_with("diff") {
                    let ticks = lines[i].len() - "diff".len();
                    let close = i
                        + 1
                        + lines[i + 1..]
                            .iter()
                            .position(|l| l.len() >= ticks && l.chars().all(|c| c == '`'))
                            .expect("a closing fence");
                    assert!(
                        lines[close + 1..].first().is_none_or(|l| l.is_empty()),
                        "fence closed early at line {close}:\n{shown}"
                    );
                    assert!(!lines[i + 1..close].iter().any(|l| l.len() >= ticks && l.chars().all(|c| c == '`')));
                    fences += 1;
                    i = close;
                }
                i += 1;
            }
            assert!(fences >= 2, "{shown}");
        }
    }
}
