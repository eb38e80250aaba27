//! ksqlDB's processing log: one JSON record per bad record (could not be deserialized, an
//! expression failed on it, or it could not be serialized) written to the processing-log
//! topic, which the `KSQL_PROCESSING_LOG` stream reads.
//!
//! Operators hand events to [`ProcessingLog::log`], which never blocks: events wait in a
//! bounded queue for a writer thread, and are dropped (and counted) when it is full.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{Value, json};

use crate::log::{Record, TopicLog, now_millis};

/// How many events may wait for the writer; more are dropped.
const QUEUE_CAPACITY: usize = 10_000;
/// The most events the writer produces in one call (one write of the topic log).
const WRITE_BATCH: usize = 5_000;

/// The columns of the processing-log stream, as ksqlDB declares them.
pub const STREAM_COLUMNS: &str = "LOGGER STRING, LEVEL STRING, TIME BIGINT, MESSAGE STRUCT<\
TYPE INT, \
DESERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORDB64 STRING, CAUSE ARRAY<STRING>, `topic` STRING>, \
RECORDPROCESSINGERROR STRUCT<ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>>, \
PRODUCTIONERROR STRUCT<ERRORMESSAGE STRING>, \
SERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>, `topic` STRING>, \
KAFKASTREAMSTHREADERROR STRUCT<ERRORMESSAGE STRING, THREADNAME STRING, CAUSE ARRAY<STRING>>>";

/// What went wrong with a record.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessingError {
    /// A key or value could not be decoded (`MESSAGE.TYPE` 0).
    Deserialization {
        /// `key` or `value`.
        target: &'static str,
        topic: String,
        /// The bytes that failed, if any.
        record: Option<Vec<u8>>,
    },
    /// An expression failed on the record (`MESSAGE.TYPE` 1).
    RecordProcessing,
    /// The output record could not be encoded (`MESSAGE.TYPE` 3).
    Serialization { target: &'static str, topic: String },
}

/// An event of the processing log.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingEvent {
    /// `processing.<query id>.<source or step>`.
    pub logger: String,
    pub error: ProcessingError,
    /// The error text (with the record's topic, partition and offset where known).
    pub message: String,
}

impl ProcessingEvent {
    /// The record's value as ksqlDB's processing log writes it (JSON), at `time`.
    pub fn to_json(&self, time: i64) -> Value {
        let (kind, deserialization, processing, serialization) = match &self.error {
            ProcessingError::Deserialization {
                target,
                topic,
                record,
            } => (
                0,
                json!({
                    "TARGET": target,
                    "ERRORMESSAGE": self.message,
                    "RECORDB64": record
                        .as_ref()
                        .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes)),
                    "CAUSE": [],
                    "topic": topic,
                }),
                Value::Null,
                Value::Null,
            ),
            ProcessingError::RecordProcessing => (
                1,
                Value::Null,
                json!({"ERRORMESSAGE": self.message, "RECORD": null, "CAUSE": []}),
                Value::Null,
            ),
            ProcessingError::Serialization { target, topic } => (
                3,
                Value::Null,
                Value::Null,
                json!({
                    "TARGET": target,
                    "ERRORMESSAGE": self.message,
                    "RECORD": null,
                    "CAUSE": [],
                    "topic": topic,
                }),
            ),
        };
        json!({
            "LOGGER": self.logger,
            "LEVEL": "ERROR",
            "TIME": time,
            "MESSAGE": {
                "TYPE": kind,
                "DESERIALIZATIONERROR": deserialization,
                "RECORDPROCESSINGERROR": processing,
                "PRODUCTIONERROR": null,
                "SERIALIZATIONERROR": serialization,
                "KAFKASTREAMSTHREADERROR": null,
            },
        })
    }
}

/// The sink of processing-log events: a bounded queue in front of a thread that writes them
/// to the processing-log topic. Clones share the queue.
#[derive(Debug, Clone)]
pub struct ProcessingLog {
    sender: SyncSender<ProcessingEvent>,
    dropped: Arc<AtomicU64>,
}

