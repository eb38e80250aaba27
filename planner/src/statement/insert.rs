//! INSERT INTO: checking that a query's columns match the target's, and planning the row of
//! INSERT INTO ... VALUES.

use std::collections::BTreeMap;

use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;
use parser::ast::InsertValues;

use super::{InsertValuesPlan, kind_word};
use crate::catalog::{Catalog, ColumnDefinition, ColumnKind, SourceDefinition};
use crate::expr::ExprLowering;
use crate::query::PlannedQuery;
use crate::{Result, user_error};

pub(super) fn check_insert_schema(planned: &PlannedQuery, target: &SourceDefinition) -> Result<()> {
    // Header columns are read from records' headers, which a query does not write.
    if target.header_columns().next().is_some() {
        return user_error(format!(
            "Cannot insert into {} because it has header columns",
            target.name
        ));
    }
    let target_columns: Vec<(&str, &parser::ast::DataType, bool)> = target
        .key_columns()
        .chain(target.value_columns())
        .map(|c| (c.name.as_str(), &c.data_type, c.kind == ColumnKind::Key))
        .collect();
    let result_columns: Vec<(&str, &parser::ast::DataType, bool)> = planned
        .columns
        .iter()
        .map(|c| (c.name.as_str(), &c.data_type, c.kind == ColumnKind::Key))
        .collect();
    if target_columns != result_columns {
        return user_error(format!(
            "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
            logical_schema_text(&planned.columns),
            logical_schema_text(&target.columns)
        ));
    }
    Ok(())
}

/// Columns as ksqlDB prints a logical schema: `` `K` STRING KEY, `V` INTEGER ``.
fn logical_schema_text(columns: &[ColumnDefinition]) -> String {
    columns
        .iter()
        .map(|column| {
            let suffix = match &column.kind {
                ColumnKind::Key => " KEY".to_string(),
                ColumnKind::Value => String::new(),
                ColumnKind::Headers => " HEADERS".to_string(),
                ColumnKind::Header(key) => format!(" HEADER('{key}')"),
            };
            format!(
                "`{}` {}{suffix}",
                column.name,
                crate::types::sql_type_name(&column.data_type)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The source `INSERT INTO ... VALUES` writes: it must exist (a name that matches one only
/// when quoted gets ksqlDB's hint) and not be read-only.
pub(crate) fn insert_values_target<'a>(
    catalog: &'a Catalog,
    name: &str,
) -> Result<&'a SourceDefinition> {
    let Some(target) = catalog.source(name) else {
        let mut message = format!(
            "Cannot insert values into an unknown stream/table: {}",
            crate::catalog::quote_source_name(name)
        );
        if let Some(similar) = catalog
            .sources()
            .find(|source| source.name.eq_ignore_ascii_case(name))
        {
            message.push_str(&format!(
                "\nDid you mean \"{}\"? Hint: wrap the source name in double quotes to make it case-sensitive.",
                similar.name
            ));
        }
        return user_error(message);
    };
    if target.is_source {
        return user_error(format!(
            "Cannot insert values into read-only {}: {}",
            kind_word(target.kind),
            target.name
        ));
    }
    Ok(target)
}

pub(super) fn plan_insert_values(
    catalog: &Catalog,
    insert: &InsertValues,
) -> Result<InsertValuesPlan> {
    let target = insert_values_target(catalog, &insert.target)?.clone();
    let writable: Vec<&ColumnDefinition> =
        target.key_columns().chain(target.value_columns()).collect();
    // Without a column list, every column of the schema, headers included (then refused).
    let names: Vec<String> = match &insert.columns {
        Some(names) => names.clone(),
        None => writable
            .iter()
            .copied()
            .chain(target.header_columns())
            .map(|c| c.name.clone())
            .collect(),
    };
    // Header columns come from records' headers: a row inserted has none.
    let headers: Vec<&str> = target
        .header_columns()
        .filter(|column| names.contains(&column.name))
        .map(|column| column.name.as_str())
        .collect();
    if !headers.is_empty() {
        return user_error(format!(
            "Cannot insert into HEADER columns: {}",
            headers.join(", ")
        ));
    }
    if names.len() != insert.values.len() {
        // ksqlDB finds this while preparing the statement.
        return user_error(format!(
            "Failed to prepare statement: Expected number columns and values to match: {}, {}",
            names.len(),
            insert.values.len()
        ));
    }
    if let Some(pseudo) = names.iter().find(|name| {
        [crate::catalog::ROWPARTITION, crate::catalog::ROWOFFSET].contains(&name.as_str())
    }) {
        return user_error(format!("Inserting into column `{pseudo}` is not allowed."));
    }
    let empty = DFSchema::empty();
    let lowering = ExprLowering {
        schema: &empty,
        catalog,
        clause: "VALUES",
    };
    let mut given: BTreeMap<String, Expr> = BTreeMap::new();
    let mut timestamp = None;
    for (name, value) in names.iter().zip(&insert.values) {
        let expr = lowering.lower(value)?;
        if name == crate::catalog::ROWTIME {
            timestamp = Some(expr);
            continue;
        }
        if !writable.iter().any(|c| &c.name == name) {
            return user_error(format!("Column name {name} does not exist."));
        }
        given.insert(name.clone(), expr);
    }
    let values = writable
        .into_iter()
        .map(|column| (column.clone(), given.remove(&column.name)))
        .collect();
    Ok(InsertValuesPlan {
        target,
        values,
        timestamp,
    })
}
