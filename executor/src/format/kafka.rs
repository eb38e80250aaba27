//! The KAFKA format: the single column in Kafka's own serializations (big-endian INT,
//! BIGINT and DOUBLE, UTF-8 STRING, raw BYTES).
//!
//! Which types and how many columns are allowed is checked by `format::Decoder::new`.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};

use super::RowOutcome;
use super::writer::ColumnWriter;
use crate::{ExecError, Result};

/// Whether the KAFKA format can hold a column of `data_type`.
pub(super) fn supports(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Utf8 | DataType::Binary
    )
}

/// Decodes KAFKA payloads into the single column.
#[derive(Debug)]
pub(super) struct KafkaDecoder {
    data_type: DataType,
}

impl KafkaDecoder {
    /// The caller has checked that the type is [`supports`]ed.
    pub(super) fn new(data_type: &DataType) -> Self {
        Self {
            data_type: data_type.clone(),
        }
    }

    pub(super) fn decode(
        &self,
        payloads: &[Option<&[u8]>],
        writers: &mut [ColumnWriter],
    ) -> RowOutcome {
        super::decode_rows(payloads, writers, |payload, writers| {
            self.decode_row(payload, &mut writers[0])
        })
    }

    fn decode_row(&self, payload: &[u8], writer: &mut ColumnWriter) -> Result<(), String> {
        let size_error = |deserializer: &str, size: usize| {
            format!("Size of data received by {deserializer} is not {size}")
        };
        match &self.data_type {
            DataType::Int32 => {
                let bytes = payload
                    .try_into()
                    .map_err(|_| size_error("IntegerDeserializer", 4))?;
                writer.push_i32(i32::from_be_bytes(bytes));
            }
            DataType::Int64 => {
                let bytes = payload
                    .try_into()
                    .map_err(|_| size_error("LongDeserializer", 8))?;
                writer.push_i64(i64::from_be_bytes(bytes));
            }
            DataType::Float64 => {
                let bytes = payload
                    .try_into()
                    .map_err(|_| size_error("DoubleDeserializer", 8))?;
                writer.push_f64(f64::from_be_bytes(bytes));
            }
            // Java decodes with replacement characters rather than failing.
            DataType::Utf8 => writer.push_bytes(String::from_utf8_lossy(payload).as_bytes()),
            DataType::Binary => writer.push_bytes(payload),
            other => return Err(format!("the KAFKA format cannot read {other}")),
        }
        Ok(())
    }
}

/// Encodes the single column into KAFKA payloads; nulls become absent payloads.
pub(super) fn encode(column: &ArrayRef, num_rows: usize) -> Result<Vec<Option<Vec<u8>>>> {
    let mismatch = || {
        ExecError::Internal(format!(
            "KAFKA encoder got a {} array it cannot write",
            column.data_type()
        ))
    };
    let rows = 0..num_rows;
    let payloads = match column.data_type() {
        DataType::Int32 => {
            let values = column
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(mismatch)?;
            rows.map(|row| (!values.is_null(row)).then(|| values.value(row).to_be_bytes().to_vec()))
                .collect()
        }
        DataType::Int64 => {
            let values = column
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(mismatch)?;
            rows.map(|row| (!values.is_null(row)).then(|| values.value(row).to_be_bytes().to_vec()))
                .collect()
        }
        DataType::Float64 => {
            let values = column
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(mismatch)?;
            rows.map(|row| {
                (!values.is_null(row)).then(|| {
                    // Java's `doubleToLongBits` writes one canonical NaN.
                    let value = values.value(row);
                    let value = if value.is_nan() { f64::NAN } else { value };
                    value.to_be_bytes().to_vec()
                })
            })
            .collect()
        }
        DataType::Utf8 => {
            let values = column.as_string_opt::<i32>().ok_or_else(mismatch)?;
            rows.map(|row| (!values.is_null(row)).then(|| values.value(row).as_bytes().to_vec()))
                .collect()
        }
        DataType::Binary => {
            let values = column.as_binary_opt::<i32>().ok_or_else(mismatch)?;
            rows.map(|row| (!values.is_null(row)).then(|| values.value(row).to_vec()))
                .collect()
        }
        _ => return Err(mismatch()),
    };
    Ok(payloads)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::format::testing::{columns, columns_from_json, decode_values, encode_texts};
    use crate::format::{Encoder, FormatKind, FormatOptions};

    #[test]
    fn values_are_read_like_kafka_deserializers() {
        let cases: [(DataType, &[u8], Result<Value, String>); 10] = [
            (DataType::Int32, &[0, 0, 0, 33], Ok(json!(33))),
            (DataType::Int32, &[0xff, 0xff, 0xff, 0xfe], Ok(json!(-2))),
            (
                DataType::Int32,
                &[0, 33],
                Err("Size of data received by IntegerDeserializer is not 4".to_string()),
            ),
            (DataType::Int64, &[0, 0, 0, 0, 0, 0, 1, 0], Ok(json!(256))),
            (
                DataType::Int64,
                &[],
                Err("Size of data received by LongDeserializer is not 8".to_string()),
            ),
            (DataType::Float64, &1.1f64.to_be_bytes(), Ok(json!(1.1))),
            (
                DataType::Float64,
                &[1, 2, 3],
                Err("Size of data received by DoubleDeserializer is not 8".to_string()),
            ),
            (DataType::Utf8, b"bar", Ok(json!("bar"))),
            (DataType::Utf8, b"a\xffb", Ok(json!("a\u{fffd}b"))),
            (DataType::Binary, b"\x00\x01", Ok(json!("AAE="))),
        ];
        for (data_type, payload, expected) in cases {
            let fields = columns(&[("V", data_type.clone())]);
            let actual = decode_values(
                FormatKind::Kafka,
                &FormatOptions::default(),
                &fields,
                &[Some(payload)],
            )
            .pop()
            .expect("one row")
            .map(|mut values| values.remove(0));
            assert_eq!(actual, expected, "{payload:?} as {data_type}");
        }
    }

    #[test]
    fn values_are_written_like_kafka_serializers() {
        let cases: [(DataType, &str, Option<Vec<u8>>); 7] = [
            (DataType::Int32, "33", Some(vec![0, 0, 0, 33])),
            (DataType::Int64, "2", Some(vec![0, 0, 0, 0, 0, 0, 0, 2])),
            (
                DataType::Float64,
                "2.2",
                Some(2.2f64.to_be_bytes().to_vec()),
            ),
            (
                DataType::Float64,
                "\"NaN\"",
                Some(vec![0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
            ),
            (DataType::Utf8, "\"bar\"", Some(b"bar".to_vec())),
            (DataType::Binary, "\"AAE=\"", Some(vec![0, 1])),
            (DataType::Utf8, "null", None),
        ];
        for (data_type, value, expected) in cases {
            let fields = columns(&[("V", data_type.clone())]);
            let row = format!("{{\"V\": {value}}}");
            let batch = columns_from_json(&fields, &[Some(&row)]);
            let encoder =
                Encoder::new(FormatKind::Kafka, &FormatOptions::default(), fields).expect("ok");
            let encoded = encoder.encode(&batch, 1).expect("encodes");
            assert_eq!(encoded, [expected], "{value} as {data_type}");
        }
        let strings = columns(&[("V", DataType::Utf8)]);
        let batch = columns_from_json(&strings, &[Some("{\"V\": \"\"}")]);
        let encoded = encode_texts(
            FormatKind::Kafka,
            &FormatOptions::default(),
            &strings,
            &batch,
        );
        assert_eq!(encoded, [Some(String::new())]);
    }
}
