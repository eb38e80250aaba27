//! A pull query's WHERE clause read as ksqlDB reads it, into `key_analysis` terms.
//!
//! The clause is rewritten as ksqlDB's `PullQueryRewriter` does (`key_analysis::ast`), then
//! put in disjunctive normal form. Each disjunct is validated like ksqlDB's
//! `QueryFilterNode` (the errors when table scans are disabled) and its comparisons with key
//! columns become terms, their values converted to the key columns' types
//! (`pull::key_value`); window bounds are checked here and left to the residual filter.

use datafusion::common::ScalarValue;
use sqlparser::ast::{Expr as SqlExpr, Value};

use super::ast::{CompareOp, Leaf, disjunct_text, normalize};
use super::{KeyColumns, KeyLookup, Term, disjuncts};
use crate::catalog::{Catalog, ColumnDefinition, SourceDefinition, WINDOWEND, WINDOWSTART};
use crate::expr::KsqlText;
use crate::pull::key_value::{column_ref, column_type, has_column_ref, key_value};
use crate::pull::{PULL_QUERY_SYNTAX_HELP, TABLE_SCAN_HINT, TABLE_SCAN_REQUIRED};
use crate::types::sql_type_name;
use crate::{PlanError, Result};

/// Disjuncts beyond this many are not worth a key lookup: the query scans instead.
const MAX_DISJUNCTS: usize = 1024;

/// The table a WHERE clause is analyzed against.
pub struct WhereContext<'a> {
    pub source: &'a SourceDefinition,
    /// Names that qualify the table's columns (its name and alias).
    pub qualifiers: &'a [&'a str],
    pub catalog: &'a Catalog,
    pub table_scans_enabled: bool,
    /// `ksql.query.pull.range.scan.enabled`: ranges of a single STRING or BYTES key of a
    /// table that is not windowed are read as ranges (ksqlDB's rule).
    pub range_scans_enabled: bool,
}

impl WhereContext<'_> {
    fn windowed(&self) -> bool {
        self.source.window.is_some()
    }

    fn key_definitions(&self) -> Vec<&ColumnDefinition> {
        self.source.key_columns().collect()
    }

    /// The key columns, with ksqlDB's rule for ranges.
    fn key_columns(&self) -> Result<KeyColumns> {
        let fields = self.source.key_fields()?;
        let ranges = self.range_scans_enabled
            && !self.windowed()
            && matches!(
                self.key_definitions().as_slice(),
                [key] if matches!(key.data_type, parser::ast::DataType::String | parser::ast::DataType::Bytes)
            );
        Ok(KeyColumns::new(fields, ranges))
    }

    /// ksqlDB's schema text of the key columns: ``[`ID` INTEGER KEY, ...]``.
    fn key_schema_text(&self) -> String {
        let keys: Vec<String> = self
            .source
            .key_columns()
            .map(|c| format!("`{}` {} KEY", c.name, sql_type_name(&c.data_type)))
            .collect();
        format!("[{}]", keys.join(", "))
    }

    /// ksqlDB's `invalidWhereClauseException`: the message and how to write a pull query.
    fn invalid(&self, message: &str, windowed: bool) -> PlanError {
        let window_help = if windowed {
            "\n - (optionally) limits the time bounds of the windowed table.\n\t Bounds on [`WINDOWSTART`, `WINDOWEND`] are supported\n\t Supported operators are [EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL]"
        } else {
            ""
        };
        PlanError::User(format!(
            "{message}. {PULL_QUERY_SYNTAX_HELP}\nPull queries require a WHERE clause that:\n - includes a key equality expression, e.g. `SELECT * FROM X WHERE <key-column> = Y;`.\n - in the case of a multi-column key, is a conjunction of equality expressions that cover all key columns.\n - to support range expressions, e.g.,  SELECT * FROM X WHERE <key-column> < Y;`, range scans need to be enabled by setting ksql.query.pull.range.scan.enabled=true{window_help}\n{TABLE_SCAN_HINT}"
        ))
    }

    /// Marks a table scan as needed, or fails when table scans are disabled.
    fn scan_or_fail(&self, scan: &mut bool, message: &str, windowed: bool) -> Result<()> {
        if self.table_scans_enabled {
            *scan = true;
            Ok(())
        } else {
            Err(self.invalid(message, windowed))
        }
    }
}

