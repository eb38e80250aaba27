use server::result::{FunctionArgument, FunctionVariation, PropertyValue, QueryKind, QuerySummary};

use super::*;

fn stream_description(extended: bool) -> SourceDescription {
    SourceDescription {
        name: "CLICKS".into(),
        kind: SourceKind::Stream,
        window_type: None,
        read_queries: vec![QuerySummary {
            id: "CSAS_S2_0".into(),
            kind: QueryKind::Persistent,
            status: QueryStatus::Error(Some("disk full".into())),
            sql: "CREATE STREAM S2 AS SELECT * FROM CLICKS;".into(),
            sinks: vec!["S2".into()],
            sink_topics: vec!["S2".into()],
        }],
        write_queries: Vec::new(),
        fields: vec![
            Field {
                name: "USER_ID".into(),
                data_type: DataType::String,
                kind: ColumnKind::Key,
            },
            Field {
                name: "TAGS".into(),
                data_type: DataType::Array(Box::new(DataType::String)),
                kind: ColumnKind::Value,
            },
            Field {
                name: "H".into(),
                data_type: DataType::Bytes,
                kind: ColumnKind::Header("h".into()),
            },
        ],
        timestamp: None,
        statistics: "consumer-messages: 3   consumer-failed-messages: 1   producer-messages: 0"
            .into(),
        error_statistics: String::new(),
        state_bytes: None,
        last_failure: Some("bad JSON at topic \"clicks\" partition 0 offset 1".into()),
        extended,
        key_format: "KAFKA".into(),
        value_format: "JSON".into(),
        topic: "clicks".into(),
        partitions: 1,
        replicas: 1,
        statement: "CREATE STREAM CLICKS (...);".into(),
    }
}

#[test]
fn messages_print_one_line_and_empty_results_nothing() {
    let cases = [
        (
            StatementResult::Status("Stream created".into()),
            "Stream created\n",
        ),
        (StatementResult::Status(String::new()), ""),
        (
            StatementResult::QueryCreated {
                query_id: "CTAS_T_1".into(),
                warnings: Vec::new(),
            },
            "Created query with ID CTAS_T_1\n",
        ),
        (
            StatementResult::QueryCreated {
                query_id: "CSAS_J_2".into(),
                warnings: vec!["DEPRECATION NOTICE: no grace".into()],
            },
            "Created query with ID CSAS_J_2\nWARNING: DEPRECATION NOTICE: no grace\n",
        ),
        (
            StatementResult::Warning(
                "Cannot add table `T`: A table with the same name already exists.".into(),
            ),
            "Cannot add table `T`: A table with the same name already exists.\n",
        ),
        (StatementResult::RowInserted, ""),
        (
            StatementResult::PropertySet {
                name: "auto.offset.reset".into(),
                value: "earliest".into(),
            },
            "Successfully changed local property 'auto.offset.reset' to 'earliest'.\n",
        ),
        (
            StatementResult::PropertyUnset {
                name: "auto.offset.reset".into(),
            },
            "Successfully unset local property 'auto.offset.reset'.\n",
        ),
        (
            StatementResult::VariableDefined { name: "x".into() },
            "Defined variable x\n",
        ),
        (
            StatementResult::VariableUndefined { name: "x".into() },
            "Undefined variable x\n",
        ),
    ];
    for (result, expected) in cases {
        assert_eq!(render_result(&result), expected, "{result:?}");
    }
}

#[test]
fn lists_print_as_tables_padded_to_their_widest_cell() {
    let cases = [
        (
            StatementResult::Properties {
                properties: vec![PropertyValue {
                    name: "auto.offset.reset".into(),
                    scope: "SESSION".into(),
                    value: "earliest".into(),
                }],
                overridden: vec!["auto.offset.reset".into()],
            },
            " Property          | Scope   | Value    \n\
             ----------------------------------------\n\
             \x20auto.offset.reset | SESSION | earliest \n\
             ----------------------------------------\n",
        ),
        (
            StatementResult::Variables(Vec::new()),
            " Variable Name | Value \n\
             -----------------------\n\
             -----------------------\n",
        ),
    ];
    for (result, expected) in cases {
        assert_eq!(render_result(&result), expected, "{result:?}");
    }
}

