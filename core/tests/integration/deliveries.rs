//! A view fed with delivered events from several applications' stores: the first store
//! to publish an aggregate owns it; another's events for it are refused (never applied,
//! kept once each to be told to their application), whatever their versions.

use taskpool_core::command::*;
use taskpool_core::projector::{Delivered, DeliveryOffset, Projector};
use taskpool_core::query::{self, Viewer};
use taskpool_core::testing::fixtures;
use taskpool_core::view::deliveries::{self, DeliveredEvent, DeliveryCounts};
use taskpool_core::view::View;
use taskpool_core::{BatchMode, Command, CommandContext, CommandGateway, EventStore};

/// One application's store: its events as a tasklist node receives them.
struct Application {
    name: &'static str,
    store: EventStore,
    gateway: CommandGateway,
}

impl Application {
    fn new(dir: &std::path::Path, name: &'static str) -> Self {
        let store = EventStore::open(dir.join(format!("{name}.db"))).expect("store");
        let gateway = CommandGateway::new(&store).expect("gateway");
        Self {
            name,
            store,
            gateway,
        }
    }

    fn send(&self, commands: Vec<Command>) {
        let ctx = CommandContext {
            application: Some(self.name.into()),
            restrict_to_application: true,
            ..Default::default()
        };
        let out = self
            .gateway
            .handle(commands, BatchMode::Atomic, &ctx)
            .expect("handled");
        assert!(out.all_accepted(), "{out:?}");
    }

    fn delivered(&self) -> Vec<DeliveredEvent> {
        let mut reader = self.store.reader().expect("reader");
        reader
            .read_after(0, usize::MAX)
            .expect("events")
            .into_iter()
            .map(|event| DeliveredEvent {
                origin: self.name.into(),
                event,
            })
            .collect()
    }

    fn create(&self, id: &str) {
        let t = fixtures::task(id, self.name);
        self.send(vec![TaskCommand::CreateTask(t).into()]);
    }

    fn assign(&self, id: &str, who: &str) {
        self.send(vec![TaskCommand::AssignTask(AssignTask {
            id: id.into(),
            assignee: Some(who.into()),
        })
        .into()]);
    }
}

fn offset(n: i64) -> Vec<DeliveryOffset> {
    vec![DeliveryOffset {
        source: "events/0".into(),
        next_offset: n,
    }]
}

#[test]
fn the_first_application_to_publish_an_id_owns_it_and_the_second_is_refused_once_per_event() {
    // Given shop created collide-1, and hr created its own collide-1, assigned it to
    // hr-bob (version 2) and created hr-1
    let dir = tempfile::tempdir().expect("dir");
    let (shop, hr) = (
        Application::new(dir.path(), "shop"),
        Application::new(dir.path(), "hr"),
    );
    shop.create("collide-1");
    hr.create("collide-1");
    hr.assign("collide-1", "hr-bob");
    hr.create("hr-1");
    let view = View::open(dir.path().join("view.db")).expect("view");
    let mut projector = Projector::new(&view).expect("projector");

    // When a tasklist node receives shop's events, then hr's
    let first = projector
        .apply_delivered(&shop.delivered(), &offset(1), &[])
        .expect("shop's");
    let second = projector
        .apply_delivered(&hr.delivered(), &offset(4), &[])
        .expect("hr's");

    // Then collide-1 is shop's as shop sent it; hr's own task is there
    assert_eq!(
        first,
        Delivered {
            applied: 1,
            refused: 0
        }
    );
    assert_eq!(
        second,
        Delivered {
            applied: 1,
            refused: 2
        }
    );
    let conn = view.connect().expect("conn");
    let task = query::task_by_id(&conn, &Viewer::Admin, "collide-1")
        .expect("query")
        .expect("collide-1");
    assert_eq!(task.source_reference.application_name, "shop");
    assert_eq!(task.assignee, None, "hr's assignment is not shop's task's");
    assert!(query::task_by_id(&conn, &Viewer::Admin, "hr-1")
        .expect("query")
        .is_some());
    // And hr's two events wait to be told to hr, naming shop
    let unsent = projector.unsent_refusals(10).expect("unsent");
    let told: Vec<(String, String, i64, String)> = unsent
        .iter()
        .map(|r| {
            (
                r.origin.clone(),
                r.aggregate_id.clone(),
                r.aggregate_version,
                r.owner.clone(),
            )
        })
        .collect();
    assert_eq!(
        told,
        vec![
            ("hr".into(), "collide-1".into(), 1, "shop".into()),
            ("hr".into(), "collide-1".into(), 2, "shop".into()),
        ]
    );
    assert!(
        unsent[0].message().contains("belongs to shop"),
        "{}",
        unsent[0].message()
    );

    // When hr's events are delivered again (a redelivery)
    let again = projector
        .apply_delivered(&hr.delivered(), &offset(4), &[])
        .expect("again");
    // Then nothing changes and nothing is to be told twice
    assert_eq!(again, Delivered::default());
    assert_eq!(projector.unsent_refusals(10).expect("unsent").len(), 2);
    assert_eq!(
        deliveries::counts(&conn).expect("counts"),
        DeliveryCounts {
            parked: 0,
            refused: 2,
            refused_unsent: 2
        }
    );
    let ids: Vec<_> = unsent.iter().map(|r| r.event_id).collect();
    projector.refusals_sent(&ids).expect("sent");
    assert!(projector.unsent_refusals(10).expect("unsent").is_empty());
    projector
        .apply_delivered(&hr.delivered(), &offset(4), &[])
        .expect("once more");
    assert!(
        projector.unsent_refusals(10).expect("unsent").is_empty(),
        "a refusal told is not told again"
    );
    assert_eq!(
        deliveries::counts(&conn).expect("counts"),
        DeliveryCounts {
            parked: 0,
            refused: 2,
            refused_unsent: 0
        }
    );
}