/// The column side and the other side of a comparison: ksqlDB takes the right side when it
/// is a column reference, else the left side.
fn split_comparison<'a>(
    left: &'a SqlExpr,
    op: CompareOp,
    right: &'a SqlExpr,
    qualifiers: &[&str],
) -> Option<(String, CompareOp, &'a SqlExpr)> {
    if let Some(column) = column_ref(right, qualifiers) {
        return Some((column, op.flip(), left));
    }
    column_ref(left, qualifiers).map(|column| (column, op, right))
}

/// Validates the WHERE clause of a pull query over a table and picks the rows it reads.
pub fn analyze_where(where_clause: &SqlExpr, context: &WhereContext<'_>) -> Result<KeyLookup> {
    let Some(disjuncts) = disjuncts(normalize(where_clause, false), MAX_DISJUNCTS) else {
        return if context.table_scans_enabled {
            Ok(KeyLookup::Scan)
        } else {
            Err(PlanError::User(TABLE_SCAN_REQUIRED.into()))
        };
    };
    for disjunct in &disjuncts {
        if validate_disjunct(disjunct, context)? {
            return Ok(KeyLookup::Scan);
        }
    }
    let terms = disjuncts
        .iter()
        .map(|disjunct| terms_of(disjunct, context))
        .collect::<Result<Vec<_>>>()?;
    Ok(context.key_columns()?.lookup(&terms))
}