#[test]
fn describe_prints_fields_and_extended_adds_queries_and_statistics() {
    let fields = "\
\x20Field   | Type
-------------------------------------
 USER_ID | VARCHAR(STRING)  (key)
 TAGS    | ARRAY<VARCHAR(STRING)>
 H       | BYTES  (header('h'))
-------------------------------------
";
    let plain = format!("Name                 : CLICKS\n{fields}");
    let extended = format!(
        "\
Name                 : CLICKS
Type                 : STREAM
Timestamp field      : Not set - using <ROWTIME>
Key format           : KAFKA
Value format         : JSON
Kafka topic          : clicks (partitions: 1, replication: 1)
Statement            : CREATE STREAM CLICKS (...);
{fields}
Queries that read from this STREAM
-----------------------------------
CSAS_S2_0 (ERROR: disk full) : CREATE STREAM S2 AS SELECT * FROM CLICKS;

Queries that write from this STREAM
-----------------------------------


Local runtime statistics
------------------------
consumer-messages: 3   consumer-failed-messages: 1   producer-messages: 0
last-failure: bad JSON at topic \"clicks\" partition 0 offset 1
"
    );
    let cases = [
        (
            StatementResult::SourceDescription(Box::new(stream_description(false))),
            plain.clone(),
        ),
        (
            StatementResult::SourceDescription(Box::new(stream_description(true))),
            extended,
        ),
        (
            StatementResult::SourceDescriptions(vec![stream_description(false)]),
            format!("{plain}\n"),
        ),
    ];
    for (result, expected) in cases {
        assert_eq!(render_result(&result), expected, "{result:?}");
    }
}

#[test]
fn describe_extended_adds_the_state_size_to_the_statistics() {
    let mut description = stream_description(true);
    description.state_bytes = Some(2048);
    let rendered = render_result(&StatementResult::SourceDescription(Box::new(description)));
    assert!(
        rendered.contains(
            "\nconsumer-messages: 3   consumer-failed-messages: 1   producer-messages: 0   state-bytes: 2048\n"
        ),
        "{rendered}"
    );
}

#[test]
fn explain_prints_the_query_and_its_plan() {
    let query = QueryDescription {
        id: "CSAS_S2_0".into(),
        kind: QueryKind::Persistent,
        status: Some(QueryStatus::Running),
        sql: "CREATE STREAM S2 AS SELECT * FROM CLICKS;".into(),
        window_type: None,
        fields: vec![Field {
            name: "URL".into(),
            data_type: DataType::String,
            kind: ColumnKind::Value,
        }],
        sources: vec!["CLICKS".into()],
        sinks: vec!["S2".into()],
        execution_plan: "Sink S2\n  Source CLICKS\n".into(),
        topology: String::new(),
    };
    let expected = "\
ID                   : CSAS_S2_0
Query Type           : PERSISTENT
SQL                  : CREATE STREAM S2 AS SELECT * FROM CLICKS;
Status               : RUNNING
Sources              : CLICKS
Sinks                : S2
Fields               : URL VARCHAR(STRING)

Execution plan
--------------
Sink S2
  Source CLICKS
";
    let result = StatementResult::QueryDescription(Box::new(query));
    assert_eq!(render_result(&result), expected);
}

#[test]
fn describe_function_prints_each_variation() {
    let function = FunctionDescription {
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
                    name: "pos".into(),
                    type_name: "INT".into(),
                    description: String::new(),
                    variadic: false,
                },
            ],
            return_type: "STRING".into(),
            description: "Returns part of a string.".into(),
        }],
    };
    let expected = "\
Name        : SUBSTRING
Author      : Confluent
Overview    : Returns part of a string.
Type        : SCALAR

\tVariation   : SUBSTRING(STRING, pos INT)
\tReturns     : STRING
\tDescription : Returns part of a string.
";
    let result = StatementResult::FunctionDescription(Box::new(function));
    assert_eq!(render_result(&result), expected);
}

#[test]
fn lists_at_a_narrow_terminal_wrap_their_widest_column() {
    let result = StatementResult::Variables(vec![(
        "greeting".into(),
        "hello wide world of streams".into(),
    )]);
    let expected = " Variable Name | Value          \n\
                    --------------------------------\n\
                    \x20greeting      | hello wide     \n\
                    \x20              | world of       \n\
                    \x20              | streams        \n\
                    --------------------------------\n";
    assert_eq!(render_result_within(&result, Some(32)), expected);
    assert_eq!(
        render_result_within(&result, Some(200)),
        render_result(&result),
        "a table that fits is laid out as in scripts"
    );
}
