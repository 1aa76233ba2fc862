//! Taskpool collector: the process-application side.
//!
//! An engine adapter opens an [`EngineTransaction`], records [`EngineEvent`]s, then
//! commits or rolls back. The [`collector`] turns the events into commands, the
//! [`enricher`] adds process variables, correlations and assignments, an
//! [`accumulator`] reduces each task's commands to the minimal intent, and a
//! [`sender`] hands them to the command gateway when the sender type says. Every
//! outcome reaches the success / error handlers and the [`outcome_log`].
//!
//! The example process application (`taskpool-example`, in `example/`) runs on this
//! collector exactly as a real engine adapter would.

pub mod accumulator;
pub mod collector;
pub mod engine_event;
pub mod engine_transaction;
pub mod enricher;
pub mod outcome_log;
pub mod properties;
pub mod sender;

pub use engine_event::EngineEvent;
pub use engine_transaction::{
    Collector, CollectorError, CommitReport, EngineTransaction, VariableSource,
};
