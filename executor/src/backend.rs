//! The backend an engine runs on: its topic log and its epoch committer, chosen by
//! configuration.
//!
//! `embedded` (the default) keeps topics, offsets and state in the data directory's
//! RocksDB store and commits each epoch as one write batch. `kafka` (chosen by
//! `bootstrap.servers`, see `log::kafka::KafkaConfig`) keeps topics and offsets in a Kafka
//! cluster and state in local RocksDB backed by changelog topics.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::commit::{Committer, EmbeddedCommitter, KafkaCommitter};
use crate::log::kafka::GroupMembership;
use crate::log::{EmbeddedLog, KafkaConfig, KafkaLog, TopicLog};
use crate::store::Store;
use crate::{ExecError, Result};

/// The configuration key naming the backend.
pub const BACKEND_PROPERTY: &str = "eddy.backend";

/// Which backend to open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BackendKind {
    /// Topics in the data directory; no broker.
    #[default]
    Embedded,
    /// Topics in a Kafka cluster.
    Kafka(KafkaConfig),
}

impl BackendKind {
    /// The kind named by the value of `eddy.backend` (case-insensitive) alone.
    pub fn parse(name: &str) -> Result<Self> {
        Self::from_properties(&BTreeMap::from([(
            BACKEND_PROPERTY.to_string(),
            name.to_string(),
        )]))
    }

    /// The backend the server properties choose: Kafka when they name bootstrap servers
    /// (`bootstrap.servers` or `ksql.streams.bootstrap.servers`), else `eddy.backend`'s
    /// (`embedded` by default; `kafka` needs bootstrap servers).
    pub fn from_properties(properties: &BTreeMap<String, String>) -> Result<Self> {
        let kafka = KafkaConfig::from_properties(properties)?;
        let named = properties
            .get(BACKEND_PROPERTY)
            .map(|name| name.trim().to_ascii_lowercase());
        match (named.as_deref(), kafka) {
            (None | Some("kafka"), Some(config)) => Ok(BackendKind::Kafka(config)),
            (None | Some("embedded"), None) => Ok(BackendKind::Embedded),
            (Some("kafka"), None) => Err(ExecError::User(format!(
                "{BACKEND_PROPERTY}=kafka needs bootstrap.servers (or --bootstrap-servers)"
            ))),
            (Some("embedded"), Some(_)) => Err(ExecError::User(format!(
                "{BACKEND_PROPERTY}=embedded contradicts bootstrap.servers: remove one"
            ))),
            (Some(other), _) => Err(ExecError::User(format!(
                "unknown backend \"{other}\" in {BACKEND_PROPERTY}: the backends are: \
                 embedded, kafka"
            ))),
        }
    }
}

/// A topic log and the committer of epochs over it.
#[derive(Clone)]
pub struct Backend {
    pub log: Arc<dyn TopicLog>,
    pub committer: Arc<dyn Committer>,
    /// Consumer groups that split persistent queries' partitions among the servers of a
    /// service (Kafka); `None` when one process runs every partition.
    pub groups: Option<Arc<dyn GroupMembership>>,
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
                    groups: None,
                })
            }
            BackendKind::Kafka(config) => {
                let log = Arc::new(KafkaLog::connect(config)?);
                Ok(Backend {
                    groups: Some(Arc::new(Arc::clone(&log))),
                    committer: Arc::new(KafkaCommitter::new(Arc::clone(&log), Arc::clone(store))?),
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
    fn backend_names_parse_case_insensitively_and_unknown_or_incomplete_ones_are_user_errors() {
        assert_eq!(
            BackendKind::parse("embedded").ok(),
            Some(BackendKind::Embedded)
        );
        assert_eq!(
            BackendKind::parse(" Embedded ").ok(),
            Some(BackendKind::Embedded)
        );
        match BackendKind::parse("carrier-pigeon") {
            Err(ExecError::User(message)) => assert_eq!(
                message,
                "unknown backend \"carrier-pigeon\" in eddy.backend: the backends are: \
                 embedded, kafka"
            ),
            other => panic!("expected a user error, got {other:?}"),
        }
        assert!(matches!(
            BackendKind::parse("kafka"),
            Err(ExecError::User(message)) if message.contains("needs bootstrap.servers")
        ));
    }
}
