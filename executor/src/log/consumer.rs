//! Consumers: read assigned topic partitions from positions they keep, as a Kafka consumer.
//!
//! A consumer belongs to one thread (a task); another thread stops a waiting `poll` through
//! the consumer's `ConsumerWaker`. Committing offsets is the committer's job.

use std::sync::Arc;
use std::time::Duration;

use crate::Result;
use crate::log::ConsumedRecord;

/// Records of one assigned partition returned by `Consumer::poll`.
#[derive(Debug)]
pub struct Polled {
    /// The assignment they belong to: what `Consumer::assign` returned.
    pub assignment: usize,
    /// In offset order, without gaps.
    pub records: Vec<ConsumedRecord>,
}

/// Reads assigned partitions.
pub trait Consumer: Send {
    /// Reads `partition` of `topic` from `offset` on; returns the assignment's number (0,
    /// 1, ... in assignment order).
    fn assign(&mut self, topic: &str, partition: u32, offset: u64) -> Result<usize>;
    /// Stops (`true`) or resumes reading an assignment; its position is kept. A paused
    /// assignment may still get records the consumer fetched for another assignment of the
    /// same partition (a Kafka consumer fetches a partition once).
    fn pause(&mut self, assignment: usize, paused: bool);
    /// The records of every assignment that is not paused past its position, at most
    /// `max_records` per assignment (fewer when they are large), and moves the positions
    /// past them. When there are none, waits up to `timeout` for some; returns nothing
    /// at once when woken by the `ConsumerWaker`.
    fn poll(&mut self, max_records: usize, timeout: Duration) -> Result<Vec<Polled>>;
    /// A handle that makes this consumer's waiting (or next) `poll` return at once.
    fn waker(&self) -> ConsumerWaker;
    /// Whether the assigned partition is known to hold records past the assignment's
    /// position (a poll would return some); `false` when the consumer cannot tell. Like
    /// Kafka Streams with `max.task.idle.ms` = 0, a task waits for such an input before
    /// processing the others past it.
    fn has_more(&self, _assignment: usize) -> bool {
        false
    }
    /// The assignment's next offset when the consumer skipped offsets that hold no record
    /// it returns (Kafka's transaction markers and aborted records); `None` when every
    /// offset holds a record, so the last record returned tells the position.
    fn position(&self, _assignment: usize) -> Option<u64> {
        None
    }
}

/// Wakes one consumer from another thread.
#[derive(Clone)]
pub struct ConsumerWaker(Arc<dyn Fn() + Send + Sync>);

impl ConsumerWaker {
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Self {
        ConsumerWaker(Arc::new(wake))
    }

    pub fn wake(&self) {
        (self.0)()
    }
}

impl std::fmt::Debug for ConsumerWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsumerWaker")
    }
}
