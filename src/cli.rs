//! Command-line definitions (clap) and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "rollcall", version, about = "Provision and de-provision GoToMeeting accounts from YAML kept in git", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to use colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// More log output on stderr (repeatable).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFor {
    Rollcall,
    Directory,
    /// One line of `apply --audit-log`.
    AuditLine,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifests offline; every problem is reported with file:line:col.
    Validate {
        /// Manifest directory (holds rollcall.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Read the live account and print what apply would change.
    Plan(PlanArgs),
    /// Execute a saved plan, or plan and apply.
    Apply(ApplyArgs),
    /// Render a saved plan.
    Show {
        plan: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Test the connection: credentials, account, permissions, licenses.
    Check {
        /// Manifest directory (holds rollcall.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print a JSON Schema for rollcall.yaml or for directory files.
    Schema {
        #[arg(long = "for", value_enum, default_value_t = SchemaFor::Rollcall)]
        schema_for: SchemaFor,
    },
    /// Offline: how desired accounts differ between two git revisions of the manifests.
    Diff(DiffArgs),
    /// Write manifests that describe the live account as it is, or a file-target snapshot of it.
    Import(ImportArgs),
    /// Print shell completions (e.g. `rollcall completions bash > /etc/bash_completion.d/rollcall`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (rollcall.1 and one per command) into a directory.
    Man {
        #[arg(value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The revision to compare from (a branch, tag or commit, e.g. main or HEAD~1).
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The revision to compare to [default: the working tree].
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Manifest directory (holds rollcall.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Read the account of this manifest's target [default: a goto target from the environment].
    pub dir: Option<PathBuf>,
    /// Write manifests describing the account into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a `file`-target snapshot of the account to this file.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Read the account from a `file`-target snapshot instead.
    #[arg(long, value_name = "FILE", conflicts_with = "dir")]
    pub from_snapshot: Option<PathBuf>,
    /// Overwrite manifests that already exist in --out, or the --snapshot file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest directory (holds rollcall.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Save the plan (JSON) for a later `rollcall apply FILE`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Exit 0 when there are no changes, 2 when there are.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Restrict the plan to these accounts (repeatable).
    #[arg(long = "only", value_name = "EMAIL")]
    pub only: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A manifest directory, or a plan file saved by `plan --out`.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// With a plan file: read the manifests from here instead of the plan's manifest_dir.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Apply a plan that exceeds the removal thresholds (or removes the last SUPER_USER).
    #[arg(long)]
    pub allow_removals: bool,
    /// Apply a plan that puts more users on a license than it has seats.
    #[arg(long)]
    pub allow_over_seats: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Append one JSON line per action to this file.
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// With a directory: restrict to these accounts (repeatable).
    #[arg(long = "only", value_name = "EMAIL")]
    pub only: Vec<String>,
}

/// Writes rollcall.1 and a page per command (rollcall-diff.1, ...) into `dir`, as
/// `rollcall man DIR` does and `docs/man/` keeps them.
pub fn man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), dir)
}
