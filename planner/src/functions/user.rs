//! User-defined functions: scalar functions (UDFs), aggregate functions (UDAFs) and table
//! functions (UDTFs) registered from Rust, the way ksqlDB loads annotated Java classes from
//! its extension directory.
//!
//! A function is a name, a description and one or more overloads (ksqlDB's `@Udf`,
//! `@UdafFactory`, `@Udtf` methods). Each overload declares its parameter types in ksqlDB's
//! spelling: `BIGINT`, `DECIMAL` (any precision), `ARRAY<T>` with generic type parameters
//! (single letters), `ANY`, `STRUCT<A VARCHAR>`, and one variadic parameter `T...` (last,
//! or for aggregates before the initial arguments). Calls are resolved as for built-ins:
//! exact types first, then the fewest implicit widenings, overloads without variadic
//! parameters before those with; ksqlDB's "does not accept parameters" error otherwise.
//!
//! Register functions before the engine plans any statement (typically first thing in
//! `main`); they are then visible to every session, persistent, push and pull queries,
//! `SHOW FUNCTIONS` and `DESCRIBE FUNCTION`. Scalar functions run as DataFusion
//! `ScalarUDF`s. Values cross the API as DataFusion `ScalarValue`s of the resolved types; a
//! function that fails for a row (returns `Err`) gives null for that row (scalar), leaves the
//! aggregate unchanged (aggregate) or gives no rows for it (table), as ksqlDB does when a
//! function throws.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::signature::{
    Overload, ParamType, ReturnType, instantiate_type, ksql_type_name, match_overload,
    param_type_name, params_for, rank,
};

/// What a user function gives back: a value, or a message when it fails for this input.
pub type UdfResult<T> = std::result::Result<T, String>;

/// The body of a scalar overload: one row's argument values (variadic ones flattened) to the
/// result.
pub type ScalarBody = Arc<dyn Fn(&[ScalarValue]) -> UdfResult<ScalarValue> + Send + Sync>;

/// The body of a stateful scalar overload: one instance per call in a query, as ksqlDB makes
/// one instance of a UDF class per call (its fields are the instance's state).
pub type ScalarInstance = Box<dyn FnMut(&[ScalarValue]) -> UdfResult<ScalarValue> + Send>;

/// How an overload's body is made.
enum Body {
    Shared(ScalarBody),
    PerCall(Arc<dyn Fn() -> ScalarInstance + Send + Sync>),
}

/// The body of a table-function overload: one row's argument values to its rows.
pub type TableBody = Arc<dyn Fn(&[ScalarValue]) -> UdfResult<Vec<ScalarValue>> + Send + Sync>;

/// Computes a result type from the (coerced) argument types, for results a type text cannot
/// express (ksqlDB's `@UdfSchemaProvider`).
pub type TypeProvider = Arc<dyn Fn(&[DataType]) -> UdfResult<DataType> + Send + Sync>;

/// Creates one aggregation from the resolved call: the types of the per-row arguments and
/// the values of the initial (literal) arguments.
pub type UdafFactory = Arc<dyn Fn(&UdafCall<'_>) -> Box<dyn Udaf> + Send + Sync>;

/// A resolved aggregate call, given to an aggregate's factory.
#[derive(Debug)]
pub struct UdafCall<'a> {
    /// The types of the per-row arguments (after implicit widening).
    pub arg_types: &'a [DataType],
    /// The values of the initial arguments (literals), cast to their parameter types.
    pub init_args: &'a [ScalarValue],
    /// The aggregate's result type.
    pub return_type: &'a DataType,
}

/// One running aggregation (ksqlDB's `Udaf`/`TableUdaf`). The aggregate value is a
/// `ScalarValue` of the overload's aggregate type; it is stored between batches, so it must
/// hold everything the aggregation needs.
pub trait Udaf: Send + Sync {
    /// The aggregate of no rows.
    fn initialize(&self) -> ScalarValue;
    /// Adds a row (`args`: its per-row argument values) to `aggregate`.
    fn aggregate(&self, args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue>;
    /// Combines two aggregates (session windows that merge).
    fn merge(&self, left: ScalarValue, right: ScalarValue) -> UdfResult<ScalarValue>;
    /// The result of `aggregate`.
    fn map(&self, aggregate: &ScalarValue) -> UdfResult<ScalarValue>;
    /// Takes a row back out (aggregating a table; only called when the overload was declared
    /// with `AggregateUdf::table_overload`).
    fn undo(&self, args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
        let _ = args;
        Ok(aggregate)
    }
}

/// How a result type is given.
#[derive(Clone)]
enum TypeSpec {
    /// A type text, its generics bound by the arguments.
    Param(ParamType),
    Provider(TypeProvider, String),
}

impl TypeSpec {
    fn parse(text: &str) -> Self {
        TypeSpec::Param(parse_type(text).unwrap_or_else(|error| panic!("{error}")))
    }

    fn describe(&self) -> String {
        match self {
            TypeSpec::Param(param) => param_type_name(param),
            TypeSpec::Provider(_, name) => name.clone(),
        }
    }

