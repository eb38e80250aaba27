//! Test fixtures: definitions of materialized tables and their committed state.

use std::sync::Arc;

use parser::ast::{DataType, SourceKind};
use planner::SourceDefinition;
use planner::catalog::{ColumnDefinition, ColumnKind, FormatDefinition, WindowInfo};

use crate::state::StateStore;
use crate::state::materialized::{encode_value, table_state_id};
use crate::{EmbeddedLog, Store, TopicLog};

fn format(name: &str) -> FormatDefinition {
    FormatDefinition {
        name: name.into(),
        wrap_single_value: None,
        delimiter: None,
        schema: None,
    }
}

/// Table `name` with key columns `keys` in `key_format` and JSON value columns `COUNT BIGINT`
/// and `REGION STRING`.
pub(crate) fn table_definition(
    name: &str,
    key_format: &str,
    keys: &[(&str, DataType)],
    window: Option<WindowInfo>,
) -> SourceDefinition {
    let mut columns: Vec<ColumnDefinition> = keys
        .iter()
        .map(|(name, data_type)| ColumnDefinition {
            name: (*name).into(),
            data_type: data_type.clone(),
            kind: ColumnKind::Key,
        })
        .collect();
    for (name, data_type) in [("COUNT", DataType::Bigint), ("REGION", DataType::String)] {
        columns.push(ColumnDefinition {
            name: name.into(),
            data_type,
            kind: ColumnKind::Value,
        });
    }
    SourceDefinition {
        name: name.into(),
        kind: SourceKind::Table,
        topic: name.to_lowercase(),
        columns,
        key_format: format(key_format),
        value_format: format("JSON"),
        timestamp: None,
        partitions: 1,
        replicas: 1,
        is_source: false,
        window,
        sql: String::new(),
    }
}

/// A store in a temporary directory.
pub(crate) struct StateFixture {
    pub state: StateStore,
    pub log: Arc<dyn TopicLog>,
    _directory: tempfile::TempDir,
}

impl StateFixture {
    pub(crate) fn new() -> Self {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open store");
        StateFixture {
            log: Arc::new(EmbeddedLog::new(Arc::clone(&store)).expect("log")),
            state: StateStore::new(store),
            _directory: directory,
        }
    }

    /// Commits raw entries (stored key, stored value) of state table `id`.
    pub(crate) fn commit_entries(&self, id: &str, entries: &[(Vec<u8>, Vec<u8>)]) {
        let mut table = self.state.table(id);
        for (key, value) in entries {
            table.put(key, value.clone());
        }
        self.state.apply(&table.take_writes()).expect("commit");
    }

    /// Commits rows of table `name` as its sink stores them: key bytes -> record time and
    /// the JSON value.
    pub(crate) fn commit_rows(&self, name: &str, rows: &[(Vec<u8>, i64, &str)]) {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = rows
            .iter()
            .map(|(key, timestamp, value)| {
                let stored = encode_value(*timestamp, value.as_bytes());
                (key.clone(), stored)
            })
            .collect();
        self.commit_entries(&table_state_id(name), &entries);
    }
}
