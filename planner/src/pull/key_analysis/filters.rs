//! DataFusion filters pushed into a table scan, read as `key_analysis` terms.
//!
//! `KEY = lit`, `KEY IN (..)`, ranges (`<`, `<=`, `>`, `>=`, `BETWEEN`) and ANDs and ORs of
//! them become terms; a literal becomes a key value when it converts exactly to the key
//! column's type. Anything else is residual: DataFusion applies every filter again
//! (`Inexact`), so a lookup only narrows the rows read.

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

use super::{CompareOp, Condition, KeyAnalysis, KeyColumns, Term, disjuncts};

/// At most this many keys are looked up one by one; more make a full scan.
const MAX_LOOKUP_KEYS: usize = 10_000;

impl KeyColumns {
    /// The rows to read for rows that may satisfy all of `filters`, and the filters that do
    /// not narrow the read.
    pub fn analyze_filters(&self, filters: &[&Expr]) -> KeyAnalysis {
        let residual = filters
            .iter()
            .enumerate()
            .filter(|(_, filter)| !self.filter_narrows(filter))
            .map(|(index, _)| index)
            .collect();
        let all = Condition::And(
            filters
                .iter()
                .map(|filter| self.condition(filter))
                .collect(),
        );
        let lookup = match disjuncts(all, MAX_LOOKUP_KEYS) {
            Some(disjuncts) => self.lookup(&disjuncts),
            None => super::KeyLookup::Scan,
        };
        KeyAnalysis { lookup, residual }
    }

    /// Whether every disjunct of `filter` narrows the keys it reads.
    fn filter_narrows(&self, filter: &Expr) -> bool {
        disjuncts(self.condition(filter), MAX_LOOKUP_KEYS).is_some_and(|disjuncts| {
            disjuncts
                .iter()
                .all(|terms| terms.iter().any(|term| self.narrows(term)))
        })
    }

    /// `expr` as a condition over terms; a part without key terms is one residual leaf.
    fn condition(&self, expr: &Expr) -> Condition<Term> {
        let condition = match expr {
            Expr::BinaryExpr(BinaryExpr { left, op, right })
                if matches!(op, Operator::And | Operator::Or) =>
            {
                let parts = vec![self.condition(left), self.condition(right)];
                if *op == Operator::And {
                    Condition::And(parts)
                } else {
                    Condition::Or(parts)
                }
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let Some(op) = compare_op(op) else {
                    return Condition::Leaf(Term::Residual);
                };
                match (self.key_column(left), self.key_column(right)) {
                    (Some(column), None) => Condition::Leaf(self.term(column, op, right)),
                    (None, Some(column)) => Condition::Leaf(self.term(column, op.flip(), left)),
                    _ => Condition::Leaf(Term::Residual),
                }
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => match self.key_column(expr) {
                Some(column) => Condition::And(vec![
                    Condition::Leaf(self.term(column, CompareOp::GtEq, low)),
                    Condition::Leaf(self.term(column, CompareOp::LtEq, high)),
                ]),
                None => Condition::Leaf(Term::Residual),
            },
            Expr::InList(in_list) if !in_list.negated && !in_list.list.is_empty() => {
                match self.key_column(&in_list.expr) {
                    Some(column) => Condition::Or(
                        in_list
                            .list
                            .iter()
                            .map(|item| Condition::Leaf(self.term(column, CompareOp::Eq, item)))
                            .collect(),
                    ),
                    None => Condition::Leaf(Term::Residual),
                }
            }
            _ => Condition::Leaf(Term::Residual),
        };
        match condition {
            Condition::And(parts) | Condition::Or(parts) if parts.iter().all(is_residual) => {
                Condition::Leaf(Term::Residual)
            }
            other => other,
        }
    }

    /// The term of key column `column` compared by `op` with `expr`: a key term when `expr`
    /// is a literal of the column's type, never true when it is NULL.
    fn term(&self, column: usize, op: CompareOp, expr: &Expr) -> Term {
        let Expr::Literal(value, _) = expr else {
            return Term::Residual;
        };
        if value.is_null() {
            return Term::Never;
        }
        match self.literal(column, value) {
            Some(value) => Term::Key { column, op, value },
            None => Term::Residual,
        }
    }

    /// The index of the key column `expr` names.
    fn key_column(&self, expr: &Expr) -> Option<usize> {
        match expr {
            Expr::Column(column) => self.position(&column.name),
            _ => None,
        }
    }

    /// A non-null literal as a value of key column `column`: of the column's type, or of a
    /// type that compares the same way (integers with integers, strings with strings) and
    /// converts exactly.
    fn literal(&self, column: usize, value: &ScalarValue) -> Option<ScalarValue> {
        let target = self.fields[column].data_type();
        let source = value.data_type();
        let comparable = source == *target
            || (source.is_integer() && target.is_integer())
            || (is_string(&source) && is_string(target));
        if !comparable {
            return None;
        }
        let converted = value.cast_to(target).ok()?;
        let round_trip = converted.cast_to(&source).ok()?;
        (round_trip == *value && !converted.is_null()).then_some(converted)
    }
}

fn is_residual(condition: &Condition<Term>) -> bool {
    matches!(condition, Condition::Leaf(Term::Residual))
}

fn compare_op(op: &Operator) -> Option<CompareOp> {
    Some(match op {
        Operator::Eq => CompareOp::Eq,
        Operator::Lt => CompareOp::Lt,
        Operator::LtEq => CompareOp::LtEq,
        Operator::Gt => CompareOp::Gt,
        Operator::GtEq => CompareOp::GtEq,
        _ => return None,
    })
}

fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}
