//! Protobuf messages into columns: a `MessageReader` compiled once from the message
//! descriptor and the column types; per payload the message's raw fields are gathered, then
//! each column is written from its field's occurrences.
//!
//! Absent fields follow ksqlDB: scalars without presence take their default (`0`, `""`,
//! `false`, the first enum symbol; BYTES reads as null), repeated fields and maps are empty,
//! messages, wrappers and fields with presence are null.

use std::sync::Arc;

use arrow::datatypes::{DataType, Fields};
use planner::schema_registry::protobuf::{
    EnumDescriptor, FieldKind, MessageDescriptor, Scalar as ProtoScalar, WellKnown,
};

use super::wire::{WireValue, integer_of, parse_message};
use crate::format::match_field;
use crate::format::scalar::{Scalar, write_scalar};
use crate::format::writer::ColumnWriter;

/// Reads a message into columns (a STRUCT's fields, or the row's columns).
#[derive(Debug)]
pub(super) struct MessageReader {
    /// Per column, the field that fills it.
    columns: Vec<Option<ColumnRead>>,
}

#[derive(Debug)]
struct ColumnRead {
    number: u32,
    repeated: bool,
    presence: bool,
    kind: KindRead,
    data_type: DataType,
}

#[derive(Debug)]
enum KindRead {
    Scalar(ProtoScalar),
    Enum(Arc<EnumDescriptor>),
    Message(Box<MessageReader>),
    /// Map entries: key scalar, value kind and the value column type.
    Map(ProtoScalar, Box<KindRead>, DataType),
    WellKnown(WellKnown),
    Mismatch(String),
}

impl MessageReader {
    pub(super) fn new(message: &MessageDescriptor, columns: &Fields) -> Self {
        let mut taken = vec![false; message.fields.len()];
        let columns = columns
            .iter()
            .map(|column| {
                let names = message.fields.iter().map(|field| field.name.as_str());
                let index = match_field(names, column.name(), &taken)?;
                taken[index] = true;
                let field = &message.fields[index];
                let element_type = match (field.repeated, &field.kind, column.data_type()) {
                    (true, FieldKind::Map(..), data_type) => data_type.clone(),
                    (true, _, DataType::List(item)) => item.data_type().clone(),
                    (_, _, data_type) => data_type.clone(),
                };
                let kind = if field.repeated
                    && !matches!(field.kind, FieldKind::Map(..))
                    && !matches!(column.data_type(), DataType::List(_))
                {
                    KindRead::Mismatch(format!(
                        "repeated field {} cannot fill column {}",
                        field.name,
                        column.name()
                    ))
                } else {
                    KindRead::new(&field.kind, &element_type)
                };
                Some(ColumnRead {
                    number: field.number,
                    repeated: field.repeated,
                    presence: field.presence,
                    kind,
                    data_type: column.data_type().clone(),
                })
            })
            .collect();
        Self { columns }
    }

    /// Reads one message, one value into each writer.
    pub(super) fn read(&self, bytes: &[u8], writers: &mut [ColumnWriter]) -> Result<(), String> {
        let fields = parse_message(bytes)?;
        for (column, writer) in self.columns.iter().zip(writers.iter_mut()) {
            let Some(column) = column else {
                writer.push_null();
                continue;
            };
            let mut occurrences = fields
                .iter()
                .filter(|(number, _)| *number == column.number)
                .map(|(_, value)| *value);
            if column.repeated {
                column.read_repeated(occurrences, writer)?;
            } else {
                match occurrences.next_back() {
                    Some(value) => column.kind.read(value, &column.data_type, writer)?,
                    None => column.write_absent(writer)?,
                }
            }
        }
        Ok(())
    }
}

