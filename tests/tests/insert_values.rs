//! `INSERT INTO ... VALUES` with constructed values: `MAP(k := v, ...)` keeps its keys and
//! null values, `STRUCT()` and partial structs fill the column type's missing fields with
//! null. Expected payloads are worked out by hand.

use server::{Engine, Session};
use tests::execute;

#[test]
fn inserted_maps_keep_their_keys_and_structs_take_the_column_fields_by_name() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM s (id INT KEY, m MAP<STRING, INT>, st STRUCT<foo INT, `bar` STRING>)
           WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
         INSERT INTO s (id, m, st) VALUES (1, MAP('a' := 0, 'b' := 1), STRUCT(foo := 5));
         INSERT INTO s (id, m, st) VALUES (2, MAP('k' := CAST(NULL AS INT)), STRUCT());",
    );
    let values: Vec<serde_json::Value> = engine
        .topic_log()
        .read("s", 0, 0, 10)
        .expect("read")
        .iter()
        .map(|consumed| {
            serde_json::from_slice(consumed.record.value.as_deref().expect("a value"))
                .expect("a JSON value")
        })
        .collect();
    assert_eq!(
        values,
        vec![
            serde_json::json!({"M": {"a": 0, "b": 1}, "ST": {"FOO": 5, "bar": null}}),
            serde_json::json!({"M": {"k": null}, "ST": {"FOO": null, "bar": null}}),
        ]
    );
}
