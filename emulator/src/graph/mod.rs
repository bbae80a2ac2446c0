//! An emulator of the part of Microsoft Graph (v1.0) that `rollcall pull` and
//! `rollcall import --from-entra-app` read, and of the Microsoft identity platform's token
//! endpoint, written from Graph's documentation:
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: client credentials with a client secret or a
//!   federated assertion (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`);
//! - `GET /v1.0/users` with `$select`, `$filter`, `$top` (1..=999), `$count` and `@odata.nextLink`;
//! - `GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user` and
//!   `/v1.0/groups/{id}/members/microsoft.graph.group` (OData casts: advanced queries);
//! - `GET /v1.0/servicePrincipals/{id}` (with `appRoles`) and `.../appRoleAssignedTo`;
//! - Graph's error body `{"error": {"code", "message", "innerError": {"request-id", ...}}}`;
//! - faults: 429 with `Retry-After`, 503, and a page that fails mid-way.
//!
//! Where the documentation is unclear, a switch in [`GraphConfig`].
//!
//! ```no_run
//! use goto_emulator::graph::{GraphConfig, GraphEmulator, Tenant};
//! let emu = GraphEmulator::start(Tenant::default(), GraphConfig::default()).unwrap();
//! println!("AZURE_AUTHORITY_HOST={} ROLLCALL_GRAPH_URL={}", emu.authority_host(), emu.graph_url());
//! ```

mod server;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::thread::JoinHandle;

/// A directory: users, groups and enterprise applications.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tenant {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub service_principals: Vec<ServicePrincipal>,
}

/// A user: its object id and its properties as Graph names them (`userPrincipalName`, `mail`,
/// `givenName`, `surname`, `accountEnabled`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(flatten)]
    pub properties: Map<String, Value>,
}

impl User {
    /// A member user with the usual properties.
    pub fn new(id: &str, upn: &str, given: &str, surname: &str) -> User {
        let mut properties = Map::new();
        properties.insert("userPrincipalName".into(), upn.into());
        properties.insert("mail".into(), upn.into());
        properties.insert("givenName".into(), given.into());
        properties.insert("surname".into(), surname.into());
        properties.insert("displayName".into(), format!("{given} {surname}").into());
        properties.insert("accountEnabled".into(), true.into());
        properties.insert("userType".into(), "Member".into());
        User { id: id.to_owned(), properties }
    }

    pub fn set(&mut self, name: &str, value: impl Into<Value>) {
        self.properties.insert(name.to_owned(), value.into());
    }
}

/// A group; `members` holds object ids of users and of nested groups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

/// An enterprise application (service principal).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    /// App role assignments: a user's or a group's object id, and the app role id.
    #[serde(default)]
    pub assigned_to: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppRole {
    pub id: String,
    pub value: String,
    pub display_name: String,
}

/// Faults, each counted down request by request (deterministic).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphFaults {
    /// The next this many Graph requests (not token requests) are answered 429 `TooManyRequests`.
    pub throttle_next: u32,
    /// The `Retry-After` seconds sent with 429 and 503.
    pub retry_after_secs: u64,
    /// The next this many Graph requests are answered 503 `ServiceUnavailable`.
    pub unavailable_next: u32,
    /// Every request for this page (2 = the first `@odata.nextLink`) of any list is answered
    /// 503, until the fault is cleared: a listing that fails mid-way.
    pub fail_page: Option<u32>,
}

