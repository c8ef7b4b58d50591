//! A tokenizer for the SQL the compiler generates, just precise enough to find its `$n`
//! placeholders and the names it refers to without being fooled by text inside literals.
//!
//! PostgreSQL's lexical rules that matter here (scan.l):
//! * `'…'` strings with `''` for a quote (standard_conforming_strings, the default since 9.1);
//!   `E'…'` strings, where a backslash also escapes the next character (so `E'\''` is one
//!   quote). `B'…'`, `X'…'`, `N'…'` and `U&'…'` end like plain strings.
//! * `"…"` identifiers with `""` for a quote.
//! * `$tag$…$tag$` dollar-quoted strings; `$` followed by digits is a parameter.
//! * Unquoted identifiers may hold `$` and digits after the first character (`a$1` is one name).
//! * `--` comments to the end of the line, nested `/* … */` comments.
//!
//! Anything unterminated is an error: the caller then refuses to rewrite the statement rather
//! than guess (fail closed).

/// One token; `start..end` is its byte range in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An unquoted identifier or keyword, as written.
    Word(String),
    /// A quoted identifier, unescaped.
    Quoted(String),
    /// `$n`.
    Param(usize),
    /// A string literal of any kind (its text is never needed).
    Str,
    Number,
    /// `::`
    Cast,
    /// Any other single character: `(`, `)`, `.`, `,`, operators.
    Punct(char),
}

