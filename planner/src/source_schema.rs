//! Formats and schemas of sources: which formats exist and what they can hold, schema
//! inference for CREATE without columns, and the registry schema each schema-registry format
//! is bound to (`FormatDefinition::schema`).
//!
//! A CREATE binds the schema given by `KEY/VALUE_SCHEMA_ID`, else the subject's latest
//! version, else the schema generated from its columns (registered when the source is
//! added). A CREATE ... AS SELECT binds its schema id or registers the generated schema.

use std::sync::Arc;

use parser::ast::{DataType, WithProperties};

use crate::catalog::{Catalog, ColumnDefinition, ColumnKind, FormatDefinition};
use crate::schema_registry::avro::{
    AVRO_NAMESPACE, AvroSchema, KEY_SUFFIX, VALUE_RECORD_NAME, avro_schema_for,
};
use crate::schema_registry::json_schema::{self, json_schema_for};
use crate::schema_registry::json_tree::JsonTree;
use crate::schema_registry::protobuf::{
    NullableRepresentation, ProtoSchema, proto_schema_for, sql_type_of_message,
};
use crate::schema_registry::{
    RegisteredSchema, SchemaBinding, SchemaRegistry, SchemaType, subject_name,
};
use crate::{PlanError, Result, user_error};

/// Every format name the planner accepts.
const FORMATS: [&str; 8] = [
    "JSON",
    "DELIMITED",
    "KAFKA",
    "NONE",
    "AVRO",
    "PROTOBUF",
    "JSON_SR",
    "PROTOBUF_NOSR",
];

/// Whether `name` (upper case) is a format.
pub(crate) fn is_known_format(name: &str) -> bool {
    FORMATS.contains(&name)
}

/// The registry schema type of a format that uses the schema registry.
fn registry_type(format: &str) -> Option<SchemaType> {
    match format {
        "AVRO" => Some(SchemaType::Avro),
        "PROTOBUF" => Some(SchemaType::Protobuf),
        "JSON_SR" => Some(SchemaType::Json),
        _ => None,
    }
}

/// Whether a key of one column is written bare (ksqlDB's `UNWRAP_SINGLES` key feature).
fn unwraps_single_key(format: &str) -> bool {
    matches!(format, "JSON" | "JSON_SR" | "AVRO")
}

/// Which part of a record a format describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Key,
    Value,
}

impl Part {
    fn word(self) -> &'static str {
        match self {
            Self::Key => "KEY",
            Self::Value => "VALUE",
        }
    }

    fn messages(self) -> &'static str {
        match self {
            Self::Key => "keys",
            Self::Value => "values",
        }
    }

    fn column_kind(self) -> ColumnKind {
        match self {
            Self::Key => ColumnKind::Key,
            Self::Value => ColumnKind::Value,
        }
    }
}

/// The schema-related `WITH` properties of one part.
struct PartProperties {
    schema_id: Option<u32>,
    full_name: Option<String>,
    nullable: NullableRepresentation,
}

fn part_properties(
    props: &WithProperties,
    part: Part,
    format: &FormatDefinition,
) -> Result<PartProperties> {
    if matches!(format.name.as_str(), "PROTOBUF" | "PROTOBUF_NOSR")
        && format.wrap_single_value == Some(false)
    {
        return user_error(format!(
            "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'false'.",
            format.name
        ));
    }
    let format = format.name.as_str();
    let word = part.word();
    let schema_id =
        match props.get_text(&format!("{word}_SCHEMA_ID")) {
            None => None,
            Some(text) => Some(text.trim().parse::<u32>().map_err(|_| {
                PlanError::User(format!("Invalid value for {word}_SCHEMA_ID: {text}"))
            })?),
        };
    let mut full_name = props.get_text(&format!("{word}_SCHEMA_FULL_NAME"));
    if part == Part::Value && full_name.is_none() {
        full_name = props.get_text("VALUE_AVRO_SCHEMA_FULL_NAME");
    }
    if let Some(name) = &full_name {
        if !matches!(format, "AVRO" | "PROTOBUF" | "PROTOBUF_NOSR") {
            return user_error(format!(
                "{format} does not support the following configs: [fullSchemaName]"
            ));
        }
        if name.trim().is_empty() {
            return user_error(format!(
                "fullSchemaName cannot be empty. Format configuration: {{fullSchemaName={}}}",
                name.trim()
            ));
        }
    }
    let nullable = match props
        .get_text(&format!("{word}_PROTOBUF_NULLABLE_REPRESENTATION"))
        .map(|text| text.to_uppercase())
        .as_deref()
    {
        None => NullableRepresentation::None,
        Some("WRAPPER") => NullableRepresentation::Wrapper,
        Some("OPTIONAL") => NullableRepresentation::Optional,
        Some(other) => {
            return user_error(format!(
                "Invalid value for {word}_PROTOBUF_NULLABLE_REPRESENTATION: {other}"
            ));
        }
    };
    Ok(PartProperties {
        schema_id,
        full_name: full_name.map(|name| name.trim().to_string()),
        nullable,
    })
}

