//! Avro payloads into columns: a `Reader` tree compiled once from the writer schema and the
//! column types, then run per payload straight into the column writers.
//!
//! Record fields match struct fields by exact name, then ignoring case; fields no column
//! wants are skipped and columns no field fills are null. Scalars coerce through
//! `scalar::write_scalar`; a schema that cannot fill a column type fails only the records
//! that hold a value there.

use std::sync::Arc;

use arrow::datatypes::{DataType, Fields};
use planner::schema_registry::avro::{AvroEnum, AvroRecord, AvroSchema};

use super::binary::{Cursor, decimal_value};
use crate::format::match_field;
use crate::format::scalar::{Scalar, write_scalar};
use crate::format::writer::ColumnWriter;

/// Reads one value of the writer schema into one column.
#[derive(Debug)]
pub(super) enum Reader {
    Null,
    Scalar(ScalarRead, DataType),
    Union(Vec<Reader>),
    Array(Box<Reader>),
    Map(Box<Reader>),
    Record(RecordReader),
    /// The schema cannot fill the column: reading a value fails with this message.
    Mismatch(String),
}

#[derive(Debug)]
pub(super) enum ScalarRead {
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
    Enum(Arc<AvroEnum>),
    Decimal { scale: u32, fixed: Option<usize> },
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
}

/// Reads a record into columns (a STRUCT's fields, or the row's columns).
#[derive(Debug)]
pub(super) struct RecordReader {
    fields: Vec<FieldRead>,
    /// Columns no record field fills.
    missing: Vec<usize>,
}

#[derive(Debug)]
enum FieldRead {
    Column(usize, Reader),
    Skip(AvroSchema),
}

impl RecordReader {
    pub(super) fn new(record: &AvroRecord, columns: &Fields) -> Self {
        let mut taken = vec![false; columns.len()];
        let fields = record
            .fields
            .iter()
            .map(|field| {
                let names = columns.iter().map(|column| column.name().as_str());
                match match_field(names, &field.name, &taken) {
                    Some(index) => {
                        taken[index] = true;
                        FieldRead::Column(
                            index,
                            Reader::new(&field.schema, columns[index].data_type()),
                        )
                    }
                    None => FieldRead::Skip(field.schema.clone()),
                }
            })
            .collect();
        let missing = (0..columns.len()).filter(|index| !taken[*index]).collect();
        Self { fields, missing }
    }

    /// Reads one record, one value into each writer.
    pub(super) fn read(
        &self,
        cursor: &mut Cursor<'_>,
        writers: &mut [ColumnWriter],
    ) -> Result<(), String> {
        for field in &self.fields {
            match field {
                FieldRead::Column(index, reader) => reader.read(cursor, &mut writers[*index])?,
                FieldRead::Skip(schema) => cursor.skip(schema)?,
            }
        }
        for index in &self.missing {
            writers[*index].push_null();
        }
        Ok(())
    }
}

