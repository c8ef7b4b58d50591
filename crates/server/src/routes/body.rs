//! Request bodies as JSON, at any depth, in memory bounded by the body.
//!
//! serde_json refuses a `Value` nested deeper than 128 levels ("recursion limit exceeded"), and
//! lifting the limit is not enough: building, cloning, printing and dropping a `Value` all
//! recurse, so a 1 MiB body of `[` would overflow a worker thread's stack. Hasura (aeson) takes
//! any depth, and a legitimate filter can be deep (a 126-level `_not` in the variables).
//!
//! So the sidecar never builds a deep `Value`. It checks the whole body with serde_json's
//! iterative skipper (`RawValue` and `IgnoredAny` use it: no recursion, no depth limit, a byte
//! per open bracket of scratch space) and reads only the few fields it needs:
//!   * `/v1/graphql`: `query` and `operationName` (strings), `variables` passed on to
//!     `graphql.resolve` as its exact JSON text (big integers, `1e400`, `-0` and key order
//!     reach the extension as the client wrote them);
//!   * the metadata endpoints forward the body text as is; `/v1/query` and `/v2/query` look at
//!     `type` and `args` through a [`shallow`] copy.
//!
//! The `Value` given to authentication (the POST auth webhook sends the request) is the parsed
//! body when it is at most 128 levels deep, as before; a deeper body is sent as its [`shallow`]
//! copy, whose levels below [`WEBHOOK_DEPTH`] are `null`.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// How deep the copy of a deep body given to the auth webhook goes.
pub const WEBHOOK_DEPTH: usize = 32;
/// How deep the copy `/v1/query` and `/v2/query` dispatch on goes (`type`, `args`, a `bulk`'s
/// items and their `args`: a handful of levels; `run_sql` arguments are flat).
pub const DISPATCH_DEPTH: usize = 16;

/// A JSON object's members in the order written, values unparsed.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Entries<'a> {
    /// The member named `key`; the last one if it is repeated (as `Value` keeps it).
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

fn first_byte(raw: &RawValue) -> u8 {
    raw.get().as_bytes().first().copied().unwrap_or(b' ')
}

/// A copy of `raw` as a `Value`, down to `depth` levels of arrays and objects; anything deeper
/// (and a number or string a `Value` cannot hold, such as `1e400` or a lone surrogate) is
/// `null`. Recursion is bounded by `depth`. `raw` must be valid JSON.
pub fn shallow(raw: &RawValue, depth: usize) -> Value {
    match first_byte(raw) {
        b'{' | b'[' if depth == 0 => Value::Null,
        b'{' => match serde_json::from_str::<Entries>(raw.get()) {
            Ok(entries) => {
                let mut m = Map::new();
                for (k, v) in entries.0 {
                    m.insert(k, shallow(v, depth - 1));
                }
                Value::Object(m)
            }
            Err(_) => Value::Null,
        },
        b'[' => match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            Ok(items) => Value::Array(items.into_iter().map(|v| shallow(v, depth - 1)).collect()),
            Err(_) => Value::Null,
        },
        _ => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
    }
}

/// The body as a `Value` for code that walks it: the parsed body if it is at most 128 levels
/// deep (serde_json's limit), else its [`shallow`] copy `depth` levels deep.
pub fn value_for(raw: &RawValue, depth: usize) -> Value {
    serde_json::from_str(raw.get()).unwrap_or_else(|_| shallow(raw, depth))
}

/// One GraphQL request object (or anything else in a batch).
#[derive(Debug, Default, PartialEq)]
pub struct GraphqlRequest {
    /// `query` when it is a string.
    pub query: Option<String>,
    /// The JSON text of `variables`, unless absent or `null`.
    pub variables: Option<String>,
    /// `operationName` when it is a string.
    pub operation_name: Option<String>,
}

/// A `/v1/graphql` body.
#[derive(Debug, PartialEq)]
pub enum GraphqlBody {
    One(GraphqlRequest),
    Batch(Vec<GraphqlRequest>),
    /// Valid JSON, neither an object nor an array.
    Other,
}

/// A string member, or `None` if it is something else; an error if the string cannot be read
/// (a lone surrogate: serde_json refuses it, as it did when it parsed the whole body).
fn string_member(e: &Entries, key: &str) -> Result<Option<String>, serde_json::Error> {
    match e.get(key) {
        Some(raw) if first_byte(raw) == b'"' => serde_json::from_str(raw.get()).map(Some),
        _ => Ok(None),
    }
}

fn graphql_request(raw: &RawValue) -> Result<GraphqlRequest, serde_json::Error> {
    if first_byte(raw) != b'{' {
        return Ok(GraphqlRequest::default());
    }
    let e: Entries = serde_json::from_str(raw.get())?;
    Ok(GraphqlRequest {
        query: string_member(&e, "query")?,
        variables: e.get("variables").map(|v| v.get()).filter(|v| *v != "null").map(str::to_string),
        operation_name: string_member(&e, "operationName")?,
    })
}

/// Parse a `/v1/graphql` body: the requests, and the body as a `Value` for authentication.
pub fn graphql_body(bytes: &[u8]) -> Result<(GraphqlBody, Value), serde_json::Error> {
    let top: &RawValue = serde_json::from_slice(bytes)?;
    let body = match first_byte(top) {
        b'{' => GraphqlBody::One(graphql_request(top)?),
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(top.get())?;
            GraphqlBody::Batch(items.into_iter().map(graphql_request).collect::<Result<_, _>>()?)
        }
        _ => GraphqlBody::Other,
    };
    Ok((body, value_for(top, WEBHOOK_DEPTH)))
}

