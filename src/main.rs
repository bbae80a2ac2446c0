use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use rollcall::cli::{Cli, ColorChoice, Command, Format, SchemaFor};
use rollcall::commands::{self, BLOCKED, INTERRUPTED, Output, TERMINATED};
use rollcall::diag::{Code, Problem, Problems};
use rollcall::render::diagnostics;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color_for = |terminal: bool| match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color && terminal,
    };
    rollcall::progress::set_quiet(cli.quiet);
    rollcall::progress::set_verbosity(cli.verbose);
    let out = Output { color: color_for(std::io::stdout().is_terminal()), quiet: cli.quiet };
    let _ = ctrlc::set_handler(|| on_signal(INTERRUPTED));
    #[cfg(unix)]
    on_sigterm();
    let result = match &cli.command {
        // Desired state too: what it finds (an email outside scope.domains) is a validation error.
        Command::Validate { dir, format } => {
            // The directory and the desired state (100,000 people each, say) are left to the
            // process's exit, as `plan` leaves them: freeing them piece by piece tells nobody anything.
            let checked = rollcall::config::load(dir).and_then(|m| {
                rollcall::desired::build(&m).map(|desired| {
                    std::mem::forget(desired);
                    std::mem::ManuallyDrop::new(m)
                })
            });
            checked.map(|m| {
                rollcall::diag::warn(&m.warnings);
                if *format == Format::Json {
                    let doc = serde_json::json!({
                        "ok": true,
                        "diagnostics": [],
                        "people": m.directory.people.len(),
                        "groups": m.directory.groups.len(),
                        "roles": m.roles.len(),
                        "assignments": m.assignments.len(),
                    });
                    println!("{doc:#}");
                } else if !cli.quiet {
                    eprintln!(
                        "{}: ok ({} people, {} groups, {} roles, {} assignments)",
                        m.root.name(),
                        m.directory.people.len(),
                        m.directory.groups.len(),
                        m.roles.len(),
                        m.assignments.len()
                    );
                }
                ExitCode::SUCCESS
            })
        }
        Command::Plan(args) => commands::plan(args, out),
        Command::Apply(args) => commands::apply(args, out),
        Command::Show { plan, format } => commands::show(plan, *format, out),
        Command::Check { dir, probe, record, format } => {
            commands::check(dir, probe.as_deref(), record.as_deref(), *format, out)
        }
        Command::Explain { email, dir, format } => commands::explain(email, dir, *format),
        Command::Diff(args) => {
            rollcall::revdiff::run(&args.base, args.head.as_deref(), &args.dir, args.format, out.color)
        }
        Command::Import(args) => rollcall::import::run(args, out.quiet).inspect(|_| {
            if args.format == Format::Json {
                print!("{}", diagnostics::json(&Problems::default()));
            }
        }),
        Command::Pull(args) => rollcall::graph::pull::run(&args.dir, args.detailed_exitcode, out.quiet),
        Command::Completions { shell, .. } => {
            clap_complete::generate(*shell, &mut Cli::command(), "rollcall", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out, .. } => rollcall::cli::man_pages(out).map(|()| ExitCode::SUCCESS).map_err(|e| {
            Problem::new(Code::Io, format!("cannot write the man pages to {}: {e}", out.display())).into()
        }),
        Command::Schema { schema_for, .. } => {
            print!(
                "{}",
                match schema_for {
                    SchemaFor::Rollcall => rollcall::schema::rollcall(),
                    SchemaFor::Directory => rollcall::schema::directory(),
                    SchemaFor::Explain => rollcall::schema::explain(),
                    SchemaFor::Plan => rollcall::schema::plan(),
                    SchemaFor::Report => rollcall::schema::report(),
                    SchemaFor::Diagnostics => rollcall::schema::diagnostics(),
                    SchemaFor::AuditLine => rollcall::schema::audit_line(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(problems) => {
            if diagnostics::github_actions() {
                eprint!("{}", diagnostics::github_annotations(&problems));
            }
            if cli.command.format() == Format::Json {
                print!("{}", diagnostics::json(&problems));
            } else {
                report(&problems, color_for(std::io::stderr().is_terminal()));
            }
            // A plan refused only because it is blocked is not an error: it awaits a decision.
            ExitCode::from(if problems.is_block() { BLOCKED } else { 1 })
        }
    }
}

/// First SIGINT or SIGTERM: finish the action in flight, skip the rest, report, exit 130 or
/// 143 (by returning, not by dying from the signal). Second: leave at once (every target
/// write is atomic, so nothing is half-written).
fn on_signal(code: u8) {
    if rollcall::targets::interrupted() {
        std::process::exit(i32::from(code));
    }
    commands::stopped_by(code);
    rollcall::targets::interrupt();
    eprintln!("\nInterrupted: finishing the action in flight, then stopping.");
}

/// SIGTERM as ctrlc treats SIGINT, with its own exit code (ctrlc's `termination` feature
/// would not say which signal came): the handler only writes a byte to a socket, which is
/// async-signal-safe; a thread reads it and does the rest.
#[cfg(unix)]
fn on_sigterm() {
    use std::io::{Read, Write};
    const SIGTERM: std::ffi::c_int = 15;
    let Ok((mut reader, writer)) = std::os::unix::net::UnixStream::pair() else { return };
    // SAFETY: the action makes one write(2) on a socket: no allocation, no lock.
    let registered = unsafe {
        signal_hook_registry::register(SIGTERM, move || {
            let _ = (&writer).write(&[1]);
        })
    };
    if registered.is_err() {
        return;
    }
    let _ = std::thread::Builder::new().name("sigterm".into()).spawn(move || {
        let mut byte = [0u8; 1];
        while matches!(reader.read(&mut byte), Ok(1)) {
            on_signal(TERMINATED);
        }
    });
}

/// Problems of one kind shown in full before the rest are counted (100,000 unknown members
/// would otherwise take minutes to render and nobody would read them).
const MAX_PER_CODE: usize = 20;

fn report(problems: &Problems, color: bool) {
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme);
    let mut out = String::new();
    let mut shown: std::collections::BTreeMap<rollcall::diag::Code, usize> = Default::default();
    for p in &problems.0 {
        let n = shown.entry(p.code).or_default();
        *n += 1;
        if *n <= MAX_PER_CODE {
            let _ = handler.render_report(&mut out, p.for_display().as_ref());
            out.push('\n');
        }
    }
    for (code, n) in &shown {
        if *n > MAX_PER_CODE {
            out.push_str(&format!("… and {} more {code} problems not shown\n", n - MAX_PER_CODE));
        }
    }
    let n = problems.len();
    out.push_str(&format!("error: {n} problem{} found\n", if n == 1 { "" } else { "s" }));
    eprint!("{out}");
}
