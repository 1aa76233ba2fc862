//! The Tauri commands: each adapts the window's call to the backend (no logic of its
//! own beyond who is signed in), and live changes reach the window on a channel.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::State;

use taskpool_node::params::TaskStreamParams;

use crate::backend::{Answer, KnownUser, Mode, Problem, Request, Session, Sink, StreamMessage};
use crate::settings;
use crate::state::{lock, open_backend, DesktopState};

/// What the window needs to draw its first screen.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub mode: Mode,
    pub server_url: String,
    pub has_token: bool,
    /// An `http://` server that is not this machine is allowed (explicitly).
    pub allow_insecure_http: bool,
    pub data_dir: String,
    pub known_users: Vec<KnownUser>,
    pub session: Option<Session>,
    /// Sign this user in at once (the `--user` flag).
    pub auto_user: Option<String>,
    /// Why the backend is not available.
    pub error: Option<String>,
    /// The app's version (About).
    pub version: String,
}

async fn info(state: &DesktopState) -> AppInfo {
    let settings = lock(&state.settings).clone();
    let backend = state.backend.read().await.clone();
    AppInfo {
        mode: settings.mode,
        server_url: settings.server_url,
        has_token: !settings.token.is_empty(),
        allow_insecure_http: settings.allow_insecure_http,
        data_dir: state.launch.data_dir.display().to_string(),
        known_users: backend.map(|b| b.known_users()).unwrap_or_default(),
        session: lock(&state.session).clone(),
        auto_user: state.launch.user.clone(),
        error: lock(&state.backend_error).clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

#[tauri::command]
pub async fn app_info(state: State<'_, DesktopState>) -> Result<AppInfo, Problem> {
    Ok(info(&state).await)
}

/// The settings the user saves in the app.
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsInput {
    pub mode: Mode,
    pub server_url: String,
    /// None keeps the stored token; "" clears it.
    pub token: Option<String>,
    /// Allows an `http://` server that is not this machine (the token crosses the
    /// network in clear).
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// Saves the settings and switches to the backend they name (signing out).
#[tauri::command]
pub async fn save_settings(
    state: State<'_, DesktopState>,
    input: SettingsInput,
) -> Result<AppInfo, Problem> {
    let mut next = lock(&state.settings).clone();
    next.mode = input.mode;
    next.server_url = input.server_url.trim().to_string();
    if let Some(t) = input.token {
        next.token = t.trim().to_string();
    }
    next.allow_insecure_http = input.allow_insecure_http;
    let launch = state.launch.clone();
    let candidate = next.clone();
    // Stop the old backend first: the embedded node owns its data directory.
    state.close_streams();
    *lock(&state.session) = None;
    let old = state.backend.write().await.take();
    if let Some(old) = old {
        tokio::task::spawn_blocking(move || old.shutdown())
            .await
            .map_err(|e| Problem::internal(e.to_string()))?;
    }
    let opened = tokio::task::spawn_blocking(move || open_backend(&launch, &candidate))
        .await
        .map_err(|e| Problem::internal(e.to_string()))?;
    match opened {
        Ok(b) => {
            *state.backend.write().await = Some(b);
            *lock(&state.backend_error) = None;
        }
        Err(e) => *lock(&state.backend_error) = Some(e.detail.clone()),
    }
    settings::save(&settings::path_in(&state.launch.data_dir), &next)
        .map_err(|e| Problem::internal(e.to_string()))?;
    *lock(&state.settings) = next;
    Ok(info(&state).await)
}

#[tauri::command]
pub async fn login(state: State<'_, DesktopState>, user: String) -> Result<Session, Problem> {
    let backend = state.backend().await?;
    let session = backend.login(&user).await?;
    state.close_streams();
    *lock(&state.session) = Some(session.clone());
    tracing::info!(user = %session.user, mode = ?backend.mode(), "signed in");
    Ok(session)
}

#[tauri::command]
pub fn logout(state: State<'_, DesktopState>) {
    state.close_streams();
    *lock(&state.session) = None;
}

#[tauri::command]
pub async fn request(state: State<'_, DesktopState>, request: Request) -> Result<Answer, Problem> {
    let session = state.session()?;
    state.backend().await?.request(&session, request).await
}

fn sink(channel: Channel<StreamMessage>) -> Sink {
    Arc::new(move |m| channel.send(m).is_ok())
}

fn register(state: &DesktopState, handle: crate::backend::StreamHandle) -> u32 {
    let id = state.next_stream.fetch_add(1, Ordering::Relaxed);
    lock(&state.streams).insert(id, handle);
    id
}

/// Opens the live task stream for `params`; `notify`: desktop notifications for tasks
/// that arrive for the user. Returns the stream's id (for `close_stream`).
#[tauri::command]
pub async fn stream_tasks(
    state: State<'_, DesktopState>,
    params: TaskStreamParams,
    notify: bool,
    channel: Channel<StreamMessage>,
) -> Result<u32, Problem> {
    let session = state.session()?;
    let backend = state.backend().await?;
    let to_window = sink(channel);
    let notifier = state.notifier.get().cloned().filter(|_| notify);
    let sink: Sink = match notifier {
        None => to_window,
        Some(notifier) => {
            let session = session.clone();
            Arc::new(move |m: StreamMessage| {
                if let StreamMessage::Live { item } = &m {
                    if let Some(notice) = crate::notify::notification_for(item, &session) {
                        // The desktop's notification service may be slow or missing, and
                        // showing waits for a click: never on the stream's path.
                        let notifier = notifier.clone();
                        tauri::async_runtime::spawn_blocking(move || notifier(&notice));
                    }
                }
                to_window(m)
            })
        }
    };
    let handle = backend.stream_tasks(&session, params, sink).await?;
    Ok(register(&state, handle))
}

#[tauri::command]
pub async fn stream_outcomes(
    state: State<'_, DesktopState>,
    channel: Channel<StreamMessage>,
) -> Result<u32, Problem> {
    let session = state.session()?;
    let backend = state.backend().await?;
    let handle = backend.stream_outcomes(&session, sink(channel)).await?;
    Ok(register(&state, handle))
}

#[tauri::command]
pub fn close_stream(state: State<'_, DesktopState>, id: u32) {
    lock(&state.streams).remove(&id);
}

/// How many tasks arrived for me while the window was not looked at: the window's title
/// says it (`Taskpool (3)`), and the dock or launcher badge where the desktop has one.
#[tauri::command]
pub fn set_unseen(window: tauri::WebviewWindow, count: u32) {
    let title = match count {
        0 => "Taskpool".to_string(),
        n => format!("Taskpool ({n})"),
    };
    if let Err(e) = window.set_title(&title) {
        tracing::debug!(error = %e, "the window title could not be set");
    }
    // Not every desktop has badges (most Linux desktops do not): the title says it anyway.
    let badge = (count > 0).then_some(i64::from(count));
    if let Err(e) = window.set_badge_count(badge) {
        tracing::debug!(error = %e, "no badge on this desktop");
    }
}

/// The window painted its first inbox: with `--startup-report`, the figures are written
/// and the app quits.
#[tauri::command]
pub fn first_paint(app: tauri::AppHandle, state: State<'_, DesktopState>, rows: usize, total: u64) {
    crate::startup::first_paint(&app, &state.launch, rows, total);
}
