//! The output columns of a query: which select items are keys and which values, their
//! names (aliases, column names, `KSQL_COL_n`) and order, for plain queries and aggregations.

use std::collections::HashSet;

use arrow::datatypes::{DataType as ArrowType, Field};
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{Expr, ExprSchemable};
use parser::ast::{Query, SelectItem};
use sqlparser::ast::{Expr as SqlExpr, Value};

use super::{
    OutputColumn, PlannedQuery, Purpose, finish_projection, natural_name, output_column, requalify,
};
use crate::aggregate::PlannedAggregation;
use crate::catalog::{
    Catalog, ColumnDefinition, ColumnKind, OP_COLUMN, ROWTIME, SourceDefinition, WINDOWEND,
    WINDOWSTART, WindowInfo, WindowKind,
};
use crate::expr::{ExprLowering, FormattedExpr};
use crate::{PlanError, Result, user_error};

/// Plans the projection over an aggregation's output: keys are the grouping expressions
/// (named by the select item that is one of them), values the other select items. A
/// persistent query lists keys first; a push query lists the select items in select order
/// (grouping expressions it does not select are left out), as ksqlDB returns them.
pub(super) fn plan_aggregate_projection(
    catalog: &Catalog,
    query: &Query,
    source: SourceDefinition,
    aggregation: PlannedAggregation,
    purpose: Purpose,
) -> Result<PlannedQuery> {
    let schema = &aggregation.schema;
    let lowering = ExprLowering {
        schema,
        catalog,
        clause: "SELECT",
    };
    let group_columns: Vec<Expr> = aggregation
        .group_names
        .iter()
        .map(|name| {
            let (qualifier, _) = schema
                .qualified_field_with_unqualified_name(name)
                .map_err(PlanError::from)?;
            Ok(Expr::Column(Column::new(qualifier.cloned(), name)))
        })
        .collect::<Result<_>>()?;
    // A select item that is a group column names its key; the rest are values. Items without
    // a name get `KSQL_COL_n` in select order, as ksqlDB names them.
    enum Slot {
        Key(usize),
        Value(usize),
    }
    let mut key_present = vec![false; group_columns.len()];
    let mut key_names: Vec<Option<String>> = vec![None; group_columns.len()];
    let mut unnamed: Vec<Slot> = Vec::new();
    let mut values: Vec<(Expr, Option<String>)> = Vec::new();
    let mut unresolved = Vec::new();
    // Select position of each key (`None`: not selected) and of each value.
    let mut key_positions: Vec<Option<usize>> = vec![None; group_columns.len()];
    let mut value_positions: Vec<usize> = Vec::new();
    for (position, ((expr, alias, natural), original)) in
        aggregation.items.iter().zip(&query.select).enumerate()
    {
        let lowered = match lowering.lower(expr) {
            Ok(lowered) => lowered,
            Err(PlanError::User(message)) if message.contains("cannot be resolved") => {
                if let SelectItem::Expr { expr, .. } = original {
                    unresolved.push(FormattedExpr(expr).to_string());
                }
                continue;
            }
            Err(error) => return Err(error),
        };
        let name = alias.clone().or_else(|| natural.clone());
        if purpose == Purpose::Persistent
            && let Some(index) = group_columns.iter().position(|group| *group == lowered)
            && key_present[index]
        {
            return user_error(format!(
                "The projection contains a key column more than once: `{}` and `{}`.",
                key_names[index].clone().unwrap_or_default(),
                name.unwrap_or_default()
            ));
        }
        if let Some(index) = group_columns.iter().position(|group| *group == lowered)
            && !key_present[index]
        {
            key_present[index] = true;
            key_positions[index] = Some(position);
            if name.is_none() {
                unnamed.push(Slot::Key(index));
            }
            key_names[index] = name;
            continue;
        }
        if name.is_none() {
            unnamed.push(Slot::Value(values.len()));
        }
        value_positions.push(position);
        values.push((lowered, name));
    }
    if !unresolved.is_empty() {
        return user_error(format!(
            "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
            unresolved.join(", ")
        ));
    }
    if purpose == Purpose::Persistent && unresolved.is_empty() && values.is_empty() {
        return user_error("The projection contains no value columns.");
    }
    let missing_keys: Vec<String> = key_present
        .iter()
        .zip(&aggregation.group_texts)
        .filter(|(present, _)| !**present)
        .map(|(_, text)| text.to_uppercase())
        .collect();

    // Names: explicit and natural ones first, then KSQL_COL_n for the rest in select order.
    let mut used: HashSet<String> = HashSet::new();
    let mut taken: HashSet<String> = key_names
        .iter()
        .flatten()
        .cloned()
        .chain(values.iter().filter_map(|(_, name)| name.clone()))
        .collect();
    let mut counter = 0;
    let mut generated = |taken: &mut HashSet<String>| loop {
        let candidate = format!("KSQL_COL_{counter}");
        counter += 1;
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    };
    for slot in unnamed {
        let name = Some(generated(&mut taken));
        match slot {
            Slot::Key(index) => key_names[index] = name,
            Slot::Value(index) => values[index].1 = name,
        }
    }
    let mut exprs = Vec::new();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (index, group) in group_columns.iter().enumerate() {
        let name = match &key_names[index] {
            Some(name) => unique_name(name.clone(), &mut used),
            None if group_columns.len() == 1
                && !aggregation.group_names[index].starts_with('$') =>
            {
                aggregation.group_names[index].clone()
            }
            None => generated(&mut taken),
        };
        used.insert(name.clone());
        let (expr, field, column) = output_column(schema, group, &name, true)?;
        if crate::types::contains_map(&column.data_type) {
            return Err(crate::types::map_key_error(&name, &column.data_type));
        }
        exprs.push(expr);
        fields.push(field);
        columns.push(column);
    }
    let mut key_columns = exprs.len();
    for (expr, name) in values {
        let name = match name {
            // (A grouping expression left out of the projection is the error to give.)
            Some(name)
                if purpose == Purpose::Persistent
                    && missing_keys.is_empty()
                    && used.contains(&name) =>
            {
                let data_type = expr.get_type(schema)?;
                return user_error(format!(
                    "Duplicate value columns found in schema: `{name}` {}",
                    crate::types::arrow_type_name(&data_type)
                ));
            }
            Some(name) => unique_name(name, &mut used),
            None => generated(&mut taken),
        };
        used.insert(name.clone());
        let (expr, field, column) = output_column(schema, &expr, &name, false)?;
        exprs.push(expr);
        fields.push(field);
        columns.push(column);
    }
    if purpose == Purpose::Push {
        let positions: Vec<Option<usize>> = key_positions
            .into_iter()
            .chain(value_positions.into_iter().map(Some))
            .collect();
        let mut order: Vec<(usize, usize)> = positions
            .iter()
            .enumerate()
            .filter_map(|(index, position)| position.map(|position| (position, index)))
            .collect();
        order.sort_unstable();
        let pick = |index: usize| {
            (
                exprs[index].clone(),
                fields[index].clone(),
                columns[index].clone(),
            )
        };
        let picked: Vec<(Expr, Field, ColumnDefinition)> =
            order.iter().map(|(_, index)| pick(*index)).collect();
        key_columns = order
            .iter()
            .take_while(|(_, index)| *index < key_columns)
            .count();
        (exprs, fields, columns) = (Vec::new(), Vec::new(), Vec::new());
        for (expr, field, column) in picked {
            exprs.push(expr);
            fields.push(field);
            columns.push(column);
        }
    }
    let window = aggregation.window.map(|plan| WindowInfo {
        kind: plan.kind,
        size_ms: (plan.kind != WindowKind::Session).then_some(plan.size as u64),
    });
    let column = |name: &str| Expr::Column(Column::from_name(name));
    let root = finish_projection(
        aggregation.root,
        exprs,
        fields,
        key_columns,
        column(ROWTIME),
        window.map(|_| (column(WINDOWSTART), column(WINDOWEND))),
        Some(column(OP_COLUMN)),
    )?;
    Ok(PlannedQuery {
        root,
        columns,
        source,
        window,
        changelog: true,
        missing_keys,
        missing_partition_key: None,
        sources: Vec::new(),
        missing_join_key: None,
    })
}

