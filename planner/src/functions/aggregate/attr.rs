//! `ATTR(col)`: the column's single distinct value, or null when the group holds more than
//! one (nulls count as a value). A ksqlDB `TableUdaf` built on the user-function API: its
//! aggregate is an `ARRAY<STRUCT<VALUE T, COUNT INT>>` of the values seen and how often
//! (a list, not a map, so that null is a value), as ksqlDB stores it.

use std::sync::Arc;

use arrow::array::Array;
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use datafusion::common::scalar::ScalarStructBuilder;

use crate::functions::user::{AggregateUdf, Udaf, UdafOverload, UdfResult};

/// The ATTR function, ready to resolve.
pub(crate) fn attr() -> AggregateUdf {
    AggregateUdf::new(
        "ATTR",
        "The ATTR() aggregation indicates there are multiple values, but only one was expected. If the aggregation encounters more than a single value for the expected singular column, the entire aggregation will return null.",
    )
    .typed_table_overload(
        UdafOverload {
            params: &["T"],
            init_params: &[],
            aggregate_type: "ARRAY<STRUCT<VALUE T, COUNT INT>>",
            returns: "T",
            description: "Collect as a singleton",
        },
        Arc::new(|arg_types: &[DataType]| {
            let value = arg_types.first().cloned().unwrap_or(DataType::Null);
            Ok(DataType::List(Arc::new(Field::new(
                "item",
                entry_type(value),
                true,
            ))))
        }),
        Arc::new(|call| {
            Box::new(Attr {
                value_type: call.arg_types.first().cloned().unwrap_or(DataType::Null),
            })
        }),
    )
}

fn entry_fields(value: DataType) -> Fields {
    Fields::from(vec![
        Field::new("VALUE", value, true),
        Field::new("COUNT", DataType::Int32, true),
    ])
}

fn entry_type(value: DataType) -> DataType {
    DataType::Struct(entry_fields(value))
}

struct Attr {
    value_type: DataType,
}

impl Attr {
    /// The (value, count) entries of an aggregate.
    fn entries(aggregate: &ScalarValue) -> Vec<(ScalarValue, i32)> {
        let ScalarValue::List(list) = aggregate else {
            return Vec::new();
        };
        if list.is_null(0) {
            return Vec::new();
        }
        let values = list.value(0);
        let Some(structs) = values.as_any().downcast_ref::<arrow::array::StructArray>() else {
            return Vec::new();
        };
        (0..structs.len())
            .filter_map(|row| {
                let value = ScalarValue::try_from_array(structs.column(0), row).ok()?;
                let count = match ScalarValue::try_from_array(structs.column(1), row).ok()? {
                    ScalarValue::Int32(Some(count)) => count,
                    _ => 0,
                };
                Some((value, count))
            })
            .collect()
    }

    fn build(&self, entries: &[(ScalarValue, i32)]) -> UdfResult<ScalarValue> {
        let fields = entry_fields(self.value_type.clone());
        let structs = entries
            .iter()
            .map(|(value, count)| {
                ScalarStructBuilder::new()
                    .with_scalar(Arc::clone(&fields[0]), value.clone())
                    .with_scalar(Arc::clone(&fields[1]), ScalarValue::Int32(Some(*count)))
                    .build()
            })
            .collect::<datafusion::common::Result<Vec<_>>>()
            .map_err(|error| error.to_string())?;
        Ok(ScalarValue::List(ScalarValue::new_list_nullable(
            &structs,
            &DataType::Struct(fields),
        )))
    }

    /// Adds `count` (negative: undo) to the entry of `value`; never below zero.
    fn update(
        &self,
        aggregate: &ScalarValue,
        value: &ScalarValue,
        count: i32,
    ) -> UdfResult<ScalarValue> {
        let mut entries = Self::entries(aggregate);
        let value = if value.is_null() {
            ScalarValue::try_from(&self.value_type).unwrap_or(ScalarValue::Null)
        } else {
            value.clone()
        };
        match entries.iter_mut().find(|(existing, _)| *existing == value) {
            Some((_, existing)) => *existing = (*existing + count).max(0),
            None if count > 0 => entries.push((value, count)),
            None => {}
        }
        self.build(&entries)
    }
}

impl Udaf for Attr {
    fn initialize(&self) -> ScalarValue {
        self.build(&[]).unwrap_or(ScalarValue::Null)
    }

    fn aggregate(&self, args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
        self.update(&aggregate, &args[0], 1)
    }

    fn merge(&self, left: ScalarValue, right: ScalarValue) -> UdfResult<ScalarValue> {
        Self::entries(&right)
            .into_iter()
            .try_fold(left, |merged, (value, count)| {
                self.update(&merged, &value, count)
            })
    }

    fn map(&self, aggregate: &ScalarValue) -> UdfResult<ScalarValue> {
        let present: Vec<(ScalarValue, i32)> = Self::entries(aggregate)
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .collect();
        match present.as_slice() {
            [(value, _)] => Ok(value.clone()),
            _ => ScalarValue::try_from(&self.value_type).map_err(|error| error.to_string()),
        }
    }

    fn undo(&self, args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
        self.update(&aggregate, &args[0], -1)
    }
}
