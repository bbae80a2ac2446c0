//! The standalone binary: `goto-emulator --seed-file live.json --port 0 --print-url`.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_prints_its_url_and_serves_the_seed() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/acme/live.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_goto-emulator"))
        .args(["--seed-file", seed, "--port", "0", "--print-url", "--put-license-keys", "merge", "--rate-limit", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Kill(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
    let http = http();
    let state: serde_json::Value = http.get(format!("{base}/_emulator/state")).send().unwrap().json().unwrap();
    assert_eq!(state["account"]["key"], ACME);
    let config: goto_emulator::Config = http.get(format!("{base}/_emulator/config")).send().unwrap().json().unwrap();
    assert_eq!(config.put_license_keys, goto_emulator::PutGrants::Merge);
    assert_eq!(config.faults.rate_limit_per_second, Some(100));
    let me = http.get(format!("{base}/admin/rest/v1/me")).bearer_auth("at-static").send().unwrap();
    assert_eq!(me.status(), 200);
    drop(child);
}
