//! Key predicates of a SQL pull query (DataFusion filters pushed into a table scan) turned
//! into the keys to look up.
//!
//! `KEY = lit`, `KEY IN (..)` and ORs of them on every key column become key lookups.
//! Ranges (`<`, `<=`, `>`, `>=`, BETWEEN) on a single key column become a key range when the
//! table's stored keys sort like the values (the executor's layout says so). A lookup may
//! select more than the predicate does: DataFusion applies the filters again (`Inexact`).
//! The bytes of keys and ranges are the executor's (`state::materialized`).

use std::ops::Bound;

use arrow::datatypes::{DataType, Fields};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};

use super::KeyLookup;

/// At most this many keys are looked up one by one; more make a full scan.
const MAX_LOOKUP_KEYS: usize = 10_000;

/// A constraint one filter puts on one key column, with values of the column's type.
#[derive(Debug, Clone, PartialEq)]
enum Constraint {
    /// The column equals one of these (non-null) values.
    Values(Vec<ScalarValue>),
    /// The column is within these bounds.
    Range {
        lower: Bound<ScalarValue>,
        upper: Bound<ScalarValue>,
    },
}

/// The key columns of a table, as SQL pull queries filter them.
#[derive(Debug, Clone)]
pub struct KeyFilter {
    fields: Fields,
    /// The stored keys sort like the values of the single key column: ranges narrow reads.
    ordered: bool,
}

impl KeyFilter {
    /// The key columns `fields`; `ordered` when a range of keys is a range of stored keys.
    pub fn new(fields: Fields, ordered: bool) -> Self {
        KeyFilter {
            ordered: ordered && fields.len() == 1,
            fields,
        }
    }

    /// Whether `filter` constrains the keys enough to narrow a scan.
    pub fn narrows(&self, filter: &Expr) -> bool {
        let mut constraints = Vec::new();
        self.constraints(filter, &mut constraints);
        !constraints.is_empty()
    }

