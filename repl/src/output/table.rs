//! Table layout shared by every table the REPL prints: query rows (`+---+` rules, `|`
//! cells, printed by `RowPrinter` as they arrive) and the SHOW/LIST tables of `render`.
//!
//! In a script (`--file`, `--execute`, piped stdin) the layout never depends on a terminal,
//! so outputs stay comparable. At a terminal, tables fit its width and wrap cell text within
//! its column, as ksqlDB's CLI does.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Whether output goes to a person at a terminal or to a script's reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Fixed layout: streamed columns as wide as their name (at least 12), nothing wrapped.
    Script,
    /// Fit to the terminal's width, read when each table starts.
    Terminal,
}

impl Layout {
    /// `Terminal` when stdout is a terminal, else `Script`.
    pub fn of_stdout() -> Layout {
        if std::io::stdout().is_terminal() {
            Layout::Terminal
        } else {
            Layout::Script
        }
    }

    /// The width tables must fit in, if any.
    pub fn max_width(self) -> Option<usize> {
        match self {
            Layout::Script => None,
            Layout::Terminal => Some(
                crossterm::terminal::size()
                    .ok()
                    .map(|(columns, _)| usize::from(columns))
                    .filter(|columns| *columns > 0)
                    .unwrap_or(80),
            ),
        }
    }
}

/// The narrowest a column gets when a table is squeezed to fit.
const MIN_COLUMN_WIDTH: usize = 5;

/// How long query rows are held back at a terminal to size the columns to them: a query that
/// ends sooner (a pull query, a push query with a small LIMIT) prints sized to its content.
const SIZING_WINDOW: Duration = Duration::from_millis(250);
/// The most rows held back for sizing.
const SIZING_ROWS: usize = 200;

/// Prints a query's rows as a table: in scripts the header at once and each row as it
/// arrives; at a terminal the first rows are held back for `SIZING_WINDOW` so that a query
/// ending sooner prints with its columns sized to their content, and a longer one prints its
/// rows as they arrive under a header that shares the width between the columns.
pub struct RowPrinter {
    names: Vec<String>,
    layout: Layout,
    /// The layout chosen, once the header is printed.
    table: Option<StreamedTable>,
    held: Vec<Vec<String>>,
    hold_until: Instant,
}

impl RowPrinter {
    /// Starts the table of a query with these column names.
    pub fn start(
        names: Vec<String>,
        layout: Layout,
        out: &mut dyn Write,
    ) -> std::io::Result<RowPrinter> {
        let mut printer = RowPrinter {
            names,
            layout,
            table: None,
            held: Vec::new(),
            hold_until: Instant::now() + SIZING_WINDOW,
        };
        if layout == Layout::Script {
            printer.stop_holding(out)?;
        }
        Ok(printer)
    }

    /// Until when rows are held back, while they are: then call `stop_holding`.
    pub fn holding_until(&self) -> Option<Instant> {
        self.table.is_none().then_some(self.hold_until)
    }

    /// Prints a row, or holds it back.
    pub fn row(&mut self, cells: Vec<String>, out: &mut dyn Write) -> std::io::Result<()> {
        match &self.table {
            Some(table) => writeln!(out, "{}", table.row(&cells)),
            None => {
                self.held.push(cells);
                if self.held.len() >= SIZING_ROWS {
                    self.stop_holding(out)?;
                }
                Ok(())
            }
        }
    }

    /// Prints the header and the rows held back, in the layout of a query that goes on.
    pub fn stop_holding(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.table.is_none() {
            let table = StreamedTable::new(&self.names, self.layout);
            self.open(table, out)?;
        }
        Ok(())
    }

    /// The rows ended: rows still held back print sized to their content, then the rule.
    pub fn end(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        let table = match self.table.take() {
            Some(table) => table,
            None => {
                let table = StreamedTable::sized_to(&self.names, &self.held, self.layout);
                self.open(table, out)?;
                self.table.take().expect("open sets the table")
            }
        };
        writeln!(out, "{}", table.border())
    }

    fn open(&mut self, table: StreamedTable, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", table.header(&self.names))?;
        for cells in self.held.drain(..) {
            writeln!(out, "{}", table.row(&cells))?;
        }
        self.table = Some(table);
        Ok(())
    }
}

/// Column widths of query rows and their header and rules.
pub struct StreamedTable {
    widths: Vec<usize>,
    /// Whether a cell wider than its column wraps (at a terminal) or overflows (in scripts).
    wrap: bool,
}

impl StreamedTable {
    /// The layout of a stream of rows with these column names. At a terminal the width is
    /// shared evenly between the columns (the rows are not known yet), as ksqlDB's CLI does.
    fn new(names: &[String], layout: Layout) -> StreamedTable {
        let max_width = layout.max_width();
        let widths = match max_width {
            None => names.iter().map(|name| name.len().max(12)).collect(),
            Some(total) => {
                let columns = names.len().max(1);
                let share = total.saturating_sub(columns + 1) / columns;
                vec![share.max(MIN_COLUMN_WIDTH); names.len()]
            }
        };
        StreamedTable {
            widths,
            wrap: max_width.is_some(),
        }
    }

    /// The layout of rows known in advance: each column as wide as its widest cell, narrowed
    /// to the terminal's width.
    fn sized_to(names: &[String], rows: &[Vec<String>], layout: Layout) -> StreamedTable {
        let header: Vec<&str> = names.iter().map(String::as_str).collect();
        let max_width = layout.max_width();
        StreamedTable {
            widths: fit_widths(&header, rows, names.len() + 1, max_width),
            wrap: max_width.is_some(),
        }
    }