impl ColumnRead {
    fn read_repeated<'a>(
        &self,
        occurrences: impl Iterator<Item = WireValue<'a>>,
        writer: &mut ColumnWriter,
    ) -> Result<(), String> {
        match (&self.kind, &self.data_type) {
            (KindRead::Map(key, value, value_type), DataType::Map(entries, _)) => {
                let key_type = match entries.data_type() {
                    DataType::Struct(fields) if fields.len() == 2 => fields[0].data_type().clone(),
                    other => return Err(format!("unsupported MAP type {other}")),
                };
                let (keys, values) = writer.map_children();
                for occurrence in occurrences {
                    let WireValue::Bytes(entry) = occurrence else {
                        return Err("protobuf map entry is not a message".to_string());
                    };
                    let entry = parse_message(entry)?;
                    let key_value = entry.iter().rev().find(|(number, _)| *number == 1);
                    match key_value {
                        Some((_, raw)) => scalar_value(*key, *raw, |scalar| {
                            write_scalar(scalar, &key_type, keys)
                        })?,
                        None => write_scalar(default_of(*key), &key_type, keys)?,
                    }
                    match entry.iter().rev().find(|(number, _)| *number == 2) {
                        Some((_, raw)) => value.read(*raw, value_type, values)?,
                        None => value.write_default(value_type, values)?,
                    }
                }
                writer.commit_map();
            }
            (KindRead::Mismatch(message), _) => return Err(message.clone()),
            (kind, DataType::List(item)) => {
                let item_type = item.data_type();
                let child = writer.list_child();
                for occurrence in occurrences {
                    match (kind, occurrence) {
                        // Packed numbers.
                        (KindRead::Scalar(scalar), WireValue::Bytes(packed))
                            if !matches!(scalar, ProtoScalar::String | ProtoScalar::Bytes) =>
                        {
                            for value in unpack(*scalar, packed)? {
                                kind.read(value, item_type, child)?;
                            }
                        }
                        (KindRead::Enum(_), WireValue::Bytes(packed)) => {
                            for value in unpack(ProtoScalar::Int32, packed)? {
                                kind.read(value, item_type, child)?;
                            }
                        }
                        _ => kind.read(occurrence, item_type, child)?,
                    }
                }
                writer.commit_list();
            }
            (_, other) => return Err(format!("repeated protobuf field cannot fill {other}")),
        }
        Ok(())
    }

    fn write_absent(&self, writer: &mut ColumnWriter) -> Result<(), String> {
        if self.presence {
            writer.push_null();
            return Ok(());
        }
        self.kind.write_default(&self.data_type, writer)
    }
}

/// The values of a packed repeated field.
fn unpack(scalar: ProtoScalar, mut bytes: &[u8]) -> Result<Vec<WireValue<'_>>, String> {
    let mut values = Vec::new();
    while !bytes.is_empty() {
        let value = match scalar.wire_type() {
            1 => {
                let (head, rest) = bytes.split_at_checked(8).ok_or("truncated packed field")?;
                bytes = rest;
                WireValue::Fixed64(u64::from_le_bytes(head.try_into().map_err(|_| "8 bytes")?))
            }
            5 => {
                let (head, rest) = bytes.split_at_checked(4).ok_or("truncated packed field")?;
                bytes = rest;
                WireValue::Fixed32(u32::from_le_bytes(head.try_into().map_err(|_| "4 bytes")?))
            }
            _ => {
                let mut position = 0;
                let value = super::wire::read_varint(bytes, &mut position)?;
                bytes = &bytes[position..];
                WireValue::Varint(value)
            }
        };
        values.push(value);
    }
    Ok(values)
}

/// The default value of a scalar without presence.
fn default_of(scalar: ProtoScalar) -> Scalar<'static> {
    match scalar {
        ProtoScalar::Double | ProtoScalar::Float => Scalar::Float(0.0),
        ProtoScalar::Bool => Scalar::Bool(false),
        ProtoScalar::String => Scalar::Str(""),
        ProtoScalar::Bytes => Scalar::Null,
        _ => Scalar::Int(0),
    }
}

/// Converts a raw value of a scalar type and hands it to `write`.
fn scalar_value<'a, T>(
    scalar: ProtoScalar,
    raw: WireValue<'a>,
    write: impl FnOnce(Scalar<'a>) -> Result<T, String>,
) -> Result<T, String> {
    let value = match (scalar, raw) {
        (ProtoScalar::Double, WireValue::Fixed64(bits)) => Scalar::Float(f64::from_bits(bits)),
        (ProtoScalar::Float, WireValue::Fixed32(bits)) => {
            Scalar::Float(f64::from(f32::from_bits(bits)))
        }
        (ProtoScalar::Bool, WireValue::Varint(raw)) => Scalar::Bool(raw != 0),
        (ProtoScalar::String, WireValue::Bytes(bytes)) => Scalar::Str(
            std::str::from_utf8(bytes).map_err(|_| "protobuf string is not UTF-8".to_string())?,
        ),
        (ProtoScalar::Bytes, WireValue::Bytes(bytes)) => Scalar::Bytes(bytes),
        (scalar, raw) => Scalar::Int(integer_of(scalar, raw)?),
    };
    write(value)
}

impl KindRead {
    fn new(kind: &FieldKind, data_type: &DataType) -> Self {
        match (kind, data_type) {
            (FieldKind::Scalar(scalar), _) => Self::Scalar(*scalar),
            (FieldKind::Enum(enumeration), _) => Self::Enum(Arc::clone(enumeration)),
            (FieldKind::Message(message), DataType::Struct(fields)) => {
                Self::Message(Box::new(MessageReader::new(message, fields)))
            }
            (FieldKind::Map(key, value), DataType::Map(entries, _)) => match entries.data_type() {
                DataType::Struct(fields) if fields.len() == 2 => {
                    let value_type = fields[1].data_type().clone();
                    let value_kind = match (value.as_ref(), &value_type) {
                        (kind, DataType::List(_)) => Self::Mismatch(format!(
                            "protobuf map value {kind:?} cannot fill an ARRAY"
                        )),
                        (kind, value_type) => Self::new(kind, value_type),
                    };
                    Self::Map(*key, Box::new(value_kind), value_type)
                }
                _ => Self::Mismatch(format!("unsupported MAP type {data_type}")),
            },
            (FieldKind::WellKnown(known), _) => Self::WellKnown(*known),
            (kind, data_type) => Self::Mismatch(format!(
                "protobuf {} cannot fill {}",
                match kind {
                    FieldKind::Message(message) => message.name.clone(),
                    _ => "map".to_string(),
                },
                planner::types::arrow_type_name(data_type)
            )),
        }
    }

