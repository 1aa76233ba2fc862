//! The taskpool server: the single-node task pool as a service (embedded SQLite event
//! store and view in one process) with the tasklist HTTP API, the live stream over
//! Server-Sent Events, and the ingestion API through which remote process applications
//! send their engine transactions and commands.
//!
//! The map: [`node`] is the task pool itself (no HTTP: store, gateway, projector, change
//! feed, outcome log, optional demo application); [`api`] adapts it to HTTP; [`auth`]
//! turns a bearer token into a [`auth::Caller`]; [`problem`] is every error's shape;
//! [`config`] is what the operator can set.

// Handlers return `Result<_, Problem>`: a problem is built at most once per failed
// request, so its size (about 160 bytes) costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod auth;
pub mod config;
pub mod demo;
pub mod live;
pub mod metrics;
pub mod node;
pub mod problem;
pub mod server;

pub use config::ServerConfig;
pub use node::TaskpoolNode;
pub use server::{serve, RunningServer};