    fn resolve(&self, overload: &Overload, arg_types: &[DataType]) -> UdfResult<DataType> {
        match self {
            TypeSpec::Param(param) => {
                instantiate_type(param, overload, arg_types).ok_or_else(|| {
                    format!(
                        "cannot work out the type {} from the arguments",
                        param_type_name(param)
                    )
                })
            }
            TypeSpec::Provider(provider, _) => provider(arg_types),
        }
    }
}

/// Parses a parameter list: `["BIGINT", "STRING..."]`. Panics on a type it cannot read (a
/// programming error in the function's declaration).
fn parse_params(params: &[&str]) -> (Vec<ParamType>, Option<usize>) {
    let mut variadic = None;
    let parsed = params
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let text = text.trim();
            let text = match text.strip_suffix("...") {
                Some(rest) => {
                    assert!(
                        variadic.is_none(),
                        "only one variadic parameter: {params:?}"
                    );
                    variadic = Some(index);
                    rest
                }
                None => text,
            };
            parse_type(text).unwrap_or_else(|error| panic!("{error}"))
        })
        .collect();
    (parsed, variadic)
}

/// Reads one type in ksqlDB's spelling.
fn parse_type(text: &str) -> UdfResult<ParamType> {
    let text = text.trim();
    let upper = text.to_uppercase();
    let inner = |prefix: &str| {
        upper
            .strip_prefix(prefix)
            .and_then(|rest| rest.trim_start().strip_prefix('<'))
            .and_then(|rest| rest.strip_suffix('>'))
            .map(|_| {
                let start = text.find('<').expect("has <") + 1;
                &text[start..text.len() - 1]
            })
    };
    Ok(match upper.as_str() {
        "BOOLEAN" => ParamType::Boolean,
        "INT" | "INTEGER" => ParamType::Int,
        "BIGINT" => ParamType::Bigint,
        "DOUBLE" => ParamType::Double,
        "DECIMAL" => ParamType::Decimal,
        "STRING" | "VARCHAR" => ParamType::String,
        "BYTES" => ParamType::Bytes,
        "DATE" => ParamType::Date,
        "TIME" => ParamType::Time,
        "TIMESTAMP" => ParamType::Timestamp,
        "ANY" | "OBJECT" => ParamType::Any,
        name if name.len() == 1 && name.chars().all(|c| c.is_ascii_uppercase()) => {
            ParamType::Generic(name.chars().next().expect("one letter"))
        }
        _ => {
            if let Some(element) = inner("ARRAY") {
                ParamType::Array(Box::new(parse_type(element)?))
            } else if let Some(entries) = inner("MAP") {
                let mut depth = 0i32;
                let split = entries.char_indices().find(|(_, c)| {
                    match c {
                        '<' => depth += 1,
                        '>' => depth -= 1,
                        _ => {}
                    }
                    *c == ',' && depth == 0
                });
                let Some((comma, _)) = split else {
                    return Err(format!("not a map type: {text}"));
                };
                ParamType::Map(
                    Box::new(parse_type(&entries[..comma])?),
                    Box::new(parse_type(&entries[comma + 1..])?),
                )
            } else {
                let sql = parser::parse_data_type(text)
                    .map_err(|error| format!("not a type: {text}: {error}"))?;
                let arrow = crate::types::to_arrow(&sql)
                    .map_err(|error| format!("not a type: {text}: {error}"))?;
                ParamType::Exact(arrow)
            }
        }
    })
}

/// Which kind of function a name is, as SHOW FUNCTIONS lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserFunctionKind {
    Scalar,
    Aggregate,
    Table,
}

impl UserFunctionKind {
    /// `SCALAR`, `AGGREGATE` or `TABLE`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserFunctionKind::Scalar => "SCALAR",
            UserFunctionKind::Aggregate => "AGGREGATE",
            UserFunctionKind::Table => "TABLE",
        }
    }
}

/// One parameter, for DESCRIBE FUNCTION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserParameter {
    pub name: String,
    pub type_name: String,
    pub variadic: bool,
}

/// One overload, for DESCRIBE FUNCTION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserVariation {
    pub parameters: Vec<UserParameter>,
    pub return_type: String,
    pub description: String,
}

/// What DESCRIBE FUNCTION and SHOW FUNCTIONS say about a user function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFunctionDescription {
    /// Upper-case name.
    pub name: String,
    pub kind: UserFunctionKind,
    /// SHOW FUNCTIONS' category (`OTHER` unless given; `AGGREGATE`, `TABLE`).
    pub category: String,
    pub description: String,
    pub author: String,
    pub version: String,
    pub variations: Vec<UserVariation>,
}

/// The common part of every kind of function: name, texts and overload declarations.
#[derive(Clone)]
struct Header {
    /// As declared (ksqlDB names functions in messages the way they were declared).
    declared: String,
    description: String,
    author: String,
    version: String,
    category: Option<String>,
}

impl Header {
    fn new(name: &str, description: &str) -> Self {
        Header {
            declared: name.to_string(),
            description: description.to_string(),
            author: String::new(),
            version: String::new(),
            category: None,
        }
    }

    fn upper(&self) -> String {
        self.declared.to_uppercase()
    }
}

fn variation(
    overload: &Overload,
    names: &[String],
    return_type: String,
    description: &str,
) -> UserVariation {
    UserVariation {
        parameters: overload
            .params
            .iter()
            .enumerate()
            .map(|(index, param)| UserParameter {
                name: names.get(index).cloned().unwrap_or_default(),
                type_name: param_type_name(param),
                variadic: overload.variadic == Some(index),
            })
            .collect(),
        return_type,
        description: description.to_string(),
    }
}