    /// Reads one (non-repeated) value.
    fn read(
        &self,
        raw: WireValue<'_>,
        data_type: &DataType,
        writer: &mut ColumnWriter,
    ) -> Result<(), String> {
        match self {
            Self::Scalar(scalar) => {
                scalar_value(*scalar, raw, |value| write_scalar(value, data_type, writer))
            }
            Self::Enum(enumeration) => {
                let number = integer_of(ProtoScalar::Int32, raw)? as i32;
                let name = enumeration
                    .values
                    .iter()
                    .find(|(_, value)| *value == number)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_else(|| number.to_string());
                write_scalar(Scalar::Str(&name), data_type, writer)
            }
            Self::Message(message) => {
                let WireValue::Bytes(bytes) = raw else {
                    return Err("protobuf message field is not length-delimited".to_string());
                };
                message.read(bytes, writer.struct_children())?;
                writer.commit_struct();
                Ok(())
            }
            Self::WellKnown(known) => {
                let WireValue::Bytes(bytes) = raw else {
                    return Err("protobuf message field is not length-delimited".to_string());
                };
                let fields = parse_message(bytes)?;
                let field = |number: u32| {
                    fields
                        .iter()
                        .rev()
                        .find(|(found, _)| *found == number)
                        .map(|(_, value)| *value)
                };
                let integer = |number: u32, scalar: ProtoScalar| -> Result<i64, String> {
                    field(number).map_or(Ok(0), |raw| integer_of(scalar, raw))
                };
                let value = match known {
                    WellKnown::Wrapper(scalar) => {
                        return match field(1) {
                            Some(raw) => scalar_value(*scalar, raw, |value| {
                                write_scalar(value, data_type, writer)
                            }),
                            None => write_scalar(
                                match default_of(*scalar) {
                                    Scalar::Null => Scalar::Bytes(&[]),
                                    other => other,
                                },
                                data_type,
                                writer,
                            ),
                        };
                    }
                    WellKnown::Timestamp => Scalar::Timestamp(
                        integer(1, ProtoScalar::Int64)? * 1000
                            + integer(2, ProtoScalar::Int32)? / 1_000_000,
                    ),
                    WellKnown::Date => Scalar::Date(days_from_civil(
                        integer(1, ProtoScalar::Int32)?,
                        integer(2, ProtoScalar::Int32)?,
                        integer(3, ProtoScalar::Int32)?,
                    )),
                    WellKnown::TimeOfDay => Scalar::Time(
                        integer(1, ProtoScalar::Int32)? * 3_600_000
                            + integer(2, ProtoScalar::Int32)? * 60_000
                            + integer(3, ProtoScalar::Int32)? * 1000
                            + integer(4, ProtoScalar::Int32)? / 1_000_000,
                    ),
                    WellKnown::Decimal { scale, .. } => {
                        let unscaled = match field(1) {
                            Some(WireValue::Bytes(bytes)) => decimal_value(bytes)?,
                            _ => 0,
                        };
                        let scale = match field(3) {
                            Some(raw) => integer_of(ProtoScalar::Int32, raw)?,
                            None => i64::from(*scale),
                        };
                        Scalar::Decimal(unscaled, scale as i8)
                    }
                };
                write_scalar(value, data_type, writer)
            }
            Self::Map(..) => Err("a protobuf map must be repeated".to_string()),
            Self::Mismatch(message) => Err(message.clone()),
        }
    }

    /// Writes the value of an absent field without presence.
    fn write_default(&self, data_type: &DataType, writer: &mut ColumnWriter) -> Result<(), String> {
        match self {
            Self::Scalar(scalar) => write_scalar(default_of(*scalar), data_type, writer),
            Self::Enum(enumeration) => match enumeration.values.first() {
                Some((name, _)) => write_scalar(Scalar::Str(name), data_type, writer),
                None => {
                    writer.push_null();
                    Ok(())
                }
            },
            _ => {
                writer.push_null();
                Ok(())
            }
        }
    }
}

/// The unscaled value of big-endian two's complement bytes.
pub(super) fn decimal_value(bytes: &[u8]) -> Result<i128, String> {
    if bytes.len() > 16 {
        return Err("decimal value has more than 16 bytes".to_string());
    }
    if bytes.is_empty() {
        return Ok(0);
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut full = if negative { [0xffu8; 16] } else { [0u8; 16] };
    full[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(full))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i32 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era - 719_468) as i32
}

/// `(year, month, day)` of days since 1970-01-01.
pub(super) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
