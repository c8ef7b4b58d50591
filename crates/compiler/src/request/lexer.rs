//! A GraphQL tokenizer (the lexical grammar of the spec, October 2021 §2.1) that measures how
//! deeply a document nests before the parser, which recurses on every level, sees it.
//!
//! Strings (with `\` escapes), block strings (`"""…"""`, where `\"""` does not close) and
//! comments (`#` to the end of the line) are skipped, so braces inside them count for nothing
//! and a quote inside them cannot flip the state. Punctuators `{ [ (` open a level and `} ] )`
//! close one.

use crate::error::GqlError;

/// How deeply a document nests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nesting {
    /// Selection-set depth: `{` outside any argument list or variable definitions.
    pub selection: usize,
    /// Any mix of `{`, `[` and `(`.
    pub brackets: usize,
}

/// The deepest nesting of `src`. Stops as soon as `selection > max_selection` or
/// `brackets > max_brackets` (the answer then exceeds the bound), so a huge nest is rejected
/// after reading only as much of it as the bound. Runs the interrupt check as it goes.
pub fn nesting(src: &str, max_selection: usize, max_brackets: usize) -> Result<Nesting, GqlError> {
    let b = src.as_bytes();
    let n = b.len();
    let mut i = 0;
    // Open brackets, innermost last: whether each is a `(`… or a selection set.
    let mut parens = 0usize;
    let (mut sel, mut all) = (0usize, 0usize);
    let mut max = Nesting::default();
    // Selection `{`s per level of `(`: `{` opens a selection only outside every `(`.
    while i < n {
        crate::interrupt::tick()?;
        match b[i] {
            b'#' => {
                // A comment runs to the end of the line (LF, CR or CRLF).
                while i < n && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                if i + 2 < n && b[i + 1] == b'"' && b[i + 2] == b'"' {
                    // Block string: ends at the first `"""` not preceded by `\`.
                    i += 3;
                    loop {
                        if i >= n {
                            break;
                        }
                        if b[i] == b'\\' && i + 3 < n && b[i + 1] == b'"' && b[i + 2] == b'"' && b[i + 3] == b'"' {
                            i += 4;
                            continue;
                        }
                        if b[i] == b'"' && i + 2 < n && b[i + 1] == b'"' && b[i + 2] == b'"' {
                            i += 3;
                            break;
                        }
                        i += 1;
                    }
                } else {
                    // String: `\` escapes the next character; ends at `"` or the end of the line
                    // (an unterminated string, which the parser rejects).
                    i += 1;
                    while i < n {
                        match b[i] {
                            b'\\' => i += 2,
                            b'"' => {
                                i += 1;
                                break;
                            }
                            b'\n' | b'\r' => break,
                            _ => i += 1,
                        }
                    }
                }
                continue;
            }
            b'(' => {
                parens += 1;
                all += 1;
            }
            b')' => {
                parens = parens.saturating_sub(1);
                all = all.saturating_sub(1);
            }
            b'[' => all += 1,
            b']' => all = all.saturating_sub(1),
            b'{' => {
                all += 1;
                if parens == 0 {
                    sel += 1;
                }
            }
            b'}' => {
                all = all.saturating_sub(1);
                if parens == 0 {
                    sel = sel.saturating_sub(1);
                }
            }
            _ => {}
        }
        max.selection = max.selection.max(sel);
        max.brackets = max.brackets.max(all);
        if max.selection > max_selection || max.brackets > max_brackets {
            return Ok(max);
        }
        i += 1;
    }
    Ok(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(s: &str) -> (usize, usize) {
        let d = nesting(s, usize::MAX, usize::MAX).unwrap();
        (d.selection, d.brackets)
    }

    #[test]
    fn counts_selections_and_brackets() {
        assert_eq!(depth("{ a { b } }"), (2, 2));
        assert_eq!(depth("{ a(where: {x: {y: [1]}}) { b } }"), (2, 5));
        assert_eq!(depth("query ($v: [[Int]] = [[1]]) { a }"), (1, 3));
    }

    #[test]
    fn escaped_backslash_closes_the_string() {
        // `"\\"` is one backslash; the quote after it closes the string, so the braces that
        // follow are real (the old check took `\"` for an escaped quote and skipped them).
        assert_eq!(depth(r#"{ a(s: "\\") { b { c } } }"#), (3, 3));
        assert_eq!(depth(r#"{ a(s: "\"{{{{") }"#), (1, 2));
    }

    #[test]
    fn comments_hide_braces_and_quotes() {
        assert_eq!(depth("{ a # {{{{ \" \n { b } }"), (2, 2));
        assert_eq!(depth("# \"\n{ a { b { c } } }"), (3, 3));
        assert_eq!(depth("{ a \"#\" }"), (1, 1));
    }

    #[test]
    fn block_strings() {
        assert_eq!(depth(r#"{ a(s: """ {{{{ " "" """) { b } }"#), (2, 2));
        // `\"""` does not close a block string.
        assert_eq!(depth(r#"{ a(s: """ \""" {{{{ """) { b } }"#), (2, 2));
        // A quote right after a block string starts a new string.
        assert_eq!(depth(r#"{ a(s: """x""", t: "}}") { b } }"#), (2, 2));
    }

    #[test]
    fn stops_at_the_bound() {
        let deep = "{".repeat(1 << 20);
        let d = nesting(&deep, 64, 256).unwrap();
        assert_eq!(d.selection, 65);
    }
}
