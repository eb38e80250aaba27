//! Aggregation at run time: ksqlDB's aggregate functions and the codec of their states.
//!
//! `function` holds the accumulators (add, retract, merge, result); `codec` the compact
//! binary encoding of states stored in RocksDB.

pub mod codec;
pub mod function;
