//! Protobuf schemas: `.proto` text (the subset Confluent and ksqlDB use: proto2/proto3
//! messages, nested messages and enums, scalar types, `repeated`, `optional`, `map<,>`,
//! `oneof`, imports) parsed into files (`parse`), resolved into message descriptors
//! (`descriptor`) and translated to and from ksqlDB column types (`translate`).
//!
//! Options are skipped, except Confluent's `(confluent.field_meta)` parameters, which carry
//! a DECIMAL's precision and scale.

mod descriptor;
mod parse;
mod translate;

pub use self::descriptor::{
    EnumDescriptor, FieldDescriptor, FieldKind, MessageDescriptor, ProtoSchema, Scalar, WellKnown,
};
pub use self::parse::{
    EnumDefinition, FieldDefinition, Label, MessageDefinition, ProtoFile, TypeRef,
};
pub use self::translate::{
    NullableRepresentation, proto_schema_for, proto_schema_for_rows, sql_type_of_message,
};
