//! The DELIMITED format: one line of text, fields in column order, as ksqlDB reads and
//! writes it with Apache Commons CSV (`CSVFormat.DEFAULT` with the chosen delimiter).
//!
//! An empty field is null. Values are quoted on output with Commons CSV's "minimal" rule,
//! which also quotes a first field that does not start with a letter or digit (`"-10",3`).
//! Only primitive types are supported; `format::Decoder::new` refuses the others.

use std::borrow::Cow;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::Fields;
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimeUnit, TimestampMillisecondType,
};
use base64::Engine;

use super::RowOutcome;
use super::json::write_base64;
use super::number::{
    DecimalText, parse_java_double, write_i64, write_java_double, write_plain_decimal,
};
use super::writer::ColumnWriter;
use crate::{ExecError, Result};

/// Base64 as `java.util.Base64` reads it: padding optional.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Whether the DELIMITED format can hold a column of `data_type`.
pub(super) fn supports(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Boolean
            | DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Utf8
            | DataType::Binary
            | DataType::Date32
            | DataType::Time32(TimeUnit::Millisecond)
            | DataType::Timestamp(TimeUnit::Millisecond, None)
    )
}

/// The delimiter, UTF-8 encoded.
#[derive(Debug, Clone, Copy)]
struct Delimiter {
    bytes: [u8; 4],
    len: usize,
}

