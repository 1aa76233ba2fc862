//! The UI's TypeScript types are generated from the Rust types (ts-rs) and committed
//! under `ui/src/lib/generated/`. This test regenerates them and fails when the
//! committed files are not current; `TASKPOOL_UPDATE_BINDINGS=1 cargo test -p
//! taskpool-tests --test integration typescript_bindings` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use taskpool_collector::outcome_log::OutcomeRecord;
use taskpool_core::command_gateway::{BatchOutcome, CommandOutcome};
use taskpool_core::live::{LiveItem, Snapshot};
use taskpool_core::model::{DataEntry, ProcessDefinition, Task};
use taskpool_core::query::{
    CompletedPage, Diagram, FormDocument, ProcessInstanceSummary, TaskPage, TimelineEntry,
};
use taskpool_desktop::backend::{Answer, Request, StreamMessage};
use taskpool_desktop::commands::{AppInfo, SettingsInput};
use taskpool_node::answers::{ActionResponse, ApplicationCount};
use taskpool_node::filters::{FilterInput, SavedFilter};
use taskpool_node::node::TaskAction;
use taskpool_node::params::{TaskListParams, TaskStreamParams};
use taskpool_node::Problem;
use ts_rs::TS;

fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "ts") {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.insert(name, std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    out
}

#[test]
fn the_ui_types_are_current() {
    let generated = tempfile::tempdir().expect("tempdir");
    let dir = generated.path();
    // JSON numbers: i64 positions and ids are plain numbers in the browser.
    let cfg = ts_rs::Config::new()
        .with_out_dir(dir)
        .with_large_int("number");
    Task::export_all(&cfg).expect("Task");
    LiveItem::export_all(&cfg).expect("LiveItem");
    Snapshot::export_all(&cfg).expect("Snapshot");
    TaskPage::export_all(&cfg).expect("TaskPage");
    DataEntry::export_all(&cfg).expect("DataEntry");
    ProcessDefinition::export_all(&cfg).expect("ProcessDefinition");
    FormDocument::export_all(&cfg).expect("FormDocument");
    SavedFilter::export_all(&cfg).expect("SavedFilter");
    CompletedPage::export_all(&cfg).expect("CompletedPage");
    TimelineEntry::export_all(&cfg).expect("TimelineEntry");
    Diagram::export_all(&cfg).expect("Diagram");
    FilterInput::export_all(&cfg).expect("FilterInput");
    ProcessInstanceSummary::export_all(&cfg).expect("ProcessInstanceSummary");
    OutcomeRecord::export_all(&cfg).expect("OutcomeRecord");
    CommandOutcome::export_all(&cfg).expect("CommandOutcome");
    BatchOutcome::export_all(&cfg).expect("BatchOutcome");
    // The desktop app's IPC (Tauri commands and channel messages).
    Request::export_all(&cfg).expect("Request");
    StreamMessage::export_all(&cfg).expect("StreamMessage");
    AppInfo::export_all(&cfg).expect("AppInfo");
    SettingsInput::export_all(&cfg).expect("SettingsInput");
    // The node's parameter types, answers and its one problem document (the HTTP
    // transport sends the same documents).
    Problem::export_all(&cfg).expect("Problem");
    TaskListParams::export_all(&cfg).expect("TaskListParams");
    TaskStreamParams::export_all(&cfg).expect("TaskStreamParams");
    TaskAction::export_all(&cfg).expect("TaskAction");
    ActionResponse::export_all(&cfg).expect("ActionResponse");
    ApplicationCount::export_all(&cfg).expect("ApplicationCount");
    Answer::export_all(&cfg).expect("Answer");
    let fresh = files(dir);
    assert!(fresh.contains_key("Task.ts"), "{:?}", fresh.keys());
    let committed_dir: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/generated");
    if std::env::var("TASKPOOL_UPDATE_BINDINGS").is_ok_and(|v| v == "1") {
        let _ = std::fs::remove_dir_all(&committed_dir);
        std::fs::create_dir_all(&committed_dir).expect("create");
        for (name, text) in &fresh {
            std::fs::write(committed_dir.join(name), text).expect("write");
        }
    }
    let committed = files(&committed_dir);
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "ui/src/lib/generated is not current: run TASKPOOL_UPDATE_BINDINGS=1 cargo test -p taskpool-tests --test integration typescript_bindings"
    );
    for (name, text) in &fresh {
        assert_eq!(
            committed.get(name),
            Some(text),
            "ui/src/lib/generated/{name} is not current (TASKPOOL_UPDATE_BINDINGS=1 regenerates)"
        );
    }
}
