//! Columns into protobuf messages: a `MessageWriter` compiled once from the message
//! descriptor and the column types, run per row over the downcast columns.
//!
//! Null values are left out (they read back as the field's default, or null where the field
//! has presence); like protobuf-java, proto3 scalars without presence are left out when they
//! hold their default value. Repeated numbers are packed.

use std::sync::Arc;

use arrow::datatypes::{DataType, Fields};
use planner::schema_registry::protobuf::{
    EnumDescriptor, FieldKind, MessageDescriptor, Scalar as ProtoScalar, WellKnown,
};

use super::decode::civil_from_days;
use super::wire::{write_delimited, write_number, write_tag, write_varint};
use crate::format::arrow_view::{ArrowView, ViewValues};
use crate::format::match_field;
use crate::format::scalar::{Scalar, rescale};

/// Writes a message from columns (a STRUCT's fields, or the row's columns).
#[derive(Debug)]
pub(super) struct MessageWriter {
    fields: Vec<FieldWrite>,
}

#[derive(Debug)]
struct FieldWrite {
    number: u32,
    /// The column the field takes; fields without one are left out.
    source: Option<usize>,
    repeated: bool,
    presence: bool,
    kind: KindWrite,
}

#[derive(Debug)]
enum KindWrite {
    Scalar(ProtoScalar),
    Enum(Arc<EnumDescriptor>),
    Message(Box<MessageWriter>),
    Map(ProtoScalar, Box<KindWrite>),
    WellKnown(WellKnown),
    Mismatch(String),
}

impl MessageWriter {
    pub(super) fn new(message: &MessageDescriptor, columns: &Fields) -> Self {
        let mut taken = vec![false; columns.len()];
        let mut fields: Vec<FieldWrite> = message
            .fields
            .iter()
            .map(|field| {
                let names = columns.iter().map(|column| column.name().as_str());
                let source = match_field(names, &field.name, &taken);
                if let Some(index) = source {
                    taken[index] = true;
                }
                let kind = match source.map(|index| columns[index].data_type()) {
                    Some(data_type) => {
                        let element_type = match (field.repeated, &field.kind, data_type) {
                            (true, FieldKind::Map(..), data_type) => data_type,
                            (true, _, DataType::List(item)) => item.data_type(),
                            (true, _, other) => {
                                return FieldWrite {
                                    number: field.number,
                                    source,
                                    repeated: true,
                                    presence: false,
                                    kind: KindWrite::Mismatch(format!(
                                        "column of type {other} cannot fill repeated field {}",
                                        field.name
                                    )),
                                };
                            }
                            (false, _, data_type) => data_type,
                        };
                        KindWrite::new(&field.kind, element_type)
                    }
                    None => KindWrite::Mismatch(String::new()),
                };
                FieldWrite {
                    number: field.number,
                    source,
                    repeated: field.repeated,
                    presence: field.presence,
                    kind,
                }
            })
            .collect();
        fields.sort_by_key(|field| field.number);
        Self { fields }
    }

