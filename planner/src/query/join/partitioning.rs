//! Co-partitioning the sides of a join, as ksqlDB does: both sides' topics must have the
//! same partition count, and a side whose rows are not partitioned by the join key (in the
//! same key format as the other side) is repartitioned by it through an internal topic.
//!
//! A side is partitioned by its source's key columns, serialized in its key format (the log's
//! partitioner hashes those bytes); a join's output by its join key, as its sides were.

use std::sync::Arc;

use arrow::datatypes::{DataType as ArrowType, Field, Fields};
use datafusion::common::{Column, TableReference};
use datafusion::logical_expr::Expr;

use super::{Input, join_side};
use crate::Result;
use crate::catalog::{FormatDefinition, SourceDefinition};
use crate::plan::{
    DataflowNode, JoinVariant, RepartitionEncoding, RepartitionNode, join_key_column,
};
use crate::user_error;

/// How the rows of a planned relation are spread over its partitions.
#[derive(Debug, Clone)]
pub(super) struct Partitioning {
    /// Expressions over the relation's rows whose values, serialized with `format` as
    /// `fields`, the log's partitioner hashed.
    keys: Vec<Expr>,
    format: FormatDefinition,
    fields: Fields,
}

/// A source read as `alias` is partitioned by its key columns, unless it has none (or its
/// key format is `NONE`).
pub(super) fn source_partitioning(
    source: &SourceDefinition,
    alias: &str,
) -> Result<Option<Partitioning>> {
    let fields = source.key_fields()?;
    if fields.is_empty() || source.key_format.name == "NONE" {
        return Ok(None);
    }
    let keys = fields
        .iter()
        .map(|field| {
            Expr::Column(Column::new(
                Some(TableReference::bare(alias)),
                field.name().clone(),
            ))
        })
        .collect();
    Ok(Some(Partitioning {
        keys,
        format: source.key_format.clone(),
        fields,
    }))
}

/// For each of `partitioning`'s keys, the index of the join condition whose expression
/// (of `keys`) it is; `None` when the conditions are not exactly those keys.
fn aligned(partitioning: &Partitioning, keys: &[Expr]) -> Option<Vec<usize>> {
    if partitioning.keys.len() != keys.len() {
        return None;
    }
    let order: Vec<usize> = partitioning
        .keys
        .iter()
        .map(|key| keys.iter().position(|expr| same_column(expr, key)))
        .collect::<Option<_>>()?;
    let mut sorted = order.clone();
    sorted.sort_unstable();
    sorted.dedup();
    (sorted.len() == order.len()).then_some(order)
}

/// Whether two expressions are the same column (of the same source alias).
fn same_column(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Column(a), Expr::Column(b)) => {
            a.name == b.name
                && a.relation.as_ref().map(TableReference::table)
                    == b.relation.as_ref().map(TableReference::table)
        }
        _ => false,
    }
}

/// Whether two sides serialize their keys into the same bytes: the same format and, past a
/// single unwrapped key, the same field names.
fn same_serialization(a: &Partitioning, b: &Partitioning) -> bool {
    let names = |fields: &Fields| -> Vec<String> {
        fields.iter().map(|field| field.name().clone()).collect()
    };
    a.format == b.format && (a.fields.len() == 1 || names(&a.fields) == names(&b.fields))
}

/// ksqlDB's check that a join's sides have the same partition count (foreign-key joins
/// excepted), naming each side by its first source's alias.
pub(super) fn check_partition_counts(left: &Input, right: &Input) -> Result<()> {
    if left.partitions == right.partitions {
        return Ok(());
    }
    let name = |input: &Input| format!("`{}`", input.sides[0].alias);
    user_error(format!(
        "Can't join {} with {} since the number of partitions don't match. {} partitions = {}; {} partitions = {}. Please repartition either one so that the number of partitions match.",
        name(left),
        name(right),
        name(left),
        left.partitions,
        name(right),
        right.partitions
    ))
}

/// How a join co-partitions its sides: the repartition of each side that needs one, and
/// how its output is partitioned (by its `$joinkey` columns).
pub(super) struct CoPartitioning {
    pub left: Option<Move>,
    pub right: Option<Move>,
    pub output: Option<Partitioning>,
}

