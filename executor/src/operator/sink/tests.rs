use std::sync::Arc;

use super::*;

/// A produced record as text: topic, partition, key, value, timestamp.
type ProducedText = (String, u32, Option<String>, Option<String>, i64);
use crate::log::partitioner::partition_for_key;
use crate::operator::stateless::StatelessOperator;
use crate::operator::testing::{Fixture, Harness, written_tables};

#[test]
fn stream_sink_produces_keyed_records_to_the_partition_of_their_key() {
    let fixture = Fixture::new();
    let plan = fixture.plan("CREATE STREAM O WITH (partitions=4) AS SELECT ID, N FROM S;");
    let (projection, _) =
        StatelessOperator::compile(&plan.root, &fixture.metrics).expect("compiles");
    let rows = fixture.decode(
        &plan,
        0,
        &[
            (Some("a"), Some(r#"{"N":1,"V":"x"}"#), 7),
            (Some("b"), Some(r#"{"N":2}"#), 8),
        ],
    );
    let rows = Harness::new(projection).feed(0, rows);
    let sink_plan = plan.sink.as_ref().expect("a sink");
    let mut harness =
        Harness::new(SinkOperator::new(sink_plan, None, Default::default()).expect("sink"));
    let output = harness.feed(0, rows);
    assert_eq!(output.num_rows(), 0, "a sink emits no rows");
    let produced: Vec<ProducedText> = harness
        .produced
        .iter()
        .map(|(topic, partition, record)| {
            let text = |bytes: &Option<Vec<u8>>| {
                bytes
                    .as_ref()
                    .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            };
            (
                topic.clone(),
                *partition,
                text(&record.key),
                text(&record.value),
                record.timestamp,
            )
        })
        .collect();
    assert_eq!(
        produced,
        vec![
            (
                "O".into(),
                partition_for_key(b"a", 4),
                Some("a".into()),
                Some(r#"{"N":1}"#.into()),
                7
            ),
            (
                "O".into(),
                partition_for_key(b"b", 4),
                Some("b".into()),
                Some(r#"{"N":2}"#.into()),
                8
            ),
        ]
    );
    assert!(harness.writes().is_empty(), "a stream sink keeps no state");
}

#[test]
fn table_sink_materializes_its_latest_row_per_key() {
    let fixture = Fixture::new();
    let plan = fixture.plan("CREATE TABLE M AS SELECT ID, COUNT(*) AS C FROM S GROUP BY ID;");
    let sink_plan = plan.sink.as_ref().expect("a sink");
    assert!(sink_plan.materialize);
    let table = fixture.state.write_table(&table_state_id("M"));
    let mut harness =
        Harness::new(SinkOperator::new(sink_plan, Some(table), Default::default()).expect("sink"));
    let schema = Arc::new(plan.root.schema().as_arrow().clone());
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        schema
            .fields()
            .iter()
            .map(|field| match field.name().as_str() {
                "ID" => Arc::new(arrow::array::StringArray::from(vec!["a"])) as _,
                "C" => Arc::new(Int64Array::from(vec![3])) as _,
                _ => arrow::array::new_null_array(field.data_type(), 1),
            })
            .collect(),
    )
    .expect("batch");
    harness.feed(0, batch);
    assert_eq!(harness.produced.len(), 1);
    let writes = harness.writes();
    assert_eq!(written_tables(&writes), vec!["table/M"]);
    let (_, value) = &writes[0];
    let value = value.as_ref().expect("an upsert");
    // The record time (null: 0), then the encoded value.
    assert_eq!(&value[..8], &0i64.to_be_bytes());
    assert_eq!(&value[8..], br#"{"C":3}"#);
}
