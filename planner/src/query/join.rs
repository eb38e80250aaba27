//! Planning of `FROM a JOIN b ON ...` (and n-way joins): the join tree, ksqlDB's rules and
//! errors, and the query rewritten over the joined rows.
//!
//! As in ksqlDB, the joined rows form one flat "source": every column of every joined source
//! named `<ALIAS>_<COLUMN>` (`L_ID`, `R_NAME`, plus `L_ROWTIME`, ...), a key column `ROWKEY`
//! holding the join key (for a foreign-key join, the left table's primary key columns are the
//! keys instead), `ROWTIME` (the result's time) and `$op`. The query's column references are
//! rewritten to those names (`l.id` to `L_ID`; an unqualified name to the one source that has
//! it) and its wildcards expanded, so the single-source planning (WHERE, projection,
//! aggregation, PARTITION BY) runs over the joined rows unchanged. The first select item that
//! is one of the join columns becomes the result's key, as ksqlDB decides it.

use std::sync::Arc;

use arrow::datatypes::{DataType as ArrowType, Field};
use datafusion::common::{Column, DFSchema, TableReference};
use datafusion::logical_expr::{Expr, ExprSchemable};
use parser::ast::{Join, Query, Relation, SourceKind};

mod condition;
mod names;
mod partitioning;
mod row;
mod sides;
#[cfg(test)]
mod tests;

use self::condition::{join_condition, window_conditions};
use self::partitioning::{Partitioning, check_partition_counts, co_partition, source_partitioning};
use self::row::flat_row;
use self::sides::{analyze_relation, covers_key, join_side, nested_condition, side_of};

use self::names::{check_foreign_key_projection, choose_key_item, expand_select, flatten};
use crate::catalog::{
    Catalog, ColumnDefinition, ColumnKind, OP_COLUMN, SourceDefinition, WINDOWEND, WINDOWSTART,
};
use crate::expr::{ExprLowering, FormattedExpr, JOIN_ON};
use crate::plan::{
    DataflowNode, JOIN_TIME_COLUMN, JoinKind, JoinNode, JoinStateTables, JoinVariant, JoinWindow,
    join_key_column,
};
use crate::types::{from_arrow, sql_type_name};
use crate::{Result, user_error};

/// The synthetic key column of a join whose criteria match no source column (and of every
/// FULL OUTER join), unless a source has a column of that name.
const ROWKEY: &str = "ROWKEY";

/// The synthetic key's name: `ROWKEY`, or, when sources have `ROWKEY` or `ROWKEY_<n>`
/// columns, `ROWKEY_<n + 1>` for the largest such `n` (`ROWKEY` counting as 0).
fn synthetic_key_name(sides: &[Side]) -> String {
    let largest = sides
        .iter()
        .flat_map(|side| side.source.columns.iter())
        .filter_map(|column| {
            let rest = column.name.strip_prefix(ROWKEY)?;
            match rest.strip_prefix('_') {
                None if rest.is_empty() => Some(0),
                Some(number) => number.parse::<u64>().ok(),
                None => None,
            }
        })
        .max();
    match largest {
        None => ROWKEY.to_string(),
        Some(n) => format!("{ROWKEY}_{}", n + 1),
    }
}

/// A join planned as the input of a query.
pub(crate) struct PlannedJoin {
    /// The join tree under a projection producing the flat joined row.
    pub root: DataflowNode,
    /// The flat joined row as a source.
    pub source: SourceDefinition,
    /// Every source joined, in FROM order.
    pub sources: Vec<String>,
    /// The query over the joined row: names rewritten, wildcards expanded, the key item
    /// reading `ROWKEY`.
    pub query: Query,
    /// A persistent query must select the join key; this says how when it does not.
    pub missing_key: Option<MissingJoinKey>,
}

/// The error of a persistent join query that does not select its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingJoinKey {
    /// The join expressions any of which would be the key (`L.ID`), or empty: the synthetic
    /// key.
    pub expressions: Vec<String>,
    /// The synthetic key's name: `ROWKEY`, or `ROWKEY_<n>` when a source has a `ROWKEY`.
    pub synthetic: String,
}

