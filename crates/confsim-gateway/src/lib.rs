//! confsim's HTTP gateway (`confsim serve`, product.md §6): the vendor's AgentGateway
//! interface (agentgateway.md §1–§5) over the same engine the scenario runner drives.
//!
//! Only this crate knows HTTP and the vendor's envelopes. A request becomes a core `Input`
//! (the operation, the path's `{agentid}` as typed, the raw JSON body) submitted to one
//! `Engine` at the simulated present; the core's `Response` becomes the vendor's
//! `{"message","retcode","result"}`. What the platform does not model is here: Guids (issued
//! at sign-in, checked on every call, rotated in dynamic mode), the per-agent event queues
//! behind long polling, the inactivity sign-out, the clocks (wall or manual), the control API,
//! the metrics, push delivery to callbacks, and HTTPS.
//!
//! Architecture invariant: the same inputs at the same simulated times give the same journal
//! as the scenario runner would; the gateway adds nothing to the journal but inputs (the
//! inactivity sign-out is a `forceLogout` input), and what it refuses itself (a wrong Guid,
//! a path that names no interface) never reaches it.

mod clock;
pub mod config;
mod durable;
mod error;
mod gateway;
mod journal;
mod metrics;
mod push;
pub mod record;
mod routes;
mod server;
mod sessions;
mod tls;
mod wire;

pub use clock::present;
pub use config::{
    ClockMode, ControlAccess, Fsync, GatewayConfig, GuidMode, GuidPolicy, PlatformFile,
    RosterEntry, load_platform_file, parse_platform_file, platform_file_schema,
};
pub use durable::JournalFile;
pub use error::{GatewayError, Result};
pub use gateway::Gateway;
pub use journal::{ExistingJournal, ResumeError};
pub use push::PushAllow;
pub use routes::router;
pub use tls::tls_acceptor;
