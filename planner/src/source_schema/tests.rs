//! Tests of source formats and schemas: format checks, inference and registry bindings.

use parser::ast::{Literal, SourceKind};

use super::*;
use crate::catalog::SourceDefinition;

fn format(name: &str) -> FormatDefinition {
    FormatDefinition {
        name: name.to_string(),
        wrap_single_value: None,
        delimiter: None,
        schema: None,
    }
}

fn props(list: &[(&str, &str)]) -> WithProperties {
    WithProperties(
        list.iter()
            .map(|(name, value)| (name.to_string(), Literal::String(value.to_string())))
            .collect(),
    )
}

fn column(name: &str, data_type: DataType, kind: ColumnKind) -> ColumnDefinition {
    ColumnDefinition {
        name: name.to_string(),
        data_type,
        kind,
    }
}

fn registered(text: &str, subject: &str, schema_type: SchemaType) -> Catalog {
    let mut catalog = Catalog::default();
    catalog
        .schema_registry_mut()
        .register(subject, schema_type, text, Vec::new(), None)
        .expect("registers");
    catalog
}

#[test]
fn columns_are_inferred_from_the_latest_schema() {
    let cases = [
        (
            r#"{"type":"record","name":"blah","fields":[{"name":"c1","type":"int"},{"name":"c2","type":["null","string"]}]}"#,
            SchemaType::Avro,
            "AVRO",
            vec![],
            "C1 INTEGER, C2 STRING",
        ),
        (
            r#"{"type":"record","name":"blah","fields":[{"name":"c1","type":"int"}]}"#,
            SchemaType::Avro,
            "AVRO",
            vec![("VALUE_SCHEMA_ID", "1")],
            "c1 INTEGER",
        ),
        (
            "syntax = \"proto3\"; message A { int32 a = 1; } message B { string b = 1; }",
            SchemaType::Protobuf,
            "PROTOBUF",
            vec![("VALUE_SCHEMA_FULL_NAME", "B")],
            "B STRING",
        ),
        (
            r#"{"type":"object","properties":{"c1":{"type":"integer"}}}"#,
            SchemaType::Json,
            "JSON_SR",
            vec![],
            "C1 BIGINT",
        ),
    ];
    for (text, schema_type, format_name, properties, expected) in cases {
        let catalog = registered(text, "t-value", schema_type);
        let mut columns = Vec::new();
        let mut key_format = format("KAFKA");
        let mut value_format = format(format_name);
        complete_create_source(
            &catalog,
            &props(&properties),
            "S",
            "t",
            &mut columns,
            &mut key_format,
            &mut value_format,
        )
        .expect("infers");
        let source = SourceDefinition {
            name: "S".into(),
            kind: SourceKind::Stream,
            topic: "t".into(),
            columns,
            key_format,
            value_format: value_format.clone(),
            timestamp: None,
            partitions: 1,
            replicas: 1,
            is_source: false,
            window: None,
            sql: String::new(),
        };
        assert_eq!(source.schema_text(), expected, "{text}");
        assert_eq!(
            value_format.schema.map(|binding| binding.schema.id),
            Some(1)
        );
    }
}

#[test]
fn keys_are_inferred_as_one_column_unless_protobuf() {
    let cases = [
        (
            r#"{"type":"int"}"#,
            SchemaType::Avro,
            "AVRO",
            "ROWKEY INTEGER KEY, FOO INTEGER",
        ),
        (
            "syntax = \"proto3\"; message K { int32 F1 = 1; }",
            SchemaType::Protobuf,
            "PROTOBUF",
            "F1 INTEGER KEY, FOO INTEGER",
        ),
    ];
    for (text, schema_type, format_name, expected) in cases {
        let catalog = registered(text, "t-key", schema_type);
        let mut columns = vec![column("FOO", DataType::Int, ColumnKind::Value)];
        let mut key_format = format(format_name);
        let mut value_format = format(format_name);
        complete_create_source(
            &catalog,
            &props(&[]),
            "S",
            "t",
            &mut columns,
            &mut key_format,
            &mut value_format,
        )
        .expect("infers");
        columns.sort_by_key(|column| column.kind != ColumnKind::Key);
        let text: Vec<String> = columns
            .iter()
            .map(|c| {
                let key = if c.kind == ColumnKind::Key {
                    " KEY"
                } else {
                    ""
                };
                format!(
                    "{} {}{key}",
                    c.name,
                    crate::types::sql_type_name(&c.data_type)
                )
            })
            .collect();
        assert_eq!(text.join(", "), expected);
        // The value schema was generated and gets the next id.
        assert_eq!(
            value_format.schema.map(|binding| binding.schema.id),
            Some(2)
        );
    }
}

