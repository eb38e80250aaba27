//! Planning of statements that change the catalog or start queries.
//!
//! `plan_statement` validates a statement against the catalog and session properties and
//! returns what the server must do. Statements without planning (SHOW, SET, ...) are
//! handled by the server directly.

use std::collections::BTreeMap;

use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;
use parser::ast::{
    ColumnConstraint, CreateAsSelect, CreateSource, Emit, InsertValues, Literal, SourceKind,
    Statement, StatementKind, WithProperties,
};

use crate::catalog::{
    Catalog, ColumnDefinition, ColumnKind, FormatDefinition, QueryDefinition, SourceDefinition,
    TimestampColumn, WindowInfo, WindowKind,
};
use crate::expr::ExprLowering;
use crate::plan::{DataflowNode, DataflowPlan, ProjectNode, ROWTIME_OUTPUT, SinkPlan};
use crate::pull::PullPlan;
use crate::query::{PlannedQuery, Purpose, plan_query};
use crate::{PlanError, Result, user_error};

/// Session properties (`SET`), by name.
pub type Properties = BTreeMap<String, String>;

/// What the server must do for a statement.
// One plan exists per statement being executed, so variant size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StatementPlan {
    /// Register a source; create its topic with `partitions` if it does not exist
    /// (`None`: the topic must exist).
    CreateSource {
        source: SourceDefinition,
        partitions: Option<u32>,
        or_replace: bool,
        if_not_exists: bool,
    },
    /// Register the sink source, create its topic and start the query.
    CreateAsSelect {
        sink: SourceDefinition,
        query: QueryDefinition,
        plan: DataflowPlan,
        or_replace: bool,
        if_not_exists: bool,
    },
    /// Start a query writing into an existing source.
    InsertInto {
        query: QueryDefinition,
        plan: DataflowPlan,
    },
    /// Write one row.
    InsertValues(InsertValuesPlan),
    /// Run a transient query.
    Select {
        plan: DataflowPlan,
        columns: Vec<ColumnDefinition>,
        /// `Some` for a pull query (no `EMIT CHANGES`: read what is there now, then
        /// complete): how it reads its source. `None` for a push query.
        is_pull: Option<PullPlan>,
    },
}

/// One row for `INSERT INTO ... VALUES`.
#[derive(Debug, Clone)]
pub struct InsertValuesPlan {
    pub target: SourceDefinition,
    /// Constant expressions (over an empty schema), one per key and value column of the
    /// target in schema order; columns not given are null.
    pub values: Vec<(ColumnDefinition, Option<Expr>)>,
    /// `ROWTIME` if given.
    pub timestamp: Option<Expr>,
}

/// Plans a statement that needs planning; `None` for the ones the server handles itself.
pub fn plan_statement(
    catalog: &Catalog,
    statement: &Statement,
    properties: &Properties,
) -> Result<Option<StatementPlan>> {
    Ok(Some(match &statement.kind {
        StatementKind::CreateSource(create) => {
            plan_create_source(catalog, create, statement, properties)?
        }
        StatementKind::CreateAsSelect(create) => {
            plan_create_as_select(catalog, create, statement, properties)?
        }
        StatementKind::InsertInto(insert) => {
            let target = catalog.require_source(&insert.target)?.clone();
            if target.is_source {
                return user_error(format!(
                    "Cannot insert into read-only {} `{}`.",
                    kind_word(target.kind),
                    target.name
                ));
            }
            let planned = plan_query(catalog, &insert.query)?;
            check_insert_schema(&planned, &target)?;
            let query = QueryDefinition {
                id: format!("INSERTQUERY_{}", catalog.next_query_number()),
                sql: statement.text.clone(),
                sink: target.name.clone(),
                sources: vec![planned.source.name.clone()],
            };
            let plan = DataflowPlan {
                sink: Some(sink_plan(&target)?),
                root: planned.root,
                limit: None,
                max_poll_records: max_poll_records(properties),
            };
            StatementPlan::InsertInto { query, plan }
        }
        StatementKind::InsertValues(insert) => {
            StatementPlan::InsertValues(plan_insert_values(catalog, insert)?)
        }
        StatementKind::Select(query) if query.emit.is_none() => {
            crate::pull::plan_pull(catalog, query, statement, properties)?
        }
        StatementKind::Select(query) => {
            let mut planned = crate::query::plan_query_for(catalog, query, Purpose::Push)?;
            set_emit_per_record(&mut planned.root, properties);
            StatementPlan::Select {
                columns: planned.columns,
                plan: DataflowPlan {
                    root: planned.root,
                    sink: None,
                    limit: query.limit,
                    max_poll_records: max_poll_records(properties),
                },
                is_pull: None,
            }
        }
        _ => return Ok(None),
    }))
}

