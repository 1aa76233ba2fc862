//! View maintenance.
//!
//! `taskpool-view rebuild --data-dir DIR`  drops the view and replays every event, with a
//!                                          progress bar.
//! `taskpool-view follow --data-dir DIR`   projects new events as they are committed
//!                                          (until killed), printing the position.
//! `taskpool-view parked --data-dir DIR`   lists the events the view could not read and
//!                                          went on without (position and why).
//! `taskpool-view discard-parked --data-dir DIR`  clears that list (the events stay
//!                                          unapplied; `rebuild` with a build that reads
//!                                          them applies them).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use taskpool_core::projector::Projector;
use taskpool_core::view::View;
use taskpool_core::EventStore;

// The allocator every Taskpool binary uses (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn usage() -> ! {
    eprintln!(
        "usage: taskpool-view (rebuild | follow | parked | discard-parked) --data-dir DIR [--batch N]"
    );
    std::process::exit(2);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else { usage() };
    let mut data_dir = None;
    let mut batch = 1000;
    let mut it = args.iter().skip(1);
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--data-dir", Some(v)) => data_dir = Some(PathBuf::from(v)),
            ("--batch", Some(v)) => batch = v.parse()?,
            _ => usage(),
        }
    }
    let Some(dir) = data_dir else { usage() };
    let store = EventStore::open(dir.join("events.db"))?;
    let view = View::open(dir.join("view.db"))?;
    let mut projector = Projector::new(&view)?.with_batch_size(batch);
    match command.as_str() {
        "rebuild" => {
            let started = Instant::now();
            let mut reader = store.reader()?;
            let mut out = std::io::stderr();
            let applied = projector.rebuild(&mut reader, &mut |done, total| {
                let total = total.max(1);
                let width = 40;
                let filled = (done * width / total) as usize;
                let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
                let _ = write!(
                    out,
                    "\r[{}{}] {done}/{total} events, {rate:.0}/s",
                    "#".repeat(filled),
                    " ".repeat(width as usize - filled)
                );
                let _ = out.flush();
            })?;
            eprintln!();
            println!(
                "rebuilt the view from {applied} events in {:.1?}",
                started.elapsed()
            );
        }
        "follow" => {
            let mut reader = store.reader()?;
            let mut stdout = std::io::stdout();
            loop {
                if projector.catch_up(&mut reader)? > 0 {
                    writeln!(stdout, "position {}", projector.position()?)?;
                    stdout.flush()?;
                } else if !projector.maintain()? {
                    // Nothing new and no upkeep left.
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        "parked" => {
            for (position, error) in taskpool_core::view::parked_events(&view.connect()?)? {
                println!("{position}\t{error}");
            }
        }
        "discard-parked" => {
            let n = taskpool_core::view::discard_parked_events(&view.connect()?)?;
            println!("discarded {n} parked events (they stay unapplied)");
        }
        _ => usage(),
    }
    Ok(())
}