/// Parameter names `name[:type]`: splits "name TYPE" declarations.
fn split_declarations(params: &[&str]) -> (Vec<String>, Vec<String>) {
    params
        .iter()
        .map(|declaration| {
            let declaration = declaration.trim();
            // `name TYPE` names the parameter; a bare type leaves it unnamed.
            match declaration.split_once(' ') {
                Some((name, rest))
                    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && parse_type(rest.trim().trim_end_matches("...")).is_ok() =>
                {
                    (name.to_string(), rest.trim().to_string())
                }
                _ => (String::new(), declaration.to_string()),
            }
        })
        .unzip()
}

fn overload_params(params: &[&str]) -> (Vec<String>, Overload) {
    let (names, types) = split_declarations(params);
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    let (params, variadic) = parse_params(&types);
    let mut overload = Overload::new(params, ReturnType::Fixed(DataType::Null));
    overload.variadic = variadic;
    (names, overload)
}

/// Picks the overload of `name` a call over `args` takes, as ksqlDB's `UdfIndex` does: the
/// overloads that take the arguments as they are, else those that take them with implicit
/// casts (INT -> BIGINT -> DECIMAL -> DOUBLE); among several, one without a variadic
/// parameter beats one with, then more parameters beat fewer, then fewer generic ones beat
/// more; a tie is ambiguous. Returns the index and the types the arguments are cast to.
fn choose_overload(
    name: &str,
    overloads: &[(&Overload, &[String])],
    args: &[DataType],
) -> UdfResult<(usize, Vec<DataType>)> {
    for allow_casts in [false, true] {
        let mut candidates: Vec<(usize, Vec<DataType>)> = overloads
            .iter()
            .enumerate()
            .filter_map(|(index, (overload, _))| {
                let (cost, coerced) = match_overload(overload, args)?;
                (allow_casts || cost == 0).then_some((index, coerced))
            })
            .collect();
        candidates.sort_by_key(|(index, _)| rank(overloads[*index].0));
        match candidates.as_slice() {
            [] => continue,
            [.., second, best] if rank(overloads[second.0].0) == rank(overloads[best.0].0) => {
                return Err(format!(
                    "Function '{name}' cannot be resolved due to ambiguous method parameters ({}).\nUse CAST() to explicitly cast your parameters to one of the supported function calls.\nValid function calls are:\n{}\nFor detailed information on a function run: DESCRIBE FUNCTION <Function-Name>;",
                    type_list(args),
                    alternatives(name, overloads)
                ));
            }
            _ => return Ok(candidates.pop().expect("one candidate at least")),
        }
    }
    Err(format!(
        "Function '{name}' does not accept parameters ({}).\nValid alternatives are:\n{}\nFor detailed information on a function run: DESCRIBE FUNCTION <Function-Name>;",
        type_list(args),
        alternatives(name, overloads)
    ))
}

