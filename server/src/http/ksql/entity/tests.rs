use serde_json::json;

use super::*;
use crate::result::{
    FunctionArgument, FunctionSummary, FunctionVariation, PropertyValue, QueryKind, QueryStatus,
    SourceSummary, TopicSummary,
};

fn running_summary() -> QuerySummary {
    QuerySummary {
        id: "CTAS_T_1".into(),
        kind: QueryKind::Persistent,
        status: QueryStatus::Running,
        sql: "CREATE TABLE T AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;".into(),
        sinks: vec!["T".into()],
        sink_topics: vec!["T".into()],
    }
}

fn table_description(extended: bool) -> SourceDescription {
    SourceDescription {
        name: "T".into(),
        kind: SourceKind::Table,
        window_type: Some("TUMBLING".into()),
        read_queries: Vec::new(),
        write_queries: vec![running_summary()],
        fields: vec![
            Field {
                name: "ID".into(),
                data_type: DataType::String,
                kind: ColumnKind::Key,
            },
            Field {
                name: "N".into(),
                data_type: DataType::Bigint,
                kind: ColumnKind::Value,
            },
            Field {
                name: "H".into(),
                data_type: DataType::Bytes,
                kind: ColumnKind::Header("h".into()),
            },
        ],
        timestamp: None,
        statistics: if extended {
            "consumer-messages: 3   consumer-failed-messages: 0   producer-messages: 2".into()
        } else {
            String::new()
        },
        error_statistics: String::new(),
        state_bytes: extended.then_some(1234),
        last_failure: None,
        extended,
        key_format: "KAFKA".into(),
        value_format: "JSON".into(),
        topic: "T".into(),
        partitions: 2,
        replicas: 1,
        statement: "CREATE TABLE T AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;".into(),
    }
}

fn query_description_of(status: Option<QueryStatus>, plan: &str) -> QueryDescription {
    QueryDescription {
        id: "CTAS_T_1".into(),
        kind: QueryKind::Persistent,
        status,
        sql: "CREATE TABLE T AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;".into(),
        window_type: None,
        fields: vec![Field {
            name: "N".into(),
            data_type: DataType::Array(Box::new(DataType::Decimal {
                precision: 4,
                scale: 2,
            })),
            kind: ColumnKind::Value,
        }],
        sources: vec!["S".into()],
        sinks: vec!["T".into()],
        execution_plan: plan.into(),
        topology: String::new(),
    }
}

fn function_description() -> FunctionDescription {
    FunctionDescription {
        name: "SUBSTRING".into(),
        description: "Returns part of a string.".into(),
        author: "Confluent".into(),
        version: String::new(),
        path: "internal".into(),
        kind: "SCALAR".into(),
        variations: vec![FunctionVariation {
            arguments: vec![
                FunctionArgument {
                    name: String::new(),
                    type_name: "STRING".into(),
                    description: String::new(),
                    variadic: false,
                },
                FunctionArgument {
                    name: String::new(),
                    type_name: "...INT".into(),
                    description: String::new(),
                    variadic: true,
                },
            ],
            return_type: "STRING".into(),
            description: "Returns part of a string.".into(),
        }],
    }
}

