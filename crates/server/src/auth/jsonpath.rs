//! The JSONPath Hasura accepts in `claims_namespace_path` and `claims_map` (its own parser,
//! `Data.Parser.JSONPath.parseJSONPath`, an attoparsec grammar), and its `encodeJSONPath`,
//! which `/v1alpha1/config` uses to print a path back.
//!
//! Grammar (every alternative backtracks, as attoparsec's `<|>` does):
//!
//! ```text
//! path     := "$"                         -- exactly: the whole document
//!           | "$"? element+ EOF
//! element  := "."? name                   -- field  or  .field
//!           | "."? "[" inner "]"          -- [42], ["field"], ['field'], .[0], .['field']
//! inner    := decimal
//!           | '"' jchar* '"'              -- JSON string escapes (\n, \", \u00e9 …)
//!           | "'" schar* "'"              -- the same, with \' for a quote
//! name     := (letter | "_") (letter | digit | "-" | "_")*   -- letter: any Unicode letter
//! ```
//!
//! So `$.a.b`, `a.b` (the `$` is optional), `$a`, `$['x.y']`, `$.['x.y'].user.id` and `$[0]`
//! are paths; `$.`, `$..a`, `$.1a`, `$[]`, `$[-1]` and `$['a` are not.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath(Vec<Step>);

/// Hasura's message for a path its parser refuses (it names no position).
fn invalid(text: &str) -> String {
    format!(
        "{text}. Accept letters, digits, underscore (_) or hyphen (-) only. Use quotes enclosed in bracket ([\"...\"]) if there is any special character"
    )
}

