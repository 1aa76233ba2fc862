//! `taskpool-server`: the task pool as a service.
//!
//! ```text
//! taskpool-server [--config FILE] [--data-dir DIR] [--listen ADDR:PORT] [--demo] [--dev-user U]
//! taskpool-server token --data-dir DIR --user U --groups g1,g2
//! taskpool-server token --data-dir DIR --application NAME
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use taskpool_server::auth::{application_token, load_or_create_secret, user_token};
use taskpool_server::config::ServerConfig;

// The allocator every Taskpool binary uses (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "taskpool-server",
    version,
    about = "The task pool server: tasklist API, live streams, ingestion API"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Args)]
struct ServeArgs {
    /// A TOML configuration file (flags and TASKPOOL_* variables override it).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Where the event store, view, outcome log and token secret live.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Where to listen (default 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Also run the example process application (live tasks for alice, bob, carol).
    /// `--demo` is the same flag's earlier name.
    #[arg(long, alias = "demo")]
    example: bool,
    /// The example application: new process instances per second (`--demo-rate`).
    #[arg(long, alias = "demo-rate")]
    example_rate: Option<f64>,
    /// Development mode: requests without a token act as this user.
    #[arg(long)]
    dev_user: Option<String>,
    /// Development mode: a static users file giving users and groups.
    #[arg(long)]
    users_file: Option<PathBuf>,
    /// The built web UI to serve at /.
    #[arg(long)]
    ui_dir: Option<PathBuf>,
    /// single (default), process-application or tasklist.
    #[arg(long)]
    role: Option<taskpool_server::config::Role>,
    /// The process application this node runs (process-application role, demo).
    #[arg(long)]
    application: Option<String>,
    /// Kafka bootstrap servers (roles other than single).
    #[arg(long)]
    kafka_brokers: Option<String>,
    /// Print `listening on http://ADDR` on stdout once listening (for scripts).
    #[arg(long)]
    print_address: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Prints a token signed with the data directory's secret.
    Token(TokenArgs),
}

#[derive(Args)]
struct TokenArgs {
    /// The user (end-user token).
    #[arg(long, conflicts_with = "application")]
    user: Option<String>,
    /// The user's groups, comma-separated.
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// The process application (application token).
    #[arg(long)]
    application: Option<String>,
    /// Validity in hours.
    #[arg(long, default_value_t = 24 * 30)]
    hours: u64,
}

fn config(args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let mut c = ServerConfig::load(args.config.as_deref(), std::env::vars())?;
    if let Some(d) = &args.data_dir {
        c.data_dir = d.clone();
    }
    if let Some(l) = args.listen {
        c.listen = l;
    }
    c.example |= args.example;
    if let Some(r) = args.example_rate {
        c.example_rate = r;
    }
    if let Some(u) = &args.dev_user {
        c.auth.dev_user = Some(u.clone());
    }
    if let Some(f) = &args.users_file {
        c.auth.users_file = Some(f.clone());
    }
    if let Some(u) = &args.ui_dir {
        c.ui_dir = Some(u.clone());
    }
    if let Some(r) = args.role {
        c.role = r;
    }
    if let Some(a) = &args.application {
        c.application = a.clone();
    }
    if let Some(b) = &args.kafka_brokers {
        c.kafka.brokers = b.clone();
    }
    Ok(c)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Every live stream is a connection: allow as many open files as the system lets us.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
    let config = config(&cli.serve)?;
    match cli.command {
        Some(Command::Token(t)) => {
            let secret =
                load_or_create_secret(&config.data_dir, config.auth.hs256_secret.as_deref())?;
            let ttl = t.hours.saturating_mul(3600);
            let token = match (&t.user, &t.application) {
                (Some(user), None) => user_token(&secret, user, &t.groups, ttl)?,
                (None, Some(app)) => application_token(&secret, app, ttl)?,
                _ => anyhow::bail!("give --user U [--groups g1,g2] or --application NAME"),
            };
            println!("{token}");
            Ok(())
        }
        None => {
            // Blocking threads only run short SQLite work (waits are async): a few dozen
            // keep both cores busy without a thread (and an allocator heap) per request.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .max_blocking_threads(32)
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(async move {
                let server = taskpool_server::serve(config).await?;
                if cli.serve.print_address {
                    println!("listening on http://{}", server.addr);
                }
                let token = server.shutdown_token();
                tokio::spawn(async move {
                    shutdown_signal().await;
                    tracing::info!("shutting down: finishing requests, closing streams");
                    token.cancel();
                });
                server.wait().await
            })
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_flags_keep_their_earlier_names() {
        for args in [
            ["taskpool-server", "--example", "--example-rate", "0.5"],
            ["taskpool-server", "--demo", "--demo-rate", "0.5"],
        ] {
            let cli = Cli::try_parse_from(args).expect("parses");
            let c = config(&cli.serve).expect("config");
            assert!(c.example, "{args:?}");
            assert_eq!(c.example_rate, 0.5, "{args:?}");
        }
    }
}