/// The error for the `NONE` key format given to key columns.
fn none_key_format_with_keys(columns: &[ColumnDefinition]) -> PlanError {
    let keys: Vec<String> = columns
        .iter()
        .filter(|c| c.kind == ColumnKind::Key)
        .map(|c| {
            format!(
                "`{}` {} KEY",
                c.name,
                crate::types::sql_type_name(&c.data_type)
            )
        })
        .collect();
    PlanError::User(format!(
        "The 'NONE' format can only be used when no columns are defined. Got: [{}]",
        keys.join(", ")
    ))
}

fn kind_word(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

fn plan_create_source(
    catalog: &Catalog,
    create: &CreateSource,
    statement: &Statement,
    properties: &Properties,
) -> Result<StatementPlan> {
    if let Some(existing) = catalog.source(&create.name)
        && !create.or_replace
        && !create.if_not_exists
    {
        return user_error(format!(
            "Cannot add {} '{}': A {} with the same name already exists",
            kind_word(create.kind),
            create.name,
            kind_word(existing.kind)
        ));
    }
    let props = &create.properties;
    let topic = props.get_text("KAFKA_TOPIC").ok_or_else(|| {
        PlanError::User(
            "Missing required property \"KAFKA_TOPIC\" which has no default value.".into(),
        )
    })?;
    let mut columns = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for element in &create.elements {
        if !seen.insert(element.name.clone()) {
            return user_error(format!("Duplicate column names: `{}`", element.name));
        }
        let kind = match (&element.constraint, create.kind) {
            (ColumnConstraint::Key, SourceKind::Table) => {
                return Err(PlanError::UserAt {
                    line: element.line,
                    column: element.column,
                    message: format!(
                        "Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.",
                        element.name
                    ),
                });
            }
            (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                return Err(PlanError::UserAt {
                    line: element.line,
                    column: element.column,
                    message: format!(
                        "Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.",
                        element.name
                    ),
                });
            }
            (ColumnConstraint::Key | ColumnConstraint::PrimaryKey, _) => ColumnKind::Key,
            (ColumnConstraint::None, _) => ColumnKind::Value,
            (ColumnConstraint::Headers, _) => ColumnKind::Headers,
            (ColumnConstraint::Header(key), _) => ColumnKind::Header(key.clone()),
        };
        let data_type = catalog.resolve_type(&element.data_type)?;
        if kind == ColumnKind::Key && crate::types::contains_map(&data_type) {
            return user_error(format!(
                "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
                element.name,
                crate::types::sql_type_name(&data_type)
            ));
        }
        columns.push(ColumnDefinition {
            name: element.name.clone(),
            data_type,
            kind,
        });
    }
    let (mut key_format, mut value_format) = formats(props, properties, None)?;
    crate::source_schema::complete_create_source(
        catalog,
        props,
        &create.name,
        &topic,
        &mut columns,
        &mut key_format,
        &mut value_format,
    )?;
    if create.kind == SourceKind::Table && !columns.iter().any(|c| c.kind == ColumnKind::Key) {
        return user_error("Tables require a PRIMARY KEY. Please define the PRIMARY KEY.");
    }
    // Keys first, the rest in declaration order.
    columns.sort_by_key(|column| column.kind != ColumnKind::Key);
    let has_keys = columns.iter().any(|c| c.kind == ColumnKind::Key);
    if has_keys && key_format.name == "NONE" {
        return Err(none_key_format_with_keys(&columns));
    }
    if !has_keys
        && key_format.name != "KAFKA"
        && key_format.name != "NONE"
        && props.get("KEY_FORMAT").is_some()
    {
        return user_error("Key format specified for stream without key columns.");
    }
    // A keyless source keeps a key format it was given (a query that adds keys inherits
    // it); without one its key format is NONE, as ksqlDB's format injection decides.
    let key_format = if has_keys || props.get("KEY_FORMAT").or(props.get("FORMAT")).is_some() {
        key_format
    } else {
        FormatDefinition {
            name: "NONE".into(),
            ..key_format
        }
    };
    let timestamp = timestamp_column(props, &columns)?;
    let partitions = parse_u32(props, "PARTITIONS")?;
    let window = source_window(props)?;
    if window.is_some() && !has_keys {
        return user_error("Windowed sources require a key column.");
    }
    let source = SourceDefinition {
        name: create.name.clone(),
        kind: create.kind,
        topic,
        columns,
        key_format,
        value_format,
        timestamp,
        partitions: partitions.unwrap_or(1),
        replicas: parse_u32(props, "REPLICAS")?.unwrap_or(1) as u16,
        is_source: create.is_source,
        window,
        sql: statement.text.clone(),
    };
    Ok(StatementPlan::CreateSource {
        source,
        partitions,
        or_replace: create.or_replace,
        if_not_exists: create.if_not_exists,
    })
}

fn plan_create_as_select(
    catalog: &Catalog,
    create: &CreateAsSelect,
    statement: &Statement,
    properties: &Properties,
) -> Result<StatementPlan> {
    if let Some(existing) = catalog.source(&create.name)
        && !create.or_replace
        && !create.if_not_exists
    {
        return user_error(format!(
            "Cannot add {} '{}': A {} with the same name already exists",
            kind_word(create.kind),
            create.name,
            kind_word(existing.kind)
        ));
    }
    if create.query.emit == Some(Emit::Final) && create.query.window.is_none() {
        return user_error("EMIT FINAL is only supported for windowed aggregations.");
    }
    let mut planned = plan_query(catalog, &create.query)?;
    match (create.kind, planned.changelog) {
        (SourceKind::Table, false) => {
            return user_error(
                "Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead.",
            );
        }
        (SourceKind::Stream, true) => {
            return user_error(
                "Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead.",
            );
        }
        _ => {}
    }
    if !planned.missing_keys.is_empty() {
        let keys = &planned.missing_keys;
        let listed = crate::aggregate::and_list(keys);
        let plural = if keys.len() > 1 {
            "expressions"
        } else {
            "expression"
        };
        return user_error(format!(
            "The query used to build `{}` must include the grouping {plural} {listed} in its projection (eg, SELECT {}...).",
            create.name,
            keys.join(", ")
        ));
    }
    set_emit_per_record(&mut planned.root, properties);
    let props = &create.properties;
    let (key_format, value_format) = formats(props, properties, Some(&planned.source))?;
    let has_keys = planned.columns.iter().any(|c| c.kind == ColumnKind::Key);
    let explicit_key_format = props.get("KEY_FORMAT").or_else(|| props.get("FORMAT"));
    let key_format = if has_keys {
        if key_format.name == "NONE" {
            if explicit_key_format.is_some() {
                return Err(none_key_format_with_keys(&planned.columns));
            }
            // A source without keys gives its new keys ksqlDB's JSON key format.
            FormatDefinition {
                name: "JSON".into(),
                ..key_format
            }
        } else {
            key_format
        }
    } else {
        FormatDefinition {
            name: "NONE".into(),
            ..key_format
        }
    };
    let topic = props
        .get_text("KAFKA_TOPIC")
        .unwrap_or_else(|| create.name.clone());
    let (mut key_format, mut value_format) = (key_format, value_format);
    crate::source_schema::bind_sink_schemas(
        catalog,
        props,
        &create.name,
        &topic,
        &planned.columns,
        &mut key_format,
        &mut value_format,
    )?;
    let partitions = parse_u32(props, "PARTITIONS")?.unwrap_or(planned.source.partitions);
    let timestamp = timestamp_column(props, &planned.columns)?;
    let sink = SourceDefinition {
        name: create.name.clone(),
        kind: create.kind,
        topic,
        columns: planned.columns.clone(),
        key_format,
        value_format,
        timestamp,
        partitions,
        replicas: parse_u32(props, "REPLICAS")?.unwrap_or(1) as u16,
        is_source: false,
        window: planned.window,
        sql: statement.text.clone(),
    };
    let prefix = match create.kind {
        SourceKind::Stream => "CSAS",
        SourceKind::Table => "CTAS",
    };
    let query = QueryDefinition {
        id: format!("{prefix}_{}_{}", create.name, catalog.next_query_number()),
        sql: statement.text.clone(),
        sink: create.name.clone(),
        sources: vec![planned.source.name.clone()],
    };
    let mut root = planned.root;
    if let (Some(timestamp), DataflowNode::Project(project)) = (&sink.timestamp, &mut root) {
        use_timestamp_column(project, &timestamp.column);
    }
    let mut sink_plan = sink_plan(&sink)?;
    sink_plan.skip_absent_deletes = root.aggregate().is_some();
    let plan = DataflowPlan {
        sink: Some(sink_plan),
        root,
        limit: None,
        max_poll_records: max_poll_records(properties),
    };
    Ok(StatementPlan::CreateAsSelect {
        sink,
        query,
        plan,
        or_replace: create.or_replace,
        if_not_exists: create.if_not_exists,
    })
}

/// Makes the output record timestamp (`$rowtime`) the value of output column `column`.
fn use_timestamp_column(project: &mut ProjectNode, column: &str) {
    let source = project.exprs.iter().find_map(|expr| match expr {
        Expr::Alias(alias) if alias.name == column => Some(alias.expr.as_ref().clone()),
        _ => None,
    });
    if let (Some(source), Some(last)) = (source, project.exprs.last_mut()) {
        *last = Expr::Cast(datafusion::logical_expr::Cast::new(
            Box::new(source),
            arrow::datatypes::DataType::Int64,
        ))
        .alias(ROWTIME_OUTPUT);
    }
}

/// The sink of a query writing into `target`.
pub fn sink_plan(target: &SourceDefinition) -> Result<SinkPlan> {
    Ok(SinkPlan {
        name: target.name.clone(),
        topic: target.topic.clone(),
        key_format: target.key_format.clone(),
        value_format: target.value_format.clone(),
        key_fields: target.key_fields()?,
        value_fields: target.value_fields()?,
        partitions: target.partitions,
        window: target.window,
        materialize: target.kind == SourceKind::Table,
        skip_absent_deletes: false,
    })
}

/// `max.poll.records` (or `ksql.streams.max.poll.records`): how many records a query reads
/// from one partition per epoch, when set to a positive number.
pub fn max_poll_records(properties: &Properties) -> Option<usize> {
    ["max.poll.records", "ksql.streams.max.poll.records"]
        .iter()
        .find_map(|name| properties.get(*name))
        .and_then(|value| value.trim().parse().ok())
        .filter(|records| *records > 0)
}

/// `cache.max.bytes.buffering=0` (no record cache): aggregates emit every update, as ksqlDB
/// does without a cache; otherwise the last update per key and batch.
pub fn set_emit_per_record(node: &mut DataflowNode, properties: &Properties) {
    let per_record = properties
        .iter()
        .find(|(name, _)| {
            name.as_str() == "cache.max.bytes.buffering"
                || name.as_str() == "ksql.streams.cache.max.bytes.buffering"
        })
        .is_some_and(|(_, value)| value.trim() == "0");
    match node {
        DataflowNode::Source(_) => {}
        DataflowNode::Filter(filter) => set_emit_per_record(&mut filter.input, properties),
        DataflowNode::Project(project) => set_emit_per_record(&mut project.input, properties),
        DataflowNode::Aggregate(aggregate) => {
            aggregate.emit_per_record = per_record;
            for call in &mut aggregate.aggregates {
                call.limit = call
                    .signature
                    .limit_property()
                    .and_then(|name| properties.get(name))
                    .and_then(|value| value.trim().parse().ok());
            }
        }
    }
}

/// `WINDOW_TYPE` and `WINDOW_SIZE` of a source over a topic with windowed keys.
fn source_window(props: &WithProperties) -> Result<Option<WindowInfo>> {
    let Some(kind) = props.get_text("WINDOW_TYPE") else {
        if props.get_text("WINDOW_SIZE").is_some() {
            return user_error("WINDOW_SIZE should only be set if WINDOW_TYPE is set");
        }
        return Ok(None);
    };
    let kind = match kind.to_uppercase().as_str() {
        "TUMBLING" => WindowKind::Tumbling,
        "HOPPING" => WindowKind::Hopping,
        "SESSION" => WindowKind::Session,
        other => {
            return user_error(format!(
                "Invalid value {other} for property WINDOW_TYPE: String must be one of: SESSION, HOPPING, TUMBLING"
            ));
        }
    };
    let size_ms = match props.get_text("WINDOW_SIZE") {
        Some(text) => Some(parse_window_size(&text)?),
        None if kind == WindowKind::Session => None,
        None => {
            return user_error(format!(
                "{} windows require 'WINDOW_SIZE' to be provided in the WITH clause. For example: 'WINDOW_SIZE'='10 SECONDS'",
                kind.name()
            ));
        }
    };
    if kind == WindowKind::Session && size_ms.is_some() {
        return user_error("'WINDOW_SIZE' should not be provided for SESSION windows.");
    }
    Ok(Some(WindowInfo { kind, size_ms }))
}

/// `'10 SECONDS'` as milliseconds.
fn parse_window_size(text: &str) -> Result<u64> {
    let mut parts = text.split_whitespace();
    let invalid = || {
        PlanError::User(format!(
            "Invalid value {text} for property WINDOW_SIZE: Invalid duration: '{text}'. e.g. '10 SECONDS'"
        ))
    };
    let value: u64 = parts
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)?;
    let unit = parts.next().ok_or_else(invalid)?.to_uppercase();
    let factor = match unit.trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return Err(invalid()),
    };
    Ok(value * factor)
}