impl ProcessingLog {
    /// Starts the writer of `topic` (partition 0) on `log`.
    pub fn start(log: Arc<dyn TopicLog>, topic: String) -> std::io::Result<ProcessingLog> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("processing-log".into())
            .spawn(move || write_events(log.as_ref(), &topic, &receiver))?;
        Ok(ProcessingLog {
            sender,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Queues `event`; drops it when the queue is full (the query never waits for the log).
    pub fn log(&self, event: ProcessingEvent) {
        match self.sender.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        "the processing log's queue is full: entries are dropped (counted by \
                         eddy_processing_log_events_dropped_total)"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!("the processing log writer has stopped");
            }
        }
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The writer thread: produces queued events until every sender is gone.
fn write_events(log: &dyn TopicLog, topic: &str, receiver: &Receiver<ProcessingEvent>) {
    while let Ok(first) = receiver.recv() {
        let mut events = vec![first];
        while events.len() < WRITE_BATCH {
            match receiver.try_recv() {
                Ok(event) => events.push(event),
                Err(_) => break,
            }
        }
        let time = now_millis();
        let records = events
            .iter()
            .map(|event| {
                let value = event.to_json(time).to_string().into_bytes();
                (
                    0,
                    Record {
                        key: None,
                        value: Some(value),
                        timestamp: time,
                        headers: Vec::new(),
                    },
                )
            })
            .collect();
        if let Err(error) = log.produce(topic, records) {
            tracing::warn!(
                "writing {} events to the processing log topic \"{topic}\" failed: {error}",
                events.len()
            );
        }
    }
}

/// Where a query's operators send their processing-log events: set once the server has
/// started the processing log. Clones share the slot.
#[derive(Debug, Default, Clone)]
pub struct ProcessingLogSlot(Arc<Mutex<Option<ProcessingLog>>>);

impl ProcessingLogSlot {
    pub fn set(&self, log: ProcessingLog) {
        *self
            .0
            .lock()
            .expect("processing log lock is never poisoned") = Some(log);
    }

    pub fn get(&self) -> Option<ProcessingLog> {
        self.0
            .lock()
            .expect("processing log lock is never poisoned")
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_events_instead_of_blocking() {
        // No writer reads the queue: the third and later events find it full.
        let (sender, receiver) = std::sync::mpsc::sync_channel(2);
        let log = ProcessingLog {
            sender,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        for _ in 0..5 {
            log.log(ProcessingEvent {
                logger: "processing.Q".into(),
                error: ProcessingError::RecordProcessing,
                message: "bad".into(),
            });
        }
        assert_eq!(log.dropped(), 3);
        assert_eq!(receiver.try_iter().count(), 2);
    }

    #[test]
    fn events_are_written_in_ksqldb_shape() {
        let cases = [
            (
                ProcessingError::Deserialization {
                    target: "value",
                    topic: "t".into(),
                    record: Some(b"{x".to_vec()),
                },
                json!({"TYPE": 0, "DESERIALIZATIONERROR": {"TARGET": "value", "ERRORMESSAGE": "bad",
                    "RECORDB64": "e3g=", "CAUSE": [], "topic": "t"},
                    "RECORDPROCESSINGERROR": null, "PRODUCTIONERROR": null,
                    "SERIALIZATIONERROR": null, "KAFKASTREAMSTHREADERROR": null}),
            ),
            (
                ProcessingError::RecordProcessing,
                json!({"TYPE": 1, "DESERIALIZATIONERROR": null,
                    "RECORDPROCESSINGERROR": {"ERRORMESSAGE": "bad", "RECORD": null, "CAUSE": []},
                    "PRODUCTIONERROR": null, "SERIALIZATIONERROR": null,
                    "KAFKASTREAMSTHREADERROR": null}),
            ),
            (
                ProcessingError::Serialization {
                    target: "key",
                    topic: "o".into(),
                },
                json!({"TYPE": 3, "DESERIALIZATIONERROR": null, "RECORDPROCESSINGERROR": null,
                    "PRODUCTIONERROR": null, "SERIALIZATIONERROR": {"TARGET": "key",
                    "ERRORMESSAGE": "bad", "RECORD": null, "CAUSE": [], "topic": "o"},
                    "KAFKASTREAMSTHREADERROR": null}),
            ),
        ];
        for (error, message) in cases {
            let event = ProcessingEvent {
                logger: "processing.Q".into(),
                error,
                message: "bad".into(),
            };
            assert_eq!(
                event.to_json(7),
                json!({"LOGGER": "processing.Q", "LEVEL": "ERROR", "TIME": 7, "MESSAGE": message})
            );
        }
    }
}
