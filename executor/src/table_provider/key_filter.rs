//! Key predicates of a SQL pull query turned into state lookups.
//!
//! `KEY = lit`, `KEY IN (..)` and ORs of them on every key column become point reads of the
//! encoded keys (prefix ranges for windowed keys, which carry their window after the key).
//! Ranges (`<`, `<=`, `>`, `>=`, BETWEEN) become key ranges when the key bytes sort like the
//! values: a single KAFKA-format STRING, INT or BIGINT key (integers as two ranges, negative
//! and non-negative, since two's complement bytes sort negatives last). A lookup may read more
//! than the predicate selects: DataFusion applies the filters again (`Inexact`).

use arrow::datatypes::{DataType, Fields};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};
use planner::SourceDefinition;

use super::reader::KeyLookup;
use crate::format::Encoder;
use crate::operator::source::key_format_of;
use crate::{ExecError, Result};

/// At most this many keys are looked up one by one; more make a full scan.
const MAX_LOOKUP_KEYS: usize = 10_000;
/// Appended to a key to bound every stored key that starts with it: a window is at most 16
/// bytes (session windows: end and start), and `[0xff; 17]` sorts after any of them.
const WINDOW_BOUND: [u8; 17] = [0xff; 17];
/// Sorts after every key of an ordered layout: UTF-8 never holds a 0xff byte, and integer
/// keys (with their window) are at most 24 bytes long.
const END_BOUND: [u8; 32] = [0xff; 32];

/// A single key column whose serialized bytes sort like its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderedKey {
    Utf8,
    Int32,
    Int64,
}

/// A constraint one filter puts on one key column, with values of the column's type.
#[derive(Debug, Clone, PartialEq)]
enum Constraint {
    /// The column equals one of these (non-null) values.
    Values(Vec<ScalarValue>),
    /// The column is within these bounds; the upper bound says whether it is inclusive.
    Range {
        lower: Option<ScalarValue>,
        upper: Option<(ScalarValue, bool)>,
    },
}

/// How the keys of one materialized table are stored.
#[derive(Debug)]
pub(crate) struct KeyLayout {
    fields: Fields,
    encoder: Encoder,
    windowed: bool,
    ordered: Option<OrderedKey>,
}

impl KeyLayout {
    pub(crate) fn new(source: &SourceDefinition) -> Result<Self> {
        let fields = source
            .key_fields()
            .map_err(|error| ExecError::User(error.to_string()))?;
        let (kind, options) = key_format_of(&source.key_format, fields.len())?;
        let ordered = match (source.key_format.name.as_str(), fields.len()) {
            ("KAFKA", 1) => match fields[0].data_type() {
                DataType::Utf8 => Some(OrderedKey::Utf8),
                DataType::Int32 => Some(OrderedKey::Int32),
                DataType::Int64 => Some(OrderedKey::Int64),
                _ => None,
            },
            _ => None,
        };
        Ok(KeyLayout {
            encoder: Encoder::new(kind, &options, fields.clone())?,
            fields,
            windowed: source.window.is_some(),
            ordered,
        })
    }

    /// Whether `filter` constrains the keys enough to narrow a scan.
    pub(crate) fn narrows(&self, filter: &Expr) -> bool {
        let mut constraints = Vec::new();
        self.constraints(filter, &mut constraints);
        !constraints.is_empty()
    }