struct Parser<'a> {
    chars: &'a [char],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// One `element`, or `None` (with the position unchanged) if none starts here.
    fn element(&mut self) -> Option<Step> {
        let start = self.at;
        self.eat('.');
        if let Some(name) = self.name() {
            return Some(Step::Key(name));
        }
        self.at = start;
        self.eat('.');
        if let Some(step) = self.bracket() {
            return Some(step);
        }
        self.at = start;
        None
    }

    fn name(&mut self) -> Option<String> {
        let first = self.peek().filter(|c| c.is_alphabetic() || *c == '_')?;
        let mut out = String::from(first);
        self.at += 1;
        while let Some(c) = self.peek().filter(|c| c.is_alphabetic() || c.is_ascii_digit() || *c == '-' || *c == '_') {
            out.push(c);
            self.at += 1;
        }
        Some(out)
    }

    fn bracket(&mut self) -> Option<Step> {
        if !self.eat('[') {
            return None;
        }
        let step = match self.peek()? {
            c if c.is_ascii_digit() => {
                let start = self.at;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.at += 1;
                }
                let digits: String = self.chars[start..self.at].iter().collect();
                Step::Index(digits.parse().ok()?)
            }
            q @ ('"' | '\'') => Step::Key(self.quoted(q)?),
            _ => return None,
        };
        self.eat(']').then_some(step)
    }

    /// A quoted key: its text between the quotes becomes a JSON string literal and is decoded
    /// as one (Hasura's `parseJSONString`); in single quotes `\'` is a quote and `"` is
    /// escaped first.
    fn quoted(&mut self, quote: char) -> Option<String> {
        self.at += 1;
        let mut literal = String::from('"');
        loop {
            match self.peek()? {
                c if c == quote => {
                    self.at += 1;
                    break;
                }
                '\\' => {
                    let next = *self.chars.get(self.at + 1)?;
                    if quote == '\'' && next == '\'' {
                        literal.push('\'');
                    } else {
                        literal.push('\\');
                        literal.push(next);
                    }
                    self.at += 2;
                }
                '"' => {
                    // Only reachable inside single quotes.
                    literal.push_str("\\\"");
                    self.at += 1;
                }
                c => {
                    literal.push(c);
                    self.at += 1;
                }
            }
        }
        literal.push('"');
        serde_json::from_str::<String>(&literal).ok()
    }
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        if text == "$" {
            return Ok(JsonPath(Vec::new()));
        }
        let chars: Vec<char> = text.chars().collect();
        let mut p = Parser { chars: &chars, at: 0 };
        p.eat('$');
        let mut steps = Vec::new();
        while let Some(step) = p.element() {
            steps.push(step);
        }
        if steps.is_empty() || p.at != chars.len() {
            return Err(invalid(text));
        }
        Ok(JsonPath(steps))
    }

    pub fn get<'a>(&self, mut v: &'a Value) -> Option<&'a Value> {
        for step in &self.0 {
            v = match step {
                Step::Key(k) => v.as_object()?.get(k)?,
                Step::Index(n) => v.as_array()?.get(*n)?,
            };
        }
        Some(v)
    }

    /// Hasura's `encodeJSONPath`: `.key` when the key is an ASCII letter or `_` followed by
    /// ASCII letters, digits, `_` and `-`; otherwise `["key"]` with the key JSON-encoded.
    pub fn encode(&self) -> String {
        let mut out = String::from("$");
        for step in &self.0 {
            match step {
                Step::Index(n) => out.push_str(&format!("[{n}]")),
                Step::Key(k) => {
                    let mut chars = k.chars();
                    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if plain {
                        out.push('.');
                        out.push_str(k);
                    } else {
                        out.push('[');
                        out.push_str(&Value::String(k.clone()).to_string());
                        out.push(']');
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(text: &str) -> Vec<Step> {
        JsonPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).0
    }

    fn k(s: &str) -> Step {
        Step::Key(s.into())
    }

    #[test]
    fn paths() {
        let doc = json!({"hasura": {"claims": {"a": 1}}, "x.y": [10, {"z": "w"}]});
        assert_eq!(JsonPath::parse("$").unwrap().get(&doc), Some(&doc));
        assert_eq!(JsonPath::parse("$.hasura.claims.a").unwrap().get(&doc), Some(&json!(1)));
        assert_eq!(JsonPath::parse("$['x.y'][1].z").unwrap().get(&doc), Some(&json!("w")));
        assert_eq!(JsonPath::parse("$[\"x.y\"][0]").unwrap().get(&doc), Some(&json!(10)));
        assert_eq!(JsonPath::parse("$.nope.a").unwrap().get(&doc), None);
    }

    #[test]
    fn every_form_hasura_accepts() {
        // A dot before a bracket (the issue's case), with the key holding dots and slashes.
        let doc = json!({"https://myapp.com/jwt/claims": {"user": {"id": 7}}});
        let p = JsonPath::parse("$.['https://myapp.com/jwt/claims'].user.id").unwrap();
        assert_eq!(p.get(&doc), Some(&json!(7)));
        assert_eq!(keys("$.[\"https://myapp.com/jwt/claims\"].user"), vec![k("https://myapp.com/jwt/claims"), k("user")]);
        // No `$`, or `$` directly followed by a name or a bracket.
        assert_eq!(keys("hasura.claims"), vec![k("hasura"), k("claims")]);
        assert_eq!(keys("$hasura"), vec![k("hasura")]);
        assert_eq!(keys("[0]"), vec![Step::Index(0)]);
        assert_eq!(keys("$.roles.[1]"), vec![k("roles"), Step::Index(1)]);
        // Names: Unicode letters, `_` first, then digits, `-` and `_`.
        assert_eq!(keys("$._a-b_9.héllo"), vec![k("_a-b_9"), k("héllo")]);
        // Quoted keys decode JSON escapes; in single quotes \' is a quote and " is literal.
        assert_eq!(keys(r#"$["a\"b\u00e9\n"]"#), vec![k("a\"bé\n")]);
        assert_eq!(keys(r#"$['it\'s "x"']"#), vec![k("it's \"x\"")]);
        assert_eq!(keys("$['']"), vec![k("")]);
        assert_eq!(keys("$['你好'][007]"), vec![k("你好"), Step::Index(7)]);
    }

    #[test]
    fn what_hasura_refuses() {
        for bad in ["", "$.", "$..a", "$.1a", "1a", "$[]", "$[-1]", "$['a", "$['a'", "$[a]", "$.a b", "$$", "$.a.", "$[\"\\q\"]", "$ .a", " $.a"] {
            let e = JsonPath::parse(bad).expect_err(bad);
            assert!(e.starts_with(&format!("{bad}. Accept letters, digits, underscore (_) or hyphen (-) only")), "{e}");
        }
    }

    #[test]
    fn encoded_as_hasura_prints_it() {
        let enc = |t: &str| JsonPath::parse(t).unwrap().encode();
        assert_eq!(enc("$"), "$");
        assert_eq!(enc("hasura.claims"), "$.hasura.claims");
        assert_eq!(enc("$.['https://myapp.com/jwt/claims'].user.id"), "$[\"https://myapp.com/jwt/claims\"].user.id");
        assert_eq!(enc("$.roles[0]"), "$.roles[0]");
        assert_eq!(enc("$['7seven'][0]['a\"b']"), "$[\"7seven\"][0][\"a\\\"b\"]");
        // A non-ASCII letter parses as a name but prints quoted, as Hasura's ASCII test does.
        assert_eq!(enc("$.héllo"), "$[\"héllo\"]");
        // What is printed parses back to the same path.
        for t in ["$.a['b c'][3]", "$['']", "$._x-y"] {
            let p = JsonPath::parse(t).unwrap();
            assert_eq!(JsonPath::parse(&p.encode()).unwrap(), p);
        }
    }
}