    /// `+----+----+`: the rule above and below the header and after the last row.
    fn border(&self) -> String {
        let mut line = String::from("+");
        for width in &self.widths {
            line.push_str(&"-".repeat(*width));
            line.push('+');
        }
        line
    }

    /// The header: rule, names, rule.
    fn header(&self, names: &[String]) -> String {
        let border = self.border();
        format!("{border}\n{}\n{border}", self.row(names))
    }

    /// `|a   |b   |`: one row, cells padded to their column. A cell wider than its column
    /// continues on the next lines at a terminal, and overflows it in scripts.
    fn row(&self, cells: &[String]) -> String {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(&self.widths)
            .map(|(cell, width)| {
                if self.wrap && cell.chars().count() > *width {
                    wrap(cell, *width)
                } else {
                    vec![cell.clone()]
                }
            })
            .collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        let mut lines = Vec::with_capacity(height);
        for index in 0..height {
            let mut line = String::from("|");
            for (cell_lines, width) in wrapped.iter().zip(&self.widths) {
                let text = cell_lines.get(index).map_or("", String::as_str);
                line.push_str(&pad(text, *width));
                line.push('|');
            }
            lines.push(line);
        }
        lines.join("\n")
    }
}

/// Column widths for a table of known cells: each column as wide as its widest cell, then,
/// when `max_width` is given and the table (with `overhead` characters of borders and
/// padding) is wider, the widest columns narrowed until it fits.
pub fn fit_widths(
    header: &[&str],
    rows: &[Vec<String>],
    overhead: usize,
    max_width: Option<usize>,
) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|name| name.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    if let Some(max_width) = max_width {
        let budget = max_width.saturating_sub(overhead);
        while widths.iter().sum::<usize>() > budget {
            let Some(widest) = widths
                .iter_mut()
                .filter(|width| **width > MIN_COLUMN_WIDTH)
                .max_by_key(|width| **width)
            else {
                break;
            };
            *widest -= 1;
        }
    }
    widths
}

/// `text` in lines of at most `width` characters, broken after spaces where possible.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut rest: Vec<char> = paragraph.chars().collect();
        loop {
            if rest.len() <= width {
                lines.push(rest.iter().collect());
                break;
            }
            // Break after the last space that keeps the line within `width`, else mid-word.
            let cut = rest[..width]
                .iter()
                .rposition(|c| *c == ' ')
                .map_or(width, |space| space + 1);
            let line: String = rest[..cut].iter().collect();
            lines.push(line.trim_end().to_string());
            rest.drain(..cut);
        }
    }
    lines
}

/// `text` padded with spaces to `width` characters.
pub fn pad(text: &str, width: usize) -> String {
    let length = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn script_rows_keep_their_fixed_layout() {
        let table = StreamedTable::new(&names(&["ID", "VALUE_COLUMN_NAME"]), Layout::Script);
        let cases = [
            (table.border(), "+------------+-----------------+"),
            (
                table.row(&names(&["a-rather-long-value", "v"])),
                "|a-rather-long-value|v                |",
            ),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn wide_cells_wrap_within_their_column() {
        let table = StreamedTable {
            widths: vec![6, 4],
            wrap: true,
        };
        let cases = [
            (names(&["ab", "cd"]), "|ab    |cd  |"),
            (
                names(&["hello world again", "x"]),
                "|hello |x   |\n|world |    |\n|again |    |",
            ),
            (names(&["abcdefghij", ""]), "|abcdef|    |\n|ghij  |    |"),
        ];
        for (cells, expected) in cases {
            assert_eq!(table.row(&cells), expected);
        }
    }

    #[test]
    fn rows_print_in_the_script_layout_at_once() -> std::io::Result<()> {
        let mut out = Vec::new();
        let mut printer = RowPrinter::start(names(&["ID", "V"]), Layout::Script, &mut out)?;
        assert_eq!(printer.holding_until(), None);
        printer.row(names(&["a", "1"]), &mut out)?;
        printer.end(&mut out)?;
        let expected = "+------------+------------+\n|ID          |V           |\n\
                        +------------+------------+\n|a           |1           |\n\
                        +------------+------------+\n";
        assert_eq!(String::from_utf8_lossy(&out), expected);
        Ok(())
    }

    #[test]
    fn rows_held_at_a_terminal_print_sized_to_their_content() -> std::io::Result<()> {
        let mut out = Vec::new();
        let mut printer = RowPrinter::start(names(&["ID", "V"]), Layout::Terminal, &mut out)?;
        assert!(printer.holding_until().is_some());
        printer.row(names(&["a-key", "1"]), &mut out)?;
        assert!(out.is_empty(), "the row is held back");
        printer.end(&mut out)?;
        let expected = "+-----+-+\n|ID   |V|\n+-----+-+\n|a-key|1|\n+-----+-+\n";
        assert_eq!(String::from_utf8_lossy(&out), expected);
        Ok(())
    }

    #[test]
    fn widths_fit_the_content_then_the_terminal() {
        let rows = vec![names(&["a", "a long cell of text"])];
        let cases = [
            (None, vec![4, 19]),
            (Some(100), vec![4, 19]),
            (Some(20), vec![4, 10]),
            (Some(5), vec![4, 5]),
        ];
        for (max_width, expected) in cases {
            assert_eq!(
                fit_widths(&["NAME", "TEXT"], &rows, 6, max_width),
                expected,
                "{max_width:?}"
            );
        }
    }
}
