//! The one analysis of a pull query's filter over a table's key columns: which rows to read.
//!
//! A filter is rewritten into disjunctive normal form over terms: a key column compared
//! with a value, a comparison that is never true, or the residual (any other condition:
//! other columns, window bounds, functions). Each disjunct selects one key, a range of the
//! single key column, nothing, or any key; together they make a `KeyLookup`. The rows read
//! are filtered again by the whole filter, so a lookup may select more than it matches.
//! Filters come from a ksqlDB WHERE clause (`where_clause`, with ksqlDB's rules and
//! messages) or from DataFusion's filters pushed into a table scan (`filters`).

mod ast;
mod filters;
mod where_clause;

use std::ops::Bound;

use arrow::datatypes::Fields;
use datafusion::common::ScalarValue;

pub(crate) use self::ast::CompareOp;
pub(crate) use self::where_clause::{WhereContext, analyze_where};

/// Which rows of a table a pull query reads.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyLookup {
    /// Every row.
    Scan,
    /// The rows of these keys, each one value per key column in key column order, of the
    /// key columns' types; every window of a key of a windowed table.
    Keys(Vec<Vec<ScalarValue>>),
    /// The rows whose single key column is within the bounds.
    Range {
        lower: Bound<ScalarValue>,
        upper: Bound<ScalarValue>,
    },
}

/// One atom of a filter, as a key lookup sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    /// Key column `column` (its index) compared with a value of the column's type.
    Key {
        column: usize,
        op: CompareOp,
        value: ScalarValue,
    },
    /// A comparison that is never true (with a NULL): its disjunct matches no row.
    Never,
    /// Any other condition: it narrows no read and is left to the filter over the rows.
    Residual,
}

/// A filter with `NOT` pushed down to its leaves.
#[derive(Debug, Clone)]
pub(crate) enum Condition<L> {
    And(Vec<Condition<L>>),
    Or(Vec<Condition<L>>),
    Leaf(L),
}

/// The disjuncts of a condition in disjunctive normal form, each a conjunction of leaves;
/// `None` when there would be more than `limit`.
pub(crate) fn disjuncts<L: Clone>(condition: Condition<L>, limit: usize) -> Option<Vec<Vec<L>>> {
    match condition {
        Condition::Leaf(leaf) => Some(vec![vec![leaf]]),
        Condition::Or(parts) => {
            let mut all = Vec::new();
            for part in parts {
                all.extend(disjuncts(part, limit)?);
                if all.len() > limit {
                    return None;
                }
            }
            Some(all)
        }
        Condition::And(parts) => {
            let mut product: Vec<Vec<L>> = vec![Vec::new()];
            for part in parts {
                let part = disjuncts(part, limit)?;
                if product.len() * part.len() > limit {
                    return None;
                }
                let mut next = Vec::with_capacity(product.len() * part.len());
                for prefix in &product {
                    for conjunct in &part {
                        let mut combined = prefix.clone();
                        combined.extend(conjunct.iter().cloned());
                        next.push(combined);
                    }
                }
                product = next;
            }
            Some(product)
        }
    }
}

/// What one disjunct selects, by key.
#[derive(Debug, Clone, PartialEq)]
enum Selection {
    /// No row (a contradiction or a comparison with NULL).
    Nothing,
    /// The rows of one key.
    Key(Vec<ScalarValue>),
    /// The rows whose single key column is within the bounds.
    Range {
        lower: Bound<ScalarValue>,
        upper: Bound<ScalarValue>,
    },
    /// Any row.
    Any,
}

/// What the filters of a table scan select: the rows to read, and the filters that do not
/// narrow the read (the residual, left to the filter over the rows read).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyAnalysis {
    pub lookup: KeyLookup,
    /// Indexes of the filters that narrow no read.
    pub residual: Vec<usize>,
}

/// The key columns of a table, and whether their ranges can be read.
#[derive(Debug, Clone)]
pub struct KeyColumns {
    fields: Fields,
    /// A range of the single key column can be read as a range of stored keys.
    ranges: bool,
}