impl Delimiter {
    fn new(delimiter: char) -> Self {
        let mut bytes = [0u8; 4];
        let len = delimiter.encode_utf8(&mut bytes).len();
        Self { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    #[inline]
    fn is_at(&self, bytes: &[u8], position: usize) -> bool {
        if self.len == 1 {
            bytes.get(position) == Some(&self.bytes[0])
        } else {
            bytes[position..].starts_with(self.as_bytes())
        }
    }
}

/// Decodes DELIMITED payloads into columns.
#[derive(Debug)]
pub(super) struct DelimitedDecoder {
    delimiter: Delimiter,
    names: Vec<String>,
    types: Vec<DataType>,
}

impl DelimitedDecoder {
    /// The caller has checked that every type is [`supports`]ed.
    pub(super) fn new(fields: &Fields, delimiter: char) -> Self {
        Self {
            delimiter: Delimiter::new(delimiter),
            names: fields.iter().map(|field| field.name().clone()).collect(),
            types: fields
                .iter()
                .map(|field| field.data_type().clone())
                .collect(),
        }
    }

    pub(super) fn decode<'a>(
        &self,
        payloads: &[Option<&'a [u8]>],
        writers: &mut [ColumnWriter],
    ) -> RowOutcome {
        let mut fields: Vec<Cow<'a, [u8]>> = Vec::new();
        let mut rest: Vec<Cow<'a, [u8]>> = Vec::new();
        super::decode_rows(payloads, writers, |payload, writers| {
            self.decode_row(payload, writers, &mut fields, &mut rest)
        })
    }

    fn decode_row<'a>(
        &self,
        payload: &'a [u8],
        writers: &mut [ColumnWriter],
        fields: &mut Vec<Cow<'a, [u8]>>,
        rest: &mut Vec<Cow<'a, [u8]>>,
    ) -> Result<(), String> {
        fields.clear();
        let syntax = |message: String| format!("failed to deserialize DELIMITED: {message}");
        let Some(mut position) =
            parse_record(payload, 0, self.delimiter, fields).map_err(syntax)?
        else {
            return Err(syntax("No fields in record".to_string()));
        };
        // Commons CSV reads every record of the payload; only the first is used.
        loop {
            rest.clear();
            match parse_record(payload, position, self.delimiter, rest).map_err(syntax)? {
                Some(next) => position = next,
                None => break,
            }
        }
        if fields.len() != self.types.len() {
            return Err(format!(
                "Column count mismatch on deserialization. expected: {}, got: {}",
                self.types.len(),
                fields.len()
            ));
        }
        for (index, field) in fields.iter().enumerate() {
            let writer = &mut writers[index];
            if field.is_empty() {
                writer.push_null();
                continue;
            }
            let text = String::from_utf8_lossy(field);
            parse_field(&self.types[index], &text, writer).map_err(|message| {
                format!(
                    "failed to deserialize DELIMITED field `{}`: {message}",
                    self.names[index]
                )
            })?;
        }
        Ok(())
    }
}

/// Writes one non-empty field of `data_type`.
fn parse_field(data_type: &DataType, text: &str, writer: &mut ColumnWriter) -> Result<(), String> {
    let input = || format!("For input string: \"{text}\"");
    match data_type {
        // Java's `Boolean.parseBoolean`: anything but "true" is false.
        DataType::Boolean => writer.push_bool(text.eq_ignore_ascii_case("true")),
        DataType::Int32 | DataType::Date32 | DataType::Time32(_) => {
            writer.push_i32(text.parse().map_err(|_| input())?)
        }
        DataType::Int64 | DataType::Timestamp(_, _) => {
            writer.push_i64(text.parse().map_err(|_| input())?)
        }
        DataType::Float64 => writer.push_f64(parse_java_double(text).ok_or_else(input)?),
        DataType::Decimal128(precision, scale) => {
            let decimal = DecimalText::parse(text).ok_or_else(input)?;
            writer.push_i128(decimal.to_decimal(*precision, *scale)?);
        }
        DataType::Utf8 => writer.push_bytes(text.as_bytes()),
        DataType::Binary => {
            if BASE64
                .decode_vec(text.as_bytes(), writer.bytes_buffer())
                .is_err()
            {
                return Err(format!(
                    "Value is not a valid Base64 encoded string: {text}"
                ));
            }
            writer.commit_bytes();
        }
        other => return Err(format!("unsupported type {other}")),
    }
    Ok(())
}

/// Parses the record starting at `position` into `fields` as Commons CSV's lexer does
/// (quote `"`, no escape character, empty lines skipped). Returns the position after the
/// record, or `None` when only empty lines remain.
fn parse_record<'a>(
    bytes: &'a [u8],
    mut position: usize,
    delimiter: Delimiter,
    fields: &mut Vec<Cow<'a, [u8]>>,
) -> Result<Option<usize>, String> {
    let line_end = |position: usize| -> Option<usize> {
        match bytes.get(position) {
            Some(b'\n') => Some(position + 1),
            Some(b'\r') if bytes.get(position + 1) == Some(&b'\n') => Some(position + 2),
            Some(b'\r') => Some(position + 1),
            _ => None,
        }
    };
    while let Some(next) = line_end(position) {
        position = next;
    }
    if position >= bytes.len() {
        return Ok(None);
    }
    loop {
        // At the start of a field.
        if position >= bytes.len() {
            // The record ended with a delimiter: one more, empty, field.
            fields.push(Cow::Borrowed(&[]));
            return Ok(Some(position));
        }
        if delimiter.is_at(bytes, position) {
            fields.push(Cow::Borrowed(&[]));
            position += delimiter.len;
            continue;
        }
        if let Some(next) = line_end(position) {
            fields.push(Cow::Borrowed(&[]));
            return Ok(Some(next));
        }
        if bytes[position] == b'"' {
            let (field, next) = quoted_field(bytes, position + 1)?;
            fields.push(field);
            position = next;
            // Only whitespace may follow the closing quote.
            loop {
                if position >= bytes.len() {
                    return Ok(Some(position));
                }
                if delimiter.is_at(bytes, position) {
                    position += delimiter.len;
                    break;
                }
                if let Some(next) = line_end(position) {
                    return Ok(Some(next));
                }
                if is_java_whitespace(bytes[position]) {
                    position += 1;
                } else {
                    return Err("invalid char between encapsulated token and delimiter".to_string());
                }
            }
            continue;
        }
        let start = position;
        while position < bytes.len()
            && !delimiter.is_at(bytes, position)
            && bytes[position] != b'\n'
            && bytes[position] != b'\r'
        {
            position += 1;
        }
        fields.push(Cow::Borrowed(&bytes[start..position]));
        if position >= bytes.len() {
            return Ok(Some(position));
        }
        if delimiter.is_at(bytes, position) {
            position += delimiter.len;
            continue;
        }
        return Ok(line_end(position));
    }
}

/// The content of a quoted field whose opening quote is before `position`, and the position
/// after its closing quote.
fn quoted_field(bytes: &[u8], mut position: usize) -> Result<(Cow<'_, [u8]>, usize), String> {
    let mut owned: Option<Vec<u8>> = None;
    let mut run_start = position;
    loop {
        match bytes.get(position) {
            None => return Err("EOF reached before encapsulated token finished".to_string()),
            Some(b'"') if bytes.get(position + 1) == Some(&b'"') => {
                owned
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(&bytes[run_start..=position]);
                position += 2;
                run_start = position;
            }
            Some(b'"') => {
                let field = match owned {
                    Some(mut owned) => {
                        owned.extend_from_slice(&bytes[run_start..position]);
                        Cow::Owned(owned)
                    }
                    None => Cow::Borrowed(&bytes[run_start..position]),
                };
                return Ok((field, position + 1));
            }
            Some(_) => position += 1,
        }
    }
}

/// Java's `Character.isWhitespace` for a byte (line ends are handled before).
fn is_java_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | 0x0B | 0x0C | 0x1C..=0x1F)
}

/// Encodes columns into DELIMITED payloads.
#[derive(Debug)]
pub(super) struct DelimitedEncoder {
    delimiter: Delimiter,
}

