//! The embedded committer: an epoch is one RocksDB write batch of the embedded log's store
//! (records, consumer offsets and state, all in the same database).

use std::sync::Arc;

use super::{Committer, Epoch};
use crate::Result;
use crate::log::EmbeddedLog;

/// Commits epochs into the store of an `EmbeddedLog`.
#[derive(Debug, Clone)]
pub struct EmbeddedCommitter {
    log: Arc<EmbeddedLog>,
}

impl EmbeddedCommitter {
    pub fn new(log: Arc<EmbeddedLog>) -> Self {
        EmbeddedCommitter { log }
    }
}

impl Committer for EmbeddedCommitter {
    fn commit(&self, _task: &str, epoch: Epoch) -> Result<()> {
        self.log.commit_epoch(&epoch)
    }
}