/// The repartition of one side: its new key and the format to write it in.
pub(super) struct Move {
    keys: Vec<Expr>,
    format: FormatDefinition,
    fields: Fields,
    name: String,
}

impl Move {
    /// `root` (over `partitions` partitions) under the repartition.
    pub fn wrap(self, root: DataflowNode, partitions: u32) -> DataflowNode {
        DataflowNode::Repartition(RepartitionNode {
            time_column: join_side(root.schema()).time_column,
            input: Box::new(root),
            keys: self.keys,
            key_format: self.format,
            key_fields: self.fields,
            partitions,
            name: self.name,
            topic: String::new(),
            encoding: RepartitionEncoding::Rows,
            drop_null_keys: false,
        })
    }
}

/// Co-partitions the sides of a join on `left_keys = right_keys` (one per condition, window
/// bounds left out): a side not partitioned by its join keys in the other side's key format
/// moves, by them, into that format (the right side when both are partitioned but their
/// formats differ; both, in the KAFKA format or JSON for keys KAFKA cannot hold, when
/// neither is). A foreign-key join moves nothing.
pub(super) fn co_partition(
    left: &Input,
    right: &Input,
    left_keys: &[Expr],
    right_keys: &[Expr],
    variant: JoinVariant,
) -> CoPartitioning {
    if variant == JoinVariant::ForeignKey {
        // The left table keeps its partitioning; the right one is read whole.
        return CoPartitioning {
            left: None,
            right: None,
            output: left.partitioning.clone(),
        };
    }
    let left_order = left
        .partitioning
        .as_ref()
        .and_then(|partitioning| aligned(partitioning, left_keys));
    let right_order = right
        .partitioning
        .as_ref()
        .and_then(|partitioning| aligned(partitioning, right_keys));
    let (target, order, left_moves, right_moves) = match (
        (&left.partitioning, left_order),
        (&right.partitioning, right_order),
    ) {
        ((Some(own), Some(order)), (Some(other), Some(other_order)))
            if order == other_order && same_serialization(own, other) =>
        {
            (own.clone(), order, false, false)
        }
        ((Some(own), Some(order)), _) => (own.clone(), order, false, true),
        (_, (Some(other), Some(order))) => (other.clone(), order, true, false),
        _ => {
            let order: Vec<usize> = (0..left_keys.len()).collect();
            (default_partitioning(left, left_keys), order, true, true)
        }
    };
    let both = left_moves && right_moves;
    let side = |moves: bool, keys: &[Expr], is_left: bool| {
        moves.then(|| Move {
            keys: order
                .iter()
                .map(|&condition| keys[condition].clone())
                .collect(),
            format: target.format.clone(),
            fields: target.fields.clone(),
            name: repartition_name(variant, is_left, both),
        })
    };
    CoPartitioning {
        left: side(left_moves, left_keys, true),
        right: side(right_moves, right_keys, false),
        output: Some(Partitioning {
            keys: order
                .iter()
                .map(|&condition| Expr::Column(Column::from_name(join_key_column(condition))))
                .collect(),
            format: target.format.clone(),
            fields: target.fields.clone(),
        }),
    }
}

/// ksqlDB's names of repartition topics: `Join-left-repartition` and
/// `Join-right-repartition` for stream-stream joins and when both sides move, else
/// `Join-repartition` for a stream side and `LeftSourceKeyed-SelectKey-repartition` /
/// `RightSourceKeyed-SelectKey-repartition` for a table side.
fn repartition_name(variant: JoinVariant, left: bool, both: bool) -> String {
    let side = if left { "left" } else { "right" };
    match variant {
        JoinVariant::StreamStream(_) => format!("Join-{side}-repartition"),
        _ if both => format!("Join-{side}-repartition"),
        JoinVariant::StreamTable if left => "Join-repartition".to_string(),
        _ if left => "LeftSourceKeyed-SelectKey-repartition".to_string(),
        _ => "RightSourceKeyed-SelectKey-repartition".to_string(),
    }
}

