//! Bad-input sweep: generated malformed manifests, directory files (YAML, CSV, Entra JSON)
//! and mapping expressions (truncated, wrong types, huge values, deep nesting, invalid
//! UTF-8, 10 MB strings). Each must end in diagnostics: no panic, no hang, at least one
//! `rollcall::` problem that renders, and (run through the real binary, with a goto target
//! at the emulator) exit 1 with no request to the target.
//!
//! Most cases run the library's loading in-process; a sample runs the binary. The runs are
//! seeded, so CI sees the same cases every time.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use goto_emulator::{Config, Emulator};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};

use crate::emulated::{CLIENT_SECRET, PAT, Site, World, err, out};

/// An account with the licenses and nobody in it.
const EMPTY: World = World { people: 0, create: 0, rename: 0, regrant: 0, leavers: 0 };

/// How long one case may take (debug build) before it counts as a hang.
const TIMEOUT: Duration = Duration::from_secs(60);

const MANIFEST: &str = r#"version: 1
target:
  kind: goto
  requests_per_second: 50
scope:
  domains: [acme.example]
directory:
  - people.yaml
  - {format: entra-json, path: users.json}
  - {format: csv, path: contractors.csv}
roles:
  organizer:
    licenses: ["GoToMeeting Business"]
mappings:
  email: {from: "ToLower([userPrincipalName])"}
  firstName: {from: "Coalesce([givenName], [displayName])"}
  lastName: {from: "[surname]"}
assignments:
  - {group: staff, role: organizer}
policy:
  on_unassign: disable
  max_removals: {count: 10, percent: 15}
"#;

/// The group lists everyone, so a record lost from any file is an unknown person.
const PEOPLE: &str = "users:
  - {userPrincipalName: a1@acme.example, givenName: Ann, surname: Archer, displayName: Ann Archer}
  - {userPrincipalName: a2@acme.example, givenName: Ben, surname: Becker}
groups:
  staff: {members: [a1@acme.example, a2@acme.example, j1@acme.example, j2@acme.example, c1@acme.example, c2@acme.example]}
";

const ENTRA: &str = r#"[
  {"userPrincipalName": "j1@acme.example", "givenName": "Chloé", "surname": "Carter", "accountEnabled": true},
  {"userPrincipalName": "j2@acme.example", "givenName": "David", "surname": "Dubois", "accountEnabled": true}
]
"#;

/// userPrincipalName last: a row cut anywhere loses its identity or fields.
const CSV: &str = "givenName,surname,userPrincipalName\nElena,Eklund,c1@acme.example\nFelix,Fischer,c2@acme.example\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum File {
    Manifest,
    People,
    Entra,
    Csv,
}

impl File {
    fn name(self) -> &'static str {
        match self {
            File::Manifest => "rollcall.yaml",
            File::People => "people.yaml",
            File::Entra => "users.json",
            File::Csv => "contractors.csv",
        }
    }
    fn base(self) -> &'static str {
        match self {
            File::Manifest => MANIFEST,
            File::People => PEOPLE,
            File::Entra => ENTRA,
            File::Csv => CSV,
        }
    }
}

const FILES: [File; 4] = [File::Manifest, File::People, File::Entra, File::Csv];

/// A manifest directory as bytes per file.
#[derive(Clone)]
struct Case {
    what: String,
    files: Vec<(File, Vec<u8>)>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes can be megabytes: show what was done and the sizes.
        write!(f, "{}", self.what)?;
        for (file, bytes) in &self.files {
            if bytes.len() < 2000 {
                write!(f, "\n--- {}:\n{}", file.name(), String::from_utf8_lossy(bytes))?;
            } else {
                write!(f, "\n--- {}: {} bytes", file.name(), bytes.len())?;
            }
        }
        Ok(())
    }
}

