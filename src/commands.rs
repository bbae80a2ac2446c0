//! What each command does, between the CLI and the library: load, plan, render, apply.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::apply::{self, AuditLog};
use crate::cli::{ApplyArgs, Format, PlanArgs};
use crate::config;
use crate::desired;
use crate::diag::{Code, Problem, Problems};
use crate::explain;
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

/// Exit code 3: the plan is blocked by a safety threshold (SPEC 4.1).
pub const BLOCKED: u8 = 3;

/// Exit code 130: interrupted (SIGINT).
pub const INTERRUPTED: u8 = 130;
/// Exit code 143: terminated (SIGTERM, as Docker, Kubernetes and CI cancel send).
pub const TERMINATED: u8 = 143;

static STOPPED_BY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(INTERRUPTED);

/// Records the exit code of the signal that stopped this run (the first one wins).
pub fn stopped_by(code: u8) {
    let _ = STOPPED_BY.compare_exchange(
        INTERRUPTED,
        code,
        std::sync::atomic::Ordering::SeqCst,
        std::sync::atomic::Ordering::SeqCst,
    );
}

fn interrupted_exit() -> ExitCode {
    ExitCode::from(STOPPED_BY.load(std::sync::atomic::Ordering::SeqCst))
}

struct Prepared {
    target: Box<dyn Target>,
    live: LiveState,
    doc: PlanDoc,
    /// `--only` emails the plan has nothing for, each with why (one line).
    nothing_to_do: Vec<String>,
}

/// The current time as `Now()` gives it.
fn now_text() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    crate::expr::time_text(i64::try_from(secs).unwrap_or(0))
}

/// `made_at`: the time of the plan being applied (None: a new plan, made now).
fn prepare(dir: &Path, only: &[String], made_at: Option<String>) -> Result<Prepared, Problems> {
    let mut clock = Phases::start();
    let mut manifest = config::load(dir)?;
    crate::diag::warn(&manifest.warnings);
    clock.done("validate");
    let made_at = made_at.unwrap_or_else(now_text);
    // Everything about the input is checked before the first request.
    let desired = desired::build_at(&manifest, Some(&made_at))?;
    clock.done("desired state");
    // `--only` for someone with nothing to do says why: what the manifests say of them is read now.
    let only_facts: Vec<explain::Facts> = only.iter().map(|q| explain::facts(&manifest, q)).collect();
    // The people's source records are not needed any more: free them before the live state arrives.
    drop(std::mem::take(&mut manifest.directory));
    let mut target = targets::open(&manifest)?;
    // The digest of the manifests is computed while the target is read.
    let (manifest_digest, live) = std::thread::scope(|s| {
        let digest = s.spawn(|| {
            let digest = planfile::manifest_digest(&manifest, &desired)?;
            Ok::<_, Problem>((digest, planfile::manifest_parts(&manifest, &desired)?))
        });
        let live = target.read();
        (digest.join().expect("the digest does not panic"), live)
    });
    let ((manifest_digest, manifest_parts), live) = (manifest_digest?, live?);
    clock.done("read the target (and digest the manifests)");
    let grants = Grants::resolve(&desired, &live)?;
    let plan = plan::planner::plan_resolved(&desired, &live, &grants, &PlanOptions { only: only.to_vec() })?;
    clock.done("plan");
    let nothing_to_do = only_facts
        .into_iter()
        .map(|f| explain::finish(f, &desired, &live, &plan))
        .filter(|e| e.action.is_none())
        .map(|e| format!("{}: {}", e.query.trim(), e.verdict))
        .collect();
    let live_digest = planfile::live_digest(&live, &desired, &grants.managed);
    let mut doc = PlanDoc::new(plan, target.info(), planfile::provenance(dir), manifest_digest, live_digest);
    doc.manifest_parts = manifest_parts;
    doc.made_at = Some(made_at);
    clock.done("live digest and provenance");
    Ok(Prepared { target, live, doc, nothing_to_do })
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
    let prepared = prepare(&args.dir, &args.only, None)?;
    if interrupted() {
        eprintln!("Interrupted: nothing was changed.");
        return Ok(interrupted_exit());
    }
    let doc = &prepared.doc;
    let mut clock = Phases::start();
    print(&render_plan(doc, args.format, out));
    if args.format != Format::Json {
        for line in &prepared.nothing_to_do {
            print(&format!("{line}\n"));
        }
    }
    clock.done("render");
    if let Some(path) = &args.out {
        std::fs::write(path, doc.to_json())
            .map_err(|e| Problem::new(Code::Io, format!("cannot write the plan to {}: {e}", path.display())))?;
        note(out, &format!("Saved the plan to {}; apply it with `rollcall apply {}`.", path.display(), path.display()));
    }
    if !doc.blocks.is_empty() {
        eprintln!("error: the plan is blocked: {}", doc.blocked.as_deref().unwrap_or(""));
        if render::diagnostics::github_actions() {
            for b in &doc.blocks {
                let problem = Problem::new(b.code, b.message.clone())
                    .help("if these removals are intended, a reviewer can allow them: apply with --allow-removals");
                eprint!("{}", render::diagnostics::github_annotations(&problem.into()));
            }
        }
        return Ok(ExitCode::from(BLOCKED));
    }
    Ok(if args.detailed_exitcode && !doc.actions.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// `rollcall explain EMAIL [DIR]`.
pub fn explain(email: &str, dir: &Path, format: Format) -> Result<ExitCode, Problems> {
    let manifest = config::load(dir)?;
    let desired = desired::build_at(&manifest, Some(&now_text()))?;
    let facts = explain::facts(&manifest, email);
    let known = explain::known_emails(&manifest);
    let mut target = targets::open(&manifest)?;
    let live = target.read()?;
    if !facts.known(&live) {
        return Err(explain::unknown(email, &known, &live).into());
    }
    let grants = Grants::resolve(&desired, &live)?;
    let plan = plan::planner::plan_resolved(&desired, &live, &grants, &PlanOptions::default())?;
    let e = explain::finish(facts, &desired, &live, &plan);
    print(&match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&e).expect("an explanation is always serialisable");
            s.push('\n');
            s
        }
        Format::Text | Format::Markdown => explain::render(&e),
    });
    Ok(ExitCode::SUCCESS)
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
        // A saved plan holds secret values masked: a changed secret changes the manifest or live digest.
        && recomputed.changes.iter().all(|c| saved.changes.contains(&c.masked()))
}