    /// The keys to read for rows that may satisfy all of `filters`.
    pub fn lookup(&self, filters: &[Expr]) -> KeyLookup {
        let mut constraints = Vec::new();
        for filter in filters {
            self.constraints(filter, &mut constraints);
        }
        let mut values: Vec<Option<Vec<ScalarValue>>> = vec![None; self.fields.len()];
        let mut lower: Bound<ScalarValue> = Bound::Unbounded;
        let mut upper: Bound<ScalarValue> = Bound::Unbounded;
        for (column, constraint) in constraints {
            match constraint {
                Constraint::Values(new) => {
                    values[column] = Some(match values[column].take() {
                        Some(old) => old
                            .into_iter()
                            .filter(|value| new.contains(value))
                            .collect(),
                        None => new,
                    });
                }
                Constraint::Range {
                    lower: new_lower,
                    upper: new_upper,
                } => {
                    lower = tighter(lower, new_lower, |new, old| new > old);
                    upper = tighter(upper, new_upper, |new, old| new < old);
                }
            }
        }
        if let Some(values) = values.into_iter().collect::<Option<Vec<_>>>()
            && let Some(keys) = combinations(&values)
        {
            return KeyLookup::Keys(keys);
        }
        if self.ordered && (lower != Bound::Unbounded || upper != Bound::Unbounded) {
            return KeyLookup::Range { lower, upper };
        }
        KeyLookup::Scan
    }
    /// Appends the key constraints of `expr` (one per conjunct that has one).
    fn constraints(&self, expr: &Expr, out: &mut Vec<(usize, Constraint)>) {
        match expr {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => {
                self.constraints(left, out);
                self.constraints(right, out);
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right })
                if matches!(
                    op,
                    Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
                ) && self.ordered =>
            {
                let (column, op, literal) = match (self.key_column(left), self.key_column(right)) {
                    (Some(column), None) => (column, *op, right),
                    (None, Some(column)) => match op.swap() {
                        Some(swapped) => (column, swapped, left),
                        None => return,
                    },
                    _ => return,
                };
                let Some(value) = self.literal(column, literal) else {
                    return;
                };
                let (lower, upper) = match op {
                    Operator::Gt => (Bound::Excluded(value), Bound::Unbounded),
                    Operator::GtEq => (Bound::Included(value), Bound::Unbounded),
                    Operator::Lt => (Bound::Unbounded, Bound::Excluded(value)),
                    _ => (Bound::Unbounded, Bound::Included(value)),
                };
                let constraint = Constraint::Range { lower, upper };
                out.push((column, constraint));
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) if self.ordered => {
                let Some(column) = self.key_column(expr) else {
                    return;
                };
                if let (Some(low), Some(high)) =
                    (self.literal(column, low), self.literal(column, high))
                {
                    let range = Constraint::Range {
                        lower: Bound::Included(low),
                        upper: Bound::Included(high),
                    };
                    out.push((column, range));
                }
            }
            _ => {
                if let Some((column, values)) = self.values(expr) {
                    out.push((column, Constraint::Values(values)));
                }
            }
        }
    }

    /// The key column and its values when `expr` is `KEY = lit`, `KEY IN (lits)` or an OR
    /// of those on one key column. Null values are left out: they never compare equal.
    fn values(&self, expr: &Expr) -> Option<(usize, Vec<ScalarValue>)> {
        match expr {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Eq,
                right,
            }) => {
                let (column, literal) = match (self.key_column(left), self.key_column(right)) {
                    (Some(column), None) => (column, right),
                    (None, Some(column)) => (column, left),
                    _ => return None,
                };
                let value = self.literal(column, literal)?;
                Some((column, vec![value]))
            }
            Expr::InList(in_list) if !in_list.negated => {
                let column = self.key_column(&in_list.expr)?;
                let mut values = Vec::with_capacity(in_list.list.len());
                for item in &in_list.list {
                    if let Expr::Literal(value, _) = item
                        && value.is_null()
                    {
                        continue;
                    }
                    values.push(self.literal(column, item)?);
                }
                Some((column, values))
            }
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Or,
                right,
            }) => {
                let (column, mut values) = self.values(left)?;
                let (other, more) = self.values(right)?;
                if column != other {
                    return None;
                }
                values.extend(more);
                Some((column, values))
            }
            _ => None,
        }
    }

    /// The index of the key column `expr` names.
    fn key_column(&self, expr: &Expr) -> Option<usize> {
        match expr {
            Expr::Column(column) => self
                .fields
                .iter()
                .position(|field| field.name() == &column.name),
            _ => None,
        }
    }

    /// A non-null literal as a value of key column `column`: of the column's type, or of a
    /// type that compares the same way (integers with integers, strings with strings) and
    /// converts exactly.
    fn literal(&self, column: usize, expr: &Expr) -> Option<ScalarValue> {
        let Expr::Literal(value, _) = expr else {
            return None;
        };
        let target = self.fields[column].data_type();
        let source = value.data_type();
        let comparable = source == *target
            || (source.is_integer() && target.is_integer())
            || (is_string(&source) && is_string(target));
        if value.is_null() || !comparable {
            return None;
        }
        let converted = value.cast_to(target).ok()?;
        let round_trip = converted.cast_to(&value.data_type()).ok()?;
        (round_trip == *value && !converted.is_null()).then_some(converted)
    }
}

fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
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

