use arrow::array::StringArray;
use planner::plan::DataflowPlan;
use planner::{Catalog, Properties, StatementPlan};

use super::*;
use crate::metrics::Metrics;
use crate::operator::stateless::StatelessOperator;
use crate::operator::testing::{consumed, rows};

/// The plan of statement `sql` over `sources` (CREATE statements).
fn plan_over(sources: &[&str], sql: &str) -> DataflowPlan {
    let mut catalog = Catalog::default();
    for sql in sources.iter().chain([&sql]) {
        let statement = parser::parse_statements(sql).expect("parses").remove(0);
        match planner::plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
            Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
            Some(StatementPlan::CreateAsSelect { plan, .. }) => return plan,
            other => panic!("{sql}: {other:?}"),
        }
    }
    panic!("no CREATE AS SELECT")
}

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
        let mut decoder = RepartitionDecoder::new(repartition, Metrics::default().counters("r"))
            .expect("decoder");
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
    let mut decoder =
        RepartitionDecoder::new(repartition, Metrics::default().counters("r")).expect("decoder");
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

/// The rows the stage below `plan`'s one repartition writes: `records` of source 0 through
/// its filters and projections.
fn moved_rows(plan: &DataflowPlan, records: &[(Option<&str>, Option<&str>, i64)]) -> RecordBatch {
    let repartition = plan.root.repartitions()[0];
    let metrics = Metrics::default();
    let node = plan.root.sources()[0].clone();
    let mut source =
        SourceOperator::new(&node, None, metrics.counters(&node.name)).expect("source operator");
    let batch = source.decode(&consumed(records)).expect("decodes");
    let (mut below, _) =
        StatelessOperator::compile(&repartition.input, &metrics).expect("projection");
    let mut produced = Vec::new();
    let mut context = OperatorContext::new(0, &mut produced);
    below.process(0, batch, &mut context).expect("projects")
}

/// `records` as read back from their partitions, offsets counted per record.
fn read_back(records: Vec<(u32, Record)>) -> Vec<ConsumedRecord> {
    records
        .into_iter()
        .enumerate()
        .map(|(offset, (partition, record))| ConsumedRecord {
            partition,
            offset: offset as u64,
            record,
        })
        .collect()
}