/// Whether `text` is one JSON value, at any depth (nothing is built).
pub fn is_json(text: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// The JSON text as a `Value` to dispatch on (see [`value_for`]); `text` must be valid JSON.
pub fn dispatch_value(text: &str) -> Value {
    match serde_json::from_str::<&RawValue>(text) {
        Ok(raw) => value_for(raw, DISPATCH_DEPTH),
        Err(_) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nots(levels: usize) -> String {
        format!("{}{{\"id\":{{\"_eq\":1}}}}{}", "{\"_not\":".repeat(levels), "}".repeat(levels))
    }

    #[test]
    fn deep_variables_pass_as_written() {
        for levels in [126, 1_000, 20_000] {
            let where_ = nots(levels);
            let body = format!(r#"{{"query":"query($w: t_bool_exp) {{ t(where: $w) {{ id }} }}","variables":{{"w":{where_}}},"operationName":"q"}}"#);
            let (parsed, auth) = graphql_body(body.as_bytes()).unwrap();
            let GraphqlBody::One(r) = parsed else { panic!("one request") };
            assert_eq!(r.variables.as_deref(), Some(format!(r#"{{"w":{where_}}}"#).as_str()));
            assert_eq!(r.operation_name.as_deref(), Some("q"));
            assert!(r.query.unwrap().starts_with("query($w"));
            assert_eq!(auth["operationName"], "q");
            drop(auth);
        }
    }

    #[test]
    fn shallow_bodies_are_as_before() {
        let body = br#"{"query": "{ a }", "variables": {"n": 12345678901234567890123, "z": -0, "x": [1, {"y": null}]}, "operationName": null}"#;
        let (parsed, auth) = graphql_body(body).unwrap();
        let GraphqlBody::One(r) = parsed else { panic!("one request") };
        assert_eq!(r.query.as_deref(), Some("{ a }"));
        // The exact text: no rounding of the big integer, -0 kept.
        assert_eq!(r.variables.as_deref(), Some(r#"{"n": 12345678901234567890123, "z": -0, "x": [1, {"y": null}]}"#));
        assert_eq!(r.operation_name, None);
        assert_eq!(auth, serde_json::from_slice::<Value>(body).unwrap());
        let (parsed, _) = graphql_body(br#"{"query": 5, "variables": null}"#).unwrap();
        assert_eq!(parsed, GraphqlBody::One(GraphqlRequest::default()));
        let (parsed, _) = graphql_body(br#"{"query": "a", "query": "b"}"#).unwrap();
        assert_eq!(parsed, GraphqlBody::One(GraphqlRequest { query: Some("b".into()), ..Default::default() }));
        let (parsed, _) = graphql_body(br#"[{"query": "a"}, 3, []]"#).unwrap();
        let GraphqlBody::Batch(items) = parsed else { panic!("batch") };
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].query.as_deref(), Some("a"));
        assert_eq!(items[1], GraphqlRequest::default());
        assert_eq!(graphql_body(b" 7 ").unwrap().0, GraphqlBody::Other);
    }

    #[test]
    fn bad_json_is_an_error() {
        for body in [&b"{not json"[..], b"", b"{\"query\": \"a\"", b"[1,]", b"{} {}", b"\xff", br#"{"query": "\ud800"}"#, b"[[[[[[["] {
            assert!(graphql_body(body).is_err(), "{body:?}");
        }
    }

    /// Half a million open brackets (a 1 MiB body): an answer, no stack overflow, on the test
    /// thread's 2 MiB stack.
    #[test]
    fn a_megabyte_of_brackets() {
        let deep = format!("{}{}", "[".repeat(500_000), "]".repeat(500_000));
        let (parsed, auth) = graphql_body(deep.as_bytes()).unwrap();
        assert_eq!(parsed, GraphqlBody::Batch(vec![GraphqlRequest::default()]));
        drop(auth);
        let body = format!(r#"{{"query": "{{ a }}", "variables": {{"v": {deep}}}}}"#);
        let (parsed, auth) = graphql_body(body.as_bytes()).unwrap();
        let GraphqlBody::One(r) = parsed else { panic!("one request") };
        assert_eq!(r.variables.unwrap().len(), deep.len() + 7);
        // Below WEBHOOK_DEPTH the copy is null.
        let mut v = &auth["variables"]["v"];
        for _ in 0..(WEBHOOK_DEPTH - 2) {
            v = &v[0];
        }
        assert_eq!(v, &Value::Null);
        let unclosed = "{\"a\":".repeat(300_000);
        assert!(graphql_body(unclosed.as_bytes()).is_err());
        assert!(!is_json(&unclosed));
        assert!(is_json(&deep));
        assert_eq!(dispatch_value(&deep).as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn metadata_dispatch() {
        let deep_filter = nots(5_000);
        let text = format!(r#"{{"type": "bulk", "args": [{{"type": "run_sql", "args": {{"sql": "select 1"}}}}, {{"type": "pg_create_select_permission", "args": {{"permission": {{"filter": {deep_filter}}}}}}}]}}"#);
        assert!(is_json(&text));
        let v = dispatch_value(&text);
        assert_eq!(v["type"], "bulk");
        assert_eq!(v["args"][0], json!({"type": "run_sql", "args": {"sql": "select 1"}}));
        assert_eq!(v["args"][1]["type"], "pg_create_select_permission");
        let small = r#"{"type": "run_sql", "args": {"sql": "select 1", "read_only": true}}"#;
        assert_eq!(dispatch_value(small), serde_json::from_str::<Value>(small).unwrap());
        assert!(!is_json(r#"{"type": "run_sql""#));
        // What a Value cannot hold becomes null in the copy, never an error.
        assert_eq!(dispatch_value(r#"{"type": "x", "args": [1e400, 1]}"#)["args"], json!([null, 1]));
    }
}
