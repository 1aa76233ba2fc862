//! Taskpool core: the event-sourced heart of the task pool.
//!
//! - [`model`]: tasks, data entries, process definitions.
//! - [`command`]: what can be asked, parsed strictly from JSON.
//! - [`event`]: what happened, stored with a type name and version.
//! - [`aggregate`]: pure `decide` / `evolve` functions, no I/O.
//! - [`event_store`]: SQLite, one table of events with a global position.
//! - [`command_gateway`]: the unit of work that ties them together.
//! - [`projector`], [`view`]: the query model in SQLite, built from the events.
//! - [`query`]: per-user queries and the filter language; [`live`]: the change stream.
//!
//! This crate knows nothing of transports (HTTP, message logs) or user interfaces.

pub mod aggregate;
pub mod command;
pub mod command_gateway;
pub mod event;
pub mod event_store;
pub mod field_path;
pub mod listener;
pub mod live;
pub mod model;
pub mod patch;
pub mod position_signal;
pub mod projector;
pub mod query;
pub mod sqlite;
mod tagged;
pub mod view;
pub mod wal_checkpointer;

/// The given / when / then aggregate harness and fixtures (small, no dependencies).
pub mod testing;

pub use command::{Command, Rejection, RejectionCode};
pub use command_gateway::{
    BatchMode, BatchOutcome, CommandContext, CommandGateway, CommandOutcome,
};
pub use event::{DomainEvent, StoredEvent};
pub use event_store::EventStore;