/// The key of two sides neither of which is partitioned by the join key: KAFKA for one
/// column of a type it holds, else JSON.
fn default_partitioning(left: &Input, keys: &[Expr]) -> Partitioning {
    let schema = left.root.schema();
    let types: Vec<ArrowType> = keys
        .iter()
        .map(|key| {
            datafusion::logical_expr::ExprSchemable::get_type(key, schema.as_ref())
                .unwrap_or(ArrowType::Utf8)
        })
        .collect();
    let kafka = matches!(
        types.as_slice(),
        [ArrowType::Int32 | ArrowType::Int64 | ArrowType::Float64 | ArrowType::Utf8]
    );
    let fields: Fields = types
        .into_iter()
        .enumerate()
        .map(|(index, data_type)| Arc::new(Field::new(format!("KEY{index}"), data_type, true)))
        .collect();
    Partitioning {
        keys: keys.to_vec(),
        format: FormatDefinition {
            name: if kafka { "KAFKA" } else { "JSON" }.to_string(),
            wrap_single_value: None,
            delimiter: None,
            schema: None,
        },
        fields,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Catalog, Properties, StatementPlan, plan_statement};

    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        for sql in [
            "CREATE STREAM S1 (ID INT KEY, V INT) WITH (kafka_topic='s1', value_format='JSON', partitions=2);",
            "CREATE STREAM S2 (ID INT KEY, V INT) WITH (kafka_topic='s2', value_format='JSON', partitions=2);",
            "CREATE STREAM SD (ID INT KEY, V INT) WITH (kafka_topic='sd', key_format='DELIMITED', value_format='JSON', partitions=2);",
            "CREATE STREAM NK (ID INT, V INT) WITH (kafka_topic='nk', key_format='NONE', value_format='JSON', partitions=2);",
            "CREATE TABLE T2 (ID INT PRIMARY KEY, V INT) WITH (kafka_topic='t2', value_format='JSON', partitions=2);",
            "CREATE TABLE T3 (ID INT PRIMARY KEY, V INT) WITH (kafka_topic='t3', value_format='JSON', partitions=3);",
            "CREATE TABLE U3 (ID INT PRIMARY KEY, V INT) WITH (kafka_topic='u3', value_format='JSON', partitions=3);",
            "CREATE STREAM ONE_A (ID INT KEY, V INT) WITH (kafka_topic='one_a', value_format='JSON', partitions=1);",
            "CREATE STREAM ONE_B (ID INT KEY, V INT) WITH (kafka_topic='one_b', value_format='JSON', partitions=1);",
        ] {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            match plan_statement(&catalog, &statement, &Properties::new()).expect("plans") {
                Some(StatementPlan::CreateSource { source, .. }) => catalog.put_source(source),
                _ => panic!("{sql}: not a CREATE"),
            }
        }
        catalog
    }

    /// A statement's repartitions (`name key-format [keys]`) and whether its join runs one
    /// task per partition group; or its error.
    type Outcome = Result<(Vec<String>, bool), String>;

    /// Per statement: its repartitions (`name key-format [keys]`) and whether its join
    /// runs one task per partition group, or ksqlDB's error.
    #[test]
    fn joins_repartition_the_sides_not_keyed_by_the_join_key() {
        let catalog = catalog();
        let ok = |repartitions: &[&str], parallel: bool| -> Outcome {
            Ok((
                repartitions.iter().map(|text| text.to_string()).collect(),
                parallel,
            ))
        };
        let cases: Vec<(&str, Outcome)> = vec![
            (
                "CREATE STREAM O AS SELECT S1.ID, S2.V FROM S1 JOIN S2 WITHIN 1 SECOND ON S1.ID = S2.ID;",
                ok(&[], true),
            ),
            (
                "CREATE STREAM O AS SELECT S1.ID, S2.V FROM S1 JOIN S2 WITHIN 1 SECOND ON S1.ID = S2.V;",
                ok(&["Join-right-repartition KAFKA [S2.V]"], true),
            ),
            (
                "CREATE STREAM O AS SELECT S1.V, S2.ID FROM S1 JOIN S2 WITHIN 1 SECOND ON S1.V = S2.ID;",
                ok(&["Join-left-repartition KAFKA [S1.V]"], true),
            ),
            (
                "CREATE STREAM O AS SELECT S1.V, S2.ID FROM S1 JOIN S2 WITHIN 1 SECOND ON S1.V = S2.V;",
                ok(
                    &[
                        "Join-left-repartition KAFKA [S1.V]",
                        "Join-right-repartition KAFKA [S2.V]",
                    ],
                    true,
                ),
            ),
            // Both keyed by the join key, in different formats: the right side moves into
            // the left's.
            (
                "CREATE STREAM O AS SELECT SD.ID, S2.V FROM SD JOIN S2 WITHIN 1 SECOND ON SD.ID = S2.ID;",
                ok(&["Join-right-repartition DELIMITED [S2.ID]"], true),
            ),
            (
                "CREATE STREAM O AS SELECT NK.ID, T2.V FROM NK JOIN T2 ON NK.ID = T2.ID;",
                ok(&["Join-repartition KAFKA [NK.ID]"], true),
            ),
            (
                "CREATE STREAM O AS SELECT S1.ID, T2.V FROM S1 JOIN T2 ON S1.ID = T2.ID;",
                ok(&[], true),
            ),
            (
                "CREATE STREAM O AS SELECT SD.ID, T2.V FROM SD JOIN T2 ON SD.ID = T2.ID;",
                ok(&["RightSourceKeyed-SelectKey-repartition DELIMITED [T2.ID]"], true),
            ),
            // One partition holds every key: nothing moves.
            (
                "CREATE STREAM O AS SELECT ONE_A.V, ONE_B.ID FROM ONE_A JOIN ONE_B WITHIN 1 SECOND ON ONE_A.V = ONE_B.ID;",
                ok(&[], true),
            ),
            // A foreign-key join reads its right table whole, whatever its partition count.
            (
                "CREATE TABLE O AS SELECT T2.ID, T3.V FROM T2 JOIN T3 ON T2.V = T3.ID;",
                ok(&[], false),
            ),
            (
                "CREATE TABLE O AS SELECT T3.ID, U3.V FROM T3 JOIN U3 ON T3.ID = U3.ID;",
                ok(&[], true),
            ),
            (
                "CREATE STREAM O AS SELECT * FROM S1 JOIN T2 ON S1.ID = T2.ID JOIN T3 ON S1.ID = T3.ID;",
                Err("Can't join `S1` with `T3` since the number of partitions don't match. `S1` partitions = 2; `T3` partitions = 3. Please repartition either one so that the number of partitions match.".into()),
            ),
            (
                "SELECT * FROM S1 JOIN T3 ON S1.ID = T3.ID EMIT CHANGES;",
                Err("Can't join `S1` with `T3` since the number of partitions don't match. `S1` partitions = 2; `T3` partitions = 3. Please repartition either one so that the number of partitions match.".into()),
            ),
            // A push query repartitions too.
            (
                "SELECT S1.V, S2.ID FROM S1 JOIN S2 WITHIN 1 SECOND ON S1.V = S2.ID EMIT CHANGES;",
                ok(&["Join-left-repartition KAFKA [S1.V]"], true),
            ),
        ];
        for (sql, expected) in cases {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            let actual = match plan_statement(&catalog, &statement, &Properties::new()) {
                Ok(Some(
                    StatementPlan::CreateAsSelect { plan, .. } | StatementPlan::Select { plan, .. },
                )) => Ok((
                    plan.root
                        .repartitions()
                        .iter()
                        .map(|repartition| {
                            let keys: Vec<String> =
                                repartition.keys.iter().map(ToString::to_string).collect();
                            format!(
                                "{} {} [{}]",
                                repartition.name,
                                repartition.key_format.name,
                                keys.join(", ")
                            )
                        })
                        .collect(),
                    plan.root.groups_within_partitions(),
                )),
                Ok(other) => panic!("{sql}: {other:?}"),
                Err(error) => Err(error.to_string()),
            };
            assert_eq!(actual, expected, "{sql}");
        }
    }
}
