//! The JSONPath subset Hasura accepts in `claims_namespace_path` and `claims_map`:
//! `$`, then any number of `.key`, `['key']`, `["key"]` and `[index]` steps.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath(Vec<Step>);

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let bad = |why: &str| format!("invalid JSONPath {text:?}: {why}");
        let rest = text.trim().strip_prefix('$').ok_or_else(|| bad("must start with $"))?;
        let chars: Vec<char> = rest.chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let start = i + 1;
                    let mut j = start;
                    while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                        j += 1;
                    }
                    if j == start {
                        return Err(bad("empty key after '.'"));
                    }
                    steps.push(Step::Key(chars[start..j].iter().collect()));
                    i = j;
                }
                '[' => {
                    let close = chars[i..].iter().position(|&c| c == ']').map(|p| p + i);
                    let q = chars.get(i + 1).copied();
                    if q == Some('\'') || q == Some('"') {
                        let q = q.unwrap();
                        let end = chars[i + 2..].iter().position(|&c| c == q).map(|p| p + i + 2).ok_or_else(|| bad("unterminated quoted key"))?;
                        if chars.get(end + 1) != Some(&']') {
                            return Err(bad("expected ']' after a quoted key"));
                        }
                        steps.push(Step::Key(chars[i + 2..end].iter().collect()));
                        i = end + 2;
                    } else {
                        let close = close.ok_or_else(|| bad("unterminated '['"))?;
                        let n: String = chars[i + 1..close].iter().collect();
                        steps.push(Step::Index(n.trim().parse().map_err(|_| bad("index must be a number"))?));
                        i = close + 1;
                    }
                }
                _ => return Err(bad("expected '.' or '['")),
            }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        let doc = json!({"hasura": {"claims": {"a": 1}}, "x.y": [10, {"z": "w"}]});
        assert_eq!(JsonPath::parse("$").unwrap().get(&doc), Some(&doc));
        assert_eq!(JsonPath::parse("$.hasura.claims.a").unwrap().get(&doc), Some(&json!(1)));
        assert_eq!(JsonPath::parse("$['x.y'][1].z").unwrap().get(&doc), Some(&json!("w")));
        assert_eq!(JsonPath::parse("$[\"x.y\"][0]").unwrap().get(&doc), Some(&json!(10)));
        assert_eq!(JsonPath::parse("$.nope.a").unwrap().get(&doc), None);
        assert!(JsonPath::parse("hasura.claims").is_err());
        assert!(JsonPath::parse("$..a").is_err());
        assert!(JsonPath::parse("$['a").is_err());
    }
}
