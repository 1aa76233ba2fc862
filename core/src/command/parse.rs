//! Parsing commands from untrusted JSON: size limits first, then strict decoding with
//! errors that name the bad field.

use super::Command;

/// Limits on command input from outside.
#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    /// The largest accepted document, in bytes.
    pub max_bytes: usize,
    /// The most commands in one batch.
    pub max_commands: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            max_commands: 10_000,
        }
    }
}

/// Why command input was refused. Nothing is stored for refused input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandParseError {
    #[error("input is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("a batch of {count} commands is more than the limit of {limit}")]
    TooManyCommands { count: usize, limit: usize },
    #[error("invalid command at {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Parses one command.
pub fn parse_command(input: &[u8], limits: &InputLimits) -> Result<Command, CommandParseError> {
    check_size(input, limits)?;
    let de = &mut serde_json::Deserializer::from_slice(input);
    serde_path_to_error::deserialize(de).map_err(into_invalid)
}

/// Parses a batch: a JSON array of commands.
pub fn parse_commands(
    input: &[u8],
    limits: &InputLimits,
) -> Result<Vec<Command>, CommandParseError> {
    check_size(input, limits)?;
    let de = &mut serde_json::Deserializer::from_slice(input);
    let commands: Vec<Command> = serde_path_to_error::deserialize(de).map_err(into_invalid)?;
    if commands.len() > limits.max_commands {
        return Err(CommandParseError::TooManyCommands {
            count: commands.len(),
            limit: limits.max_commands,
        });
    }
    Ok(commands)
}

fn check_size(input: &[u8], limits: &InputLimits) -> Result<(), CommandParseError> {
    if input.len() > limits.max_bytes {
        return Err(CommandParseError::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    Ok(())
}

fn into_invalid(e: serde_path_to_error::Error<serde_json::Error>) -> CommandParseError {
    let (path, message) = crate::field_path::join(&e.path().to_string(), &e.inner().to_string());
    CommandParseError::Invalid { path, message }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_commands(&input, &InputLimits::default());
            let _ = parse_command(&input, &InputLimits::default());
        }

        /// Almost-right JSON (a command with a random field added) is refused, naming it.
        #[test]
        fn unknown_fields_are_named(field in "[a-z]{3,12}", value in any::<i64>()) {
            prop_assume!(!["id", "assignee", "type"].contains(&field.as_str()));
            let input = format!(r#"{{"type":"assignTask","id":"t1","{field}":{value}}}"#);
            let err = parse_command(input.as_bytes(), &InputLimits::default()).expect_err("refused");
            prop_assert!(err.to_string().contains(&format!("unknown field `{field}`")), "{}", err);
        }
    }

    /// A data entry command survives JSON (its human-readable type is `typeName`, not
    /// the tag `type`): process applications send them over HTTP and txjob stores them.
    #[test]
    fn a_data_entry_command_round_trips_through_json() {
        let input = r#"{"type":"createOrUpdateDataEntry","entryType":"order","entryId":"o-1",
            "name":"Order 1","typeName":"Purchase order","applicationName":"shop",
            "state":{"processingType":"IN_PROGRESS","state":"open"},
            "modification":{"time":"2026-01-01T00:00:00Z","username":"alice"}}"#;
        let command = parse_command(input.as_bytes(), &InputLimits::default()).expect("parses");
        let json = serde_json::to_string(&command).expect("serializes");
        let again = parse_command(json.as_bytes(), &InputLimits::default()).expect("round trip");
        assert_eq!(command, again);
    }

    #[test]
    fn batch_limits_are_enforced() {
        let limits = InputLimits {
            max_bytes: 1000,
            max_commands: 2,
        };
        let one = r#"{"type":"assignTask","id":"t1"}"#;
        let three = format!("[{one},{one},{one}]");
        assert_eq!(
            parse_commands(three.as_bytes(), &limits),
            Err(CommandParseError::TooManyCommands { count: 3, limit: 2 })
        );
        let big = vec![b' '; 1001];
        assert_eq!(
            parse_commands(&big, &limits),
            Err(CommandParseError::TooLarge {
                size: 1001,
                limit: 1000
            })
        );
    }
}
