//! Growable Arrow columns that the decoders write rows into.
//!
//! Unlike arrow's builders, a [`ColumnWriter`] can be truncated, nested children included,
//! so a record that fails to decode halfway is rolled back without a trace. What a value
//! means is decided by the formats; this module only stores it.

use arrow::array::{ArrayData, ArrayRef, BooleanBufferBuilder, NullBufferBuilder, make_array};
use arrow::buffer::Buffer;
use arrow::datatypes::DataType;

/// One Arrow column under construction.
#[derive(Debug)]
pub(crate) struct ColumnWriter {
    data_type: DataType,
    nulls: NullBufferBuilder,
    values: Values,
}

#[derive(Debug)]
enum Values {
    Boolean(BooleanBufferBuilder),
    /// INT, DATE, TIME.
    I32(Vec<i32>),
    /// BIGINT, TIMESTAMP.
    I64(Vec<i64>),
    F64(Vec<f64>),
    /// DECIMAL.
    I128(Vec<i128>),
    /// STRING (always valid UTF-8) and BYTES.
    Bytes {
        offsets: Vec<i32>,
        data: Vec<u8>,
    },
    List {
        offsets: Vec<i32>,
        child: Box<ColumnWriter>,
    },
    Map {
        offsets: Vec<i32>,
        keys: Box<ColumnWriter>,
        values: Box<ColumnWriter>,
    },
    Struct(Vec<ColumnWriter>),
}

impl ColumnWriter {
    /// An empty column of `data_type`, or `None` when the type is outside ksqlDB's mapping.
    pub(crate) fn new(data_type: &DataType) -> Option<Self> {
        let values = match data_type {
            DataType::Boolean => Values::Boolean(BooleanBufferBuilder::new(0)),
            DataType::Int32 | DataType::Date32 | DataType::Time32(_) => Values::I32(Vec::new()),
            DataType::Int64 | DataType::Timestamp(_, _) => Values::I64(Vec::new()),
            DataType::Float64 => Values::F64(Vec::new()),
            DataType::Decimal128(_, _) => Values::I128(Vec::new()),
            DataType::Utf8 | DataType::Binary => Values::Bytes {
                offsets: vec![0],
                data: Vec::new(),
            },
            DataType::List(item) => Values::List {
                offsets: vec![0],
                child: Box::new(Self::new(item.data_type())?),
            },
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(fields) if fields.len() == 2 => Values::Map {
                    offsets: vec![0],
                    keys: Box::new(Self::new(fields[0].data_type())?),
                    values: Box::new(Self::new(fields[1].data_type())?),
                },
                _ => return None,
            },
            DataType::Struct(fields) => Values::Struct(
                fields
                    .iter()
                    .map(|field| Self::new(field.data_type()))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        };
        Some(Self {
            data_type: data_type.clone(),
            nulls: NullBufferBuilder::new(0),
            values,
        })
    }

    /// Number of values written.
    pub(crate) fn len(&self) -> usize {
        self.nulls.len()
    }

    /// Drops every value from index `len` on, and whatever was written into the children
    /// or the data buffer for a value not yet committed.
    pub(crate) fn truncate(&mut self, len: usize) {
        let len = len.min(self.len());
        self.nulls.truncate(len);
        match &mut self.values {
            Values::Boolean(values) => values.truncate(len),
            Values::I32(values) => values.truncate(len),
            Values::I64(values) => values.truncate(len),
            Values::F64(values) => values.truncate(len),
            Values::I128(values) => values.truncate(len),
            Values::Bytes { offsets, data } => {
                offsets.truncate(len + 1);
                data.truncate(offsets[len] as usize);
            }
            Values::List { offsets, child } => {
                offsets.truncate(len + 1);
                child.truncate(offsets[len] as usize);
            }
            Values::Map {
                offsets,
                keys,
                values,
            } => {
                offsets.truncate(len + 1);
                keys.truncate(offsets[len] as usize);
                values.truncate(offsets[len] as usize);
            }
            Values::Struct(children) => {
                for child in children {
                    child.truncate(len);
                }
            }
        }
    }

