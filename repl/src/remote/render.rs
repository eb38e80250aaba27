//! ksqlDB REST JSON → what the embedded REPL prints: `/ksql` entities become messages,
//! tables (SHOW/LIST) and text (DESCRIBE, EXPLAIN); error bodies become their message.
//!
//! Printing itself is `crate::output`'s; streamed query rows are printed by `remote`.

use std::fmt::Write as _;

use serde_json::Value;
use server::StatementOutput;

/// What the embedded REPL would print for one `/ksql` entity.
pub fn entity_output(entity: &Value) -> StatementOutput {
    let kind = entity.get("@type").and_then(Value::as_str).unwrap_or("");
    let list = |field: &str| -> &[Value] {
        entity
            .get(field)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    };
    match kind {
        "currentStatus" => StatementOutput::Message(text(
            entity
                .pointer("/commandStatus/message")
                .unwrap_or(&Value::Null),
        )),
        "streams" | "tables" => {
            let first = if kind == "streams" {
                "Stream Name"
            } else {
                "Table Name"
            };
            let header = [
                first,
                "Kafka Topic",
                "Key Format",
                "Value Format",
                "Windowed",
            ];
            let fields = ["name", "topic", "keyFormat", "valueFormat", "isWindowed"];
            table(&header, list(kind), |source| cells(source, &fields))
        }
        "queries" => table(
            &[
                "Query ID",
                "Query Type",
                "Status",
                "Sink Name",
                "Sink Kafka Topic",
                "Query String",
            ],
            list("queries"),
            |query| {
                vec![
                    text(&query["id"]),
                    text(&query["queryType"]),
                    query_status(query),
                    joined(&query["sinks"]),
                    joined(&query["sinkKafkaTopics"]),
                    text(&query["queryString"]),
                ]
            },
        ),
        "kafka_topics" => table(
            &["Kafka Topic", "Partitions", "Partition Replicas"],
            list("topics"),
            |topic| {
                let replicas = topic["replicaInfo"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice);
                vec![
                    text(&topic["name"]),
                    replicas.len().to_string(),
                    replicas.first().map(text).unwrap_or_default(),
                ]
            },
        ),
        "properties" => table(
            &["Property", "Scope", "Value"],
            list("properties"),
            |property| cells(property, &["name", "scope", "value"]),
        ),
        "function_names" => table(&["Function Name", "Category"], list("functions"), |f| {
            let category = text(&f["category"]);
            let category = if category.is_empty() {
                text(&f["type"])
            } else {
                category
            };
            vec![text(&f["name"]), category]
        }),
        "variables" => table(&["Variable Name", "Value"], list("variables"), |variable| {
            cells(variable, &["name", "value"])
        }),
        "type_list" => {
            let types: Vec<Value> = entity["types"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, schema)| serde_json::json!([name, type_name(schema)]))
                .collect();
            table(&["Type Name", "Schema"], &types, |row| {
                vec![text(&row[0]), text(&row[1])]
            })
        }
        "sourceDescription" => StatementOutput::Text(describe_source(&entity["sourceDescription"])),
        "source_descriptions" => StatementOutput::Text(
            list("sourceDescriptions")
                .iter()
                .map(|source| describe_source(source) + "\n")
                .collect(),
        ),
        "queryDescription" => StatementOutput::Text(describe_query(&entity["queryDescription"])),
        "describe_function" => StatementOutput::Text(describe_function(entity)),
        _ => match entity.get("message") {
            Some(message) => StatementOutput::Message(text(message)),
            None => StatementOutput::Text(format!(
                "{}\n",
                serde_json::to_string_pretty(entity).unwrap_or_default()
            )),
        },
    }
}

/// The warnings an entity carries, one line each.
pub fn entity_warnings(entity: &Value) -> Vec<String> {
    entity["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|warning| format!("WARNING: {}", text(&warning["message"])))
        .collect()
}

/// The message of a ksqlDB error body (`{"@type":..,"error_code":..,"message":..}`), or the
/// body itself when it is not one.
pub fn error_message(status: u16, body: &Value) -> String {
    match body.get("message").and_then(Value::as_str) {
        Some(message) => message.to_string(),
        None if body.is_null() => format!("the server answered HTTP {status}"),
        None => format!("the server answered HTTP {status}: {body}"),
    }
}

/// One cell of a query row: strings bare, everything else as JSON (`null` for null).
pub fn cell(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A JSON value as text: strings bare, null empty.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => cell(other),
    }
}

/// An array of names joined by `,`.
fn joined(value: &Value) -> String {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect::<Vec<_>>()
        .join(",")
}

fn cells(object: &Value, fields: &[&str]) -> Vec<String> {
    fields.iter().map(|field| text(&object[field])).collect()
}

fn table(header: &[&str], items: &[Value], row: impl Fn(&Value) -> Vec<String>) -> StatementOutput {
    StatementOutput::Table {
        header: header.iter().map(|name| name.to_string()).collect(),
        rows: items.iter().map(row).collect(),
    }
}

