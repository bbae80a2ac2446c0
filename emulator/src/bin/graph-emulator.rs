//! `graph-emulator`: serves the emulated Microsoft Graph and token endpoint on 127.0.0.1 until killed.

use clap::Parser;
use goto_emulator::graph::{GraphConfig, GraphEmulator, Tenant};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// An emulator of the part of Microsoft Graph that `rollcall pull` and
/// `rollcall import --from-entra-app` read, for rehearsing them.
///
/// Listens on 127.0.0.1 only; set AZURE_AUTHORITY_HOST and ROLLCALL_GRAPH_URL to the base URL.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// The directory: JSON `{"users": [{"id", "userPrincipalName", ...}], "groups": [{"id",
    /// "display_name", "members"}], "service_principals": [...]}`. Empty without it.
    #[arg(long, value_name = "FILE")]
    tenant: Option<PathBuf>,
    /// A JSON configuration (the fields of GraphConfig; missing fields keep their defaults).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8081)]
    port: u16,
    /// Print the base URL (http://127.0.0.1:PORT) as the first line of stdout.
    #[arg(long)]
    print_url: bool,
}

fn read<T: serde::de::DeserializeOwned + Default>(path: Option<&PathBuf>) -> Result<T, String> {
    let Some(p) = path else { return Ok(T::default()) };
    let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (tenant, config): (Tenant, GraphConfig) =
        match read(cli.tenant.as_ref()).and_then(|t| Ok((t, read(cli.config.as_ref())?))) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("graph-emulator: {e}");
                return ExitCode::from(2);
            }
        };
    let emu = match GraphEmulator::start_on(cli.port, tenant, config.clone()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("graph-emulator: {e}");
            return ExitCode::from(1);
        }
    };
    if cli.print_url {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", emu.base_url());
        let _ = out.flush();
    }
    eprintln!("graph-emulator: tenant {} listening", config.tenant_id);
    eprintln!("  AZURE_AUTHORITY_HOST = {}", emu.authority_host());
    eprintln!("  ROLLCALL_GRAPH_URL   = {}", emu.graph_url());
    eprintln!("  AZURE_TENANT_ID      = {}", config.tenant_id);
    eprintln!("  AZURE_CLIENT_ID      = {}", config.client_id);
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("graph-emulator: {e}");
            return ExitCode::from(1);
        }
    };
    let _ = rt.block_on(tokio::signal::ctrl_c());
    emu.shutdown();
    ExitCode::SUCCESS
}
