//! What the app holds while it runs: the settings, the backend they chose, who is
//! signed in and the open streams.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::backend::embedded::EmbeddedBackend;
use crate::backend::remote::RemoteBackend;
use crate::backend::{Backend, Mode, Problem, Session, StreamHandle};
use crate::settings::Settings;

/// Shows a desktop notification about a task (and waits for a click on it).
pub type Notifier = Arc<dyn Fn(&crate::notify::Notice) + Send + Sync>;

/// How the app was started.
#[derive(Debug, Clone)]
pub struct Launch {
    pub data_dir: PathBuf,
    /// New example instances per second in embedded mode.
    pub example_rate: f64,
    /// Sign this user in at once.
    pub user: Option<String>,
    /// Write the start-up figures here after the first inbox paint, then quit.
    pub startup_report: Option<PathBuf>,
    pub started: Instant,
}

pub struct DesktopState {
    pub launch: Launch,
    pub settings: Mutex<Settings>,
    pub backend: tokio::sync::RwLock<Option<Arc<dyn Backend>>>,
    /// Why there is no backend (a remote URL that is not one, a data dir that fails).
    pub backend_error: Mutex<Option<String>>,
    pub session: Mutex<Option<Session>>,
    pub streams: Mutex<HashMap<u32, StreamHandle>>,
    pub next_stream: AtomicU32,
    pub notifier: OnceLock<Notifier>,
}

impl DesktopState {
    /// The state with the backend the settings choose (started here: the embedded node
    /// opens its data directory).
    pub fn start(launch: Launch, settings: Settings) -> Self {
        let (backend, error) = match open_backend(&launch, &settings) {
            Ok(b) => (Some(b), None),
            Err(e) => {
                tracing::error!(error = %e, "could not start the backend");
                (None, Some(e.detail))
            }
        };
        Self {
            launch,
            settings: Mutex::new(settings),
            backend: tokio::sync::RwLock::new(backend),
            backend_error: Mutex::new(error),
            session: Mutex::new(None),
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU32::new(1),
            notifier: OnceLock::new(),
        }
    }

    pub fn session(&self) -> Result<Session, Problem> {
        lock(&self.session)
            .clone()
            .ok_or_else(crate::backend::not_signed_in)
    }

    pub async fn backend(&self) -> Result<Arc<dyn Backend>, Problem> {
        self.backend.read().await.clone().ok_or_else(|| {
            Problem::unavailable(
                "no-backend",
                lock(&self.backend_error)
                    .clone()
                    .unwrap_or_else(|| "no backend is configured".into()),
            )
        })
    }

    /// Closes every stream (on sign-out or a backend switch).
    pub fn close_streams(&self) {
        lock(&self.streams).clear();
    }
}

/// The backend for `settings`.
pub fn open_backend(launch: &Launch, settings: &Settings) -> Result<Arc<dyn Backend>, Problem> {
    match settings.mode {
        Mode::Embedded => {
            EmbeddedBackend::start(&launch.data_dir.join("taskpool"), launch.example_rate)
                .map(|b| Arc::new(b) as Arc<dyn Backend>)
                .map_err(|e| {
                    Problem::internal(format!("the embedded task pool could not start: {e:#}"))
                })
        }
        Mode::Remote => RemoteBackend::with_http(
            &settings.server_url,
            Some(settings.token.clone()),
            settings.allow_insecure_http,
        )
        .map(|b| Arc::new(b) as Arc<dyn Backend>),
    }
}

/// Locks a mutex, recovering from a panic elsewhere (the data stays usable).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
