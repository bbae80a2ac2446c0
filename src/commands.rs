//! What each command does, between the CLI and the library: load, plan, render, apply.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::apply::{self, AuditLog};
use crate::cli::{ApplyArgs, Format, PlanArgs};
use crate::config;
use crate::desired;
use crate::diag::{Code, Problem, Problems};
use crate::live::LiveState;
use crate::plan::planner::Grants;
use crate::plan::{self, Action, PlanOptions};
use crate::planfile::{self, PlanDoc};
use crate::render::{self, markdown, text};
use crate::targets::{self, Target, interrupted};

/// How output should look.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Colour on stdout.
    pub color: bool,
    pub quiet: bool,
}

/// Exit code 130: interrupted.
pub const INTERRUPTED: u8 = 130;

struct Prepared {
    target: Box<dyn Target>,
    live: LiveState,
    doc: PlanDoc,
}

fn prepare(dir: &Path, only: &[String]) -> Result<Prepared, Problems> {
    let mut clock = Phases::start();
    let mut manifest = config::load(dir)?;
    crate::diag::warn(&manifest.warnings);
    clock.done("validate");
    // Everything about the input is checked before the first request.
    let desired = desired::build(&manifest)?;
    clock.done("desired state");
    // The people's source records are not needed any more: free them before the live state arrives.
    drop(std::mem::take(&mut manifest.directory));
    let mut target = targets::open(&manifest)?;
    // The digest of the manifests is computed while the target is read.
    let (manifest_digest, live) = std::thread::scope(|s| {
        let digest = s.spawn(|| planfile::manifest_digest(&manifest, &desired));
        let live = target.read();
        (digest.join().expect("the digest does not panic"), live)
    });
    let (manifest_digest, live) = (manifest_digest?, live?);
    clock.done("read the target (and digest the manifests)");
    let grants = Grants::resolve(&desired, &live)?;
    let plan = plan::planner::plan_resolved(&desired, &live, &grants, &PlanOptions { only: only.to_vec() })?;
    clock.done("plan");
    let live_digest = planfile::live_digest(&live, &desired, &grants.managed);
    let doc = PlanDoc::new(plan, target.info(), planfile::provenance(dir), manifest_digest, live_digest);
    clock.done("live digest and provenance");
    Ok(Prepared { target, live, doc })
}

/// `-vv`: how long each phase took, on stderr.
struct Phases(Option<std::time::Instant>);

impl Phases {
    fn start() -> Self {
        Phases((crate::progress::verbosity() >= 2).then(std::time::Instant::now))
    }
    fn done(&mut self, phase: &str) {
        if let Some(t) = self.0 {
            eprintln!("{phase}: {} ms", t.elapsed().as_millis());
            self.0 = Some(std::time::Instant::now());
        }
    }
}

fn render_plan(doc: &PlanDoc, format: Format, out: Output) -> String {
    let plan = doc.plan();
    match format {
        Format::Text => text::render(&plan, &doc.target, out.color),
        Format::Markdown => markdown::render(&plan, &doc.target, doc.git.as_ref().map(|g| g.commit.as_str())),
        Format::Json => doc.to_json(),
    }
}

fn print(s: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(s.as_bytes());
    let _ = stdout.flush();
}

fn note(out: Output, s: &str) {
    if !out.quiet {
        eprintln!("{s}");
    }
}