fn check_insert_schema(planned: &PlannedQuery, target: &SourceDefinition) -> Result<()> {
    let target_columns: Vec<(&str, &parser::ast::DataType, bool)> = target
        .key_columns()
        .chain(target.value_columns())
        .map(|c| (c.name.as_str(), &c.data_type, c.kind == ColumnKind::Key))
        .collect();
    let result_columns: Vec<(&str, &parser::ast::DataType, bool)> = planned
        .columns
        .iter()
        .map(|c| (c.name.as_str(), &c.data_type, c.kind == ColumnKind::Key))
        .collect();
    if target_columns != result_columns {
        let result_text = planned
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{} {}{}",
                    c.name,
                    crate::types::sql_type_name(&c.data_type),
                    if c.kind == ColumnKind::Key {
                        " KEY"
                    } else {
                        ""
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        return user_error(format!(
            "Incompatible schema between results and sink.\nResult schema is {result_text}\nSink schema is {}",
            target.schema_text()
        ));
    }
    Ok(())
}

fn plan_insert_values(catalog: &Catalog, insert: &InsertValues) -> Result<InsertValuesPlan> {
    let target = catalog.require_source(&insert.target)?.clone();
    if target.is_source {
        return user_error(format!(
            "Cannot insert values into read-only {} `{}`.",
            kind_word(target.kind),
            target.name
        ));
    }
    let writable: Vec<&ColumnDefinition> =
        target.key_columns().chain(target.value_columns()).collect();
    let names: Vec<String> = match &insert.columns {
        Some(names) => names.clone(),
        None => writable.iter().map(|c| c.name.clone()).collect(),
    };
    if names.len() != insert.values.len() {
        return user_error(format!(
            "Expected number columns and values to match: {}, {}",
            names.len(),
            insert.values.len()
        ));
    }
    let empty = DFSchema::empty();
    let lowering = ExprLowering {
        schema: &empty,
        catalog,
        clause: "VALUES",
    };
    let mut given: BTreeMap<String, Expr> = BTreeMap::new();
    let mut timestamp = None;
    for (name, value) in names.iter().zip(&insert.values) {
        let expr = lowering.lower(value)?;
        if name == crate::catalog::ROWTIME {
            timestamp = Some(expr);
            continue;
        }
        if !writable.iter().any(|c| &c.name == name) {
            return user_error(format!("Column name {name} does not exist."));
        }
        given.insert(name.clone(), expr);
    }
    let values = writable
        .into_iter()
        .map(|column| (column.clone(), given.remove(&column.name)))
        .collect();
    Ok(InsertValuesPlan {
        target,
        values,
        timestamp,
    })
}

/// Key and value formats from `WITH` properties, session defaults and (for CSAS) the
/// source the query reads.
fn formats(
    props: &WithProperties,
    properties: &Properties,
    inherit: Option<&SourceDefinition>,
) -> Result<(FormatDefinition, FormatDefinition)> {
    let format = props.get_text("FORMAT").map(|f| f.to_uppercase());
    let key_name = props
        .get_text("KEY_FORMAT")
        .map(|f| f.to_uppercase())
        .or_else(|| format.clone())
        .or_else(|| inherit.map(|source| source.key_format.name.clone()))
        .or_else(|| {
            properties
                .get("ksql.persistence.default.format.key")
                .map(|f| f.to_uppercase())
        })
        .unwrap_or_else(|| "KAFKA".into());
    let value_name = props
        .get_text("VALUE_FORMAT")
        .map(|f| f.to_uppercase())
        .or(format)
        .or_else(|| inherit.map(|source| source.value_format.name.clone()))
        .or_else(|| properties.get("ksql.persistence.default.format.value").map(|f| f.to_uppercase()))
        .ok_or_else(|| PlanError::User(
            "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config."
                .into(),
        ))?;
    for name in [&key_name, &value_name] {
        if !crate::source_schema::is_known_format(name) {
            return user_error(format!("Unknown format: {name}"));
        }
    }
    let wrap = match props.get("WRAP_SINGLE_VALUE") {
        Some(Literal::Boolean(flag)) => Some(*flag),
        Some(Literal::String(text)) => Some(text.eq_ignore_ascii_case("true")),
        Some(_) => return user_error("WRAP_SINGLE_VALUE must be true or false"),
        // Not inherited from the source a query reads: only the statement and the session
        // decide (ksqlDB's value serde features).
        None => properties
            .get("ksql.persistence.wrap.single.values")
            .map(|text| text.eq_ignore_ascii_case("true")),
    };
    let key_delimiter =
        delimiter(props, "KEY_DELIMITER")?.or_else(|| inherit.and_then(|s| s.key_format.delimiter));
    let value_delimiter = delimiter(props, "VALUE_DELIMITER")?
        .or_else(|| inherit.and_then(|s| s.value_format.delimiter));
    Ok((
        FormatDefinition {
            name: key_name,
            wrap_single_value: None,
            delimiter: key_delimiter,
            schema: None,
        },
        FormatDefinition {
            name: value_name,
            wrap_single_value: wrap,
            delimiter: value_delimiter,
            schema: None,
        },
    ))
}

fn delimiter(props: &WithProperties, name: &str) -> Result<Option<char>> {
    let Some(text) = props.get_text(name) else {
        return Ok(None);
    };
    let delimiter = match text.to_uppercase().as_str() {
        "TAB" => '\t',
        "SPACE" => ' ',
        _ if text.chars().count() == 1 => text.chars().next().expect("one char"),
        _ => {
            return user_error(format!(
                "Invalid delimiter value: '{text}'. Delimiter must be a single character or TAB or SPACE"
            ));
        }
    };
    Ok(Some(delimiter))
}

fn timestamp_column(
    props: &WithProperties,
    columns: &[ColumnDefinition],
) -> Result<Option<TimestampColumn>> {
    let Some(name) = props.get_text("TIMESTAMP") else {
        return Ok(None);
    };
    let name = if name.starts_with('`') && name.ends_with('`') && name.len() > 1 {
        name[1..name.len() - 1].to_string()
    } else {
        name.to_uppercase()
    };
    let Some(column) = columns.iter().find(|c| c.name == name) else {
        return user_error(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"
        ));
    };
    let format = props.get_text("TIMESTAMP_FORMAT");
    match (&column.data_type, &format) {
        (parser::ast::DataType::Bigint | parser::ast::DataType::Timestamp, None)
        | (parser::ast::DataType::String, Some(_)) => {}
        (parser::ast::DataType::String, None) => {
            return user_error(
                "A String timestamp field has been specified without also specifying the TIMESTAMP_FORMAT property",
            );
        }
        _ => {
            return user_error(format!(
                "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a TIMESTAMP_FORMAT specified."
            ));
        }
    }
    Ok(Some(TimestampColumn {
        column: name,
        format,
    }))
}

fn parse_u32(props: &WithProperties, name: &str) -> Result<Option<u32>> {
    match props.get_text(name) {
        None => Ok(None),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|value| *value > 0)
            .map(Some)
            .ok_or_else(|| PlanError::User(format!("Invalid value for {name}: {text}"))),
    }
}
