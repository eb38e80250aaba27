//! The durable command log: statements that changed the catalog, replayed at start.
//!
//! On the embedded log, entries live in the store's meta column family under
//! `cmd/<sequence>`, each holding the statement text and the session properties it ran with
//! (JSON). On Kafka they are the records of the command topic
//! (`_confluent-ksql-<ksql.service.id>_command_topic`, one partition, as ksqlDB names it;
//! the record values are Eddy's JSON, not ksqlDB's): every server with the same service id
//! replays it at start and then applies what the others append (`CommandLog::poll`).

use std::collections::BTreeSet;
use std::sync::Arc;

use executor::log::Record;
use executor::{Store, TopicLog};
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
pub enum CommandLog {
    /// In the data directory.
    Local {
        store: Arc<Store>,
        next_sequence: u64,
    },
    /// A topic shared by every server of a service.
    Topic {
        log: Arc<dyn TopicLog>,
        topic: String,
        /// The next offset to apply.
        next: u64,
        /// Offsets at or after `next` holding this server's own commands (already
        /// applied when they were appended).
        own: BTreeSet<u64>,
    },
}

/// The command topic of service `service_id`, as ksqlDB names it.
pub fn command_topic(service_id: &str) -> String {
    format!("_confluent-ksql-{service_id}_command_topic")
}

impl CommandLog {
    /// Opens the command topic `topic` (creating it) and returns it with every command in
    /// it, in order.
    pub fn open_topic(log: Arc<dyn TopicLog>, topic: String) -> Result<(Self, Vec<Command>)> {
        if log.describe_topic(&topic)?.is_none() {
            log.create_topic(&topic, 1, 1)?;
        }
        let mut command_log = CommandLog::Topic {
            log,
            topic,
            next: 0,
            own: BTreeSet::new(),
        };
        let commands = command_log
            .poll()?
            .into_iter()
            .map(|(_, command)| command)
            .collect();
        Ok((command_log, commands))
    }

    /// Commands other servers appended since the last call (none on the embedded log),
    /// marked as taken: the caller applies them in order.
    pub fn poll(&mut self) -> Result<Vec<(u64, Command)>> {
        let CommandLog::Topic {
            log,
            topic,
            next,
            own,
        } = self
        else {
            return Ok(Vec::new());
        };
        let mut commands = Vec::new();
        let (_, end) = log.offsets(topic)?.first().copied().unwrap_or((0, 0));
        while *next < end {
            let records = log.read(topic, 0, *next, 1_000)?;
            let Some(last) = records.last() else { break };
            let after = last.offset + 1;
            for consumed in records {
                if own.remove(&consumed.offset) {
                    continue;
                }
                let Some(value) = consumed.record.value else {
                    continue;
                };
                commands.push((consumed.offset, decode(&value)?));
            }
            *next = after;
        }
        Ok(commands)
    }

    /// Opens the log and returns it with every command logged so far, in order.
    pub fn open(store: Arc<Store>) -> Result<(Self, Vec<Command>)> {
        let entries = store.meta_scan_prefix(PREFIX)?;
        let mut commands = Vec::with_capacity(entries.len());
        for (_, value) in &entries {
            commands.push(decode(value)?);
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
            CommandLog::Local {
                store,
                next_sequence,
            },
            commands,
        ))
    }

    /// Appends a command durably (the caller has applied it).
    pub fn append(&mut self, command: &Command) -> Result<()> {
        let value = serde_json::to_vec(command)
            .map_err(|error| ServerError::Internal(format!("command encoding failed: {error}")))?;
        match self {
            CommandLog::Local {
                store,
                next_sequence,
            } => {
                let key = format!("cmd/{:020}", *next_sequence);
                store.meta_put(key.as_bytes(), &value)?;
                *next_sequence += 1;
            }
            CommandLog::Topic {
                log,
                topic,
                next,
                own,
            } => {
                let record = Record {
                    key: None,
                    value: Some(value),
                    timestamp: executor::log::now_millis(),
                    headers: Vec::new(),
                };
                let offset = log.produce(topic, vec![(0, record)])?[0];
                if offset == *next {
                    *next += 1;
                } else {
                    // Another server's commands came first; they are applied by the next
                    // poll, and this one is skipped there.
                    own.insert(offset);
                }
            }
        }
        Ok(())
    }
}

fn decode(value: &[u8]) -> Result<Command> {
    serde_json::from_slice(value)
        .map_err(|error| ServerError::Internal(format!("corrupt command log entry: {error}")))
}
