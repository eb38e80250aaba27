//! The parts of ksqlDB REST JSON that are not statement results: entity warnings, error
//! bodies and query row cells, as text.
//!
//! Entities are read back into results by `server::http::read_entity` and printed by
//! `crate::output`; streamed query rows are printed by `remote`.

use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the REPL prints for an entity from a server: read back, then rendered.
    fn rendered(entity: &Value) -> String {
        crate::output::render_result(&server::http::read_entity(entity))
    }

    #[test]
    fn entities_render_as_the_results_they_carry() {
        let cases = [
            (
                json!({"@type":"currentStatus","commandStatus":{"status":"SUCCESS","message":"Stream created","queryId":null}}),
                "Stream created\n",
            ),
            (
                json!({"@type":"currentStatus","commandStatus":{"status":"SUCCESS","message":"Created query with ID CSAS_T_0","queryId":"CSAS_T_0"}}),
                "Created query with ID CSAS_T_0\n",
            ),
            (
                json!({"@type":"streams","streams":[{"type":"STREAM","name":"S","topic":"s","keyFormat":"KAFKA","valueFormat":"JSON","isWindowed":false}]}),
                " Stream Name | Kafka Topic | Key Format | Value Format | Windowed \n\
                 ------------------------------------------------------------------\n\
                 \x20S           | s           | KAFKA      | JSON         | false    \n\
                 ------------------------------------------------------------------\n",
            ),
            (
                // A ksqlDB server reports the state per host only.
                json!({"@type":"queries","queries":[{"id":"CSAS_T_0","queryType":"PERSISTENT","statusCount":{"RUNNING":1},"sinks":["T"],"sinkKafkaTopics":["T"],"queryString":"CREATE STREAM T AS SELECT * FROM S;"}]}),
                " Query ID | Query Type | Status  | Sink Name | Sink Kafka Topic | Query String                        \n\
                 ------------------------------------------------------------------------------------------------------\n\
                 \x20CSAS_T_0 | PERSISTENT | RUNNING | T         | T                | CREATE STREAM T AS SELECT * FROM S; \n\
                 ------------------------------------------------------------------------------------------------------\n",
            ),
            (
                json!({"@type":"kafka_topics","topics":[{"name":"s","replicaInfo":[1,1]}]}),
                " Kafka Topic | Partitions | Partition Replicas \n\
                 -----------------------------------------------\n\
                 \x20s           | 2          | 1                  \n\
                 -----------------------------------------------\n",
            ),
            (
                json!({"@type":"type_list","types":{"POINT":{"type":"STRUCT","fields":[{"name":"X","schema":{"type":"INTEGER"}}]}}}),
                " Type Name | Schema              \n\
                 ---------------------------------\n\
                 \x20POINT     | STRUCT<`X` INTEGER> \n\
                 ---------------------------------\n",
            ),
            (
                json!({"@type":"sourceDescription","sourceDescription":{"name":"S","type":"TABLE","extended":false,"fields":[
                    {"name":"ID","schema":{"type":"STRING"},"fieldType":"KEY"},
                    {"name":"TAGS","schema":{"type":"ARRAY","memberSchema":{"type":"BIGINT"}}}]}}),
                "Name                 : S\n Field | Type\n-----------------------------------\n ID    | VARCHAR(STRING)  (primary key)\n TAGS  | ARRAY<BIGINT>\n-----------------------------------\n",
            ),
            (
                json!({"@type":"warning_entity","message":"careful"}),
                "careful\n",
            ),
            (
                json!({"@type":"unknown"}),
                "{\n  \"@type\": \"unknown\"\n}\n",
            ),
        ];
        for (entity, expected) in cases {
            assert_eq!(rendered(&entity), expected, "{entity}");
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
