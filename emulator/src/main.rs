//! `goto-emulator`: serves the emulated GoTo Admin API and token endpoint on 127.0.0.1 until killed.

use clap::Parser;
use goto_emulator::{Config, Emulator, GrantsVisibility, KeysAsNumbers, PutGrants};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// An emulator of GoTo's Admin REST API and OAuth token endpoint, for rehearsing rollcall.
///
/// Listens on 127.0.0.1 only. The Admin API is at BASE/admin/rest/v1, the token endpoint at
/// BASE/oauth/token; BASE/_emulator/{state,config,requests,log} read and change the emulator.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Seed the account from a `file` target snapshot (e.g. examples/acme/live.json); without it,
    /// a fresh account with one license and no users.
    #[arg(long, visible_alias = "seed", value_name = "FILE")]
    seed_file: Option<PathBuf>,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Print the base URL (http://127.0.0.1:PORT) as the first line of stdout.
    #[arg(long)]
    print_url: bool,
    /// A JSON configuration (the shape of GET /_emulator/config; missing fields keep their
    /// defaults). Flags below override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// OAuth client id.
    #[arg(long)]
    client_id: Option<String>,
    /// OAuth client secret.
    #[arg(long)]
    client_secret: Option<String>,
    /// Personal access token accepted by the token endpoint.
    #[arg(long)]
    pat: Option<String>,
    /// Refresh token accepted by the token endpoint.
    #[arg(long)]
    refresh_token: Option<String>,
    /// Static access token, always accepted ("" for none).
    #[arg(long)]
    access_token: Option<String>,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long)]
    token_ttl_secs: Option<u64>,
    /// Largest page a list returns.
    #[arg(long)]
    max_page_size: Option<usize>,

    /// What PUT licenseKeys/adminRoles does: replace | merge.
    #[arg(long, value_name = "MODE")]
    put_license_keys: Option<PutGrants>,
    /// "Add Users" grants its licenseKeys/adminRoles to users that already existed.
    #[arg(long)]
    add_users_grants_existing: bool,
    /// Where licenseKeys/adminRoles show: in-list-and-get | get-only | licenses-only.
    #[arg(long, value_name = "MODE")]
    grants_in_list: Option<GrantsVisibility>,
    /// Keys as JSON numbers: documented | always | never.
    #[arg(long, value_name = "MODE")]
    keys_as_numbers: Option<KeysAsNumbers>,

    /// Seed of the fault generator.
    #[arg(long)]
    fault_seed: Option<u64>,
    /// Answer 429 above this many requests per second.
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Send Retry-After with 429.
    #[arg(long)]
    retry_after: bool,
    /// Fraction of requests failing with 500/502/503.
    #[arg(long, value_name = "FRACTION")]
    error_rate: Option<f64>,
    /// Added latency in milliseconds.
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// Fraction of successful writes whose connection is reset after the write took effect.
    #[arg(long, value_name = "FRACTION")]
    drop_after_write: Option<f64>,
}

fn config_of(cli: &Cli) -> Result<Config, String> {
    let mut c = match &cli.config {
        None => Config::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
            goto_emulator::merge_config(&Config::default(), v).map_err(|e| format!("{}: {e}", p.display()))?
        }
    };
    macro_rules! set {
        ($($field:ident).+ = $value:expr) => {
            if let Some(v) = $value.clone() {
                c.$($field).+ = v;
            }
        };
    }
    set!(client_id = cli.client_id);
    set!(client_secret = cli.client_secret);
    set!(pat = cli.pat);
    set!(refresh_token = cli.refresh_token);
    set!(access_token = cli.access_token);
    set!(token_ttl_ms = cli.token_ttl_secs.map(|s| s * 1000));
    set!(max_page_size = cli.max_page_size);
    set!(put_license_keys = cli.put_license_keys);
    set!(grants_in_list = cli.grants_in_list);
    set!(keys_as_numbers = cli.keys_as_numbers);
    set!(faults.seed = cli.fault_seed);
    set!(faults.error_rate = cli.error_rate);
    set!(faults.latency_ms = cli.latency_ms);
    set!(faults.drop_after_write = cli.drop_after_write);
    if cli.rate_limit.is_some() {
        c.faults.rate_limit_per_second = cli.rate_limit;
    }
    if cli.add_users_grants_existing {
        c.add_users_grants_existing = true;
    }
    if cli.retry_after {
        c.faults.retry_after = true;
    }
    Ok(c)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match config_of(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("goto-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let seed = match &cli.seed_file {
        None => None,
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("goto-emulator: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    let emu = match Emulator::start_on(cli.port, seed, config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("goto-emulator: {e}");
            return ExitCode::from(1);
        }
    };
    if cli.print_url {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", emu.base_url());
        let _ = out.flush();
    }
    eprintln!("goto-emulator: account {} listening", emu.account_key());
    eprintln!("  api_url   = {}", emu.api_url());
    eprintln!("  token_url = {}", emu.token_url());
    eprintln!("  control   = {}/_emulator/{{state,config,requests,log}}", emu.base_url());
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("goto-emulator: {e}");
            return ExitCode::from(1);
        }
    };
    let _ = rt.block_on(tokio::signal::ctrl_c());
    emu.shutdown();
    ExitCode::SUCCESS
}
