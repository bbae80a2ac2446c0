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

mod check;
pub use check::check;

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
    // A local snapshot is read on another core while the directory files load.
    let mut prefetched = None;
    let mut manifest = config::load_watching(dir, &mut |t| prefetched = targets::prefetch(dir, t))?;
    crate::diag::warn(&manifest.warnings);
    clock.done("validate");
    let made_at = made_at.unwrap_or_else(now_text);
    // Everything about the input is checked before the first request.
    // The desired state, the live state and the plan of a large organisation are left to
    // the process's exit: freeing 100,000 accounts piece by piece costs time nobody needs.
    let desired = std::mem::ManuallyDrop::new(desired::build_at(&manifest, Some(&made_at))?);
    clock.done("desired state");
    // `--only` for someone with nothing to do says why: what the manifests say of them is read now.
    let only_facts: Vec<explain::Facts> = only.iter().map(|q| explain::facts(&manifest, q)).collect();
    // The people's source records are not needed any more. They are freed here, before the
    // plan is made, so that the plan's memory is theirs: freed on another thread while the
    // plan ran, they cost the mixed 100,000-person plan 235-245 MiB resident instead of 233.
    drop(std::mem::take(&mut manifest.directory));
    clock.done("free the directory");
    let mut target = targets::open_prefetched(&manifest, prefetched)?;
    // The manifests are digested on another core while the target is read and the plan made.
    let (digests, planned) = std::thread::scope(|s| {
        let digests = s.spawn(|| planfile::manifest_digests(&manifest, &desired));
        let planned = (|| {
            let live = target.read()?;
            clock.done("read the target");
            let grants = Grants::resolve(&desired, &live)?;
            // The live state is digested while the plan is made.
            let (live_digest, plan) = std::thread::scope(|s| {
                let digest = s.spawn(|| planfile::live_digest(&live, &desired, &grants.managed));
                let plan = plan::planner::plan_resolved(&desired, &live, &grants, &PlanOptions { only: only.to_vec() });
                (digest.join().expect("the digest does not panic"), plan)
            });
            clock.done("plan and live digest");
            Ok::<_, Problems>((live, grants, plan?, live_digest))
        })();
        (digests.join().expect("the digest does not panic"), planned)
    });
    let (live, _, plan, live_digest) = planned?;
    let (manifest_digest, manifest_parts) = digests?;
    clock.done("digest the manifests (what was left of it)");
    let nothing_to_do = only_facts
        .into_iter()
        .map(|f| explain::finish(f, &desired, &live, &plan))
        .filter(|e| e.action.is_none())
        .map(|e| format!("{}: {}", e.query.trim(), e.verdict))
        .collect();
    let mut doc = PlanDoc::new(plan, target.info(), planfile::provenance(dir), manifest_digest, live_digest);
    doc.manifest_parts = manifest_parts;
    doc.made_at = Some(made_at);
    clock.done("provenance");
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
    // Left to the process's exit (see `prepare`).
    let prepared = std::mem::ManuallyDrop::new(prepare(&args.dir, &args.only, None)?);
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
        note(out, &format!("Plan made from commit {}.", git.describe()));
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

