//! A Kafka-protocol broker for tests and benchmarks: nisshi (a Kafka-compatible broker
//! from crates.io, installed by `scripts/kafka-broker install`, which `./run test`
//! calls), on a free loopback port, in-memory storage. It can be paused (SIGSTOP: the
//! broker answers nothing, as in an outage, and keeps its data) and resumed.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The version the project's scripts install.
pub const NISSHI_VERSION: &str = "0.7.0-pre.2";

/// Where the broker binary is: `TASKPOOL_NISSHI`, or the scripts' install location.
pub fn broker_binary() -> PathBuf {
    if let Ok(p) = std::env::var("TASKPOOL_NISSHI") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(format!(".cache/nisshi-{NISSHI_VERSION}/bin/nisshi"))
}

/// A running broker; stopped when dropped.
pub struct TestBroker {
    child: Child,
    pub port: u16,
}

impl TestBroker {
    /// Starts a broker on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        let bin = broker_binary();
        assert!(
            bin.exists(),
            "no Kafka broker at {}: run `scripts/kafka-broker install` (./run test does)",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://nisshi/", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the broker starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the broker did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    /// `bootstrap.servers` for this broker.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {sig} failed");
    }

    /// Stops the broker answering (SIGSTOP): connections hang as in an outage.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets it answer again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
