//! The format rules at CREATE time, through `plan_statement`, with ksqlDB's exact messages
//! (worked out from ksqlDB's serde factories and its functional tests).

use crate::{Catalog, Properties, StatementPlan, plan_statement};

/// Plans each statement in turn, registering the sources they create; the error of the
/// last one, which must fail.
fn error_of(statements: &[&str]) -> String {
    let mut catalog = Catalog::default();
    let (last, setup) = statements.split_last().expect("statements");
    for sql in setup {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match plan_statement(&catalog, &statement, &Properties::new()) {
            Ok(Some(StatementPlan::CreateSource { source, .. })) => catalog.put_source(source),
            other => panic!("{sql}: {other:?}"),
        }
    }
    let statement = parser::parse_statements(last).expect("parses").remove(0);
    match plan_statement(&catalog, &statement, &Properties::new()) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("{last}: planned"),
    }
}

fn accepted(statement: &str) {
    let catalog = Catalog::default();
    let statement = parser::parse_statements(statement)
        .expect("parses")
        .remove(0);
    plan_statement(&catalog, &statement, &Properties::new()).expect("accepted");
}

#[test]
fn delimited_refuses_nested_types_naming_the_column() {
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (FOO ARRAY<INT>) WITH (kafka_topic='t', value_format='DELIMITED');"
        ]),
        "The 'DELIMITED' format does not support type 'ARRAY', column: `FOO`"
    );
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K ARRAY<DOUBLE> KEY, V INT) WITH (kafka_topic='t', format='DELIMITED');"
        ]),
        "Key format does not support schema.\nformat: DELIMITED\nschema: Persistence{columns=[`K` ARRAY<DOUBLE> KEY], features=[]}\nreason: The 'DELIMITED' format does not support type 'ARRAY', column: `K`"
    );
}

#[test]
fn kafka_holds_one_field_of_a_simple_type() {
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K STRING KEY, V0 INT, V1 STRING) WITH (kafka_topic='t', value_format='KafkA');"
        ]),
        "The 'KAFKA' format only supports a single field. Got: [`V0` INTEGER, `V1` STRING]"
    );
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K STRING KEY, V0 BOOLEAN) WITH (kafka_topic='t', value_format='KAFKA');"
        ]),
        "The 'KAFKA' format does not support type 'BOOLEAN'"
    );
    assert_eq!(
        error_of(&[
            "CREATE TABLE I (K DECIMAL(21,19) PRIMARY KEY, ID BIGINT) WITH (kafka_topic='t', value_format='JSON');"
        ]),
        "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{columns=[`K` DECIMAL(21, 19) KEY], features=[]}\nreason: The 'KAFKA' format does not support type 'DECIMAL'"
    );
    // A sink's key comes from the query: PARTITION BY an array.
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K STRING KEY, ID ARRAY<INT>) WITH (kafka_topic='t', value_format='JSON');",
            "CREATE STREAM O AS SELECT * FROM I PARTITION BY ID;",
        ]),
        "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{columns=[`ID` ARRAY<INTEGER> KEY], features=[]}\nreason: The 'KAFKA' format does not support type 'ARRAY'"
    );
    accepted("CREATE STREAM I (K BYTES KEY, V DOUBLE) WITH (kafka_topic='t', format='KAFKA');");
}

#[test]
fn wrap_single_value_needs_one_value_column_and_a_format_that_wraps() {
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K STRING KEY, FOO INT) WITH (WRAP_SINGLE_VALUE=true, kafka_topic='t', value_format='KAFKA');"
        ]),
        "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
    );
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K STRING KEY, FOO INT) WITH (WRAP_SINGLE_VALUE=true, kafka_topic='t', value_format='DELIMITED');"
        ]),
        "Format 'DELIMITED' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
    );
    assert_eq!(
        error_of(&[
            "CREATE TABLE I (K STRING PRIMARY KEY, F0 STRING, F1 STRING) WITH (WRAP_SINGLE_VALUE=false, kafka_topic='t', value_format='JSON');"
        ]),
        "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas"
    );
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K STRING KEY, F0 STRING, F1 STRING) WITH (kafka_topic='t', value_format='JSON');",
            "CREATE STREAM O WITH (WRAP_SINGLE_VALUE=true) AS SELECT * FROM I;",
        ]),
        "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas"
    );
    accepted(
        "CREATE STREAM I (K STRING KEY, F0 STRING) WITH (WRAP_SINGLE_VALUE=false, kafka_topic='t', value_format='JSON');",
    );
}

#[test]
fn map_keys_must_be_strings_in_structured_formats() {
    for (format, message) in [
        ("JSON", "JSON only supports MAP types with STRING keys"),
        ("AVRO", "Avro only supports MAPs with STRING keys"),
        (
            "PROTOBUF",
            "PROTOBUF format only supports MAP types with STRING keys",
        ),
    ] {
        let create = format!(
            "CREATE STREAM I (V STRUCT<M MAP<INT, STRING>>) WITH (kafka_topic='t', value_format='{format}');"
        );
        assert_eq!(error_of(&[&create]), message, "{format}");
    }
}

#[test]
fn map_keyed_columns_are_refused_before_the_format_is_asked() {
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K ARRAY<MAP<INT, DOUBLE>> KEY, V INT) WITH (kafka_topic='t', format='JSON');"
        ]),
        "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `K`. Column type: ARRAY<MAP<INTEGER, DOUBLE>>. See https://github.com/confluentinc/ksql/issues/6621 for more."
    );
}

#[test]
fn format_excludes_key_format_and_value_format() {
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K INT KEY, V INT) WITH (kafka_topic='t', key_format='KAFKA', format='KAFKA');"
        ]),
        "Cannot supply both 'KEY_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
    );
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (K INT KEY, V INT) WITH (kafka_topic='t', value_format='JSON', format='KAFKA');"
        ]),
        "Cannot supply both 'VALUE_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
    );
}

#[test]
fn a_blank_delimiter_is_refused_when_the_statement_is_prepared() {
    for delimiter in ["", " ", "\t"] {
        let create = format!(
            "CREATE STREAM I (V INT) WITH (kafka_topic='t', value_format='DELIMITED', value_delimiter='{delimiter}');"
        );
        assert_eq!(
            error_of(&[&create]),
            "Failed to prepare statement: Configuration VALUE_DELIMITER is invalid: Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'",
            "{delimiter:?}"
        );
    }
    accepted(
        "CREATE STREAM I (V INT, W INT) WITH (kafka_topic='t', value_format='DELIMITED', value_delimiter='TAB');",
    );
}

#[test]
fn a_key_format_for_a_keyless_sink_is_refused() {
    assert_eq!(
        error_of(&[
            "CREATE STREAM I (ID INT KEY, NAME STRING) WITH (kafka_topic='t', value_format='JSON');",
            "CREATE STREAM O WITH (key_format='DELIMITED') AS SELECT ID, NAME FROM I PARTITION BY NULL;",
        ]),
        "Key format specified for stream without key columns."
    );
}

#[test]
fn the_session_wrapping_default_is_no_error() {
    let catalog = Catalog::default();
    let mut properties = Properties::new();
    properties.insert("ksql.persistence.wrap.single.values".into(), "true".into());
    for create in [
        "CREATE STREAM I (K STRING KEY, V INT) WITH (kafka_topic='t', value_format='KAFKA');",
        "CREATE STREAM J (K STRING KEY, A INT, B INT) WITH (kafka_topic='u', value_format='JSON');",
    ] {
        let statement = parser::parse_statements(create).expect("parses").remove(0);
        plan_statement(&catalog, &statement, &properties).expect(create);
    }
}
