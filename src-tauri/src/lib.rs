//! The desktop inbox: a thin Tauri shell around one [`backend::Backend`] (the embedded
//! task pool or a remote server). The window is the same UI as the browser inbox
//! (`ui/`), talking over IPC instead of HTTP.
//!
//! The map: [`backend`] (the interface and its two implementations), [`commands`] (the
//! Tauri commands that adapt it), [`state`] (settings, backend, session, streams),
//! [`settings`] (stored settings), [`notify`] (which changes become notifications),
//! [`startup`] (start-up figures), [`window_state`] (size and position between launches).

// Backends return `Result<_, Problem>` (the node's problem document, about 160 bytes): it
// is built at most once per failed call, not worth boxing.
#![allow(clippy::result_large_err)]

pub mod backend;
pub mod commands;
pub mod notify;
pub mod settings;
pub mod startup;
pub mod state;
pub mod window_state;

use std::sync::Arc;

use tauri::Manager;

pub use state::{DesktopState, Launch};

/// The app with its commands and plugins, for `state`.
pub fn builder(state: DesktopState) -> tauri::Builder<tauri::Wry> {
    tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(state)
        .setup(|app| {
            let handle = app.handle().clone();
            let notifier: state::Notifier =
                Arc::new(move |notice: &notify::Notice| notify::show(&handle, notice));
            let state = app.state::<DesktopState>();
            let _ = state.notifier.set(notifier);
            if let Some(window) = app.get_webview_window("main") {
                window_state::remember(&window, &state.launch.data_dir);
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::save_settings,
            commands::login,
            commands::logout,
            commands::request,
            commands::stream_tasks,
            commands::stream_outcomes,
            commands::close_stream,
            commands::first_paint,
            commands::set_unseen,
        ])
}

/// Runs the app until its window closes; then stops the backend.
pub fn run(state: DesktopState) -> anyhow::Result<()> {
    let app = builder(state).build(tauri::generate_context!())?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            let state = handle.state::<DesktopState>();
            state.close_streams();
            let backend = state
                .backend
                .try_write()
                .ok()
                .and_then(|mut slot| slot.take());
            if let Some(backend) = backend {
                backend.shutdown();
            }
        }
    });
    Ok(())
}
