//! The ksqlDB statement AST.
//!
//! Statements, clauses and types are Eddy's own nouns; expressions are `sqlparser`'s `Expr`
//! (parsed with the ksqlDB dialect), so the planner can lower them to DataFusion.
//! Names are already case-normalized: unquoted identifiers upper-cased, quoted kept as written.

mod display;
mod sql_text;

use std::fmt;

pub use sql_text::{SqlExpr, SqlName};
pub use sqlparser::ast::Expr;

/// One parsed statement with the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    /// The statement text as written, including its terminating `;` if present.
    pub text: String,
    /// 1-based line and column where the statement starts in the parsed input.
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name (elements) WITH (...)`
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO name [WITH (...)] SELECT ...`
    InsertInto(InsertInto),
    /// `INSERT INTO name [(columns)] VALUES (expressions)`
    InsertValues(InsertValues),
    /// A push (`EMIT CHANGES`) or pull query.
    Select(Query),
    /// A query beyond ksqlDB's grammar (`ORDER BY`, subqueries, `WITH`, `UNION`, ...), kept as
    /// text: a pull query over materialized tables that DataFusion plans and runs.
    SqlQuery(String),
    /// `SHOW|LIST ...`
    Show(Show),
    /// `DESCRIBE [EXTENDED] name`, `DESCRIBE STREAMS|TABLES [EXTENDED]`, `DESCRIBE FUNCTION name`
    Describe(Describe),
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
    DropSource(DropSource),
    /// `TERMINATE query_id` or `TERMINATE ALL`
    Terminate(Terminate),
    /// `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`
    Print(Print),
    /// `SET 'name' = 'value'`
    SetProperty { name: String, value: String },
    /// `UNSET 'name'`
    UnsetProperty { name: String },
    /// `DEFINE name = 'value'`. Variable names are kept as written; ksqlDB compares them
    /// case-insensitively.
    DefineVariable { name: String, value: String },
    /// `UNDEFINE name` (name as written)
    UndefineVariable { name: String },
    /// `EXPLAIN statement` or `EXPLAIN query_id`
    Explain(Explain),
    /// `RUN SCRIPT 'path'`
    RunScript { path: String },
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`
    CreateType {
        name: String,
        if_not_exists: bool,
        data_type: DataType,
    },
    /// `DROP TYPE [IF EXISTS] name`
    DropType { name: String, if_exists: bool },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] column type [, ADD [COLUMN] column type]*`
    AlterSource(AlterSource),
    /// `ASSERT [NOT EXISTS] TOPIC ...` or `ASSERT [NOT EXISTS] SCHEMA ...`
    Assert(Assert),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Stream,
    Table,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub or_replace: bool,
    pub if_not_exists: bool,
    /// `CREATE SOURCE STREAM|TABLE`: read-only source.
    pub is_source: bool,
    pub name: String,
    /// Empty when the statement has no column list (schema inference).
    pub elements: Vec<TableElement>,
    pub properties: WithProperties,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableElement {
    pub name: String,
    pub data_type: DataType,
    pub constraint: ColumnConstraint,
    /// 1-based position of the column name, for planner errors.
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    None,
    /// `KEY` (streams)
    Key,
    /// `PRIMARY KEY` (tables)
    PrimaryKey,
    /// `HEADERS`: all headers as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`
    Headers,
    /// `HEADER('name')`: one header's bytes
    Header(String),
}

/// A ksqlDB data type as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataType {
    Boolean,
    Int,
    Bigint,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<DataType>),
    Map(Box<DataType>, Box<DataType>),
    Struct(Vec<(String, DataType)>),
    /// A type defined with `CREATE TYPE`, resolved by the planner.
    Custom(String),
}

/// A `WITH (...)` property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    /// The number as written (digit-exact).
    Number(String),
    Boolean(bool),
    Null,
}

/// `WITH (name = value, ...)`. Names are upper-cased; order is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WithProperties(pub Vec<(String, Literal)>);

