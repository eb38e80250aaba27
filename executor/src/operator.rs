//! Operators of a dataflow: decoding sources, filters and projections, encoding sinks.

pub mod aggregate;
pub mod sink;
pub mod source;
pub mod window;
