//! Operators of a dataflow: decoding sources, filters and projections, encoding sinks.

pub mod sink;
pub mod source;
