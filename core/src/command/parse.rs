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
    CommandParseError::Invalid {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    }
}