impl MissingJoinKey {
    /// ksqlDB's message for sink `sink`.
    pub fn message(&self, sink: &str) -> String {
        let head = "Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.";
        let key = &self.synthetic;
        match self.expressions.as_slice() {
            [] => format!(
                "{head}\nThe query used to build `{sink}` must include the join expression {key} in its projection (eg, SELECT {key}...).\n{key} was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased."
            ),
            [one] => format!(
                "{head}\nThe query used to build `{sink}` must include the join expression {one} in its projection (eg, SELECT {one}...)."
            ),
            [rest @ .., last] => format!(
                "{head}\nThe query used to build `{sink}` must include the join expressions {} or {last} in its projection (eg, SELECT {}...).",
                rest.join(", "),
                rest[0]
            ),
        }
    }
}

/// One joined source.
#[derive(Debug, Clone)]
struct Side {
    alias: String,
    source: SourceDefinition,
}

impl Side {
    fn flat(&self, column: &str) -> String {
        format!("{}_{column}", self.alias)
    }

    /// The columns a wildcard lists: keys, the window bounds of a windowed source, values,
    /// headers.
    fn columns(&self) -> Vec<ColumnDefinition> {
        let bounds = self.source.window.iter().flat_map(|_| {
            [WINDOWSTART, WINDOWEND].map(|name| ColumnDefinition {
                name: name.to_string(),
                data_type: parser::ast::DataType::Bigint,
                kind: ColumnKind::Value,
            })
        });
        self.source
            .key_columns()
            .cloned()
            .chain(bounds)
            .chain(self.source.value_columns().cloned())
            .chain(self.source.header_columns().cloned())
            .collect()
    }
}

/// A planned relation: a source or a join tree.
struct Input {
    root: DataflowNode,
    sides: Vec<Side>,
    kind: SourceKind,
    /// Flat names of the source columns equal to the join key, and their `ALIAS.COLUMN`
    /// texts; empty: the key is synthetic.
    /// One list per join condition.
    candidates: Vec<Vec<(String, String)>>,
    /// A foreign-key join: the left table's primary key is the result's key.
    foreign_key: bool,
    /// How its rows are spread over the partitions (`None`: not by a known key).
    partitioning: Option<Partitioning>,
    /// Its topics' partition count.
    partitions: u32,
}

/// Plans the join of `query.from` and rewrites `query` over the joined row; `repartition`:
/// a persistent or push query, whose joins repartition sides that are not co-partitioned (a
/// pull query reads every partition in one task).
pub(crate) fn plan_join(
    catalog: &Catalog,
    query: &Query,
    persistent: bool,
    repartition: bool,
    aggregating: bool,
) -> Result<PlannedJoin> {
    analyze_relation(catalog, &query.from)?;
    let mut input = plan_relation(catalog, &query.from, repartition)?;
    if aggregating && input.kind == SourceKind::Table {
        if input.foreign_key {
            return user_error("Aggregations over foreign-key joins are not supported yet.");
        }
        // The aggregation undoes each key's previous joined row.
        if let DataflowNode::Join(join) = &mut input.root {
            join.retract = true;
        }
    }
    let windowed = input
        .sides
        .iter()
        .filter(|side| side.source.window.is_some())
        .count();
    if windowed > 0 && windowed < input.sides.len() {
        return windowed_error(&input.sides);
    }
    let sides = input.sides.clone();
    let mut rewritten = query.clone();
    let key = synthetic_key_name(&sides);
    // One key per join condition: `ROWKEY`, `ROWKEY_1`, ...
    let keys: Vec<String> = (0..input.candidates.len().max(1))
        .map(|index| match index {
            0 => key.clone(),
            _ => format!("{key}_{index}"),
        })
        .collect();
    let synthetic: Vec<String> = if input.foreign_key {
        Vec::new()
    } else {
        keys.iter()
            .zip(&input.candidates)
            .filter(|(_, candidates)| candidates.is_empty())
            .map(|(name, _)| name.clone())
            .collect()
    };
    // The join's key columns, named by their first column or synthetic, take no maps.
    for (index, key) in keys.iter().enumerate() {
        let key_type = input
            .root
            .schema()
            .field_with_unqualified_name(&join_key_column(index))
            .ok()
            .and_then(|field| from_arrow(field.data_type()));
        if let Some(key_type) = key_type.filter(crate::types::contains_map) {
            let name = input
                .candidates
                .get(index)
                .and_then(|candidates| candidates.first())
                .map_or(key, |(flat, _)| flat);
            return Err(crate::types::map_key_error(name, &key_type));
        }
    }
    rewritten.select = expand_select(&query.select, &sides, &keys, &synthetic)?;
    for expr in rewritten
        .where_clause
        .iter_mut()
        .chain(rewritten.group_by.iter_mut())
        .chain(rewritten.having.iter_mut())
        .chain(rewritten.partition_by.iter_mut())
    {
        flatten(expr, &sides, &keys)?;
    }
    let mut missing_key = None;
    if input.foreign_key {
        if persistent && !aggregating {
            check_foreign_key_projection(&rewritten, &sides[0])?;
        }
    } else if !aggregating && query.partition_by.is_empty() {
        for (candidates, name) in input.candidates.iter().zip(&keys) {
            if !choose_key_item(&mut rewritten, candidates, name)? && missing_key.is_none() {
                missing_key = persistent.then(|| MissingJoinKey {
                    expressions: candidates.iter().map(|(_, text)| text.clone()).collect(),
                    synthetic: name.clone(),
                });
            }
        }
    }
    let (root, source) = flat_row(input, persistent && !aggregating, &keys)?;
    Ok(PlannedJoin {
        root,
        sources: sides.iter().map(|side| side.source.name.clone()).collect(),
        source,
        query: rewritten,
        missing_key,
    })
}

