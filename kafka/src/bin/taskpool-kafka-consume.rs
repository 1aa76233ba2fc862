//! A headless tasklist projector: reads the event topics into a view file, as a tasklist
//! node does (used by the crash tests, and handy to build a view from Kafka).
//!
//! `taskpool-kafka-consume --brokers HOST:PORT --view FILE [--until N] [--batch N] [--pause-ms N]`
//! (`--until`: stop once the view holds N applied events; `--batch`: messages per
//! transaction; `--pause-ms`: a pause between batches, to play a slow node in tests).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use taskpool_core::view::View;
use taskpool_kafka::{KafkaConfig, TasklistConsumer};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = KafkaConfig::default();
    let (mut view, mut until, mut batch, mut pause) = (None, None, 2000, 0u64);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--brokers" => config.brokers = value()?,
            "--view" => view = Some(value()?),
            "--until" => until = Some(value()?.parse::<i64>()?),
            "--batch" => batch = value()?.parse::<usize>()?,
            "--pause-ms" => pause = value()?.parse::<u64>()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let view = View::open(view.ok_or("--view FILE is required")?)?;
    let mut consumer = TasklistConsumer::new(&config, &view, None)?;
    let signal = consumer.signal();
    let stop = AtomicBool::new(false);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        if until.is_some_and(|n| signal.head() >= n) {
            break;
        }
        consumer.poll_batch(batch, Duration::from_millis(100))?;
        if pause > 0 {
            std::thread::sleep(Duration::from_millis(pause));
        }
    }
    Ok(())
}
