//! The JSON format: a row is an object of its columns (wrapped), or the bare value of its
//! only column when `WRAP_SINGLE_VALUE` is false.
//!
//! Decoding validates the payload and matches members to columns by exact name, then by
//! upper-cased key, without building a tree (`scanner`); coercions are in `decode`, writing
//! in `encode`, and `value` converts single Arrow values to `serde_json::Value`.

mod decode;
mod encode;
mod scanner;
mod value;

use arrow::array::ArrayRef;
use arrow::datatypes::Fields;

use self::decode::{JsonError, JsonType, Slot, StructType, coerce, coerce_missing_root};
use self::encode::{JsonColumn, write_json_string, write_object};
use self::scanner::{Kind, Scanner};
use super::RowOutcome;
use super::writer::ColumnWriter;
use crate::Result;

pub(super) use self::encode::write_base64;
pub use self::value::arrow_value_to_json;

/// Decodes JSON payloads into columns.
#[derive(Debug)]
pub(super) struct JsonDecoder {
    root: Root,
}

#[derive(Debug)]
enum Root {
    /// The payload is the value of the only column.
    Unwrapped(JsonType),
    /// The payload is an object of the columns.
    Wrapped(StructType),
}

impl JsonDecoder {
    /// The caller has checked the fields (types in ksqlDB's mapping, MAP keys STRING).
    pub(super) fn new(fields: &Fields, unwrapped: bool) -> Self {
        let root = if unwrapped {
            Root::Unwrapped(JsonType::new(fields[0].data_type()))
        } else {
            Root::Wrapped(StructType::new(fields))
        };
        Self { root }
    }

    /// Marks the columns no one reads: their values are checked, not copied (see
    /// `StructType::set_unused`).
    pub(super) fn set_unused(&mut self, unused: &[bool]) {
        if let Root::Wrapped(structure) = &mut self.root {
            structure.set_unused(unused);
        }
    }

    pub(super) fn decode(
        &self,
        payloads: &[Option<&[u8]>],
        writers: &mut [ColumnWriter],
    ) -> RowOutcome {
        let mut slots = Vec::new();
        super::decode_rows(payloads, writers, |payload, writers| {
            self.decode_row(payload, writers, &mut slots)
                .map_err(JsonError::into_message)
        })
    }

    fn decode_row<'a>(
        &self,
        payload: &'a [u8],
        writers: &mut [ColumnWriter],
        slots: &mut Vec<Slot<'a>>,
    ) -> Result<(), JsonError> {
        let text = std::str::from_utf8(payload).map_err(|error| {
            JsonError::Syntax(format!("invalid UTF-8 at byte {}", error.valid_up_to()))
        })?;
        let mut scanner = Scanner::new(text);
        match &self.root {
            Root::Unwrapped(json_type) => {
                let result = if scanner.at_end() {
                    coerce_missing_root(json_type, &mut writers[0])
                } else {
                    let value = scanner.root_value()?;
                    coerce(json_type, Some(value), &mut writers[0])
                };
                result.map_err(|error| error.within("$"))
            }
            Root::Wrapped(structure) => {
                if scanner.at_end() {
                    return Err(structure.not_an_object(None).within("$"));
                }
                if scanner.peek() == Some(b'{') {
                    slots.clear();
                    slots.resize(structure.len(), Slot::default());
                    let mut position = 0;
                    scanner.members(|key, value| {
                        structure.assign(key, value, position, slots);
                        position += 1;
                        Ok::<_, JsonError>(())
                    })?;
                    return structure
                        .write_fields(slots, writers)
                        .map_err(|error| error.within("$"));
                }
                let value = scanner.root_value()?;
                if value.kind != Kind::Null {
                    return Err(structure.not_an_object(Some(value)).within("$"));
                }
                for writer in writers {
                    writer.push_null();
                }
                Ok(())
            }
        }
    }
}

/// Encodes columns into JSON payloads.
#[derive(Debug)]
pub(super) struct JsonEncoder {
    unwrapped: bool,
    /// `"NAME":` for each column.
    prefixes: Vec<Vec<u8>>,
}

impl JsonEncoder {
    pub(super) fn new(fields: &Fields, unwrapped: bool) -> Self {
        let prefixes = fields
            .iter()
            .map(|field| {
                let mut prefix = Vec::with_capacity(field.name().len() + 3);
                write_json_string(field.name(), &mut prefix);
                prefix.push(b':');
                prefix
            })
            .collect();
        Self {
            unwrapped,
            prefixes,
        }
    }

    pub(super) fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        let mut fields = Vec::with_capacity(columns.len());
        for (prefix, column) in self.prefixes.iter().zip(columns) {
            fields.push((prefix.clone(), JsonColumn::new(column.as_ref())?));
        }
        let mut payloads = Vec::with_capacity(num_rows);
        let mut capacity = 32;
        for row in 0..num_rows {
            if self.unwrapped && fields[0].1.is_null(row) {
                payloads.push(None);
                continue;
            }
            let mut out = Vec::with_capacity(capacity);
            if self.unwrapped {
                fields[0].1.write(row, &mut out);
            } else {
                write_object(&fields, row, &mut out);
            }
            capacity = out.len().next_power_of_two().max(32);
            payloads.push(Some(out));
        }
        Ok(payloads)
    }
}

#[cfg(test)]
mod tests;