fn type_list(args: &[DataType]) -> String {
    args.iter()
        .map(ksql_type_name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// ksqlDB's spelling of a parameter type in messages (`INTEGER`, `ARRAY<T>`).
fn message_type_name(param: &ParamType) -> String {
    match param {
        ParamType::Int => "INTEGER".into(),
        ParamType::Array(element) => format!("ARRAY<{}>", message_type_name(element)),
        ParamType::Map(key, value) => format!(
            "MAP<{}, {}>",
            message_type_name(key),
            message_type_name(value)
        ),
        other => param_type_name(other),
    }
}

/// One line per overload: `name(TYPE param, TYPE... rest)`.
fn alternatives(name: &str, overloads: &[(&Overload, &[String])]) -> String {
    overloads
        .iter()
        .map(|(overload, names)| {
            let params: Vec<String> = overload
                .params
                .iter()
                .enumerate()
                .map(|(index, param)| {
                    let mut text = message_type_name(param);
                    if overload.variadic == Some(index) {
                        text.push_str("...");
                    }
                    match names.get(index) {
                        Some(param_name) if !param_name.is_empty() => {
                            format!("{text} {param_name}")
                        }
                        _ => text,
                    }
                })
                .collect();
            format!("{name}({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------- scalar functions

struct ScalarOverload {
    overload: Overload,
    names: Vec<String>,
    returns: TypeSpec,
    description: String,
    body: Body,
}

/// A user scalar function (ksqlDB's `@UdfDescription` class with its `@Udf` methods).
///
/// ```
/// use datafusion::common::ScalarValue;
/// use planner::functions::user::ScalarUdf;
///
/// let multiply = ScalarUdf::new("multiply", "Multiplies two numbers.")
///     .overload(&["a BIGINT", "b BIGINT"], "BIGINT", |args| match args {
///         [ScalarValue::Int64(Some(a)), ScalarValue::Int64(Some(b))] => {
///             Ok(ScalarValue::Int64(Some(a.wrapping_mul(*b))))
///         }
///         _ => Ok(ScalarValue::Int64(None)),
///     });
/// # let _ = multiply;
/// ```
#[derive(Clone)]
pub struct ScalarUdf {
    header: Header,
    overloads: Vec<Arc<ScalarOverload>>,
    volatile: bool,
}

impl ScalarUdf {
    /// A function with no overloads yet.
    pub fn new(name: &str, description: &str) -> Self {
        ScalarUdf {
            header: Header::new(name, description),
            overloads: Vec::new(),
            volatile: false,
        }
    }

    /// Sets the author and version DESCRIBE FUNCTION shows.
    pub fn author(mut self, author: &str, version: &str) -> Self {
        self.header.author = author.to_string();
        self.header.version = version.to_string();
        self
    }

    /// Sets the category SHOW FUNCTIONS lists (default `OTHER`).
    pub fn category(mut self, category: &str) -> Self {
        self.header.category = Some(category.to_uppercase());
        self
    }

    /// Marks the function as giving a new value on every call (never constant-folded).
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Adds an overload: parameter declarations (`"TYPE"` or `"name TYPE"`, `"TYPE..."` for
    /// the variadic last one), the result type text, and the body.
    pub fn overload(
        self,
        params: &[&str],
        returns: &str,
        body: impl Fn(&[ScalarValue]) -> UdfResult<ScalarValue> + Send + Sync + 'static,
    ) -> Self {
        self.push(
            params,
            TypeSpec::parse(returns),
            "",
            Body::Shared(Arc::new(body)),
        )
    }

    /// Like `overload`, for a body with state: `make` creates one instance per call of the
    /// function in a query (ksqlDB's UDF instance, whose fields live as long as the query).
    /// Such a function is never evaluated ahead of time (it is volatile).
    pub fn overload_stateful(
        self,
        params: &[&str],
        returns: &str,
        make: impl Fn() -> ScalarInstance + Send + Sync + 'static,
    ) -> Self {
        self.push(
            params,
            TypeSpec::parse(returns),
            "",
            Body::PerCall(Arc::new(make)),
        )
    }

    fn stateful(&self) -> bool {
        self.overloads
            .iter()
            .any(|overload| matches!(overload.body, Body::PerCall(_)))
    }

    /// Like `overload`, with a description of the overload and a result type computed from
    /// the argument types (`returns_name` is how DESCRIBE FUNCTION shows it).
    pub fn overload_with(
        self,
        params: &[&str],
        description: &str,
        returns_name: &str,
        returns: impl Fn(&[DataType]) -> UdfResult<DataType> + Send + Sync + 'static,
        body: impl Fn(&[ScalarValue]) -> UdfResult<ScalarValue> + Send + Sync + 'static,
    ) -> Self {
        self.push(
            params,
            TypeSpec::Provider(Arc::new(returns), returns_name.to_string()),
            description,
            Body::Shared(Arc::new(body)),
        )
    }

    fn push(mut self, params: &[&str], returns: TypeSpec, description: &str, body: Body) -> Self {
        let (names, overload) = overload_params(params);
        assert!(
            overload
                .variadic
                .is_none_or(|index| index + 1 == overload.params.len()),
            "a scalar function's variadic parameter is its last: {params:?}"
        );
        self.overloads.push(Arc::new(ScalarOverload {
            overload,
            names,
            returns,
            description: description.to_string(),
            body,
        }));
        self
    }

    fn describe(&self) -> UserFunctionDescription {
        UserFunctionDescription {
            name: self.header.upper(),
            kind: UserFunctionKind::Scalar,
            category: self
                .header
                .category
                .clone()
                .unwrap_or_else(|| "OTHER".into()),
            description: self.header.description.clone(),
            author: self.header.author.clone(),
            version: self.header.version.clone(),
            variations: self
                .overloads
                .iter()
                .map(|overload| {
                    variation(
                        &overload.overload,
                        &overload.names,
                        overload.returns.describe(),
                        &overload.description,
                    )
                })
                .collect(),
        }
    }
}

/// A user scalar function as a DataFusion UDF.
struct UserScalarFunction {
    name: String,
    declared: String,
    signature: Signature,
    overloads: Vec<Arc<ScalarOverload>>,
    /// One per overload: shared, or this instance's.
    bodies: Vec<ScalarBody>,
}

impl fmt::Debug for UserScalarFunction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("UserScalarFunction")
            .field("name", &self.name)
            .finish()
    }
}

impl PartialEq for UserScalarFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for UserScalarFunction {}

impl Hash for UserScalarFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl UserScalarFunction {
    fn new(udf: &ScalarUdf) -> Self {
        let volatility = if udf.volatile || udf.stateful() {
            Volatility::Volatile
        } else {
            Volatility::Immutable
        };
        UserScalarFunction {
            name: udf.header.upper(),
            declared: udf.header.declared.clone(),
            signature: Signature::user_defined(volatility),
            overloads: udf.overloads.clone(),
            bodies: udf
                .overloads
                .iter()
                .map(|overload| match &overload.body {
                    Body::Shared(body) => Arc::clone(body),
                    Body::PerCall(make) => {
                        let instance = std::sync::Mutex::new(make());
                        Arc::new(move |args: &[ScalarValue]| {
                            let mut instance =
                                instance.lock().unwrap_or_else(|poison| poison.into_inner());
                            instance(args)
                        }) as ScalarBody
                    }
                })
                .collect(),
        }
    }

    fn choose(&self, arg_types: &[DataType]) -> DfResult<(usize, Vec<DataType>)> {
        let overloads: Vec<(&Overload, &[String])> = self
            .overloads
            .iter()
            .map(|overload| (&overload.overload, overload.names.as_slice()))
            .collect();
        match choose_overload(&self.declared, &overloads, arg_types) {
            Ok(chosen) => Ok(chosen),
            Err(message) => plan_err!("{message}"),
        }
    }
}

impl ScalarUDFImpl for UserScalarFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        Ok(self.choose(arg_types)?.1)
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        let (index, coerced) = self.choose(arg_types)?;
        let overload = &self.overloads[index];
        match overload.returns.resolve(&overload.overload, &coerced) {
            Ok(data_type) => Ok(data_type),
            Err(message) => plan_err!("{message}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|field| field.data_type().clone())
            .collect();
        let (index, _) = self.choose(&types)?;
        let body = &self.bodies[index];
        let arrays = args
            .args
            .iter()
            .map(|arg| arg.to_array(rows))
            .collect::<DfResult<Vec<_>>>()?;
        let return_type = args.return_field.data_type();
        let mut values = Vec::with_capacity(rows);
        let mut row_args = Vec::with_capacity(arrays.len());
        for row in 0..rows {
            row_args.clear();
            for array in &arrays {
                row_args.push(ScalarValue::try_from_array(array, row)?);
            }
            // A failing row gives null, as ksqlDB does for a UDF that throws.
            values.push(body(&row_args).ok());
        }
        Ok(ColumnarValue::Array(to_array(values, return_type, rows)?))
    }
}

/// Builds an array of `data_type` from per-row values (None: null).
fn to_array(
    values: Vec<Option<ScalarValue>>,
    data_type: &DataType,
    rows: usize,
) -> DfResult<ArrayRef> {
    let typed_null = ScalarValue::try_from(data_type)?;
    let values: Vec<ScalarValue> = values
        .into_iter()
        .map(|value| match value {
            Some(value) if !value.is_null() => value
                .cast_to(data_type)
                .or_else(|_| Ok::<_, datafusion::error::DataFusionError>(value)),
            _ => Ok(typed_null.clone()),
        })
        .collect::<DfResult<_>>()?;
    if values.is_empty() {
        return Ok(new_null_array(data_type, rows));
    }
    let array = ScalarValue::iter_to_array(values)?;
    if array.data_type() == data_type {
        Ok(array)
    } else {
        Ok(cast(&array, data_type)?)
    }
}

// ---------------------------------------------------------------- aggregate functions

struct AggregateOverload {
    overload: Overload,
    names: Vec<String>,
    /// How many of the parameters are per-row arguments; the rest are initial arguments.
    columns: usize,
    aggregate_type: TypeSpec,
    returns: TypeSpec,
    undo: bool,
    description: String,
    factory: UdafFactory,
}

/// A user aggregate function (ksqlDB's `@UdafDescription` class with its `@UdafFactory`
/// methods).
#[derive(Clone)]
pub struct AggregateUdf {
    header: Header,
    overloads: Vec<Arc<AggregateOverload>>,
}

/// The declaration of one aggregate overload.
pub struct UdafOverload<'a> {
    /// Per-row argument declarations (`"TYPE"`, `"name TYPE"`, one may be `"TYPE..."`).
    pub params: &'a [&'a str],
    /// Initial argument declarations: literals given after the per-row arguments (one may be
    /// variadic when no per-row argument is).
    pub init_params: &'a [&'a str],
    /// The type of the aggregate value.
    pub aggregate_type: &'a str,
    /// The type of the result.
    pub returns: &'a str,
    pub description: &'a str,
}

impl AggregateUdf {
    /// A function with no overloads yet.
    pub fn new(name: &str, description: &str) -> Self {
        AggregateUdf {
            header: Header::new(name, description),
            overloads: Vec::new(),
        }
    }

    /// Sets the author and version DESCRIBE FUNCTION shows.
    pub fn author(mut self, author: &str, version: &str) -> Self {
        self.header.author = author.to_string();
        self.header.version = version.to_string();
        self
    }

    /// Adds an overload that aggregates streams only (ksqlDB's `Udaf`).
    pub fn overload(
        self,
        declaration: UdafOverload<'_>,
        factory: impl Fn(&UdafCall<'_>) -> Box<dyn Udaf> + Send + Sync + 'static,
    ) -> Self {
        self.push(declaration, false, Arc::new(factory))
    }

    /// Adds an overload that can also aggregate tables (ksqlDB's `TableUdaf`: its `undo`
    /// takes a row back out).
    pub fn table_overload(
        self,
        declaration: UdafOverload<'_>,
        factory: impl Fn(&UdafCall<'_>) -> Box<dyn Udaf> + Send + Sync + 'static,
    ) -> Self {
        self.push(declaration, true, Arc::new(factory))
    }

    /// A table overload whose aggregate type is computed from the argument types.
    pub(crate) fn typed_table_overload(
        self,
        declaration: UdafOverload<'_>,
        aggregate_type: TypeProvider,
        factory: UdafFactory,
    ) -> Self {
        let name = declaration.aggregate_type.to_string();
        let mut udaf = self.push(
            UdafOverload {
                aggregate_type: "ANY",
                ..declaration
            },
            true,
            factory,
        );
        let last = udaf.overloads.pop().expect("just pushed");
        let mut last = Arc::into_inner(last).expect("not shared yet");
        last.aggregate_type = TypeSpec::Provider(aggregate_type, name);
        udaf.overloads.push(Arc::new(last));
        udaf
    }

    fn push(mut self, declaration: UdafOverload<'_>, undo: bool, factory: UdafFactory) -> Self {
        let all: Vec<&str> = declaration
            .params
            .iter()
            .chain(declaration.init_params)
            .copied()
            .collect();
        let (names, overload) = overload_params(&all);
        self.overloads.push(Arc::new(AggregateOverload {
            overload,
            names,
            columns: declaration.params.len(),
            aggregate_type: TypeSpec::parse(declaration.aggregate_type),
            returns: TypeSpec::parse(declaration.returns),
            undo,
            description: declaration.description.to_string(),
            factory,
        }));
        self
    }

    fn describe(&self) -> UserFunctionDescription {
        UserFunctionDescription {
            name: self.header.upper(),
            kind: UserFunctionKind::Aggregate,
            category: "AGGREGATE".into(),
            description: self.header.description.clone(),
            author: self.header.author.clone(),
            version: self.header.version.clone(),
            variations: self
                .overloads
                .iter()
                .map(|overload| {
                    variation(
                        &overload.overload,
                        &overload.names,
                        overload.returns.describe(),
                        &overload.description,
                    )
                })
                .collect(),
        }
    }

    /// Resolves a call: the overload, the coerced types of all arguments, and how many of
    /// them are per-row arguments.
    fn resolve(
        &self,
        arg_types: &[DataType],
    ) -> UdfResult<(Arc<AggregateOverload>, Vec<DataType>, usize)> {
        let overloads: Vec<(&Overload, &[String])> = self
            .overloads
            .iter()
            .map(|overload| (&overload.overload, overload.names.as_slice()))
            .collect();
        let (index, coerced) = choose_overload(&self.header.declared, &overloads, arg_types)?;
        let chosen = Arc::clone(&self.overloads[index]);
        let value_args = params_for(&chosen.overload, arg_types.len())
            .expect("the overload takes this many arguments")
            .iter()
            .filter(|param| **param < chosen.columns)
            .count();
        Ok((chosen, coerced, value_args))
    }
}

/// A resolved user aggregate call, ready to run (built by the executor from the call's
/// `AggregateSignature`).
pub struct UserAggregate {
    pub udaf: Box<dyn Udaf>,
    /// The type of the aggregate value (how it is stored).
    pub aggregate_type: DataType,
    /// Whether `undo` may be called.
    pub undo: bool,
}

impl fmt::Debug for UserAggregate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("UserAggregate")
            .field("aggregate_type", &self.aggregate_type)
            .finish()
    }
}

// ---------------------------------------------------------------- table functions

struct TableOverload {
    overload: Overload,
    names: Vec<String>,
    returns: TypeSpec,
    description: String,
    body: TableBody,
}

/// A user table function (ksqlDB's `@UdtfDescription` class with its `@Udtf` methods): each
/// input row gives the rows its body returns.
#[derive(Clone)]
pub struct TableUdf {
    header: Header,
    /// Upper-case.
    name: String,
    overloads: Vec<Arc<TableOverload>>,
}

impl fmt::Debug for TableUdf {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_tuple("TableUdf").field(&self.name).finish()
    }
}

impl PartialEq for TableUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TableUdf {}

impl Hash for TableUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl TableUdf {
    /// A function with no overloads yet.
    pub fn new(name: &str, description: &str) -> Self {
        TableUdf {
            header: Header::new(name, description),
            name: name.to_uppercase(),
            overloads: Vec::new(),
        }
    }

    /// Sets the author and version DESCRIBE FUNCTION shows.
    pub fn author(mut self, author: &str, version: &str) -> Self {
        self.header.author = author.to_string();
        self.header.version = version.to_string();
        self
    }

    /// Adds an overload: parameter declarations, the type of each output value, the body.
    pub fn overload(
        mut self,
        params: &[&str],
        returns: &str,
        body: impl Fn(&[ScalarValue]) -> UdfResult<Vec<ScalarValue>> + Send + Sync + 'static,
    ) -> Self {
        let (names, overload) = overload_params(params);
        self.overloads.push(Arc::new(TableOverload {
            overload,
            names,
            returns: TypeSpec::parse(returns),
            description: String::new(),
            body: Arc::new(body),
        }));
        self
    }

    fn describe(&self) -> UserFunctionDescription {
        UserFunctionDescription {
            name: self.header.upper(),
            kind: UserFunctionKind::Table,
            category: "TABLE".into(),
            description: self.header.description.clone(),
            author: self.header.author.clone(),
            version: self.header.version.clone(),
            variations: self
                .overloads
                .iter()
                .map(|overload| {
                    variation(
                        &overload.overload,
                        &overload.names,
                        overload.returns.describe(),
                        &overload.description,
                    )
                })
                .collect(),
        }
    }

    fn resolve(&self, arg_types: &[DataType]) -> UdfResult<(Arc<TableOverload>, Vec<DataType>)> {
        let overloads: Vec<(&Overload, &[String])> = self
            .overloads
            .iter()
            .map(|overload| (&overload.overload, overload.names.as_slice()))
            .collect();
        let (index, coerced) = choose_overload(&self.header.declared, &overloads, arg_types)?;
        Ok((Arc::clone(&self.overloads[index]), coerced))
    }

    /// The upper-case name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type of the values a call over `arg_types` gives, or ksqlDB's error.
    pub fn return_type(&self, arg_types: &[DataType]) -> UdfResult<DataType> {
        let (overload, coerced) = self.resolve(arg_types)?;
        overload.returns.resolve(&overload.overload, &coerced)
    }

    /// The types the arguments of a call over `arg_types` are cast to.
    pub fn coerced_types(&self, arg_types: &[DataType]) -> UdfResult<Vec<DataType>> {
        Ok(self.resolve(arg_types)?.1)
    }

    /// Expands the argument arrays (already cast to `coerced_types`) into the values of every
    /// row, one after the other, and where each row's values start (`rows + 1` offsets). A
    /// row whose body fails gives no values.
    pub fn expand(&self, args: &[ArrayRef], rows: usize) -> DfResult<(ArrayRef, Vec<usize>)> {
        let types: Vec<DataType> = args.iter().map(|arg| arg.data_type().clone()).collect();
        let (overload, coerced) = match self.resolve(&types) {
            Ok(resolved) => resolved,
            Err(message) => return plan_err!("{message}"),
        };
        let return_type = match overload.returns.resolve(&overload.overload, &coerced) {
            Ok(data_type) => data_type,
            Err(message) => return plan_err!("{message}"),
        };
        let mut starts = Vec::with_capacity(rows + 1);
        starts.push(0);
        let mut values = Vec::new();
        let mut row_args = Vec::with_capacity(args.len());
        for row in 0..rows {
            row_args.clear();
            for array in args {
                row_args.push(ScalarValue::try_from_array(array, row)?);
            }
            if let Ok(row_values) = (overload.body)(&row_args) {
                values.extend(row_values.into_iter().map(Some));
            }
            starts.push(values.len());
        }
        let count = values.len();
        Ok((to_array(values, &return_type, count)?, starts))
    }
}

// ---------------------------------------------------------------- registry

#[derive(Default)]
struct Registry {
    scalars: BTreeMap<String, (ScalarUdf, Arc<ScalarUDF>)>,
    aggregates: BTreeMap<String, AggregateUdf>,
    tables: BTreeMap<String, &'static TableUdf>,
}

fn registry() -> &'static RwLock<Registry> {
    static REGISTRY: std::sync::OnceLock<RwLock<Registry>> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn read() -> std::sync::RwLockReadGuard<'static, Registry> {
    registry()
        .read()
        .unwrap_or_else(|poison| poison.into_inner())
}

