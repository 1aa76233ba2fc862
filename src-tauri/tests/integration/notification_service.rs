//! A desktop notification service (`org.freedesktop.Notifications`) on a private D-Bus
//! session bus, for the e2e: it records what the app shows and clicks a notification as a
//! user would (the `ActionInvoked` signal with the `default` action).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use zbus::OwnedVariant;

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";

/// One notification as the app sent it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub id: u32,
    pub summary: String,
    pub actions: Vec<String>,
    /// The `x-taskpool-task-id` hint.
    pub task_id: Option<String>,
}

struct Service {
    shown: Arc<Mutex<Vec<Shown>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Service {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: &str,
        _replaces_id: u32,
        _app_icon: &str,
        summary: &str,
        _body: &str,
        actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        let id = shown.len() as u32 + 1;
        let task_id = hints
            .get("x-taskpool-task-id")
            .and_then(|v| String::try_from(v.clone()).ok());
        shown.push(Shown {
            id,
            summary: summary.to_string(),
            actions,
            task_id,
        });
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "taskpool-e2e".into(),
            "taskpool".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

/// A bus with the service on it; both end when dropped.
pub struct NotificationService {
    bus: Child,
    pub address: String,
    connection: zbus::Connection,
    shown: Arc<Mutex<Vec<Shown>>>,
}

impl NotificationService {
    pub async fn start() -> Res<Self> {
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("dbus-daemon could not start ({e})"))?;
        let mut line = String::new();
        let stdout = bus.stdout.take().ok_or("dbus-daemon's output")?;
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line.trim().to_string();
        let shown = Arc::new(Mutex::new(Vec::new()));
        let connection = zbus::connection::Builder::address(address.as_str())
            .name(INTERFACE)
            .serve_at(
                PATH,
                Service {
                    shown: shown.clone(),
                },
            )
            .build()
            .await?;
        Ok(Self {
            bus,
            address,
            connection,
            shown,
        })
    }

    pub fn shown(&self) -> Vec<Shown> {
        self.shown.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A click on notification `id` (its body: the `default` action).
    pub async fn click(&self, id: u32) -> Res {
        self.connection
            .emit_signal(
                None::<zbus::names::BusName<'_>>,
                PATH,
                INTERFACE,
                "ActionInvoked",
                &(id, "default"),
            )
            .await?;
        Ok(())
    }
}

impl Drop for NotificationService {
    fn drop(&mut self) {
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
