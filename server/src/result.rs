//! Typed statement results: what a statement that runs to completion did or found.
//!
//! The engine's handlers build them once. `http::ksql` writes them as ksqlDB's `/ksql`
//! entities and reads those entities back (`http::read_entity`), so that the REPL renders
//! the same values whether the engine is embedded or behind a server.

use parser::ast::{DataType, SourceKind};
use planner::catalog::ColumnKind;

/// The result of a statement that ran to completion (queries and PRINT stream instead).
#[derive(Debug, Clone, PartialEq)]
pub enum StatementResult {
    /// A change to the catalog or to the running queries, in ksqlDB's words:
    /// `Stream created`, ``Source `S` (topic: s) was dropped.``, `Query terminated.`.
    Status(String),
    /// `CREATE ... AS SELECT` or `INSERT INTO ... SELECT` started this persistent query;
    /// `warnings` are ksqlDB's about the statement (a deprecated form).
    QueryCreated {
        query_id: String,
        warnings: Vec<String>,
    },
    /// The statement did nothing, for this reason (ksqlDB's `warning_entity`): `CREATE
    /// ... IF NOT EXISTS` of a source that exists.
    Warning(String),
    /// `INSERT INTO ... VALUES` wrote its row.
    RowInserted,
    /// `SET 'name' = 'value'`.
    PropertySet { name: String, value: String },
    /// `UNSET 'name'`.
    PropertyUnset { name: String },
    /// `DEFINE name = 'value'`.
    VariableDefined { name: String },
    /// `UNDEFINE name`.
    VariableUndefined { name: String },
    /// `SHOW STREAMS` or `SHOW TABLES`: sources of one kind.
    Sources {
        kind: SourceKind,
        sources: Vec<SourceSummary>,
    },
    /// `DESCRIBE [EXTENDED] name`.
    SourceDescription(Box<SourceDescription>),
    /// `DESCRIBE STREAMS|TABLES [EXTENDED]`, `SHOW STREAMS|TABLES EXTENDED`.
    SourceDescriptions(Vec<SourceDescription>),
    /// `SHOW QUERIES`.
    Queries(Vec<QuerySummary>),
    /// `SHOW QUERIES EXTENDED`.
    QueryDescriptions(Vec<QueryDescription>),
    /// `EXPLAIN query_id` or `EXPLAIN statement`.
    QueryDescription(Box<QueryDescription>),
    /// `SHOW [ALL] TOPICS [EXTENDED]`.
    Topics {
        extended: bool,
        topics: Vec<TopicSummary>,
    },
    /// `SHOW PROPERTIES`: the session's properties, and the names it overrides.
    Properties {
        properties: Vec<PropertyValue>,
        overridden: Vec<String>,
    },
    /// `SHOW FUNCTIONS`.
    Functions(Vec<FunctionSummary>),
    /// `DESCRIBE FUNCTION name`.
    FunctionDescription(Box<FunctionDescription>),
    /// `SHOW TYPES`: custom types by name.
    Types(Vec<(String, DataType)>),
    /// `SHOW VARIABLES`: names and values.
    Variables(Vec<(String, String)>),
}

impl StatementResult {
    /// The message of a persistent query's creation, as ksqlDB words it.
    pub fn query_created_message(query_id: &str) -> String {
        format!("Created query with ID {query_id}")
    }
}

/// A stream or table in a list (ksqlDB's `SourceInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSummary {
    pub name: String,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    pub windowed: bool,
}

/// A stream or table with its columns, formats and queries (ksqlDB's `SourceDescription`).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDescription {
    pub name: String,
    pub kind: SourceKind,
    /// `TUMBLING`, `HOPPING` or `SESSION` for windowed keys.
    pub window_type: Option<String>,
    /// Persistent queries reading the source.
    pub read_queries: Vec<QuerySummary>,
    /// Persistent queries writing into the source.
    pub write_queries: Vec<QuerySummary>,
    pub fields: Vec<Field>,
    /// The `TIMESTAMP` column, if one is set.
    pub timestamp: Option<String>,
    /// Runtime counters as one line (`consumer-messages: 3   ...`); empty unless extended.
    pub statistics: String,
    /// Error counters as one line; empty when there is nothing to say.
    pub error_statistics: String,
    /// Key and value bytes of the committed state of the persistent queries writing the
    /// source, when one of them keeps state (joins, aggregations); only when extended.
    pub state_bytes: Option<u64>,
    /// The last record the engine could not process and why (embedded engine only: the
    /// REST entity has no field for it).
    pub last_failure: Option<String>,
    /// `DESCRIBE EXTENDED`: the runtime parts are filled in.
    pub extended: bool,
    pub key_format: String,
    pub value_format: String,
    pub topic: String,
    pub partitions: u32,
    pub replicas: u16,
    /// The statement that created the source.
    pub statement: String,
}

impl SourceDescription {
    /// The name of the state-size statistic, in `statistics_line` and ksqlDB's
    /// `statisticsMap`.
    pub const STATE_BYTES: &str = "state-bytes";

