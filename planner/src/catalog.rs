//! The catalog: streams, tables, custom types and persistent queries known to the engine.
//!
//! The catalog is plain data. The server owns one, changes it only through planned
//! statements, and rebuilds it at start by replaying the command log.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use parser::ast::{DataType, SourceKind};

use crate::schema_registry::{SchemaBinding, SchemaRegistry};
use crate::types::to_arrow;
use crate::{PlanError, Result};

/// Name of the record timestamp pseudo-column.
pub const ROWTIME: &str = "ROWTIME";
/// Name of the source partition pseudo-column.
pub const ROWPARTITION: &str = "ROWPARTITION";
/// Name of the source offset pseudo-column.
pub const ROWOFFSET: &str = "ROWOFFSET";
pub const WINDOWSTART: &str = "WINDOWSTART";
pub const WINDOWEND: &str = "WINDOWEND";
/// Hidden last column of changelog (table) rows: one of the `OP_*` values.
pub const OP_COLUMN: &str = "$op";
/// An insert or update of the row's key.
pub const OP_UPSERT: i8 = 0;
/// A delete (tombstone) of the row's key; value columns are null.
pub const OP_DELETE: i8 = 1;
/// The previous value of a row being replaced or deleted, for aggregates to retract.
pub const OP_RETRACT: i8 = 2;

/// How the keys of a windowed source carry their window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Tumbling,
    Hopping,
    Session,
}

impl WindowKind {
    /// ksqlDB's `WINDOW_TYPE` name.
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Tumbling => "TUMBLING",
            WindowKind::Hopping => "HOPPING",
            WindowKind::Session => "SESSION",
        }
    }
}

/// The window of a windowed source's keys: kind and (time windows) size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowInfo {
    pub kind: WindowKind,
    pub size_ms: Option<u64>,
}
/// Pseudo-columns every source row has, in order, with their types.
pub const PSEUDO_COLUMNS: [(&str, DataType); 3] = [
    (ROWTIME, DataType::Bigint),
    (ROWPARTITION, DataType::Int),
    (ROWOFFSET, DataType::Bigint),
];

/// Where a column lives in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    Key,
    Value,
    /// All headers, as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
    Headers,
    /// The bytes of one header.
    Header(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDefinition {
    pub name: String,
    pub data_type: DataType,
    pub kind: ColumnKind,
}

/// A serialization format and its options, for a key or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatDefinition {
    /// Upper-case format name: `JSON`, `DELIMITED`, `KAFKA`, `NONE`, ...
    pub name: String,
    /// `WRAP_SINGLE_VALUE`; `None` means the default (wrapped).
    pub wrap_single_value: Option<bool>,
    /// `VALUE_DELIMITER` / `KEY_DELIMITER` for DELIMITED.
    pub delimiter: Option<char>,
    /// AVRO, PROTOBUF, JSON_SR and PROTOBUF_NOSR: the schema payloads are written with and
    /// read as (see `source_schema`); `None` for the other formats.
    pub schema: Option<Arc<SchemaBinding>>,
}

/// The TIMESTAMP column of a source and its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampColumn {
    pub column: String,
    pub format: Option<String>,
}

/// A stream or a table.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDefinition {
    pub name: String,
    pub kind: SourceKind,
    pub topic: String,
    /// Key columns first, then value and header columns, in declaration order.
    pub columns: Vec<ColumnDefinition>,
    pub key_format: FormatDefinition,
    pub value_format: FormatDefinition,
    pub timestamp: Option<TimestampColumn>,
    pub partitions: u32,
    pub replicas: u16,
    /// `CREATE SOURCE ...`: read-only.
    pub is_source: bool,
    /// Windowed keys (a windowed aggregation's table, or `WINDOW_TYPE`).
    pub window: Option<WindowInfo>,
    /// The statement that created the source.
    pub sql: String,
}