pub fn plan(args: &PlanArgs, out: Output) -> Result<ExitCode, Problems> {
    let prepared = prepare(&args.dir, &args.only)?;
    if interrupted() {
        eprintln!("Interrupted: nothing was changed.");
        return Ok(ExitCode::from(INTERRUPTED));
    }
    let doc = &prepared.doc;
    let mut clock = Phases::start();
    print(&render_plan(doc, args.format, out));
    clock.done("render");
    if let Some(path) = &args.out {
        std::fs::write(path, doc.to_json())
            .map_err(|e| Problem::new(Code::Io, format!("cannot write the plan to {}: {e}", path.display())))?;
        note(out, &format!("Saved the plan to {}; apply it with `rollcall apply {}`.", path.display(), path.display()));
    }
    if !doc.blocks.is_empty() {
        eprintln!("error: the plan is blocked: {}", doc.blocked.as_deref().unwrap_or(""));
        return Ok(ExitCode::from(1));
    }
    Ok(if args.detailed_exitcode && !doc.actions.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

pub fn show(path: &Path, format: Format, out: Output) -> Result<ExitCode, Problems> {
    let doc = PlanDoc::read(path)?;
    if let Some(git) = &doc.git {
        note(
            out,
            &format!(
                "Plan made from commit {}{}.",
                git.commit,
                if git.dirty { " (with uncommitted changes)" } else { "" }
            ),
        );
    }
    print(&render_plan(&doc, format, out));
    Ok(ExitCode::SUCCESS)
}

/// Is `recomputed` (what still has to happen) contained in `saved` (what was reviewed)?
/// An action partly applied by an interrupted run counts as contained when its remaining
/// changes are a subset of the reviewed ones.
fn contained(recomputed: &Action, saved: &Action) -> bool {
    recomputed.email.eq_ignore_ascii_case(&saved.email)
        && recomputed.key == saved.key
        && (recomputed.action == saved.action
            || saved.action == crate::plan::ActionKind::Enable && recomputed.action == crate::plan::ActionKind::Update)
        && recomputed.changes.iter().all(|c| saved.changes.contains(c))
}

/// What differs between the reviewed plan and what would happen now: None when the
/// recomputed plan is the reviewed one or what is left of it.
fn staleness(saved: &PlanDoc, now: &PlanDoc) -> Vec<String> {
    let mut changed = Vec::new();
    if saved.manifest_digest != now.manifest_digest {
        changed.push(format!(
            "the manifests changed since the plan was made (manifest digest {} is now {})",
            short(&saved.manifest_digest),
            short(&now.manifest_digest)
        ));
    }
    if saved.target.kind != now.target.kind || saved.target.account != now.target.account {
        changed.push(format!(
            "the plan is for {}, the manifests now point at {}",
            saved.target.describe(),
            now.target.describe()
        ));
    }
    for a in &now.actions {
        match saved.actions.iter().find(|s| s.email.eq_ignore_ascii_case(&a.email) && s.key == a.key) {
            None => changed.push(format!("{} {}: not in the reviewed plan", a.action.as_str(), a.email)),
            Some(s) if !contained(a, s) => changed.push(format!(
                "{} {}: differs from the reviewed {} (the account changed)",
                a.action.as_str(),
                a.email,
                s.action.as_str()
            )),
            Some(_) => {}
        }
    }
    changed
}

fn short(digest: &str) -> &str {
    let d = digest.trim_start_matches("sha256:");
    &d[..d.len().min(12)]
}

fn confirm(args: &ApplyArgs, n: usize, doc: &PlanDoc) -> Result<bool, Problems> {
    if args.auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Problem::new(
            Code::Confirmation,
            "refusing to apply without confirmation: stdin is not a terminal",
        )
        .help("review the plan, then pass --auto-approve (CI applies the reviewed plan file this way)")
        .into());
    }
    eprint!(
        "\nApply {n} change{} to {}? Only 'yes' will be accepted: ",
        if n == 1 { "" } else { "s" },
        doc.target.describe()
    );
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(answer.trim() == "yes")
}