    /// Appends a null.
    pub(crate) fn push_null(&mut self) {
        self.nulls.append_null();
        match &mut self.values {
            Values::Boolean(values) => values.append(false),
            Values::I32(values) => values.push(0),
            Values::I64(values) => values.push(0),
            Values::F64(values) => values.push(0.0),
            Values::I128(values) => values.push(0),
            Values::Bytes { offsets, .. }
            | Values::List { offsets, .. }
            | Values::Map { offsets, .. } => {
                let last = *offsets.last().expect("offsets start with 0");
                offsets.push(last);
            }
            Values::Struct(children) => {
                for child in children {
                    child.push_null();
                }
            }
        }
    }

    pub(crate) fn push_bool(&mut self, value: bool) {
        if let Values::Boolean(values) = &mut self.values {
            values.append(value);
            self.nulls.append_non_null();
        } else {
            mismatch(&self.data_type, "BOOLEAN");
        }
    }

    pub(crate) fn push_i32(&mut self, value: i32) {
        if let Values::I32(values) = &mut self.values {
            values.push(value);
            self.nulls.append_non_null();
        } else {
            mismatch(&self.data_type, "a 32-bit integer");
        }
    }

    pub(crate) fn push_i64(&mut self, value: i64) {
        if let Values::I64(values) = &mut self.values {
            values.push(value);
            self.nulls.append_non_null();
        } else {
            mismatch(&self.data_type, "a 64-bit integer");
        }
    }

    pub(crate) fn push_f64(&mut self, value: f64) {
        if let Values::F64(values) = &mut self.values {
            values.push(value);
            self.nulls.append_non_null();
        } else {
            mismatch(&self.data_type, "DOUBLE");
        }
    }

    pub(crate) fn push_i128(&mut self, value: i128) {
        if let Values::I128(values) = &mut self.values {
            values.push(value);
            self.nulls.append_non_null();
        } else {
            mismatch(&self.data_type, "DECIMAL");
        }
    }

    /// Appends a STRING or BYTES value.
    pub(crate) fn push_bytes(&mut self, value: &[u8]) {
        self.bytes_buffer().extend_from_slice(value);
        self.commit_bytes();
    }

    /// The data buffer of a STRING or BYTES column, to append one value in pieces; finish
    /// with [`commit_bytes`](Self::commit_bytes). For STRING the pieces must form UTF-8.
    pub(crate) fn bytes_buffer(&mut self) -> &mut Vec<u8> {
        match &mut self.values {
            Values::Bytes { data, .. } => data,
            _ => mismatch(&self.data_type, "STRING or BYTES"),
        }
    }

    /// Ends the value appended through [`bytes_buffer`](Self::bytes_buffer).
    pub(crate) fn commit_bytes(&mut self) {
        if let Values::Bytes { offsets, data } = &mut self.values {
            offsets.push(offset(data.len()));
            self.nulls.append_non_null();
        }
    }

    /// The element column of an ARRAY column; finish the value with
    /// [`commit_list`](Self::commit_list).
    pub(crate) fn list_child(&mut self) -> &mut ColumnWriter {
        match &mut self.values {
            Values::List { child, .. } => child,
            _ => mismatch(&self.data_type, "ARRAY"),
        }
    }

    pub(crate) fn commit_list(&mut self) {
        if let Values::List { offsets, child } = &mut self.values {
            offsets.push(offset(child.len()));
            self.nulls.append_non_null();
        }
    }

    /// The key and value columns of a MAP column; finish the value with
    /// [`commit_map`](Self::commit_map).
    pub(crate) fn map_children(&mut self) -> (&mut ColumnWriter, &mut ColumnWriter) {
        match &mut self.values {
            Values::Map { keys, values, .. } => (keys, values),
            _ => mismatch(&self.data_type, "MAP"),
        }
    }

    pub(crate) fn commit_map(&mut self) {
        if let Values::Map { offsets, keys, .. } = &mut self.values {
            offsets.push(offset(keys.len()));
            self.nulls.append_non_null();
        }
    }

    /// The field columns of a STRUCT column; after writing one value to each, finish with
    /// [`commit_struct`](Self::commit_struct).
    pub(crate) fn struct_children(&mut self) -> &mut [ColumnWriter] {
        match &mut self.values {
            Values::Struct(children) => children,
            _ => mismatch(&self.data_type, "STRUCT"),
        }
    }

    pub(crate) fn commit_struct(&mut self) {
        self.nulls.append_non_null();
    }

    /// The finished Arrow array.
    pub(crate) fn finish(self) -> ArrayRef {
        make_array(self.into_data())
    }