/// Decides the output columns of the projection (unordered: keys are flagged), and the
/// PARTITION BY expression a persistent query must select (see
/// `PlannedQuery::missing_partition_key`).
pub(super) fn plan_projection(
    catalog: &Catalog,
    query: &Query,
    source: &SourceDefinition,
    schema: &DFSchema,
    purpose: Purpose,
) -> Result<(Vec<OutputColumn>, Option<String>)> {
    let transient = purpose != Purpose::Persistent;
    // A pull query over a windowed source marks the window bounds as keys.
    let window_keys = purpose == Purpose::Pull && source.window.is_some();
    let lowering = ExprLowering {
        schema,
        catalog,
        clause: "SELECT",
    };
    let partition_lowering = ExprLowering {
        schema,
        catalog,
        clause: "PARTITION BY",
    };
    let is_null =
        |expr: &SqlExpr| matches!(expr, SqlExpr::Value(value) if value.value == Value::Null);
    if query.partition_by.len() > 1 && query.partition_by.iter().any(is_null) {
        return user_error("Cannot PARTITION BY multiple columns including NULL");
    }
    let partition_by: Vec<(Expr, &SqlExpr)> = query
        .partition_by
        .iter()
        .filter(|expr| !is_null(expr))
        .map(|expr| {
            let lowered = partition_lowering.lower(expr).map_err(|error| match error {
                // PARTITION BY reads the input: an output alias is not in scope.
                PlanError::User(message) if message.starts_with("PARTITION BY column '") => {
                    let name = message
                        .trim_start_matches("PARTITION BY column '")
                        .split('\'')
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    PlanError::User(format!(
                        "{message} '{name}' must be a column in the source schema since PARTITION BY is applied on the input."
                    ))
                }
                other => other,
            })?;
            Ok((lowered, expr))
        })
        .collect::<Result<_>>()?;
    let repartitioned = !query.partition_by.is_empty();

    // First pass: expressions and explicit or natural names.
    let mut items: Vec<(Expr, Option<String>, bool)> = Vec::new(); // (expr, name, is_source_key)
    // Struct fields (by item index) named like a column of the source.
    let mut clashing_fields: HashSet<usize> = HashSet::new();
    for item in &query.select {
        match item {
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                // `X.*`: X names the source (or its alias).
                if let SelectItem::QualifiedWildcard(qualifier) = item
                    && !schema.iter().any(|(field_qualifier, _)| {
                        field_qualifier.is_some_and(|q| q.table().eq_ignore_ascii_case(qualifier))
                    })
                {
                    return user_error(format!(
                        "Failed to prepare statement: '{qualifier}' is not a valid stream/table name or alias."
                    ));
                }
                let window_columns: Vec<ColumnDefinition> = match source.window {
                    Some(_) if transient => [WINDOWSTART, WINDOWEND]
                        .iter()
                        .map(|name| ColumnDefinition {
                            name: name.to_string(),
                            data_type: parser::ast::DataType::Bigint,
                            kind: if window_keys {
                                ColumnKind::Key
                            } else {
                                ColumnKind::Value
                            },
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let keys: Vec<&ColumnDefinition> =
                    source.key_columns().chain(window_columns.iter()).collect();
                let others: Vec<&ColumnDefinition> = source
                    .value_columns()
                    .chain(source.header_columns())
                    .collect();
                let ordered: Vec<&ColumnDefinition> = if repartitioned {
                    others.into_iter().chain(keys).collect()
                } else {
                    keys.into_iter().chain(others).collect()
                };
                for column in ordered {
                    let expr = Expr::Column(Column::from_name(&column.name));
                    let expr = requalify(expr, schema);
                    if repartitioned && partition_by.iter().any(|(p, _)| *p == expr) {
                        continue;
                    }
                    items.push((
                        expr,
                        Some(column.name.clone()),
                        column.kind == ColumnKind::Key,
                    ));
                }
            }
            SelectItem::StructWildcard(expr) => {
                let base = lowering.lower(expr)?;
                let ArrowType::Struct(fields) = base.get_type(schema)? else {
                    return user_error(format!("{expr}->* requires a STRUCT"));
                };
                for field in fields.iter() {
                    let access = lowering.field(base.clone(), field.name())?;
                    items.push((access, Some(field.name().clone()), false));
                }
            }
            SelectItem::Expr { expr, alias } => {
                let lowered = lowering.lower(expr)?;
                let is_source_key = matches!(&lowered, Expr::Column(column)
                    if source.column(&column.name).is_some_and(|c| c.kind == ColumnKind::Key)
                        || (window_keys && [WINDOWSTART, WINDOWEND].contains(&column.name.as_str())));
                let name = match alias {
                    Some(alias) => Some(alias.clone()),
                    None => natural_name(expr),
                };
                // A struct field is named after the field, unless a column of the source has
                // that name: then it takes the next free `_n` suffix, as in ksqlDB.
                if alias.is_none()
                    && is_dereference(expr)
                    && name
                        .as_ref()
                        .is_some_and(|name| source.column(name).is_some())
                {
                    clashing_fields.insert(items.len());
                }
                items.push((lowered, name, is_source_key));
            }
        }
    }

    // Key flags.
    let mut is_key: Vec<bool> = vec![false; items.len()];
    let mut extra_keys: Vec<(Expr, Option<String>, &SqlExpr)> = Vec::new();
    if repartitioned {
        for (partition_expr, partition_sql) in &partition_by {
            match items.iter().position(|(expr, _, _)| expr == partition_expr) {
                Some(index) => is_key[index] = true,
                None => extra_keys.push((
                    partition_expr.clone(),
                    natural_name(partition_sql),
                    *partition_sql,
                )),
            }
        }
    } else {
        let mut seen: Vec<(String, String)> = Vec::new();
        for (index, (expr, name, is_source_key)) in items.iter().enumerate() {
            if !is_source_key {
                continue;
            }
            let Expr::Column(column) = expr else { continue };
            let name = name.clone().unwrap_or_default();
            if let Some((_, first)) = seen
                .iter()
                .find(|(source_name, _)| *source_name == column.name)
            {
                return Err(PlanError::User(format!(
                    "The projection contains a key column (`{}`) more than once, aliased as: {first} and {name}.",
                    column.name
                )));
            }
            seen.push((column.name.clone(), name));
            is_key[index] = true;
        }
    }

    // Generated names: KSQL_COL_n in select order, then partition-by keys, skipping the names
    // of the source's columns; duplicates of natural names get `_1`, `_2`.
    let mut taken: HashSet<String> = items
        .iter()
        .filter_map(|(_, name, _)| name.clone())
        .chain(source.columns.iter().map(|column| column.name.clone()))
        .collect();
    let mut counter = 0;
    let mut next_generated = |taken: &mut HashSet<String>| loop {
        let candidate = format!("KSQL_COL_{counter}");
        counter += 1;
        if !taken.contains(&candidate) {
            taken.insert(candidate.clone());
            return candidate;
        }
    };
    let mut outputs = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    for (index, ((expr, name, _), key)) in items.into_iter().zip(is_key).enumerate() {
        let name = match name {
            Some(name) if clashing_fields.contains(&index) => {
                let mut probe = used.clone();
                probe.insert(name.clone());
                unique_name(name, &mut probe)
            }
            Some(name) => unique_name(name, &mut used),
            None => next_generated(&mut taken),
        };
        used.insert(name.clone());
        outputs.push(OutputColumn {
            name,
            expr,
            is_key: key,
        });
    }
    let mut missing_partition_key = None;
    for (expr, name, sql) in extra_keys {
        let name = match name {
            // A value column already has the name the key would take: ksqlDB asks for the
            // partitioning expression in the projection.
            Some(name) if used.contains(&name) && purpose == Purpose::Persistent => {
                missing_partition_key.get_or_insert_with(|| match sql {
                    SqlExpr::Identifier(ident) => {
                        format!("{}.{}", source.name, ident.value.to_uppercase())
                    }
                    other => FormattedExpr(other).to_string(),
                });
                unique_name(name, &mut used)
            }
            Some(name) => unique_name(name, &mut used),
            None => next_generated(&mut taken),
        };
        used.insert(name.clone());
        outputs.push(OutputColumn {
            name,
            expr,
            is_key: true,
        });
    }
    if repartitioned && !transient {
        // The new key columns come in PARTITION BY order, wherever the projection has them.
        let slots: Vec<usize> = (0..outputs.len()).filter(|i| outputs[*i].is_key).collect();
        let mut keys: Vec<OutputColumn> = slots.iter().map(|slot| outputs[*slot].clone()).collect();
        keys.sort_by_key(|key| {
            partition_by
                .iter()
                .position(|(expr, _)| *expr == key.expr)
                .unwrap_or(usize::MAX)
        });
        for (slot, key) in slots.into_iter().zip(keys) {
            outputs[slot] = key;
        }
    }
    Ok((outputs, missing_partition_key))
}

/// `B`, then `B_1`, `B_2` for later duplicates.
/// Whether `expr` is a struct field access (`s->f`).
fn is_dereference(expr: &SqlExpr) -> bool {
    match expr {
        SqlExpr::Nested(inner) => is_dereference(inner),
        SqlExpr::BinaryOp {
            op: sqlparser::ast::BinaryOperator::Arrow,
            ..
        } => true,
        _ => false,
    }
}

fn unique_name(name: String, used: &mut HashSet<String>) -> String {
    if !used.contains(&name) {
        return name;
    }
    (1..)
        .map(|n| format!("{name}_{n}"))
        .find(|candidate| !used.contains(candidate))
        .expect("an unused suffix exists")
}