impl Case {
    fn base() -> Case {
        Case { what: String::new(), files: FILES.iter().map(|f| (*f, f.base().as_bytes().to_vec())).collect() }
    }
    fn get(&mut self, file: File) -> &mut Vec<u8> {
        &mut self.files.iter_mut().find(|(f, _)| *f == file).expect("every file").1
    }
    fn note(&mut self, s: impl AsRef<str>) {
        if !self.what.is_empty() {
            self.what.push_str("; ");
        }
        self.what.push_str(s.as_ref());
    }
    /// Replaces the first `from` in `file` with `to`; None when an earlier mutation
    /// removed `from` or made the file other than UTF-8.
    fn replace(&mut self, file: File, from: &str, to: &str) -> Option<()> {
        let text = String::from_utf8(self.get(file).clone()).ok().filter(|t| t.contains(from))?;
        *self.get(file) = text.replacen(from, to, 1).into_bytes();
        Some(())
    }
    fn write(&self, dir: &Path) {
        for (file, bytes) in &self.files {
            std::fs::write(dir.join(file.name()), bytes).unwrap();
        }
    }
}

/// A place in a file and the text there that a mutation may replace.
struct Slot {
    file: File,
    text: &'static str,
    /// What goes before the new value (the key) and after it.
    key: &'static str,
    after: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    List,
    Map,
}

const SLOTS: &[Slot] = &[
    Slot { file: File::Manifest, text: "version: 1", key: "version: ", after: "", kind: Kind::Number },
    Slot { file: File::Manifest, text: "  kind: goto", key: "  kind: ", after: "", kind: Kind::Text },
    Slot {
        file: File::Manifest,
        text: "requests_per_second: 50",
        key: "requests_per_second: ",
        after: "",
        kind: Kind::Number,
    },
    Slot { file: File::Manifest, text: "domains: [acme.example]", key: "domains: ", after: "", kind: Kind::List },
    Slot {
        file: File::Manifest,
        text: "licenses: [\"GoToMeeting Business\"]",
        key: "licenses: ",
        after: "",
        kind: Kind::List,
    },
    Slot {
        file: File::Manifest,
        text: "email: {from: \"ToLower([userPrincipalName])\"}",
        key: "email: ",
        after: "",
        kind: Kind::Map,
    },
    Slot { file: File::Manifest, text: "{from: \"[surname]\"}", key: "", after: "", kind: Kind::Map },
    Slot { file: File::Manifest, text: "role: organizer}", key: "role: ", after: "}", kind: Kind::Text },
    Slot { file: File::Manifest, text: "on_unassign: disable", key: "on_unassign: ", after: "", kind: Kind::Text },
    Slot { file: File::Manifest, text: "count: 10,", key: "count: ", after: ",", kind: Kind::Number },
    Slot { file: File::Manifest, text: "percent: 15}", key: "percent: ", after: "}", kind: Kind::Number },
    Slot {
        file: File::People,
        text: "userPrincipalName: a1@acme.example",
        key: "userPrincipalName: ",
        after: "",
        kind: Kind::Text,
    },
    Slot { file: File::People, text: "givenName: Ben", key: "givenName: ", after: "", kind: Kind::Text },
    Slot { file: File::People, text: "members: [", key: "members: ", after: ", extra: [", kind: Kind::List },
];

/// Values of the wrong type for a slot (each one is refused there).
fn wrong_values(kind: Kind) -> Vec<&'static str> {
    let mut v = vec!["{x: 1}", "{}"];
    v.extend(match kind {
        Kind::Number => &["ten", "[1]", "true", "1.5.2"][..],
        Kind::Text => &["[a, b]", "[]"][..],
        Kind::List => &["7", "true"][..],
        Kind::Map => &["7", "[from, x]", "plain"][..],
    });
    v
}

