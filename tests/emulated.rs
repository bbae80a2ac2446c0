//! Shared by the crash, fault and bad-input tests: a generated organisation with a goto
//! target pointed at an in-process emulator, the real binary to run against it, and checks
//! of the emulator's final state.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goto_emulator::{Config, Emulator};
use serde_json::{Value, json};

pub const BUSINESS: &str = "7902142105473202120";
pub const WEBINAR: &str = "7902142105473202121";
pub const ACCOUNT: &str = "4152318826743922179";

/// A deterministic 64-bit generator (SplitMix64) for kill points and fault seeds.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// An organisation and the drift of its GoTo account. People `p0000..` are all in `staff`
/// (GoToMeeting Business); every 10th is also in `admins` (MANAGE_USERS) and every 7th in
/// `hosts` (GoToWebinar Standard). Of the people, the first `create` have no account yet,
/// the next `rename` have another last name, the next `regrant` hold no license; the rest
/// match. `leavers` accounts `x0000..` hold a license and are no longer in the directory.
#[derive(Debug, Clone, Copy)]
pub struct World {
    pub people: usize,
    pub create: usize,
    pub rename: usize,
    pub regrant: usize,
    pub leavers: usize,
}

/// What a person's account should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub first: String,
    pub last: String,
    pub licenses: BTreeSet<String>,
    pub roles: BTreeSet<String>,
}

impl World {
    pub fn actions(&self) -> usize {
        self.create + self.rename + self.regrant + self.leavers
    }

    pub fn email(i: usize) -> String {
        format!("p{i:04}@acme.example")
    }

    pub fn leaver(j: usize) -> String {
        format!("x{j:04}@acme.example")
    }

    pub fn wanted(i: usize) -> Wanted {
        let mut licenses: BTreeSet<String> = [BUSINESS.to_owned()].into();
        let mut roles = BTreeSet::new();
        if i.is_multiple_of(10) {
            roles.insert("MANAGE_USERS".to_owned());
        }
        if i.is_multiple_of(7) {
            licenses.insert(WEBINAR.to_owned());
        }
        Wanted { first: format!("Given{i}"), last: format!("Family{i}"), licenses, roles }
    }

    /// rollcall.yaml and people.yaml in `dir`, with a goto target at `requests_per_second`.
    pub fn write_manifests(&self, dir: &Path, requests_per_second: u32) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("rollcall.yaml"),
            format!(
                r#"version: 1
target: {{kind: goto, requests_per_second: {requests_per_second}}}
scope: {{domains: [acme.example]}}
directory: [people.yaml]
roles:
  organizer: {{licenses: ["GoToMeeting Business"]}}
  admin: {{licenses: ["GoToMeeting Business"], admin_roles: [MANAGE_USERS]}}
  webinar: {{licenses: ["GoToWebinar Standard"]}}
mappings:
  email: {{from: "ToLower([userPrincipalName])"}}
  firstName: {{from: "[givenName]"}}
  lastName: {{from: "[surname]"}}
  locale: {{constant: en_GB, apply: on_create}}
assignments:
  - {{group: staff, role: organizer}}
  - {{group: admins, role: admin}}
  - {{group: hosts, role: webinar}}
policy: {{on_unassign: disable, max_removals: {{count: 1000000, percent: 100}}}}
"#
            ),
        )
        .unwrap();
        let mut yaml = String::from("users:\n");
        for i in 0..self.people {
            let _ = writeln!(
                yaml,
                "  - {{userPrincipalName: {}, givenName: Given{i}, surname: Family{i}}}",
                World::email(i)
            );
        }
        let members = |f: &dyn Fn(usize) -> bool| {
            (0..self.people).filter(|&i| f(i)).map(World::email).collect::<Vec<_>>().join(", ")
        };
        let _ = write!(
            yaml,
            "groups:\n  staff: {{members: [{}]}}\n  admins: {{members: [{}]}}\n  hosts: {{members: [{}]}}\n",
            members(&|_| true),
            members(&|i| i.is_multiple_of(10)),
            members(&|i| i.is_multiple_of(7))
        );
        std::fs::write(dir.join("people.yaml"), yaml).unwrap();
    }

    /// The account before apply, as a `file`-target snapshot.
    pub fn snapshot(&self) -> Value {
        let mut users = Vec::new();
        let user = |key: u64, email: String, first: String, last: String, licenses: Vec<String>, roles: Vec<String>| {
            json!({"key": key.to_string(), "email": email, "firstName": first, "lastName": last,
                   "locale": "en_GB", "timeZone": "Europe/Berlin", "licenseKeys": licenses, "adminRoles": roles,
                   "nameLocked": false, "emailLocked": false, "identityReadOnly": false, "status": "ACTIVE"})
        };
        for i in self.create..self.people {
            let w = World::wanted(i);
            let renamed = i < self.create + self.rename;
            let regrant = !renamed && i < self.create + self.rename + self.regrant;
            users.push(user(
                7_000_000_000_000_000_000 + i as u64,
                World::email(i),
                w.first,
                if renamed { format!("Old{i}") } else { w.last },
                if regrant { Vec::new() } else { w.licenses.into_iter().collect() },
                w.roles.into_iter().collect(),
            ));
        }
        for j in 0..self.leavers {
            users.push(user(
                7_100_000_000_000_000_000 + j as u64,
                World::leaver(j),
                "Former".into(),
                format!("Leaver{j}"),
                vec![BUSINESS.to_owned()],
                Vec::new(),
            ));
        }
        json!({"account": {"key": ACCOUNT, "name": "Acme"},
               "licenses": [{"key": BUSINESS, "description": "GoToMeeting Business", "seats": 100_000, "products": ["G2M"], "enabled": true},
                            {"key": WEBINAR, "description": "GoToWebinar Standard", "seats": 100_000, "products": ["G2W"], "enabled": true}],
               "users": users})
    }

    /// Checks that `snapshot` is the converged account: every person exactly once with the
    /// wanted names and grants, every leaver still there with no license or admin role, and
    /// nobody else.
    pub fn assert_converged(&self, snapshot: &Value, context: &str) {
        let users = snapshot["users"].as_array().expect("users");
        let mut by_email: BTreeMap<String, &Value> = BTreeMap::new();
        for u in users {
            let email = u["email"].as_str().expect("email").to_lowercase();
            assert!(by_email.insert(email.clone(), u).is_none(), "{context}: {email} is duplicated");
        }
        assert_eq!(users.len(), self.people + self.leavers, "{context}: accounts lost or added");
        let strings = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|k| k.as_str().map_or_else(|| k.to_string(), str::to_owned))
                .collect()
        };
        for i in 0..self.people {
            let email = World::email(i);
            let u = by_email.get(&email).unwrap_or_else(|| panic!("{context}: {email} is missing"));
            let w = World::wanted(i);
            let have = Wanted {
                first: u["firstName"].as_str().unwrap_or_default().to_owned(),
                last: u["lastName"].as_str().unwrap_or_default().to_owned(),
                licenses: strings(&u["licenseKeys"]),
                roles: strings(&u["adminRoles"]),
            };
            assert_eq!(have, w, "{context}: {email} is not as wanted");
            if i < self.create {
                assert_eq!(u["locale"], "en_GB", "{context}: {email} created without its locale");
            }
        }
        for j in 0..self.leavers {
            let email = World::leaver(j);
            let u = by_email.get(&email).unwrap_or_else(|| panic!("{context}: leaver {email} is missing"));
            assert!(strings(&u["licenseKeys"]).is_empty(), "{context}: {email} still holds a license: {u}");
        }
    }
}

