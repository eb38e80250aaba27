//! Planning of statements that change the catalog or start queries.
//!
//! `plan_statement` validates a statement against the catalog and session properties and
//! returns what the server must do. Statements without planning (SHOW, SET, ...) are
//! handled by the server directly.

mod insert;
mod warnings;
mod with_properties;

use std::collections::BTreeMap;

use datafusion::logical_expr::Expr;
use parser::ast::{
    ColumnConstraint, CreateAsSelect, CreateSource, Emit, SourceKind, Statement, StatementKind,
};

use self::insert::{check_insert_schema, plan_insert_values};
use self::with_properties::{
    COMMON_PROPERTIES, CREATE_PROPERTIES, INSERT_PROPERTIES, check_with_properties, formats,
    parse_u32, source_window, timestamp_column,
};
use crate::catalog::{
    Catalog, ColumnDefinition, ColumnKind, FormatDefinition, QueryDefinition, SourceDefinition,
    TimestampColumn,
};
use crate::plan::{DataflowNode, DataflowPlan, FilterNode, ProjectNode, ROWTIME_OUTPUT, SinkPlan};
use crate::pull::PullPlan;
use crate::query::{Purpose, plan_query};
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
        /// What ksqlDB warns about the statement when it succeeds.
        warnings: Vec<String>,
    },
    /// Start a query writing into an existing source.
    InsertInto {
        query: QueryDefinition,
        plan: DataflowPlan,
    },
    /// Write one row.
    InsertValues(InsertValuesPlan),
    /// Run a push query (`EMIT CHANGES`): a transient query whose rows stream to the client
    /// until it is stopped or reaches its LIMIT.
    Select {
        plan: DataflowPlan,
        columns: Vec<ColumnDefinition>,
    },
    /// Answer a pull query (no `EMIT CHANGES`: read what is there now, then complete), the
    /// way the planner picked.
    Pull(PullPlan),
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
    let mut plan = match &statement.kind {
        StatementKind::CreateSource(create) => {
            check_with_properties(&create.properties, &[COMMON_PROPERTIES, CREATE_PROPERTIES])?;
            plan_create_source(catalog, create, statement, properties)?
        }
        StatementKind::CreateAsSelect(create) => {
            check_with_properties(&create.properties, &[COMMON_PROPERTIES])?;
            plan_create_as_select(catalog, create, statement, properties)?
        }
        StatementKind::InsertInto(insert) => {
            check_with_properties(&insert.properties, &[INSERT_PROPERTIES])?;
            let target = insert_into_target(catalog, &insert.target, statement)?.clone();
            let mut planned = plan_query(catalog, &insert.query)?;
            check_insert_schema(&planned, &target)?;
            let id = format!("INSERTQUERY_{}", catalog.next_query_number());
            let internal_topics = assign_internal_topics(&mut planned.root, &id, properties);
            let query = QueryDefinition {
                id,
                sql: statement.text.clone(),
                sink: target.name.clone(),
                sources: planned.sources.clone(),
                internal_topics,
            };
            let mut sink = sink_plan(&target)?;
            sink.null_keys_pass_through = passes_keys_on(&planned.root, &insert.query, &target);
            let plan = DataflowPlan {
                sink: Some(sink),
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
            if crate::query::is_scalable_push(catalog, query, properties) {
                skip_null_keys(&mut planned.root);
            }
            StatementPlan::Select {
                columns: planned.columns,
                plan: DataflowPlan {
                    root: planned.root,
                    sink: None,
                    limit: query.limit,
                    max_poll_records: max_poll_records(properties),
                },
            }
        }
        StatementKind::SqlQuery(text) => StatementPlan::Pull(PullPlan::Sql(Box::new(
            crate::pull::plan_sql_pull(catalog, text, properties)?,
        ))),
        _ => return Ok(None),
    };
    if throw_on_invalid_timestamp(properties)
        && let StatementPlan::CreateAsSelect { plan, .. }
        | StatementPlan::InsertInto { plan, .. }
        | StatementPlan::Select { plan, .. } = &mut plan
    {
        for source in plan.root.sources_mut() {
            source.throw_on_invalid_timestamp = true;
        }
    }
    Ok(Some(plan))
}

