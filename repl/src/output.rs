//! Printing statement outputs: results (rendered by `render`) and streaming rows (laid out
//! by `table`) and lines.

mod render;
mod table;

use std::io::Write;

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

/// Formats every row of a batch as text cells (`null` for nulls).
pub fn format_batch(batch: &RecordBatch) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("null");
    // A changelog's last `$op` column is not shown.
    let formatters: Vec<ArrayFormatter> = batch
        .columns()
        .iter()
        .zip(batch.schema().fields())
        .filter(|(_, field)| field.name() != planner::catalog::OP_COLUMN)
        .filter_map(|(column, _)| ArrayFormatter::try_new(column.as_ref(), &options).ok())
        .collect();
    (0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|formatter| formatter.value(row).to_string())
                .collect()
        })
        .collect()
}
