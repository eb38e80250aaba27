//! Statement results as the REPL prints them: messages, tables (SHOW/LIST) and descriptions
//! (DESCRIBE, EXPLAIN). One renderer for the embedded engine and for `--server` mode, which
//! reads the server's entities back into the same results.

use std::fmt::Write as _;

use parser::ast::{DataType, SourceKind};
use planner::catalog::ColumnKind;
use server::StatementResult;
use server::result::{
    Field, FunctionDescription, QueryDescription, QueryStatus, SourceDescription,
};

/// The text printed for `result`: empty, or lines that each end with a newline.
pub fn render_result(result: &StatementResult) -> String {
    let line = |text: String| format!("{text}\n");
    match result {
        StatementResult::Status(message) if message.is_empty() => String::new(),
        StatementResult::Status(message) => line(message.clone()),
        StatementResult::QueryCreated { query_id, warnings } => {
            let mut text = line(StatementResult::query_created_message(query_id));
            for warning in warnings {
                text.push_str(&line(format!("WARNING: {warning}")));
            }
            text
        }
        // ksqlDB's CLI prints a warning entity's message as it prints a status.
        StatementResult::Warning(message) => line(message.clone()),
        StatementResult::RowInserted => String::new(),
        StatementResult::PropertySet { name, value } => line(format!(
            "Successfully changed local property '{name}' to '{value}'."
        )),
        StatementResult::PropertyUnset { name } => {
            line(format!("Successfully unset local property '{name}'."))
        }
        StatementResult::VariableDefined { name } => line(format!("Defined variable {name}")),
        StatementResult::VariableUndefined { name } => line(format!("Undefined variable {name}")),
        StatementResult::Sources { kind, sources } => {
            let first = match kind {
                SourceKind::Stream => "Stream Name",
                SourceKind::Table => "Table Name",
            };
            let rows = sources.iter().map(|source| {
                vec![
                    source.name.clone(),
                    source.topic.clone(),
                    source.key_format.clone(),
                    source.value_format.clone(),
                    source.windowed.to_string(),
                ]
            });
            table(
                &[
                    first,
                    "Kafka Topic",
                    "Key Format",
                    "Value Format",
                    "Windowed",
                ],
                rows,
            )
        }
        StatementResult::SourceDescription(source) => describe_source(source),
        StatementResult::SourceDescriptions(sources) => sources
            .iter()
            .map(|source| describe_source(source) + "\n")
            .collect(),
        StatementResult::Queries(queries) => table(
            &[
                "Query ID",
                "Query Type",
                "Status",
                "Sink Name",
                "Sink Kafka Topic",
                "Query String",
            ],
            queries.iter().map(|query| {
                vec![
                    query.id.clone(),
                    query.kind.name().to_string(),
                    status_text(&query.status),
                    query.sinks.join(","),
                    query.sink_topics.join(","),
                    query.sql.clone(),
                ]
            }),
        ),
        StatementResult::QueryDescriptions(queries) => queries
            .iter()
            .map(|query| describe_query(query) + "\n")
            .collect(),
        StatementResult::QueryDescription(query) => describe_query(query),
        StatementResult::Topics { topics, .. } => table(
            &["Kafka Topic", "Partitions", "Partition Replicas"],
            topics.iter().map(|topic| {
                vec![
                    topic.name.clone(),
                    topic.partitions.to_string(),
                    topic.replicas.to_string(),
                ]
            }),
        ),
        StatementResult::Properties { properties, .. } => table(
            &["Property", "Scope", "Value"],
            properties.iter().map(|property| {
                vec![
                    property.name.clone(),
                    property.scope.clone(),
                    property.value.clone(),
                ]
            }),
        ),
        StatementResult::Functions(functions) => table(
            &["Function Name", "Category"],
            functions.iter().map(|function| {
                let category = if function.category.is_empty() {
                    &function.kind
                } else {
                    &function.category
                };
                vec![function.name.clone(), category.clone()]
            }),
        ),
        StatementResult::FunctionDescription(function) => describe_function(function),
        StatementResult::Types(types) => table(
            &["Type Name", "Schema"],
            types
                .iter()
                .map(|(name, data_type)| vec![name.clone(), type_text(data_type)]),
        ),
        StatementResult::Variables(variables) => table(
            &["Variable Name", "Value"],
            variables
                .iter()
                .map(|(name, value)| vec![name.clone(), value.clone()]),
        ),
    }
}

/// A table with a header, its cells padded to the widest of each column.
fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows.collect();
    let mut widths: Vec<usize> = header.iter().map(|name| name.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let rule = widths
        .iter()
        .map(|width| "-".repeat(width + 2))
        .collect::<Vec<_>>()
        .join("-");
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        cells
            .zip(&widths)
            .map(|(cell, width)| format!(" {cell:<width$} "))
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(&mut header.iter().copied()));
    let _ = writeln!(out, "{rule}");
    for row in &rows {
        let _ = writeln!(out, "{}", line(&mut row.iter().map(String::as_str)));
    }
    let _ = writeln!(out, "{rule}");
    out
}

/// `RUNNING`, `ERROR: reason`, ...
fn status_text(status: &QueryStatus) -> String {
    match status {
        QueryStatus::Error(Some(reason)) => format!("ERROR: {reason}"),
        other => other.name().to_string(),
    }
}

