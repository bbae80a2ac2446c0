//! Command-line definitions (clap) and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, environment and examples: the end of `rollcall --help` and of rollcall(1).
const MAIN_AFTER_HELP: &str = "\
Exit codes:
  0    success (with --detailed-exitcode: a plan with no changes)
  1    error: invalid manifests, unreachable target, a stale plan, a failed action
  2    plan --detailed-exitcode: success, the plan has changes
  3    a blocked plan (plan; apply without --allow-removals)
  130  interrupted (SIGINT); 143: terminated (SIGTERM). What finished is reported.

Environment:
  GOTO_ACCESS_TOKEN                 a GoTo access token (goto target)
  GOTO_CLIENT_ID, GOTO_CLIENT_SECRET  the GoTo OAuth client, with one of:
  GOTO_PAT                          a personal access token (identity: scope; for CI)
  GOTO_REFRESH_TOKEN                a refresh token (rotates: local use only)
  GOTO_REFRESH_TOKEN_FILE           a file holding the refresh token; rotated tokens are written back
  SCIM_TOKEN                        the bearer token of a scim target
  ROLLCALL_API_URL, ROLLCALL_TOKEN_URL, ROLLCALL_ACCOUNT_KEY, ROLLCALL_SCIM_URL
                                    override the target's api_url, token_url, account_key, url
  AZURE_TENANT_ID, AZURE_CLIENT_ID  rollcall pull: the Entra app, with one of:
  AZURE_CLIENT_SECRET               its client secret
  AZURE_FEDERATED_TOKEN_FILE        a federated token (workload identity: GitHub OIDC, Kubernetes)
  AZURE_AUTHORITY_HOST, ROLLCALL_GRAPH_URL  override the login and Graph endpoints
  HTTPS_PROXY                       a proxy for the target's requests
  NO_COLOR                          no colour (as --color never)
  GITHUB_ACTIONS=true               diagnostics are also printed as workflow annotations
Credentials come from the environment only, never from manifests, and never appear in output.

Examples:
  rollcall validate acme                       check the manifests offline
  rollcall plan acme --out plan.json           what would change; save the plan for review
  rollcall plan acme --format markdown         the plan as a pull-request comment
  rollcall apply plan.json --auto-approve      apply exactly the reviewed plan (CI after merge)
  rollcall diff --base main acme               what a branch changes, without credentials
  rollcall explain ann@acme.example acme       why this person has (or has no) account
  rollcall pull acme --detailed-exitcode       rewrite the pulled directory files from Entra ID
  rollcall validate acme --format json         diagnostics as JSON for scripts

Docs: README.md, docs/manifest.md, docs/plan-format.md, docs/expressions.md; schemas: rollcall schema --for NAME.";

const PLAN_AFTER_HELP: &str = "\
Exit codes: 0 no error (with --detailed-exitcode: no changes); 1 error; 2 (--detailed-exitcode) changes;
3 blocked by a safety threshold (max_removals, the last SUPER_USER, license seats): the plan is still
printed and saved with the reason, and `apply --allow-removals` lifts the block.

Environment: the target's credentials (see `rollcall --help`); GITHUB_ACTIONS=true adds annotations.

Examples:
  rollcall plan acme
  rollcall plan acme --format markdown --out plan.json > plan.md
  rollcall plan acme --only alice@acme.example
  rollcall plan acme --detailed-exitcode        drift check: exit 2 when the account differs";

const APPLY_AFTER_HELP: &str = "\
Exit codes: 0 every action done; 1 error, a stale plan or a failed action; 3 a blocked plan without
--allow-removals (nothing applied); 130/143 interrupted (what finished is reported).

Environment: the target's credentials (see `rollcall --help`).

Examples:
  rollcall apply plan.json --auto-approve --audit-log audit.jsonl
  rollcall apply plan.json --auto-approve --allow-removals   after reviewers accepted the removals
  rollcall apply acme                                       plan and apply, asking on a terminal";

const VALIDATE_AFTER_HELP: &str = "\
Exit codes: 0 the manifests are valid; 1 problems (each with its code and file:line:col).

Examples:
  rollcall validate acme
  rollcall validate acme --format json   {\"ok\": false, \"diagnostics\": [{\"code\", \"severity\", \"message\",
                                         \"file\", \"line\", \"column\", \"help\", ...}]}";

const DIFF_AFTER_HELP: &str = "\
Exit codes: 0 compared (whatever the difference); 1 error. Needs no credentials.

Examples:
  rollcall diff --base main acme
  rollcall diff --base \"$(git merge-base origin/main HEAD)\" acme --format markdown";

#[derive(Debug, Parser)]
#[command(
    name = "rollcall",
    version,
    about = "Provision and de-provision GoToMeeting accounts from YAML kept in git",
    long_about = None,
    after_long_help = MAIN_AFTER_HELP
)]
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

