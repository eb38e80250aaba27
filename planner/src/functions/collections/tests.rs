//! Tests of the array and map functions, against the results of ksqlDB.

use datafusion::arrow::array::StringArray;

use super::*;
use crate::functions::testing::{call, int_lists, return_type, rows, string_lists};

fn ints(values: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(values.to_vec()))
}

#[test]
fn length_contains_and_remove() {
    let lists = int_lists(vec![
        Some(vec![Some(0), Some(0), Some(1), None, Some(-1)]),
        Some(vec![]),
        None,
    ]);
    let result = call("ARRAY_LENGTH", vec![Arc::clone(&lists)]).expect("length");
    assert_eq!(rows(&result), vec!["5", "0", "NULL"]);
    let result = call(
        "ARRAY_CONTAINS",
        vec![Arc::clone(&lists), ints(&[Some(1), Some(1), Some(1)])],
    )
    .expect("contains");
    assert_eq!(rows(&result), vec!["true", "false", "false"]);
    let result = call(
        "ARRAY_REMOVE",
        vec![Arc::clone(&lists), ints(&[Some(0), None, None])],
    )
    .expect("remove");
    assert_eq!(rows(&result), vec!["[1, , -1]", "[]", "NULL"]);
    let result = call("ARRAY_REMOVE", vec![lists, ints(&[None, None, None])]).expect("remove null");
    assert_eq!(rows(&result)[0], "[0, 0, 1, -1]");
}

#[test]
fn set_functions() {
    let left = int_lists(vec![
        Some(vec![Some(0), Some(0), Some(1), Some(0), Some(-1)]),
        None,
    ]);
    let right = int_lists(vec![
        Some(vec![Some(1), Some(-2), Some(0)]),
        Some(vec![Some(1)]),
    ]);
    let cases = [
        ("ARRAY_DISTINCT", false, vec!["[0, 1, -1]", "NULL"]),
        ("ARRAY_INTERSECT", true, vec!["[0, 1]", "NULL"]),
        ("ARRAY_EXCEPT", true, vec!["[-1]", "NULL"]),
        ("ARRAY_UNION", true, vec!["[0, 1, -1, -2]", "NULL"]),
        (
            "ARRAY_CONCAT",
            true,
            vec!["[0, 0, 1, 0, -1, 1, -2, 0]", "[1]"],
        ),
    ];
    for (name, two, expected) in cases {
        let args = if two {
            vec![Arc::clone(&left), Arc::clone(&right)]
        } else {
            vec![Arc::clone(&left)]
        };
        let result = call(name, args).expect(name);
        assert_eq!(rows(&result), expected, "{name}");
    }
}

#[test]
fn sort_min_max_and_join() {
    let strings = string_lists(vec![
        Some(vec![
            Some("foo"),
            Some("fo"),
            Some("Food"),
            None,
            Some("F"),
            Some("food"),
        ]),
        Some(vec![]),
        None,
    ]);
    let result = call("ARRAY_SORT", vec![Arc::clone(&strings)]).expect("sort");
    assert_eq!(
        rows(&result),
        vec!["[F, Food, fo, foo, food, ]", "[]", "NULL"]
    );
    let desc: ArrayRef = Arc::new(StringArray::from(vec!["desc"; 3]));
    let result = call("ARRAY_SORT", vec![Arc::clone(&strings), desc]).expect("sort desc");
    assert_eq!(rows(&result)[0], "[food, foo, fo, Food, F, ]");
    let result = call("ARRAY_MAX", vec![Arc::clone(&strings)]).expect("max");
    assert_eq!(rows(&result), vec!["food", "NULL", "NULL"]);
    let result = call("ARRAY_MIN", vec![Arc::clone(&strings)]).expect("min");
    assert_eq!(rows(&result), vec!["F", "NULL", "NULL"]);
    let result = call("ARRAY_JOIN", vec![strings]).expect("join");
    assert_eq!(rows(&result), vec!["foo,fo,Food,null,F,food", "", "NULL"]);
    assert_eq!(
        return_type("ARRAY_MAX", &[list_type(DataType::Float64)]).expect("max type"),
        DataType::Float64
    );
}

#[test]
fn slice_and_generate_series() {
    let lists = int_lists(vec![Some(vec![Some(1), Some(2), Some(3), Some(4)]); 3]);
    let result = call(
        "SLICE",
        vec![
            lists,
            ints(&[Some(2), Some(0), Some(2)]),
            ints(&[Some(3), Some(2), Some(9)]),
        ],
    )
    .expect("slice");
    assert_eq!(rows(&result), vec!["[2, 3]", "NULL", "NULL"]);
    let result = call(
        "GENERATE_SERIES",
        vec![
            ints(&[Some(1), Some(5), Some(1)]),
            ints(&[Some(3), Some(1), Some(3)]),
            ints(&[Some(1), Some(-2), Some(0)]),
        ],
    )
    .expect("series");
    assert_eq!(rows(&result), vec!["[1, 2, 3]", "[5, 3, 1]", "NULL"]);
    let result = call(
        "GENERATE_SERIES",
        vec![ints(&[Some(3), Some(1)]), ints(&[Some(1), Some(1)])],
    )
    .expect("series without step");
    assert_eq!(rows(&result), vec!["[3, 2, 1]", "[1]"]);
}