impl DelimitedEncoder {
    /// The caller has checked that every type is [`supports`]ed.
    pub(super) fn new(delimiter: char) -> Self {
        Self {
            delimiter: Delimiter::new(delimiter),
        }
    }

    pub(super) fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        let columns: Vec<TextColumn<'_>> = columns
            .iter()
            .map(|column| TextColumn::new(column.as_ref()))
            .collect::<Result<_>>()?;
        let mut payloads = Vec::with_capacity(num_rows);
        let mut text = Vec::new();
        let mut capacity = 16;
        for row in 0..num_rows {
            let mut out = Vec::with_capacity(capacity);
            for (index, column) in columns.iter().enumerate() {
                if index > 0 {
                    out.extend_from_slice(self.delimiter.as_bytes());
                }
                if column.array.is_null(row) {
                    continue;
                }
                text.clear();
                column.write(row, &mut text);
                self.write_field(&text, index == 0, &mut out);
            }
            capacity = out.len().next_power_of_two().max(16);
            payloads.push(Some(out));
        }
        Ok(payloads)
    }

    /// Appends a field, quoted when Commons CSV's minimal quote mode would quote it.
    fn write_field(&self, value: &[u8], first: bool, out: &mut Vec<u8>) {
        if !self.needs_quotes(value, first) {
            out.extend_from_slice(value);
            return;
        }
        out.push(b'"');
        for &byte in value {
            if byte == b'"' {
                out.push(b'"');
            }
            out.push(byte);
        }
        out.push(b'"');
    }

    fn needs_quotes(&self, value: &[u8], first: bool) -> bool {
        let Some(&head) = value.first() else {
            // An empty first field alone would read as an empty line.
            return first;
        };
        if first && !head.is_ascii_alphanumeric() {
            return true;
        }
        if head <= b'#' {
            return true;
        }
        let special = (0..value.len()).any(|position| {
            matches!(value[position], b'\n' | b'\r' | b'"') || self.delimiter.is_at(value, position)
        });
        special || value[value.len() - 1] <= b' '
    }
}

/// A column downcast for writing its values as text.
struct TextColumn<'a> {
    array: &'a dyn Array,
    values: TextValues<'a>,
}

enum TextValues<'a> {
    Boolean(&'a arrow::array::BooleanArray),
    I32(&'a [i32]),
    I64(&'a [i64]),
    F64(&'a [f64]),
    Decimal(&'a [i128], i8),
    Utf8(&'a arrow::array::StringArray),
    Binary(&'a arrow::array::BinaryArray),
}

impl<'a> TextColumn<'a> {
    fn new(array: &'a dyn Array) -> Result<Self> {
        let mismatch = || {
            ExecError::Internal(format!(
                "DELIMITED encoder got a {} array it cannot write",
                array.data_type()
            ))
        };
        let values = match array.data_type() {
            DataType::Boolean => TextValues::Boolean(array.as_boolean_opt().ok_or_else(mismatch)?),
            DataType::Int32 => TextValues::I32(
                array
                    .as_primitive_opt::<Int32Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Date32 => TextValues::I32(
                array
                    .as_primitive_opt::<Date32Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Time32(TimeUnit::Millisecond) => TextValues::I32(
                array
                    .as_primitive_opt::<Time32MillisecondType>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Int64 => TextValues::I64(
                array
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Timestamp(TimeUnit::Millisecond, None) => TextValues::I64(
                array
                    .as_primitive_opt::<TimestampMillisecondType>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Float64 => TextValues::F64(
                array
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Decimal128(_, scale) => TextValues::Decimal(
                array
                    .as_primitive_opt::<Decimal128Type>()
                    .ok_or_else(mismatch)?
                    .values(),
                *scale,
            ),
            DataType::Utf8 => TextValues::Utf8(array.as_string_opt::<i32>().ok_or_else(mismatch)?),
            DataType::Binary => {
                TextValues::Binary(array.as_binary_opt::<i32>().ok_or_else(mismatch)?)
            }
            _ => return Err(mismatch()),
        };
        Ok(Self { array, values })
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) {
        match &self.values {
            TextValues::Boolean(values) => {
                out.extend_from_slice(if values.value(row) { b"true" } else { b"false" })
            }
            TextValues::I32(values) => write_i64(out, i64::from(values[row])),
            TextValues::I64(values) => write_i64(out, values[row]),
            TextValues::F64(values) => write_java_double(out, values[row]),
            TextValues::Decimal(values, scale) => write_plain_decimal(out, values[row], *scale),
            TextValues::Utf8(values) => out.extend_from_slice(values.value(row).as_bytes()),
            TextValues::Binary(values) => write_base64(values.value(row), out),
        }
    }
}

#[cfg(test)]
mod tests;