/// A persistent query as the catalog knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryDefinition {
    /// `CSAS_<SINK>_<n>`, `CTAS_<SINK>_<n>` or `INSERTQUERY_<n>`.
    pub id: String,
    pub sql: String,
    pub sink: String,
    pub sources: Vec<String>,
    /// The internal topics its repartitions write and read (`RepartitionNode::topic`):
    /// created when it starts, deleted with it.
    pub internal_topics: Vec<String>,
}

/// Everything the engine has declared.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    sources: BTreeMap<String, SourceDefinition>,
    types: BTreeMap<String, DataType>,
    queries: BTreeMap<String, QueryDefinition>,
    /// Counter behind query ids; never reused.
    next_query_number: u64,
    /// The embedded schema registry.
    schemas: SchemaRegistry,
}

impl SourceDefinition {
    pub fn key_columns(&self) -> impl Iterator<Item = &ColumnDefinition> {
        self.columns
            .iter()
            .filter(|column| column.kind == ColumnKind::Key)
    }

    pub fn value_columns(&self) -> impl Iterator<Item = &ColumnDefinition> {
        self.columns
            .iter()
            .filter(|column| column.kind == ColumnKind::Value)
    }

    pub fn header_columns(&self) -> impl Iterator<Item = &ColumnDefinition> {
        self.columns
            .iter()
            .filter(|column| matches!(column.kind, ColumnKind::Headers | ColumnKind::Header(_)))
    }

    pub fn column(&self, name: &str) -> Option<&ColumnDefinition> {
        self.columns.iter().find(|column| column.name == name)
    }

    /// Arrow fields of the key columns (what the key format decodes).
    pub fn key_fields(&self) -> Result<Fields> {
        fields_of(self.key_columns())
    }

    /// Arrow fields of the value columns (what the value format decodes).
    pub fn value_fields(&self) -> Result<Fields> {
        fields_of(self.value_columns())
    }

    /// The schema of a source row as queries see it: keys, values, headers, then
    /// `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`.
    pub fn row_schema(&self) -> Result<SchemaRef> {
        let mut fields: Vec<Field> = Vec::new();
        for column in self
            .key_columns()
            .chain(self.value_columns())
            .chain(self.header_columns())
        {
            fields.push(Field::new(&column.name, to_arrow(&column.data_type)?, true));
        }
        for (name, data_type) in PSEUDO_COLUMNS.iter() {
            fields.push(Field::new(*name, to_arrow(data_type)?, true));
        }
        if self.window.is_some() {
            fields.push(Field::new(WINDOWSTART, ArrowType::Int64, true));
            fields.push(Field::new(WINDOWEND, ArrowType::Int64, true));
        }
        Ok(std::sync::Arc::new(Schema::new(fields)))
    }

