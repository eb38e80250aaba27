//! Epoch commits: what one epoch of a task makes visible at once, and who commits it.
//!
//! An `Epoch` holds the records a task produced, the source offsets it consumed and its
//! state writes. A `Committer` makes all three visible atomically or none of them: the
//! embedded committer (`commit::embedded`) in one RocksDB write batch; a Kafka committer in
//! one Kafka transaction (records, changelog records, `send_offsets_to_transaction`) with
//! its state writes applied to local RocksDB. Operators hand their writes to the task and
//! never know which committer runs them.

mod embedded;
mod kafka;
mod memory;

use std::collections::BTreeSet;

use crate::Result;
use crate::log::Record;

pub use embedded::EmbeddedCommitter;
pub use kafka::KafkaCommitter;
pub use memory::MemoryCommitter;

/// One state store write: full key in the state column family, and the value (None deletes).
pub type StateWrite = (Vec<u8>, Option<Vec<u8>>);

/// Everything one epoch of a task makes visible at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Epoch {
    /// `(topic, partition, record)` in produce order.
    pub records: Vec<(String, u32, Record)>,
    /// `(consumer group, topic, partition, next offset to consume)`.
    pub offsets: Vec<(String, String, u32, u64)>,
    /// State store writes in key order: `(full key in the state column family, value or
    /// None to delete)`.
    pub state: Vec<StateWrite>,
    /// The partition number of the partition group the epoch processed: a Kafka committer
    /// writes the state to that partition of the query's changelog.
    pub partition: u32,
}

impl Epoch {
    /// Nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.offsets.is_empty() && self.state.is_empty()
    }
}

/// Commits epochs atomically.
///
/// `task` names the task committing (a persistent query's id, with its worker): a Kafka
/// committer keeps one transactional producer per task, so that a restarted task fences
/// its earlier incarnation. Calls may block on I/O: never call from the async runtime.
pub trait Committer: Send + Sync {
    /// Makes the epoch's records, offsets and state writes visible together, or fails and
    /// makes none of them visible.
    fn commit(&self, task: &str, epoch: Epoch) -> Result<()>;

    /// Called before the tasks of persistent query `group` start (`tasks` are their
    /// names; `partitions` the most partitions any of its inputs has): a committer whose
    /// state lives elsewhere brings the local state up to date here.
    fn prepare(&self, _group: &str, _tasks: &[String], _partitions: u32) -> Result<()> {
        Ok(())
    }

    /// Called often while persistent query `group` runs over the input partitions `owned`
    /// of several servers' work: a committer whose state lives elsewhere brings the local
    /// copy of the other partitions' state up to date (standby state, which pull queries
    /// read and a takeover starts from).
    fn follow(&self, _group: &str, _owned: &BTreeSet<u32>) -> Result<()> {
        Ok(())
    }
}
