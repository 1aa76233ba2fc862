//! The task pool without transport: what a single node runs, whatever carries it.
//!
//! The map: [`node`] is the running task pool (event store and gateway, the projector
//! thread, the change feed, the outcome log, the view's connection pool; queries, user
//! actions, ingestion of engine transactions and command batches); [`live`] turns a
//! subscription into an async stream; [`params`] are the typed parameters of queries
//! and actions (parsing and validation in one place); [`answers`] what the node answers
//! beyond the core model; [`problem`] the one problem document (RFC 9457) every adapter
//! answers errors with. The HTTP server and the desktop app are thin shells over it.
//! Metrics go through the `metrics` facade; the exporter is the server's business.

// Parsing and answers return `Result<_, Problem>`: a problem is built at most once per
// failed request, so its size (about 160 bytes) costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

pub mod action_keys;
pub mod answers;
pub mod filters;
pub mod handoffs;
pub mod live;
pub mod node;
pub mod params;
pub mod problem;
pub mod resync;

pub use node::{NodeError, NodeOptions, TaskpoolNode};
pub use problem::Problem;
