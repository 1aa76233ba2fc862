//! The desktop app's integration tests, one binary: both backends through one scenario,
//! and the real window over WebDriver.

mod backends;
mod desktop_e2e;
mod notification_service;
#[path = "../support/display.rs"]
mod support_display;
