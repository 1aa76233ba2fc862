//! The embedded backend: the single-node task pool in this process (the server's node
//! without HTTP) with the example process application as its engine, so the inbox works
//! offline with no setup. Queries and actions run on the blocking pool; the same
//! parameter parsing and answers as the server's, so both modes behave alike.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use taskpool_collector::outcome_log::OutcomeQuery;
use taskpool_core::query::{RequestState, StaticUserDirectory, UserDirectory, Viewer};
use taskpool_core::view::ViewMemory;
use taskpool_node::answers::{ActionResponse, ApplicationCount};
use taskpool_node::live::{live_events, LiveEvent};
use taskpool_node::node::NodeOptions;
use taskpool_node::params::TaskStreamParams;
use taskpool_node::params::READ_WAIT;
use taskpool_node::TaskpoolNode;
use tokio_util::sync::CancellationToken;

use super::{
    Answer, Backend, KnownUser, Mode, Problem, Reply, Request, Session, Sink, StreamHandle,
    StreamMessage,
};

/// The example application's name inside the desktop app.
pub const APPLICATION: &str = "example";

pub struct EmbeddedBackend {
    node: Arc<TaskpoolNode>,
    users: StaticUserDirectory,
}

impl EmbeddedBackend {
    /// Opens (or creates) the task pool in `data_dir` and starts the example process
    /// application, starting new instances at `rate` per second (0: only the starting
    /// set of tasks).
    pub fn start(data_dir: &Path, rate: f64) -> anyhow::Result<Self> {
        // One user's inbox on a desktop: small view caches, no memory mapping.
        let node = TaskpoolNode::start(NodeOptions {
            view_memory: ViewMemory::DESKTOP,
            ..NodeOptions::new(data_dir)
        })?;
        node.adopt_thread(taskpool_example::on_node::start(
            node.clone(),
            APPLICATION,
            rate,
        )?);
        Ok(Self {
            node,
            users: taskpool_example::on_node::users(),
        })
    }

    pub fn node(&self) -> &Arc<TaskpoolNode> {
        &self.node
    }

    fn viewer(session: &Session) -> Viewer {
        Viewer::User {
            user: session.user.clone(),
            groups: session.groups.clone(),
        }
    }

