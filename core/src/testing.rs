//! A given / when / then harness for aggregates:
//!
//! ```
//! # use taskpool_core::testing::AggregateTest;
//! # use taskpool_core::aggregate::TaskAggregate;
//! AggregateTest::<TaskAggregate>::given(vec![])
//!     .when(&taskpool_core::command::TaskCommand::DeleteTask(taskpool_core::command::DeleteTask {
//!         id: "t-1".into(),
//!         delete_reason: None,
//!     }))
//!     .then_expect_rejection(taskpool_core::RejectionCode::TaskNotFound);
//! ```

use crate::aggregate::Aggregate;
use crate::command::{Rejection, RejectionCode};

/// Builds the aggregate from past events (`given`), decides a command (`when`), and
/// checks the outcome (`then_*`).
pub struct AggregateTest<A: Aggregate> {
    state: A,
}

/// The outcome of `when`, to be checked.
pub struct AggregateResult<A: Aggregate> {
    result: Result<Vec<A::Event>, Rejection>,
}

impl<A: Aggregate> AggregateTest<A> {
    /// The aggregate after these events.
    pub fn given(events: Vec<A::Event>) -> Self {
        let mut state = A::default();
        for e in &events {
            state.evolve(e);
        }
        Self { state }
    }

    /// A fresh aggregate.
    pub fn given_no_events() -> Self {
        Self::given(Vec::new())
    }

    /// Decides the command.
    pub fn when(self, command: &A::Command) -> AggregateResult<A> {
        AggregateResult {
            result: self.state.decide(command),
        }
    }
}

impl<A: Aggregate> AggregateResult<A> {
    /// Accepted, with exactly these events.
    #[track_caller]
    pub fn then_expect_events(self, expected: Vec<A::Event>) {
        match self.result {
            Ok(events) => assert_eq!(events, expected, "unexpected events"),
            Err(r) => panic!("expected events {expected:?}, got rejection {r}"),
        }
    }

    /// Accepted; the events, for further checks.
    #[track_caller]
    pub fn then_accepted(self) -> Vec<A::Event> {
        match self.result {
            Ok(events) => events,
            Err(r) => panic!("expected events, got rejection {r}"),
        }
    }

    /// Accepted, changing nothing.
    #[track_caller]
    pub fn then_expect_no_events(self) {
        self.then_expect_events(Vec::new())
    }

    /// Rejected with this code; returns the rejection for further checks.
    #[track_caller]
    pub fn then_expect_rejection(self, code: RejectionCode) -> Rejection {
        match self.result {
            Ok(events) => panic!("expected rejection {code:?}, got events {events:?}"),
            Err(r) => {
                assert_eq!(r.code, code, "unexpected rejection code: {r}");
                assert!(!r.message.is_empty(), "a rejection must say why");
                r
            }
        }
    }
}

/// Sample domain objects for tests.
pub mod fixtures {
    use chrono::{TimeZone, Utc};

    use crate::model::{SourceReference, SourceReferenceKind, Task};

    /// A task of application `app` in process instance `pi-<id>`, created at a fixed time.
    pub fn task(id: &str, app: &str) -> Task {
        Task {
            id: id.to_string(),
            source_reference: SourceReference {
                kind: SourceReferenceKind::Process,
                instance_id: format!("pi-{id}"),
                execution_id: format!("ex-{id}"),
                definition_id: "approve-request:1:1".to_string(),
                definition_key: "approve-request".to_string(),
                name: "Approve request".to_string(),
                application_name: app.to_string(),
                tenant_id: None,
            },
            task_definition_key: "approve".to_string(),
            name: "Approve request".to_string(),
            description: None,
            form_key: None,
            priority: 50,
            assignee: None,
            owner: None,
            candidate_users: Default::default(),
            candidate_groups: Default::default(),
            create_time: Utc
                .with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
                .single()
                .unwrap_or_default(),
            due_date: None,
            follow_up_date: None,
            business_key: None,
            payload: Default::default(),
            correlations: Default::default(),
            enriched: false,
        }
    }
}