fn check_name(name: &str, overloads: usize) -> UdfResult<()> {
    if overloads == 0 {
        return Err(format!("function '{name}' has no overloads"));
    }
    if super::builtin_scalar_function(name).is_some()
        || super::aggregate::is_builtin_aggregate(name)
        || super::table::is_builtin_table_function(name)
    {
        return Err(format!("function '{name}' is a built-in function"));
    }
    let registry = read();
    if registry.scalars.contains_key(name)
        || registry.aggregates.contains_key(name)
        || registry.tables.contains_key(name)
    {
        return Err(format!("function '{name}' is already registered"));
    }
    Ok(())
}

/// Registers a scalar function. Fails when the name is taken.
pub fn register_scalar(udf: ScalarUdf) -> UdfResult<()> {
    let name = udf.header.upper();
    check_name(&name, udf.overloads.len())?;
    let function = Arc::new(ScalarUDF::new_from_impl(UserScalarFunction::new(&udf)));
    let mut registry = registry().write().unwrap_or_else(|p| p.into_inner());
    registry.scalars.insert(name, (udf, function));
    Ok(())
}

/// Registers an aggregate function. Fails when the name is taken.
pub fn register_aggregate(udaf: AggregateUdf) -> UdfResult<()> {
    let name = udaf.header.upper();
    check_name(&name, udaf.overloads.len())?;
    let mut registry = registry().write().unwrap_or_else(|p| p.into_inner());
    registry.aggregates.insert(name, udaf);
    Ok(())
}