/// Every combination of the key column values (one value per column each), or `None` when
/// there are more than `MAX_LOOKUP_KEYS`.
fn combinations(values: &[Vec<ScalarValue>]) -> Option<Vec<Vec<ScalarValue>>> {
    let count = values
        .iter()
        .try_fold(1usize, |count, column| count.checked_mul(column.len()))?;
    if count > MAX_LOOKUP_KEYS {
        return None;
    }
    let mut keys: Vec<Vec<ScalarValue>> = vec![Vec::with_capacity(values.len())];
    for column in values {
        keys = keys
            .iter()
            .flat_map(|prefix| {
                column.iter().map(move |value| {
                    let mut key = prefix.clone();
                    key.push(value.clone());
                    key
                })
            })
            .collect();
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::Field;
    use datafusion::common::Column;
    use datafusion::logical_expr::lit;

    use super::*;

    fn key(name: &str) -> Expr {
        Expr::Column(Column::new_unqualified(name))
    }

    fn text(value: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(value.into()))
    }

    fn filter(keys: &[(&str, DataType)], ordered: bool) -> KeyFilter {
        let fields: Fields = keys
            .iter()
            .map(|(name, data_type)| Field::new(*name, data_type.clone(), true))
            .collect();
        KeyFilter::new(fields, ordered)
    }

    /// `(key columns, stored keys ordered, filters, expected lookup)`.
    type LookupCase<'a> = (&'a [(&'a str, DataType)], bool, Vec<Expr>, KeyLookup);

    #[test]
    fn key_predicates_become_lookups() {
        let string_key = [("ID", DataType::Utf8)];
        let bigint_key = [("ID", DataType::Int64)];
        let int_key = [("ID", DataType::Int32)];
        let cases: Vec<LookupCase> = vec![
            (
                &string_key,
                true,
                vec![key("ID").eq(lit("b"))],
                KeyLookup::Keys(vec![vec![text("b")]]),
            ),
            (
                &string_key,
                true,
                vec![key("ID").in_list(vec![lit("b"), lit("a")], false)],
                KeyLookup::Keys(vec![vec![text("b")], vec![text("a")]]),
            ),
            (
                &string_key,
                true,
                vec![key("ID").eq(lit("c")).or(lit("a").eq(key("ID")))],
                KeyLookup::Keys(vec![vec![text("c")], vec![text("a")]]),
            ),
            (
                &string_key,
                true,
                vec![key("ID").eq(lit("a")), key("ID").eq(lit("b"))],
                KeyLookup::Keys(vec![]),
            ),
            (
                &string_key,
                true,
                vec![key("ID").in_list(vec![lit(ScalarValue::Utf8(None))], false)],
                KeyLookup::Keys(vec![]),
            ),
            (
                &string_key,
                true,
                vec![key("ID").gt_eq(lit("b")), key("ID").lt(lit("d"))],
                KeyLookup::Range {
                    lower: Bound::Included(text("b")),
                    upper: Bound::Excluded(text("d")),
                },
            ),
            (
                &string_key,
                true,
                vec![lit("b").gt_eq(key("ID"))],
                KeyLookup::Range {
                    lower: Bound::Unbounded,
                    upper: Bound::Included(text("b")),
                },
            ),
            (
                &string_key,
                true,
                vec![key("ID").gt_eq(lit("b")), key("ID").gt(lit("b"))],
                KeyLookup::Range {
                    lower: Bound::Excluded(text("b")),
                    upper: Bound::Unbounded,
                },
            ),
            (
                &bigint_key,
                true,
                vec![key("ID").between(lit(-2i64), lit(3i64))],
                KeyLookup::Range {
                    lower: Bound::Included(ScalarValue::Int64(Some(-2))),
                    upper: Bound::Included(ScalarValue::Int64(Some(3))),
                },
            ),
            (
                &int_key,
                true,
                vec![key("ID").eq(lit(7i64))],
                KeyLookup::Keys(vec![vec![ScalarValue::Int32(Some(7))]]),
            ),
            (
                &int_key,
                true,
                vec![key("ID").eq(lit(1i64 << 40))],
                KeyLookup::Scan,
            ),
            (
                &string_key,
                false,
                vec![key("ID").eq(lit("a"))],
                KeyLookup::Keys(vec![vec![text("a")]]),
            ),
            (
                &string_key,
                false,
                vec![key("ID").gt(lit("a"))],
                KeyLookup::Scan,
            ),
            (
                &string_key,
                true,
                vec![key("COUNT").eq(lit(1i64)), key("ID").gt(lit(1i64))],
                KeyLookup::Scan,
            ),
        ];
        for (keys, ordered, filters, expected) in cases {
            let lookup = filter(keys, ordered).lookup(&filters);
            assert_eq!(lookup, expected, "{keys:?} {filters:?}");
        }
    }

    #[test]
    fn every_key_column_needs_values_for_point_reads() {
        let filter = filter(&[("A", DataType::Int32), ("B", DataType::Utf8)], false);
        let both = vec![
            key("A").eq(lit(1i32)),
            key("B").in_list(vec![lit("x"), lit("y")], false),
        ];
        let one = ScalarValue::Int32(Some(1));
        assert_eq!(
            filter.lookup(&both),
            KeyLookup::Keys(vec![vec![one.clone(), text("x")], vec![one, text("y")]])
        );
        assert_eq!(filter.lookup(&both[..1]), KeyLookup::Scan);
        assert!(filter.narrows(&both[0]));
        assert!(!filter.narrows(&key("A").gt(lit(1i32))));
    }
}
