//! Statement results as the REPL prints them: messages, tables (SHOW/LIST) and descriptions
//! (DESCRIBE, EXPLAIN). One renderer for the embedded engine and for `--server` mode, which
//! reads the server's entities back into the same results.

use std::fmt::Write as _;

use parser::ast::{DataType, SourceKind};
use planner::catalog::ColumnKind;
use server::StatementResult;

use super::table::{fit_widths, pad, wrap};
use server::result::{
    Field, FunctionDescription, QueryDescription, QueryStatus, SourceDescription,
};

/// The text printed for `result`: empty, or lines that each end with a newline.
pub fn render_result(result: &StatementResult) -> String {
    render_result_within(result, None)
}

/// `render_result` with tables narrowed to `max_width` characters if given, their cell text
/// wrapped within its column.
pub fn render_result_within(result: &StatementResult, max_width: Option<usize>) -> String {
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
                max_width,
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
            max_width,
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
            max_width,
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
            max_width,
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
            max_width,
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
            max_width,
            &["Type Name", "Schema"],
            types
                .iter()
                .map(|(name, data_type)| vec![name.clone(), type_text(data_type)]),
        ),
        StatementResult::Variables(variables) => table(
            max_width,
            &["Variable Name", "Value"],
            variables
                .iter()
                .map(|(name, value)| vec![name.clone(), value.clone()]),
        ),
    }
}

/// A table with a header, its cells padded to the widest of each column; narrowed to
/// `max_width` if given, cells wrapping within their column.
fn table(
    max_width: Option<usize>,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> String {
    let rows: Vec<Vec<String>> = rows.collect();
    // ` cell ` per column, `|` between columns.
    let overhead = header.len() * 3 - 1;
    let widths = fit_widths(header, &rows, overhead, max_width);
    let rule = "-".repeat(widths.iter().sum::<usize>() + overhead);
    let line = |cells: Vec<String>| {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| match max_width {
                Some(_) => wrap(cell, *width),
                None => vec![cell.clone()],
            })
            .collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        (0..height)
            .map(|index| {
                wrapped
                    .iter()
                    .zip(&widths)
                    .map(|(lines, width)| {
                        let text = lines.get(index).map_or("", String::as_str);
                        format!(" {} ", pad(text, *width))
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        line(header.iter().map(|name| name.to_string()).collect())
    );
    let _ = writeln!(out, "{rule}");
    for row in rows {
        let _ = writeln!(out, "{}", line(row));
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
            .map(server::result::FunctionArgument::signature)
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