/// Credentials, paging and switches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphConfig {
    pub tenant_id: String,
    pub client_id: String,
    /// Accepted as `client_secret`.
    pub client_secret: String,
    /// Accepted as `client_assertion` (the workload identity token).
    pub federated_token: String,
    pub token_ttl_secs: u64,
    /// Page size when `$top` is absent (Graph: 100 for users).
    pub default_page_size: usize,
    /// Largest `$top` (Graph: 999); above it, 400.
    pub max_page_size: usize,
    /// Serve at most this many items a page whatever `$top` asks (Graph may return fewer than
    /// `$top`; tests page through a small directory this way).
    pub serve_at_most: Option<usize>,
    /// Advanced queries (OData casts, `ne`, `endswith`, `not`) answer 400
    /// `Request_UnsupportedQuery` without `ConsistencyLevel: eventual` and `$count=true`, as
    /// Graph's advanced query documentation says. Off: they work without.
    pub advanced_queries_need_eventual: bool,
    pub faults: GraphFaults,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            tenant_id: "8f4c2b1e-6d3a-4e5f-9a7b-1c2d3e4f5a6b".into(),
            client_id: "3b9e7c1a-2f4d-4a6b-8c0e-5d7f9a1b3c5e".into(),
            client_secret: "graph-s3cret-value".into(),
            federated_token: "eyJhbGciOiJSUzI1NiJ9.federated-assertion.signature".into(),
            token_ttl_secs: 3599,
            default_page_size: 100,
            max_page_size: 999,
            serve_at_most: None,
            advanced_queries_need_eventual: true,
            faults: GraphFaults::default(),
        }
    }
}

/// Requests by kind, counted on arrival (faulted ones included).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphRequestCounts {
    pub token: u64,
    pub users: u64,
    pub group_members: u64,
    pub service_principals: u64,
    pub app_role_assignments: u64,
    pub other: u64,
    pub status_429: u64,
    pub status_5xx: u64,
    pub total: u64,
}

/// One request as the emulator saw it. Token request bodies are never kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphLoggedRequest {
    pub method: String,
    pub path: String,
    /// Percent-decoded query.
    pub query: Option<String>,
    pub consistency_level: Option<String>,
    pub status: u16,
}

/// A running Graph emulator on 127.0.0.1. Dropping it stops it.
pub struct GraphEmulator {
    app: server::App,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl GraphEmulator {
    pub fn start(tenant: Tenant, config: GraphConfig) -> std::io::Result<GraphEmulator> {
        Self::start_on(0, tenant, config)
    }

    pub fn start_on(port: u16, tenant: Tenant, config: GraphConfig) -> std::io::Result<GraphEmulator> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let app = server::App::new(format!("http://{addr}"), tenant, config);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = server::router(app.clone());
        let thread = std::thread::Builder::new().name(format!("graph-emulator-{}", addr.port())).spawn(move || {
            rt.block_on(async move {
                tokio::select! {
                    _ = axum::serve(listener, router) => {}
                    _ = stopped => {}
                }
            });
            rt.shutdown_background();
        })?;
        Ok(GraphEmulator { app, addr, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`: both `AZURE_AUTHORITY_HOST` and `ROLLCALL_GRAPH_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What `AZURE_AUTHORITY_HOST` is set to: tokens at `{this}/{tenant}/oauth2/v2.0/token`.
    pub fn authority_host(&self) -> String {
        self.base_url()
    }

    /// What `ROLLCALL_GRAPH_URL` is set to: Graph at `{this}/v1.0`.
    pub fn graph_url(&self) -> String {
        self.base_url()
    }

    pub fn tenant(&self) -> Tenant {
        self.app.lock().tenant.clone()
    }

    /// Changes the directory (a joiner, a leaver, a rename, a new member...).
    pub fn update(&self, change: impl FnOnce(&mut Tenant)) {
        let mut g = self.app.lock();
        change(&mut g.tenant);
        g.user_index = server::index(&g.tenant);
    }

    pub fn config(&self) -> GraphConfig {
        self.app.lock().config.clone()
    }

    pub fn set_config(&self, config: GraphConfig) {
        self.app.lock().config = config;
    }

    pub fn requests(&self) -> GraphRequestCounts {
        self.app.lock().counts.clone()
    }

    /// The last requests (at most 10,000), oldest first.
    pub fn request_log(&self) -> Vec<GraphLoggedRequest> {
        self.app.lock().log.iter().cloned().collect()
    }

    pub fn reset_requests(&self) {
        let mut g = self.app.lock();
        g.counts = GraphRequestCounts::default();
        g.log.clear();
    }

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

impl Drop for GraphEmulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}