/// One result of every kind that answers an entity.
fn results() -> Vec<StatementResult> {
    vec![
        StatementResult::Status("Stream created".into()),
        StatementResult::QueryCreated {
            query_id: "CSAS_S2_0".into(),
            warnings: Vec::new(),
        },
        StatementResult::QueryCreated {
            query_id: "CSAS_J_1".into(),
            warnings: vec!["DEPRECATION NOTICE: no grace".into()],
        },
        StatementResult::Warning(
            "Cannot add stream `S`: A stream with the same name already exists.".into(),
        ),
        StatementResult::Sources {
            kind: SourceKind::Stream,
            sources: vec![SourceSummary {
                name: "S".into(),
                topic: "s".into(),
                key_format: "KAFKA".into(),
                value_format: "JSON".into(),
                windowed: false,
            }],
        },
        StatementResult::Sources {
            kind: SourceKind::Table,
            sources: Vec::new(),
        },
        StatementResult::SourceDescription(Box::new(table_description(false))),
        StatementResult::SourceDescriptions(vec![table_description(true)]),
        StatementResult::Queries(vec![
            running_summary(),
            QuerySummary {
                id: "transient_S_1".into(),
                kind: QueryKind::Push,
                status: QueryStatus::Running,
                sql: "SELECT * FROM S EMIT CHANGES;".into(),
                sinks: Vec::new(),
                sink_topics: Vec::new(),
            },
        ]),
        StatementResult::QueryDescriptions(vec![query_description_of(
            Some(QueryStatus::NotRunning),
            "",
        )]),
        StatementResult::QueryDescription(Box::new(query_description_of(None, "plan\n"))),
        StatementResult::Topics {
            extended: true,
            topics: vec![TopicSummary {
                name: "s".into(),
                partitions: 2,
                replicas: 1,
            }],
        },
        StatementResult::Properties {
            properties: vec![PropertyValue {
                name: "auto.offset.reset".into(),
                scope: "SESSION".into(),
                value: "earliest".into(),
            }],
            overridden: vec!["auto.offset.reset".into()],
        },
        StatementResult::Functions(vec![FunctionSummary {
            name: "COUNT".into(),
            kind: "AGGREGATE".into(),
            category: "AGGREGATE".into(),
        }]),
        StatementResult::FunctionDescription(Box::new(function_description())),
        StatementResult::Types(vec![(
            "POINT".into(),
            DataType::Struct(vec![
                ("X".into(), DataType::Int),
                (
                    "TAGS".into(),
                    DataType::Map(Box::new(DataType::String), Box::new(DataType::Double)),
                ),
            ]),
        )]),
        StatementResult::Variables(vec![("topic".into(), "t1".into())]),
    ]
}

fn write(result: &StatementResult) -> Option<Value> {
    write_entity(result, "STATEMENT;", |_| ("stream/`S`/create".into(), 7))
}

#[test]
fn results_read_back_from_their_entities_unchanged() {
    for result in results() {
        let entity = write(&result).unwrap_or_else(|| panic!("{result:?} answers an entity"));
        assert_eq!(read_entity(&entity), result, "{entity}");
    }
}

#[test]
fn session_changes_and_inserted_rows_answer_no_entity() {
    let results = [
        StatementResult::RowInserted,
        StatementResult::PropertySet {
            name: "auto.offset.reset".into(),
            value: "earliest".into(),
        },
        StatementResult::PropertyUnset {
            name: "auto.offset.reset".into(),
        },
        StatementResult::VariableDefined { name: "x".into() },
        StatementResult::VariableUndefined { name: "x".into() },
    ];
    for result in results {
        assert_eq!(write(&result), None, "{result:?}");
    }
}

