//! stub

use super::udf::FunctionDefinition;

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    Vec::new()
}