/// What differs between the reviewed plan and what would happen now: None when the
/// recomputed plan is the reviewed one or what is left of it.
fn staleness(saved: &PlanDoc, now: &PlanDoc) -> Vec<String> {
    let mut changed = Vec::new();
    if saved.manifest_digest != now.manifest_digest && !saved.manifest_parts.is_empty() {
        changed.extend(changed_parts(saved, now));
    } else if saved.manifest_digest != now.manifest_digest {
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

/// Which parts of the manifests differ between a saved plan and now, in words.
fn changed_parts(saved: &PlanDoc, now: &PlanDoc) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> =
        saved.manifest_parts.keys().chain(now.manifest_parts.keys()).collect();
    let differs: Vec<&str> = keys
        .into_iter()
        .filter(|k| saved.manifest_parts.get(*k) != now.manifest_parts.get(*k))
        .map(String::as_str)
        .collect();
    let yaml: Vec<&str> = differs.iter().filter_map(|k| k.strip_prefix("rollcall.yaml: ")).collect();
    let mut out: Vec<String> = yaml
        .iter()
        .map(|k| format!("the manifests changed since the plan was made: `{k}` in rollcall.yaml changed"))
        .collect();
    if differs.contains(&"desired accounts") {
        out.push(if yaml.is_empty() {
            "the manifests changed since the plan was made: the desired accounts changed (a directory record; rollcall.yaml is as it was)".to_owned()
        } else {
            "the manifests changed since the plan was made: the desired accounts changed".to_owned()
        });
    }
    if out.is_empty() {
        out.push("the manifests changed since the plan was made".to_owned());
    }
    out
}

fn short(digest: &str) -> String {
    render::escape(digest.trim_start_matches("sha256:")).chars().take(12).collect()
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
    if let Some(saved) = &saved
        && !args.only.is_empty()
    {
        return Err(Problem::new(
            Code::OnlyWithPlanFile,
            format!(
                "--only cannot narrow a saved plan: {} applies what was reviewed{}",
                args.path.display(),
                if saved.only.is_empty() {
                    String::new()
                } else {
                    format!(", and it was made with --only {}", render::escape(&saved.only.join(" --only ")))
                }
            ),
        )
        .help("nothing was applied; make and review a plan with `rollcall plan --only EMAIL --out FILE`, or apply the directory with --only")
        .into());
    }
    let dir = match (&saved, &args.dir) {
        (Some(doc), dir) => planfile::resolve_manifest_dir(doc, dir.as_deref())?,
        (None, Some(d)) => d.clone(),
        (None, None) => args.path.clone(),
    };
    let only = saved.as_ref().map_or_else(|| args.only.clone(), |d| d.only.clone());
    let mut prepared = prepare(&dir, &only, saved.as_ref().and_then(|d| d.made_at.clone()))?;
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
    // No flag lifts this one: GoTo would refuse the writes.
    if let Some(b) = doc.blocks.iter().find(|b| b.code == Code::InsufficientAdminRole) {
        return Err(Problem::new(Code::InsufficientAdminRole, format!("the plan is blocked: {}", b.message))
            .help("nothing was applied; `rollcall check` lists the admin roles the credential's user holds")
            .into());
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
            (first.code, "nothing was applied; if these removals are intended, apply again with --allow-removals")
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
        return Ok(interrupted_exit());
    }
    if !confirm(args, doc.actions.len(), doc)? {
        eprintln!("Apply cancelled: nothing was changed.");
        return Ok(ExitCode::from(1));
    }
    if args.format != Format::Json {
        // The report opens with what is applied, where: the reviewer checks it against the PR.
        print(&format!(
            "Applying the manifests in {} {}to {}.\n",
            render::escape(&doc.manifest_dir),
            match &doc.git {
                Some(g) =>
                    format!("at git commit {}{} ", g.commit, if g.dirty { " (with uncommitted changes)" } else { "" }),
                None => "(not in a git work tree) ".to_owned(),
            },
            doc.target.describe()
        ));
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
                for a in saved.actions.iter().filter(|a| !doc.actions.iter().any(|d| d.masked() == **a)) {
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
        return Ok(interrupted_exit());
    }
    Ok(if s.failed > 0 || s.skipped > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

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
    if probe.is_some() && manifest.target.kind != crate::manifest::TargetKind::Goto {
        return Err(
            Problem::new(Code::TargetKey, "--probe settles what GoTo leaves open: it needs a goto target").into()
        );
    }
    let lines: Vec<(String, Result<String, String>)> = match manifest.target.kind {
        crate::manifest::TargetKind::Goto => {
            let settings = targets::goto_settings(&manifest)?;
            match (targets::goto_credentials(), probe) {
                (Ok(grant), Some(email)) => {
                    print(&targets::goto::probe::intent(email));
                    targets::goto::probe::run(settings, grant, email, record)
                }
                (Ok(grant), None) => targets::goto::check(settings, grant),
                (Err(p), _) => {
                    vec![("credentials".into(), Err(format!("{}; {}", p.message, p.help.unwrap_or_default())))]
                }
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
    let ok = lines.iter().all(|(_, r)| r.is_ok());
    if format == Format::Json {
        let checks: Vec<serde_json::Value> = lines
            .iter()
            .map(|(step, r)| match r {
                Ok(s) => serde_json::json!({ "step": step, "ok": true, "detail": s }),
                Err(e) => serde_json::json!({ "step": step, "ok": false, "detail": e }),
            })
            .collect();
        print(&format!("{:#}\n", serde_json::json!({ "ok": ok, "checks": checks })));
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let mut text = String::new();
    for (step, r) in &lines {
        match r {
            Ok(s) => text.push_str(&format!("ok    {step}: {s}\n")),
            Err(e) => text.push_str(&format!("FAIL  {step}: {e}\n")),
        }
    }
    let _ = out;
    print(&text);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
