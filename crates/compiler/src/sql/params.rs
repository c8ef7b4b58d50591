//! Bound parameters: every user value becomes `$n::<type>` with its text form in `values`.

use serde_json::Value;

#[derive(Debug, Default)]
pub struct Params {
    pub values: Vec<Option<String>>,
    /// Set when a value's validity is only known once Postgres parses it (dates, uuids,
    /// regex patterns …): the statement then runs guarded so the error becomes a GraphQL error.
    pub needs_guard: bool,
}

/// Types whose text form the compiler has already validated: casting cannot fail.
fn cast_cannot_fail(sql_type: &str) -> bool {
    matches!(
        sql_type,
        "\"pg_catalog\".\"int4\""
            | "\"pg_catalog\".\"int8\""
            | "\"pg_catalog\".\"bool\""
            | "\"pg_catalog\".\"text\""
            | "\"pg_catalog\".\"varchar\""
            | "\"pg_catalog\".\"json\""
            | "\"pg_catalog\".\"jsonb\""
            | "\"pg_catalog\".\"text\"[]"
            | "\"pg_catalog\".\"int4\"[]"
            | "\"pg_catalog\".\"int8\"[]"
    )
}

impl Params {
    /// Bind a scalar JSON value cast to `sql_type`; returns the SQL placeholder.
    pub fn scalar(&mut self, v: &Value, sql_type: &str) -> String {
        let text = match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => Some(other.to_string()),
        };
        // Numbers arrive validated, but e.g. a float literal for an int8 column can still fail.
        let text_into_typed = matches!(v, Value::String(_))
            && matches!(sql_type, "\"pg_catalog\".\"int4\"" | "\"pg_catalog\".\"int8\"" | "\"pg_catalog\".\"bool\"");
        if !cast_cannot_fail(sql_type) || text_into_typed || matches!(v, Value::Number(n) if !n.is_i64() && !n.is_u64()) {
            self.needs_guard = true;
        }
        self.push(text, sql_type)
    }

    /// Bind a JSON value as json/jsonb text.
    pub fn json(&mut self, v: &Value, sql_type: &str) -> String {
        self.push(Some(v.to_string()), sql_type)
    }

    /// Bind a list as a Postgres array literal of `elem_sql_type`.
    pub fn array(&mut self, items: &[Value], elem_sql_type: &str) -> String {
        let ty = format!("{elem_sql_type}[]");
        if !cast_cannot_fail(elem_sql_type) {
            self.needs_guard = true;
        }
        self.push(Some(array_literal(items)), &ty)
    }

    /// Bind a raw text value (already in Postgres input form).
    pub fn text(&mut self, s: String, sql_type: &str) -> String {
        self.push(Some(s), sql_type)
    }

    fn push(&mut self, text: Option<String>, sql_type: &str) -> String {
        self.values.push(text);
        format!("(${})::{}", self.values.len(), sql_type)
    }
}

/// `{"a","b",NULL}` with `"` and `\` escaped; nested lists become nested braces.
pub fn array_literal(items: &[Value]) -> String {
    let mut s = String::from("{");
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        match v {
            Value::Null => s.push_str("NULL"),
            Value::Array(inner) => s.push_str(&array_literal(inner)),
            other => {
                let text = match other {
                    Value::String(t) => t.clone(),
                    x => x.to_string(),
                };
                s.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        s.push('\\');
                    }
                    s.push(c);
                }
                s.push('"');
            }
        }
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn array_literals_escape() {
        assert_eq!(array_literal(&[json!("a\"b"), json!("c\\d"), Value::Null, json!(3)]), r#"{"a\"b","c\\d",NULL,"3"}"#);
    }

    #[test]
    fn guard_only_when_needed() {
        let mut p = Params::default();
        p.scalar(&json!(1), "\"pg_catalog\".\"int4\"");
        assert!(!p.needs_guard);
        p.scalar(&json!("2020-01-01"), "\"pg_catalog\".\"timestamptz\"");
        assert!(p.needs_guard);
        assert_eq!(p.values, vec![Some("1".into()), Some("2020-01-01".into())]);
    }
}
