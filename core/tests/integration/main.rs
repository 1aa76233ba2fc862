//! Core's integration tests, one binary: the filter language under fuzzing, the
//! projector killed mid-batch, and the query side against real SQLite files.

mod filter_fuzz;
mod projector_crash;
mod query_side;
