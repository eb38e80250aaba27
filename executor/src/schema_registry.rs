//! Durability of the embedded schema registry: every subject version is stored in the
//! store's meta family under `schema/<subject>/<version>` (JSON), and restored at start
//! before the command log replays (so replayed statements find their schema ids).
//!
//! The registry itself (`planner::schema_registry::SchemaRegistry`) lives in the catalog.

use std::collections::HashSet;
use std::sync::Arc;

use planner::schema_registry::{Registration, SchemaRegistry};

use crate::store::Store;
use crate::{ExecError, Result};

const PREFIX: &str = "schema/";

/// Reads and writes the registry's registrations.
#[derive(Debug)]
pub struct SchemaStore {
    store: Arc<Store>,
}

impl SchemaStore {
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    fn key(registration: &Registration) -> String {
        format!(
            "{PREFIX}{}/{:010}",
            registration.subject, registration.version
        )
    }

    /// Every stored registration, by subject then version.
    pub fn load(&self) -> Result<Vec<Registration>> {
        self.store
            .meta_scan_prefix(PREFIX.as_bytes())?
            .into_iter()
            .map(|(_, value)| {
                serde_json::from_slice(&value).map_err(|error| {
                    ExecError::Internal(format!("corrupt schema registry entry: {error}"))
                })
            })
            .collect()
    }

    /// Stores the registrations of `registry` that are not stored yet.
    pub fn save(&self, registry: &SchemaRegistry) -> Result<()> {
        let stored: HashSet<Vec<u8>> = self
            .store
            .meta_scan_prefix(PREFIX.as_bytes())?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        for registration in registry.registrations() {
            let key = Self::key(&registration);
            if stored.contains(key.as_bytes()) {
                continue;
            }
            let value = serde_json::to_vec(&registration).map_err(|error| {
                ExecError::Internal(format!("schema registry encoding failed: {error}"))
            })?;
            self.store.meta_put(key.as_bytes(), &value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use planner::schema_registry::SchemaType;

    use super::*;

    #[test]
    fn registrations_survive_reopening_the_store() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let mut registry = SchemaRegistry::default();
        registry
            .register(
                "t-value",
                SchemaType::Avro,
                "\"int\"",
                Vec::new(),
                Some(100),
            )
            .expect("registers");
        registry
            .register("t-value", SchemaType::Avro, "\"long\"", Vec::new(), None)
            .expect("registers");
        {
            let schemas = SchemaStore::new(Store::open(directory.path()).expect("open"));
            schemas.save(&registry).expect("saves");
            schemas.save(&registry).expect("saving again is a no-op");
        }
        let schemas = SchemaStore::new(Store::open(directory.path()).expect("reopen"));
        let mut restored = SchemaRegistry::default();
        for registration in schemas.load().expect("loads") {
            restored.restore(registration);
        }
        assert_eq!(restored.registrations(), registry.registrations());
        assert_eq!(
            restored.latest("t-value").map(|schema| schema.id),
            Some(101)
        );
    }
}