/// An aggregation's `GroupBy` repartition writes ksqlDB's records: the grouping value as
/// the key in the key format (partitioned by it), the aggregate's arguments as the value in
/// the source's value format, the row's time as the timestamp; rows of a null group are
/// left out. Read back, they are the rows that were written.
#[test]
fn group_by_repartition_writes_ksqldb_records_and_reads_them_back() {
    let sources = [
        "CREATE STREAM S (ID STRING KEY, V STRING, N BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=2);",
    ];
    let plan = plan_over(
        &sources,
        "CREATE TABLE O AS SELECT V, SUM(N) AS TOTAL, COUNT(*) AS CNT FROM S GROUP BY V;",
    );
    let [repartition] = plan.root.repartitions()[..] else {
        panic!("one repartition expected:\n{plan}");
    };
    assert_eq!(
        repartition.topic,
        "_confluent-ksql-default_query_CTAS_O_0-Aggregate-GroupBy-repartition"
    );
    let batch = moved_rows(
        &plan,
        &[
            (Some("k1"), Some(r#"{"V":"a","N":5}"#), 10),
            (Some("k2"), Some(r#"{"V":null,"N":6}"#), 20),
            (Some("k3"), Some(r#"{"V":"b","N":null}"#), 30),
        ],
    );
    let operator = RepartitionOperator::new(repartition).expect("operator");
    let records = operator.encode(&batch, 1).expect("encodes");
    // Partition, key, value and timestamp of each record.
    let summary: Vec<String> = records
        .iter()
        .map(|(partition, record)| {
            let text =
                |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or(b"-")).into_owned();
            format!(
                "{partition} {} {} {}",
                text(record.key.as_deref()),
                text(record.value.as_deref()),
                record.timestamp
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            format!(
                r#"{} a {{"KSQL_INTERNAL_COL_0":5}} 10"#,
                partition_for_key(b"a", 2)
            ),
            format!(
                r#"{} b {{"KSQL_INTERNAL_COL_0":null}} 30"#,
                partition_for_key(b"b", 2)
            ),
        ]
    );
    let mut decoder =
        RepartitionDecoder::new(repartition, Metrics::default().counters("r")).expect("decoder");
    let (decoded, origins) = decoder
        .decode_tracked(&read_back(records))
        .expect("decodes");
    assert_eq!(origins, [0, 1]);
    let kept: Vec<u32> = vec![0, 2];
    let expected =
        arrow::compute::take_record_batch(&batch, &arrow::array::UInt32Array::from(kept))
            .expect("take");
    assert_eq!(decoded, expected);
}

/// The moved columns, nulls included, round-trip through the source's value format where
/// it can hold them, with the key in the source's key format (KAFKA for a source without
/// one); JSON stands in for a format that cannot.
#[test]
fn group_by_repartition_round_trips_every_format() {
    let cases = [
        ("KAFKA", "JSON", "KAFKA JSON"),
        ("KAFKA", "DELIMITED", "KAFKA DELIMITED"),
        ("JSON", "AVRO", "JSON AVRO"),
        // Protobuf's scalars cannot hold nulls.
        ("KAFKA", "PROTOBUF", "KAFKA JSON"),
        ("PROTOBUF", "PROTOBUF_NOSR", "JSON JSON"),
        ("DELIMITED", "DELIMITED", "DELIMITED DELIMITED"),
        ("KAFKA", "JSON_SR", "KAFKA JSON_SR"),
        ("NONE", "JSON", "KAFKA JSON"),
    ];
    for (key_format, value_format, formats) in cases {
        let key = if key_format == "NONE" {
            ""
        } else {
            "ID STRING KEY, "
        };
        let create = format!(
            "CREATE STREAM S ({key}V STRING, N BIGINT, D DOUBLE, B BOOLEAN) WITH (kafka_topic='s', key_format='{key_format}', value_format='{value_format}', partitions=3);"
        );
        let plan = plan_over(
            &[&create],
            "CREATE TABLE O AS SELECT V, SUM(N) AS TOTAL, MAX(D) AS BIG, COUNT(B) AS BS, \
             COUNT(*) AS CNT FROM S WHERE N > 0 GROUP BY V;",
        );
        let repartition = plan.root.repartitions()[0];
        let RepartitionEncoding::Columns { value_format, .. } = &repartition.encoding else {
            panic!("{formats}: not ksqlDB's columns");
        };
        assert_eq!(
            format!("{} {}", repartition.key_format.name, value_format.name),
            formats
        );
        assert_eq!(repartition.partitions, 3, "{formats}");
        // The source rows, decoded from JSON records of another source of the same columns.
        let json = plan_over(
            &[
                "CREATE STREAM S (ID STRING KEY, V STRING, N BIGINT, D DOUBLE, B BOOLEAN) WITH (kafka_topic='s', value_format='JSON', partitions=3);",
            ],
            "CREATE TABLE O AS SELECT V, SUM(N) AS TOTAL, MAX(D) AS BIG, COUNT(B) AS BS, \
             COUNT(*) AS CNT FROM S WHERE N > 0 GROUP BY V;",
        );
        let batch = moved_rows(
            &json,
            &[
                (Some("k"), Some(r#"{"V":"a,b","N":5,"D":1.5,"B":true}"#), 10),
                (Some("k"), Some(r#"{"V":"c","N":7,"D":null,"B":false}"#), 20),
                (Some("k"), Some(r#"{"V":"c","N":-1,"D":2.0,"B":null}"#), 30),
            ],
        );
        let operator = RepartitionOperator::new(repartition).expect("operator");
        let records = operator.encode(&batch, 0).expect("encodes");
        assert_eq!(records.len(), 2, "{formats}");
        let mut decoder = RepartitionDecoder::new(repartition, Metrics::default().counters("r"))
            .expect("decoder");
        let decoded = decoder.decode(&read_back(records)).expect("decodes");
        let columns: Vec<String> = decoded
            .schema()
            .fields()
            .iter()
            .map(|field| field.name().clone())
            .collect();
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        assert_eq!(
            rows(&decoded, &columns),
            rows(&batch, &columns),
            "{formats}"
        );
        assert_eq!(
            columns,
            [
                "V",
                "KSQL_INTERNAL_COL_0",
                "KSQL_INTERNAL_COL_1",
                "KSQL_INTERNAL_COL_2",
                "ROWTIME"
            ],
            "{formats}"
        );
    }
}

/// A record of a `GroupBy` topic that does not decode (written by something else) is
/// counted and skipped; the others are read.
#[test]
fn group_by_repartition_decoder_skips_records_it_cannot_read() {
    let plan = plan_over(
        &[
            "CREATE STREAM S (ID STRING KEY, V STRING, N BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=2);",
        ],
        "CREATE TABLE O AS SELECT V, SUM(N) AS TOTAL FROM S GROUP BY V;",
    );
    let repartition = plan.root.repartitions()[0];
    let metrics = Metrics::default();
    let mut decoder = RepartitionDecoder::new(repartition, metrics.counters("r")).expect("decoder");
    let (decoded, origins) = decoder
        .decode_tracked(&consumed(&[
            (Some("a"), Some(r#"{"KSQL_INTERNAL_COL_0":1}"#), 1),
            (Some("b"), Some("not json"), 2),
            (Some("c"), Some(r#"{"KSQL_INTERNAL_COL_0":3}"#), 3),
        ]))
        .expect("decodes");
    assert_eq!(origins, [0, 2]);
    assert_eq!(
        rows(&decoded, &["V", "KSQL_INTERNAL_COL_0", "ROWTIME"]),
        ["a|1|1", "c|3|3"]
    );
    let (_, failed, _) = metrics.counters("r").snapshot();
    assert_eq!(failed, 1);
}
