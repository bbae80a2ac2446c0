//! An emulator of GoTo's Admin REST API (the user-management subset rollcall uses) and OAuth token
//! endpoint, written from `shared/reference/goto-api.md`. Every behaviour the reference marks
//! INFERRED or UNKNOWN is a switch in [`Config`]; faults are injected deterministically from a seed.
//!
//! ```no_run
//! let emu = goto_emulator::Emulator::start(None, goto_emulator::Config::default()).unwrap();
//! println!("{} {}", emu.api_url(), emu.token_url());
//! let snapshot = emu.snapshot();
//! emu.shutdown();
//! # let _ = snapshot;
//! ```

mod config;
mod conn;
mod faults;
pub mod graph;
mod server;
mod state;

pub use config::{
    AccountRef, Config, Faults, GrantsVisibility, KeysAsNumbers, LicensesPaging, OnElsewhere, OnExisting, PutGrants,
    UnknownValue,
};

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::thread::JoinHandle;

/// How many requests of each kind arrived (counted on arrival, whether or not a fault answered
/// them), and how many were answered 429, 5xx, or dropped. Control endpoints are not counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    pub token: u64,
    pub me: u64,
    pub list_users: u64,
    pub get_user: u64,
    pub create: u64,
    pub update: u64,
    pub delete: u64,
    pub licenses: u64,
    /// Anything else (unknown paths, wrong methods).
    pub other: u64,
    pub status_429: u64,
    pub status_5xx: u64,
    /// Writes that took effect and whose connection was then reset without a response.
    pub dropped: u64,
    pub total: u64,
}

/// One request as the emulator saw it (the last 10,000 are kept). Token requests' bodies are not
/// kept, since they carry secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, as sent (still percent-encoded).
    pub query: Option<String>,
    /// The JSON body (or the text, if it was not JSON).
    pub body: Option<serde_json::Value>,
    /// `None` when the connection was dropped.
    pub status: Option<u16>,
    /// `rate_limited`, `error` or `dropped` when a fault answered.
    pub fault: Option<String>,
}

/// A running emulator on 127.0.0.1, on its own thread and tokio runtime. Dropping it stops it.
pub struct Emulator {
    app: server::App,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts on 127.0.0.1 with an OS-chosen port, seeded from a snapshot in the `file` target
    /// format, or a fresh account (one license, no users) when `seed` is `None`.
    pub fn start(seed: Option<serde_json::Value>, config: Config) -> std::io::Result<Emulator> {
        Self::start_on(0, seed, config)
    }

    /// Like [`Emulator::start`], on a given port of 127.0.0.1 (0: any free port).
    pub fn start_on(port: u16, seed: Option<serde_json::Value>, config: Config) -> std::io::Result<Emulator> {
        let state = match seed {
            None => state::State::fresh(),
            Some(v) => state::State::from_snapshot(&v)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("seed snapshot: {e}")))?,
        };
        let app = server::App::new(state, config);
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = server::router(app.clone());
        let thread = std::thread::Builder::new().name(format!("goto-emulator-{}", addr.port())).spawn(move || {
            rt.block_on(async move {
                let make = router.into_make_service_with_connect_info::<conn::ConnMeta>();
                let serve = axum::serve(conn::KillableListener(listener), make);
                tokio::select! {
                    _ = serve => {}
                    _ = stopped => {}
                }
            });
            rt.shutdown_background();
        })?;
        Ok(Emulator { app, addr, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/admin/rest/v1`
    pub fn api_url(&self) -> String {
        format!("{}/admin/rest/v1", self.base_url())
    }

    /// `http://127.0.0.1:PORT/oauth/token`
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url())
    }

    /// The emulated account's key.
    pub fn account_key(&self) -> String {
        self.app.lock().state.account.key.clone()
    }

    /// The current state in the `file` target format (keys as strings; license `userCount` and
    /// `userKeys` derived from the users).
    pub fn snapshot(&self) -> serde_json::Value {
        self.app.lock().state.to_snapshot()
    }

    /// Replaces the state (tests make drift this way). Panics on a snapshot it cannot read; see
    /// [`Emulator::try_set_snapshot`].
    pub fn set_snapshot(&self, v: serde_json::Value) {
        if let Err(e) = self.try_set_snapshot(v) {
            panic!("goto-emulator: set_snapshot: {e}");
        }
    }

    /// Replaces the state, or says why the snapshot cannot be read.
    pub fn try_set_snapshot(&self, v: serde_json::Value) -> Result<(), String> {
        let s = state::State::from_snapshot(&v)?;
        let mut g = self.app.lock();
        let next_key = g.state.next_key;
        g.state = s;
        g.state.next_key = next_key;
        Ok(())
    }

    /// The invited user with this email accepts the transfer invitation (false: no such
    /// pending invitation).
    pub fn accept_invitation(&self, email: &str) -> bool {
        self.app.lock().state.accept_invitation(email)
    }

    /// Another administrator at work, one change at a time and at once (no read-modify-write
    /// window): grants license `license` to user `user` (`true`) or revokes it (`false`).
    /// Returns whether the user exists.
    pub fn set_license(&self, user: &str, license: &str, held: bool) -> bool {
        let mut g = self.app.lock();
        let Some(i) = g.state.user_index(user) else { return false };
        let keys = &mut g.state.user_mut(i).license_keys;
        keys.retain(|k| k != license);
        if held {
            keys.push(license.to_owned());
        }
        true
    }

    /// Another administrator renames user `user`. Returns whether the user exists.
    pub fn set_name(&self, user: &str, first: &str, last: &str) -> bool {
        let mut g = self.app.lock();
        let Some(i) = g.state.user_index(user) else { return false };
        let u = g.state.user_mut(i);
        u.first_name = first.to_owned();
        u.last_name = last.to_owned();
        true
    }

    /// Requests counted so far.
    pub fn requests(&self) -> RequestCounts {
        self.app.lock().counts.clone()
    }

    /// The last requests (at most 10,000), oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.app.lock().log.iter().cloned().collect()
    }

    /// Zeroes the counts and empties the log.
    pub fn reset_requests(&self) {
        let mut g = self.app.lock();
        g.counts = RequestCounts::default();
        g.log.clear();
    }

    /// The configuration in force.
    pub fn config(&self) -> Config {
        self.app.lock().config.clone()
    }

    /// Replaces the configuration. The fault generator restarts from `c.faults.seed` and the rate
    /// limiter's bucket refills, so a test can replay a sequence of faults.
    pub fn set_config(&self, c: Config) {
        self.app.lock().set_config(c);
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Merges a partial configuration (JSON object, as `PUT /_emulator/config` takes) onto `base`.
pub fn merge_config(base: &Config, patch: serde_json::Value) -> Result<Config, String> {
    server::merge_config(base, patch)
}