/// `RUNNING`, or ksqlDB's per-host `statusCount` (`RUNNING:1`) when there is no `state`.
fn query_status(query: &Value) -> String {
    if let Some(state) = query["state"].as_str() {
        return state.to_string();
    }
    query["statusCount"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(state, count)| format!("{state}:{count}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A ksqlDB field schema (`{"type":"ARRAY","memberSchema":{..}}`) as SQL type text.
fn type_name(schema: &Value) -> String {
    let kind = schema["type"].as_str().unwrap_or("");
    match kind {
        "STRING" => "VARCHAR(STRING)".to_string(),
        "ARRAY" => format!("ARRAY<{}>", type_name(&schema["memberSchema"])),
        "MAP" => format!("MAP<STRING, {}>", type_name(&schema["memberSchema"])),
        "STRUCT" => {
            let fields: Vec<String> = schema["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|field| format!("`{}` {}", text(&field["name"]), type_name(&field["schema"])))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        "DECIMAL" => format!(
            "DECIMAL({}, {})",
            text(&schema["parameters"]["precision"]),
            text(&schema["parameters"]["scale"])
        ),
        other => other.to_string(),
    }
}

/// DESCRIBE text in the layout of the embedded REPL.
fn describe_source(source: &Value) -> String {
    let mut out = String::new();
    let line = |out: &mut String, label: &str, value: String| {
        let _ = writeln!(out, "{label:<21}: {value}");
    };
    let extended = source["extended"].as_bool().unwrap_or(false);
    let kind = text(&source["type"]);
    line(&mut out, "Name", text(&source["name"]));
    if extended {
        line(&mut out, "Type", kind.clone());
        let timestamp = text(&source["timestamp"]);
        line(
            &mut out,
            "Timestamp field",
            if timestamp.is_empty() {
                "Not set - using <ROWTIME>".to_string()
            } else {
                timestamp
            },
        );
        line(&mut out, "Key format", text(&source["keyFormat"]));
        line(&mut out, "Value format", text(&source["valueFormat"]));
        line(
            &mut out,
            "Kafka topic",
            format!(
                "{} (partitions: {}, replication: {})",
                text(&source["topic"]),
                text(&source["partitions"]),
                text(&source["replication"])
            ),
        );
        line(&mut out, "Statement", text(&source["statement"]));
    }
    let fields: Vec<(String, String)> = source["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|field| {
            // ksqlDB's `FieldInfo` is read back as `fieldType`; accept `type` too.
            let field_type = field["fieldType"].as_str().or(field["type"].as_str());
            let suffix = match (field_type, kind.as_str()) {
                (Some("SYSTEM"), _) => "           (system)".to_string(),
                (Some("KEY"), "TABLE") => "  (primary key)".to_string(),
                (Some("KEY"), _) => "  (key)".to_string(),
                (Some("HEADER"), _) => match field["headerKey"].as_str() {
                    Some(key) => format!("  (header('{key}'))"),
                    None => "  (headers)".to_string(),
                },
                _ => String::new(),
            };
            (
                text(&field["name"]),
                format!("{}{suffix}", type_name(&field["schema"])),
            )
        })
        .collect();
    let width = fields
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let rule = "-".repeat(width + 30);
    let _ = writeln!(out, " {:<width$} | Type\n{rule}", "Field");
    for (name, type_text) in fields {
        let _ = writeln!(out, " {name:<width$} | {type_text}");
    }
    let _ = writeln!(out, "{rule}");
    if extended {
        for (title, field) in [("read from", "readQueries"), ("write from", "writeQueries")] {
            let queries: Vec<String> = source[field]
                .as_array()
                .into_iter()
                .flatten()
                .map(|query| {
                    format!(
                        "{} ({}) : {}",
                        text(&query["id"]),
                        query_status(query),
                        text(&query["queryString"])
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "\nQueries that {title} this {kind}\n-----------------------------------\n{}",
                queries.join("\n")
            );
        }
        let statistics = text(&source["statistics"]);
        let errors = text(&source["errorStats"]);
        let _ = writeln!(
            out,
            "\nLocal runtime statistics\n------------------------\n{statistics}   {errors}"
        );
    }
    out
}

/// EXPLAIN text: the query's id, SQL, fields, sources, sinks and execution plan.
fn describe_query(query: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<21}: {}", "ID", text(&query["id"]));
    let _ = writeln!(out, "{:<21}: {}", "Query Type", text(&query["queryType"]));
    let _ = writeln!(out, "{:<21}: {}", "SQL", text(&query["statementText"]));
    let _ = writeln!(out, "{:<21}: {}", "Sources", joined(&query["sources"]));
    let _ = writeln!(out, "{:<21}: {}", "Sinks", joined(&query["sinks"]));
    let fields: Vec<String> = query["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|field| format!("{} {}", text(&field["name"]), type_name(&field["schema"])))
        .collect();
    let _ = writeln!(out, "{:<21}: {}", "Fields", fields.join(", "));
    for (title, field) in [
        ("Execution plan", "executionPlan"),
        ("Processing topology", "topology"),
    ] {
        let plan = text(&query[field]);
        if !plan.is_empty() {
            let rule = "-".repeat(title.len());
            let _ = writeln!(out, "\n{title}\n{rule}\n{}", plan.trim_end());
        }
    }
    out
}

/// DESCRIBE FUNCTION text.
fn describe_function(function: &Value) -> String {
    let mut out = String::new();
    for (label, field) in [
        ("Name", "name"),
        ("Author", "author"),
        ("Version", "version"),
        ("Overview", "description"),
        ("Type", "type"),
    ] {
        let value = text(&function[field]);
        if !value.is_empty() {
            let _ = writeln!(out, "{label:<12}: {value}");
        }
    }
    for variation in function["functions"].as_array().into_iter().flatten() {
        let arguments: Vec<String> = variation["arguments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|argument| {
                let name = text(&argument["name"]);
                let kind = text(&argument["type"]);
                if name.is_empty() {
                    kind
                } else {
                    format!("{name} {kind}")
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "\n\tVariation   : {}({})\n\tReturns     : {}\n\tDescription : {}",
            text(&function["name"]),
            arguments.join(", "),
            text(&variation["returnType"]),
            text(&variation["description"])
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rendered(output: StatementOutput) -> String {
        match output {
            StatementOutput::Message(text) | StatementOutput::Text(text) => text,
            StatementOutput::Table { header, rows } => {
                let mut lines = vec![header.join("|")];
                lines.extend(rows.iter().map(|row| row.join("|")));
                lines.join("\n")
            }
            StatementOutput::Rows(_) | StatementOutput::Lines(_) => "stream".to_string(),
        }
    }

    #[test]
    fn entities_render_like_the_embedded_repl() {
        let cases = [
            (
                json!({"@type":"currentStatus","commandStatus":{"status":"SUCCESS","message":"Stream created"}}),
                "Stream created",
            ),
            (
                json!({"@type":"streams","streams":[{"type":"STREAM","name":"S","topic":"s","keyFormat":"KAFKA","valueFormat":"JSON","isWindowed":false}]}),
                "Stream Name|Kafka Topic|Key Format|Value Format|Windowed\nS|s|KAFKA|JSON|false",
            ),
            (
                json!({"@type":"queries","queries":[{"id":"CSAS_T_0","queryType":"PERSISTENT","statusCount":{"RUNNING":1},"sinks":["T"],"sinkKafkaTopics":["T"],"queryString":"CREATE STREAM T AS SELECT * FROM S;"}]}),
                "Query ID|Query Type|Status|Sink Name|Sink Kafka Topic|Query String\nCSAS_T_0|PERSISTENT|RUNNING:1|T|T|CREATE STREAM T AS SELECT * FROM S;",
            ),
            (
                json!({"@type":"kafka_topics","topics":[{"name":"s","replicaInfo":[1,1]}]}),
                "Kafka Topic|Partitions|Partition Replicas\ns|2|1",
            ),
            (
                json!({"@type":"type_list","types":{"POINT":{"type":"STRUCT","fields":[{"name":"X","schema":{"type":"INTEGER"}}]}}}),
                "Type Name|Schema\nPOINT|STRUCT<`X` INTEGER>",
            ),
            (
                json!({"@type":"sourceDescription","sourceDescription":{"name":"S","type":"TABLE","extended":false,"fields":[
                    {"name":"ID","schema":{"type":"STRING"},"fieldType":"KEY"},
                    {"name":"TAGS","schema":{"type":"ARRAY","memberSchema":{"type":"BIGINT"}}}]}}),
                "Name                 : S\n Field | Type\n-----------------------------------\n ID    | VARCHAR(STRING)  (primary key)\n TAGS  | ARRAY<BIGINT>\n-----------------------------------\n",
            ),
            (
                json!({"@type":"warning_entity","message":"careful"}),
                "careful",
            ),
        ];
        for (entity, expected) in cases {
            assert_eq!(rendered(entity_output(&entity)), expected, "{entity}");
        }
    }

    #[test]
    fn error_bodies_give_their_message() {
        let cases = [
            (
                400,
                json!({"@type":"statement_error","error_code":40001,"message":"line 1:8: bad"}),
                "line 1:8: bad",
            ),
            (502, Value::Null, "the server answered HTTP 502"),
            (500, json!(["x"]), "the server answered HTTP 500: [\"x\"]"),
        ];
        for (status, body, expected) in cases {
            assert_eq!(error_message(status, &body), expected);
        }
    }

    #[test]
    fn cells_show_strings_bare_and_the_rest_as_json() {
        let cases = [
            (json!("a"), "a"),
            (json!(null), "null"),
            (json!(1.5), "1.5"),
            (json!({"A":1}), "{\"A\":1}"),
        ];
        for (value, expected) in cases {
            assert_eq!(cell(&value), expected);
        }
    }
}