/// A type as ksqlDB's CLI shows it: strings as `VARCHAR(STRING)` at any depth, maps by
/// their value type (`MAP<STRING, BIGINT>`), struct fields quoted.
fn type_text(data_type: &DataType) -> String {
    match data_type {
        DataType::String => "VARCHAR(STRING)".into(),
        DataType::Array(element) => format!("ARRAY<{}>", type_text(element)),
        DataType::Map(_, value) => format!("MAP<STRING, {}>", type_text(value)),
        DataType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(name, field_type)| format!("`{name}` {}", type_text(field_type)))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        other => planner::types::sql_type_name(other),
    }
}

/// `DESCRIBE [EXTENDED]`: the source's fields; EXTENDED adds its formats, topic, queries and
/// runtime statistics.
fn describe_source(source: &SourceDescription) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<21}: {}", "Name", source.name);
    if source.extended {
        let topic = format!(
            "{} (partitions: {}, replication: {})",
            source.topic, source.partitions, source.replicas
        );
        let timestamp = source
            .timestamp
            .clone()
            .unwrap_or_else(|| "Not set - using <ROWTIME>".into());
        for (label, value) in [
            ("Type", source.kind.to_string()),
            ("Timestamp field", timestamp),
            ("Key format", source.key_format.clone()),
            ("Value format", source.value_format.clone()),
            ("Kafka topic", topic),
            ("Statement", source.statement.clone()),
        ] {
            let _ = writeln!(out, "{label:<21}: {value}");
        }
    }
    let width = source
        .fields
        .iter()
        .map(|field| field.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let rule = "-".repeat(width + 30);
    let _ = writeln!(out, " {:<width$} | Type\n{rule}", "Field");
    for field in &source.fields {
        let _ = writeln!(
            out,
            " {:<width$} | {}",
            field.name,
            field_type_text(field, source.kind)
        );
    }
    let _ = writeln!(out, "{rule}");
    if source.extended {
        for (title, queries) in [
            ("read from", &source.read_queries),
            ("write from", &source.write_queries),
        ] {
            let lines: Vec<String> = queries
                .iter()
                .map(|query| {
                    format!(
                        "{} ({}) : {}",
                        query.id,
                        status_text(&query.status),
                        query.sql
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "\nQueries that {title} this {}\n-----------------------------------\n{}",
                source.kind,
                lines.join("\n")
            );
        }
        let _ = writeln!(
            out,
            "\nLocal runtime statistics\n------------------------\n{}",
            source.statistics_line()
        );
        if !source.error_statistics.is_empty() {
            let _ = writeln!(out, "{}", source.error_statistics);
        }
        if let Some(failure) = &source.last_failure {
            let _ = writeln!(out, "last-failure: {failure}");
        }
    }
    out
}

/// A field's type, marked `(key)`, `(primary key)` or `(header('name'))`.
fn field_type_text(field: &Field, kind: SourceKind) -> String {
    let suffix = match (&field.kind, kind) {
        (ColumnKind::Key, SourceKind::Stream) => "  (key)".to_string(),
        (ColumnKind::Key, SourceKind::Table) => "  (primary key)".to_string(),
        (ColumnKind::Value, _) => String::new(),
        (ColumnKind::Headers, _) => "  (headers)".to_string(),
        (ColumnKind::Header(key), _) => format!("  (header('{key}'))"),
    };
    format!("{}{suffix}", type_text(&field.data_type))
}

/// EXPLAIN: the query's id, SQL, state, sources, sinks, fields and execution plan.
fn describe_query(query: &QueryDescription) -> String {
    let mut out = String::new();
    let fields: Vec<String> = query
        .fields
        .iter()
        .map(|field| format!("{} {}", field.name, type_text(&field.data_type)))
        .collect();
    let mut lines = vec![
        ("ID", query.id.clone()),
        ("Query Type", query.kind.name().to_string()),
        ("SQL", query.sql.clone()),
    ];
    if let Some(status) = &query.status {
        lines.push(("Status", status_text(status)));
    }
    lines.extend([
        ("Sources", query.sources.join(",")),
        ("Sinks", query.sinks.join(",")),
        ("Fields", fields.join(", ")),
    ]);
    for (label, value) in lines {
        let _ = writeln!(out, "{label:<21}: {value}");
    }
    for (title, plan) in [
        ("Execution plan", &query.execution_plan),
        ("Processing topology", &query.topology),
    ] {
        if !plan.is_empty() {
            let rule = "-".repeat(title.len());
            let _ = writeln!(out, "\n{title}\n{rule}\n{}", plan.trim_end());
        }
    }
    out
}

/// DESCRIBE FUNCTION: the function, then each variation with its arguments.
fn describe_function(function: &FunctionDescription) -> String {
    let mut out = String::new();
    for (label, value) in [
        ("Name", &function.name),
        ("Author", &function.author),
        ("Version", &function.version),
        ("Overview", &function.description),
        ("Type", &function.kind),
    ] {
        if !value.is_empty() {
            let _ = writeln!(out, "{label:<12}: {value}");
        }
    }
    for variation in &function.variations {
        let arguments: Vec<String> = variation
            .arguments
            .iter()
            .map(|argument| {
                if argument.name.is_empty() {
                    argument.type_name.clone()
                } else {
                    format!("{} {}", argument.name, argument.type_name)
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "\n\tVariation   : {}({})\n\tReturns     : {}\n\tDescription : {}",
            function.name,
            arguments.join(", "),
            variation.return_type,
            variation.description
        );
    }
    out
}

#[cfg(test)]
mod tests;
