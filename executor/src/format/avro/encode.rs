//! Columns into Avro payloads: a `Writer` tree compiled once from the writer schema and the
//! column types, run per row over the downcast columns.
//!
//! Record fields take the struct field of the same name (exact, then ignoring case). A null
//! or missing value goes to the union's `null` branch, else to the field's default; with
//! neither the row fails. Unions take the member that best fits the column type.

use std::sync::Arc;

use arrow::datatypes::{DataType, Fields};
use planner::schema_registry::avro::{AvroEnum, AvroRecord, AvroSchema};
use planner::schema_registry::json_tree::JsonTree;

use super::binary::{decimal_bytes, write_bytes, write_long};
use crate::format::arrow_view::{ArrowView, ViewValues};
use crate::format::match_field;
use crate::format::scalar::{Scalar, rescale};

/// Writes one column value as one value of the writer schema.
#[derive(Debug)]
pub(super) enum Writer {
    Null,
    Scalar(ScalarWrite),
    Union {
        null_index: Option<usize>,
        value_index: usize,
        value: Box<Writer>,
    },
    Array(Box<Writer>),
    Map(Box<Writer>),
    Record(RecordWriter),
    Mismatch(String),
}

#[derive(Debug)]
pub(super) enum ScalarWrite {
    Boolean,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
    Enum(Arc<AvroEnum>),
    Decimal { scale: i8, fixed: Option<usize> },
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
}

/// Writes a record from columns (a STRUCT's fields, or the row's columns).
#[derive(Debug)]
pub(super) struct RecordWriter {
    fields: Vec<FieldWrite>,
}

#[derive(Debug)]
struct FieldWrite {
    name: String,
    /// The column the field takes, if any.
    source: Option<usize>,
    writer: Writer,
    /// What a null or missing value is written as.
    null: NullWrite,
}

#[derive(Debug)]
enum NullWrite {
    /// The union's `null` member.
    Union(usize),
    /// The schema is `null`: nothing to write.
    Nothing,
    /// The field's encoded `default`.
    Default(Vec<u8>),
    /// Neither: the row fails.
    Fail,
}

impl RecordWriter {
    pub(super) fn new(record: &AvroRecord, columns: &Fields) -> Self {
        let mut taken = vec![false; columns.len()];
        let fields = record
            .fields
            .iter()
            .map(|field| {
                let names = columns.iter().map(|column| column.name().as_str());
                let source = match_field(names, &field.name, &taken);
                if let Some(index) = source {
                    taken[index] = true;
                }
                let writer = match source {
                    Some(index) => Writer::new(&field.schema, columns[index].data_type()),
                    None => Writer::Null,
                };
                let default = field
                    .default
                    .as_ref()
                    .and_then(|default| encode_default(&field.schema, default).ok());
                let null = match (&field.schema, default) {
                    (AvroSchema::Null, _) => NullWrite::Nothing,
                    (AvroSchema::Union(members), default) => {
                        match members
                            .iter()
                            .position(|member| *member == AvroSchema::Null)
                        {
                            Some(index) => NullWrite::Union(index),
                            None => default.map_or(NullWrite::Fail, NullWrite::Default),
                        }
                    }
                    (_, Some(default)) => NullWrite::Default(default),
                    (_, None) => NullWrite::Fail,
                };
                FieldWrite {
                    name: field.name.clone(),
                    source,
                    writer,
                    null,
                }
            })
            .collect();
        Self { fields }
    }