/// CREATE STREAM/TABLE: checks the schema properties, infers missing key and value columns
/// from the registry, and binds schemas to the formats. `columns` holds the declared ones.
pub(crate) fn complete_create_source(
    catalog: &Catalog,
    props: &WithProperties,
    source_name: &str,
    topic: &str,
    columns: &mut Vec<ColumnDefinition>,
    key_format: &mut FormatDefinition,
    value_format: &mut FormatDefinition,
) -> Result<()> {
    let registry = catalog.schema_registry();
    if columns.is_empty()
        && registry_type(&value_format.name).is_none()
        && registry_type(&key_format.name).is_none()
    {
        return Err(PlanError::User("No columns supplied.".to_string()));
    }
    let mut scratch = registry.clone();
    let mut inferred = Vec::new();
    for (part, format) in [
        (Part::Key, &mut *key_format),
        (Part::Value, &mut *value_format),
    ] {
        let properties = part_properties(props, part, format)?;
        let declared = columns
            .iter()
            .any(|column| column.kind == part.column_kind());
        let infers = registry_type(&format.name).is_some();
        if properties.schema_id.is_some() {
            if !infers {
                return user_error(format!(
                    "{word}_FORMAT should support schema inference when {word}_SCHEMA_ID is provided. Current format is {}.",
                    format.name,
                    word = part.word()
                ));
            }
            if declared {
                return user_error(format!(
                    "Table elements and {}_SCHEMA_ID cannot both exist for create statement.",
                    part.word()
                ));
            }
        }
        let subject = subject_name(topic, part == Part::Key);
        let existing = match properties.schema_id {
            Some(id) => Some(schema_by_id(registry, id, part, topic, &format.name)?),
            None if infers => registry.latest(&subject).map(Arc::clone),
            None => None,
        };
        if !declared && infers {
            match (&existing, part) {
                (Some(schema), _) => {
                    let binding = registry
                        .bind(
                            Some(subject.clone()),
                            Arc::clone(schema),
                            properties.full_name.clone(),
                        )
                        .map_err(PlanError::User)?;
                    let unwrapped = match part {
                        Part::Key => unwraps_single_key(&format.name),
                        Part::Value => format.wrap_single_value == Some(false),
                    };
                    let uppercase = properties.schema_id.is_none();
                    for (name, data_type) in infer_columns(&binding, part, unwrapped, uppercase)
                        .map_err(|error| {
                            PlanError::User(format!(
                                "Unable to verify the {} schema of topic '{topic}': {error}",
                                part.messages()
                            ))
                        })?
                    {
                        inferred.push(ColumnDefinition {
                            name,
                            data_type,
                            kind: part.column_kind(),
                        });
                    }
                    format.schema = Some(Arc::new(binding));
                    continue;
                }
                (None, Part::Value) => {
                    return user_error(format!(
                        "Schema for message values on topic '{topic}' does not exist in the Schema Registry.Subject: {subject}"
                    ));
                }
                (None, Part::Key) => continue,
            }
        }
        let part_columns: Vec<(String, DataType)> = columns
            .iter()
            .filter(|column| column.kind == part.column_kind())
            .map(|column| (column.name.clone(), column.data_type.clone()))
            .collect();
        if part_columns.is_empty() {
            continue;
        }
        format.schema = match existing {
            Some(schema) => Some(Arc::new(
                registry
                    .bind(Some(subject), schema, properties.full_name.clone())
                    .map_err(PlanError::User)?,
            )),
            None => generate(
                &mut scratch,
                source_name,
                topic,
                part,
                format,
                &properties,
                &part_columns,
            )?
            .map(Arc::new),
        };
        check_columns(&format.name, &part_columns)?;
    }
    columns.extend(inferred);
    Ok(())
}

