//! An in-memory committer for tests: keeps every committed epoch, writes nothing.

use std::sync::{Mutex, PoisonError};

use super::{Committer, Epoch};
use crate::Result;

/// Records the epochs committed to it, per task, in commit order.
#[derive(Debug, Default)]
pub struct MemoryCommitter {
    epochs: Mutex<Vec<(String, Epoch)>>,
}

impl MemoryCommitter {
    /// Every epoch committed so far, with the task that committed it.
    pub fn epochs(&self) -> Vec<(String, Epoch)> {
        self.epochs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Committer for MemoryCommitter {
    fn commit(&self, task: &str, epoch: Epoch) -> Result<()> {
        self.epochs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((task.to_string(), epoch));
        Ok(())
    }
}
