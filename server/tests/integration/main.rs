//! The server's integration tests, one binary: every endpoint, the authorization
//! matrix, SIGKILL under load, an idle node's CPU, ingestion, the Kafka roles (with the
//! `kafka` feature), the ways of running it, and the live streams.

mod api;
mod api_document;
mod authorization;
mod common;
mod crash;
mod forms;
mod fuzz;
mod history;
mod idle;
mod ingestion;
#[cfg(feature = "kafka")]
mod kafka;
#[cfg(feature = "kafka")]
mod kafka_crash;
mod modes;
mod requests;
mod resync;
mod saved_filters;
mod starts;
mod streams;
mod trust;
