//! Workspace-level tests. The helper binaries under `src/bin` are child processes
//! that the tests start, kill and inspect.
