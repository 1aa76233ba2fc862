//! `taskpool-desktop`: the desktop inbox. Embedded by default (the whole task pool in
//! this process, data in the app's data directory); `--remote URL` connects to a
//! taskpool server instead. Mode, URL and token can also be changed in the app.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use taskpool_desktop::backend::Mode;
use taskpool_desktop::{settings, DesktopState, Launch};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(version, about = "The Taskpool desktop inbox")]
struct Args {
    /// Run the task pool inside the app (the default; overrides the stored setting).
    #[arg(long, conflicts_with = "remote")]
    embedded: bool,
    /// Connect to a taskpool server (`http://host:port`; overrides the stored setting).
    #[arg(long, value_name = "URL")]
    remote: Option<String>,
    /// A file holding the bearer token for the remote server (else its development
    /// login is used); or the TASKPOOL_TOKEN environment variable. Not on the command
    /// line: other users of the machine can read that.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Where the app keeps its settings and the embedded task pool.
    #[arg(long, env = "TASKPOOL_DESKTOP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Embedded mode: new example process instances per second (`--demo-rate`).
    #[arg(long, alias = "demo-rate", default_value_t = 0.02)]
    example_rate: f64,
    /// Sign this user in at start.
    #[arg(long)]
    user: Option<String>,
    /// Write start-up figures (first inbox paint, memory) to this file and quit.
    #[arg(long, value_name = "FILE")]
    startup_report: Option<PathBuf>,
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("dev.taskpool.desktop")
}

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tao=warn,wry=warn".into()),
        )
        .init();
    let args = Args::parse();
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "no display: the desktop inbox needs a graphical session (DISPLAY or WAYLAND_DISPLAY). \
             Without one, run the browser inbox: `./run server` and open http://127.0.0.1:8080"
        );
    }
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let mut stored = settings::load(&settings::path_in(&data_dir))?;
    if let Some(url) = args.remote {
        stored.mode = Mode::Remote;
        stored.server_url = url;
    } else if args.embedded {
        stored.mode = Mode::Embedded;
    }
    if let Some(file) = args.token_file {
        stored.token = std::fs::read_to_string(&file)
            .map_err(|e| anyhow::anyhow!("token file {}: {e}", file.display()))?
            .trim()
            .to_string();
    } else if let Ok(t) = std::env::var("TASKPOOL_TOKEN") {
        stored.token = t.trim().to_string();
    }
    let launch = Launch {
        data_dir,
        example_rate: args.example_rate,
        user: args.user,
        startup_report: args.startup_report,
        started,
    };
    tracing::info!(mode = ?stored.mode, data_dir = %launch.data_dir.display(), "starting the desktop inbox");
    taskpool_desktop::run(DesktopState::start(launch, stored))
}
