//! ksqlDB functions of the OTHER category: AS_VALUE.
//!
//! AS_VALUE copies a key column into the value of a table's output; as an expression it is
//! the identity.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::common::Result;

use super::FunctionCategory;
use super::signature::{Overload, ParamType, ReturnType};
use super::udf::{EvalArgs, FunctionDefinition};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    vec![FunctionDefinition::new(
        "AS_VALUE",
        FunctionCategory::Other,
        "Returns its argument, so that a key column is also written to the value",
        vec![Overload::new(vec![ParamType::Any], ReturnType::Arg(0))],
        eval_as_value,
    )]
}

fn eval_as_value(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    Ok(Arc::clone(&args.args[0]))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringArray;

    use super::*;
    use crate::functions::testing::{call, rows};

    #[test]
    fn as_value_is_the_identity() {
        let values: ArrayRef = Arc::new(StringArray::from(vec![Some("k"), None]));
        let result = call("AS_VALUE", vec![values]).expect("as_value");
        assert_eq!(rows(&result), vec!["k", "NULL"]);
    }
}