impl KeyColumns {
    /// The key columns `fields` (in key order); `ranges` when a range of values of a single
    /// key column can be read (the caller's policy: ksqlDB's, or the state layout's).
    pub fn new(fields: Fields, ranges: bool) -> Self {
        KeyColumns {
            ranges: ranges && fields.len() == 1,
            fields,
        }
    }

    /// The index of the key column named `name`.
    fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|field| field.name() == name)
    }

    /// Whether a term narrows the keys a disjunct reads.
    fn narrows(&self, term: &Term) -> bool {
        match term {
            Term::Never => true,
            Term::Residual => false,
            Term::Key { op, .. } => match op {
                CompareOp::Eq => true,
                CompareOp::Lt | CompareOp::LtEq | CompareOp::Gt | CompareOp::GtEq => self.ranges,
                _ => false,
            },
        }
    }

    /// What one disjunct (a conjunction of terms) selects.
    fn select(&self, terms: &[Term]) -> Selection {
        let mut equal: Vec<Option<&ScalarValue>> = vec![None; self.fields.len()];
        let mut lower = Bound::Unbounded;
        let mut upper = Bound::Unbounded;
        for term in terms {
            let (column, op, value) = match term {
                Term::Never => return Selection::Nothing,
                Term::Residual => continue,
                Term::Key { column, op, value } => (*column, *op, value),
            };
            match op {
                CompareOp::Eq => match equal[column] {
                    Some(other) if other != value => return Selection::Nothing,
                    _ => equal[column] = Some(value),
                },
                CompareOp::Gt | CompareOp::GtEq if self.ranges => {
                    let bound = bound(op == CompareOp::GtEq, value);
                    lower = tighter(lower, bound, |new, old| new > old);
                }
                CompareOp::Lt | CompareOp::LtEq if self.ranges => {
                    let bound = bound(op == CompareOp::LtEq, value);
                    upper = tighter(upper, bound, |new, old| new < old);
                }
                _ => {}
            }
        }
        if equal.iter().all(Option::is_some) {
            return Selection::Key(equal.into_iter().flatten().cloned().collect());
        }
        if lower != Bound::Unbounded || upper != Bound::Unbounded {
            return Selection::Range { lower, upper };
        }
        Selection::Any
    }

    /// The rows to read for the disjuncts: their keys when every disjunct selects one key
    /// (or nothing), their range when one disjunct selects a range, else every row.
    fn lookup(&self, disjuncts: &[Vec<Term>]) -> KeyLookup {
        let mut keys: Vec<Vec<ScalarValue>> = Vec::new();
        let mut ranges = Vec::new();
        for disjunct in disjuncts {
            match self.select(disjunct) {
                Selection::Nothing => {}
                Selection::Key(key) => {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                Selection::Range { lower, upper } => ranges.push(KeyLookup::Range { lower, upper }),
                Selection::Any => return KeyLookup::Scan,
            }
        }
        match (keys.is_empty(), ranges.len()) {
            (_, 0) => KeyLookup::Keys(keys),
            (true, 1) => ranges.remove(0),
            _ => KeyLookup::Scan,
        }
    }
}

fn bound(inclusive: bool, value: &ScalarValue) -> Bound<ScalarValue> {
    if inclusive {
        Bound::Included(value.clone())
    } else {
        Bound::Excluded(value.clone())
    }
}

/// `new` when it bounds tighter than `old` (`tighter_than(new, old)` on their values; an
/// exclusive bound is tighter than an inclusive one of the same value).
fn tighter(
    old: Bound<ScalarValue>,
    new: Bound<ScalarValue>,
    tighter_than: impl Fn(&ScalarValue, &ScalarValue) -> bool,
) -> Bound<ScalarValue> {
    match (&old, &new) {
        (_, Bound::Unbounded) => old,
        (Bound::Unbounded, _) => new,
        (Bound::Included(old_value) | Bound::Excluded(old_value), Bound::Excluded(new_value))
            if new_value == old_value =>
        {
            new
        }
        (
            Bound::Included(old_value) | Bound::Excluded(old_value),
            Bound::Included(new_value) | Bound::Excluded(new_value),
        ) => {
            if tighter_than(new_value, old_value) {
                new
            } else {
                old
            }
        }
    }
}

#[cfg(test)]
mod tests;
