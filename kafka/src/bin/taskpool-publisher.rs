//! A process application's publisher, on its own: what a process-application node runs
//! inside, plus the parked events' upkeep.
//!
//! `taskpool-publisher publish --data-dir DIR --application NAME --brokers HOST:PORT [--batch N] [--pause-ms N] [--until-done]`
//!   publishes the application's event store (`DIR/events.db`, checkpoint in
//!   `DIR/kafka.db`) until killed, or with `--until-done` until it has caught up.
//! `taskpool-publisher parked --data-dir DIR --application NAME`
//!   lists the events the publisher parked (position, aggregate, why). They are sent
//!   again, oldest first, at every start of the publisher (raise the broker's limit,
//!   then restart the node).
//! `taskpool-publisher discard-parked --data-dir DIR --application NAME`
//!   drops them: they stay unpublished and their aggregates flow again (readers skip the
//!   gap in versions).

use std::path::PathBuf;
use std::time::Duration;

use taskpool_core::EventStore;
use taskpool_kafka::{parked, KafkaConfig, Publisher};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: taskpool-publisher (publish | parked | discard-parked) --data-dir DIR --application NAME [--brokers HOST:PORT] [--batch N] [--pause-ms N] [--until-done]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or(USAGE)?;
    let mut config = KafkaConfig::default();
    let (mut dir, mut application) = (None, None);
    let (mut batch, mut pause, mut until_done) = (5000, 0u64, false);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--data-dir" => dir = Some(PathBuf::from(value()?)),
            "--application" => application = Some(value()?),
            "--brokers" => config.brokers = value()?,
            "--batch" => batch = value()?.parse::<usize>()?,
            "--pause-ms" => pause = value()?.parse::<u64>()?,
            "--until-done" => until_done = true,
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    let dir = dir.ok_or(USAGE)?;
    let application = application.ok_or(USAGE)?;
    let kafka_db = dir.join("kafka.db");
    match command.as_str() {
        "publish" => {
            let store = EventStore::open(dir.join("events.db"))?;
            let mut reader = store.reader()?;
            let mut publisher =
                Publisher::new(&config, &application, &kafka_db)?.with_batch_size(batch);
            loop {
                // As in a node: a failure (the broker gone, a delivery timed out) is
                // retried with backoff, never the end.
                let n = match publisher.publish_next(&mut reader) {
                    Ok(n) => n,
                    Err(e) => {
                        let head = reader.head_position().unwrap_or(0);
                        std::thread::sleep(publisher.failed(&e, head));
                        continue;
                    }
                };
                if n == 0 && until_done {
                    break;
                }
                let idle = if n == 0 { 20 } else { 0 };
                std::thread::sleep(Duration::from_millis(pause.max(idle)));
            }
        }
        "parked" => {
            let conn = taskpool_core::sqlite::open_wal(&kafka_db, "FULL")?;
            for p in parked::list(&conn, &application)? {
                println!(
                    "{}\t{} {}\t{}",
                    p.position, p.aggregate_kind, p.aggregate_id, p.error
                );
            }
        }
        "discard-parked" => {
            let conn = taskpool_core::sqlite::open_wal(&kafka_db, "FULL")?;
            let n = parked::discard(&conn, &application)?;
            println!("discarded {n} parked events (they stay unpublished)");
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
