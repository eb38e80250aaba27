//! The durable command log: statements that changed the catalog, replayed at start.
//!
//! Entries live in the store's meta column family under `cmd/<sequence>`, each holding the
//! statement text and the session properties it ran with.

use std::sync::Arc;

use executor::Store;
use serde::{Deserialize, Serialize};

use crate::{Result, ServerError};

const PREFIX: &[u8] = b"cmd/";

/// One logged statement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Command {
    pub sql: String,
    pub properties: planner::Properties,
}

/// Append-only list of commands.
pub struct CommandLog {
    store: Arc<Store>,
    next_sequence: u64,
}

impl CommandLog {
    /// Opens the log and returns it with every command logged so far, in order.
    pub fn open(store: Arc<Store>) -> Result<(Self, Vec<Command>)> {
        let entries = store.meta_scan_prefix(PREFIX)?;
        let mut commands = Vec::with_capacity(entries.len());
        for (_, value) in &entries {
            let command: Command = serde_json::from_slice(value).map_err(|error| {
                ServerError::Internal(format!("corrupt command log entry: {error}"))
            })?;
            commands.push(command);
        }
        let next_sequence = entries
            .last()
            .and_then(|(key, _)| {
                std::str::from_utf8(&key[PREFIX.len()..])
                    .ok()?
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |last| last + 1);
        Ok((
            CommandLog {
                store,
                next_sequence,
            },
            commands,
        ))
    }

    /// Appends a command durably.
    pub fn append(&mut self, command: &Command) -> Result<()> {
        let key = format!("cmd/{:020}", self.next_sequence);
        let value = serde_json::to_vec(command)
            .map_err(|error| ServerError::Internal(format!("command encoding failed: {error}")))?;
        self.store.meta_put(key.as_bytes(), &value)?;
        self.next_sequence += 1;
        Ok(())
    }
}
