use std::collections::BTreeMap;

use arrow::datatypes::Field;
use arrow::util::pretty::pretty_format_batches;
use parser::ast::DataType as SqlType;

use super::*;
use crate::operator::window::append_window;
use crate::table_provider::testing::table_definition;

fn text(value: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(value.into()))
}

fn bytes(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

fn past(key: &[u8]) -> Vec<u8> {
    [key, &[0]].concat()
}

fn windowed(key: &str, kind: WindowKind, start: i64, end: i64) -> Vec<u8> {
    let mut bytes = bytes(key);
    append_window(&mut bytes, kind, start, end);
    bytes
}

#[test]
fn stored_values_round_trip() {
    for (timestamp, value) in [(0, &b""[..]), (-1, b"{}"), (i64::MAX, b"\x00\xff")] {
        let stored = encode_value(timestamp, value);
        assert_eq!(stored.len(), 8 + value.len());
        assert_eq!(decode_value(&stored), Some((timestamp, value)));
        let record = decode_record(b"k".to_vec(), stored).expect("a record");
        assert_eq!(record.record.timestamp, timestamp);
        assert_eq!(record.record.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(record.record.value.as_deref(), Some(value));
    }
    assert_eq!(decode_value(b"short"), None);
    assert!(decode_record(b"k".to_vec(), b"short".to_vec()).is_none());
    assert_eq!(encode_key(None), Vec::<u8>::new());
    assert_eq!(encode_key(Some(b"k")), b"k".to_vec());
    assert_eq!(table_state_id("T"), "table/T");
}

#[test]
fn windowed_rows_decode_with_their_window() {
    let cases = [
        (WindowKind::Tumbling, Some(1000), (2000, 3000)),
        (WindowKind::Hopping, Some(500), (2000, 2500)),
        (WindowKind::Session, None, (2000, 2750)),
    ];
    for (kind, size_ms, (start, end)) in cases {
        let window = WindowInfo { kind, size_ms };
        let definition = table_definition("T", "KAFKA", &[("ID", SqlType::String)], Some(window));
        let decoder = MaterializedRowDecoder::new(&definition).expect("decoder");
        let stored_key = encode_key(Some(&windowed("a", kind, start, end)));
        let entries = vec![
            (stored_key, encode_value(7, br#"{"COUNT":1,"REGION":"eu"}"#)),
            (b"a".to_vec(), b"short".to_vec()),
        ];
        let batch = decoder.decode(&entries).expect("decodes");
        let rows = pretty_format_batches(&[batch]).expect("format").to_string();
        let expected = format!("| a  | 1     | eu     | 7       | {start:<11} | {end:<9} |");
        assert!(rows.contains(&expected), "{kind:?}:\n{rows}");
        assert_eq!(rows.matches("| a ").count(), 1, "{kind:?}:\n{rows}");
    }
}

/// `(key format, key columns, window, lookup, expected reads)`.
type LookupCase<'a> = (
    &'a str,
    &'a [(&'a str, DataType)],
    Option<WindowInfo>,
    KeyLookup,
    StateLookup,
);

#[test]
fn key_lookups_become_stored_keys_and_ranges() {
    let string_key = [("ID", DataType::Utf8)];
    let bigint_key = [("ID", DataType::Int64)];
    let int_key = [("ID", DataType::Int32)];
    let tumbling = Some(WindowInfo {
        kind: WindowKind::Tumbling,
        size_ms: Some(1000),
    });
    let range = |lower, upper| KeyLookup::Range { lower, upper };
    let keys = |values: &[ScalarValue]| {
        KeyLookup::Keys(values.iter().map(|value| vec![value.clone()]).collect())
    };
    let cases: Vec<LookupCase> = vec![
        (
            "KAFKA",
            &string_key,
            None,
            KeyLookup::Scan,
            StateLookup::Scan,
        ),
        (
            "KAFKA",
            &string_key,
            None,
            keys(&[text("b"), text("a"), text("b")]),
            StateLookup::Keys(vec![bytes("a"), bytes("b")]),
        ),
        (
            "KAFKA",
            &int_key,
            None,
            keys(&[ScalarValue::Int64(Some(7))]),
            StateLookup::Keys(vec![7i32.to_be_bytes().to_vec()]),
        ),
        (
            "JSON",
            &string_key,
            None,
            keys(&[text("a")]),
            StateLookup::Keys(vec![bytes("\"a\"")]),
        ),
        (
            "KAFKA",
            &string_key,
            tumbling,
            keys(&[text("a")]),
            StateLookup::Windows {
                keys: vec![bytes("a")],
                window_bytes: 8,
            },
        ),
        (
            "KAFKA",
            &string_key,
            None,
            range(Bound::Included(text("b")), Bound::Excluded(text("d"))),
            StateLookup::Ranges(vec![(bytes("b"), bytes("d"))]),
        ),
        (
            "KAFKA",
            &string_key,
            None,
            range(Bound::Excluded(text("b")), Bound::Included(text("d"))),
            StateLookup::Ranges(vec![(past(b"b"), past(b"d"))]),
        ),
        (
            "KAFKA",
            &string_key,
            None,
            range(Bound::Unbounded, Bound::Unbounded),
            StateLookup::Ranges(vec![(Vec::new(), END_BOUND.to_vec())]),
        ),
        (
            "KAFKA",
            &string_key,
            tumbling,
            range(Bound::Included(text("a")), Bound::Included(text("c"))),
            StateLookup::Ranges(vec![(bytes("a"), past_windows(b"c"))]),
        ),
        (
            "KAFKA",
            &bigint_key,
            None,
            range(
                Bound::Included(ScalarValue::Int64(Some(-2))),
                Bound::Included(ScalarValue::Int64(Some(3))),
            ),
            StateLookup::Ranges(vec![
                (0i64.to_be_bytes().to_vec(), past(&3i64.to_be_bytes())),
                ((-2i64).to_be_bytes().to_vec(), past(&(-1i64).to_be_bytes())),
            ]),
        ),
        (
            "KAFKA",
            &bigint_key,
            None,
            range(
                Bound::Excluded(ScalarValue::Int64(Some(5))),
                Bound::Unbounded,
            ),
            StateLookup::Ranges(vec![(
                6i64.to_be_bytes().to_vec(),
                past(&i64::MAX.to_be_bytes()),
            )]),
        ),
        (
            "KAFKA",
            &bigint_key,
            None,
            range(
                Bound::Unbounded,
                Bound::Excluded(ScalarValue::Int64(Some(i64::MIN))),
            ),
            StateLookup::Ranges(vec![]),
        ),
        (
            "JSON",
            &string_key,
            None,
            range(Bound::Excluded(text("a")), Bound::Unbounded),
            StateLookup::Scan,
        ),
    ];
    for (format, key_columns, window, lookup, expected) in cases {
        let fields: Fields = key_columns
            .iter()
            .map(|(name, data_type)| Field::new(*name, data_type.clone(), true))
            .collect();
        let format_definition = FormatDefinition {
            name: format.into(),
            wrap_single_value: None,
            delimiter: None,
            schema: None,
        };
        let encoder =
            MaterializedKeyEncoder::new(&format_definition, fields, window).expect("encoder");
        let reads = encoder.lookup(&lookup).expect("encodes");
        assert_eq!(reads, expected, "{format} {window:?} {lookup:?}");
    }
}

/// Entries in memory, for `read_entries`.
struct Memory(BTreeMap<Vec<u8>, Vec<u8>>);

impl SortedEntries for Memory {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key).cloned())
    }

    fn range(&self, from: &[u8], to: &[u8]) -> Result<Entries> {
        Ok(self
            .0
            .iter()
            .filter(|(key, _)| key.as_slice() >= from && key.as_slice() < to)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    fn scan(&self) -> Result<Entries> {
        self.range(&[], &END_BOUND)
    }
}

#[test]
fn window_lookups_read_every_window_of_exactly_their_keys() {
    let kind = WindowKind::Tumbling;
    let stored = [
        windowed("a", kind, 0, 10),
        windowed("a", kind, 10, 20),
        windowed("ab", kind, 0, 10),
        windowed("b", kind, 0, 10),
    ];
    let memory = Memory(stored.iter().map(|key| (key.clone(), Vec::new())).collect());
    let lookup = StateLookup::Windows {
        keys: vec![bytes("a")],
        window_bytes: 8,
    };
    let keys: Vec<Vec<u8>> = read_entries(&memory, &lookup)
        .expect("reads")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(keys, stored[..2]);
    let lookup = StateLookup::Keys(vec![stored[3].clone(), bytes("missing")]);
    assert_eq!(read_entries(&memory, &lookup).expect("reads").len(), 1);
}

#[test]
fn overlapping_ranges_merge() {
    let ranges = vec![
        (bytes("c"), bytes("e")),
        (bytes("a"), bytes("b")),
        (bytes("d"), bytes("f")),
        (bytes("x"), bytes("x")),
    ];
    assert_eq!(
        merge_ranges(ranges),
        vec![(bytes("a"), bytes("b")), (bytes("c"), bytes("f"))]
    );
}
