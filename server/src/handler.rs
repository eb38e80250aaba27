//! Statement handlers, one module per group of statements.

pub(crate) mod admin;
pub(crate) mod ddl;
pub(crate) mod describe;
pub(crate) mod print;
pub(crate) mod properties;
pub(crate) mod select;
pub(crate) mod show;