/// Whether a persistent query writes its source's keys unchanged into `sink` (see
/// `SinkPlan::null_keys_pass_through`).
fn passes_keys_on(
    root: &DataflowNode,
    query: &parser::ast::Query,
    sink: &SourceDefinition,
) -> bool {
    query.partition_by.is_empty()
        && sink.window.is_none()
        && root.aggregate().is_none()
        && !root.has_join()
}

/// `ksql.timestamp.throw.on.invalid`: a TIMESTAMP column that cannot be read fails the
/// query instead of skipping the record.
fn throw_on_invalid_timestamp(properties: &Properties) -> bool {
    properties
        .get("ksql.timestamp.throw.on.invalid")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

/// A scalable push query sees the rows its persistent query writes with a key: the rows
/// of the source below `node` with a null key column are left out.
fn skip_null_keys(node: &mut DataflowNode) {
    match node {
        DataflowNode::Source(source) if !source.key_fields.is_empty() => {
            let predicate = source
                .schema
                .iter()
                .take(source.key_fields.len())
                .map(|(qualifier, field)| {
                    Expr::Column(datafusion::common::Column::new(
                        qualifier.cloned(),
                        field.name(),
                    ))
                    .is_not_null()
                })
                .reduce(Expr::and)
                .expect("a source with key columns");
            *node = DataflowNode::Filter(FilterNode {
                input: Box::new(node.clone()),
                predicate,
                to_tombstone: false,
                drop_deletes: false,
            });
        }
        DataflowNode::Filter(filter) => skip_null_keys(&mut filter.input),
        DataflowNode::Project(project) => skip_null_keys(&mut project.input),
        _ => {}
    }
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

/// `CREATE OR REPLACE` neither declares a read-only source nor replaces one.
fn check_replace_of_source(
    catalog: &Catalog,
    name: &str,
    kind: SourceKind,
    or_replace: bool,
    is_source: bool,
) -> Result<()> {
    let replaces_source = catalog
        .source(name)
        .is_some_and(|existing| existing.is_source);
    if or_replace && (is_source || replaces_source) {
        let word = kind_word(kind);
        return user_error(format!(
            "Cannot add {word} '{name}': CREATE OR REPLACE is not supported on source {word}s."
        ));
    }
    Ok(())
}

/// The source `DROP STREAM|TABLE` removes (`None`: it does not exist and `IF EXISTS` was
/// given), after ksqlDB's checks: it exists, and a read-only source keeps its topic.
pub fn drop_target<'a>(
    catalog: &'a Catalog,
    drop: &parser::ast::DropSource,
) -> Result<Option<&'a SourceDefinition>> {
    let Some(source) = catalog.source(&drop.name) else {
        if drop.if_exists {
            return Ok(None);
        }
        let word = match drop.kind {
            SourceKind::Stream => "Stream",
            SourceKind::Table => "Table",
        };
        return user_error(format!("{word} {} does not exist.", drop.name));
    };
    if source.kind != drop.kind {
        return user_error(format!(
            "Incompatible data source type is {}, but statement was DROP {}",
            source.kind, drop.kind
        ));
    }
    if source.is_source && drop.delete_topic {
        return user_error(format!(
            "Cannot delete topic for read-only source: {}",
            source.name
        ));
    }
    Ok(Some(source))
}

/// `ALTER STREAM|TABLE`: refused on read-only sources, with ksqlDB's message.
pub fn check_alter_target(catalog: &Catalog, alter: &parser::ast::AlterSource) -> Result<()> {
    if let Some(source) = catalog.source(&alter.name)
        && source.is_source
    {
        let word = kind_word(alter.kind);
        return user_error(format!(
            "Cannot alter {word} '{}': ALTER operations are not supported on source {word}s.",
            alter.name
        ));
    }
    Ok(())
}

/// The source `INSERT INTO ... SELECT` writes: an existing stream that is not read-only.
fn insert_into_target<'a>(
    catalog: &'a Catalog,
    name: &str,
    statement: &Statement,
) -> Result<&'a SourceDefinition> {
    let Some(target) = catalog.source(name) else {
        let (line, column) = target_position(statement);
        return user_error(format!(
            "Line: {line}, Col: {column}: Source {} does not exist.",
            crate::catalog::quote_source_name(name)
        ));
    };
    if target.is_source {
        return user_error(format!(
            "Cannot insert into read-only {}: {}",
            kind_word(target.kind),
            target.name
        ));
    }
    if target.kind == SourceKind::Table {
        return user_error(format!(
            "INSERT INTO can only be used to insert into a stream. {} is a table.",
            target.name
        ));
    }
    Ok(target)
}

