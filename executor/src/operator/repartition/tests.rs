use arrow::array::StringArray;
use planner::plan::DataflowPlan;
use planner::{Catalog, Properties, StatementPlan};

use super::*;
use crate::metrics::Metrics;
use crate::operator::testing::consumed;

/// The plan of a stream-stream join of `L` (keyed by `ID` in `key_format`) with `R` on
/// `R.LID`, both over two partitions: `R` is repartitioned by `LID` into `L`'s key format.
fn join_plan(key_format: &str) -> DataflowPlan {
    let mut catalog = Catalog::default();
    let statements = [
        format!(
            "CREATE STREAM L (ID STRING KEY, A STRING) WITH (kafka_topic='l', key_format='{key_format}', value_format='JSON', partitions=2);"
        ),
        "CREATE STREAM R (RID STRING KEY, LID STRING, B STRING) WITH (kafka_topic='r', value_format='JSON', partitions=2);".to_string(),
        "CREATE STREAM O AS SELECT L.ID, A, B FROM L JOIN R WITHIN 1 SECOND ON L.ID = R.LID;".to_string(),
    ];
    for sql in &statements {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match planner::plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            Some(StatementPlan::CreateAsSelect { plan, .. }) => return plan,
            other => panic!("{sql}: {other:?}"),
        }
    }
    panic!("no CREATE AS SELECT")
}

/// Right records `(key, value, time)` decoded as the repartition's input rows.
fn right_rows(plan: &DataflowPlan, records: &[(Option<&str>, Option<&str>, i64)]) -> RecordBatch {
    let node = plan.root.sources()[1].clone();
    assert_eq!(node.name, "R");
    let mut source = SourceOperator::new(&node, None, Metrics::default().counters("R"))
        .expect("source operator");
    source.decode(&consumed(records)).expect("decodes")
}

/// Each row becomes one record: keyed by its `LID` serialized in the left side's key format
/// (so the log's partitioner puts it where the left side's producer put that key), in that
/// key's partition, at the row's time; a null `LID` keeps a null key and the partition
/// the row came from. Read back, the records are the same rows, hidden columns included.
#[test]
fn repartition_keys_rows_like_the_other_side_and_reads_them_back_unchanged() {
    let cases: [(&str, &[u8], &[u8]); 3] = [
        ("KAFKA", b"a", b"d"),
        ("JSON", b"\"a\"", b"\"d\""),
        ("DELIMITED", b"a", b"d"),
    ];
    for (key_format, a, d) in cases {
        let plan = join_plan(key_format);
        let [repartition] = plan.root.repartitions()[..] else {
            panic!("{key_format}: one repartition expected:\n{plan}");
        };
        assert_eq!(repartition.name, "Join-right-repartition");
        assert_eq!(
            repartition.topic,
            "_confluent-ksql-default_query_CSAS_O_0-Join-right-repartition"
        );
        let batch = right_rows(
            &plan,
            &[
                (Some("d"), Some(r#"{"LID":"a","B":"b1"}"#), 10),
                (Some("a"), Some(r#"{"LID":"d","B":"b2"}"#), 20),
                (Some("x"), Some(r#"{"LID":null,"B":"b3"}"#), 30),
            ],
        );
        let operator = RepartitionOperator::new(repartition).expect("operator");
        let records = operator.encode(&batch, 1).expect("encodes");
        let summary: Vec<(u32, Option<Vec<u8>>, i64)> = records
            .iter()
            .map(|(partition, record)| (*partition, record.key.clone(), record.timestamp))
            .collect();
        assert_eq!(
            summary,
            [
                (partition_for_key(a, 2), Some(a.to_vec()), 10),
                (partition_for_key(d, 2), Some(d.to_vec()), 20),
                (1, None, 30),
            ],
            "{key_format}"
        );
        let read: Vec<ConsumedRecord> = records
            .into_iter()
            .enumerate()
            .map(|(offset, (partition, record))| ConsumedRecord {
                partition,
                offset: offset as u64,
                record,
            })
            .collect();
        let mut decoder = RepartitionDecoder::new(repartition).expect("decoder");
        let decoded = decoder.decode(&read).expect("decodes");
        assert_eq!(decoded, batch, "{key_format}");
        let lids = decoded
            .column_by_name("LID")
            .and_then(|column| column.as_any().downcast_ref::<StringArray>().cloned())
            .expect("LID column");
        assert_eq!(
            lids.iter().collect::<Vec<_>>(),
            [Some("a"), Some("d"), None]
        );
    }
}

/// A record that is not a row of this layout (another version, or a tombstone) is an
/// internal error, not a row.
#[test]
fn repartition_decoder_rejects_records_it_did_not_write() {
    let plan = join_plan("KAFKA");
    let repartition = plan.root.repartitions()[0];
    let mut decoder = RepartitionDecoder::new(repartition).expect("decoder");
    for value in [None, Some(vec![0xff, 1, 2])] {
        let record = ConsumedRecord {
            partition: 0,
            offset: 7,
            record: Record {
                key: None,
                value,
                timestamp: 0,
                headers: Vec::new(),
            },
        };
        let error = decoder.decode(&[record]).expect_err("not a row");
        assert!(error.to_string().contains("not a row"), "{error}");
    }
}