    fn into_data(mut self) -> ArrayData {
        let len = self.len();
        let nulls = self.nulls.finish();
        let builder = ArrayData::builder(self.data_type.clone())
            .len(len)
            .nulls(nulls);
        let builder = match self.values {
            Values::Boolean(mut values) => builder.add_buffer(values.finish().into_inner()),
            Values::I32(values) => builder.add_buffer(Buffer::from_vec(values)),
            Values::I64(values) => builder.add_buffer(Buffer::from_vec(values)),
            Values::F64(values) => builder.add_buffer(Buffer::from_vec(values)),
            Values::I128(values) => builder.add_buffer(Buffer::from_vec(values)),
            Values::Bytes { offsets, data } => builder
                .add_buffer(Buffer::from_vec(offsets))
                .add_buffer(Buffer::from_vec(data)),
            Values::List { offsets, child } => builder
                .add_buffer(Buffer::from_vec(offsets))
                .add_child_data(child.into_data()),
            Values::Map {
                offsets,
                keys,
                values,
            } => {
                let DataType::Map(entries_field, _) = &self.data_type else {
                    unreachable!("map values belong to a map type")
                };
                let entries_len = keys.len();
                let entries = ArrayData::builder(entries_field.data_type().clone())
                    .len(entries_len)
                    .add_child_data(keys.into_data())
                    .add_child_data(values.into_data())
                    .build()
                    .expect("map entries are a valid struct");
                builder
                    .add_buffer(Buffer::from_vec(offsets))
                    .add_child_data(entries)
            }
            Values::Struct(children) => {
                builder.child_data(children.into_iter().map(ColumnWriter::into_data).collect())
            }
        };
        builder
            .build()
            .expect("column writers produce valid arrow data")
    }
}

fn mismatch(data_type: &DataType, wanted: &str) -> ! {
    unreachable!("format decoder wrote {wanted} into a {data_type} column")
}

fn offset(len: usize) -> i32 {
    i32::try_from(len).expect("a decoded batch holds less than 2 GiB per column")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Field, Fields, Int32Type};

    use super::*;

    fn map_type() -> DataType {
        let entries = Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Int32, true),
        ]);
        DataType::Map(
            Arc::new(Field::new("entries", DataType::Struct(entries), false)),
            false,
        )
    }

    #[test]
    fn truncate_rolls_back_nested_values() {
        let list = DataType::List(Arc::new(Field::new("item", map_type(), true)));
        let mut writer = ColumnWriter::new(&list).expect("supported");
        // Row 0: [{"a": 1}]
        let map = writer.list_child();
        let (keys, values) = map.map_children();
        keys.push_bytes(b"a");
        values.push_i32(1);
        map.commit_map();
        writer.commit_list();
        // Row 1, abandoned halfway: [{"b": 2}, {"c": ...
        let map = writer.list_child();
        let (keys, values) = map.map_children();
        keys.push_bytes(b"b");
        values.push_i32(2);
        map.commit_map();
        let (keys, _) = map.map_children();
        keys.push_bytes(b"c");
        writer.truncate(1);
        // Row 1 again: null.
        writer.push_null();

        let array = writer.finish();
        let list = array.as_list::<i32>();
        assert_eq!(list.len(), 2);
        assert!(list.is_null(1));
        let map = list.value(0);
        let map = map.as_map();
        assert_eq!(map.keys().as_string::<i32>().value(0), "a");
        assert_eq!(map.values().as_primitive::<Int32Type>().value(0), 1);
        assert_eq!(map.entries().len(), 1);
    }

    #[test]
    fn struct_nulls_reach_every_child() {
        let fields = Fields::from(vec![
            Field::new("A", DataType::Utf8, true),
            Field::new("B", DataType::Float64, true),
        ]);
        let mut writer = ColumnWriter::new(&DataType::Struct(fields)).expect("supported");
        writer.push_null();
        let children = writer.struct_children();
        children[0].push_bytes(b"x");
        children[1].push_null();
        writer.commit_struct();
        let array = writer.finish();
        let structs = array.as_struct();
        assert!(structs.is_null(0));
        assert_eq!(structs.column(0).as_string::<i32>().value(1), "x");
        assert!(structs.column(1).is_null(1));
    }

    #[test]
    fn unsupported_types_are_refused() {
        assert!(ColumnWriter::new(&DataType::Float32).is_none());
        assert!(ColumnWriter::new(&DataType::LargeUtf8).is_none());
    }
}
