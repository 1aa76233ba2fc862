//! Users' requests to the owning applications and where each stands: requested, then
//! performed or rejected by the application; expired when no answer came in time (the
//! node's setting, judged when read: no event marks it).

use std::time::Duration;

use super::*;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum RequestState {
    /// On its way to, or with, the owning application.
    Requested,
    /// The application's engine did it; the view shows the effect from
    /// `answeredPosition` on.
    Performed,
    /// The application refused it; `reason` says why.
    Rejected,
    /// No answer in time; `reason` names the silent application.
    Expired,
}

impl RequestState {
    /// Performed, rejected or expired: nothing more will be waited for.
    pub fn is_final(&self) -> bool {
        !matches!(self, RequestState::Requested)
    }
}

/// A user's request (claim, unclaim, complete, defer, undefer on a task; start of a
/// process) to the owning application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ActionRequest {
    /// The id of the user's command.
    #[cfg_attr(feature = "typescript", ts(type = "string"))]
    pub request_id: uuid::Uuid,
    /// The task acted on (task actions).
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The process definition to start (`start`).
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_id: Option<String>,
    /// The process instance a performed `start` began.
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// `claim`, `unclaim`, `complete`, `defer`, `undefer` or `start` (unknown when only
    /// the answer reached this node).
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The owning application.
    pub application_name: String,
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<DateTime<Utc>>,
    pub state: RequestState,
    /// Why it was rejected or expired.
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The event position of the answer.
    #[cfg_attr(feature = "typescript", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_position: Option<i64>,
}

impl ActionRequest {
    /// The request as it stands at `now` when answers are expected within `within`: a
    /// request still unanswered by then has expired.
    pub fn at(mut self, now: DateTime<Utc>, within: Duration) -> Self {
        let due = self
            .requested_at
            .and_then(|t| chrono::Duration::from_std(within).ok().map(|w| t + w));
        if self.state == RequestState::Requested && due.is_some_and(|d| d <= now) {
            self.state = RequestState::Expired;
            self.reason = Some(format!(
                "no answer from application `{}` within {} s",
                self.application_name,
                within.as_secs()
            ));
        }
        self
    }
}

const COLUMNS: &str = "request_id, task_id, action, user_name, application_name, requested_at, state, reason, answered_position, definition_id, instance_id";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActionRequest> {
    let id: String = r.get(0)?;
    let requested_at: Option<String> = r.get(5)?;
    let state: String = r.get(6)?;
    Ok(ActionRequest {
        request_id: uuid::Uuid::parse_str(&id).unwrap_or_default(),
        task_id: r.get(1)?,
        action: r.get(2)?,
        user: r.get(3)?,
        application_name: r.get(4)?,
        requested_at: requested_at
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)),
        state: match state.as_str() {
            "performed" => RequestState::Performed,
            "rejected" => RequestState::Rejected,
            _ => RequestState::Requested,
        },
        reason: r.get(7)?,
        answered_position: r.get(8)?,
        definition_id: r.get(9)?,
        instance_id: r.get(10)?,
    })
}

/// A request the viewer made (an admin sees every request).
pub fn request(
    conn: &Connection,
    viewer: &Viewer,
    id: uuid::Uuid,
) -> Result<Option<ActionRequest>, QueryError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM requests WHERE request_id = ?1"
        ))?
        .query_row([id.to_string()], read)
        .optional()?;
    Ok(found.filter(|r| match viewer {
        Viewer::Admin => true,
        Viewer::User { user, .. } => r.user.as_deref() == Some(user.as_str()),
    }))
}

/// The viewer's latest requests, newest first.
pub fn requests(
    conn: &Connection,
    viewer: &Viewer,
    limit: usize,
) -> Result<Vec<ActionRequest>, QueryError> {
    let limit = limit.clamp(1, MAX_PAGE) as i64;
    let rows = match viewer {
        Viewer::Admin => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM requests ORDER BY requested_position DESC LIMIT ?1"
            ))?
            .query_map([limit], read)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        Viewer::User { user, .. } => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM requests WHERE user_name = ?1 ORDER BY requested_position DESC LIMIT ?2"
            ))?
            .query_map(rusqlite::params![user, limit], read)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    Ok(rows)
}
