//! The `GroupBy` repartition of an aggregation whose groups span the partitions of its input
//! (a grouping that is not the source's key): its rows, keyed by their grouping values, move
//! through an internal topic with as many partitions as the source, so that the aggregation
//! runs one task per partition of that topic, as ksqlDB's `Aggregate-GroupBy-repartition`.
//!
//! Only what the aggregation needs travels: the grouping values (the key) and the aggregate
//! arguments that are not constants (the value), with the row's time as the record
//! timestamp. The stage below evaluates them; the aggregation reads them as columns.

use std::sync::Arc;

use arrow::datatypes::{DataType as ArrowType, Field, Fields, Schema};
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{Expr, ExprSchemable};
use parser::ast::SourceKind;

use crate::Result;
use crate::catalog::{FormatDefinition, OP_COLUMN, ROWOFFSET, ROWTIME, SourceDefinition};
use crate::plan::{AggregateNode, DataflowNode, ProjectNode, RepartitionEncoding, RepartitionNode};

/// ksqlDB's name of the topic within the query.
const GROUP_BY_TOPIC: &str = "Aggregate-GroupBy-repartition";

/// Moves the input of `aggregate` (over `source`) through a `GroupBy` repartition when its
/// groups span the source's partitions; its grouping and arguments then read the moved
/// columns. Leaves it as it is when the groups stay within partitions, the source has one
/// partition (which holds every group), the input holds a join, or no format can hold the
/// columns.
pub(super) fn repartition_groups(
    mut aggregate: AggregateNode,
    source: &SourceDefinition,
) -> Result<AggregateNode> {
    if source.partitions <= 1 || aggregate.input.has_join() || aggregate.groups_within_partitions()
    {
        return Ok(aggregate);
    }
    let input_schema = Arc::clone(aggregate.input.schema());
    let Some((time_qualifier, _)) = input_schema
        .qualified_field_with_unqualified_name(ROWTIME)
        .ok()
    else {
        return Ok(aggregate);
    };
    let time = Expr::Column(Column::new(time_qualifier.cloned(), ROWTIME));

    // The key: the grouping values, named by their column, else `KSQL_COL_<i>`; no name is
    // taken twice, nor by the hidden columns after them.
    let mut names: Vec<String> = [ROWTIME, ROWOFFSET, OP_COLUMN].map(String::from).to_vec();
    let mut key_fields = Vec::with_capacity(aggregate.group_by.len());
    for (index, expr) in aggregate.group_by.iter().enumerate() {
        let mut next_key = index;
        let name = match expr {
            Expr::Column(column) if !names.contains(&column.name) => {
                names.push(column.name.clone());
                column.name.clone()
            }
            _ => fresh_name("KSQL_COL_", &mut next_key, &mut names),
        };
        key_fields.push(Field::new(&name, expr.get_type(&input_schema)?, true));
    }
    // The value: each distinct argument that reads the row, `KSQL_INTERNAL_COL_<n>`.
    let mut values: Vec<Expr> = Vec::new();
    let mut value_fields: Vec<Field> = Vec::new();
    let mut next_value = 0;
    let mut args = Vec::with_capacity(aggregate.aggregates.len());
    for call in &aggregate.aggregates {
        let mut call_args = Vec::with_capacity(call.args.len());
        for arg in &call.args {
            if arg.column_refs().is_empty() {
                call_args.push(arg.clone());
                continue;
            }
            let index = match values.iter().position(|value| value == arg) {
                Some(index) => index,
                None => {
                    let name = fresh_name("KSQL_INTERNAL_COL_", &mut next_value, &mut names);
                    value_fields.push(Field::new(&name, arg.get_type(&input_schema)?, true));
                    values.push(arg.clone());
                    values.len() - 1
                }
            };
            call_args.push(Expr::Column(Column::from_name(value_fields[index].name())));
        }
        args.push(call_args);
    }
    // A value without columns would be a null record value: it carries the time, as
    // ksqlDB's `COUNT(*)` counts `ROWTIME`.
    if values.is_empty() {
        let name = fresh_name("KSQL_INTERNAL_COL_", &mut next_value, &mut names);
        value_fields.push(Field::new(&name, ArrowType::Int64, true));
        values.push(time.clone());
    }
    let key_fields = Fields::from(key_fields);
    let value_fields = Fields::from(value_fields);
    let Some(key_format) = [group_key_format(&source.key_format), json()]
        .into_iter()
        .find(|format| holds(&format.name, &key_fields))
    else {
        return Ok(aggregate);
    };
    let Some(value_format) = [moved_format(&source.value_format), json()]
        .into_iter()
        .find(|format| holds(&format.name, &value_fields))
    else {
        return Ok(aggregate);
    };

    // The projection below the repartition: key, value, time, and for a table the row's
    // offset and `$op` (its retractions travel as rows).
    let table = source.kind == SourceKind::Table;
    let mut exprs: Vec<Expr> = aggregate
        .group_by
        .iter()
        .zip(&key_fields)
        .chain(values.iter().zip(&value_fields))
        .map(|(expr, field)| expr.clone().alias(field.name()))
        .collect();
    let mut fields: Vec<Field> = key_fields
        .iter()
        .chain(&value_fields)
        .map(|field| field.as_ref().clone())
        .collect();
    let time_column = fields.len();
    exprs.push(time.alias(ROWTIME));
    fields.push(Field::new(ROWTIME, ArrowType::Int64, true));
    if table {
        for name in [ROWOFFSET, OP_COLUMN] {
            let (qualifier, field) = input_schema.qualified_field_with_unqualified_name(name)?;
            exprs.push(Expr::Column(Column::new(qualifier.cloned(), name)).alias(name));
            fields.push(field.as_ref().clone().with_nullable(true));
        }
    }
    let projected = DataflowNode::Project(ProjectNode {
        input: aggregate.input,
        exprs,
        key_columns: key_fields.len(),
        schema: Arc::new(DFSchema::try_from(Schema::new(fields))?),
    });
    let encoding = if table {
        RepartitionEncoding::Rows
    } else {
        RepartitionEncoding::Columns {
            value_format,
            value_fields,
        }
    };
    let keys: Vec<Expr> = key_fields
        .iter()
        .map(|field| Expr::Column(Column::from_name(field.name())))
        .collect();
    aggregate.input = Box::new(DataflowNode::Repartition(RepartitionNode {
        input: Box::new(projected),
        keys: keys.clone(),
        key_format,
        key_fields,
        partitions: source.partitions,
        name: GROUP_BY_TOPIC.to_string(),
        topic: String::new(),
        time_column,
        encoding,
        drop_null_keys: true,
    }));
    aggregate.group_by = keys;
    for (call, args) in aggregate.aggregates.iter_mut().zip(args) {
        call.args = args;
    }
    Ok(aggregate)
}

