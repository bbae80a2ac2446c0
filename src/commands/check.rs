//! `rollcall check [--probe EMAIL [--record DIR]]`: what is checked, in which order, and how
//! the steps are shown and recorded. Each target checks its own connection beneath it
//! (`Target::check`); the GoTo probe settles what GoTo's documentation leaves open.

use std::path::Path;
use std::process::ExitCode;

use super::{Output, print};
use crate::cli::Format;
use crate::config::{self, Manifest};
use crate::diag::{Code, Problem, Problems};
use crate::manifest::TargetKind;
use crate::targets::goto::{self, GotoTarget};
use crate::targets::{self, CheckStep};

/// `rollcall check`: each step on its own line, ok or what to fix; exit 1 if any fails.
/// With `probe`: the GoTo probe (`check --probe EMAIL`), saying first what it will do.
pub fn check(
    dir: &Path,
    probe: Option<&str>,
    record: Option<&Path>,
    format: Format,
    out: Output,
) -> Result<ExitCode, Problems> {
    let manifest = config::load(dir)?;
    if probe.is_some() && manifest.target.kind != TargetKind::Goto {
        return Err(
            Problem::new(Code::TargetKey, "--probe settles what GoTo leaves open: it needs a goto target").into()
        );
    }
    let steps = match manifest.target.kind {
        TargetKind::Goto => check_goto(&manifest, probe, record)?,
        _ => targets::open(&manifest)?.check(),
    };
    let _ = out;
    print(&show(&steps, format));
    Ok(if steps.iter().all(|s| s.result.is_ok()) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// A goto target: the credentials first (their absence is a step, not an error), then the
/// target's checks or the probe.
fn check_goto(manifest: &Manifest, probe: Option<&str>, record: Option<&Path>) -> Result<Vec<CheckStep>, Problem> {
    let settings = targets::goto_settings(manifest)?;
    let grant = match targets::goto_credentials() {
        Ok(grant) => grant,
        Err(p) => {
            return Ok(vec![CheckStep::fail("credentials", format!("{}; {}", p.message, p.help.unwrap_or_default()))]);
        }
    };
    if let Some(email) = probe {
        print(&goto::probe::intent(email));
    }
    let mut target = match GotoTarget::new(settings, grant) {
        Ok(t) => t,
        Err(p) => return Ok(vec![CheckStep::fail("setup", p.message)]),
    };
    let Some(email) = probe else { return Ok(targets::Target::check(&mut target)) };
    if record.is_some() {
        target.record_exchanges();
    }
    let mut steps = goto::probe::run(&target, email);
    if let Some(dir) = record {
        steps.push(save_exchanges(dir, &target.recorded_exchanges()));
    }
    Ok(steps)
}

/// `--record DIR`: each exchange in its own numbered file, named after what it did.
fn save_exchanges(dir: &Path, exchanges: &[serde_json::Value]) -> CheckStep {
    let saved = (|| -> std::io::Result<usize> {
        std::fs::create_dir_all(dir)?;
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
    CheckStep {
        step: "record".into(),
        result: saved
            .map(|n| format!("{n} exchanges saved in {} (secrets redacted)", dir.display()))
            .map_err(|e| format!("cannot write {}: {e}", dir.display())),
    }
}

/// The steps as `ok`/`FAIL` lines, or as one JSON document.
fn show(steps: &[CheckStep], format: Format) -> String {
    if format == Format::Json {
        let checks: Vec<serde_json::Value> = steps
            .iter()
            .map(|s| match &s.result {
                Ok(found) => serde_json::json!({ "step": s.step, "ok": true, "detail": found }),
                Err(fix) => serde_json::json!({ "step": s.step, "ok": false, "detail": fix }),
            })
            .collect();
        let ok = steps.iter().all(|s| s.result.is_ok());
        return format!("{:#}\n", serde_json::json!({ "ok": ok, "checks": checks }));
    }
    let mut text = String::new();
    for s in steps {
        match &s.result {
            Ok(found) => text.push_str(&format!("ok    {}: {found}\n", s.step)),
            Err(fix) => text.push_str(&format!("FAIL  {}: {fix}\n", s.step)),
        }
    }
    text
}