#[test]
fn entities_have_ksqldb_field_names() {
    let cases = [
        (
            StatementResult::QueryCreated {
                query_id: "CSAS_S2_0".into(),
                warnings: Vec::new(),
            },
            json!({
                "@type": "currentStatus",
                "statementText": "STATEMENT;",
                "commandId": "stream/`S`/create",
                "commandStatus": {
                    "status": "SUCCESS",
                    "message": "Created query with ID CSAS_S2_0",
                    "queryId": "CSAS_S2_0",
                },
                "commandSequenceNumber": 7,
                "warnings": [],
            }),
        ),
        (
            StatementResult::QueryCreated {
                query_id: "CSAS_J_1".into(),
                warnings: vec!["DEPRECATION NOTICE: no grace".into()],
            },
            json!({
                "@type": "currentStatus",
                "statementText": "STATEMENT;",
                "commandId": "stream/`S`/create",
                "commandStatus": {
                    "status": "SUCCESS",
                    "message": "Created query with ID CSAS_J_1",
                    "queryId": "CSAS_J_1",
                },
                "commandSequenceNumber": 7,
                "warnings": [{"message": "DEPRECATION NOTICE: no grace"}],
            }),
        ),
        (
            StatementResult::Warning(
                "Cannot add stream `S`: A stream with the same name already exists.".into(),
            ),
            json!({
                "@type": "warning_entity",
                "statementText": "STATEMENT;",
                "message": "Cannot add stream `S`: A stream with the same name already exists.",
                "warnings": [],
            }),
        ),
        (
            StatementResult::SourceDescription(Box::new(table_description(true))),
            json!({
                "@type": "sourceDescription",
                "statementText": "STATEMENT;",
                "sourceDescription": {
                    "name": "T",
                    "windowType": "TUMBLING",
                    "readQueries": [],
                    "writeQueries": [{
                        "queryString": "CREATE TABLE T AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
                        "sinks": ["T"],
                        "sinkKafkaTopics": ["T"],
                        "id": "CTAS_T_1",
                        "statusCount": {"RUNNING": 1},
                        "queryType": "PERSISTENT",
                        "state": "RUNNING",
                    }],
                    "fields": [
                        {"name": "ID", "schema": {"type": "STRING", "fields": null, "memberSchema": null}, "fieldType": "KEY"},
                        {"name": "N", "schema": {"type": "BIGINT", "fields": null, "memberSchema": null}},
                        {"name": "H", "schema": {"type": "BYTES", "fields": null, "memberSchema": null}, "fieldType": "HEADER", "headerKey": "h"},
                    ],
                    "type": "TABLE",
                    "timestamp": "",
                    "statistics": "consumer-messages: 3   consumer-failed-messages: 0   producer-messages: 2   state-bytes: 1234",
                    "errorStats": "",
                    "statisticsMap": {"state-bytes": 1234},
                    "errorStatsMap": {},
                    "extended": true,
                    "keyFormat": "KAFKA",
                    "valueFormat": "JSON",
                    "topic": "T",
                    "partitions": 2,
                    "replication": 1,
                    "statement": "CREATE TABLE T AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
                    "queryOffsetSummaries": [],
                    "sourceConstraints": [],
                },
                "warnings": [],
            }),
        ),
        (
            StatementResult::QueryDescription(Box::new(query_description_of(None, "plan\n"))),
            json!({
                "@type": "queryDescription",
                "statementText": "STATEMENT;",
                "queryDescription": {
                    "id": "CTAS_T_1",
                    "statementText": "CREATE TABLE T AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
                    "windowType": null,
                    "fields": [{"name": "N", "schema": {"type": "ARRAY", "fields": null, "memberSchema":
                        {"type": "DECIMAL", "fields": null, "memberSchema": null,
                         "parameters": {"precision": 4, "scale": 2}}}}],
                    "sources": ["S"],
                    "sinks": ["T"],
                    "topology": "",
                    "executionPlan": "plan\n",
                    "overriddenProperties": {},
                    "ksqlHostQueryStatus": {},
                    "queryType": "PERSISTENT",
                    "queryErrors": [],
                    "tasksMetadata": [],
                    "state": "",
                },
                "warnings": [],
            }),
        ),
        (
            StatementResult::Topics {
                extended: false,
                topics: vec![TopicSummary {
                    name: "s".into(),
                    partitions: 3,
                    replicas: 1,
                }],
            },
            json!({
                "@type": "kafka_topics",
                "statementText": "STATEMENT;",
                "topics": [{"name": "s", "replicaInfo": [1, 1, 1]}],
                "warnings": [],
            }),
        ),
        (
            StatementResult::FunctionDescription(Box::new(function_description())),
            json!({
                "@type": "describe_function",
                "statementText": "STATEMENT;",
                "name": "SUBSTRING",
                "description": "Returns part of a string.",
                "author": "Confluent",
                "version": "",
                "path": "internal",
                "functions": [{
                    "arguments": [
                        {"name": "", "type": "STRING", "description": "", "isVariadic": false},
                        {"name": "", "type": "...INT", "description": "", "isVariadic": true},
                    ],
                    "returnType": "STRING",
                    "description": "Returns part of a string.",
                    "argumentTypes": ["STRING", "...INT"],
                }],
                "type": "SCALAR",
                "warnings": [],
            }),
        ),
    ];
    for (result, expected) in cases {
        assert_eq!(write(&result), Some(expected), "{result:?}");
    }
}

#[test]
fn entities_of_ksqldb_servers_read_leniently() {
    let cases = [
        // The state of a query is its first per-host status.
        (
            json!({"@type": "queries", "queries": [{"id": "Q", "statusCount": {"ERROR": 1}}]}),
            StatementResult::Queries(vec![QuerySummary {
                id: "Q".into(),
                kind: QueryKind::Persistent,
                status: QueryStatus::Error(None),
                sql: String::new(),
                sinks: Vec::new(),
                sink_topics: Vec::new(),
            }]),
        ),
        (
            json!({"@type": "warning_entity", "message": "careful"}),
            StatementResult::Warning("careful".into()),
        ),
        (
            json!({"@type": "unknown"}),
            StatementResult::Status("{\n  \"@type\": \"unknown\"\n}".into()),
        ),
    ];
    for (entity, expected) in cases {
        assert_eq!(read_entity(&entity), expected, "{entity}");
    }
}
