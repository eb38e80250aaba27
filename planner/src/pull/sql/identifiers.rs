//! ksqlDB's identifier case rule for SQL that DataFusion plans: unquoted identifiers are
//! upper-cased, quoted ones (`"x"` or `` `x` ``) are kept as written.
//!
//! DataFusion runs with identifier normalization off, so the rewritten text means what it
//! meant to ksqlDB. Function names are upper-cased too, which is harmless: DataFusion always
//! lower-cases unquoted function names, and Eddy's functions have lower-case aliases.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::{PlanError, Result};

/// `sql` with every unquoted identifier (and keyword) upper-cased, everything else as written.
pub(super) fn upper_case_identifiers(sql: &str) -> Result<String> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize_with_location()
        .map_err(|error| PlanError::User(error.to_string()))?;
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(index, _)| index + 1))
        .collect();
    let mut text = String::with_capacity(sql.len());
    let mut copied = 0;
    for token in &tokens {
        let Token::Word(word) = &token.token else {
            continue;
        };
        if word.quote_style.is_some() || word.value.chars().all(|c| !c.is_lowercase()) {
            continue;
        }
        let location = token.span.start;
        let start = usize::try_from(location.line)
            .ok()
            .and_then(|line| line_starts.get(line.checked_sub(1)?))
            .and_then(|line_start| {
                let column = usize::try_from(location.column).ok()?.checked_sub(1)?;
                sql[*line_start..]
                    .char_indices()
                    .nth(column)
                    .map(|(offset, _)| line_start + offset)
            })
            .filter(|start| sql[*start..].starts_with(&word.value))
            .ok_or_else(|| {
                PlanError::Internal(format!(
                    "the tokenizer placed \"{}\" at {location} where it is not",
                    word.value
                ))
            })?;
        text.push_str(&sql[copied..start]);
        text.push_str(&word.value.to_uppercase());
        copied = start + word.value.len();
    }
    text.push_str(&sql[copied..]);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_identifiers_are_upper_cased() {
        let cases = [
            ("select count(*) from t", "SELECT COUNT(*) FROM T"),
            ("SELECT COUNT(*) FROM T", "SELECT COUNT(*) FROM T"),
            (
                "select a.id, `b`.\"Mixed\" from users a",
                "SELECT A.ID, `b`.\"Mixed\" FROM USERS A",
            ),
            (
                "select ucase(region) as r from t where region = 'eu' and x='it''s'",
                "SELECT UCASE(REGION) AS R FROM T WHERE REGION = 'eu' AND X='it''s'",
            ),
            (
                "select 'é' as e,\n  région\nfrom t -- a comment\nwhere k = 1",
                "SELECT 'é' AS E,\n  RÉGION\nFROM T -- a comment\nWHERE K = 1",
            ),
            (
                "select * from (select id from t) s order by id",
                "SELECT * FROM (SELECT ID FROM T) S ORDER BY ID",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                upper_case_identifiers(input).expect("tokenizes"),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn unterminated_strings_are_user_errors() {
        let error = upper_case_identifiers("select 'open from t").expect_err("unterminated");
        assert!(matches!(error, PlanError::User(_)), "{error:?}");
    }
}
