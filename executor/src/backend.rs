//! The backend an engine runs on: its topic log and its epoch committer, chosen by
//! configuration (`eddy.backend`).
//!
//! `embedded` (the default and, for now, the only one) keeps topics, offsets and state in
//! the data directory's RocksDB store and commits each epoch as one write batch.

use std::sync::Arc;

use crate::commit::{Committer, EmbeddedCommitter};
use crate::log::{EmbeddedLog, TopicLog};
use crate::store::Store;
use crate::{ExecError, Result};

/// The configuration key naming the backend.
pub const BACKEND_PROPERTY: &str = "eddy.backend";

/// Which backend to open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BackendKind {
    /// Topics in the data directory; no broker.
    #[default]
    Embedded,
}

impl BackendKind {
    /// The kind named by the value of `eddy.backend` (case-insensitive).
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "embedded" => Ok(BackendKind::Embedded),
            other => Err(ExecError::User(format!(
                "unknown backend \"{other}\" in {BACKEND_PROPERTY}: the backends are: embedded"
            ))),
        }
    }
}

/// A topic log and the committer of epochs over it.
#[derive(Clone)]
pub struct Backend {
    pub log: Arc<dyn TopicLog>,
    pub committer: Arc<dyn Committer>,
}

impl Backend {
    /// Opens the backend of `kind` over the data directory's store.
    pub fn open(kind: BackendKind, store: &Arc<Store>) -> Result<Self> {
        match kind {
            BackendKind::Embedded => {
                let log = Arc::new(EmbeddedLog::new(Arc::clone(store))?);
                Ok(Backend {
                    committer: Arc::new(EmbeddedCommitter::new(Arc::clone(&log))),
                    log,
                })
            }
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_parse_case_insensitively_and_unknown_ones_are_user_errors() {
        assert_eq!(
            BackendKind::parse("embedded").ok(),
            Some(BackendKind::Embedded)
        );
        assert_eq!(
            BackendKind::parse(" Embedded ").ok(),
            Some(BackendKind::Embedded)
        );
        match BackendKind::parse("kafka") {
            Err(ExecError::User(message)) => assert_eq!(
                message,
                "unknown backend \"kafka\" in eddy.backend: the backends are: embedded"
            ),
            other => panic!("expected a user error, got {other:?}"),
        }
    }
}