/// Where the target name of `INSERT INTO <target>` starts in the parsed input (1-based line
/// and column), for messages that point at it; the statement's start if it is not found.
fn target_position(statement: &Statement) -> (u64, u64) {
    let text = &statement.text;
    let upper = text.to_ascii_uppercase();
    let Some(into) = upper.find("INTO") else {
        return (statement.line, statement.column);
    };
    let after = into + "INTO".len();
    let offset = after + (text[after..].len() - text[after..].trim_start().len());
    let before = &text[..offset];
    let newlines = before.matches('\n').count() as u64;
    match before.rfind('\n') {
        Some(last) => (statement.line + newlines, (offset - last) as u64),
        None => (statement.line, statement.column + offset as u64),
    }
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
    check_replace_of_source(
        catalog,
        &create.name,
        create.kind,
        create.or_replace,
        create.is_source,
    )?;
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
        check_header_type(&kind, &data_type)?;
        if kind == ColumnKind::Key && crate::types::contains_map(&data_type) {
            return Err(crate::types::map_key_error(&element.name, &data_type));
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
    crate::format_rules::check_formats(
        &columns,
        &key_format,
        &value_format,
        props.get("WRAP_SINGLE_VALUE").is_some(),
    )?;
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
    check_replace_of_source(catalog, &create.name, create.kind, create.or_replace, false)?;
    if create.query.limit.is_some() {
        return user_error(format!(
            "CREATE {} AS SELECT statements don't support LIMIT clause.",
            kind_word(create.kind).to_uppercase()
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
    if let Some(missing) = &planned.missing_join_key {
        return user_error(missing.message(&create.name));
    }
    if let Some(expression) = &planned.missing_partition_key {
        return user_error(format!(
            "The query used to build `{}` must include the partitioning expression {expression} in its projection (eg, SELECT {expression}...).",
            create.name
        ));
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
            // Keys made from a keyless source take the default key format.
            FormatDefinition {
                name: properties
                    .get("ksql.persistence.default.format.key")
                    .map_or_else(|| "KAFKA".into(), |name| name.to_uppercase()),
                ..key_format
            }
        } else {
            key_format
        }
    } else {
        if let Some(name) = props.get_text("KEY_FORMAT")
            && !matches!(name.to_uppercase().as_str(), "KAFKA" | "NONE")
        {
            return user_error("Key format specified for stream without key columns.");
        }
        FormatDefinition {
            name: "NONE".into(),
            ..key_format
        }
    };
    // Without KAFKA_TOPIC the sink topic is the sink's name, after the session's
    // `ksql.output.topic.name.prefix`.
    let topic = props.get_text("KAFKA_TOPIC").unwrap_or_else(|| {
        let prefix = properties
            .get("ksql.output.topic.name.prefix")
            .map_or("", String::as_str);
        format!("{prefix}{}", create.name)
    });
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
    crate::format_rules::check_formats(
        &planned.columns,
        &key_format,
        &value_format,
        props.get("WRAP_SINGLE_VALUE").is_some(),
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
    let id = format!("{prefix}_{}_{}", create.name, catalog.next_query_number());
    let mut root = planned.root;
    let internal_topics = assign_internal_topics(&mut root, &id, properties);
    let query = QueryDefinition {
        id,
        sql: statement.text.clone(),
        sink: create.name.clone(),
        sources: planned.sources.clone(),
        internal_topics,
    };
    if let (Some(timestamp), DataflowNode::Project(project)) = (&sink.timestamp, &mut root) {
        use_timestamp_column(project, timestamp)?;
    }
    let mut sink_plan = sink_plan(&sink)?;
    sink_plan.skip_absent_deletes = root.aggregate().is_some();
    sink_plan.null_keys_pass_through = passes_keys_on(&root, &create.query, &sink);
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
        warnings: warnings::create_as_select_warnings(catalog, &create.query),
    })
}

/// ksqlDB's types of header columns: `HEADER('key')` is BYTES, `HEADERS` an
/// `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
fn check_header_type(kind: &ColumnKind, data_type: &parser::ast::DataType) -> Result<()> {
    let (column, expected) = match kind {
        ColumnKind::Header(key) => (format!("HEADER('{key}')"), parser::ast::DataType::Bytes),
        ColumnKind::Headers => (
            "HEADERS".to_string(),
            parser::ast::DataType::Array(Box::new(parser::ast::DataType::Struct(vec![
                ("KEY".into(), parser::ast::DataType::String),
                ("VALUE".into(), parser::ast::DataType::Bytes),
            ]))),
        ),
        ColumnKind::Key | ColumnKind::Value => return Ok(()),
    };
    if crate::types::sql_type_name(data_type).to_uppercase()
        == crate::types::sql_type_name(&expected)
    {
        return Ok(());
    }
    user_error(format!(
        "Invalid type for {column} column: expected {}, got {}",
        crate::types::sql_type_name(&expected),
        crate::types::sql_type_name(data_type)
    ))
}

/// Makes the output record timestamp (`$rowtime`) the value of the TIMESTAMP output column,
/// read with its TIMESTAMP_FORMAT when it is a STRING (as `STRINGTOTIMESTAMP` reads it); a
/// tombstone keeps its record time. The sink leaves out other records whose timestamp is
/// then null or negative.
fn use_timestamp_column(project: &mut ProjectNode, timestamp: &TimestampColumn) -> Result<()> {
    let column = timestamp.column.as_str();
    let source = project.exprs.iter().find_map(|expr| match expr {
        Expr::Alias(alias) if alias.name == column => Some(alias.expr.as_ref().clone()),
        Expr::Column(named) if named.name == column => Some(expr.clone()),
        _ => None,
    });
    let op = project.exprs.iter().find_map(|expr| match expr {
        Expr::Alias(alias) if alias.name == crate::catalog::OP_COLUMN => {
            Some(alias.expr.as_ref().clone())
        }
        _ => None,
    });
    let rowtime = project
        .exprs
        .iter_mut()
        .find(|expr| matches!(expr, Expr::Alias(alias) if alias.name == ROWTIME_OUTPUT));
    let (Some(source), Some(rowtime)) = (source, rowtime) else {
        return Ok(());
    };
    let Expr::Alias(record_time) = rowtime.clone() else {
        return Ok(());
    };
    let millis = match &timestamp.format {
        Some(format) => crate::functions::scalar_function("STRINGTOTIMESTAMP")
            .ok_or_else(|| PlanError::Internal("STRINGTOTIMESTAMP is not registered".into()))?
            .call(vec![source, datafusion::logical_expr::lit(format.as_str())]),
        None => Expr::Cast(datafusion::logical_expr::Cast::new(
            Box::new(source),
            arrow::datatypes::DataType::Int64,
        )),
    };
    // A tombstone (null value) has no column to read: it keeps its record time.
    let millis = match op {
        Some(op) => datafusion::logical_expr::when(
            op.eq(datafusion::logical_expr::lit(crate::catalog::OP_DELETE)),
            *record_time.expr,
        )
        .otherwise(millis)?,
        None => millis,
    };
    *rowtime = millis.alias(ROWTIME_OUTPUT);
    Ok(())
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
        skip_invalid_timestamps: target.timestamp.is_some(),
        null_keys_pass_through: false,
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

/// Names the internal (repartition) topics of persistent query `id` after the service id
/// (`ksql.service.id`, default `default_`), as ksqlDB does; returns them.
fn assign_internal_topics(
    root: &mut DataflowNode,
    id: &str,
    properties: &Properties,
) -> Vec<String> {
    let service_id = properties
        .get("ksql.service.id")
        .map_or("default_", |id| id.trim());
    root.assign_internal_topics(&crate::plan::internal_topic_prefix(service_id, id));
    root.repartitions()
        .into_iter()
        .map(|repartition| repartition.topic.clone())
        .collect()
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
        DataflowNode::TableFunction(node) => set_emit_per_record(&mut node.input, properties),
        DataflowNode::Join(join) => {
            set_emit_per_record(&mut join.left, properties);
            set_emit_per_record(&mut join.right, properties);
        }
        DataflowNode::Repartition(repartition) => {
            set_emit_per_record(&mut repartition.input, properties)
        }
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

#[cfg(test)]
mod tests;