/// The `--format` help, the same on every command.
const FORMAT_HELP: &str = "Output format: text (for people), markdown (a pull-request comment) or json (for machines: \
failures too are printed as one JSON document of diagnostics on stdout)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFor {
    /// rollcall.yaml.
    Rollcall,
    /// Directory YAML files (users: and groups:).
    Directory,
    /// The output of `rollcall explain --format json`.
    Explain,
    /// Plan files (`plan --out`, `plan --format json`).
    Plan,
    /// The apply report (`apply --format json`).
    Report,
    /// Diagnostics (`--format json` on failure).
    Diagnostics,
    /// One line of `apply --audit-log`.
    AuditLine,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifests offline; every problem is reported with file:line:col.
    #[command(after_long_help = VALIDATE_AFTER_HELP)]
    Validate {
        /// Manifest directory (holds rollcall.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
        format: Format,
    },
    /// Read the live account and print what apply would change.
    #[command(after_long_help = PLAN_AFTER_HELP)]
    Plan(PlanArgs),
    /// Execute a saved plan, or plan and apply.
    #[command(after_long_help = APPLY_AFTER_HELP)]
    Apply(ApplyArgs),
    /// Render a saved plan.
    Show {
        /// A plan file saved by `rollcall plan --out FILE`.
        plan: PathBuf,
        #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
        format: Format,
    },
    /// Test the connection: credentials, scopes, account, admin roles, licenses, invitations.
    #[command(
        after_long_help = "Exit codes: 0 every check passed; 1 a check failed.\n\nExample:\n  GOTO_PAT=... rollcall check acme"
    )]
    Check {
        /// Manifest directory (holds rollcall.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// GoTo only: settle what GoTo's documentation leaves open by creating this test user,
        /// changing and deleting it (prints what it will do first; the email must have no user).
        #[arg(long, value_name = "EMAIL")]
        probe: Option<String>,
        /// With --probe: save the HTTP exchanges into this folder, secrets redacted.
        #[arg(long, value_name = "DIR", requires = "probe")]
        record: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
        format: Format,
    },
    /// Print a JSON Schema for rollcall.yaml or for directory files.
    Schema {
        /// Which file's schema.
        #[arg(long = "for", value_enum, default_value_t = SchemaFor::Rollcall)]
        schema_for: SchemaFor,
        /// The schema is JSON whatever the format; json makes failures JSON diagnostics too.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Every fact that decides one person's account: sources, groups, scoping, roles,
    /// mapped values, the live match, and the planned action or why there is none.
    Explain {
        /// The person's email, userPrincipalName or mail, or a live account's email.
        email: String,
        /// Manifest directory (holds rollcall.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
        format: Format,
    },
    /// Offline: how desired accounts differ between two git revisions of the manifests.
    #[command(after_long_help = DIFF_AFTER_HELP)]
    Diff(DiffArgs),
    /// Write manifests that describe the live account as it is, or a file-target snapshot of it.
    #[command(
        after_long_help = "Exit codes: 0 written; 1 error.\n\nExamples:\n  GOTO_PAT=... rollcall import --out acme\n  rollcall import --from-snapshot live.json --out acme\n  rollcall import acme --snapshot live.json"
    )]
    Import(ImportArgs),
    /// Rewrite the directory files that carry `pull:` from Microsoft Graph, all or nothing.
    Pull(PullArgs),
    /// Print shell completions (e.g. `rollcall completions bash > /etc/bash_completion.d/rollcall`).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        /// The script is printed whatever the format; json makes failures JSON diagnostics.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Write the man pages (rollcall.1 and one per command) into a directory.
    Man {
        /// The directory to write the pages into (created if missing).
        #[arg(value_name = "DIR")]
        out: PathBuf,
        /// json: failures as JSON diagnostics on stdout.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
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
    #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
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
    #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
    pub format: Format,
    /// Migrate from Entra's GoToMeeting connector: manifests reproducing the app role
    /// assignments of this enterprise application (service principal object id).
    #[arg(long, value_name = "SP_ID", requires = "out", conflicts_with_all = ["dir", "snapshot", "from_snapshot"])]
    pub from_entra_app: Option<String>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Manifest directory (holds rollcall.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Exit 0 when no file changed, 2 when one did.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest directory (holds rollcall.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Save the plan (JSON) for a later `rollcall apply FILE`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
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
    /// With a plan file: the manifest directory it was made for (a plan made for another is refused).
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
    #[arg(long, value_enum, default_value_t, help = FORMAT_HELP)]
    pub format: Format,
    /// Append one JSON line per action to this file.
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// With a directory: restrict to these accounts (repeatable); a plan file keeps its own.
    #[arg(long = "only", value_name = "EMAIL")]
    pub only: Vec<String>,
}

impl Command {
    /// The `--format` the command was given (text for commands that have none).
    pub fn format(&self) -> Format {
        match self {
            Command::Validate { format, .. }
            | Command::Show { format, .. }
            | Command::Check { format, .. }
            | Command::Schema { format, .. }
            | Command::Completions { format, .. }
            | Command::Man { format, .. }
            | Command::Explain { format, .. } => *format,
            Command::Plan(a) => a.format,
            Command::Apply(a) => a.format,
            Command::Diff(a) => a.format,
            Command::Import(a) => a.format,
            Command::Pull(a) => a.format,
        }
    }
}

/// Writes rollcall.1 and a page per command (rollcall-diff.1, ...) into `dir`, as
/// `rollcall man DIR` does and `docs/man/` keeps them.
pub fn man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), dir)
}