#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub name: String,
    pub properties: WithProperties,
    pub query: Query,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InsertInto {
    pub target: String,
    pub properties: WithProperties,
    pub query: Query,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InsertValues {
    pub target: String,
    /// `None` when no column list was given (all columns, in schema order).
    pub columns: Option<Vec<String>>,
    pub values: Vec<Expr>,
}

/// `SELECT ... FROM ... [WINDOW] [WHERE] [GROUP BY] [PARTITION BY] [HAVING] [EMIT] [LIMIT]`
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Relation,
    pub window: Option<WindowExpr>,
    pub where_clause: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard,
    /// `alias.*`
    QualifiedWildcard(String),
    /// `expr->*`: every field of a struct, each as its own column.
    StructWildcard(Expr),
    /// `expr [AS alias]`
    Expr { expr: Expr, alias: Option<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    Source { name: String, alias: Option<String> },
    Join(Box<Join>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub left: Relation,
    pub right: Relation,
    pub kind: JoinKind,
    pub within: Option<Within>,
    pub on: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

impl JoinKind {
    /// The keyword before `JOIN`: `INNER`, `LEFT`, `RIGHT`, `FULL`.
    pub fn keyword(self) -> &'static str {
        match self {
            JoinKind::Inner => "INNER",
            JoinKind::Left => "LEFT",
            JoinKind::Right => "RIGHT",
            JoinKind::Full => "FULL",
        }
    }

    /// The kind as ksqlDB names it in messages: `INNER`, `LEFT OUTER`, ...
    pub fn name(self) -> &'static str {
        match self {
            JoinKind::Inner => "INNER",
            JoinKind::Left => "LEFT OUTER",
            JoinKind::Right => "RIGHT OUTER",
            JoinKind::Full => "FULL OUTER",
        }
    }

    /// Whether a left row without a match is kept (null-padded).
    pub fn keeps_left(self) -> bool {
        matches!(self, JoinKind::Left | JoinKind::Full)
    }

    /// Whether a right row without a match is kept (null-padded).
    pub fn keeps_right(self) -> bool {
        matches!(self, JoinKind::Right | JoinKind::Full)
    }
}

/// `WITHIN n unit` or `WITHIN (before, after)`, with optional `GRACE PERIOD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Within {
    pub before: Duration,
    pub after: Duration,
    pub grace: Option<Duration>,
}

/// A duration as written: `10 SECONDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub value: u64,
    pub unit: TimeUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowExpr {
    Tumbling {
        size: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
    Hopping {
        size: Duration,
        advance: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
    Session {
        gap: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Changes,
    Final,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    Streams { extended: bool },
    Tables { extended: bool },
    Topics { all: bool, extended: bool },
    Queries { extended: bool },
    Properties,
    Functions,
    Types,
    Variables,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Describe {
    Source { name: String, extended: bool },
    Streams { extended: bool },
    Tables { extended: bool },
    Function { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropSource {
    pub kind: SourceKind,
    pub if_exists: bool,
    pub name: String,
    pub delete_topic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminate {
    Query(String),
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Print {
    /// Topic name as written (topic names are case-sensitive; quotes removed).
    pub topic: String,
    pub from_beginning: bool,
    pub interval: Option<u64>,
    pub limit: Option<u64>,
}

/// `ALTER STREAM|TABLE name ADD [COLUMN] column type, ...`. The elements have no constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterSource {
    pub kind: SourceKind,
    pub name: String,
    pub columns: Vec<TableElement>,
}

/// `ASSERT` statements, which wait for (or check the absence of) a topic or schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Assert {
    /// `ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT n unit]`
    Topic {
        /// Topic name as written (quotes removed).
        name: String,
        /// `false` for `ASSERT NOT EXISTS`.
        exists: bool,
        properties: WithProperties,
        timeout: Option<Duration>,
    },
    /// `ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID n] [TIMEOUT n unit]`
    Schema {
        /// Subject name as written (quotes removed).
        subject: Option<String>,
        id: Option<u64>,
        /// `false` for `ASSERT NOT EXISTS`.
        exists: bool,
        timeout: Option<Duration>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Explain {
    Statement(Box<Statement>),
    Query(String),
}

impl Duration {
    /// The duration in milliseconds.
    pub fn as_millis(&self) -> u64 {
        let factor = match self.unit {
            TimeUnit::Milliseconds => 1,
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
        };
        self.value * factor
    }
}

impl DataType {
    /// The ksqlDB type of a `CAST` target as this crate parses it: `DataType::Custom` holding
    /// one identifier with the ksqlDB type text (`CAST(x AS ARRAY<INT>)`). `None` for other
    /// `sqlparser` types.
    pub fn from_cast(data_type: &sqlparser::ast::DataType) -> Option<DataType> {
        let sqlparser::ast::DataType::Custom(name, modifiers) = data_type else {
            return None;
        };
        match name.0.as_slice() {
            [sqlparser::ast::ObjectNamePart::Identifier(ident)]
                if modifiers.is_empty() && ident.quote_style.is_none() =>
            {
                crate::parse_data_type(&ident.value).ok()
            }
            _ => None,
        }
    }
}

impl WithProperties {
    /// The value of property `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Literal> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// The value of property `name` as text (strings unquoted, numbers as written).
    pub fn get_text(&self, name: &str) -> Option<String> {
        self.get(name).map(|value| match value {
            Literal::String(text) | Literal::Number(text) => text.clone(),
            Literal::Boolean(flag) => flag.to_string(),
            Literal::Null => "null".to_string(),
        })
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        })
    }
}
