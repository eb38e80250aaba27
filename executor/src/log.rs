//! Topic logs: the `TopicLog` trait and its record types.
//!
//! The embedded log (`log::embedded`) is the default backend; a Kafka backend will implement
//! the same trait. Partitioning of keyed records follows Kafka's murmur2 (`log::partitioner`).

mod embedded;
pub mod partitioner;

use std::time::Duration;

use crate::Result;

pub use embedded::EmbeddedLog;

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

/// One state store write: full key in the state column family, and the value (None deletes).
pub type StateWrite = (Vec<u8>, Option<Vec<u8>>);

/// Everything one epoch of a persistent query makes visible at once: the records it
/// produced, the source offsets it consumed and its state changes. Committed atomically by
/// `TopicLog::commit`.
#[derive(Debug, Default)]
pub struct Transaction {
    /// `(topic, partition, record)` in produce order.
    pub records: Vec<(String, u32, Record)>,
    /// `(group, topic, partition, next offset to consume)`.
    pub offsets: Vec<(String, String, u32, u64)>,
    /// State store writes: `(full key in the state column family, value or None to delete)`.
    pub state: Vec<StateWrite>,
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
    /// Appends the records, stores the offsets and applies the state writes in one atomic
    /// write.
    fn commit(&self, transaction: Transaction) -> Result<()>;
    /// A counter that grows with every append to any topic.
    fn append_sequence(&self) -> u64;
    /// Blocks until `append_sequence()` exceeds `seen` or `timeout` passes (or `wake_all`
    /// is called); returns the current sequence.
    fn wait_for_append(&self, seen: u64, timeout: Duration) -> u64;
    /// Wakes every waiter of `wait_for_append` (used to stop queries promptly).
    fn wake_all(&self);
}
