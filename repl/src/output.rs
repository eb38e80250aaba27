//! Printing statement outputs: results (rendered by `render`) and streaming rows and lines.

mod render;

use std::io::Write;

use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use server::StatementOutput;

pub use self::render::render_result;

/// Prints one statement's output to `out`. Streams print until they end or Ctrl-C.
pub fn print_output(
    runtime: &tokio::runtime::Runtime,
    output: StatementOutput,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match output {
        StatementOutput::Completed(result) => write!(out, "{}", render_result(&result))?,
        StatementOutput::Rows(mut stream) => {
            let widths: Vec<usize> = stream
                .columns
                .iter()
                .map(|column| column.name.len().max(12))
                .collect();
            let border = border_line(&widths);
            writeln!(out, "{border}")?;
            let names: Vec<String> = stream
                .columns
                .iter()
                .map(|column| column.name.clone())
                .collect();
            writeln!(out, "{}", row_line(&names, &widths))?;
            writeln!(out, "{border}")?;
            out.flush()?;
            let interrupted = runtime.block_on(async {
                loop {
                    tokio::select! {
                        batch = stream.receiver.recv() => match batch {
                            Some(batch) => {
                                for row in format_batch(&batch) {
                                    writeln!(out, "{}", row_line(&row, &widths))?;
                                }
                                out.flush()?;
                            }
                            None => return Ok::<bool, std::io::Error>(false),
                        },
                        _ = tokio::signal::ctrl_c() => return Ok(true),
                    }
                }
            })?;
            match (interrupted, stream.handle.state()) {
                (true, _) => writeln!(out, "Query terminated")?,
                (false, executor::QueryState::Error(message)) => {
                    writeln!(out, "Query failed: {message}")?
                }
                (false, _) => writeln!(out, "{border}\nQuery terminated")?,
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
    let formatters: Vec<ArrayFormatter> = batch
        .columns()
        .iter()
        .filter_map(|column| ArrayFormatter::try_new(column.as_ref(), &options).ok())
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

/// `+----+----+`: the rule around streamed rows.
pub fn border_line(widths: &[usize]) -> String {
    let mut line = String::from("+");
    for width in widths {
        line.push_str(&"-".repeat(*width));
        line.push('+');
    }
    line
}

/// `|a   |b   |`: one streamed row, cells padded to `widths`.
pub fn row_line(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::from("|");
    for (cell, width) in cells.iter().zip(widths) {
        line.push_str(&format!("{cell:<width$}"));
        line.push('|');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_rows_print_between_rules() {
        let widths = [12, 14];
        let cases = [
            (border_line(&widths), "+------------+--------------+"),
            (
                row_line(&["ID".to_string(), "V".to_string()], &widths),
                "|ID          |V             |",
            ),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }
}
