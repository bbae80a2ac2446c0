use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use rollcall::cli::{Cli, ColorChoice, Command, SchemaFor};
use rollcall::commands::{self, INTERRUPTED, Output};
use rollcall::diag::{Code, Problem, Problems};

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
    // First Ctrl-C: finish the action in flight, skip the rest, report, exit 130.
    // Second: leave at once (every target write is atomic, so nothing is half-written).
    let _ = ctrlc::set_handler(|| {
        if rollcall::targets::interrupted() {
            std::process::exit(i32::from(INTERRUPTED));
        }
        rollcall::targets::interrupt();
        eprintln!("\nInterrupted: finishing the action in flight, then stopping.");
    });
    let result = match &cli.command {
        Command::Validate { dir } => rollcall::config::load(dir).map(|m| {
            rollcall::diag::warn(&m.warnings);
            if !cli.quiet {
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
        }),
        Command::Plan(args) => commands::plan(args, out),
        Command::Apply(args) => commands::apply(args, out),
        Command::Show { plan, format } => commands::show(plan, *format, out),
        Command::Check { dir } => commands::check(dir, out),
        Command::Diff(args) => {
            rollcall::revdiff::run(&args.base, args.head.as_deref(), &args.dir, args.format, out.color)
        }
        Command::Import(args) => rollcall::import::run(args, out.quiet),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "rollcall", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => rollcall::cli::man_pages(out).map(|()| ExitCode::SUCCESS).map_err(|e| {
            Problem::new(Code::Io, format!("cannot write the man pages to {}: {e}", out.display())).into()
        }),
        Command::Schema { schema_for } => {
            print!(
                "{}",
                match schema_for {
                    SchemaFor::Rollcall => rollcall::schema::rollcall(),
                    SchemaFor::Directory => rollcall::schema::directory(),
                    SchemaFor::AuditLine => rollcall::apply::schema(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(problems) => {
            report(&problems, color_for(std::io::stderr().is_terminal()));
            ExitCode::from(1)
        }
    }
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
