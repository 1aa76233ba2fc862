//! An Apache Kafka broker for tests and benchmarks: the broker jars from Maven Central
//! (`org.apache.kafka:kafka_2.13`, installed by `scripts/kafka-broker install`, which
//! `./run test` calls), one node in KRaft mode (broker and controller) on free loopback
//! ports, its log in a folder of its own. It can be paused (SIGSTOP: the broker answers
//! nothing, as in an outage, and keeps its data) and resumed, or killed (SIGKILL) and
//! restarted on the log it left.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Apache Kafka version the project's scripts install.
pub const KAFKA_VERSION: &str = "4.4.0";

/// The cluster id every test broker is formatted with (a base64 UUID, as Kafka wants).
const CLUSTER_ID: &str = "dGFza3Bvb2wtY2x1c3Rlcg";

/// Where the broker's jars are: `TASKPOOL_KAFKA_HOME/libs`, or the scripts' install
/// location (`~/.cache/taskpool-kafka-<version>/libs`).
pub fn broker_home() -> PathBuf {
    if let Ok(p) = std::env::var("TASKPOOL_KAFKA_HOME") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(format!(".cache/taskpool-kafka-{KAFKA_VERSION}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running broker; killed and its log removed when dropped.
pub struct TestBroker {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl TestBroker {
    /// Starts a broker on free ports with an empty log and waits until it listens.
    pub fn start() -> Self {
        let libs = broker_home().join("libs");
        assert!(
            libs.join(format!("kafka_2.13-{KAFKA_VERSION}.jar"))
                .exists(),
            "no Apache Kafka broker in {}: run `scripts/kafka-broker install` (./run test does)",
            libs.display()
        );
        let dir = tempfile::tempdir().expect("a folder for the broker");
        let (port, controller) = (free_port(), free_port());
        let config = dir.path().join("server.properties");
        write_config(&config, port, controller, &dir.path().join("log"));
        let status = java(&libs)
            .args(["kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the storage tool runs");
        assert!(status.success(), "formatting the broker's log failed");
        let mut broker = Self {
            child: None,
            port,
            dir,
        };
        broker.launch();
        broker
    }

    fn launch(&mut self) {
        let libs = broker_home().join("libs");
        let child = java(&libs)
            .args(["-Xmx512m", "-Xms64m", "-XX:+UseSerialGC", "kafka.Kafka"])
            .arg(self.dir.path().join("server.properties"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the broker starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the broker did not listen on {}",
                self.port
            );
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("the broker exited while starting: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `bootstrap.servers` for this broker.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn signal(&self, sig: &str) {
        let Some(child) = &self.child else { return };
        let status = Command::new("kill")
            .args([sig, &child.id().to_string()])
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

    /// Kills the broker outright (SIGKILL): what it had not written to its log is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the log it left, on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.signal("-CONT");
        self.kill();
    }
}

fn java(libs: &Path) -> Command {
    let mut java = Command::new(
        std::env::var_os("JAVA_HOME")
            .map(|h| PathBuf::from(h).join("bin/java"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("java")),
    );
    java.arg("-cp").arg(format!("{}/*", libs.display()));
    java
}

/// One node that is broker and controller, flushing as Kafka does by default (the page
/// cache; a SIGKILLed broker loses nothing the OS holds). Its broker may miss heartbeats
/// to its controller for 30 s (default 9 s): both stop together when paused, and a
/// pause of 10 s (the outage tests) must not make it fence itself on resume, which no
/// network outage of a real cluster's broker would do to a single node.
fn write_config(file: &Path, port: u16, controller: u16, log: &Path) {
    let text = format!(
        "process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.voters=1@127.0.0.1:{controller}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         controller.listener.names=CONTROLLER\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
         inter.broker.listener.name=PLAINTEXT\n\
         log.dirs={log}\n\
         num.partitions=1\n\
         offsets.topic.replication.factor=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         share.coordinator.state.topic.replication.factor=1\n\
         share.coordinator.state.topic.min.isr=1\n\
         group.initial.rebalance.delay.ms=0\n\
         broker.session.timeout.ms=30000\n",
        log = log.display()
    );
    let mut f = std::fs::File::create(file).expect("the broker's configuration");
    f.write_all(text.as_bytes())
        .expect("the broker's configuration written");
}
