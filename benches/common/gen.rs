//! A deterministic generator of large organisations: a manifest directory (rollcall YAML,
//! an Entra JSON export, CSV) and a `file`-target snapshot of the matching GoTo account
//! with a chosen amount of drift. No rand crate: a 64-bit LCG is enough for benchmarks.

// Each bench target uses part of this module.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

/// Knuth's MMIX linear congruential generator.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 ^ (self.0 >> 29)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const GIVEN: &[&str] = &[
    "Alice", "Ben", "Chloé", "David", "Elena", "Felix", "Grace", "Hannah", "Ines", "Jonas", "Kenji", "Lea", "Marco",
    "Nora", "Oskar", "Priya", "Quentin", "Ravi", "Sofia", "Tim", "Ute", "Viktor", "Wen", "Yuki", "Zoë", "Amélie",
    "Björn", "Camille", "Dmitri", "Emma",
];
const SURNAMES: &[&str] = &[
    "Archer",
    "Becker",
    "Carter",
    "Dubois",
    "Eklund",
    "Fischer",
    "García",
    "Hoffmann",
    "Ivanova",
    "Jones",
    "Klein",
    "Laurent",
    "Müller",
    "Nair",
    "O'Connor",
    "Petrova",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Vogel",
    "Wagner",
    "Yılmaz",
    "Zimmermann",
    "Novák",
    "Bianchi",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Shah",
];
const LANGUAGES: &[&str] = &["en-US", "de-DE", "fr-FR", "en-GB"];
const DOMAIN: &str = "acme.example";

#[derive(Debug, Clone)]
pub struct Person {
    pub upn: String,
    pub given: &'static str,
    pub surname: &'static str,
    pub language: &'static str,
    /// Index into `Org::groups` (a department).
    pub group: usize,
    pub employee_id: String,
    pub enabled: bool,
    pub guest: bool,
}

#[derive(Debug, Clone)]
pub struct Org {
    pub people: Vec<Person>,
    /// Group names; group 0 (`staff`) nests all the others, which hold the people.
    pub groups: Vec<String>,
}

/// `users` people in `groups` groups: `staff` nests `groups - 1` departments.
pub fn org(users: usize, groups: usize, seed: u64) -> Org {
    assert!(groups >= 2, "staff plus at least one department");
    let mut rng = Lcg::new(seed);
    let mut names = vec!["staff".to_owned()];
    names.extend((1..groups).map(|g| format!("dept-{g:02}")));
    let people = (0..users)
        .map(|i| {
            let given = GIVEN[rng.below(GIVEN.len())];
            let surname = SURNAMES[rng.below(SURNAMES.len())];
            let ascii = |s: &str| s.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect::<String>();
            Person {
                upn: format!("{}.{}.{i}@{DOMAIN}", ascii(given), ascii(surname)),
                given,
                surname,
                language: rng.pick(LANGUAGES),
                group: 1 + rng.below(groups - 1),
                employee_id: format!("E{:06}", 100_000 + i),
                enabled: !rng.chance(0.01),
                guest: rng.chance(0.005),
            }
        })
        .collect();
    Org { people, groups: names }
}

/// Where the generated people live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 60 % of the people in rollcall YAML files of at most 10,000 each, 30 % in an Entra
    /// export, 10 % in a CSV; the groups in `groups.yaml`.
    Mixed,
    /// Every person and group in one rollcall YAML directory file, `people.yaml` (name and
    /// language only: about 13 MB at 100,000 people).
    SingleFile,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Mixed => "mixed sources",
            Layout::SingleFile => "one YAML file",
        }
    }
}

/// Writes a manifest directory for `org` in the [`Layout::Mixed`] layout.
pub fn write_manifest(dir: &Path, org: &Org) -> io::Result<()> {
    write_manifest_as(dir, org, Layout::Mixed)
}

