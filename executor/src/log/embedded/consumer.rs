//! The embedded log's consumer: reads its assigned partitions straight from the log and
//! waits for appends on the log's signal when there is nothing to read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::EmbeddedLog;
use crate::Result;
use crate::log::{Consumer, ConsumerWaker, Polled, TopicLog};

/// One assigned partition and the next offset to read.
#[derive(Debug)]
struct Assignment {
    topic: String,
    partition: u32,
    position: u64,
    paused: bool,
}

/// A consumer of an `EmbeddedLog`.
pub(super) struct EmbeddedConsumer {
    log: Arc<EmbeddedLog>,
    assignments: Vec<Assignment>,
    /// Set by the waker; cleared by the `poll` it ends.
    woken: Arc<AtomicBool>,
}

impl EmbeddedConsumer {
    pub(super) fn new(log: Arc<EmbeddedLog>) -> Self {
        EmbeddedConsumer {
            log,
            assignments: Vec::new(),
            woken: Arc::default(),
        }
    }

    fn read_all(&mut self, max_records: usize) -> Result<Vec<Polled>> {
        let mut polled = Vec::new();
        for (index, assignment) in self.assignments.iter_mut().enumerate() {
            if assignment.paused {
                continue;
            }
            let records = self.log.read(
                &assignment.topic,
                assignment.partition,
                assignment.position,
                max_records,
            )?;
            let Some(last) = records.last() else {
                continue;
            };
            assignment.position = last.offset + 1;
            polled.push(Polled {
                assignment: index,
                records,
            });
        }
        Ok(polled)
    }
}

impl Consumer for EmbeddedConsumer {
    fn assign(&mut self, topic: &str, partition: u32, offset: u64) -> Result<usize> {
        // Fails on a missing topic or partition now rather than at the first poll.
        self.log.read(topic, partition, offset, 0)?;
        self.assignments.push(Assignment {
            topic: topic.to_string(),
            partition,
            position: offset,
            paused: false,
        });
        Ok(self.assignments.len() - 1)
    }

    fn has_more(&self, assignment: usize) -> bool {
        let Some(assignment) = self.assignments.get(assignment) else {
            return false;
        };
        self.log
            .offsets(&assignment.topic)
            .ok()
            .and_then(|offsets| offsets.get(assignment.partition as usize).copied())
            .is_some_and(|(_, end)| end > assignment.position)
    }

    fn pause(&mut self, assignment: usize, paused: bool) {
        if let Some(assignment) = self.assignments.get_mut(assignment) {
            assignment.paused = paused;
        }
    }

    fn poll(&mut self, max_records: usize, timeout: Duration) -> Result<Vec<Polled>> {
        let seen = self.log.append_sequence();
        let polled = self.read_all(max_records)?;
        if !polled.is_empty() || self.woken.swap(false, Ordering::SeqCst) {
            return Ok(polled);
        }
        if self.log.wait_for_append(seen, timeout, &self.woken) == seen {
            self.woken.store(false, Ordering::SeqCst);
            return Ok(Vec::new());
        }
        self.read_all(max_records)
    }

    fn waker(&self) -> ConsumerWaker {
        let woken = Arc::clone(&self.woken);
        let signal = Arc::clone(&self.log.appends);
        ConsumerWaker::new(move || {
            woken.store(true, Ordering::SeqCst);
            signal.notify();
        })
    }
}
