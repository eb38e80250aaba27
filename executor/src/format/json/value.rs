//! One Arrow value as a `serde_json::Value`, for the test runner and the REST API.
//!
//! Same conventions as the JSON encoder, within what a `Value` can hold: DECIMAL becomes a
//! (floating) number, so its scale is lost (`1.10` reads back as `1.1`); objects come out
//! with sorted keys (serde_json is built without `preserve_order`).

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimeUnit, TimestampMillisecondType,
};
use arrow::util::display::array_value_to_string;
use serde_json::{Map, Number, Value};

use super::encode::write_base64;
use crate::format::number::write_java_decimal;

/// The value at `row` of `array` as JSON (see the module documentation for the mapping).
pub fn arrow_value_to_json(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Date32 => Value::from(array.as_primitive::<Date32Type>().value(row)),
        DataType::Time32(TimeUnit::Millisecond) => {
            Value::from(array.as_primitive::<Time32MillisecondType>().value(row))
        }
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(row)),
        DataType::Timestamp(TimeUnit::Millisecond, None) => {
            Value::from(array.as_primitive::<TimestampMillisecondType>().value(row))
        }
        DataType::Float64 => {
            let value = array.as_primitive::<Float64Type>().value(row);
            match Number::from_f64(value) {
                Some(number) => Value::Number(number),
                None if value.is_nan() => Value::String("NaN".to_string()),
                None if value > 0.0 => Value::String("Infinity".to_string()),
                None => Value::String("-Infinity".to_string()),
            }
        }
        DataType::Decimal128(_, scale) => {
            let mut text = Vec::new();
            write_java_decimal(
                &mut text,
                array.as_primitive::<Decimal128Type>().value(row),
                *scale,
            );
            serde_json::from_slice(&text).unwrap_or(Value::Null)
        }
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_string()),
        DataType::Binary => {
            let mut text = Vec::new();
            write_base64(array.as_binary::<i32>().value(row), &mut text);
            Value::String(String::from_utf8(text).expect("base64 is ASCII"))
        }
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            Value::Array(
                (0..items.len())
                    .map(|item| arrow_value_to_json(items.as_ref(), item))
                    .collect(),
            )
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let keys = entries.column(0);
            let values = entries.column(1);
            let mut object = Map::new();
            for entry in 0..entries.len() {
                let key = match arrow_value_to_json(keys.as_ref(), entry) {
                    Value::String(key) => key,
                    other => other.to_string(),
                };
                object.insert(key, arrow_value_to_json(values.as_ref(), entry));
            }
            Value::Object(object)
        }
        DataType::Struct(fields) => {
            let structs = array.as_struct();
            let object = fields
                .iter()
                .zip(structs.columns())
                .map(|(field, column)| {
                    (
                        field.name().clone(),
                        arrow_value_to_json(column.as_ref(), row),
                    )
                })
                .collect();
            Value::Object(object)
        }
        _ => array_value_to_string(array, row)
            .map(Value::String)
            .unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BinaryArray, Decimal128Array, Float64Array, Int32Array, ListArray, StringArray,
        StructArray,
    };
    use arrow::datatypes::{Field, Int32Type};
    use serde_json::json;

    use super::*;

    #[test]
    fn values_follow_the_json_encoder() {
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(110), None])
                .with_precision_and_scale(4, 2)
                .expect("valid"),
        );
        let doubles: ArrayRef = Arc::new(Float64Array::from(vec![1.5, f64::NAN]));
        let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![&b"variations"[..]]));
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None]),
        ]));
        let structs: ArrayRef = Arc::new(StructArray::from(vec![
            (
                Arc::new(Field::new("B", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("A", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![7])) as ArrayRef,
            ),
        ]));
        let cases = [
            (&decimals, 0, json!(1.1)),
            (&decimals, 1, Value::Null),
            (&doubles, 0, json!(1.5)),
            (&doubles, 1, json!("NaN")),
            (&bytes, 0, json!("dmFyaWF0aW9ucw==")),
            (&list, 0, json!([1, null])),
            (&structs, 0, json!({"A": 7, "B": "x"})),
        ];
        for (array, row, expected) in cases {
            assert_eq!(arrow_value_to_json(array.as_ref(), row), expected);
        }
    }
}
