//! The taskpool server: the single-node task pool as a service (embedded SQLite event
//! store and view in one process) with the tasklist HTTP API, the live stream over
//! Server-Sent Events, and the ingestion API through which remote process applications
//! send their engine transactions and commands.
//!
//! The map: the task pool itself is the `taskpool-node` crate (no HTTP: store, gateway,
//! projector, change feed, outcome log); [`api`] adapts it to HTTP; [`auth`]
//! turns a bearer token into a [`auth::Caller`]; [`problem`] is every error's shape;
//! [`config`] is what the operator can set.

// Handlers return `Result<_, Problem>`: a problem is built at most once per failed
// request, so its size (about 160 bytes) costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod auth;
pub mod config;
#[cfg(feature = "kafka")]
pub mod distribution;
pub mod metrics;
pub mod origin;
pub mod problem;
pub mod server;
pub mod stream_limits;

pub use config::ServerConfig;
pub use server::{serve, RunningServer};
pub use taskpool_node::TaskpoolNode;
