//! Where in a request body a bad value sits, across tagged values.
//!
//! `serde_path_to_error` tracks the path of a bad field (`events[0]`), but a tagged
//! value (`{"type": "taskCreated", ...}`) is buffered before its variant is decoded,
//! which hides the rest of the path. So a tagged value decodes its body with its own
//! tracking and puts the inner path into its error message ([`nested`]); whoever
//! reports the error joins both ([`join`]): `events[0].task.createTime`.

use std::fmt::Display;

const START: &str = "at `";
const END: &str = "`: ";

/// The error message of a bad value at `path` inside a tagged body.
pub fn nested(path: &str, message: impl Display) -> String {
    if path.is_empty() || path == "." {
        message.to_string()
    } else {
        format!("{START}{path}{END}{message}")
    }
}

/// The whole path and the message, from the path the outer decoder tracked and the
/// error message (which may name an inner path, see [`nested`]).
pub fn join(outer: &str, message: &str) -> (String, String) {
    let outer = if outer == "." { "" } else { outer };
    let inner = message
        .strip_prefix(START)
        .and_then(|rest| rest.split_once(END));
    match inner {
        Some((inner, rest)) => {
            let path = match (outer.is_empty(), inner.starts_with('[')) {
                (true, _) => inner.to_string(),
                (false, true) => format!("{outer}{inner}"),
                (false, false) => format!("{outer}.{inner}"),
            };
            (path, rest.to_string())
        }
        None => (outer.to_string(), message.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_across_tagged_values() {
        let message = nested("task.createTime", "missing field `createTime`");
        assert_eq!(
            join("events[0]", &message),
            (
                "events[0].task.createTime".to_string(),
                "missing field `createTime`".to_string()
            )
        );
        assert_eq!(join("[2]", &nested("[1].x", "bad")).0, "[2][1].x");
        assert_eq!(join(".", "plain").0, "");
        assert_eq!(
            join("events[1]", "plain"),
            ("events[1]".into(), "plain".into())
        );
    }
}
