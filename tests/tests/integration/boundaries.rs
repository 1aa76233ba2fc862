//! The crates' boundaries, as cargo resolves them: the desktop links the node, never the
//! HTTP server or Kafka; the node links no HTTP framework, token library or metrics
//! exporter; core links no transport; a server built without its `kafka` feature links
//! no librdkafka; core's sources do not speak Kafka.
//!
//! Dependencies are read with `cargo tree -p CRATE -e normal`, which resolves features
//! for that crate alone, as `cargo build -p CRATE` does. (`cargo metadata` resolves the
//! whole workspace at once, unifying features: it would list utoipa under the desktop
//! because the server turns on core's `openapi` feature, though a desktop build never
//! links it.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The packages in `krate`'s normal dependency closure (itself included).
fn closure(krate: &str, extra: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "tree", "--locked", "-p", krate, "-e", "normal", "--prefix", "none",
        ])
        .args(["--format", "{p}"])
        .args(extra)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {krate} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

fn assert_excludes(krate: &str, closure: &BTreeSet<String>, forbidden: &[&str]) {
    assert!(
        closure.contains(krate),
        "{krate} missing from its own closure: {closure:?}"
    );
    let found: Vec<&&str> = forbidden.iter().filter(|f| closure.contains(**f)).collect();
    assert!(found.is_empty(), "{krate} depends on {found:?}");
}

const TRANSPORTS: &[&str] = &["axum", "hyper", "tower", "reqwest", "rdkafka", "tauri"];

#[test]
fn the_desktop_links_the_node_not_the_server_or_kafka() {
    let desktop = closure("taskpool-desktop", &[]);
    assert!(
        desktop.contains("taskpool-node"),
        "the desktop runs the node"
    );
    assert_excludes(
        "taskpool-desktop",
        &desktop,
        &[
            "taskpool-server",
            "taskpool-kafka",
            "rdkafka",
            "axum",
            "jsonwebtoken",
            "utoipa",
        ],
    );
}

#[test]
fn the_node_links_no_http_framework_token_library_or_exporter() {
    let node = closure("taskpool-node", &[]);
    assert_excludes(
        "taskpool-node",
        &node,
        &[
            "axum",
            "hyper",
            "tower",
            "reqwest",
            "rdkafka",
            "tauri",
            "jsonwebtoken",
            "metrics-exporter-prometheus",
            "taskpool-server",
            "taskpool-kafka",
        ],
    );
}

#[test]
fn core_links_no_transport() {
    let core = closure("taskpool-core", &[]);
    assert_excludes("taskpool-core", &core, TRANSPORTS);
}

#[test]
fn a_server_without_its_kafka_feature_links_no_librdkafka() {
    let lean = closure("taskpool-server", &["--no-default-features"]);
    assert_excludes("taskpool-server", &lean, &["rdkafka", "rdkafka-sys"]);
    let full = closure("taskpool-server", &[]);
    assert!(
        full.contains("rdkafka"),
        "the default server has the Kafka roles"
    );
}

/// Kafka's words, whole words, any case.
fn kafka_words(text: &str) -> Vec<String> {
    const WORDS: &[&str] = &[
        "kafka",
        "rdkafka",
        "topic",
        "topics",
        "partition",
        "partitions",
    ];
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .flat_map(|w| w.split('_'))
        .filter(|w| WORDS.contains(&w.to_ascii_lowercase().as_str()))
        .map(String::from)
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn cores_sources_do_not_speak_kafka() {
    assert_eq!(
        kafka_words("a ConsumerOffset per topic_partition"),
        vec!["topic", "partition"]
    );
    assert!(kafka_words("Kafka").len() == 1 && kafka_words("offset paging").is_empty());
    let mut files = Vec::new();
    rust_files(&workspace().join("core/src"), &mut files);
    assert!(files.len() > 10, "core's sources were found");
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        for (n, line) in text.lines().enumerate() {
            let words = kafka_words(line);
            if !words.is_empty() {
                found.push(format!("{}:{}: {words:?}", f.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "core speaks Kafka:\n{}", found.join("\n"));
}

#[test]
fn every_sqlite_file_is_opened_through_open_wal() {
    // Sources that run in a node or an engine (tests and benches may open files as they
    // like); core/src/sqlite.rs is the one place that opens them.
    let mut files = Vec::new();
    for dir in [
        "core/src",
        "collector/src",
        "node/src",
        "example/src",
        "kafka/src",
        "server/src",
        "src-tauri/src",
    ] {
        rust_files(&workspace().join(dir), &mut files);
    }
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.ends_with("core/src/sqlite.rs")) {
        let text = std::fs::read_to_string(f).expect("read");
        // Stop at a file's unit tests.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            if line.contains("Connection::open(") || line.contains("Connection::open_with_flags(") {
                found.push(format!("{}:{}", f.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "open SQLite files with taskpool_core::sqlite::open_wal (WAL, busy timeout, retry):\n{}",
        found.join("\n")
    );
}
