//! Workspace-level tests, one binary: crate boundaries, event stores shared by
//! processes, the txjob sender killed at random, and the UI's generated types.

mod boundaries;
mod event_store_processes;
mod txjob_crash;
mod typescript_bindings;