pub fn apply(args: &ApplyArgs, out: Output) -> Result<ExitCode, Problems> {
    let saved = if args.path.is_file() { Some(PlanDoc::read(&args.path)?) } else { None };
    let dir = match (&saved, &args.dir) {
        (_, Some(d)) => d.clone(),
        (Some(doc), None) => planfile::resolve_manifest_dir(doc),
        (None, None) => args.path.clone(),
    };
    let only = saved.as_ref().map_or_else(|| args.only.clone(), |d| d.only.clone());
    let mut prepared = prepare(&dir, &only)?;
    let doc = &prepared.doc;
    if let Some(saved) = &saved {
        if let Some(g) = &saved.git {
            note(
                out,
                &format!(
                    "Applying the plan made from commit {}{}.",
                    g.commit,
                    if g.dirty { " (with uncommitted changes)" } else { "" }
                ),
            );
        }
        let changed = staleness(saved, doc);
        if !changed.is_empty() {
            let mut p = Problem::new(
                Code::StalePlan,
                "the plan is stale: the live account or the manifests changed since it was reviewed",
            )
            .help("nothing was applied; make and review a new plan with `rollcall plan --out FILE`");
            for c in &changed {
                p.message.push_str(&format!("\n  - {c}"));
            }
            return Err(p.into());
        }
        if !doc.actions.is_empty() && doc.actions.len() < saved.actions.len() {
            note(
                out,
                &format!(
                    "Resuming: {} of the plan's {} actions are already applied; applying the remaining {}.",
                    saved.actions.len() - doc.actions.len(),
                    saved.actions.len(),
                    doc.actions.len()
                ),
            );
        }
    } else if args.format != Format::Json {
        // With --format json stdout carries one document: the report.
        print(&render_plan(doc, args.format, out));
    }
    // Each block is lifted by its own flag: --allow-removals does not say "over the seats".
    let standing: Vec<&crate::plan::Block> = doc
        .blocks
        .iter()
        .filter(|b| if b.code == Code::SeatsExceeded { !args.allow_over_seats } else { !args.allow_removals })
        .collect();
    if let Some(first) = standing.first() {
        let (code, help) = if first.code == Code::SeatsExceeded {
            (
                Code::SeatsExceeded,
                "nothing was applied; free seats or buy more, or if GoTo should refuse what does not fit, apply again with --allow-over-seats",
            )
        } else {
            (
                Code::RemovalThreshold,
                "nothing was applied; if these removals are intended, apply again with --allow-removals",
            )
        };
        let reasons: Vec<&str> = standing.iter().map(|b| b.message.as_str()).collect();
        return Err(Problem::new(code, format!("the plan is blocked: {}", reasons.join("; "))).help(help).into());
    }
    if doc.actions.is_empty() {
        if let Some(saved) = &saved {
            print(if saved.actions.is_empty() {
                "No changes. The account matches the manifests.\n"
            } else {
                "Nothing to do: every action of this plan is already applied.\n"
            });
        }
        return Ok(ExitCode::SUCCESS);
    }
    if interrupted() {
        eprintln!("Interrupted: nothing was changed.");
        return Ok(ExitCode::from(INTERRUPTED));
    }
    if !confirm(args, doc.actions.len(), doc)? {
        eprintln!("Apply cancelled: nothing was changed.");
        return Ok(ExitCode::from(1));
    }
    let mut audit = match args.audit_log.as_deref() {
        Some(path) => {
            let context = apply::RunContext::new(
                &prepared.target.info(),
                &doc.manifest_digest,
                doc.git.as_ref().map(|g| g.commit.clone()),
            );
            let mut log = AuditLog::open(path, context)?;
            // A resumed apply: the saved plan's actions an interrupted run already made get
            // their outcome line, so every reviewed action has one.
            if let Some(saved) = &saved {
                for a in saved.actions.iter().filter(|a| !doc.actions.contains(a)) {
                    log.already_applied(a)?;
                }
            }
            Some(log)
        }
        None => None,
    };
    let report = apply::execute(prepared.target.as_mut(), &doc.actions, &prepared.live, audit.as_mut())?;
    print(&match args.format {
        Format::Text => render::report::text(&report),
        Format::Markdown => render::report::markdown(&report),
        Format::Json => render::report::json(&report),
    });
    if let Some((why, _)) = &report.audit_failure {
        return Err(Problem::new(Code::AuditLog, format!("the audit log could not be written mid-run: {why}"))
            .help(
                "no change was started after that; the report above names the actions whose outcome is not in the log",
            )
            .into());
    }
    let s = report.summary();
    if s.skipped > 0 && interrupted() {
        return Ok(ExitCode::from(INTERRUPTED));
    }
    Ok(if s.failed > 0 || s.skipped > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `rollcall check`: each step on its own line, ok or what to fix; exit 1 if any fails.
pub fn check(dir: &Path, out: Output) -> Result<ExitCode, Problems> {
    let manifest = config::load(dir)?;
    let lines: Vec<(String, Result<String, String>)> = match manifest.target.kind {
        crate::manifest::TargetKind::Goto => {
            let settings = targets::goto_settings(&manifest)?;
            match targets::goto_credentials() {
                Ok(grant) => targets::goto::check(settings, grant),
                Err(p) => vec![("credentials".into(), Err(format!("{}; {}", p.message, p.help.unwrap_or_default())))],
            }
        }
        _ => {
            let mut t = targets::open(&manifest)?;
            match t.read() {
                Ok(live) => {
                    let mut lines = vec![
                        ("account".to_owned(), Ok(t.info().describe())),
                        ("users".to_owned(), Ok(format!("{} users", live.accounts.len()))),
                    ];
                    // A SCIM service has roles, not licenses.
                    if !live.licenses.is_empty() {
                        let licenses = live
                            .licenses
                            .iter()
                            .map(|l| {
                                format!(
                                    "{} ({}): {} seats",
                                    l.description,
                                    l.key,
                                    l.seats.map_or("?".into(), |s| s.to_string())
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; ");
                        lines.push(("licenses".to_owned(), Ok(licenses)));
                    }
                    lines
                }
                Err(p) => vec![("read".into(), Err(p.message))],
            }
        }
    };
    let mut text = String::new();
    let mut ok = true;
    for (step, r) in &lines {
        match r {
            Ok(s) => text.push_str(&format!("ok    {step}: {s}\n")),
            Err(e) => {
                ok = false;
                text.push_str(&format!("FAIL  {step}: {e}\n"));
            }
        }
    }
    let _ = out;
    print(&text);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
