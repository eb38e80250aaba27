//! Printing statement outputs: results (rendered by `render`) and streaming rows (laid out
//! by `table`) and lines.

mod render;
mod table;

use std::io::Write;

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use server::StatementOutput;

pub use self::render::{render_result, render_result_within};
pub use self::table::{Layout, RowPrinter};

/// Prints one statement's output to `out`, laid out for `layout`. Streams print until they end or Ctrl-C.
pub fn print_output(
    runtime: &tokio::runtime::Runtime,
    output: StatementOutput,
    layout: Layout,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match output {
        StatementOutput::Completed(result) => {
            write!(out, "{}", render_result_within(&result, layout.max_width()))?
        }
        StatementOutput::Rows(mut stream) => {
            let names: Vec<String> = stream
                .columns
                .iter()
                .map(|column| column.name.clone())
                .collect();
            let mut printer = RowPrinter::start(names, layout, out)?;
            out.flush()?;
            let interrupted = runtime.block_on(async {
                loop {
                    let holding = printer.holding_until();
                    let hold_end = tokio::time::Instant::from_std(
                        holding.unwrap_or_else(std::time::Instant::now),
                    );
                    tokio::select! {
                        batch = stream.receiver.recv() => match batch {
                            Some(batch) => {
                                for row in format_batch(&batch) {
                                    printer.row(row, out)?;
                                }
                                out.flush()?;
                            }
                            None => return Ok::<bool, std::io::Error>(false),
                        },
                        _ = tokio::time::sleep_until(hold_end), if holding.is_some() => {
                            printer.stop_holding(out)?;
                            out.flush()?;
                        }
                        _ = tokio::signal::ctrl_c() => return Ok(true),
                    }
                }
            })?;
            match (interrupted, stream.handle.state()) {
                (true, _) => {
                    printer.stop_holding(out)?;
                    writeln!(out, "Query terminated")?
                }
                (false, executor::QueryState::Error(message)) => {
                    printer.stop_holding(out)?;
                    writeln!(out, "Query failed: {message}")?
                }
                (false, _) => {
                    printer.end(out)?;
                    writeln!(out, "Query terminated")?
                }
            }
        }
        StatementOutput::Lines(mut stream) => {
            let interrupted = runtime.block_on(async {
                loop {
                    tokio::select! {
                        line = stream.receiver.recv() => match line {
                            Some(line) => { writeln!(out, "{line}")?; out.flush()?; }
                            None => return Ok::<bool, std::io::Error>(false),
                        },
                        _ = tokio::signal::ctrl_c() => return Ok(true),
                    }
                }
            })?;
            if interrupted {
                writeln!(out, "Topic printing ceased")?;
            }
            drop(stream.handle);
        }
    }
    Ok(())
}

/// Formats every row of a batch as text cells (`null` for nulls). BYTES show as base64, as
/// ksqlDB's CLI shows them (nested in a struct, array or map, the value shows as JSON).
pub fn format_batch(batch: &RecordBatch) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("null");
    // A changelog's last `$op` column is not shown.
    let columns: Vec<(&ArrayRef, Option<ArrayFormatter>)> = batch
        .columns()
        .iter()
        .zip(batch.schema().fields())
        .filter(|(_, field)| field.name() != planner::catalog::OP_COLUMN)
        .map(|(column, _)| {
            let formatter = (!holds_bytes(column.data_type()))
                .then(|| ArrayFormatter::try_new(column.as_ref(), &options).ok())
                .flatten();
            (column, formatter)
        })
        .collect();
    (0..batch.num_rows())
        .map(|row| {
            columns
                .iter()
                .map(|(column, formatter)| match formatter {
                    Some(formatter) => formatter.value(row).to_string(),
                    None => match executor::format::arrow_value_to_json(column.as_ref(), row) {
                        serde_json::Value::String(text) => text,
                        other => other.to_string(),
                    },
                })
                .collect()
        })
        .collect()
}

/// Whether values of `data_type` hold BYTES, at the top or nested.
fn holds_bytes(data_type: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType;
    match data_type {
        DataType::Binary | DataType::LargeBinary => true,
        DataType::List(item) | DataType::LargeList(item) => holds_bytes(item.data_type()),
        DataType::Struct(fields) => fields.iter().any(|field| holds_bytes(field.data_type())),
        DataType::Map(entries, _) => holds_bytes(entries.data_type()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{BinaryArray, Int32Array, ListArray, StringArray, StructArray};
    use arrow::datatypes::{DataType, Field, Fields, Int8Type, Schema};

    use super::*;

    #[test]
    fn bytes_show_as_base64_and_the_op_column_is_hidden() {
        let entry = Fields::from(vec![
            Field::new("KEY", DataType::Utf8, true),
            Field::new("VALUE", DataType::Binary, true),
        ]);
        let headers = StructArray::new(
            entry.clone(),
            vec![
                Arc::new(StringArray::from(vec!["trace"])),
                Arc::new(BinaryArray::from(vec![b"abc".as_ref()])),
            ],
            None,
        );
        let item = Arc::new(Field::new("item", DataType::Struct(entry), true));
        let list = ListArray::new(
            Arc::clone(&item),
            arrow::buffer::OffsetBuffer::from_lengths([1, 0]),
            Arc::new(headers),
            None,
        );
        let schema = Schema::new(vec![
            Field::new("N", DataType::Int32, true),
            Field::new("H", DataType::Binary, true),
            Field::new("HS", DataType::List(item), true),
            Field::new(planner::catalog::OP_COLUMN, DataType::Int8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(BinaryArray::from(vec![Some(b"xyz".as_ref()), None])),
                Arc::new(list),
                Arc::new(arrow::array::PrimitiveArray::<Int8Type>::from(vec![0, 1])),
            ],
        )
        .expect("batch");
        assert_eq!(
            format_batch(&batch),
            vec![
                vec!["1", "eHl6", r#"[{"KEY":"trace","VALUE":"YWJj"}]"#],
                vec!["2", "null", "[]"],
            ]
        );
    }
}
