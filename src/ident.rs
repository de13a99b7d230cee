//! The only way a name enters SQL: always quoted, whatever it contains.

use std::fmt;

/// A Postgres identifier, rendered with double quotes (embedded quotes doubled).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgIdent(pub String);

impl fmt::Display for PgIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        f.write_str(&self.0.replace('"', "\"\""))?;
        f.write_str("\"")
    }
}

/// `"schema"."table"`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgName {
    pub schema: String,
    pub name: String,
}

impl fmt::Display for PgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            PgIdent(self.schema.clone()),
            PgIdent(self.name.clone())
        )
    }
}

/// A MySQL identifier, rendered with backticks (embedded backticks doubled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyIdent(pub String);

impl fmt::Display for MyIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`")?;
        f.write_str(&self.0.replace('`', "``"))?;
        f.write_str("`")
    }
}

/// A Postgres string literal. The escape form reads the same whatever the session's
/// standard_conforming_strings says: backslashes are doubled, quotes too.
pub fn pg_literal(s: &str) -> String {
    format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_quoted() {
        assert_eq!(PgIdent("a\"b; DROP".into()).to_string(), "\"a\"\"b; DROP\"");
        assert_eq!(MyIdent("x`y".into()).to_string(), "`x``y`");
        let n = PgName {
            schema: "s\"".into(),
            name: "Tbl".into(),
        };
        assert_eq!(n.to_string(), "\"s\"\"\".\"Tbl\"");
        assert_eq!(pg_literal("it's"), "E'it''s'");
        assert_eq!(pg_literal(r#"a\"b"#), r#"E'a\\"b'"#);
    }
}

/// A name as one line of a human report: control characters (a newline in a quoted
/// MySQL identifier, the attack's `../evil⏎name`) shown escaped, so one name cannot
/// split the report's lines or forge one.
pub fn one_line(name: &str) -> std::borrow::Cow<'_, str> {
    if name.chars().any(char::is_control) {
        name.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        name.into()
    }
}

#[cfg(test)]
mod one_line_tests {
    #[test]
    fn control_characters_in_names_are_escaped() {
        assert_eq!(super::one_line("plain_näme 😀"), "plain_näme 😀");
        assert_eq!(
            super::one_line("../evil\nname\r\t\u{1b}"),
            "../evil\\nname\\r\\t\\u{1b}"
        );
    }
}