/// `prefix` followed by the first number from `next` that makes a name not in `names`
/// (which it joins).
fn fresh_name(prefix: &str, next: &mut usize, names: &mut Vec<String>) -> String {
    loop {
        let name = format!("{prefix}{next}");
        *next += 1;
        if !names.contains(&name) {
            names.push(name.clone());
            return name;
        }
    }
}

/// ksqlDB's key format of a `GroupBy` topic before it is checked against the key's
/// columns: the source's key format, or KAFKA (ksqlDB's default) when the source has none;
/// no registered schema (the key's columns are not the source key's).
fn group_key_format(source: &FormatDefinition) -> FormatDefinition {
    match source.name.as_str() {
        "NONE" => FormatDefinition {
            name: "KAFKA".to_string(),
            wrap_single_value: None,
            delimiter: None,
            schema: None,
        },
        _ => moved_format(source),
    }
}

/// `format` without a registered schema or a single-value wrapping choice (the moved
/// columns are not the source's); JSON instead of PROTOBUF and PROTOBUF_NOSR, whose scalars
/// cannot hold the nulls the aggregation must see.
fn moved_format(format: &FormatDefinition) -> FormatDefinition {
    if format.name.starts_with("PROTOBUF") {
        return json();
    }
    FormatDefinition {
        name: format.name.clone(),
        wrap_single_value: None,
        delimiter: format.delimiter,
        schema: None,
    }
}

fn json() -> FormatDefinition {
    FormatDefinition {
        name: "JSON".to_string(),
        wrap_single_value: None,
        delimiter: None,
        schema: None,
    }
}

/// Whether format `name` can hold columns `fields` (ksqlDB's rules, as the executor's
/// formats check them): KAFKA one primitive, DELIMITED primitives, NONE nothing, and the
/// others anything but maps whose keys are not strings.
fn holds(name: &str, fields: &Fields) -> bool {
    let primitive = |data_type: &ArrowType| {
        matches!(
            data_type,
            ArrowType::Boolean
                | ArrowType::Int32
                | ArrowType::Int64
                | ArrowType::Float64
                | ArrowType::Decimal128(_, _)
                | ArrowType::Utf8
                | ArrowType::Binary
                | ArrowType::Date32
                | ArrowType::Time32(arrow::datatypes::TimeUnit::Millisecond)
                | ArrowType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None)
        )
    };
    let types = || fields.iter().map(|field| field.data_type());
    match name {
        "KAFKA" => {
            fields.len() == 1
                && types().all(|data_type| {
                    matches!(
                        data_type,
                        ArrowType::Int32
                            | ArrowType::Int64
                            | ArrowType::Float64
                            | ArrowType::Utf8
                            | ArrowType::Binary
                    )
                })
        }
        "DELIMITED" => types().all(primitive),
        "NONE" => fields.is_empty(),
        _ => types().all(|data_type| ksql_type(data_type, &primitive)),
    }
}

/// Whether `data_type` is a ksqlDB type whose maps (at any depth) have string keys.
fn ksql_type(data_type: &ArrowType, primitive: &dyn Fn(&ArrowType) -> bool) -> bool {
    match data_type {
        ArrowType::List(item) => ksql_type(item.data_type(), primitive),
        ArrowType::Struct(fields) => fields
            .iter()
            .all(|field| ksql_type(field.data_type(), primitive)),
        ArrowType::Map(entries, _) => match entries.data_type() {
            ArrowType::Struct(fields) if fields.len() == 2 => {
                fields[0].data_type() == &ArrowType::Utf8
                    && ksql_type(fields[1].data_type(), primitive)
            }
            _ => false,
        },
        other => primitive(other),
    }
}