impl Reader {
    pub(super) fn new(schema: &AvroSchema, data_type: &DataType) -> Self {
        let scalar = |read| Self::Scalar(read, data_type.clone());
        match (schema, data_type) {
            (AvroSchema::Null, _) => Self::Null,
            (AvroSchema::Union(members), _) => Self::Union(
                members
                    .iter()
                    .map(|member| Self::new(member, data_type))
                    .collect(),
            ),
            (AvroSchema::Record(record), DataType::Struct(fields)) => {
                Self::Record(RecordReader::new(record, fields))
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
                    "cannot read Avro {} as {}",
                    schema.to_json(),
                    planner::types::arrow_type_name(data_type)
                ))
            }
            (AvroSchema::Boolean, _) => scalar(ScalarRead::Boolean),
            (AvroSchema::Int, _) => scalar(ScalarRead::Int),
            (AvroSchema::Long, _) => scalar(ScalarRead::Long),
            (AvroSchema::Float, _) => scalar(ScalarRead::Float),
            (AvroSchema::Double, _) => scalar(ScalarRead::Double),
            (AvroSchema::Bytes, _) => scalar(ScalarRead::Bytes),
            (AvroSchema::String, _) => scalar(ScalarRead::String),
            (AvroSchema::Fixed { size, .. }, _) => scalar(ScalarRead::Fixed(*size)),
            (AvroSchema::Enum(enumeration), _) => scalar(ScalarRead::Enum(Arc::clone(enumeration))),
            (AvroSchema::Decimal { scale, fixed, .. }, _) => scalar(ScalarRead::Decimal {
                scale: *scale,
                fixed: *fixed,
            }),
            (AvroSchema::Date, _) => scalar(ScalarRead::Date),
            (AvroSchema::TimeMillis, _) => scalar(ScalarRead::TimeMillis),
            (AvroSchema::TimeMicros, _) => scalar(ScalarRead::TimeMicros),
            (AvroSchema::TimestampMillis, _) => scalar(ScalarRead::TimestampMillis),
            (AvroSchema::TimestampMicros, _) => scalar(ScalarRead::TimestampMicros),
        }
    }

    pub(super) fn read(
        &self,
        cursor: &mut Cursor<'_>,
        writer: &mut ColumnWriter,
    ) -> Result<(), String> {
        match self {
            Self::Null => writer.push_null(),
            Self::Scalar(read, data_type) => read_scalar(read, cursor, data_type, writer)?,
            Self::Union(members) => {
                let index = cursor.read_long()?;
                let member = usize::try_from(index)
                    .ok()
                    .and_then(|index| members.get(index))
                    .ok_or_else(|| format!("invalid Avro union index {index}"))?;
                member.read(cursor, writer)?;
            }
            Self::Array(items) => {
                let child = writer.list_child();
                loop {
                    let count = cursor.read_block_count()?;
                    if count == 0 {
                        break;
                    }
                    for _ in 0..count {
                        items.read(cursor, child)?;
                    }
                }
                writer.commit_list();
            }
            Self::Map(values) => {
                let (keys, value_writer) = writer.map_children();
                loop {
                    let count = cursor.read_block_count()?;
                    if count == 0 {
                        break;
                    }
                    for _ in 0..count {
                        keys.push_bytes(cursor.read_str()?.as_bytes());
                        values.read(cursor, value_writer)?;
                    }
                }
                writer.commit_map();
            }
            Self::Record(record) => {
                record.read(cursor, writer.struct_children())?;
                writer.commit_struct();
            }
            Self::Mismatch(message) => return Err(message.clone()),
        }
        Ok(())
    }
}

/// Reads one scalar and writes it into a column of `data_type`.
fn read_scalar(
    read: &ScalarRead,
    cursor: &mut Cursor<'_>,
    data_type: &DataType,
    writer: &mut ColumnWriter,
) -> Result<(), String> {
    let value = match read {
        ScalarRead::Boolean => Scalar::Bool(cursor.read_bool()?),
        ScalarRead::Int => Scalar::Int(i64::from(cursor.read_int()?)),
        ScalarRead::Long => Scalar::Int(cursor.read_long()?),
        ScalarRead::Float => Scalar::Float(f64::from(cursor.read_float()?)),
        ScalarRead::Double => Scalar::Float(cursor.read_double()?),
        ScalarRead::Bytes => Scalar::Bytes(cursor.read_bytes()?),
        ScalarRead::String => Scalar::Str(cursor.read_str()?),
        ScalarRead::Fixed(size) => Scalar::Bytes(cursor.read_fixed(*size)?),
        ScalarRead::Enum(enumeration) => {
            let index = cursor.read_int()?;
            let symbol = usize::try_from(index)
                .ok()
                .and_then(|index| enumeration.symbols.get(index))
                .ok_or_else(|| format!("invalid index {index} of enum {}", enumeration.name))?;
            Scalar::Str(symbol)
        }
        ScalarRead::Decimal { scale, fixed } => {
            let bytes = match fixed {
                Some(size) => cursor.read_fixed(*size)?,
                None => cursor.read_bytes()?,
            };
            let scale = i8::try_from(*scale).map_err(|_| format!("decimal scale {scale}"))?;
            Scalar::Decimal(decimal_value(bytes)?, scale)
        }
        ScalarRead::Date => Scalar::Date(cursor.read_int()?),
        ScalarRead::TimeMillis => Scalar::Time(i64::from(cursor.read_int()?)),
        ScalarRead::TimeMicros => Scalar::Time(cursor.read_long()? / 1000),
        ScalarRead::TimestampMillis => Scalar::Timestamp(cursor.read_long()?),
        ScalarRead::TimestampMicros => Scalar::Timestamp(cursor.read_long()?.div_euclid(1000)),
    };
    write_scalar(value, data_type, writer)
}