    /// Writes the record of `row` from `columns`.
    pub(super) fn write(
        &self,
        columns: &[&ArrowView<'_>],
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        for field in &self.fields {
            match field.source.map(|index| columns[index]) {
                Some(column) if !column.is_null(row) => field.writer.write(column, row, out)?,
                column => match &field.null {
                    NullWrite::Union(index) => write_long(*index as i64, out),
                    NullWrite::Nothing => {}
                    NullWrite::Default(default) => out.extend_from_slice(default),
                    NullWrite::Fail if column.is_some() => {
                        return Err(format!(
                            "null value for field {} of the Avro schema, which is not optional",
                            field.name
                        ));
                    }
                    NullWrite::Fail => {
                        return Err(format!(
                            "no value for field {} of the Avro schema, which has no default",
                            field.name
                        ));
                    }
                },
            }
        }
        Ok(())
    }
}

impl Writer {
    pub(super) fn new(schema: &AvroSchema, data_type: &DataType) -> Self {
        match (schema, data_type) {
            (AvroSchema::Null, _) => Self::Null,
            (AvroSchema::Union(members), _) => {
                let null_index = members
                    .iter()
                    .position(|member| *member == AvroSchema::Null);
                let value_index = members
                    .iter()
                    .enumerate()
                    .filter(|(_, member)| **member != AvroSchema::Null)
                    .max_by_key(|(index, member)| (fit(member, data_type), usize::MAX - index))
                    .map(|(index, _)| index);
                match value_index {
                    Some(value_index) => Self::Union {
                        null_index,
                        value_index,
                        value: Box::new(Self::new(&members[value_index], data_type)),
                    },
                    None => Self::Null,
                }
            }
            (AvroSchema::Record(record), DataType::Struct(fields)) => {
                Self::Record(RecordWriter::new(record, fields))
            }
            (AvroSchema::Array(items), DataType::List(item)) => {
                Self::Array(Box::new(Self::new(items, item.data_type())))
            }
            (AvroSchema::Map(values), DataType::Map(entries, _)) => match entries.data_type() {
                DataType::Struct(fields) if fields.len() == 2 => {
                    Self::Map(Box::new(Self::new(values, fields[1].data_type())))
                }
                _ => Self::Mismatch(format!("unsupported MAP type {data_type}")),
            },
            (AvroSchema::Record(_) | AvroSchema::Array(_) | AvroSchema::Map(_), _)
            | (_, DataType::Struct(_) | DataType::List(_) | DataType::Map(..)) => {
                Self::Mismatch(format!(
                    "cannot write {} as Avro {}",
                    planner::types::arrow_type_name(data_type),
                    schema.to_json()
                ))
            }
            (AvroSchema::Boolean, _) => Self::Scalar(ScalarWrite::Boolean),
            (AvroSchema::Int | AvroSchema::Long, _) => Self::Scalar(ScalarWrite::Long),
            (AvroSchema::Float, _) => Self::Scalar(ScalarWrite::Float),
            (AvroSchema::Double, _) => Self::Scalar(ScalarWrite::Double),
            (AvroSchema::Bytes, _) => Self::Scalar(ScalarWrite::Bytes),
            (AvroSchema::String, _) => Self::Scalar(ScalarWrite::String),
            (AvroSchema::Fixed { size, .. }, _) => Self::Scalar(ScalarWrite::Fixed(*size)),
            (AvroSchema::Enum(enumeration), _) => {
                Self::Scalar(ScalarWrite::Enum(Arc::clone(enumeration)))
            }
            (AvroSchema::Decimal { scale, fixed, .. }, _) => Self::Scalar(ScalarWrite::Decimal {
                scale: i8::try_from(*scale).unwrap_or(i8::MAX),
                fixed: *fixed,
            }),
            (AvroSchema::Date, _) => Self::Scalar(ScalarWrite::Date),
            (AvroSchema::TimeMillis, _) => Self::Scalar(ScalarWrite::TimeMillis),
            (AvroSchema::TimeMicros, _) => Self::Scalar(ScalarWrite::TimeMicros),
            (AvroSchema::TimestampMillis, _) => Self::Scalar(ScalarWrite::TimestampMillis),
            (AvroSchema::TimestampMicros, _) => Self::Scalar(ScalarWrite::TimestampMicros),
        }
    }

    fn write_null(&self, out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            Self::Null => Ok(()),
            Self::Union {
                null_index: Some(index),
                ..
            } => {
                write_long(*index as i64, out);
                Ok(())
            }
            _ => Err("null value for a non-optional Avro field".to_string()),
        }
    }

