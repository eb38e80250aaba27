//! A ksqlDB WHERE clause rewritten the way ksqlDB's `PullQueryRewriter` does: `BETWEEN` into
//! two comparisons, `IN` into equalities and `NOT` pushed down to the leaves, ready for
//! disjunctive normal form (`key_analysis::disjuncts`). The leaves keep their SQL, for
//! ksqlDB's messages.

use sqlparser::ast::{BinaryOperator, Expr as SqlExpr};

use super::Condition;
use crate::expr::KsqlText;

/// A comparison operator of a WHERE condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    IsDistinctFrom,
    IsNotDistinctFrom,
}

impl CompareOp {
    fn of(op: &BinaryOperator) -> Option<Self> {
        Some(match op {
            BinaryOperator::Eq => CompareOp::Eq,
            BinaryOperator::NotEq => CompareOp::NotEq,
            BinaryOperator::Lt => CompareOp::Lt,
            BinaryOperator::LtEq => CompareOp::LtEq,
            BinaryOperator::Gt => CompareOp::Gt,
            BinaryOperator::GtEq => CompareOp::GtEq,
            _ => return None,
        })
    }

    fn negate(self) -> Self {
        match self {
            CompareOp::Eq => CompareOp::NotEq,
            CompareOp::NotEq => CompareOp::Eq,
            CompareOp::Lt => CompareOp::GtEq,
            CompareOp::GtEq => CompareOp::Lt,
            CompareOp::Gt => CompareOp::LtEq,
            CompareOp::LtEq => CompareOp::Gt,
            CompareOp::IsDistinctFrom => CompareOp::IsNotDistinctFrom,
            CompareOp::IsNotDistinctFrom => CompareOp::IsDistinctFrom,
        }
    }

    /// The operator with its operands swapped (`1 < ID` is `ID > 1`).
    pub(super) fn flip(self) -> Self {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::LtEq => CompareOp::GtEq,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::GtEq => CompareOp::LtEq,
            other => other,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::NotEq => "<>",
            CompareOp::Lt => "<",
            CompareOp::LtEq => "<=",
            CompareOp::Gt => ">",
            CompareOp::GtEq => ">=",
            CompareOp::IsDistinctFrom => "IS DISTINCT FROM",
            CompareOp::IsNotDistinctFrom => "IS NOT DISTINCT FROM",
        }
    }

    /// ksqlDB's enum name, used in messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            CompareOp::Eq => "EQUAL",
            CompareOp::NotEq => "NOT_EQUAL",
            CompareOp::Lt => "LESS_THAN",
            CompareOp::LtEq => "LESS_THAN_OR_EQUAL",
            CompareOp::Gt => "GREATER_THAN",
            CompareOp::GtEq => "GREATER_THAN_OR_EQUAL",
            CompareOp::IsDistinctFrom => "IS_DISTINCT_FROM",
            CompareOp::IsNotDistinctFrom => "IS_NOT_DISTINCT_FROM",
        }
    }
}

/// An atom of the rewritten condition.
#[derive(Debug, Clone)]
pub(super) enum Leaf<'a> {
    Compare {
        left: &'a SqlExpr,
        op: CompareOp,
        right: &'a SqlExpr,
    },
    Like {
        value: &'a SqlExpr,
        pattern: &'a SqlExpr,
        negated: bool,
    },
    /// Any other condition, possibly under `NOT`.
    Other { expr: &'a SqlExpr, negated: bool },
}

impl Leaf<'_> {
    pub(super) fn text(&self) -> String {
        match self {
            Leaf::Compare { left, op, right } => {
                format!("({} {} {})", KsqlText(left), op.symbol(), KsqlText(right))
            }
            Leaf::Like {
                value,
                pattern,
                negated,
            } => format!(
                "({} {}LIKE {})",
                KsqlText(value),
                if *negated { "NOT " } else { "" },
                KsqlText(pattern)
            ),
            Leaf::Other {
                expr,
                negated: false,
            } => KsqlText(expr).to_string(),
            Leaf::Other {
                expr,
                negated: true,
            } => format!("(NOT {})", KsqlText(expr)),
        }
    }
}