/// Writes a manifest directory for `org` laid out as `layout` says.
pub fn write_manifest_as(dir: &Path, org: &Org, layout: Layout) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let sources = match layout {
        Layout::Mixed => {
            "  - groups.yaml\n  - people/*.yaml\n  - { format: entra-json, path: exports/users.json }\n  - { format: csv, path: exports/contractors.csv }\n"
        }
        Layout::SingleFile => "  - people.yaml\n",
    };
    fs::write(
        dir.join("rollcall.yaml"),
        format!(
            r#"version: 1
target: {{ kind: file, path: live.json }}
scope: {{ domains: [{DOMAIN}] }}
directory:
{sources}scoping:
  - {{ attribute: userType, op: not_equals, value: Guest }}
roles:
  organizer: {{ licenses: ["GoToMeeting Business"] }}
  admin: {{ licenses: ["GoToMeeting Business"], admin_roles: [MANAGE_USERS] }}
mappings:
  email:     {{ from: "ToLower(Coalesce([mail], [userPrincipalName]))" }}
  firstName: {{ from: "[givenName]" }}
  lastName:  {{ from: "[surname]" }}
  locale:    {{ from: 'Switch([preferredLanguage], "en_US", "de-DE", "de_DE", "fr-FR", "fr_FR")', apply: on_create }}
  timeZone:  {{ constant: "Europe/Berlin", apply: on_create }}
assignments:
  - {{ group: staff, role: organizer }}
  - {{ group: {}, role: admin }}
policy:
  max_removals: {{ count: 1000000, percent: 100 }}
"#,
            org.groups[1]
        ),
    )?;

    match layout {
        Layout::Mixed => write_mixed(dir, org),
        Layout::SingleFile => {
            // Leaner records than the mixed layout's (what a hand-kept file holds): about
            // 13 MB at 100,000 people.
            let mut yaml = groups_yaml(org);
            yaml.push_str("users:\n");
            for p in &org.people {
                let _ = write!(
                    yaml,
                    "  - userPrincipalName: {}\n    givenName: {}\n    surname: {}\n    preferredLanguage: {}\n",
                    p.upn, p.given, p.surname, p.language
                );
                if !p.enabled {
                    yaml.push_str("    accountEnabled: false\n");
                }
                if p.guest {
                    let _ = write!(yaml, "    mail: {}\n    userType: Guest\n", p.upn);
                }
            }
            fs::write(dir.join("people.yaml"), yaml)
        }
    }
}

fn groups_yaml(org: &Org) -> String {
    let mut groups = String::from("groups:\n");
    let _ = writeln!(groups, "  staff:\n    groups: [{}]", org.groups[1..].join(", "));
    for (g, name) in org.groups.iter().enumerate().skip(1) {
        let _ = writeln!(groups, "  {name}:\n    members:");
        for p in org.people.iter().filter(|p| p.group == g) {
            let _ = writeln!(groups, "      - {}", p.upn);
        }
    }
    groups
}

fn push_user_yaml(yaml: &mut String, org: &Org, p: &Person) {
    let _ = write!(
        yaml,
        "  - userPrincipalName: {}\n    givenName: {}\n    surname: {}\n    displayName: {} {}\n    preferredLanguage: {}\n    department: {}\n    employeeId: \"{}\"\n",
        p.upn, p.given, p.surname, p.given, p.surname, p.language, org.groups[p.group], p.employee_id
    );
    if !p.enabled {
        yaml.push_str("    accountEnabled: false\n");
    }
}

