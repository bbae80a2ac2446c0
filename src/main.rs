use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use rollcall::cli::{Cli, ColorChoice, Command, SchemaFor};
use rollcall::diag::Problems;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
        }
    };
    match run(&cli, color) {
        Ok(code) => code,
        Err(problems) => {
            report(&problems, color);
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli, color: bool) -> Result<ExitCode, Problems> {
    match &cli.command {
        Command::Validate { dir } => {
            let manifest = rollcall::manifest::validate::load(dir)?;
            if !cli.quiet {
                eprintln!(
                    "{}: ok ({} people, {} groups, {} roles, {} assignments)",
                    manifest.root.name(),
                    manifest.directory.people.len(),
                    manifest.directory.groups.len(),
                    manifest.roles.len(),
                    manifest.assignments.len()
                );
            }
            let _ = color;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { schema_for } => {
            print!(
                "{}",
                match schema_for {
                    SchemaFor::Rollcall => rollcall::schema::rollcall(),
                    SchemaFor::Directory => rollcall::schema::directory(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!(),
    }
}

fn report(problems: &Problems, color: bool) {
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme);
    let mut out = String::new();
    for p in &problems.0 {
        let _ = handler.render_report(&mut out, p);
        out.push('\n');
    }
    let n = problems.len();
    out.push_str(&format!("error: {n} problem{} found\n", if n == 1 { "" } else { "s" }));
    eprint!("{out}");
}