fn windowed_error<T>(sides: &[Side]) -> Result<T> {
    let describe = |side: &Side| match side.source.window {
        Some(window) => format!("`{}` is {} windowed", side.source.name, window.kind.name()),
        None => format!("`{}` is not windowed", side.source.name),
    };
    let lines: Vec<String> = sides.iter().map(describe).collect();
    user_error(format!(
        "Can not join windowed source to non-windowed source.\n{}",
        lines.join("\n")
    ))
}

/// Plans a relation; `repartition`: its joins repartition sides that are not co-partitioned.
fn plan_relation(catalog: &Catalog, relation: &Relation, repartition: bool) -> Result<Input> {
    match relation {
        Relation::Source { name, alias } => {
            let source = catalog.require_source(name)?.clone();
            let alias = alias.clone().unwrap_or_else(|| name.clone());
            Ok(Input {
                root: source_node(&source, &alias)?,
                kind: source.kind,
                partitioning: source_partitioning(&source, &alias)?,
                partitions: source.partitions,
                sides: vec![Side { alias, source }],
                candidates: Vec::new(),
                foreign_key: false,
            })
        }
        Relation::Join(join) => plan_join_node(catalog, join, repartition),
    }
}

/// The source node of one joined source, its columns qualified by `alias`; a table carries
/// `$op`.
fn source_node(source: &SourceDefinition, alias: &str) -> Result<DataflowNode> {
    let changelog = source.kind == SourceKind::Table;
    let mut fields: Vec<Arc<Field>> = source.row_schema()?.fields().iter().cloned().collect();
    if changelog {
        fields.push(Arc::new(Field::new(OP_COLUMN, ArrowType::Int8, true)));
    }
    let schema = Arc::new(DFSchema::try_from_qualified_schema(
        TableReference::bare(alias),
        &arrow::datatypes::Schema::new(fields),
    )?);
    super::source_node(source, schema, changelog, false)
}

