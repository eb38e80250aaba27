//! The DataFusion `ScalarUDFImpl` shared by every ksqlDB scalar function.
//!
//! A function is a name, a list of ksqlDB overloads (see `signature`) and one evaluation
//! function over whole Arrow arrays. Argument coercion is done by DataFusion's type coercion
//! through `coerce_types`; evaluation always sees the coerced types.

use std::hash::{Hash, Hasher};

use datafusion::arrow::array::{ArrayRef, new_null_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::FunctionCategory;
use super::signature::{Overload, resolve};

/// The arguments of one evaluation: arrays of `rows` values, already cast to the overload's
/// parameter types.
pub(crate) struct EvalArgs<'a> {
    pub args: &'a [ArrayRef],
    pub return_type: &'a DataType,
    pub rows: usize,
}

/// Evaluates a function over a batch. Bad values give a null for their row, never an error.
pub(crate) type EvalFn = fn(&EvalArgs<'_>) -> Result<ArrayRef>;

/// Everything the registry knows about one ksqlDB scalar function.
pub(crate) struct FunctionDefinition {
    pub name: &'static str,
    pub category: FunctionCategory,
    pub description: &'static str,
    pub overloads: Vec<Overload>,
    pub volatility: Volatility,
    pub eval: EvalFn,
}

impl FunctionDefinition {
    /// An immutable function.
    pub(crate) fn new(
        name: &'static str,
        category: FunctionCategory,
        description: &'static str,
        overloads: Vec<Overload>,
        eval: EvalFn,
    ) -> Self {
        Self {
            name,
            category,
            description,
            overloads,
            volatility: Volatility::Immutable,
            eval,
        }
    }

    /// Marks the function as giving a new value on every call (random, wall clock).
    pub(crate) fn volatile(mut self) -> Self {
        self.volatility = Volatility::Volatile;
        self
    }
}

/// A ksqlDB scalar function as a DataFusion UDF.
#[derive(Debug)]
pub(crate) struct KsqlScalarFunction {
    name: &'static str,
    signature: Signature,
    overloads: Vec<Overload>,
    eval: EvalFn,
}

impl KsqlScalarFunction {
    pub(crate) fn new(definition: &FunctionDefinition) -> Self {
        Self {
            name: definition.name,
            signature: Signature::user_defined(definition.volatility),
            overloads: definition.overloads.clone(),
            eval: definition.eval,
        }
    }
}

impl PartialEq for KsqlScalarFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for KsqlScalarFunction {}

impl Hash for KsqlScalarFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for KsqlScalarFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(resolve(self.name, &self.overloads, arg_types)?.arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        resolve(self.name, &self.overloads, arg_types)?.return_type()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|arg| arg.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let return_type = args.return_field.data_type();
        let result = (self.eval)(&EvalArgs {
            args: &arrays,
            return_type,
            rows,
        })?;
        Ok(ColumnarValue::Array(result))
    }
}

/// A column of nulls of the return type, for calls whose arguments are all untyped nulls.
pub(crate) fn null_result(args: &EvalArgs<'_>) -> ArrayRef {
    new_null_array(args.return_type, args.rows)
}