/// Registers a table function. Fails when the name is taken. Table functions live as long
/// as the process.
pub fn register_table(udtf: TableUdf) -> UdfResult<()> {
    let name = udtf.header.upper();
    check_name(&name, udtf.overloads.len())?;
    let mut registry = registry().write().unwrap_or_else(|p| p.into_inner());
    registry.tables.insert(name, Box::leak(Box::new(udtf)));
    Ok(())
}

/// The user scalar function `name` (upper-case) as a DataFusion UDF: a new instance when
/// it has state (each call in a query has its own), else the shared one.
pub(crate) fn scalar_function(name: &str) -> Option<Arc<ScalarUDF>> {
    let registry = read();
    let (udf, function) = registry.scalars.get(name)?;
    if udf.stateful() {
        return Some(Arc::new(ScalarUDF::new_from_impl(UserScalarFunction::new(
            udf,
        ))));
    }
    Some(Arc::clone(function))
}

/// Whether a call of user scalar function `name` (upper-case) over `arg_types` resolves:
/// None when `name` is not a user scalar function, else ksqlDB's error when no overload (or
/// more than one) takes the arguments.
pub(crate) fn check_scalar_call(name: &str, arg_types: &[DataType]) -> Option<UdfResult<()>> {
    let registry = read();
    let (udf, _) = registry.scalars.get(name)?;
    let overloads: Vec<(&Overload, &[String])> = udf
        .overloads
        .iter()
        .map(|overload| (&overload.overload, overload.names.as_slice()))
        .collect();
    Some(choose_overload(&udf.header.declared, &overloads, arg_types).map(|_| ()))
}