    /// What to read for rows that may satisfy all of `filters`.
    pub(crate) fn lookup(&self, filters: &[Expr]) -> KeyLookup {
        let mut constraints = Vec::new();
        for filter in filters {
            self.constraints(filter, &mut constraints);
        }
        let mut values: Vec<Option<Vec<ScalarValue>>> = vec![None; self.fields.len()];
        let mut lower: Option<ScalarValue> = None;
        let mut upper: Option<(ScalarValue, bool)> = None;
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
                    if let Some(new) = new_lower {
                        lower = Some(match lower.take() {
                            Some(old) if old >= new => old,
                            _ => new,
                        });
                    }
                    if let Some((new, inclusive)) = new_upper {
                        upper = Some(match upper.take() {
                            Some((old, old_inclusive)) if old < new => (old, old_inclusive),
                            Some((old, old_inclusive)) if old == new => {
                                (old, old_inclusive && inclusive)
                            }
                            _ => (new, inclusive),
                        });
                    }
                }
            }
        }
        if let Some(values) = values.into_iter().collect::<Option<Vec<_>>>()
            && let Some(lookup) = self.point_lookup(&values)
        {
            return lookup;
        }
        match self.ordered {
            Some(ordered) if lower.is_some() || upper.is_some() => self
                .range_lookup(ordered, lower, upper)
                .unwrap_or(KeyLookup::Scan),
            _ => KeyLookup::Scan,
        }
    }

    /// Reads of every combination of the key column values, or `None` when there are too
    /// many or they do not encode.
    fn point_lookup(&self, values: &[Vec<ScalarValue>]) -> Option<KeyLookup> {
        let combinations = values
            .iter()
            .try_fold(1usize, |count, column| count.checked_mul(column.len()))?;
        if combinations > MAX_LOOKUP_KEYS {
            return None;
        }
        let mut columns = Vec::with_capacity(values.len());
        for (index, column) in values.iter().enumerate() {
            // Column `index` repeats each value `inner` times, the whole cycle `outer` times.
            let inner: usize = values[index + 1..].iter().map(Vec::len).product();
            let outer = combinations / (column.len() * inner).max(1);
            let cells = (0..outer).flat_map(|_| {
                column
                    .iter()
                    .flat_map(move |value| std::iter::repeat_n(value.clone(), inner))
            });
            columns.push(if combinations == 0 {
                arrow::array::new_empty_array(self.fields[index].data_type())
            } else {
                ScalarValue::iter_to_array(cells).ok()?
            });
        }
        let mut keys: Vec<Vec<u8>> = self
            .encoder
            .encode(&columns, combinations)
            .ok()?
            .into_iter()
            .flatten()
            .collect();
        keys.sort();
        keys.dedup();
        Some(if self.windowed {
            KeyLookup::Ranges(merge_ranges(
                keys.into_iter()
                    .map(|key| {
                        let to = [key.as_slice(), &WINDOW_BOUND].concat();
                        (key, to)
                    })
                    .collect(),
            ))
        } else {
            KeyLookup::Keys(keys)
        })
    }

    /// The key ranges of `[lower, upper]` of an ordered key.
    fn range_lookup(
        &self,
        ordered: OrderedKey,
        lower: Option<ScalarValue>,
        upper: Option<(ScalarValue, bool)>,
    ) -> Option<KeyLookup> {
        // Bytes of an inclusive upper bound: just past the key (and past its windows).
        let past = |key: &[u8]| -> Vec<u8> {
            if self.windowed {
                [key, &WINDOW_BOUND].concat()
            } else {
                [key, &[0]].concat()
            }
        };
        let ranges = match ordered {
            OrderedKey::Utf8 => {
                let text = |value: &ScalarValue| match value {
                    ScalarValue::Utf8(Some(text)) => Some(text.as_bytes().to_vec()),
                    _ => None,
                };
                let from = match &lower {
                    Some(value) => text(value)?,
                    None => Vec::new(),
                };
                let to = match &upper {
                    Some((value, true)) => past(&text(value)?),
                    Some((value, false)) => text(value)?,
                    None => END_BOUND.to_vec(),
                };
                vec![(from, to)]
            }
            OrderedKey::Int32 | OrderedKey::Int64 => {
                let (min, max, width) = match ordered {
                    OrderedKey::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX), 4),
                    _ => (i64::MIN, i64::MAX, 8),
                };
                let integer = |value: &ScalarValue| match value {
                    ScalarValue::Int32(Some(number)) => Some(i64::from(*number)),
                    ScalarValue::Int64(Some(number)) => Some(*number),
                    _ => None,
                };
                let low = match &lower {
                    Some(value) => integer(value)?,
                    None => min,
                };
                let high = match &upper {
                    Some((value, true)) => integer(value)?,
                    Some((value, false)) => match integer(value)?.checked_sub(1) {
                        Some(high) => high,
                        None => return Some(KeyLookup::Ranges(Vec::new())),
                    },
                    None => max,
                };
                let bytes = |number: i64| -> Vec<u8> { number.to_be_bytes()[8 - width..].to_vec() };
                let mut ranges = Vec::new();
                // Two's complement: non-negative keys sort first, then the negative ones.
                if high >= 0 && low <= high {
                    ranges.push((bytes(low.max(0)), past(&bytes(high))));
                }
                if low < 0 && low <= high {
                    ranges.push((bytes(low), past(&bytes(high.min(-1)))));
                }
                ranges
            }
        };
        Some(KeyLookup::Ranges(merge_ranges(ranges)))
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
                ) && self.ordered.is_some() =>
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
                let constraint = match op {
                    Operator::Gt | Operator::GtEq => Constraint::Range {
                        lower: Some(value),
                        upper: None,
                    },
                    _ => Constraint::Range {
                        lower: None,
                        upper: Some((value, op == Operator::LtEq)),
                    },
                };
                out.push((column, constraint));
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) if self.ordered.is_some() => {
                let Some(column) = self.key_column(expr) else {
                    return;
                };
                if let (Some(low), Some(high)) =
                    (self.literal(column, low), self.literal(column, high))
                {
                    let range = Constraint::Range {
                        lower: Some(low),
                        upper: Some((high, true)),
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

/// Sorted, disjoint ranges covering the same keys as `ranges`.
fn merge_ranges(mut ranges: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
    ranges.retain(|(from, to)| from < to);
    ranges.sort();
    let mut merged: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(ranges.len());
    for (from, to) in ranges {
        match merged.last_mut() {
            Some((_, last_to)) if from <= *last_to => {
                if to > *last_to {
                    *last_to = to;
                }
            }
            _ => merged.push((from, to)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use datafusion::common::Column;
    use datafusion::logical_expr::lit;
    use parser::ast::DataType as SqlType;
    use planner::catalog::{WindowInfo, WindowKind};

    use super::*;
    use crate::table_provider::testing::table_definition;

    /// `(key format, key columns, window, filters, expected lookup)`.
    type LookupCase<'a> = (
        &'a str,
        &'a [(&'a str, SqlType)],
        Option<WindowInfo>,
        Vec<Expr>,
        KeyLookup,
    );

    fn key(name: &str) -> Expr {
        Expr::Column(Column::new_unqualified(name))
    }

    fn bytes(text: &str) -> Vec<u8> {
        text.as_bytes().to_vec()
    }

    fn past(key: &[u8]) -> Vec<u8> {
        [key, &[0]].concat()
    }

    #[test]
    fn key_predicates_become_lookups() {
        let string_key = [("ID", SqlType::String)];
        let bigint_key = [("ID", SqlType::Bigint)];
        let int_key = [("ID", SqlType::Int)];
        let tumbling = Some(WindowInfo {
            kind: WindowKind::Tumbling,
            size_ms: Some(1000),
        });
        let cases: Vec<LookupCase> = vec![
            (
                "KAFKA",
                &string_key,
                None,
                vec![key("ID").eq(lit("b"))],
                KeyLookup::Keys(vec![bytes("b")]),
            ),
            (
                "KAFKA",
                &string_key,
                None,
                vec![key("ID").in_list(vec![lit("b"), lit("a"), lit("b")], false)],
                KeyLookup::Keys(vec![bytes("a"), bytes("b")]),
            ),
            (
                "KAFKA",
                &string_key,
                None,
                vec![key("ID").eq(lit("c")).or(lit("a").eq(key("ID")))],
                KeyLookup::Keys(vec![bytes("a"), bytes("c")]),
            ),
            (
                "KAFKA",
                &string_key,
                None,
                vec![key("ID").eq(lit("a")), key("ID").eq(lit("b"))],
                KeyLookup::Keys(vec![]),
            ),
            (
                "KAFKA",
                &string_key,
                None,
                vec![key("ID").in_list(vec![lit(ScalarValue::Utf8(None))], false)],
                KeyLookup::Keys(vec![]),
            ),
            (
                "KAFKA",
                &string_key,
                None,
                vec![key("ID").gt_eq(lit("b")), key("ID").lt(lit("d"))],
                KeyLookup::Ranges(vec![(bytes("b"), bytes("d"))]),
            ),
            (
                "KAFKA",
                &string_key,
                None,
                vec![lit("b").gt_eq(key("ID"))],
                KeyLookup::Ranges(vec![(Vec::new(), past(b"b"))]),
            ),
            (
                "KAFKA",
                &bigint_key,
                None,
                vec![key("ID").between(lit(-2i64), lit(3i64))],
                KeyLookup::Ranges(vec![
                    (0i64.to_be_bytes().to_vec(), past(&3i64.to_be_bytes())),
                    ((-2i64).to_be_bytes().to_vec(), past(&(-1i64).to_be_bytes())),
                ]),
            ),
            (
                "KAFKA",
                &bigint_key,
                None,
                vec![key("ID").gt(lit(5i64))],
                KeyLookup::Ranges(vec![(
                    5i64.to_be_bytes().to_vec(),
                    past(&i64::MAX.to_be_bytes()),
                )]),
            ),
            (
                "KAFKA",
                &bigint_key,
                None,
                vec![key("ID").lt(lit(i64::MIN))],
                KeyLookup::Ranges(vec![]),
            ),
            (
                "KAFKA",
                &int_key,
                None,
                vec![key("ID").eq(lit(7i64))],
                KeyLookup::Keys(vec![7i32.to_be_bytes().to_vec()]),
            ),
            (
                "KAFKA",
                &int_key,
                None,
                vec![key("ID").eq(lit(1i64 << 40))],
                KeyLookup::Scan,
            ),
            (
                "JSON",
                &string_key,
                None,
                vec![key("ID").eq(lit("a"))],
                KeyLookup::Keys(vec![bytes("\"a\"")]),
            ),
            (
                "JSON",
                &string_key,
                None,
                vec![key("ID").gt(lit("a"))],
                KeyLookup::Scan,
            ),
            (
                "KAFKA",
                &string_key,
                tumbling,
                vec![key("ID").eq(lit("a"))],
                KeyLookup::Ranges(vec![(
                    bytes("a"),
                    [b"a".as_slice(), &WINDOW_BOUND].concat(),
                )]),
            ),
            (
                "KAFKA",
                &string_key,
                None,
                vec![key("COUNT").eq(lit(1i64)), key("ID").gt(lit(1i64))],
                KeyLookup::Scan,
            ),
        ];
        for (format, keys, window, filters, expected) in cases {
            let layout =
                KeyLayout::new(&table_definition("T", format, keys, window)).expect("layout");
            assert_eq!(layout.lookup(&filters), expected, "{format} {filters:?}");
        }
    }

    #[test]
    fn every_key_column_needs_values_for_point_reads() {
        let keys = [("A", SqlType::Int), ("B", SqlType::String)];
        let layout = KeyLayout::new(&table_definition("T", "JSON", &keys, None)).expect("layout");
        let both = vec![
            key("A").eq(lit(1i32)),
            key("B").in_list(vec![lit("x"), lit("y")], false),
        ];
        assert_eq!(
            layout.lookup(&both),
            KeyLookup::Keys(vec![
                bytes(r#"{"A":1,"B":"x"}"#),
                bytes(r#"{"A":1,"B":"y"}"#),
            ])
        );
        assert_eq!(layout.lookup(&both[..1]), KeyLookup::Scan);
        assert!(layout.narrows(&both[0]));
        assert!(!layout.narrows(&key("A").gt(lit(1i32))));
    }

    #[test]
    fn overlapping_ranges_merge() {
        let ranges = vec![
            (bytes("c"), bytes("e")),
            (bytes("a"), bytes("b")),
            (bytes("d"), bytes("f")),
            (bytes("x"), bytes("x")),
        ];
        assert_eq!(
            merge_ranges(ranges),
            vec![(bytes("a"), bytes("b")), (bytes("c"), bytes("f"))]
        );
    }
}