impl Kind {
    /// The name an identifier token denotes (unquoted words fold to lower case, as
    /// PostgreSQL folds them); `None` for other tokens.
    pub fn name(&self) -> Option<String> {
        match self {
            Kind::Word(w) => Some(w.to_ascii_lowercase()),
            Kind::Quoted(q) => Some(q.clone()),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    #[error("unterminated {what} at byte {at}")]
    Unterminated { what: &'static str, at: usize },
    #[error("unexpected `$` at byte {at}")]
    Dollar { at: usize },
    #[error("parameter number out of range at byte {at}")]
    ParamRange { at: usize },
    /// The extension's interrupt check answered (`crate::interrupt`).
    #[error("{0}")]
    Interrupted(String),
}

/// [`crate::interrupt::tick`], for loops over a statement's size.
pub fn tick() -> Result<(), LexError> {
    crate::interrupt::tick().map_err(|e| LexError::Interrupted(e.message))
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn ident_cont(c: char) -> bool {
    ident_start(c) || c.is_ascii_digit() || c == '$'
}

/// Tokenize `sql`.
pub fn tokens(sql: &str) -> Result<Vec<Token>, LexError> {
    let b = sql.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    // Byte offset of the next char boundary after `i` (input is UTF-8; only ASCII matters).
    let next_char = |i: usize| i + sql[i..].chars().next().map(char::len_utf8).unwrap_or(1);
    while i < n {
        tick()?;
        let c = sql[i..].chars().next().unwrap_or('\0');
        let start = i;
        if c.is_ascii_whitespace() {
            i = next_char(i);
            continue;
        }
        if c == '-' && b.get(i + 1) == Some(&b'-') {
            while i < n && b[i] != b'\n' && b[i] != b'\r' {
                i += 1;
            }
            continue;
        }
        if c == '/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0usize;
            loop {
                if i + 1 >= n {
                    return Err(LexError::Unterminated { what: "comment", at: start });
                }
                if b[i] == b'/' && b[i + 1] == b'*' {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b[i + 1] == b'/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        let kind = match c {
            '\'' => {
                i = string_end(b, i + 1, false).ok_or(LexError::Unterminated { what: "string", at: start })?;
                Kind::Str
            }
            '"' => {
                let mut text = String::new();
                let mut j = i + 1;
                loop {
                    let Some(rel) = sql[j..].find('"') else {
                        return Err(LexError::Unterminated { what: "quoted identifier", at: start });
                    };
                    text.push_str(&sql[j..j + rel]);
                    j += rel + 1;
                    if b.get(j) == Some(&b'"') {
                        text.push('"');
                        j += 1;
                    } else {
                        break;
                    }
                }
                i = j;
                Kind::Quoted(text)
            }
            '$' => {
                let mut j = i + 1;
                while j < n && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j > i + 1 {
                    let num: usize = sql[i + 1..j].parse().map_err(|_| LexError::ParamRange { at: start })?;
                    i = j;
                    Kind::Param(num)
                } else {
                    // `$tag$ … $tag$` (the tag may be empty); a tag holds no `$` and does not
                    // start with a digit (checked above).
                    let mut k = i + 1;
                    while k < n && sql[k..].chars().next().is_some_and(|c| ident_start(c) || c.is_ascii_digit()) {
                        k = next_char(k);
                    }
                    if b.get(k) != Some(&b'$') {
                        return Err(LexError::Dollar { at: start });
                    }
                    let tag = &sql[i..=k];
                    let body = k + 1;
                    let Some(rel) = sql[body..].find(tag) else {
                        return Err(LexError::Unterminated { what: "dollar-quoted string", at: start });
                    };
                    i = body + rel + tag.len();
                    Kind::Str
                }
            }
            ':' if b.get(i + 1) == Some(&b':') => {
                i += 2;
                Kind::Cast
            }
            c if c.is_ascii_digit() || (c == '.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                while i < n && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                if i < n && (b[i] == b'e' || b[i] == b'E') {
                    let mut j = i + 1;
                    if j < n && (b[j] == b'+' || b[j] == b'-') {
                        j += 1;
                    }
                    if j < n && b[j].is_ascii_digit() {
                        i = j;
                        while i < n && b[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                Kind::Number
            }
            c if ident_start(c) => {
                let mut j = i;
                while j < n && sql[j..].chars().next().is_some_and(ident_cont) {
                    j = next_char(j);
                }
                let word = &sql[i..j];
                if b.get(j) == Some(&b'\'') {
                    // A string with a prefix: `E'…'` takes backslash escapes, the others
                    // (`B`, `X`, `N`) end like plain strings.
                    let escapes = word.eq_ignore_ascii_case("e");
                    if word.len() == 1 && "eEbBxXnN".contains(word) {
                        i = string_end(b, j + 1, escapes).ok_or(LexError::Unterminated { what: "string", at: start })?;
                        out.push(Token { kind: Kind::Str, start, end: i });
                        continue;
                    }
                }
                i = j;
                Kind::Word(word.to_string())
            }
            other => {
                i = next_char(i);
                Kind::Punct(other)
            }
        };
        out.push(Token { kind, start, end: i });
    }
    Ok(out)
}

/// The offset just past the closing quote of a string whose body starts at `from`.
fn string_end(b: &[u8], from: usize, backslash_escapes: bool) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' if backslash_escapes => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(sql: &str) -> Vec<usize> {
        tokens(sql).unwrap().into_iter().filter_map(|t| if let Kind::Param(n) = t.kind { Some(n) } else { None }).collect()
    }

    #[test]
    fn parameters_outside_literals_only() {
        assert_eq!(params("SELECT ($1)::int4, '$2', \"$3\", E'\\'$4', $5"), vec![1, 5]);
        assert_eq!(params("SELECT 'it''s $1' || $2 -- $3\n, /* $4 /* $5 */ $6 */ $7"), vec![2, 7]);
        assert_eq!(params("SELECT $$ $1 $$, $q$ $2 $q$, a$3, $4"), vec![4]);
        assert_eq!(params("SELECT \"a\"\"$1\", e'\\\\', $2, x'1f', b'$3'"), vec![2]);
        // Without `E`, a backslash is an ordinary character: the string ends at the quote.
        assert_eq!(params("SELECT '\\', $1"), vec![1]);
    }

    #[test]
    fn a_cancelled_statement_stops_the_scan() {
        fn cancelled() -> Result<(), crate::error::GqlError> {
            Err(crate::interrupt::interrupted())
        }
        let sql = "SELECT ($1) ".repeat(2 * crate::interrupt::EVERY as usize);
        crate::interrupt::set_check(cancelled);
        let r = tokens(&sql);
        crate::interrupt::clear_check();
        assert!(matches!(r, Err(LexError::Interrupted(_))), "{r:?}");
    }

    #[test]
    fn unterminated_input_is_refused() {
        for bad in ["SELECT 'a", "SELECT \"a", "SELECT E'\\'", "SELECT /* a", "SELECT $q$ a", "SELECT $ 1"] {
            assert!(tokens(bad).is_err(), "{bad}");
        }
    }

    use proptest::prelude::*;

    /// Pieces of generated SQL: a literal or identifier (quoted the way the compiler quotes
    /// them) around arbitrary text, a placeholder, or plain SQL.
    #[derive(Clone, Debug)]
    enum Piece {
        Literal(String),
        Ident(String),
        Param(usize),
        Sql(&'static str),
    }

    fn piece() -> impl Strategy<Value = Piece> {
        let text = prop::collection::vec(prop::sample::select(vec!["a", "'", "\"", "\\", "$1", "$$", "$a$", "--", "/*", "*/", "E'", " ", "\n", "é"]), 0..6)
            .prop_map(|v| v.concat());
        prop_oneof![
            text.clone().prop_map(Piece::Literal),
            text.prop_map(Piece::Ident),
            (1..30usize).prop_map(Piece::Param),
            prop::sample::select(vec!["SELECT ", ", ", " = ", "(", ")", "::", "x", " AND ", "_i1.", "E", "1.5", " ->> 0"]).prop_map(Piece::Sql),
        ]
    }

    proptest! {
        /// Exactly the placeholders put between the pieces are found, with their spans, however
        /// the literals and identifiers around them are made.
        #[test]
        fn finds_exactly_the_placeholders(pieces in prop::collection::vec(piece(), 0..20)) {
            let mut sql = String::new();
            let mut expected = vec![];
            for p in &pieces {
                // Keep every piece a separate token, as generated SQL does.
                sql.push(' ');
                match p {
                    Piece::Literal(t) => sql.push_str(&crate::schema::names::quote_literal(t)),
                    Piece::Ident(t) => sql.push_str(&crate::schema::names::quote_ident(t)),
                    Piece::Param(n) => {
                        expected.push((*n, sql.len()));
                        sql.push_str(&format!("(${n})"));
                    }
                    Piece::Sql(s) => sql.push_str(s),
                }
            }
            let found: Vec<(usize, usize)> = tokens(&sql).unwrap().into_iter()
                .filter_map(|t| if let Kind::Param(n) = t.kind { Some((n, t.start - 1)) } else { None })
                .collect();
            prop_assert_eq!(found, expected, "{}", sql);
        }
    }

    #[test]
    fn names_and_casts() {
        let t = tokens("FROM \"public\".\"a\"\"b\" AS _i1 WHERE x::\"pg_catalog\".\"int4\"[] = 1.5e3").unwrap();
        let kinds: Vec<Kind> = t.into_iter().map(|t| t.kind).collect();
        assert_eq!(kinds[1], Kind::Quoted("public".into()));
        assert_eq!(kinds[3], Kind::Quoted("a\"b".into()));
        assert!(kinds.contains(&Kind::Cast));
        assert_eq!(kinds.last(), Some(&Kind::Number));
        assert_eq!(Kind::Word("Foo".into()).name().as_deref(), Some("foo"));
    }
}
