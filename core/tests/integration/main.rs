//! Core's integration tests, one binary: the filter language under fuzzing, live items
//! exact per position (property tests), the projector killed mid-batch, and the query
//! side against real SQLite files.

mod deliveries;
mod filter_fuzz;
mod live_items;
mod parking;
mod projector_crash;
mod query_side;
