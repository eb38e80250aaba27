//! Topic logs: the `TopicLog` trait (admin, produce, consume) and its record types.
//!
//! The embedded log (`log::embedded`) is the default backend; the Kafka backend (`log::kafka`)
//! implements the same traits. Committing an epoch atomically is the `commit::Committer`'s job, not the
//! log's. Partitioning of keyed records follows Kafka's murmur2 (`log::partitioner`).

mod consumer;
mod embedded;
pub mod kafka;
pub mod partitioner;

use std::sync::Arc;

use crate::{ExecError, Result};

pub use consumer::{Consumer, ConsumerWaker, Polled};
pub use embedded::EmbeddedLog;
pub use kafka::{KafkaConfig, KafkaLog};

/// The error of an operation on a topic that does not exist.
pub(crate) fn missing_topic(name: &str) -> ExecError {
    ExecError::User(format!("topic \"{name}\" does not exist"))
}

/// The wall clock in epoch milliseconds: the timestamp of records Eddy writes at the time
/// of writing (inserted rows, changelog and command records).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// A record as produced to a topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Event time in milliseconds since the epoch.
    pub timestamp: i64,
    pub headers: Vec<Header>,
}

/// A record read back from a topic, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub partition: u32,
    pub offset: u64,
    pub record: Record,
}

/// What a topic looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub partitions: u32,
    pub replicas: u16,
}

/// A partitioned, durable log of records.
///
/// All methods may block on I/O: call them from a query's own thread or `spawn_blocking`,
/// never on the async runtime.
pub trait TopicLog: Send + Sync {
    /// Creates a topic. Creating an existing topic with the same partition count is a no-op;
    /// with a different count it is an error.
    fn create_topic(&self, name: &str, partitions: u32, replicas: u16) -> Result<()>;
    /// Deletes a topic and its records. Deleting a missing topic is an error.
    fn delete_topic(&self, name: &str) -> Result<()>;
    fn describe_topic(&self, name: &str) -> Result<Option<TopicDescription>>;
    /// All topics, sorted by name.
    fn list_topics(&self) -> Result<Vec<TopicDescription>>;
    /// Appends records and makes them visible at once; returns their offsets.
    fn produce(&self, topic: &str, records: Vec<(u32, Record)>) -> Result<Vec<u64>>;
    /// Reads up to `max_records` records of one partition starting at offset `from`; fewer
    /// (but at least one, if there is one) when they are large, to bound memory.
    fn read(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        max_records: usize,
    ) -> Result<Vec<ConsumedRecord>>;
    /// Per partition: `(earliest offset, next offset to be written)`.
    fn offsets(&self, topic: &str) -> Result<Vec<(u64, u64)>>;
    /// Per partition of `topic`: the next offset committed by consumer `group`, if any.
    fn committed_offsets(&self, group: &str, topic: &str) -> Result<Vec<Option<u64>>>;
    /// Deletes every committed offset of `group`.
    fn delete_group(&self, group: &str) -> Result<()>;
    /// A new consumer with no partitions assigned.
    fn consumer(self: Arc<Self>) -> Result<Box<dyn Consumer>>;
}
