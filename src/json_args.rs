//! The `json` arguments of `graphql.resolve` and `graphql.metadata`, parsed here instead of by
//! pgrx's `Json`.
//!
//! PostgreSQL's `json` accepts what `serde_json`'s defaults refuse, and pgrx's `Json` turns a
//! refusal into a panic: an XX000 error with a Rust backtrace for a request that merely nests
//! deeper than 128 levels, holds a number beyond f64 or a lone surrogate escape. Here the text
//! is checked for depth first (a plain scan, no recursion), then parsed without serde_json's
//! recursion limit on a stack that grows as needed (`serde_stacker`), and every failure is a
//! request error with Hasura's `invalid-json` code.

use graft_compiler::GqlError;
use pgrx::callconv::{Arg, ArgAbi};
use pgrx::nullable::Nullable;
use pgrx::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// A `json` argument as the text PostgreSQL holds (no parsing by pgrx): parse it with [`parse`].
pub struct JsonArg(pub String);

impl FromDatum for JsonArg {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, typoid: pg_sys::Oid) -> Option<Self> {
        // A `json` datum is a text varlena.
        unsafe { String::from_polymorphic_datum(datum, is_null, typoid) }.map(JsonArg)
    }
}

// SAFETY: read through FromDatum, as pgrx reads its own `Json`.
unsafe impl<'fcx> ArgAbi<'fcx> for JsonArg {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

pgrx::impl_sql_translatable!(JsonArg, "json");

/// Deepest nesting of arrays and objects accepted. Hasura accepts at least 1,000 levels of
/// `_not`; this leaves room above that while bounding what the compiler then walks.
pub const MAX_DEPTH: usize = 2048;

/// A request's `variables` and `session` arguments, parsed as [`parse`] parses them (what
/// `graphql.resolve` and `graphql.subscription_reads` take).
pub fn request_args(variables: Option<JsonArg>, session: Option<JsonArg>) -> Result<(Option<Value>, Option<Value>), GqlError> {
    let variables = variables.map(|j| parse(&j.0, "variables")).transpose()?;
    let session = session.map(|j| parse(&j.0, "session")).transpose()?;
    Ok((variables, session))
}

/// Parse one `json` argument (`what` names it in the error: `variables`, `session` …).
pub fn parse(text: &str, what: &str) -> Result<Value, GqlError> {
    let depth = max_depth(text);
    if depth > MAX_DEPTH {
        return Err(GqlError::new(
            "invalid-json",
            "$",
            format!("the {what} JSON nests {depth} levels deep; at most {MAX_DEPTH} are accepted"),
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let de = serde_stacker::Deserializer::new(&mut de);
    let value = Value::deserialize(de).map_err(|e| invalid(what, &e))?;
    Ok(value)
}

fn invalid(what: &str, e: &serde_json::Error) -> GqlError {
    GqlError::new("invalid-json", "$", format!("Error in $ ({what}): {e}"))
}

/// The deepest nesting of `[`/`{` in JSON text, strings skipped (a backslash escapes the next
/// character, so `"\\"` ends where it should). Linear, no recursion.
pub fn max_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn depth_skips_strings_and_escapes() {
        assert_eq!(max_depth(r#"{"a": [1, {"b": "[[[{{{"}]}"#), 3);
        assert_eq!(max_depth(r#"{"a": "\\", "b": [[]]}"#), 3);
        assert_eq!(max_depth(r#"{"a": "\"[[[["}"#), 1);
        assert_eq!(max_depth("1"), 0);
    }

    #[test]
    fn deep_and_odd_json_is_an_error_or_a_value_never_a_panic() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&deep(1000), "variables").is_ok(), "1,000 levels are accepted");
        assert!(parse(&deep(MAX_DEPTH), "variables").is_ok());
        let e = parse(&deep(MAX_DEPTH + 1), "variables").unwrap_err();
        assert_eq!(e.code, "invalid-json");
        let e = parse(&"[".repeat(1 << 20), "variables").unwrap_err();
        assert_eq!(e.code, "invalid-json");
        for bad in [r#"{"n": 1e400}"#, r#"{"s": "\ud800"}"#, "{", "nope"] {
            assert_eq!(parse(bad, "variables").unwrap_err().code, "invalid-json", "{bad}");
        }
        assert_eq!(parse(r#"{"s": "\u0000"}"#, "variables").unwrap()["s"], "\u{0}");
    }
}
