//! JSON schemas (the `JSON_SR` format): ksqlDB column types to the schema Connect's
//! `JsonSchemaData` generates, and JSON schemas back to column types (schema inference).
//!
//! Optional values are `{"oneOf": [{"type": "null"}, T]}`; Connect's `connect.type`,
//! `title` and `connect.parameters` annotations tell INT from BIGINT, BYTES from STRING and
//! carry the logical types (DECIMAL, DATE, TIME, TIMESTAMP).

use parser::ast::DataType;

use super::json_tree::JsonTree;

const DECIMAL_TITLE: &str = "org.apache.kafka.connect.data.Decimal";
const DATE_TITLE: &str = "org.apache.kafka.connect.data.Date";
const TIME_TITLE: &str = "org.apache.kafka.connect.data.Time";
const TIMESTAMP_TITLE: &str = "org.apache.kafka.connect.data.Timestamp";

/// The schema ksqlDB generates for `columns`: an object of optional properties, or with
/// `unwrapped`, the optional schema of the single column's type.
pub fn json_schema_for(
    columns: &[(String, DataType)],
    unwrapped: bool,
) -> Result<JsonTree, String> {
    if unwrapped && let [(_, data_type)] = columns {
        return Ok(optional(schema_of(data_type)?));
    }
    object_of(columns)
}

