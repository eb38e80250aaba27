//! Tests of the aggregate state codec: round trips of every type and the encoded bytes.

use super::*;
use arrow::datatypes::{Field, Fields};

fn list_type(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", element, true)))
}

fn map_type(key: DataType, value: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", key, false),
                Field::new("value", value, true),
            ])),
            false,
        )),
        false,
    )
}

fn map_value(data_type: &DataType, entries: &[(&str, Option<i64>)]) -> ScalarValue {
    let DataType::Map(entries_field, _) = data_type else {
        panic!("map type expected");
    };
    let DataType::Struct(fields) = entries_field.data_type() else {
        panic!("struct expected");
    };
    let keys: ArrayRef = Arc::new(arrow::array::StringArray::from(
        entries.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
    ));
    let values: ArrayRef = Arc::new(arrow::array::Int64Array::from(
        entries.iter().map(|(_, value)| *value).collect::<Vec<_>>(),
    ));
    let struct_array =
        StructArray::try_new(fields.clone(), vec![keys, values], None).expect("entries");
    ScalarValue::Map(Arc::new(
        MapArray::try_new(
            Arc::clone(entries_field),
            OffsetBuffer::from_lengths([entries.len()]),
            struct_array,
            None,
            false,
        )
        .expect("map"),
    ))
}

#[test]
fn varints_round_trip() {
    for value in [0i64, 1, -1, 63, -64, 64, 300, i64::MAX, i64::MIN] {
        let mut out = Vec::new();
        put_signed(&mut out, value);
        let mut input = out.as_slice();
        assert_eq!(get_signed(&mut input).expect("decodes"), value);
        assert!(input.is_empty());
    }
    for value in [0i128, -5, i128::MAX, i128::MIN, 10i128.pow(37)] {
        let mut out = Vec::new();
        put_i128(&mut out, value);
        let mut input = out.as_slice();
        assert_eq!(get_i128(&mut input).expect("decodes"), value);
        assert!(input.is_empty());
    }
    let mut out = Vec::new();
    put_varint(&mut out, 127);
    assert_eq!(out.len(), 1);
}

#[test]
fn scalars_round_trip() {
    let struct_type = DataType::Struct(Fields::from(vec![
        Field::new("A", DataType::Utf8, true),
        Field::new("B", DataType::Int64, true),
    ]));
    let struct_value = ScalarValue::Struct(Arc::new(
        StructArray::try_new(
            match &struct_type {
                DataType::Struct(fields) => fields.clone(),
                _ => unreachable!("struct type"),
            },
            vec![
                Arc::new(arrow::array::StringArray::from(vec![Some("x")])),
                Arc::new(arrow::array::Int64Array::from(vec![None::<i64>])),
            ],
            None,
        )
        .expect("struct"),
    ));
    let map = map_type(DataType::Utf8, DataType::Int64);
    let cases: Vec<(DataType, ScalarValue)> = vec![
        (DataType::Boolean, ScalarValue::Boolean(Some(true))),
        (DataType::Int32, ScalarValue::Int32(Some(-7))),
        (DataType::Int32, ScalarValue::Int32(None)),
        (DataType::Int64, ScalarValue::Int64(Some(i64::MIN))),
        (DataType::Float64, ScalarValue::Float64(Some(2.5))),
        (
            DataType::Decimal128(4, 1),
            ScalarValue::Decimal128(Some(-1234), 4, 1),
        ),
        (DataType::Utf8, ScalarValue::Utf8(Some("héllo".into()))),
        (DataType::Binary, ScalarValue::Binary(Some(vec![0, 255]))),
        (DataType::Date32, ScalarValue::Date32(Some(-3))),
        (
            DataType::Time32(TimeUnit::Millisecond),
            ScalarValue::Time32Millisecond(Some(1000)),
        ),
        (
            DataType::Timestamp(TimeUnit::Millisecond, None),
            ScalarValue::TimestampMillisecond(Some(1_700_000_000_000), None),
        ),
        (
            list_type(DataType::Int32),
            ScalarValue::List(ScalarValue::new_list_nullable(
                &[ScalarValue::Int32(Some(1)), ScalarValue::Int32(None)],
                &DataType::Int32,
            )),
        ),
        (
            list_type(DataType::Int32),
            ScalarValue::List(ScalarValue::new_list_nullable(&[], &DataType::Int32)),
        ),
        (
            list_type(DataType::Int32),
            ScalarValue::try_from(&list_type(DataType::Int32)).expect("null list"),
        ),
        (
            list_type(list_type(DataType::Utf8)),
            ScalarValue::List(ScalarValue::new_list_nullable(
                &[ScalarValue::List(ScalarValue::new_list_nullable(
                    &[ScalarValue::Utf8(Some("a".into()))],
                    &DataType::Utf8,
                ))],
                &list_type(DataType::Utf8),
            )),
        ),
        (struct_type.clone(), struct_value.clone()),
        (
            struct_type.clone(),
            ScalarValue::try_from(&struct_type).expect("null struct"),
        ),
        (map.clone(), map_value(&map, &[("a", Some(1)), ("b", None)])),
        (map.clone(), map_value(&map, &[])),
    ];
    for (data_type, value) in cases {
        let mut out = Vec::new();
        encode_scalar(&value, &mut out);
        out.push(42);
        let mut input = out.as_slice();
        let decoded = decode_scalar(&data_type, &mut input).expect("decodes");
        assert_eq!(decoded, value, "{data_type}");
        assert_eq!(decoded.data_type(), data_type);
        assert_eq!(input, &[42], "{data_type}: consumes exactly its bytes");
    }
}

#[test]
fn canonical_keys_ignore_map_entry_order() {
    let map = map_type(DataType::Utf8, DataType::Int64);
    let one = map_value(&map, &[("a", Some(1)), ("b", Some(2))]);
    let two = map_value(&map, &[("b", Some(2)), ("a", Some(1))]);
    let three = map_value(&map, &[("b", Some(3)), ("a", Some(1))]);
    assert_eq!(canonical_key(&one), canonical_key(&two));
    assert_ne!(canonical_key(&one), canonical_key(&three));
    assert_ne!(
        canonical_key(&ScalarValue::Utf8(None)),
        canonical_key(&ScalarValue::Utf8(Some(String::new())))
    );
}

#[test]
fn truncated_input_is_an_error() {
    let mut out = Vec::new();
    encode_scalar(&ScalarValue::Utf8(Some("hello".into())), &mut out);
    out.truncate(3);
    let mut input = out.as_slice();
    assert!(decode_scalar(&DataType::Utf8, &mut input).is_err());
}