/// Emulator credentials, as the tests pass them.
pub const PAT: &str = "pat-123";
pub const CLIENT_SECRET: &str = "s3cret-client";

/// A manifest directory in a temp dir with a goto target at an in-process emulator.
pub struct Site {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub emu: Emulator,
}

impl Site {
    /// An empty manifest directory (the caller writes it) and an emulator serving `seed`.
    pub fn new(seed: Value, config: Config) -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("org");
        std::fs::create_dir_all(&dir).unwrap();
        let emu = Emulator::start(Some(seed), config).unwrap();
        Site { tmp, dir, emu }
    }

    /// `world`'s manifests at `requests_per_second` and its account in the emulator.
    pub fn world(world: &World, requests_per_second: u32, config: Config) -> Site {
        let site = Site::new(world.snapshot(), config);
        world.write_manifests(&site.dir, requests_per_second);
        site
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(crate::support::rollcall_bin());
        c.args(args)
            .current_dir(self.tmp.path())
            .env_remove("GOTO_ACCESS_TOKEN")
            .env_remove("GOTO_REFRESH_TOKEN")
            .env_remove("ROLLCALL_ACCOUNT_KEY")
            .env("NO_COLOR", "1")
            .env("ROLLCALL_API_URL", self.emu.api_url())
            .env("ROLLCALL_TOKEN_URL", self.emu.token_url())
            .env("GOTO_CLIENT_ID", "rollcall-test")
            .env("GOTO_CLIENT_SECRET", CLIENT_SECRET)
            .env("GOTO_PAT", PAT);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn d(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    pub fn path(&self, name: &str) -> String {
        self.tmp.path().join(name).to_str().unwrap().to_owned()
    }

    /// The plan as JSON (`plan --format json`), asserting it ran.
    pub fn plan_json(&self, context: &str) -> Value {
        let o = self.run(&["plan", self.d(), "--format", "json"]);
        assert!(o.status.code() == Some(0), "{context}: plan failed\n{}{}", out(&o), err(&o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{context}: plan JSON: {e}\n{}", out(&o)))
    }

    /// `apply DIR --auto-approve`, expecting success; returns the report's last line.
    pub fn apply_ok(&self, context: &str) -> String {
        let o = self.run(&["apply", self.d(), "--auto-approve"]);
        assert_eq!(o.status.code(), Some(0), "{context}: apply failed\n{}{}", out(&o), err(&o));
        report_line(&o).unwrap_or_else(|| panic!("{context}: no report line\n{}", out(&o)))
    }

    /// `plan --detailed-exitcode` exits 0: nothing left to do.
    pub fn assert_no_changes(&self, context: &str) {
        let o = self.run(&["plan", self.d(), "--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(0), "{context}: the plan after apply is not empty\n{}{}", out(&o), err(&o));
    }
}

pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `Apply complete: ...` line of a report.
pub fn report_line(o: &Output) -> Option<String> {
    out(o).lines().rev().find(|l| l.starts_with("Apply complete:")).map(str::to_owned)
}

/// The counts of an `Apply complete: N created, N updated, N disabled, N enabled, N deleted, N failed.` line.
pub fn report_counts(line: &str) -> BTreeMap<String, usize> {
    line.trim_start_matches("Apply complete:")
        .trim_end_matches('.')
        .split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let n = words.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("a count in {line:?}"));
            (words.next().unwrap_or_default().to_owned(), n)
        })
        .collect()
}

/// An action of a plan document, comparable as a whole: (action, email, key, changes).
pub fn action_set(plan: &Value) -> BTreeSet<String> {
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            json!({"action": a["action"], "email": a["email"], "key": a["key"], "changes": a["changes"]}).to_string()
        })
        .collect()
}