    /// Runs `f` on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&TaskpoolNode) -> Result<T, Problem> + Send + 'static,
    {
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || f(&node))
            .await
            .map_err(|e| Problem::internal(format!("the query failed: {e}")))?
    }

    async fn answer(&self, session: &Session, request: Request) -> Result<Answer, Problem> {
        let viewer = Self::viewer(session);
        Ok(match request {
            Request::Tasks { params } => {
                let q = params.query(viewer)?;
                let position = params.position;
                Answer::Tasks(
                    self.blocking(move |n| {
                        // Read after one's own write, as the server does.
                        if let Some(p) = position {
                            if !n.wait_for_view(p, READ_WAIT) {
                                return Err(Problem::unavailable(
                                    "view-behind",
                                    format!("the view has not reached position {p} in time"),
                                ));
                            }
                        }
                        Ok(n.tasks(&q)?)
                    })
                    .await?,
                )
            }
            Request::Task { id } => Answer::Task(Box::new(
                self.blocking(move |n| Ok(n.task(&viewer, &id)?)).await?,
            )),
            Request::TaskDataEntries { id } => Answer::DataEntries(
                self.blocking(move |n| Ok(n.task_data_entries(&viewer, &id)?))
                    .await?,
            ),
            Request::TaskForm { id } => Answer::Form(Box::new(
                self.blocking(move |n| Ok(n.task_form(&viewer, &id)?))
                    .await?,
            )),
            Request::StartForm { id } => Answer::Form(Box::new(
                self.blocking(move |n| Ok(n.start_form(&viewer, &id)?))
                    .await?,
            )),
            Request::DataEntries { involved } => Answer::DataEntries(
                self.blocking(move |n| Ok(n.data_entries(&viewer, involved, 0, 200)?))
                    .await?,
            ),
            Request::ProcessDefinitions => Answer::ProcessDefinitions(
                self.blocking(move |n| Ok(n.process_definitions(&viewer)?))
                    .await?,
            ),
            Request::CountsByApplication => {
                let counts = self
                    .blocking(move |n| Ok(n.counts_by_application(&viewer)?))
                    .await?;
                Answer::Counts(ApplicationCount::list(counts))
            }
            Request::Attributes => Answer::Names(
                self.blocking(move |n| Ok(n.attribute_names(&viewer, 100)?))
                    .await?,
            ),
            Request::AttributeValues { name } => Answer::Names(
                self.blocking(move |n| Ok(n.attribute_values(&viewer, &name, 100)?))
                    .await?,
            ),
            Request::Outcomes => {
                let q = OutcomeQuery {
                    limit: 200,
                    ..Default::default()
                };
                Answer::Outcomes(
                    self.blocking(move |n| Ok(n.outcomes_for(&viewer, &q)?))
                        .await?,
                )
            }
            Request::Requests => Answer::Requests(
                self.blocking(move |n| Ok(n.requests(&viewer, 100)?))
                    .await?,
            ),
            Request::Act { id, action } => Answer::Action(
                self.blocking(move |n| {
                    // The window waits for the application's answer, as `?wait=true`.
                    let requested = n.act(&viewer, &id, action, None)?;
                    let answered = n.wait_for_answer(&viewer, &requested)?;
                    let task = n.task(&viewer, &id).ok();
                    ActionResponse::of(answered, task).map(Box::new)
                })
                .await?,
            ),
            Request::CompletedTasks { offset } => Answer::Completed(
                self.blocking(move |n| Ok(n.completed_tasks(&viewer, offset, 200)?))
                    .await?,
            ),
            Request::Timeline { id } => Answer::Timeline(
                self.blocking(move |n| Ok(n.task_timeline(&viewer, &id)?))
                    .await?,
            ),
            Request::Diagram { id } => Answer::Diagram(Box::new(
                self.blocking(move |n| Ok(n.task_diagram(&viewer, &id)?))
                    .await?,
            )),
            Request::Filters => Answer::Filters(
                self.blocking(move |n| Ok(n.saved_filters(&viewer)?))
                    .await?,
            ),
            Request::SaveFilter { input } => Answer::Filter(Box::new(
                self.blocking(move |n| Ok(n.save_filter(&viewer, &input)?))
                    .await?,
            )),
            Request::UpdateFilter { id, input } => Answer::Filter(Box::new(
                self.blocking(move |n| Ok(n.update_filter(&viewer, &id, &input)?))
                    .await?,
            )),
            Request::DeleteFilter { id } => {
                self.blocking(move |n| Ok(n.delete_filter(&viewer, &id)?))
                    .await?;
                Answer::Done
            }
            Request::Start { id, values } => Answer::Action(
                self.blocking(move |n| {
                    let requested = n.start_process(&viewer, &id, values, None, None)?;
                    let answered = n.wait_for_answer(&viewer, &requested)?;
                    let task = match (&answered.state, &answered.instance_id) {
                        (RequestState::Performed, Some(instance)) => {
                            n.first_task_of_instance(&viewer, instance)?
                        }
                        _ => None,
                    };
                    ActionResponse::of(answered, task).map(Box::new)
                })
                .await?,
            ),
        })
    }

    async fn open_task_stream(
        &self,
        session: &Session,
        params: TaskStreamParams,
        sink: Sink,
    ) -> Result<StreamHandle, Problem> {
        let from = params.from;
        let q = params.list_params().query(Self::viewer(session))?;
        let (subscription, snapshot) = self.blocking(move |n| Ok(n.subscribe(q, from)?)).await?;
        let stop = CancellationToken::new();
        let changes = live_events(subscription, stop.clone());
        tokio::spawn(async move {
            if let Some(snapshot) = snapshot {
                if !sink(StreamMessage::Snapshot { snapshot }) {
                    return;
                }
            }
            sink(StreamMessage::State {
                connected: true,
                detail: None,
            });
            futures::pin_mut!(changes);
            while let Some(event) = changes.next().await {
                let go_on = match event {
                    LiveEvent::Items(items) => items
                        .into_iter()
                        .all(|item| sink(StreamMessage::Live { item })),
                    LiveEvent::End { .. } => sink(StreamMessage::State {
                        connected: false,
                        detail: Some("the task pool stopped".into()),
                    }),
                    LiveEvent::Failed { problem, .. } => {
                        sink(StreamMessage::Failed { error: problem })
                    }
                };
                if !go_on {
                    break;
                }
            }
        });
        Ok(StreamHandle::new(stop))
    }

    fn open_outcome_stream(&self, sink: Sink) -> Result<StreamHandle, Problem> {
        let rx = self.node.outcome_log().subscribe(4096);
        let stop = CancellationToken::new();
        let (halt, node_stop) = (stop.clone(), self.node.stop_flag());
        std::thread::Builder::new()
            .name("desktop-outcomes".into())
            .spawn(move || {
                // Sleeps until an outcome arrives; the node's stop ends the feed, and a
                // closed window ends the stream at its next outcome.
                while let Ok(outcome) = rx.recv() {
                    if halt.is_cancelled() || node_stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    if !sink(StreamMessage::Outcome { outcome }) {
                        break;
                    }
                }
            })
            .map_err(|e| Problem::internal(format!("could not start the outcome stream: {e}")))?;
        Ok(StreamHandle::new(stop))
    }
}

impl Backend for EmbeddedBackend {
    fn mode(&self) -> Mode {
        Mode::Embedded
    }

    fn known_users(&self) -> Vec<KnownUser> {
        self.users
            .users()
            .into_iter()
            .map(|user| KnownUser {
                groups: self.users.groups_of(&user),
                user,
            })
            .collect()
    }

    fn login<'a>(&'a self, user: &'a str) -> Reply<'a, Session> {
        Box::pin(async move {
            let user = user.trim();
            if user.is_empty() {
                return Err(Problem::bad_request("user", "name a user"));
            }
            Ok(Session {
                user: user.to_string(),
                groups: self.users.groups_of(user),
                token: None,
            })
        })
    }

    fn request<'a>(&'a self, session: &'a Session, request: Request) -> Reply<'a, Answer> {
        Box::pin(self.answer(session, request))
    }

    fn stream_tasks<'a>(
        &'a self,
        session: &'a Session,
        params: TaskStreamParams,
        sink: Sink,
    ) -> Reply<'a, StreamHandle> {
        Box::pin(self.open_task_stream(session, params, sink))
    }

    fn stream_outcomes<'a>(&'a self, _session: &'a Session, sink: Sink) -> Reply<'a, StreamHandle> {
        Box::pin(async move { self.open_outcome_stream(sink) })
    }

    fn shutdown(&self) {
        self.node.shutdown();
    }
}