    /// Writes the message of `row` from `columns`.
    pub(super) fn write(
        &self,
        columns: &[&ArrowView<'_>],
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        for field in &self.fields {
            let Some(column) = field.source.map(|index| columns[index]) else {
                continue;
            };
            if column.is_null(row) {
                continue;
            }
            if field.repeated {
                field.write_repeated(column, row, out)?;
            } else {
                field
                    .kind
                    .write(field.number, column, row, !field.presence, out)?;
            }
        }
        Ok(())
    }
}

impl FieldWrite {
    fn write_repeated(
        &self,
        column: &ArrowView<'_>,
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match (&self.kind, &column.values) {
            (KindWrite::Map(key, value), ViewValues::Map(offsets, keys, values)) => {
                for entry in ArrowView::range(offsets, row) {
                    let mut bytes = Vec::new();
                    KindWrite::Scalar(*key).write(1, keys, entry, true, &mut bytes)?;
                    if !values.is_null(entry) {
                        value.write(2, values, entry, true, &mut bytes)?;
                    }
                    write_delimited(self.number, &bytes, out);
                }
                Ok(())
            }
            (KindWrite::Mismatch(message), _) => Err(message.clone()),
            (kind, ViewValues::List(offsets, items)) => {
                let range = ArrowView::range(offsets, row);
                let packed = match kind {
                    KindWrite::Scalar(scalar) => {
                        !matches!(scalar, ProtoScalar::String | ProtoScalar::Bytes)
                    }
                    KindWrite::Enum(_) => true,
                    _ => false,
                };
                if packed {
                    let mut bytes = Vec::new();
                    for item in range {
                        if !items.is_null(item) {
                            kind.write_bare(items, item, &mut bytes)?;
                        }
                    }
                    if !bytes.is_empty() {
                        write_delimited(self.number, &bytes, out);
                    }
                } else {
                    for item in range {
                        if !items.is_null(item) {
                            kind.write(self.number, items, item, false, out)?;
                        }
                    }
                }
                Ok(())
            }
            _ => Err(format!(
                "repeated field {} needs an ARRAY column",
                self.number
            )),
        }
    }
}

impl KindWrite {
    fn new(kind: &FieldKind, data_type: &DataType) -> Self {
        match (kind, data_type) {
            (FieldKind::Scalar(scalar), _) => Self::Scalar(*scalar),
            (FieldKind::Enum(enumeration), _) => Self::Enum(Arc::clone(enumeration)),
            (FieldKind::Message(message), DataType::Struct(fields)) => {
                Self::Message(Box::new(MessageWriter::new(message, fields)))
            }
            (FieldKind::Map(key, value), DataType::Map(entries, _)) => match entries.data_type() {
                DataType::Struct(fields) if fields.len() == 2 => {
                    Self::Map(*key, Box::new(Self::new(value, fields[1].data_type())))
                }
                _ => Self::Mismatch(format!("unsupported MAP type {data_type}")),
            },
            (FieldKind::WellKnown(known), _) => Self::WellKnown(*known),
            (_, data_type) => Self::Mismatch(format!(
                "cannot write {} into a protobuf message or map field",
                planner::types::arrow_type_name(data_type)
            )),
        }
    }

    /// Writes a scalar or enum value without tag (a packed element).
    fn write_bare(
        &self,
        column: &ArrowView<'_>,
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let value = column.scalar(row);
        match self {
            Self::Scalar(scalar) => write_scalar_bare(*scalar, value, out),
            Self::Enum(enumeration) => {
                write_varint(enum_number(enumeration, value)? as i64 as u64, out);
                Ok(())
            }
            _ => Err("only numbers are packed".to_string()),
        }
    }

    /// Writes field `number` from a non-null value; with `omit_default`, a scalar holding
    /// its default value is left out.
    fn write(
        &self,
        number: u32,
        column: &ArrowView<'_>,
        row: usize,
        omit_default: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match self {
            Self::Scalar(scalar) => {
                let value = column.scalar(row);
                if omit_default && is_default(*scalar, value) {
                    return Ok(());
                }
                write_tag(number, scalar.wire_type(), out);
                write_scalar_bare(*scalar, value, out)
            }
            Self::Enum(enumeration) => {
                let value = enum_number(enumeration, column.scalar(row))?;
                if !(omit_default && value == 0) {
                    write_tag(number, 0, out);
                    write_varint(value as i64 as u64, out);
                }
                Ok(())
            }
            Self::Message(message) => {
                let ViewValues::Struct(children) = &column.values else {
                    return Err("expected a STRUCT column".to_string());
                };
                let children: Vec<&ArrowView<'_>> = children.iter().map(|(_, view)| view).collect();
                let mut bytes = Vec::new();
                message.write(&children, row, &mut bytes)?;
                write_delimited(number, &bytes, out);
                Ok(())
            }
            Self::WellKnown(known) => {
                let bytes = well_known_bytes(*known, column.scalar(row))?;
                write_delimited(number, &bytes, out);
                Ok(())
            }
            Self::Map(..) => Err("a protobuf map must be repeated".to_string()),
            Self::Mismatch(message) => Err(message.clone()),
        }
    }
}

fn is_default(scalar: ProtoScalar, value: Scalar<'_>) -> bool {
    match (scalar, value) {
        (_, Scalar::Null) => true,
        (ProtoScalar::String, Scalar::Str(text)) => text.is_empty(),
        (ProtoScalar::Bytes, Scalar::Bytes(bytes)) => bytes.is_empty(),
        (ProtoScalar::Bool, Scalar::Bool(flag)) => !flag,
        (ProtoScalar::Double | ProtoScalar::Float, value) => {
            value.to_f64().is_some_and(|number| number.to_bits() == 0)
        }
        (_, Scalar::Int(number)) => number == 0,
        _ => false,
    }
}

fn write_scalar_bare(
    scalar: ProtoScalar,
    value: Scalar<'_>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let cannot = || format!("cannot write {value:?} as protobuf {}", scalar.name());
    match scalar {
        ProtoScalar::String => {
            let text = value.to_text().ok_or_else(cannot)?;
            write_varint(text.len() as u64, out);
            out.extend_from_slice(text.as_bytes());
        }
        ProtoScalar::Bytes => {
            let bytes: &[u8] = match value {
                Scalar::Bytes(bytes) => bytes,
                Scalar::Str(text) => text.as_bytes(),
                _ => return Err(cannot()),
            };
            write_varint(bytes.len() as u64, out);
            out.extend_from_slice(bytes);
        }
        ProtoScalar::Bool => match value {
            Scalar::Bool(flag) => out.push(u8::from(flag)),
            _ => return Err(cannot()),
        },
        ProtoScalar::Double | ProtoScalar::Float => {
            write_number(scalar, 0, value.to_f64().ok_or_else(cannot)?, out)
        }
        _ => write_number(scalar, value.to_i64().ok_or_else(cannot)?, 0.0, out),
    }
    Ok(())
}

fn enum_number(enumeration: &EnumDescriptor, value: Scalar<'_>) -> Result<i32, String> {
    let text = value
        .to_text()
        .ok_or_else(|| format!("cannot write {value:?} as enum {}", enumeration.name))?;
    enumeration
        .values
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, number)| *number)
        .or_else(|| text.parse().ok())
        .ok_or_else(|| format!("'{text}' is not a symbol of enum {}", enumeration.name))
}