/// ksqlDB's per-disjunct validation; true when the disjunct needs a table scan.
fn validate_disjunct(leaves: &[Leaf<'_>], context: &WhereContext<'_>) -> Result<bool> {
    let keys = context.key_definitions();
    let windowed = context.windowed();
    let mut seen = vec![false; keys.len()];
    let mut keyed = false;
    let mut scan = false;
    for leaf in leaves {
        match leaf {
            Leaf::Compare { left, op, right } => {
                let Some((column, op, other)) =
                    split_comparison(left, *op, right, context.qualifiers)
                else {
                    context.scan_or_fail(
                        &mut scan,
                        "A comparison must directly reference a key column",
                        windowed,
                    )?;
                    continue;
                };
                if has_column_ref(other) {
                    context.scan_or_fail(
                        &mut scan,
                        "A comparison must be between a key column and a resolvable expression",
                        windowed,
                    )?;
                    continue;
                }
                if column == WINDOWSTART || column == WINDOWEND {
                    if matches!(
                        op,
                        CompareOp::NotEq | CompareOp::IsDistinctFrom | CompareOp::IsNotDistinctFrom
                    ) {
                        return Err(context.invalid(
                            &format!("Unsupported {column} bounds: {}", op.name()),
                            true,
                        ));
                    }
                    if !windowed {
                        return Err(context.invalid(
                            "Cannot use WINDOWSTART/WINDOWEND on non-windowed source",
                            false,
                        ));
                    }
                    continue;
                }
                if column_type(context.source, &column).is_none() {
                    return Err(context.invalid(
                        &format!("Bound on non-existent column `{column}`"),
                        windowed,
                    ));
                }
                let Some(index) = keys.iter().position(|key| key.name == column) else {
                    continue;
                };
                if matches!(
                    op,
                    CompareOp::NotEq | CompareOp::IsDistinctFrom | CompareOp::IsNotDistinctFrom
                ) {
                    context.scan_or_fail(
                        &mut scan,
                        &format!(
                            "Bound on key columns '{}' must currently be '='",
                            context.key_schema_text()
                        ),
                        windowed,
                    )?;
                }
                if seen[index] && !context.table_scans_enabled {
                    return Err(context.invalid(
                        "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate",
                        windowed,
                    ));
                }
                seen[index] = true;
                keyed = true;
            }
            Leaf::Like { value, pattern, .. } => {
                let Some(column) = column_ref(value, context.qualifiers) else {
                    context.scan_or_fail(
                        &mut scan,
                        "Like condition must be between strings",
                        windowed,
                    )?;
                    continue;
                };
                let Some(data_type) = column_type(context.source, &column) else {
                    return Err(context.invalid(
                        &format!("Like condition on non-existent column `{column}`"),
                        windowed,
                    ));
                };
                if data_type != parser::ast::DataType::String {
                    return Err(context.invalid(
                        &format!(
                            "The column type for Like condition must be VARCHAR. The column type is {}",
                            base_type_name(&data_type)
                        ),
                        windowed,
                    ));
                }
                let literal_pattern = matches!(
                    pattern,
                    SqlExpr::Value(value)
                        if matches!(value.value, Value::SingleQuotedString(_) | Value::Null)
                );
                if !literal_pattern {
                    return Err(context.invalid("Like condition on non-string pattern", windowed));
                }
            }
            Leaf::Other { expr, .. } => {
                // ksqlDB rejects these outright; Eddy evaluates them over a table scan.
                context.scan_or_fail(
                    &mut scan,
                    &format!("Unsupported expression in WHERE clause: {}", KsqlText(expr)),
                    windowed,
                )?;
            }
        }
    }
    if scan {
        return Ok(true);
    }
    if !keyed {
        if context.table_scans_enabled {
            return Ok(true);
        }
        return Err(context.invalid(
            &format!(
                "WHERE clause missing key column for disjunct: {}",
                disjunct_text(leaves)
            ),
            windowed,
        ));
    }
    let seen_count = seen.iter().filter(|seen| **seen).count();
    if seen_count != keys.len() {
        if context.table_scans_enabled {
            return Ok(true);
        }
        let specified: Vec<String> = keys
            .iter()
            .zip(&seen)
            .filter(|(_, seen)| **seen)
            .map(|(key, _)| format!("`{}`", key.name))
            .collect();
        return Err(context.invalid(
            &format!(
                "Multi-column sources must specify every key in the WHERE clause. Specified: [{}] Expected: {}",
                specified.join(", "),
                context.key_schema_text()
            ),
            windowed,
        ));
    }
    Ok(false)
}

/// ksqlDB's base type name (`INTEGER`, `STRUCT`, ...).
fn base_type_name(data_type: &parser::ast::DataType) -> String {
    use parser::ast::DataType;
    match data_type {
        DataType::Decimal { .. } => "DECIMAL".into(),
        DataType::Array(_) => "ARRAY".into(),
        DataType::Map(..) => "MAP".into(),
        DataType::Struct(_) => "STRUCT".into(),
        other => sql_type_name(other),
    }
}

/// Bounds set on `WINDOWSTART` or `WINDOWEND` in one disjunct, to reject duplicates.
#[derive(Default)]
struct BoundsSeen {
    equal: bool,
    lower: bool,
    upper: bool,
}

/// The terms of a validated disjunct (ksqlDB's `KeyValueExtractor`): comparisons with key
/// columns, their values of the columns' types; duplicate or conflicting window bounds fail.
fn terms_of(leaves: &[Leaf<'_>], context: &WhereContext<'_>) -> Result<Vec<Term>> {
    let keys = context.key_definitions();
    let mut start = BoundsSeen::default();
    let mut end = BoundsSeen::default();
    let mut terms = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        let Leaf::Compare { left, op, right } = leaf else {
            terms.push(Term::Residual);
            continue;
        };
        let Some((column, op, other)) = split_comparison(left, *op, right, context.qualifiers)
        else {
            terms.push(Term::Residual);
            continue;
        };
        if column == WINDOWSTART || column == WINDOWEND {
            let bounds = if column == WINDOWSTART {
                &mut start
            } else {
                &mut end
            };
            let slot = match op {
                CompareOp::Eq => &mut bounds.equal,
                CompareOp::Lt | CompareOp::LtEq => &mut bounds.upper,
                _ => &mut bounds.lower,
            };
            if std::mem::replace(slot, true) {
                let kind = match op {
                    CompareOp::Eq => "EQUAL",
                    CompareOp::Lt | CompareOp::LtEq => "LESS_THAN",
                    _ => "GREATER_THAN",
                };
                return Err(context.invalid(&format!("Duplicate {column} bounds on: {kind}"), true));
            }
            if bounds.equal && (bounds.lower || bounds.upper) {
                return Err(context.invalid(
                    &format!(
                        "`{}` cannot be combined with other {column} bounds",
                        leaf.text()
                    ),
                    true,
                ));
            }
            terms.push(Term::Residual);
            continue;
        }
        let Some(index) = keys.iter().position(|key| key.name == column) else {
            terms.push(Term::Residual);
            continue;
        };
        let value: ScalarValue = key_value(other, keys[index], context.catalog, &leaf.text())?;
        terms.push(Term::Key {
            column: index,
            op,
            value,
        });
    }
    Ok(terms)
}