fn plan_join_node(catalog: &Catalog, join: &Join, repartition: bool) -> Result<Input> {
    let mut left = plan_relation(catalog, &join.left, repartition)?;
    let mut right = plan_relation(catalog, &join.right, repartition)?;
    let [right_side] = right.sides.as_slice() else {
        return user_error("The right side of a join must be a stream or a table.");
    };
    let mut sides = left.sides.clone();
    sides.push(right_side.clone());
    let kafka: Vec<&str> = sides
        .iter()
        .filter(|side| side.source.value_format.name == "KAFKA")
        .map(|side| side.source.name.as_str())
        .collect();
    if !kafka.is_empty() {
        return user_error(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        ));
    }
    let conditions = join_condition(join, &left.sides, right_side)?;
    let condition_text = conditions
        .iter()
        .map(|(_, _, text)| text.as_str())
        .collect::<Vec<_>>()
        .join(" AND ");
    // Column references resolve first: a wrong one is reported before the join's shape.
    let left_lowering = ExprLowering {
        schema: left.root.schema(),
        catalog,
        clause: JOIN_ON,
    };
    let right_lowering = ExprLowering {
        schema: right.root.schema(),
        catalog,
        clause: JOIN_ON,
    };
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    let mut key_types = Vec::new();
    for (left_sql, right_sql, _) in &conditions {
        let left_key = left_lowering.lower(left_sql)?;
        let right_key = right_lowering.lower(right_sql)?;
        let left_type = left_key.get_type(left.root.schema())?;
        let right_type = right_key.get_type(right.root.schema())?;
        if left_type != right_type {
            let name = |data_type: &ArrowType| {
                from_arrow(data_type)
                    .map(|t| sql_type_name(&t))
                    .unwrap_or_else(|| data_type.to_string())
            };
            return user_error(format!(
                "Invalid join condition: types don't match. Got {}{{{}}} = {}{{{}}}.",
                FormattedExpr(left_sql),
                name(&left_type),
                FormattedExpr(right_sql),
                name(&right_type)
            ));
        }
        left_keys.push(left_key);
        right_keys.push(right_key);
        key_types.push(left_type);
    }
    let kind = join.kind;
    let left_name = left.sides[0].source.name.clone();
    let right_name = right_side.source.name.clone();
    let mut variant = match (left.kind, right.kind) {
        (SourceKind::Stream, SourceKind::Stream) => match &join.within {
            Some(within) => JoinVariant::StreamStream(JoinWindow {
                before: within.before.as_millis() as i64,
                after: within.after.as_millis() as i64,
                grace: within.grace.map(|grace| grace.as_millis() as i64),
            }),
            None => {
                return user_error(
                    "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select",
                );
            }
        },
        (SourceKind::Stream, SourceKind::Table) => JoinVariant::StreamTable,
        (SourceKind::Table, SourceKind::Table) => JoinVariant::TableTable,
        (SourceKind::Table, SourceKind::Stream) => {
            return user_error(format!(
                "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {left_name} [{}] JOIN {right_name}.",
                join.kind.keyword()
            ));
        }
    };
    if join.within.is_some() && !matches!(variant, JoinVariant::StreamStream(_)) {
        let name = if variant == JoinVariant::StreamTable {
            "Stream-Table"
        } else {
            "Table-Table"
        };
        return user_error(format!(
            "A window definition was provided for a {name} join. These joins are not windowed. Please drop the window definition (ie. the WITHIN clause) and try to execute your join again."
        ));
    }
    let window_keys = window_conditions(&left, right_side, &left_keys[0], &right_keys[0])?;
    if right.kind == SourceKind::Table && !covers_key(&right_keys, right_side) {
        return user_error(if left.kind == SourceKind::Stream {
            format!(
                "Invalid join condition: stream-table joins require to join on the table's primary key. Got {condition_text}."
            )
        } else {
            format!(
                "Invalid join condition: table-table joins require to join on the primary key of the right input table. Got {condition_text}."
            )
        });
    }
    let left_key_side = side_of(&left_keys[0], &left.sides);
    let foreign_key = variant == JoinVariant::TableTable
        && !left_key_side.is_some_and(|side| covers_key(&left_keys, side));
    if foreign_key {
        if left.sides.len() > 1 {
            return user_error(format!(
                "Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins. Got {condition_text}."
            ));
        }
        if matches!(kind, JoinKind::Right | JoinKind::Full) {
            return user_error(format!(
                "{} JOIN on a foreign key is not supported",
                kind.name()
            ));
        }
        variant = JoinVariant::ForeignKey;
    } else {
        check_partition_counts(&left, &right)?;
    }
    // Per condition, the columns equal to its key; over a nested join, a column equal to one
    // of its keys stands for every column equal to that key.
    let flat_of = |expr: &Expr, sides: &[Side]| {
        let Expr::Column(column) = expr else {
            return None;
        };
        side_of(expr, sides).map(|side| {
            (
                side.flat(&column.name),
                format!("{}.{}", side.alias, column.name),
            )
        })
    };
    let mut candidates = Vec::new();
    for (left_key, right_key) in left_keys.iter_mut().zip(&right_keys) {
        let mut equal = Vec::new();
        let left_flat = flat_of(left_key, &left.sides);
        let nested = left_flat
            .as_ref()
            .and_then(|(flat, _)| {
                left.candidates
                    .iter()
                    .position(|group| group.iter().any(|(other, _)| other == flat))
            })
            .or_else(|| nested_condition(&left.root, left_key, left.candidates.len()));
        if kind != JoinKind::Full {
            match (nested, left_flat) {
                (Some(group), _) => equal.extend(left.candidates[group].iter().cloned()),
                (None, Some(flat)) => equal.push(flat),
                (None, None) => {}
            }
            equal.extend(flat_of(right_key, std::slice::from_ref(right_side)));
        }
        candidates.push(equal);
        // The nested join's key is set on every row, deletes and null-padded rows included,
        // where the column may be null.
        if let Some(group) = nested
            && left.sides.len() > 1
        {
            *left_key = Expr::Column(Column::from_name(join_key_column(group)));
        }
    }

    // Sides not partitioned by the join key move through a repartition topic, unless one
    // partition holds every key anyway (or a pull query reads every partition in one task).
    let co_partitioning = co_partition(&left, &right, &left_keys, &right_keys, variant);
    let partitions = left.partitions;
    if repartition && partitions > 1 {
        if let Some(moved) = co_partitioning.left {
            left.root = moved.wrap(left.root, left.partitions);
        }
        if let Some(moved) = co_partitioning.right {
            right.root = moved.wrap(right.root, right.partitions);
        }
    }
    let left_side = join_side(left.root.schema());
    let right_side_columns = join_side(right.root.schema());
    let mut fields: Vec<(Option<TableReference>, Arc<Field>)> = Vec::new();
    for (input, side) in [(&left.root, &left_side), (&right.root, &right_side_columns)] {
        let schema = input.schema();
        for &index in &side.columns {
            let (qualifier, field) = schema.qualified_field(index);
            fields.push((
                qualifier.cloned(),
                Arc::new(field.as_ref().clone().with_nullable(true)),
            ));
        }
    }
    for (index, key_type) in key_types.iter().enumerate() {
        fields.push((
            None,
            Arc::new(Field::new(join_key_column(index), key_type.clone(), true)),
        ));
    }
    for index in 0..window_keys.len() {
        fields.push((
            None,
            Arc::new(Field::new(
                join_key_column(key_types.len() + index),
                ArrowType::Int64,
                true,
            )),
        ));
    }
    fields.push((
        None,
        Arc::new(Field::new(JOIN_TIME_COLUMN, ArrowType::Int64, true)),
    ));
    let table = variant.emits_table();
    if table {
        fields.push((None, Arc::new(Field::new(OP_COLUMN, ArrowType::Int8, true))));
    }
    let schema = Arc::new(DFSchema::new_with_metadata(fields, Default::default())?);
    let root = DataflowNode::Join(JoinNode {
        left: Box::new(left.root),
        right: Box::new(right.root),
        kind,
        variant,
        left_keys: left_keys
            .into_iter()
            .chain(window_keys.iter().map(|(left, _)| left.clone()))
            .collect(),
        right_keys: right_keys
            .into_iter()
            .chain(window_keys.iter().map(|(_, right)| right.clone()))
            .collect(),
        left_side,
        right_side: right_side_columns,
        retract: false,
        state: JoinStateTables::default(),
        schema,
    });
    Ok(Input {
        root,
        sides,
        kind: if table {
            SourceKind::Table
        } else {
            SourceKind::Stream
        },
        candidates,
        foreign_key,
        partitioning: co_partitioning.output,
        partitions,
    })
}