fn write_mixed(dir: &Path, org: &Org) -> io::Result<()> {
    fs::create_dir_all(dir.join("people"))?;
    fs::create_dir_all(dir.join("exports"))?;
    let n = org.people.len();
    let (yaml_end, json_end) = (n * 6 / 10, n * 9 / 10);
    fs::write(dir.join("groups.yaml"), groups_yaml(org))?;

    for (f, chunk) in org.people[..yaml_end].chunks(10_000).enumerate() {
        let mut yaml = String::from("users:\n");
        for p in chunk {
            push_user_yaml(&mut yaml, org, p);
        }
        fs::write(dir.join(format!("people/part-{f:02}.yaml")), yaml)?;
    }

    let mut json = String::from("[\n");
    for (i, p) in org.people[yaml_end..json_end].iter().enumerate() {
        if i > 0 {
            json.push_str(",\n");
        }
        let _ = write!(
            json,
            r#"  {{
    "accountEnabled": {},
    "businessPhones": [],
    "department": "{}",
    "displayName": "{} {}",
    "employeeId": "{}",
    "givenName": "{}",
    "id": "{:08x}-0000-4000-8000-{:012x}",
    "jobTitle": null,
    "mail": "{}",
    "mobilePhone": null,
    "officeLocation": "Berlin",
    "preferredLanguage": "{}",
    "surname": {},
    "userPrincipalName": "{}",
    "userType": "{}"
  }}"#,
            p.enabled,
            org.groups[p.group],
            p.given,
            p.surname,
            p.employee_id,
            p.given,
            i,
            i,
            p.upn,
            p.language,
            json_string(p.surname),
            p.upn,
            if p.guest { "Guest" } else { "Member" }
        );
    }
    json.push_str("\n]\n");
    fs::write(dir.join("exports/users.json"), json)?;

    let mut csv =
        String::from("userPrincipalName,givenName,surname,department,employeeId,preferredLanguage,userType\n");
    for p in &org.people[json_end..] {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{}",
            p.upn,
            p.given,
            p.surname,
            org.groups[p.group],
            p.employee_id,
            p.language,
            if p.guest { "Guest" } else { "Member" }
        );
    }
    fs::write(dir.join("exports/contractors.csv"), csv)
}

fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// How the live account differs from the manifests.
#[derive(Debug, Clone, Copy)]
pub struct Drift {
    /// Fraction of the people whose live account has another last name.
    pub renamed: f64,
    /// Fraction of the people with no live account yet (to create).
    pub missing: f64,
    /// Extra in-scope live accounts of people who left (to disable), as a fraction of the people.
    pub left: f64,
}

impl Drift {
    /// `fraction` of the people drifted, split evenly between renames, creates and leavers.
    pub fn even(fraction: f64) -> Self {
        Drift { renamed: fraction / 3.0, missing: fraction / 3.0, left: fraction / 3.0 }
    }
}

/// Writes a `file`-target snapshot (GoTo Admin API shapes) of the account `org` would
/// produce, with `drift` applied. Returns the number of live accounts.
pub fn write_snapshot(path: &Path, org: &Org, drift: Drift, seed: u64) -> io::Result<usize> {
    const BUSINESS: &str = "7902142105473202120";
    let mut rng = Lcg::new(seed.wrapping_add(1));
    let mut users = Vec::new();
    let mut key = 6_581_286_685_341_855_244u64;
    let mut account = |email: &str, first: &str, last: &str, licensed: bool| {
        key += 1 + (key % 7919);
        format!(
            r#"    {{"key": "{key}", "email": "{email}", "firstName": {}, "lastName": {}, "locale": "en_US", "timeZone": "Europe/Berlin", "licenseKeys": [{}], "adminRoles": [], "nameLocked": false, "emailLocked": false, "identityReadOnly": false, "status": "ACTIVE"}}"#,
            json_string(first),
            json_string(last),
            if licensed { format!("\"{BUSINESS}\"") } else { String::new() }
        )
    };
    for p in &org.people {
        if p.guest || rng.chance(drift.missing) {
            continue;
        }
        let last = if rng.chance(drift.renamed) { format!("{}-Old", p.surname) } else { p.surname.to_owned() };
        users.push(account(&p.upn, p.given, &last, p.enabled));
    }
    let leavers = (org.people.len() as f64 * drift.left).round() as usize;
    for i in 0..leavers {
        users.push(account(&format!("former.{i}@{DOMAIN}"), "Former", "Employee", true));
    }
    let count = users.len();
    let text = format!(
        "{{\n  \"account\": {{\"key\": \"4152318826743922179\", \"name\": \"Acme\"}},\n  \"licenses\": [{{\"key\": \"{BUSINESS}\", \"description\": \"GoToMeeting Business\", \"seats\": {}, \"products\": [\"G2M\"], \"enabled\": true}}],\n  \"users\": [\n{}\n  ]\n}}\n",
        org.people.len() * 2,
        users.join(",\n")
    );
    fs::write(path, text)?;
    Ok(count)
}