/// Key format, value format, properties, declared columns, and the error.
type PropertyCase<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Vec<ColumnDefinition>,
    &'a str,
);

#[test]
fn schema_properties_are_checked_like_ksqldb() {
    let avro = registered(r#""int""#, "t-key", SchemaType::Avro);
    let value = vec![column("V", DataType::Int, ColumnKind::Value)];
    let key = vec![column("K", DataType::Int, ColumnKind::Key)];
    let cases: Vec<PropertyCase<'_>> = vec![
        ("KAFKA", "DELIMITED", vec![], vec![], "No columns supplied."),
        (
            "KAFKA",
            "PROTOBUF",
            vec![("KEY_SCHEMA_ID", "1")],
            vec![],
            "KEY_FORMAT should support schema inference when KEY_SCHEMA_ID is provided. Current format is KAFKA.",
        ),
        (
            "AVRO",
            "AVRO",
            vec![("KEY_SCHEMA_ID", "1")],
            key,
            "Table elements and KEY_SCHEMA_ID cannot both exist for create statement.",
        ),
        (
            "KAFKA",
            "AVRO",
            vec![("VALUE_SCHEMA_ID", "1")],
            value.clone(),
            "Table elements and VALUE_SCHEMA_ID cannot both exist for create statement.",
        ),
        (
            "KAFKA",
            "JSON",
            vec![("VALUE_AVRO_SCHEMA_FULL_NAME", "com.x")],
            value.clone(),
            "JSON does not support the following configs: [fullSchemaName]",
        ),
        (
            "KAFKA",
            "AVRO",
            vec![("VALUE_AVRO_SCHEMA_FULL_NAME", " ")],
            value,
            "fullSchemaName cannot be empty. Format configuration: {fullSchemaName=}",
        ),
        (
            "KAFKA",
            "AVRO",
            vec![],
            vec![],
            "Schema for message values on topic 't' does not exist in the Schema Registry.",
        ),
        (
            "KAFKA",
            "AVRO",
            vec![],
            vec![column("1A", DataType::Int, ColumnKind::Value)],
            "Schema is not compatible with Avro: Illegal initial character: 1A",
        ),
        (
            "KAFKA",
            "JSON_SR",
            vec![],
            vec![column(
                "M",
                DataType::Map(Box::new(DataType::Int), Box::new(DataType::Int)),
                ColumnKind::Value,
            )],
            "JSON only supports MAP types with STRING keys",
        ),
    ];
    for (key_name, value_name, properties, mut columns, expected) in cases {
        let error = complete_create_source(
            &avro,
            &props(&properties),
            "S",
            "t",
            &mut columns,
            &mut format(key_name),
            &mut format(value_name),
        )
        .expect_err(expected);
        assert!(error.to_string().starts_with(expected), "{error}");
    }
}

#[test]
fn sinks_register_generated_schemas_with_new_ids() {
    let catalog = registered(r#""int""#, "OUTPUT-key", SchemaType::Avro);
    let columns = vec![
        column("K", DataType::Int, ColumnKind::Key),
        column("V", DataType::String, ColumnKind::Value),
    ];
    let mut key_format = format("AVRO");
    let mut value_format = format("AVRO");
    bind_sink_schemas(
        &catalog,
        &props(&[]),
        "OUTPUT",
        "OUTPUT",
        &columns,
        &mut key_format,
        &mut value_format,
    )
    .expect("binds");
    let key = key_format.schema.expect("key schema");
    let value = value_format.schema.expect("value schema");
    assert_eq!((key.schema.id, key.schema.text.as_str()), (1, "\"int\""));
    assert_eq!(value.schema.id, 2);
    assert_eq!(value.subject.as_deref(), Some("OUTPUT-value"));
    assert!(value.schema.text.contains("KsqlDataSourceSchema"));
}