/// CREATE ... AS SELECT: binds the sink's formats to `KEY/VALUE_SCHEMA_ID` or to the schemas
/// generated from its columns.
pub(crate) fn bind_sink_schemas(
    catalog: &Catalog,
    props: &WithProperties,
    sink_name: &str,
    topic: &str,
    columns: &[ColumnDefinition],
    key_format: &mut FormatDefinition,
    value_format: &mut FormatDefinition,
) -> Result<()> {
    let registry = catalog.schema_registry();
    let mut scratch = registry.clone();
    for (part, format) in [
        (Part::Key, &mut *key_format),
        (Part::Value, &mut *value_format),
    ] {
        let properties = part_properties(props, part, format)?;
        let part_columns: Vec<(String, DataType)> = columns
            .iter()
            .filter(|column| column.kind == part.column_kind())
            .map(|column| (column.name.clone(), column.data_type.clone()))
            .collect();
        check_columns(&format.name, &part_columns)?;
        if part_columns.is_empty() {
            continue;
        }
        format.schema = match properties.schema_id {
            Some(id) if registry_type(&format.name).is_some() => {
                let schema = schema_by_id(registry, id, part, topic, &format.name)?;
                let binding = registry
                    .bind(
                        Some(subject_name(topic, part == Part::Key)),
                        schema,
                        properties.full_name.clone(),
                    )
                    .map_err(PlanError::User)?;
                check_schema_columns(&binding, part, format, &part_columns)?;
                Some(Arc::new(binding))
            }
            Some(_) => {
                return user_error(format!(
                    "{word}_FORMAT should support schema inference when {word}_SCHEMA_ID is provided. Current format is {}.",
                    format.name,
                    word = part.word()
                ));
            }
            None => generate(
                &mut scratch,
                sink_name,
                topic,
                part,
                format,
                &properties,
                &part_columns,
            )?
            .map(Arc::new),
        };
    }
    Ok(())
}

/// Registered schema `id`, which must be of the format's schema type.
fn schema_by_id(
    registry: &SchemaRegistry,
    id: u32,
    part: Part,
    topic: &str,
    format: &str,
) -> Result<Arc<RegisteredSchema>> {
    let schema = registry.by_id(id).ok_or_else(|| {
        PlanError::User(format!(
            "Schema with id {id} for message {} on topic '{topic}' does not exist in the Schema Registry.",
            part.messages()
        ))
    })?;
    if registry_type(format) != Some(schema.schema_type) {
        return user_error(format!(
            "Schema with id {id} is a {} schema, which the {format} format cannot use.",
            schema.schema_type.name()
        ));
    }
    Ok(Arc::clone(schema))
}