/// Every user scalar function with its upper-case name.
pub(crate) fn scalar_functions() -> Vec<(String, Arc<ScalarUDF>)> {
    read()
        .scalars
        .iter()
        .map(|(name, (_, function))| (name.clone(), Arc::clone(function)))
        .collect()
}

/// The user table function `name` (upper-case).
pub fn table_function(name: &str) -> Option<&'static TableUdf> {
    read().tables.get(name).copied()
}

/// Whether `name` (upper-case) is a user aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    read().aggregates.contains_key(name)
}

/// Every user function, by name.
pub fn descriptions() -> Vec<UserFunctionDescription> {
    let registry = read();
    let mut all: Vec<UserFunctionDescription> = registry
        .scalars
        .values()
        .map(|(udf, _)| udf.describe())
        .chain(registry.aggregates.values().map(AggregateUdf::describe))
        .chain(registry.tables.values().map(|udtf| udtf.describe()))
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// The user function `name` (any case), for DESCRIBE FUNCTION.
pub fn describe(name: &str) -> Option<UserFunctionDescription> {
    let name = name.to_uppercase();
    descriptions()
        .into_iter()
        .find(|description| description.name == name)
}

/// Aggregates built on this API that ship with Eddy (listed with the built-ins).
fn builtin_aggregates() -> &'static BTreeMap<String, AggregateUdf> {
    static BUILTINS: std::sync::OnceLock<BTreeMap<String, AggregateUdf>> =
        std::sync::OnceLock::new();
    BUILTINS.get_or_init(|| {
        [super::aggregate::attr()]
            .into_iter()
            .map(|udaf| (udaf.header.upper(), udaf))
            .collect()
    })
}

