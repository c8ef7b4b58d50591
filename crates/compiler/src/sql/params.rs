//! Bound parameters: every user value becomes `$n::<type>` with its text form in `values` and,
//! beside it, where that text comes from (`sources`): a variable's value, a session variable,
//! or a constant. Compiled-request templates (and later multiplexed subscriptions) are built
//! from that record; values are read only through [`In`], which fails closed (see `input`).

use serde_json::Value;

use crate::request::input::{In, Kind, Rule, Source};

#[derive(Debug, Default)]
pub struct Params {
    pub values: Vec<Option<String>>,
    /// Per value, where its text comes from.
    pub sources: Vec<Source>,
    /// Set when a value's validity is only known once Postgres parses it (dates, uuids,
    /// regex patterns …): the statement then runs guarded so the error becomes a GraphQL error.
    pub needs_guard: bool,
}

const TEXT: &str = "\"pg_catalog\".\"text\"";

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

/// The function that reads a value of `sql_type` from its input text, for types whose input
/// form is not their text form (Hasura's `withConstructorFn`): PostGIS geometry and geography
/// take GeoJSON, raster hex WKB. Called in the type's own schema, which PostGIS shares.
fn constructor(sql_type: &str) -> Option<String> {
    let (schema, name, rest) = crate::schema::names::split_qualified(sql_type)?;
    let f = match (name.as_str(), rest) {
        ("geometry" | "geography", "") => "st_geomfromgeojson",
        ("raster", "") => "st_rastfromhexwkb",
        _ => return None,
    };
    Some(format!("{schema}.\"{f}\""))
}

impl Params {
    /// Bind a scalar value cast to `sql_type`; returns the SQL placeholder. A GeoJSON object
    /// binds as its JSON text, read by `ST_GeomFromGeoJSON`.
    pub fn scalar(&mut self, v: In, sql_type: &str) -> String {
        if let Some(f) = constructor(sql_type) {
            // PostGIS decides whether the text is a geometry (or raster).
            self.needs_guard = true;
            let (text, source) = v.render(Rule::Scalar);
            let p = self.push(text, source, TEXT);
            return format!("{f}({p})::{sql_type}");
        }
        // Numbers arrive validated, but e.g. a float literal for an int8 column can still fail.
        // (A value's JSON kind is fixed by the request's shape.)
        let text_into_typed = v.kind() == Kind::String
            && matches!(sql_type, "\"pg_catalog\".\"int4\"" | "\"pg_catalog\".\"int8\"" | "\"pg_catalog\".\"bool\"");
        if !cast_cannot_fail(sql_type) || text_into_typed || v.kind() == Kind::Float {
            self.needs_guard = true;
        }
        let (text, source) = v.render(Rule::Scalar);
        self.push(text, source, sql_type)
    }

    /// Bind a value as json/jsonb text.
    pub fn json(&mut self, v: In, sql_type: &str) -> String {
        // jsonb refuses some json that json accepts (`\u0000`: 22P05). Whether a value holds one
        // is not part of the request's shape, so a template cannot know: always guarded.
        if sql_type.contains("jsonb") {
            self.needs_guard = true;
        }
        let (text, source) = v.render(Rule::Json);
        self.push(text, source, sql_type)
    }

    /// Bind a list as a Postgres array literal of `elem_sql_type`.
    pub fn array(&mut self, v: In, elem_sql_type: &str) -> String {
        if let Some(f) = constructor(elem_sql_type) {
            // Items in their input form (GeoJSON text …), each read by the type's constructor.
            self.needs_guard = true;
            let (text, source) = v.render(Rule::Array);
            let p = self.push(text, source, &format!("{TEXT}[]"));
            return format!(
                "ARRAY(SELECT {f}(\"graft.i\".v)::{elem_sql_type} FROM unnest({p}) WITH ORDINALITY AS \"graft.i\"(v, o) ORDER BY \"graft.i\".o)"
            );
        }
        // Strings for integer or boolean items (`_in: ["1"]`) are read by Postgres and may fail.
        let text_into_typed = matches!(elem_sql_type, "\"pg_catalog\".\"int4\"" | "\"pg_catalog\".\"int8\"" | "\"pg_catalog\".\"bool\"")
            && v.has_string_item();
        if !cast_cannot_fail(elem_sql_type) || text_into_typed {
            self.needs_guard = true;
        }
        let (text, source) = v.render(Rule::Array);
        self.push(text, source, &format!("{elem_sql_type}[]"))
    }

    /// Bind items the compiler computed from `from` as an array literal of `elem_sql_type`.
    pub fn array_of(&mut self, items: &[Value], elem_sql_type: &str, from: In) -> String {
        if !cast_cannot_fail(elem_sql_type) {
            self.needs_guard = true;
        }
        self.push(Some(array_literal(items)), from.derived(), &format!("{elem_sql_type}[]"))
    }

    /// Bind text the compiler computed from `from` (already in Postgres input form).
    pub fn text(&mut self, s: String, sql_type: &str, from: In) -> String {
        self.push(Some(s), from.derived(), sql_type)
    }

    /// Bind the whole session as JSON.
    pub fn session_json(&mut self, session: &Value, sql_type: &str) -> String {
        self.push(Some(session.to_string()), Source::SessionJson, sql_type)
    }

    /// Reserve a parameter the executor fills in (`None` here; the same for every request).
    pub fn runtime(&mut self) {
        self.values.push(None);
        self.sources.push(Source::Const);
    }

    fn push(&mut self, text: Option<String>, source: Source, sql_type: &str) -> String {
        self.values.push(text);
        self.sources.push(source);
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
        p.scalar(In::constant(&json!(1)), "\"pg_catalog\".\"int4\"");
        assert!(!p.needs_guard);
        p.scalar(In::constant(&json!("2020-01-01")), "\"pg_catalog\".\"timestamptz\"");
        assert!(p.needs_guard);
        assert_eq!(p.values, vec![Some("1".into()), Some("2020-01-01".into())]);
        assert_eq!(p.sources, vec![Source::Const, Source::Const]);
    }

    #[test]
    fn geojson_binds_through_its_constructor() {
        let mut p = Params::default();
        let point = json!({"type": "Point", "coordinates": [1, 2]});
        let sql = p.scalar(In::constant(&point), "\"gis\".\"geography\"");
        assert_eq!(sql, "\"gis\".\"st_geomfromgeojson\"(($1)::\"pg_catalog\".\"text\")::\"gis\".\"geography\"");
        assert_eq!(p.values, vec![Some(r#"{"type":"Point","coordinates":[1,2]}"#.into())]);
        assert!(p.needs_guard);
        let list = json!([point, "{\"type\":\"Point\",\"coordinates\":[0,0]}"]);
        let sql = p.array(In::constant(&list), "\"public\".\"geometry\"");
        assert!(sql.starts_with("ARRAY(SELECT \"public\".\"st_geomfromgeojson\"(\"graft.i\".v)::\"public\".\"geometry\" FROM unnest(($2)::\"pg_catalog\".\"text\"[])"), "{sql}");
        assert_eq!(p.values[1].as_deref(), Some(r#"{"{\"type\":\"Point\",\"coordinates\":[1,2]}","{\"type\":\"Point\",\"coordinates\":[0,0]}"}"#));
        assert_eq!(p.scalar(In::constant(&json!("a.b")), "\"ext\".\"ltree\""), "($3)::\"ext\".\"ltree\"");
    }
}
