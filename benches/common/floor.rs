//! The parse floor: what merely reading a manifest directory's inputs costs, with no rollcall
//! code at all — the same files `rollcall plan` reads: the YAML directory files (as YAML
//! events alone, and with serde-saphyr into plain typed structs), the Entra JSON export and
//! the `file`-target snapshot (serde_json into typed structs) and the CSV, one after another
//! on one core (median of `RUNS` each).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

const RUNS: usize = 3;

#[derive(Deserialize)]
#[allow(dead_code, non_snake_case)]
struct YamlUser {
    userPrincipalName: Option<String>,
    mail: Option<String>,
    givenName: Option<String>,
    surname: Option<String>,
    displayName: Option<String>,
    preferredLanguage: Option<String>,
    department: Option<String>,
    employeeId: Option<String>,
    accountEnabled: Option<bool>,
}

#[derive(Deserialize, Default)]
#[allow(dead_code)]
struct YamlGroup {
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct YamlFile {
    #[serde(default)]
    users: Vec<YamlUser>,
    #[serde(default)]
    groups: BTreeMap<String, YamlGroup>,
}

#[derive(Deserialize)]
#[allow(dead_code, non_snake_case)]
struct EntraUser {
    accountEnabled: Option<bool>,
    department: Option<String>,
    displayName: Option<String>,
    employeeId: Option<String>,
    givenName: Option<String>,
    id: String,
    mail: Option<String>,
    preferredLanguage: Option<String>,
    surname: Option<String>,
    userPrincipalName: String,
    userType: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code, non_snake_case)]
struct SnapshotUser {
    key: String,
    email: String,
    firstName: Option<String>,
    lastName: Option<String>,
    locale: Option<String>,
    timeZone: Option<String>,
    licenseKeys: Vec<String>,
    adminRoles: Vec<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Snapshot {
    users: Vec<SnapshotUser>,
    licenses: Vec<serde_json::Value>,
}

/// The files of one manifest directory, by kind.
#[derive(Default)]
struct Inputs {
    yaml: Vec<String>,
    entra: Vec<String>,
    csv: Vec<String>,
    snapshot: Option<String>,
}

fn collect(dir: &Path, inputs: &mut Inputs) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).expect("read dir").map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            collect(&path, inputs);
        } else if name == "rollcall.yaml" {
            // the manifest itself is tiny; rollcall's own parsing of it is not the floor
        } else if name.ends_with(".yaml") {
            inputs.yaml.push(std::fs::read_to_string(&path).unwrap());
        } else if name == "live.json" {
            inputs.snapshot = Some(std::fs::read_to_string(&path).unwrap());
        } else if name.ends_with(".json") {
            inputs.entra.push(std::fs::read_to_string(&path).unwrap());
        } else if name.ends_with(".csv") {
            inputs.csv.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

fn median_ms(mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        count = std::hint::black_box(f());
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[RUNS / 2], count)
}

/// The milliseconds of each part, for one manifest directory.
pub struct Floor {
    pub bytes: usize,
    pub yaml_events_ms: f64,
    pub yaml_typed_ms: f64,
    pub json_ms: f64,
    pub csv_ms: f64,
    pub snapshot_ms: f64,
}

impl Floor {
    /// Typed YAML, JSON, CSV and the snapshot, one after another.
    pub fn total_ms(&self) -> f64 {
        self.yaml_typed_ms + self.json_ms + self.csv_ms + self.snapshot_ms
    }
}

/// Parses the inputs of the manifest directory `dir` (and its `live.json`).
pub fn measure(dir: &Path) -> Floor {
    let mut inputs = Inputs::default();
    collect(dir, &mut inputs);
    let (yaml_events_ms, _) = median_ms(|| {
        inputs
            .yaml
            .iter()
            .map(|t| granit_parser::Parser::new_from_str(t).inspect(|e| assert!(e.is_ok(), "YAML events")).count())
            .sum()
    });
    let (yaml_typed_ms, _) = median_ms(|| {
        inputs
            .yaml
            .iter()
            .map(|t| {
                serde_saphyr::from_str_with_options::<YamlFile>(t, rollcall::manifest::yaml::options())
                    .expect("plain YAML")
                    .users
                    .len()
            })
            .sum()
    });
    let (json_ms, _) = median_ms(|| {
        inputs.entra.iter().map(|t| serde_json::from_str::<Vec<EntraUser>>(t).expect("Entra JSON").len()).sum()
    });
    let (csv_ms, _) = median_ms(|| {
        inputs
            .csv
            .iter()
            .map(|t| csv::Reader::from_reader(t.as_bytes()).records().inspect(|r| assert!(r.is_ok(), "CSV")).count())
            .sum()
    });
    let (snapshot_ms, _) = median_ms(|| {
        inputs.snapshot.as_deref().map_or(0, |t| serde_json::from_str::<Snapshot>(t).expect("snapshot").users.len())
    });
    let bytes = inputs.yaml.iter().chain(&inputs.entra).chain(&inputs.csv).map(String::len).sum::<usize>()
        + inputs.snapshot.as_ref().map_or(0, String::len);
    Floor { bytes, yaml_events_ms, yaml_typed_ms, json_ms, csv_ms, snapshot_ms }
}