    /// Writes the value of `column` at `row`.
    pub(super) fn write(
        &self,
        column: &ArrowView<'_>,
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        if column.is_null(row) {
            return self.write_null(out);
        }
        match self {
            Self::Null => Err("non-null value for an Avro null".to_string()),
            Self::Scalar(write) => write_scalar(write, column.scalar(row), out),
            Self::Union {
                value_index, value, ..
            } => {
                write_long(*value_index as i64, out);
                value.write(column, row, out)
            }
            Self::Array(items) => {
                let ViewValues::List(offsets, child) = &column.values else {
                    return Err("expected an ARRAY column".to_string());
                };
                let range = ArrowView::range(offsets, row);
                if !range.is_empty() {
                    write_long(range.len() as i64, out);
                    for item in range {
                        items.write(child, item, out)?;
                    }
                }
                out.push(0);
                Ok(())
            }
            Self::Map(values) => {
                let ViewValues::Map(offsets, keys, value_view) = &column.values else {
                    return Err("expected a MAP column".to_string());
                };
                let range = ArrowView::range(offsets, row);
                if !range.is_empty() {
                    write_long(range.len() as i64, out);
                    for entry in range {
                        let key = keys.scalar(entry).to_text().unwrap_or_default();
                        write_bytes(key.as_bytes(), out);
                        values.write(value_view, entry, out)?;
                    }
                }
                out.push(0);
                Ok(())
            }
            Self::Record(record) => {
                let ViewValues::Struct(children) = &column.values else {
                    return Err("expected a STRUCT column".to_string());
                };
                let children: Vec<&ArrowView<'_>> = children.iter().map(|(_, view)| view).collect();
                record.write(&children, row, out)
            }
            Self::Mismatch(message) => Err(message.clone()),
        }
    }
}

/// How well a union member holds a column type (higher is better).
fn fit(schema: &AvroSchema, data_type: &DataType) -> u8 {
    match (schema, data_type) {
        (AvroSchema::Boolean, DataType::Boolean)
        | (AvroSchema::Int, DataType::Int32)
        | (AvroSchema::Long, DataType::Int64)
        | (AvroSchema::Double, DataType::Float64)
        | (AvroSchema::String, DataType::Utf8)
        | (AvroSchema::Bytes, DataType::Binary)
        | (AvroSchema::Decimal { .. }, DataType::Decimal128(..))
        | (AvroSchema::Date, DataType::Date32)
        | (AvroSchema::TimeMillis, DataType::Time32(_))
        | (AvroSchema::TimestampMillis, DataType::Timestamp(..))
        | (AvroSchema::Record(_), DataType::Struct(_))
        | (AvroSchema::Array(_), DataType::List(_))
        | (AvroSchema::Map(_), DataType::Map(..)) => 3,
        (AvroSchema::Long, DataType::Int32)
        | (AvroSchema::Float, DataType::Float64)
        | (AvroSchema::Enum(_), DataType::Utf8)
        | (AvroSchema::Fixed { .. }, DataType::Binary)
        | (AvroSchema::TimeMicros, DataType::Time32(_))
        | (AvroSchema::TimestampMicros, DataType::Timestamp(..)) => 2,
        (AvroSchema::Record(_) | AvroSchema::Array(_) | AvroSchema::Map(_), _)
        | (_, DataType::Struct(_) | DataType::List(_) | DataType::Map(..)) => 0,
        _ => 1,
    }
}

fn write_scalar(write: &ScalarWrite, value: Scalar<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let cannot = |what: &str| format!("cannot write {value:?} as Avro {what}");
    match write {
        ScalarWrite::Boolean => match value {
            Scalar::Bool(flag) => out.push(u8::from(flag)),
            _ => return Err(cannot("boolean")),
        },
        ScalarWrite::Long => write_long(value.to_i64().ok_or_else(|| cannot("int"))?, out),
        ScalarWrite::Float => {
            let number = value.to_f64().ok_or_else(|| cannot("float"))? as f32;
            out.extend_from_slice(&number.to_le_bytes());
        }
        ScalarWrite::Double => {
            let number = value.to_f64().ok_or_else(|| cannot("double"))?;
            out.extend_from_slice(&number.to_le_bytes());
        }
        ScalarWrite::Bytes => match value {
            Scalar::Bytes(bytes) => write_bytes(bytes, out),
            Scalar::Str(text) => write_bytes(text.as_bytes(), out),
            _ => return Err(cannot("bytes")),
        },
        ScalarWrite::String => {
            let text = value.to_text().ok_or_else(|| cannot("string"))?;
            write_bytes(text.as_bytes(), out);
        }
        ScalarWrite::Fixed(size) => match value {
            Scalar::Bytes(bytes) if bytes.len() == *size => out.extend_from_slice(bytes),
            _ => return Err(cannot("fixed")),
        },
        ScalarWrite::Enum(enumeration) => {
            let text = value.to_text().ok_or_else(|| cannot("enum"))?;
            let index = enumeration
                .symbols
                .iter()
                .position(|symbol| *symbol == text)
                .ok_or_else(|| format!("'{text}' is not a symbol of enum {}", enumeration.name))?;
            write_long(index as i64, out);
        }
        ScalarWrite::Decimal { scale, fixed } => {
            let unscaled = match value {
                Scalar::Decimal(unscaled, own) => rescale(unscaled, own, *scale),
                other => other.to_decimal(38, *scale)?,
            };
            let bytes = decimal_bytes(unscaled, *fixed)?;
            if fixed.is_some() {
                out.extend_from_slice(&bytes);
            } else {
                write_bytes(&bytes, out);
            }
        }
        ScalarWrite::Date => match value {
            Scalar::Date(days) => write_long(i64::from(days), out),
            Scalar::Int(days) => write_long(days, out),
            _ => return Err(cannot("date")),
        },
        ScalarWrite::TimeMillis => write_long(value.to_i64().ok_or_else(|| cannot("time"))?, out),
        ScalarWrite::TimeMicros => {
            write_long(value.to_i64().ok_or_else(|| cannot("time"))? * 1000, out)
        }
        ScalarWrite::TimestampMillis => {
            write_long(value.to_i64().ok_or_else(|| cannot("timestamp"))?, out)
        }
        ScalarWrite::TimestampMicros => write_long(
            value.to_i64().ok_or_else(|| cannot("timestamp"))? * 1000,
            out,
        ),
    }
    Ok(())
}