/// Checks that a query's columns fit the registered schema a sink is bound to
/// (`KEY/VALUE_SCHEMA_ID` on CREATE ... AS SELECT): each column, in order, must be the
/// schema's column of the same name and type; the schema may have more.
fn check_schema_columns(
    binding: &SchemaBinding,
    part: Part,
    format: &FormatDefinition,
    columns: &[(String, DataType)],
) -> Result<()> {
    let unwrapped = columns.len() == 1
        && match part {
            Part::Key => unwraps_single_key(&format.name),
            Part::Value => format.wrap_single_value == Some(false),
        };
    let schema_columns = infer_columns(binding, part, unwrapped, false).map_err(PlanError::User)?;
    let list = |columns: &[&(String, DataType)]| {
        columns
            .iter()
            .map(|(name, data_type)| format!("`{name}` {}", crate::types::sql_type_name(data_type)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let different: Vec<&(String, DataType)> = columns
        .iter()
        .enumerate()
        .filter(|(index, column)| schema_columns.get(*index) != Some(*column))
        .map(|(_, column)| column)
        .collect();
    if different.is_empty() {
        return Ok(());
    }
    user_error(format!(
        "The following {} columns are changed, missing or reordered: [{}]. Schema from schema registry is [{}]",
        part.word().to_lowercase(),
        list(&different),
        list(&schema_columns.iter().collect::<Vec<_>>())
    ))
}

/// The schema ksqlDB generates for the columns of one part, registered in `scratch` (the
/// catalog registers it for real when the source is added).
fn generate(
    scratch: &mut SchemaRegistry,
    source_name: &str,
    topic: &str,
    part: Part,
    format: &FormatDefinition,
    properties: &PartProperties,
    columns: &[(String, DataType)],
) -> Result<Option<SchemaBinding>> {
    let unwrapped = columns.len() == 1
        && match part {
            Part::Key => unwraps_single_key(&format.name),
            Part::Value => format.wrap_single_value == Some(false),
        };
    let (schema_type, text) = match format.name.as_str() {
        "AVRO" => {
            let full_name = properties.full_name.clone().unwrap_or_else(|| match part {
                Part::Key => format!("{AVRO_NAMESPACE}.{}{KEY_SUFFIX}", capitalized(source_name)),
                Part::Value => format!("{AVRO_NAMESPACE}.{VALUE_RECORD_NAME}"),
            });
            let schema =
                avro_schema_for(columns, unwrapped, &full_name).map_err(PlanError::User)?;
            (SchemaType::Avro, schema.to_json().to_string())
        }
        "JSON_SR" => {
            let schema = json_schema_for(columns, unwrapped).map_err(PlanError::User)?;
            (SchemaType::Json, schema.to_string())
        }
        "PROTOBUF" | "PROTOBUF_NOSR" => {
            let text = proto_schema_for(
                columns,
                properties.full_name.as_deref(),
                properties.nullable,
            )
            .map_err(PlanError::User)?;
            if format.name == "PROTOBUF_NOSR" {
                return Ok(Some(SchemaBinding::unregistered(
                    SchemaType::Protobuf,
                    text,
                )));
            }
            (SchemaType::Protobuf, text)
        }
        _ => return Ok(None),
    };
    let subject = subject_name(topic, part == Part::Key);
    let id = scratch
        .register(&subject, schema_type, &text, Vec::new(), None)
        .map_err(PlanError::User)?;
    Ok(Some(SchemaBinding {
        subject: Some(subject),
        schema: Arc::new(RegisteredSchema {
            id,
            schema_type,
            text,
            references: Vec::new(),
        }),
        imports: Vec::new(),
        message: None,
    }))
}

/// `OUTPUT` → `Output`, as ksqlDB names generated key records.
fn capitalized(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Checks that a format can hold the columns, with ksqlDB's messages.
fn check_columns(format: &str, columns: &[(String, DataType)]) -> Result<()> {
    if matches!(format, "JSON" | "JSON_SR")
        && columns
            .iter()
            .any(|(_, data_type)| has_non_string_map_key(data_type))
    {
        return user_error("JSON only supports MAP types with STRING keys");
    }
    Ok(())
}

fn has_non_string_map_key(data_type: &DataType) -> bool {
    match data_type {
        DataType::Map(key, value) => **key != DataType::String || has_non_string_map_key(value),
        DataType::Array(element) => has_non_string_map_key(element),
        DataType::Struct(fields) => fields
            .iter()
            .any(|(_, field_type)| has_non_string_map_key(field_type)),
        _ => false,
    }
}

/// The columns a bound schema describes: for a key that is written bare or a value with
/// `WRAP_SINGLE_VALUE=false`, one column (`ROWKEY`/`ROWVAL`) of the whole schema's type;
/// otherwise the record's fields (a non-record schema is one column).
fn infer_columns(
    binding: &SchemaBinding,
    part: Part,
    unwrapped: bool,
    uppercase: bool,
) -> Result<Vec<(String, DataType)>, String> {
    let single = match part {
        Part::Key => "ROWKEY",
        Part::Value => "ROWVAL",
    };
    let schema = &binding.schema;
    match schema.schema_type {
        SchemaType::Avro => {
            let avro = AvroSchema::parse(&schema.text)?;
            let data_type = crate::schema_registry::avro::sql_type_of(&avro, uppercase)?;
            match data_type {
                DataType::Struct(fields) if !unwrapped => Ok(fields),
                other => Ok(vec![(single.to_string(), other)]),
            }
        }
        SchemaType::Json => {
            let tree = JsonTree::parse(&schema.text)?;
            let data_type = json_schema::sql_type_of(&tree, uppercase)?;
            match data_type {
                DataType::Struct(fields) if !unwrapped => Ok(fields),
                other => Ok(vec![(single.to_string(), other)]),
            }
        }
        SchemaType::Protobuf => {
            let proto =
                ProtoSchema::parse(&schema.text, &binding.imports, binding.message.as_deref())?;
            sql_type_of_message(&proto.message, uppercase)
        }
    }
}

#[cfg(test)]
mod tests;