    /// The runtime statistics as one line, as clients show them: the counters, then the
    /// size of the writing queries' state when there is one.
    pub fn statistics_line(&self) -> String {
        match self.state_bytes {
            Some(bytes) => format!("{}   {}: {bytes}", self.statistics, Self::STATE_BYTES),
            None => self.statistics.clone(),
        }
    }
}

/// A column of a source or of a query's output (ksqlDB's `FieldInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub data_type: DataType,
    pub kind: ColumnKind,
}

/// Whether a query writes to a sink or streams to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    Persistent,
    Push,
}

impl QueryKind {
    /// ksqlDB's name: `PERSISTENT` or `PUSH`.
    pub fn name(self) -> &'static str {
        match self {
            QueryKind::Persistent => "PERSISTENT",
            QueryKind::Push => "PUSH",
        }
    }
}

/// The state of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    Running,
    /// The query ended by itself.
    NotRunning,
    /// The query failed, with the reason when it is known.
    Error(Option<String>),
    /// The engine does not run the query (it failed to restart).
    Unknown,
}

impl QueryStatus {
    /// ksqlDB's name of the state: `RUNNING`, `NOT_RUNNING`, `ERROR` or `UNKNOWN`.
    pub fn name(&self) -> &'static str {
        match self {
            QueryStatus::Running => "RUNNING",
            QueryStatus::NotRunning => "NOT_RUNNING",
            QueryStatus::Error(_) => "ERROR",
            QueryStatus::Unknown => "UNKNOWN",
        }
    }

    /// The state named by ksqlDB's `name`.
    pub fn from_name(name: &str) -> QueryStatus {
        match name {
            "RUNNING" => QueryStatus::Running,
            "NOT_RUNNING" => QueryStatus::NotRunning,
            "ERROR" => QueryStatus::Error(None),
            _ => QueryStatus::Unknown,
        }
    }
}

impl From<executor::QueryState> for QueryStatus {
    fn from(state: executor::QueryState) -> Self {
        match state {
            executor::QueryState::Running => QueryStatus::Running,
            executor::QueryState::Done => QueryStatus::NotRunning,
            executor::QueryState::Error(message) => QueryStatus::Error(Some(message)),
        }
    }
}

/// A query in a list (ksqlDB's `RunningQuery`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySummary {
    pub id: String,
    pub kind: QueryKind,
    pub status: QueryStatus,
    /// The statement that started the query.
    pub sql: String,
    /// The sink's name; empty for a push query.
    pub sinks: Vec<String>,
    /// The sink's topic; empty for a push query.
    pub sink_topics: Vec<String>,
}

/// A persistent query, or a statement explained without running it (ksqlDB's
/// `QueryDescription`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryDescription {
    /// Empty for an explained `SELECT`.
    pub id: String,
    pub kind: QueryKind,
    /// None for a statement that is explained, not run.
    pub status: Option<QueryStatus>,
    pub sql: String,
    pub window_type: Option<String>,
    /// The output columns.
    pub fields: Vec<Field>,
    pub sources: Vec<String>,
    pub sinks: Vec<String>,
    /// `EXPLAIN`'s plan; empty in `SHOW QUERIES EXTENDED`.
    pub execution_plan: String,
    /// A Kafka Streams topology (from ksqlDB servers; Eddy has none).
    pub topology: String,
}

/// A topic in a list (ksqlDB's `KafkaTopicInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSummary {
    pub name: String,
    pub partitions: u32,
    /// Replicas of each partition.
    pub replicas: u16,
}

/// A session property in `SHOW PROPERTIES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyValue {
    pub name: String,
    /// `SESSION` for a property set in the session.
    pub scope: String,
    pub value: String,
}

/// A function in `SHOW FUNCTIONS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSummary {
    pub name: String,
    /// `SCALAR`, `AGGREGATE` or `TABLE`.
    pub kind: String,
    /// `STRING`, `MATHEMATICAL`, ... or `AGGREGATE`.
    pub category: String,
}

/// `DESCRIBE FUNCTION` (ksqlDB's `FunctionDescriptionList`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDescription {
    pub name: String,
    pub description: String,
    pub author: String,
    pub version: String,
    pub path: String,
    /// `SCALAR`, `AGGREGATE` or `TABLE`.
    pub kind: String,
    /// One per overload.
    pub variations: Vec<FunctionVariation>,
}

/// One overload of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionVariation {
    pub arguments: Vec<FunctionArgument>,
    pub return_type: String,
    pub description: String,
}

/// An argument of a function overload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArgument {
    /// Often empty: built-in functions do not name their arguments.
    pub name: String,
    /// The type as text (`STRING`, `ARRAY<T>`, `...INT`).
    pub type_name: String,
    pub description: String,
    pub variadic: bool,
}

impl FunctionArgument {
    /// `name TYPE`, or the type alone when the argument has no name, as DESCRIBE FUNCTION
    /// lists a variation's arguments.
    pub fn signature(&self) -> String {
        if self.name.is_empty() {
            self.type_name.clone()
        } else {
            format!("{} {}", self.name, self.type_name)
        }
    }
}