/// Encodes a field's JSON `default` (for a union, a value of its first member).
fn encode_default(schema: &AvroSchema, default: &JsonTree) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write_default(schema, default, &mut out)?;
    Ok(out)
}

fn write_default(schema: &AvroSchema, default: &JsonTree, out: &mut Vec<u8>) -> Result<(), String> {
    let invalid = || format!("invalid default {default} for Avro {}", schema.to_json());
    let number = || match default {
        JsonTree::Number(number) => number.as_f64().ok_or_else(invalid),
        _ => Err(invalid()),
    };
    match schema {
        AvroSchema::Null => {}
        AvroSchema::Boolean => match default {
            JsonTree::Bool(flag) => out.push(u8::from(*flag)),
            _ => return Err(invalid()),
        },
        AvroSchema::Int
        | AvroSchema::Long
        | AvroSchema::Date
        | AvroSchema::TimeMillis
        | AvroSchema::TimeMicros
        | AvroSchema::TimestampMillis
        | AvroSchema::TimestampMicros => write_long(number()? as i64, out),
        AvroSchema::Float => out.extend_from_slice(&(number()? as f32).to_le_bytes()),
        AvroSchema::Double => out.extend_from_slice(&number()?.to_le_bytes()),
        AvroSchema::String | AvroSchema::Bytes | AvroSchema::Decimal { fixed: None, .. } => {
            let text = default.as_str().ok_or_else(invalid)?;
            let bytes: Vec<u8> = if matches!(schema, AvroSchema::String) {
                text.as_bytes().to_vec()
            } else {
                // Avro writes bytes defaults as strings of code points 0-255.
                text.chars().map(|c| c as u32 as u8).collect()
            };
            write_bytes(&bytes, out);
        }
        AvroSchema::Fixed { .. } | AvroSchema::Decimal { fixed: Some(_), .. } => {
            let text = default.as_str().ok_or_else(invalid)?;
            out.extend(text.chars().map(|c| c as u32 as u8));
        }
        AvroSchema::Enum(enumeration) => {
            let text = default.as_str().ok_or_else(invalid)?;
            let index = enumeration
                .symbols
                .iter()
                .position(|symbol| symbol == text)
                .ok_or_else(invalid)?;
            write_long(index as i64, out);
        }
        AvroSchema::Array(items) => {
            let values = default.as_array().ok_or_else(invalid)?;
            if !values.is_empty() {
                write_long(values.len() as i64, out);
                for value in values {
                    write_default(items, value, out)?;
                }
            }
            out.push(0);
        }
        AvroSchema::Map(values) => {
            let members = default.members().ok_or_else(invalid)?;
            if !members.is_empty() {
                write_long(members.len() as i64, out);
                for (key, value) in members {
                    write_bytes(key.as_bytes(), out);
                    write_default(values, value, out)?;
                }
            }
            out.push(0);
        }
        AvroSchema::Record(record) => {
            for field in &record.fields {
                let value = default
                    .get(&field.name)
                    .or(field.default.as_ref())
                    .ok_or_else(invalid)?;
                write_default(&field.schema, value, out)?;
            }
        }
        AvroSchema::Union(members) => {
            let first = members.first().ok_or_else(invalid)?;
            write_long(0, out);
            write_default(first, default, out)?;
        }
    }
    Ok(())
}