/// Huge or out-of-range numbers for a numeric slot.
fn huge_values(slot: &Slot) -> &'static [&'static str] {
    if slot.key.starts_with("requests_per_second") {
        // A huge rate is no limit at all, which the schema allows; a rate near zero is refused.
        &["-1", "0", "0.05", "1e-300", "-1e400", "1e400", ".inf", "-.inf", ".nan"]
    } else {
        &[
            "99999999999999999999999999999999999999999",
            "-99999999999999999999999999999999999999999",
            "1e400",
            "-1e400",
            ".inf",
            "-.inf",
            ".nan",
            "-1",
            "0x7fffffffffffffffffff",
        ]
    }
}

/// Byte sequences that are not UTF-8.
const NOT_UTF8: &[&[u8]] = &[b"\xff", b"\xfe\xff", b"\x80", b"\xc3\x28", b"\xe2\x82", b"\xf0\x28\x8c\xbc", b"\xc0\xaf"];

/// One mutation of a case.
#[derive(Debug, Clone)]
enum Mutation {
    /// Cut `file` at a fraction of its length (mid-line, never at the very end).
    Truncate(File, f64),
    /// Put a value of the wrong type in a slot.
    WrongType(usize, usize),
    /// A huge or out-of-range number in a numeric slot.
    Huge(usize, usize),
    /// `depth` levels of nesting in a slot (open only: `[[[...`; or balanced, the wrong type).
    Deep(usize, usize, bool),
    /// Bytes that are not UTF-8 at a fraction of `file`.
    NotUtf8(File, f64, usize),
    /// A broken mapping expression.
    Expression(String),
    /// A broken directory record.
    Record(File, usize),
}

fn numeric_slots() -> Vec<usize> {
    (0..SLOTS.len()).filter(|&i| SLOTS[i].kind == Kind::Number).collect()
}

