//! Chord grid lines (`{start_of_grid}`): space-separated cells, bar lines and repeat marks, with
//! margins before the first bar line and after the last.

use serde::Serialize;

/// One cell of a grid line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChartCell"))]
#[serde(tag = "cell", rename_all = "snake_case")]
pub enum Cell {
    /// A chord in a beat.
    Chord {
        /// As written, or as rendered for the reader.
        chord: String,
        /// Its shape under the reader's capo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        shape: Option<String>,
    },
    /// An empty beat (`.`).
    Empty,
    /// A bar line: `|`, `||`, `|.`, `|:`, `:|`, `:|:`.
    Bar {
        /// The symbol.
        symbol: String,
    },
    /// Repeat the last measure (`%`) or the last two (`%%`).
    Repeat {
        /// The symbol.
        symbol: String,
    },
    /// Margin text: before the first bar line (a label) or after the last (a note).
    Margin {
        /// The text.
        text: String,
    },
}

const BARS: [&str; 6] = ["|", "||", "|.", "|:", ":|", ":|:"];

/// Reads one grid line. Tokens before the first bar line form the left margin, those after the
/// last the right one; a line without a bar line is all margin.
#[must_use]
pub fn parse_line(line: &str) -> Vec<Cell> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let (Some(first), Some(last)) =
        (tokens.iter().position(|t| BARS.contains(t)), tokens.iter().rposition(|t| BARS.contains(t)))
    else {
        return margin(&tokens);
    };
    let mut cells = margin(&tokens[..first]);
    for t in &tokens[first..=last] {
        cells.push(match *t {
            "." => Cell::Empty,
            "%" | "%%" => Cell::Repeat { symbol: (*t).to_owned() },
            b if BARS.contains(&b) => Cell::Bar { symbol: b.to_owned() },
            c => Cell::Chord { chord: c.to_owned(), shape: None },
        });
    }
    cells.extend(margin(&tokens[last + 1..]));
    cells
}

fn margin(tokens: &[&str]) -> Vec<Cell> {
    if tokens.is_empty() { Vec::new() } else { vec![Cell::Margin { text: tokens.join(" ") }] }
}