/// What differs between the reviewed plan and what would happen now: empty when the
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
    let mut actions = Vec::new();
    for a in &now.actions {
        match saved.actions.iter().find(|s| s.email.eq_ignore_ascii_case(&a.email) && s.key == a.key) {
            None => actions.push(format!("{} {}: not in the reviewed plan", a.action.as_str(), a.email)),
            Some(s) if !contained(a, s) => actions.push(format!(
                "{} {}: differs from the reviewed {} (the account changed)",
                a.action.as_str(),
                a.email,
                s.action.as_str()
            )),
            Some(_) => {}
        }
    }
    // The live digest alone does not make a plan stale (its actions may still hold); it says
    // whether the account is one of the reasons.
    if (!changed.is_empty() || !actions.is_empty()) && saved.live_digest != now.live_digest {
        changed.push(format!(
            "the live account changed since the plan was made (live digest {} is now {})",
            short(&saved.live_digest),
            short(&now.live_digest)
        ));
    }
    changed.extend(actions);
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
    let saved = saved_plan(args)?;
    let dir = match (&saved, &args.dir) {
        (Some(doc), dir) => planfile::resolve_manifest_dir(doc, dir.as_deref())?,
        (None, Some(d)) => d.clone(),
        (None, None) => args.path.clone(),
    };
    let only = saved.as_ref().map_or_else(|| args.only.clone(), |d| d.only.clone());
    let mut prepared = prepare(&dir, &only, saved.as_ref().and_then(|d| d.made_at.clone()))?;
    let doc = &prepared.doc;
    let mut account_changed = false;
    if let Some(saved) = &saved {
        account_changed = still_as_reviewed(saved, doc, out)?;
    } else if args.format != Format::Json {
        // With --format json stdout carries one document: the report.
        print(&render_plan(doc, args.format, out));
    }
    refuse_blocked(doc, args)?;
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
        print(&report_header(doc));
    }
    if account_changed {
        // Terraform's rule: the reviewed actions still hold, so they are applied; the report says why.
        let line = "The live account changed since the plan was made; the actions are the same as reviewed, so they are applied.";
        if args.format == Format::Json { note(out, line) } else { print(&format!("{line}\n")) }
    }
    let mut audit = open_audit_log(args, &prepared, saved.as_ref())?;
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

/// The saved plan `apply PLANFILE` names (None: `apply DIR`); `--only` cannot narrow it.
fn saved_plan(args: &ApplyArgs) -> Result<Option<PlanDoc>, Problems> {
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
    Ok(saved)
}

/// Refuses a stale plan and says when it resumes one. `Ok(true)`: the live account changed
/// since the plan was made, but what is left to do is exactly what was reviewed.
fn still_as_reviewed(saved: &PlanDoc, doc: &PlanDoc, out: Output) -> Result<bool, Problems> {
    if let Some(g) = &saved.git {
        note(out, &format!("Applying the plan made from commit {}.", g.describe()));
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
    Ok(saved.live_digest != doc.live_digest && !doc.actions.is_empty() && same_actions(saved, doc))
}

/// Does the recomputed plan hold exactly the reviewed actions (none done, none partly done)?
/// Through `contained`, so it compares actions as a saved plan holds them.
fn same_actions(saved: &PlanDoc, now: &PlanDoc) -> bool {
    now.actions.len() == saved.actions.len()
        && now
            .actions
            .iter()
            .zip(&saved.actions)
            .all(|(a, s)| a.action == s.action && a.changes.len() == s.changes.len() && contained(a, s))
}

/// Refuses a blocked plan unless the flag that lifts its block is given.
fn refuse_blocked(doc: &PlanDoc, args: &ApplyArgs) -> Result<(), Problems> {
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
    Ok(())
}

/// The report's first line: what is applied, where (the reviewer checks it against the PR).
fn report_header(doc: &PlanDoc) -> String {
    format!(
        "Applying the manifests in {} {}to {}.\n",
        render::escape(&doc.manifest_dir),
        match &doc.git {
            Some(g) => format!("at git commit {} ", g.describe()),
            None => "(not in a git work tree) ".to_owned(),
        },
        doc.target.describe()
    )
}

/// `--audit-log FILE`, opened before the first write.
fn open_audit_log(
    args: &ApplyArgs,
    prepared: &Prepared,
    saved: Option<&PlanDoc>,
) -> Result<Option<AuditLog>, Problems> {
    let Some(path) = args.audit_log.as_deref() else { return Ok(None) };
    let doc = &prepared.doc;
    let context = apply::RunContext::new(
        &prepared.target.info(),
        &doc.manifest_digest,
        doc.git.as_ref().map(|g| g.commit.clone()),
    );
    let mut log = AuditLog::open(path, context)?;
    // A resumed apply: the saved plan's actions an interrupted run already made get
    // their outcome line, so every reviewed action has one.
    if let Some(saved) = saved {
        for a in saved.actions.iter().filter(|a| !doc.actions.iter().any(|d| d.masked() == **a)) {
            log.already_applied(a)?;
        }
    }
    Ok(Some(log))
}
