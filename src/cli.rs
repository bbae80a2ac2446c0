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
    /// Apply a plan that exceeds the removal thresholds.
    #[arg(long)]
    pub allow_removals: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Append one JSON line per action to this file.
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// With a directory: restrict to these accounts (repeatable).
    #[arg(long = "only", value_name = "EMAIL")]
    pub only: Vec<String>,
}