/// Runs `f` on the aggregate named `name` (upper-case): built on this API or registered.
fn with_aggregate<R>(name: &str, f: impl FnOnce(&AggregateUdf) -> R) -> Option<R> {
    if let Some(udaf) = builtin_aggregates().get(name) {
        return Some(f(udaf));
    }
    let registry = read();
    registry.aggregates.get(name).map(f)
}

/// Resolves a call of user aggregate `name` (upper-case): the signature the planner and the
/// executor share. `literals[i]` is the value of argument `i` when it is a literal.
pub(crate) fn resolve_aggregate(
    name: &str,
    arg_types: &[DataType],
    literals: &[Option<ScalarValue>],
    arg_sql: &[String],
) -> Option<UdfResult<super::aggregate::AggregateSignature>> {
    with_aggregate(name, |udaf| {
        let (overload, coerced, value_args) = udaf.resolve(arg_types)?;
        let mut params = Vec::new();
        for (index, wanted) in coerced.iter().enumerate().skip(value_args) {
            let Some(Some(value)) = literals.get(index) else {
                let sql = arg_sql.get(index).map(String::as_str).unwrap_or("?");
                return Err(format!(
                    "Parameter {} passed to function {} must be a literal constant, but was expression: '{sql}'",
                    index + 1,
                    udaf.header.declared
                ));
            };
            params.push(value.cast_to(wanted).map_err(|e| e.to_string())?);
        }
        let aggregate_type = overload
            .aggregate_type
            .resolve(&overload.overload, &coerced)?;
        let return_type = overload.returns.resolve(&overload.overload, &coerced)?;
        Ok(super::aggregate::AggregateSignature {
            name: name.to_string(),
            value_args,
            arg_types: coerced[..value_args].to_vec(),
            params,
            return_type,
            table_supported: overload.undo,
            complex_intermediate: matches!(
                aggregate_type,
                DataType::List(_) | DataType::Map(_, _) | DataType::Struct(_)
            ),
        })
    })
}

/// Builds the running form of a resolved user aggregate call; None when `signature` is not
/// a user aggregate's.
pub fn create_aggregate(
    signature: &super::aggregate::AggregateSignature,
) -> Option<UdfResult<UserAggregate>> {
    with_aggregate(&signature.name, |udaf| {
        let all: Vec<DataType> = signature
            .arg_types
            .iter()
            .cloned()
            .chain(signature.params.iter().map(ScalarValue::data_type))
            .collect();
        let (overload, coerced, _) = udaf.resolve(&all)?;
        let aggregate_type = overload
            .aggregate_type
            .resolve(&overload.overload, &coerced)?;
        let udaf = (overload.factory)(&UdafCall {
            arg_types: &signature.arg_types,
            init_args: &signature.params,
            return_type: &signature.return_type,
        });
        Ok(UserAggregate {
            udaf,
            aggregate_type,
            undo: overload.undo,
        })
    })
}

#[cfg(test)]
mod tests;