/// Applies `m` to `case`; None when it does not apply (an earlier mutation changed its place).
fn apply(case: &mut Case, m: &Mutation) -> Option<()> {
    match m {
        Mutation::Truncate(file, at) => {
            let text = String::from_utf8(case.get(*file).clone()).ok()?;
            let body = text.trim_end().len();
            // Inside a line (part of it kept, part cut): a cut between lines could leave a
            // shorter file that is valid.
            let b = text.as_bytes();
            let mut cut = ((body as f64 * at) as usize).clamp(1, body - 1);
            while cut > 1 && (b[cut - 1] == b'\n' || b[cut] == b'\n' || !text.is_char_boundary(cut)) {
                cut -= 1;
            }
            case.get(*file).truncate(cut);
            case.note(format!("{} cut at byte {cut} of {}", file.name(), text.len()));
        }
        Mutation::WrongType(slot, v) => {
            let s = &SLOTS[*slot];
            let values = wrong_values(s.kind);
            let value = values[v % values.len()];
            case.replace(s.file, s.text, &format!("{}{value}{}", s.key, s.after))?;
            case.note(format!("{} in {} := {value}", s.text, s.file.name()));
        }
        Mutation::Huge(slot, v) => {
            let s = &SLOTS[numeric_slots()[slot % numeric_slots().len()]];
            let values = huge_values(s);
            let value = values[v % values.len()];
            case.replace(s.file, s.text, &format!("{}{value}{}", s.key, s.after))?;
            case.note(format!("{} := {value}", s.text));
        }
        Mutation::Deep(slot, depth, balanced) => {
            let s = &SLOTS[*slot];
            let (open, close) = if depth % 2 == 0 { ("[", "]") } else { ("{a: ", "}") };
            let mut value = open.repeat(*depth);
            if *balanced {
                // Closed, it is still the wrong type: no slot takes a list of lists or a map of maps.
                value.push('1');
                value.push_str(&close.repeat(*depth));
            }
            case.replace(s.file, s.text, &format!("{}{value}{}", s.key, s.after));
            case.note(format!(
                "{} := {depth} levels of {open:?}, {}",
                s.text,
                if *balanced { "closed" } else { "open" }
            ));
        }
        Mutation::NotUtf8(file, at, which) => {
            let bytes = case.get(*file);
            let at = (bytes.len() as f64 * at) as usize;
            let bad = NOT_UTF8[which % NOT_UTF8.len()];
            bytes.splice(at..at, bad.iter().copied());
            case.note(format!("{bad:?} inserted in {} at byte {at}", file.name()));
        }
        Mutation::Expression(e) => {
            let quoted = format!("'{}'", e.replace('\'', "''"));
            case.replace(File::Manifest, "\"Coalesce([givenName], [displayName])\"", &quoted)?;
            case.note(format!("firstName from {e:?}"));
        }
        Mutation::Record(file, which) => {
            let (from, to) = match file {
                File::Entra => [
                    (r#"{"userPrincipalName": "j2@acme.example""#, r#"7, {"x": "j2@acme.example""#),
                    (r#"{"userPrincipalName": "j2@acme.example""#, r#"{"userPrincipalName": ["j2@acme.example"]"#),
                    (r#"{"userPrincipalName": "j2@acme.example""#, r#"{"userPrincipalName": null"#),
                    (r#""accountEnabled": true}"#, r#""accountEnabled": true},"#),
                    ("[\n", "{\"value\": 5, \"x\": [\n"),
                    (r#""surname": "Dubois""#, r#""surname": "Dubois\q""#),
                ][which % 6],
                File::Csv => [
                    ("Felix,Fischer,c2@acme.example", "Felix,Fischer,c2@acme.example,extra"),
                    ("Felix,Fischer,c2@acme.example", "Felix,c2@acme.example"),
                    ("Felix,Fischer,c2@acme.example", "Felix,\"Fischer,c2@acme.example"),
                    ("givenName,surname,userPrincipalName", "givenName,surname"),
                    ("Elena,Eklund,c1@acme.example", "Elena,Eklund,"),
                ][which % 5],
                File::People => [
                    ("users:\n", "users: {a: 1}\nx:\n"),
                    ("{userPrincipalName: a2@acme.example, ", "{mail: [a2], "),
                    ("groups:", "groups: 5\ny:"),
                    ("  - {userPrincipalName: a1", "  - 5\n  - {userPrincipalName: a1"),
                    ("staff: {members", "staff: {members: [a1@acme.example], members"),
                ][which % 5],
                File::Manifest => unreachable!(),
            };
            case.replace(*file, from, to)?;
            case.note(format!("{}: {from:?} -> {to:?}", file.name()));
        }
    }
    Some(())
}

/// Broken expressions: a random mix of expression tokens followed by one sure fault.
fn expression() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "[givenName]",
        "[surname]",
        "\"x\"",
        "\"\"",
        "(",
        ")",
        ", ",
        "ToLower(",
        "Coalesce(",
        "Switch(",
        "Join(\" \", ",
        "Mid(",
        "NormalizeDiacritics(",
        "123",
        "-1",
        "99999999999999999999999",
        "é",
        "💥",
        " ",
        "&",
        "\\",
        "'",
    ]);
    let fault = prop_oneof![
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("\"unterminated".to_owned()),
        Just("[".to_owned()),
        Just(" Frobnicate([givenName])".to_owned()),
        Just(" ToLower([givenName], [surname], [mail], [x])".to_owned()),
        Just("[no_such_attribute_anywhere]".to_owned()),
        (65usize..5000).prop_map(|d| format!("{}[givenName]{}", "ToLower(".repeat(d), ")".repeat(d))),
        (10_001usize..200_000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
        Just(",,".to_owned()),
    ];
    (prop::collection::vec(token, 0..12), fault, any::<bool>()).prop_map(|(tokens, fault, before)| {
        let body: String = tokens.concat();
        if before { format!("{fault}{body}") } else { format!("{body}{fault}") }
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let file = prop::sample::select(FILES.to_vec());
    let directory_file = prop::sample::select(vec![File::People, File::Entra, File::Csv]);
    prop_oneof![
        (file.clone(), 0.0f64..1.0).prop_map(|(f, at)| Mutation::Truncate(f, at)),
        (0..SLOTS.len(), 0usize..16).prop_map(|(s, v)| Mutation::WrongType(s, v)),
        (0usize..16, 0usize..16).prop_map(|(s, v)| Mutation::Huge(s, v)),
        (0..SLOTS.len(), prop_oneof![2usize..200, 200usize..100_000], any::<bool>())
            .prop_map(|(s, d, b)| Mutation::Deep(s, d, b)),
        (file, 0.0f64..1.0, 0usize..16).prop_map(|(f, at, w)| Mutation::NotUtf8(f, at, w)),
        expression().prop_map(Mutation::Expression),
        (directory_file, 0usize..30).prop_map(|(f, w)| Mutation::Record(f, w)),
    ]
}

/// One to three mutations of the base case (later ones skip slots an earlier one replaced).
fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(mutation(), 1..=3).prop_map(|ms| {
        let mut case = Case::base();
        let mut applied = 0;
        for m in &ms {
            // A mutation needs its slot's text intact and (for text edits) a UTF-8 file.
            let mut probe = case.clone();
            if apply(&mut probe, m).is_some() {
                case = probe;
                applied += 1;
            }
        }
        assert!(applied > 0, "the first mutation applies to the base");
        case
    })
}

/// What loading produced: the rendered diagnostics, or why that is wrong.
fn load_in_process(dir: &Path) -> Result<String, String> {
    let dir = dir.to_owned();
    let (tx, rx) = mpsc::channel();
    // The binary's main thread has 8 MB of stack; the loader gets the same here.
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let result = std::panic::catch_unwind(|| {
                let problems = match rollcall::config::load(&dir) {
                    Err(p) => p,
                    Ok(m) => match rollcall::desired::build(&m) {
                        Err(p) => p,
                        Ok(_) => return Err("loaded without a problem".to_owned()),
                    },
                };
                let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
                let mut text = String::new();
                for p in &problems.0 {
                    handler.render_report(&mut text, p).map_err(|e| format!("cannot render: {e}"))?;
                }
                if problems.0.is_empty() || !text.contains("rollcall::") {
                    return Err(format!("no diagnostic: {text:?}"));
                }
                Ok(text)
            });
            let _ = tx.send(result.unwrap_or_else(|panic| {
                Err(format!(
                    "panicked: {}",
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                ))
            }));
        })
        .unwrap();
    rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| Err(format!("no answer within {TIMEOUT:?}: a hang")))
}

fn runner(cases: u32, seed: u8) -> TestRunner {
    let config = RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]))
}