fn object_of(columns: &[(String, DataType)]) -> Result<JsonTree, String> {
    let properties = columns
        .iter()
        .enumerate()
        .map(|(index, (name, data_type))| {
            let schema = optional(schema_of(data_type)?);
            let mut members = vec![("connect.index".to_string(), JsonTree::integer(index as i64))];
            if let JsonTree::Object(schema_members) = schema {
                members.extend(schema_members);
            }
            Ok((name.clone(), JsonTree::Object(members)))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(JsonTree::object([
        ("type", JsonTree::string("object")),
        ("properties", JsonTree::Object(properties)),
    ]))
}

fn optional(schema: JsonTree) -> JsonTree {
    JsonTree::object([(
        "oneOf",
        JsonTree::Array(vec![
            JsonTree::object([("type", JsonTree::string("null"))]),
            schema,
        ]),
    )])
}

fn typed(json_type: &str, connect_type: &str) -> JsonTree {
    JsonTree::object([
        ("type", JsonTree::string(json_type)),
        ("connect.type", JsonTree::string(connect_type)),
    ])
}

fn logical(json_type: &str, title: &str, connect_type: &str) -> JsonTree {
    JsonTree::object([
        ("type", JsonTree::string(json_type)),
        ("title", JsonTree::string(title)),
        ("connect.version", JsonTree::integer(1)),
        ("connect.type", JsonTree::string(connect_type)),
    ])
}

fn schema_of(data_type: &DataType) -> Result<JsonTree, String> {
    Ok(match data_type {
        DataType::Boolean => typed("boolean", "boolean"),
        DataType::Int => typed("integer", "int32"),
        DataType::Bigint => typed("integer", "int64"),
        DataType::Double => typed("number", "float64"),
        DataType::String => typed("string", "string"),
        DataType::Bytes => typed("string", "bytes"),
        DataType::Decimal { precision, scale } => {
            let mut schema = logical("number", DECIMAL_TITLE, "bytes");
            if let JsonTree::Object(members) = &mut schema {
                members.push((
                    "connect.parameters".to_string(),
                    JsonTree::object([
                        ("scale", JsonTree::string(scale.to_string())),
                        (
                            "connect.decimal.precision",
                            JsonTree::string(precision.to_string()),
                        ),
                    ]),
                ));
            }
            schema
        }
        DataType::Date => logical("integer", DATE_TITLE, "int32"),
        DataType::Time => logical("integer", TIME_TITLE, "int32"),
        DataType::Timestamp => logical("integer", TIMESTAMP_TITLE, "int64"),
        DataType::Array(element) => JsonTree::object([
            ("type", JsonTree::string("array")),
            ("items", optional(schema_of(element)?)),
        ]),
        DataType::Map(key, value) => {
            if **key != DataType::String {
                return Err("JSON only supports MAP types with STRING keys".to_string());
            }
            JsonTree::object([
                ("type", JsonTree::string("object")),
                ("additionalProperties", optional(schema_of(value)?)),
                ("connect.type", JsonTree::string("map")),
            ])
        }
        DataType::Struct(fields) => object_of(fields)?,
        DataType::Custom(name) => return Err(format!("type \"{name}\" is not resolved")),
    })
}

/// The non-null schema of an optional one (`oneOf`/`anyOf` with `null`, or a type list).
pub fn non_null(schema: &JsonTree) -> &JsonTree {
    for key in ["oneOf", "anyOf"] {
        if let Some(members) = schema.get(key).and_then(JsonTree::as_array) {
            let others: Vec<&JsonTree> = members
                .iter()
                .filter(|member| member.text("type") != Some("null"))
                .collect();
            if let [single] = others.as_slice() {
                return non_null(single);
            }
        }
    }
    schema
}

/// The ksqlDB type of a JSON schema (schema inference). With `uppercase`, property names
/// are upper-cased (inference without a schema id).
pub fn sql_type_of(schema: &JsonTree, uppercase: bool) -> Result<DataType, String> {
    let schema = non_null(schema);
    let json_type = match schema.get("type") {
        Some(JsonTree::String(json_type)) => json_type.as_str(),
        Some(JsonTree::Array(types)) => {
            let others: Vec<&str> = types
                .iter()
                .filter_map(JsonTree::as_str)
                .filter(|json_type| *json_type != "null")
                .collect();
            match others.as_slice() {
                [single] => *single,
                _ => return Err(format!("unsupported JSON schema type list: {schema}")),
            }
        }
        _ if schema.get("properties").is_some() => "object",
        _ => return Err(format!("JSON schema without a type: {schema}")),
    };
    let connect_type = schema.text("connect.type");
    let title = schema.text("title");
    Ok(match json_type {
        "boolean" => DataType::Boolean,
        "integer" => match (title, connect_type) {
            (Some(TIMESTAMP_TITLE), _) => DataType::Timestamp,
            (Some(DATE_TITLE), _) => DataType::Date,
            (Some(TIME_TITLE), _) => DataType::Time,
            (_, Some("int8" | "int16" | "int32")) => DataType::Int,
            _ => DataType::Bigint,
        },
        "number" => match title {
            Some(DECIMAL_TITLE) => {
                let parameters = schema.get("connect.parameters");
                let parameter = |name: &str| {
                    parameters
                        .and_then(|parameters| parameters.get(name))
                        .and_then(JsonTree::as_i64)
                };
                let precision = parameter("connect.decimal.precision").unwrap_or(64);
                let scale = parameter("scale").unwrap_or(0);
                DataType::Decimal {
                    precision: u8::try_from(precision)
                        .map_err(|_| format!("DECIMAL precision {precision} is out of range"))?,
                    scale: u8::try_from(scale)
                        .map_err(|_| format!("DECIMAL scale {scale} is out of range"))?,
                }
            }
            _ => DataType::Double,
        },
        "string" => match connect_type {
            Some("bytes") => DataType::Bytes,
            _ => DataType::String,
        },
        "array" => {
            let items = schema
                .get("items")
                .ok_or_else(|| format!("JSON array schema without items: {schema}"))?;
            DataType::Array(Box::new(sql_type_of(items, uppercase)?))
        }
        "object" => match (schema.get("properties"), schema.get("additionalProperties")) {
            (Some(properties), _) => DataType::Struct(
                properties
                    .members()
                    .ok_or("JSON schema properties must be an object")?
                    .iter()
                    .map(|(name, property)| {
                        let name = if uppercase {
                            name.to_uppercase()
                        } else {
                            name.clone()
                        };
                        Ok((name, sql_type_of(property, uppercase)?))
                    })
                    .collect::<Result<Vec<_>, String>>()?,
            ),
            (None, Some(values @ JsonTree::Object(_))) => DataType::Map(
                Box::new(DataType::String),
                Box::new(sql_type_of(values, uppercase)?),
            ),
            _ => return Err(format!("JSON object schema without properties: {schema}")),
        },
        other => return Err(format!("unsupported JSON schema type {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_schemas_match_connect() {
        let cases = [
            (
                vec![("FOO".to_string(), DataType::Int)],
                false,
                r#"{"type":"object","properties":{"FOO":{"connect.index":0,"oneOf":[{"type":"null"},{"type":"integer","connect.type":"int32"}]}}}"#,
            ),
            (
                vec![("K".to_string(), DataType::Boolean)],
                true,
                r#"{"oneOf":[{"type":"null"},{"type":"boolean","connect.type":"boolean"}]}"#,
            ),
        ];
        for (columns, unwrapped, expected) in cases {
            let schema = json_schema_for(&columns, unwrapped).expect("generates");
            assert_eq!(schema.to_string(), expected);
        }
    }

    #[test]
    fn schemas_infer_to_ksqldb_types() {
        let cases = [
            (r#"{"type":"integer"}"#, false, "BIGINT"),
            (
                r#"{"oneOf":[{"type":"null"},{"type":"integer","connect.type":"int32"}]}"#,
                false,
                "INTEGER",
            ),
            (
                r#"{"oneOf":[{"type":"null"},{"type":"number","title":"org.apache.kafka.connect.data.Decimal","connect.version":1,"connect.type":"bytes","connect.parameters":{"scale":"2","connect.decimal.precision":"4"}}]}"#,
                false,
                "DECIMAL(4, 2)",
            ),
            (
                r#"{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"number"}}}"#,
                true,
                "STRUCT<`B` STRING, `A` DOUBLE>",
            ),
            (
                r#"{"type":"object","additionalProperties":{"type":"integer"}}"#,
                false,
                "MAP<STRING, BIGINT>",
            ),
            (r#"{"type":["null","string"]}"#, false, "STRING"),
            (
                r#"{"type":"array","items":{"type":"string","connect.type":"bytes"}}"#,
                false,
                "ARRAY<BYTES>",
            ),
        ];
        for (text, uppercase, expected) in cases {
            let schema = JsonTree::parse(text).expect("parses");
            let data_type = sql_type_of(&schema, uppercase).expect("infers");
            assert_eq!(crate::types::sql_type_name(&data_type), expected, "{text}");
        }
        let generated = json_schema_for(
            &[(
                "S".to_string(),
                DataType::Struct(vec![(
                    "M".into(),
                    DataType::Map(Box::new(DataType::String), Box::new(DataType::Timestamp)),
                )]),
            )],
            false,
        )
        .expect("generates");
        assert_eq!(
            crate::types::sql_type_name(&sql_type_of(&generated, false).expect("infers")),
            "STRUCT<`S` STRUCT<`M` MAP<STRING, TIMESTAMP>>>"
        );
    }
}