/// Rewrites `expr` (negated when `negated`) into a condition over leaves.
pub(super) fn normalize(expr: &SqlExpr, negated: bool) -> Condition<Leaf<'_>> {
    let compare = |left, op: CompareOp, right| {
        let op = if negated { op.negate() } else { op };
        Condition::Leaf(Leaf::Compare { left, op, right })
    };
    match expr {
        SqlExpr::Nested(inner) => normalize(inner, negated),
        SqlExpr::UnaryOp {
            op: sqlparser::ast::UnaryOperator::Not,
            expr: inner,
        } => normalize(inner, !negated),
        SqlExpr::BinaryOp { left, op, right }
            if matches!(op, BinaryOperator::And | BinaryOperator::Or) =>
        {
            let parts = vec![normalize(left, negated), normalize(right, negated)];
            if (*op == BinaryOperator::And) != negated {
                Condition::And(parts)
            } else {
                Condition::Or(parts)
            }
        }
        SqlExpr::BinaryOp { left, op, right } if CompareOp::of(op).is_some() => {
            compare(left, CompareOp::of(op).expect("checked above"), right)
        }
        SqlExpr::IsDistinctFrom(left, right) => compare(left, CompareOp::IsDistinctFrom, right),
        SqlExpr::IsNotDistinctFrom(left, right) => {
            compare(left, CompareOp::IsNotDistinctFrom, right)
        }
        SqlExpr::Between {
            expr: value,
            negated: not_between,
            low,
            high,
        } => {
            let negated = negated != *not_between;
            let (lower, upper) = if negated {
                (CompareOp::Lt, CompareOp::Gt)
            } else {
                (CompareOp::GtEq, CompareOp::LtEq)
            };
            let parts = vec![
                Condition::Leaf(Leaf::Compare {
                    left: value,
                    op: lower,
                    right: low,
                }),
                Condition::Leaf(Leaf::Compare {
                    left: value,
                    op: upper,
                    right: high,
                }),
            ];
            if negated {
                Condition::Or(parts)
            } else {
                Condition::And(parts)
            }
        }
        SqlExpr::InList {
            expr: value,
            list,
            negated: not_in,
        } if !list.is_empty() => {
            let negated = negated != *not_in;
            let op = if negated {
                CompareOp::NotEq
            } else {
                CompareOp::Eq
            };
            let parts = list
                .iter()
                .map(|item| {
                    Condition::Leaf(Leaf::Compare {
                        left: value,
                        op,
                        right: item,
                    })
                })
                .collect();
            if negated {
                Condition::And(parts)
            } else {
                Condition::Or(parts)
            }
        }
        SqlExpr::Like {
            negated: not_like,
            expr: value,
            pattern,
            ..
        } => Condition::Leaf(Leaf::Like {
            value,
            pattern,
            negated: negated != *not_like,
        }),
        other => Condition::Leaf(Leaf::Other {
            expr: other,
            negated,
        }),
    }
}

/// A disjunct as ksqlDB prints it: its leaves joined by `AND`, nested from the left.
pub(super) fn disjunct_text(leaves: &[Leaf<'_>]) -> String {
    let mut texts = leaves.iter().map(Leaf::text);
    let first = texts.next().unwrap_or_default();
    texts.fold(first, |text, leaf| format!("({text} AND {leaf})"))
}

#[cfg(test)]
mod tests {
    use super::super::disjuncts;
    use super::*;

    const LIMIT: usize = 1024;

    fn where_clause(condition: &str) -> SqlExpr {
        let statements = parser::parse_statements(&format!("SELECT * FROM t WHERE {condition};"))
            .expect("parses");
        match &statements[0].kind {
            parser::ast::StatementKind::Select(query) => {
                query.where_clause.clone().expect("has a WHERE")
            }
            other => panic!("not a query: {other:?}"),
        }
    }

    #[test]
    fn conditions_rewrite_into_disjunctive_normal_form() {
        let cases = [
            ("ID = 1", vec!["(ID = 1)"]),
            ("ID IN (1, 2)", vec!["(ID = 1)", "(ID = 2)"]),
            ("ID BETWEEN 1 AND 3", vec!["((ID >= 1) AND (ID <= 3))"]),
            ("NOT (ID = 1 OR ID > 5)", vec!["((ID <> 1) AND (ID <= 5))"]),
            (
                "W >= 1 AND (ID = 'a' OR ID = 'b')",
                vec!["((W >= 1) AND (ID = 'a'))", "((W >= 1) AND (ID = 'b'))"],
            ),
            ("ID NOT IN (1, 2)", vec!["((ID <> 1) AND (ID <> 2))"]),
            ("NOT flag", vec!["(NOT FLAG)"]),
        ];
        for (condition, expected) in cases {
            let expr = where_clause(condition);
            let texts: Vec<String> = disjuncts(normalize(&expr, false), LIMIT)
                .expect("few disjuncts")
                .iter()
                .map(|leaves| disjunct_text(leaves))
                .collect();
            assert_eq!(texts, expected, "{condition}");
        }
    }

    #[test]
    fn huge_conjunctions_of_disjunctions_give_up() {
        let condition = (0..12)
            .map(|n| format!("(A = {n} OR B = {n})"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let expr = where_clause(&condition);
        assert!(disjuncts(normalize(&expr, false), LIMIT).is_none());
    }
}