#[test]
fn the_base_case_is_valid() {
    // Otherwise every mutation would trivially "fail".
    let tmp = tempfile::tempdir().unwrap();
    Case::base().write(tmp.path());
    let m = rollcall::config::load(tmp.path()).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(rollcall::desired::build(&m).map(|d| d.accounts.len()).ok(), Some(6));
}

#[test]
fn malformed_input_always_gets_diagnostics_in_process() {
    runner(400, 1)
        .run(&case(), |case| {
            let tmp = tempfile::tempdir().unwrap();
            case.write(tmp.path());
            if let Err(e) = load_in_process(tmp.path()) {
                return Err(TestCaseError::fail(e));
            }
            Ok(())
        })
        .unwrap();
}

/// `rollcall plan` (through `validate`'s loader, then the target) on a case: exit 1 with
/// diagnostics, in time, without a request to the emulator behind the goto target.
fn plan_with_binary(emu: &Emulator, case: &Case) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    case.write(tmp.path());
    // Output to files: a pipe nobody reads while waiting would stall a long diagnostic.
    let (stdout, stderr) = (tmp.path().join("stdout"), tmp.path().join("stderr"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["plan", tmp.path().to_str().unwrap()])
        .env("NO_COLOR", "1")
        .env("ROLLCALL_API_URL", emu.api_url())
        .env("ROLLCALL_TOKEN_URL", emu.token_url())
        .env("GOTO_CLIENT_ID", "rollcall-test")
        .env("GOTO_CLIENT_SECRET", CLIENT_SECRET)
        .env("GOTO_PAT", PAT)
        .env_remove("GOTO_ACCESS_TOKEN")
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            return Err(format!("rollcall (pid {pid}) did not finish within {TIMEOUT:?}: a hang"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let o =
        std::process::Output { status, stdout: std::fs::read(stdout).unwrap(), stderr: std::fs::read(stderr).unwrap() };
    let e = err(&o);
    if status.code() != Some(1) || !e.contains("rollcall::") || e.contains("panicked") {
        let e: String = e.chars().take(4000).collect();
        return Err(format!("exit {:?}, stdout {:?}, stderr {e:?}", status.code(), out(&o)));
    }
    let n = emu.requests();
    if n.total != 0 {
        return Err(format!("{} requests reached the target: {n:?}", n.total));
    }
    Ok(())
}

#[test]
fn malformed_input_through_the_binary_exits_1_without_a_request() {
    let site = Site::new(EMPTY.snapshot(), Config::default());
    runner(24, 2).run(&case(), |case| plan_with_binary(&site.emu, &case).map_err(TestCaseError::fail)).unwrap();
    // The goto target is reachable: a valid case does send requests (the check above means something).
    let tmp = tempfile::tempdir().unwrap();
    Case::base().write(tmp.path());
    let o = site.cmd(&["plan", tmp.path().to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "the base case plans 6 creates\n{}", err(&o));
    assert!(site.emu.requests().total > 0);
}

/// 10 MB strings in each kind of file.
#[test]
fn ten_megabyte_strings_get_diagnostics() {
    let big = "x".repeat(10 << 20);
    let cases: Vec<(File, &str, String)> = vec![
        (File::Manifest, "version: 1", format!("version: {big}")),
        (File::Manifest, "role: organizer}", format!("role: {big}}}")),
        (File::Manifest, "\"Coalesce([givenName], [displayName])\"", format!("'Coalesce([givenName], [{big}])'")),
        (File::People, "givenName: Ben, surname: Becker}", format!("givenName: Ben, surname: [{big}]}}")),
        (File::Entra, "\"j2@acme.example\", \"givenName\"", format!("\"j2@acme.example{big}\", \"givenName\"")),
        (File::Csv, "Felix,Fischer,c2@acme.example", format!("Felix,Fischer,c2@acme.example,{big}")),
    ];
    let site = Site::new(EMPTY.snapshot(), Config::default());
    for (i, (file, from, to)) in cases.iter().enumerate() {
        let mut case = Case::base();
        case.replace(*file, from, to).expect("the base has the text");
        case.note(format!("10 MB in {}", file.name()));
        let tmp = tempfile::tempdir().unwrap();
        case.write(tmp.path());
        let started = std::time::Instant::now();
        let text = load_in_process(tmp.path()).unwrap_or_else(|e| panic!("{case:?}: {e}"));
        eprintln!("{}: {} bytes of diagnostics in {:?}", case.what, text.len(), started.elapsed());
        if i == 0 {
            plan_with_binary(&site.emu, &case).unwrap_or_else(|e| panic!("{case:?}: {e}"));
        }
    }
}

#[test]
fn a_rate_near_zero_is_refused_before_any_request() {
    // requests_per_second: 1e-300 passed validation and made the rate limiter panic
    // (a Duration of 1e300 seconds); now below the schema's minimum of 0.1 is refused.
    let site = Site::new(EMPTY.snapshot(), Config::default());
    for rate in ["1e-300", "0.05", "0"] {
        let mut case = Case::base();
        case.replace(File::Manifest, "requests_per_second: 50", &format!("requests_per_second: {rate}")).unwrap();
        case.note(format!("requests_per_second: {rate}"));
        plan_with_binary(&site.emu, &case).unwrap_or_else(|e| panic!("{case:?}: {e}"));
    }
}