    /// `NAME TYPE [KEY], ...` as ksqlDB prints a schema.
    pub fn schema_text(&self) -> String {
        self.columns
            .iter()
            .map(|column| {
                let suffix = match (&column.kind, self.kind) {
                    (ColumnKind::Key, SourceKind::Stream) => " KEY".to_string(),
                    (ColumnKind::Key, SourceKind::Table) => " PRIMARY KEY".to_string(),
                    (ColumnKind::Value, _) => String::new(),
                    (ColumnKind::Headers, _) => " HEADERS".to_string(),
                    (ColumnKind::Header(key), _) => format!(" HEADER('{key}')"),
                };
                format!(
                    "{} {}{suffix}",
                    column.name,
                    crate::types::sql_type_name(&column.data_type)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn fields_of<'a>(columns: impl Iterator<Item = &'a ColumnDefinition>) -> Result<Fields> {
    columns
        .map(|column| Ok(Field::new(&column.name, to_arrow(&column.data_type)?, true)))
        .collect()
}

/// The Arrow type of the `HEADERS` column.
pub fn headers_type() -> ArrowType {
    to_arrow(&DataType::Array(Box::new(DataType::Struct(vec![
        ("KEY".into(), DataType::String),
        ("VALUE".into(), DataType::Bytes),
    ]))))
    .expect("the headers type has no custom types")
}

impl Catalog {
    pub fn source(&self, name: &str) -> Option<&SourceDefinition> {
        self.sources.get(name)
    }

    /// The source named `name`, or a user error naming it.
    pub fn require_source(&self, name: &str) -> Result<&SourceDefinition> {
        self.sources
            .get(name)
            .ok_or_else(|| PlanError::User(format!("{} does not exist.", quote_source_name(name))))
    }

    pub fn sources(&self) -> impl Iterator<Item = &SourceDefinition> {
        self.sources.values()
    }

    /// Adds or replaces a source, registering the schemas bound to its formats under their
    /// subjects (a no-op for schemas the subject already holds).
    pub fn put_source(&mut self, source: SourceDefinition) {
        for format in [&source.key_format, &source.value_format] {
            if let Some(binding) = &format.schema
                && let Some(subject) = &binding.subject
                && !self.schemas.subject_has(subject, binding.schema.id)
            {
                let schema = &binding.schema;
                // The planner chose the id from this registry, so registering cannot clash.
                let _ = self.schemas.register(
                    subject,
                    schema.schema_type,
                    &schema.text,
                    schema.references.clone(),
                    Some(schema.id),
                );
            }
        }
        self.sources.insert(source.name.clone(), source);
    }

    /// The embedded schema registry.
    pub fn schema_registry(&self) -> &SchemaRegistry {
        &self.schemas
    }

    /// The embedded schema registry, to register or restore schemas.
    pub fn schema_registry_mut(&mut self) -> &mut SchemaRegistry {
        &mut self.schemas
    }

    pub fn remove_source(&mut self, name: &str) -> Option<SourceDefinition> {
        self.sources.remove(name)
    }

    pub fn custom_type(&self, name: &str) -> Option<&DataType> {
        self.types.get(name)
    }

    pub fn custom_types(&self) -> impl Iterator<Item = (&String, &DataType)> {
        self.types.iter()
    }

    pub fn put_type(&mut self, name: String, data_type: DataType) {
        self.types.insert(name, data_type);
    }

    pub fn remove_type(&mut self, name: &str) -> Option<DataType> {
        self.types.remove(name)
    }

    pub fn query(&self, id: &str) -> Option<&QueryDefinition> {
        self.queries.get(id)
    }

    pub fn queries(&self) -> impl Iterator<Item = &QueryDefinition> {
        self.queries.values()
    }

    /// Queries that read from or write to `source`.
    pub fn queries_using(&self, source: &str) -> Vec<&QueryDefinition> {
        self.queries
            .values()
            .filter(|query| query.sink == source || query.sources.iter().any(|s| s == source))
            .collect()
    }

    pub fn put_query(&mut self, query: QueryDefinition) {
        self.queries.insert(query.id.clone(), query);
    }

    pub fn remove_query(&mut self, id: &str) -> Option<QueryDefinition> {
        self.queries.remove(id)
    }

    /// The number the next persistent query id will carry.
    pub fn next_query_number(&self) -> u64 {
        self.next_query_number
    }

    /// Consumes a query number (called when a persistent query is created).
    pub fn take_query_number(&mut self) -> u64 {
        let number = self.next_query_number;
        self.next_query_number += 1;
        number
    }

    /// Resolves `CREATE TYPE` names inside a type.
    pub fn resolve_type(&self, data_type: &DataType) -> Result<DataType> {
        Ok(match data_type {
            DataType::Custom(name) => match self.types.get(name) {
                Some(resolved) => resolved.clone(),
                None => {
                    return Err(PlanError::User(format!("type \"{name}\" does not exist")));
                }
            },
            DataType::Array(element) => DataType::Array(Box::new(self.resolve_type(element)?)),
            DataType::Map(key, value) => DataType::Map(
                Box::new(self.resolve_type(key)?),
                Box::new(self.resolve_type(value)?),
            ),
            DataType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|(name, field_type)| Ok((name.clone(), self.resolve_type(field_type)?)))
                    .collect::<Result<_>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// A source name as ksqlDB quotes it in messages: `` `NAME` ``.
pub fn quote_source_name(name: &str) -> String {
    format!("`{name}`")
}
