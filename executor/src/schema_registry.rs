//! Durability of the embedded schema registry: every subject version is stored in the
//! store's meta family under `schema/<subject>/<version>` (JSON), and restored at start
//! before the command log replays (so replayed statements find their schema ids).
//! Compatibility levels are under `schema-config` (the registry's) and
//! `schema-config/<subject>`.
//!
//! The registry itself (`planner::schema_registry::SchemaRegistry`) lives in the catalog.

use std::collections::HashSet;
use std::sync::Arc;

use planner::schema_registry::compatibility::Compatibility;
use planner::schema_registry::{Registration, SchemaRegistry};

use crate::store::Store;
use crate::{ExecError, Result};

const PREFIX: &str = "schema/";
const CONFIG_PREFIX: &str = "schema-config";

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

    /// Every stored compatibility level: `None` for the registry's, else the subject's.
    pub fn load_compatibility(&self) -> Result<Vec<(Option<String>, Compatibility)>> {
        self.store
            .meta_scan_prefix(CONFIG_PREFIX.as_bytes())?
            .into_iter()
            .map(|(key, value)| {
                let subject = match &key[CONFIG_PREFIX.len()..] {
                    [] => None,
                    [b'/', subject @ ..] => Some(String::from_utf8_lossy(subject).into_owned()),
                    _ => return Ok(None),
                };
                let level = serde_json::from_slice(&value).map_err(|error| {
                    ExecError::Internal(format!("corrupt schema registry config: {error}"))
                })?;
                Ok(Some((subject, level)))
            })
            .filter_map(Result::transpose)
            .collect()
    }

    /// Forgets the stored versions and level of `subject`.
    pub fn delete_subject(&self, subject: &str) -> Result<()> {
        let prefix = format!("{PREFIX}{subject}/");
        for (key, _) in self.store.meta_scan_prefix(prefix.as_bytes())? {
            // `a/b`'s versions are under `a/`'s prefix too: only 10 digits follow ours.
            let rest = &key[prefix.len()..];
            if rest.len() == 10 && rest.iter().all(u8::is_ascii_digit) {
                self.store.meta_delete(&key)?;
            }
        }
        self.store
            .meta_delete(format!("{CONFIG_PREFIX}/{subject}").as_bytes())
    }

    /// Stores the registrations of `registry` that are not stored yet, and its levels.
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
        for (subject, level) in registry.compatibility_levels() {
            let key = match subject {
                Some(subject) => format!("{CONFIG_PREFIX}/{subject}"),
                None => CONFIG_PREFIX.to_string(),
            };
            let value = serde_json::to_vec(&level).map_err(|error| {
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
        registry
            .register("gone-value", SchemaType::Avro, "\"int\"", Vec::new(), None)
            .expect("registers");
        registry.set_compatibility(None, Compatibility::Full);
        registry.set_compatibility(Some("t-value"), Compatibility::None);
        {
            let schemas = SchemaStore::new(Store::open(directory.path()).expect("open"));
            schemas.save(&registry).expect("saves");
            schemas.save(&registry).expect("saving again is a no-op");
            registry.delete_subject("gone-value");
            schemas.delete_subject("gone-value").expect("deletes");
        }
        let schemas = SchemaStore::new(Store::open(directory.path()).expect("reopen"));
        let mut restored = SchemaRegistry::default();
        for registration in schemas.load().expect("loads") {
            restored.restore(registration);
        }
        for (subject, level) in schemas.load_compatibility().expect("loads levels") {
            restored.set_compatibility(subject.as_deref(), level);
        }
        assert_eq!(restored.compatibility("t-value"), Compatibility::None);
        assert_eq!(restored.compatibility("other"), Compatibility::Full);
        assert_eq!(restored.registrations(), registry.registrations());
        assert_eq!(
            restored.latest("t-value").map(|schema| schema.id),
            Some(101)
        );
    }
}
