//! Statements whose parameters are named in their text (`:amount`) instead of numbered (`$6`), so
//! that a reader of a long statement never counts parameters to know which value lands where.
//!
//! A [`NamedSql`] is rendered once (the statements live in `LazyLock`s) into the `$n` placeholders
//! both PostgreSQL and SQLite accept, numbered by first appearance; [`NamedSql::statement`] then
//! binds the values by name, and refuses a missing or an unknown name. A name is `:` followed by
//! lower-case letters, digits and `_`; a cast (`::int8[]`) is left alone.

use sea_orm::{DbBackend, Statement, Value};

use crate::error::LedgerError;

/// A statement text with named parameters, rendered to numbered placeholders.
#[derive(Clone, Debug)]
pub(super) struct NamedSql {
    text: String,
    /// The parameter names, in the order of their placeholders (`$1` first).
    names: Vec<String>,
}

impl NamedSql {
    pub(super) fn new(template: &str) -> Self {
        let mut text = String::with_capacity(template.len());
        let mut names: Vec<String> = vec![];
        let mut rest = template;
        while let Some(at) = rest.find(':') {
            let (before, from_colon) = rest.split_at(at);
            text.push_str(before);
            let after = &from_colon[1..];
            let name_len = after.find(|c: char| !is_name_char(c)).unwrap_or(after.len());
            let is_cast = text.ends_with(':') || after.starts_with(':');
            if is_cast || name_len == 0 || !after.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
                text.push(':');
                rest = after;
                continue;
            }
            let name = &after[..name_len];
            let number = match names.iter().position(|n| n == name) {
                Some(i) => i + 1,
                None => {
                    names.push(name.to_owned());
                    names.len()
                }
            };
            text.push_str(&format!("${number}"));
            rest = &after[name_len..];
        }
        text.push_str(rest);
        NamedSql { text, names }
    }

    /// The statement with `values` bound to their names (in any order).
    pub(super) fn statement(
        &self,
        backend: DbBackend,
        mut values: Vec<(&str, Value)>,
    ) -> Result<Statement, LedgerError> {
        let mut ordered = Vec::with_capacity(self.names.len());
        for name in &self.names {
            let i = values
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| LedgerError::Invariant(format!("no value for the parameter :{name}")))?;
            ordered.push(values.swap_remove(i).1);
        }
        if let Some((name, _)) = values.first() {
            return Err(LedgerError::Invariant(format!("the statement has no parameter :{name}")));
        }
        Ok(Statement::from_sql_and_values(backend, self.text.as_str(), ordered))
    }

    /// Whether the text names the parameter `name`.
    pub(super) fn has_parameter(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    #[cfg(test)]
    pub(super) fn text(&self) -> &str {
        &self.text
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// `count` numbered placeholders from `$first` on, joined by commas: for the statements whose
/// length follows the batch (SQLite's `IN` lists and multi-row `VALUES`), where code numbers them.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|k| format!("${k}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_numbered_by_first_appearance_and_casts_are_kept() {
        let sql = NamedSql::new("SELECT :b::int8[], :a, :b, x::text, 'a:1' FROM t WHERE y = :a_2");
        assert_eq!(sql.text(), "SELECT $1::int8[], $2, $1, x::text, 'a:1' FROM t WHERE y = $3");
        assert_eq!(sql.names, ["b", "a", "a_2"]);
    }

    #[test]
    fn values_are_bound_by_name_whatever_their_order() {
        let sql = NamedSql::new("UPDATE t SET a = :a WHERE id = :id");
        let statement = sql.statement(DbBackend::Postgres, vec![("id", 7i64.into()), ("a", 1i64.into())]).unwrap();
        assert_eq!(statement.values.unwrap().0, vec![Value::from(1i64), Value::from(7i64)]);
    }

    #[test]
    fn a_missing_or_unknown_name_is_refused() {
        let sql = NamedSql::new("SELECT :a");
        assert!(matches!(sql.statement(DbBackend::Sqlite, vec![]), Err(LedgerError::Invariant(_))));
        let extra = vec![("a", 1i64.into()), ("b", 2i64.into())];
        assert!(matches!(sql.statement(DbBackend::Sqlite, extra), Err(LedgerError::Invariant(_))));
    }

    #[test]
    fn placeholders_continue_from_the_first_number() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
    }
}