/// The body of a well-known message holding `value`.
fn well_known_bytes(known: WellKnown, value: Scalar<'_>) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let field = |number: u32, scalar: ProtoScalar, integer: i64, out: &mut Vec<u8>| {
        if integer != 0 {
            write_tag(number, scalar.wire_type(), out);
            write_number(scalar, integer, 0.0, out);
        }
    };
    let cannot = || format!("cannot write {value:?} as {}", known.type_name());
    match known {
        WellKnown::Wrapper(scalar) => {
            if !is_default(scalar, value) {
                write_tag(1, scalar.wire_type(), &mut bytes);
                write_scalar_bare(scalar, value, &mut bytes)?;
            }
        }
        WellKnown::Timestamp => {
            let millis = value.to_i64().ok_or_else(cannot)?;
            field(1, ProtoScalar::Int64, millis.div_euclid(1000), &mut bytes);
            field(
                2,
                ProtoScalar::Int32,
                millis.rem_euclid(1000) * 1_000_000,
                &mut bytes,
            );
        }
        WellKnown::Date => {
            let days = match value {
                Scalar::Date(days) => i64::from(days),
                other => other.to_i64().ok_or_else(cannot)?,
            };
            let (year, month, day) = civil_from_days(days);
            field(1, ProtoScalar::Int32, year, &mut bytes);
            field(2, ProtoScalar::Int32, month, &mut bytes);
            field(3, ProtoScalar::Int32, day, &mut bytes);
        }
        WellKnown::TimeOfDay => {
            let millis = value.to_i64().ok_or_else(cannot)?;
            field(1, ProtoScalar::Int32, millis / 3_600_000, &mut bytes);
            field(2, ProtoScalar::Int32, millis / 60_000 % 60, &mut bytes);
            field(3, ProtoScalar::Int32, millis / 1000 % 60, &mut bytes);
            field(4, ProtoScalar::Int32, millis % 1000 * 1_000_000, &mut bytes);
        }
        WellKnown::Decimal { precision, scale } => {
            let (unscaled, own_scale) = match value {
                Scalar::Decimal(unscaled, own_scale) => (unscaled, own_scale),
                other => {
                    let scale = i8::try_from(scale).unwrap_or(0);
                    (other.to_decimal(38, scale)?, scale)
                }
            };
            let target = i8::try_from(scale).unwrap_or(own_scale);
            let unscaled = rescale(unscaled, own_scale, target);
            write_delimited(1, &minimal_bytes(unscaled), &mut bytes);
            field(
                2,
                ProtoScalar::UInt32,
                i64::from(precision.unwrap_or(0)),
                &mut bytes,
            );
            field(3, ProtoScalar::Int32, i64::from(target), &mut bytes);
        }
    }
    Ok(bytes)
}

/// Big-endian two's complement, minimal length.
fn minimal_bytes(unscaled: i128) -> Vec<u8> {
    let full = unscaled.to_be_bytes();
    let sign = if unscaled < 0 { 0xff } else { 0 };
    let mut start = 0;
    while start < 15 && full[start] == sign && (full[start + 1] & 0x80) == (sign & 0x80) {
        start += 1;
    }
    full[start..].to_vec()
}
