//! Hasura's naming rules: Postgres type → GraphQL scalar, default type and root-field names,
//! and SQL identifier quoting helpers shared by schema building and SQL generation.

use super::model::TypeCategory;

/// GraphQL scalar for a Postgres (element) type name, per Hasura's `mkScalarTypeName`:
/// `int4`→`Int`, `bool`→`Boolean`, `float4`→`Float`, `text`/`varchar`→`String`; every other type
/// keeps a Postgres name (`int8`→`bigint`, `int2`→`smallint`, `float8`, `numeric`, `uuid`, …).
pub fn scalar_for_pg_type(type_name: &str) -> String {
    match type_name {
        "int4" | "integer" | "serial" => "Int".into(),
        "bool" | "boolean" => "Boolean".into(),
        "float4" | "real" => "Float".into(),
        "text" | "varchar" => "String".into(),
        "int8" | "bigserial" => "bigint".into(),
        "int2" | "smallserial" => "smallint".into(),
        other => sanitize_graphql_name(other),
    }
}

/// Broad category of a Postgres type name, deciding operators and aggregates.
pub fn category_for_pg_type(type_name: &str, type_kind: &str) -> TypeCategory {
    match type_name {
        "int2" | "int4" | "int8" | "float4" | "float8" | "numeric" | "money" => TypeCategory::Numeric,
        "text" | "varchar" | "bpchar" | "citext" | "name" => TypeCategory::String,
        "bool" => TypeCategory::Boolean,
        "json" => TypeCategory::Json,
        "jsonb" => TypeCategory::Jsonb,
        // Extension types are known by name wherever the extension lives, as in Hasura
        // (`textToPGScalarType`); without PostGIS or ltree no column has them.
        "geometry" if type_kind == "b" => TypeCategory::Geometry,
        "geography" if type_kind == "b" => TypeCategory::Geography,
        "raster" if type_kind == "b" => TypeCategory::Raster,
        "ltree" if type_kind == "b" => TypeCategory::Ltree,
        _ if type_kind == "e" => TypeCategory::Other,
        _ => TypeCategory::Other,
    }
}

/// Replace characters GraphQL names can't hold (`/[_A-Za-z][_0-9A-Za-z]*/`) with `_`.
pub fn sanitize_graphql_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    if out.is_empty() || out.as_bytes()[0].is_ascii_digit() {
        out.insert(0, '_');
    }
    out
}

/// `T_constraint` enum values for constraint names, in order: a name that is a GraphQL name
/// is kept; any other (`we"ird_pkey`) becomes its sanitized form (`we_ird_pkey`), suffixed
/// `_2`, `_3` … while that collides with another value. (Hasura's `textToName` fails on such a
/// constraint and the table cannot be upserted at all; Graft keeps `on_conflict` usable.)
pub fn constraint_enum_values<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<&str> = names.into_iter().collect();
    let mut taken: std::collections::HashSet<String> =
        names.iter().filter(|n| is_valid_enum_value(n)).map(|n| n.to_string()).collect();
    names
        .iter()
        .map(|n| {
            if is_valid_enum_value(n) {
                return n.to_string();
            }
            let mut base = sanitize_graphql_name(n);
            if !is_valid_enum_value(&base) {
                base.insert(0, '_');
            }
            let mut candidate = base.clone();
            let mut i = 2;
            while taken.contains(&candidate) {
                candidate = format!("{base}_{i}");
                i += 1;
            }
            taken.insert(candidate.clone());
            candidate
        })
        .collect()
}

/// A name an enum value may have: a GraphQL name other than `true`, `false` and `null`.
pub fn is_valid_enum_value(s: &str) -> bool {
    is_valid_graphql_name(s) && !matches!(s, "true" | "false" | "null")
}

pub fn is_valid_graphql_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Default GraphQL name of a table: `name` in `public`, `schema_name` elsewhere.
pub fn default_table_name(schema: &str, name: &str) -> String {
    if schema == "public" {
        sanitize_graphql_name(name)
    } else {
        sanitize_graphql_name(&format!("{schema}_{name}"))
    }
}

/// Quote an SQL identifier: `"` doubled, always quoted.
pub fn quote_ident(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `"schema"."name"`
pub fn quote_qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// The parts of a type [`quote_qualified`] wrote, with any `[]` after it: the quoted schema
/// (`"public"`), the type's name, and the rest (`""` or `"[]"`). `None` for other text.
pub fn split_qualified(sql_type: &str) -> Option<(&str, String, &str)> {
    let (schema_end, _) = quoted_end(sql_type)?;
    let rest = sql_type[schema_end..].strip_prefix('.')?;
    let (name_end, name) = quoted_end(rest)?;
    Some((&sql_type[..schema_end], name, &rest[name_end..]))
}

/// Where the quoted identifier at the start of `s` ends, and its unquoted text.
fn quoted_end(s: &str) -> Option<(usize, String)> {
    let mut chars = s.char_indices().peekable();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut name = String::new();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if chars.peek().map(|&(_, n)| n) == Some('"') {
                chars.next();
                name.push('"');
                continue;
            }
            return Some((i + 1, name));
        }
        name.push(c);
    }
    None
}

/// Quote a string as an SQL literal (`'…'`, quotes doubled). Only for constant strings the
/// compiler itself chooses (JSON keys of the response); user values are always parameters.
pub fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let needs_e = s.contains('\\');
    if needs_e {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_follow_hasura() {
        assert_eq!(scalar_for_pg_type("int4"), "Int");
        assert_eq!(scalar_for_pg_type("int8"), "bigint");
        assert_eq!(scalar_for_pg_type("varchar"), "String");
        assert_eq!(scalar_for_pg_type("timestamptz"), "timestamptz");
        assert_eq!(scalar_for_pg_type("float8"), "float8");
    }

    #[test]
    fn constraint_values_are_graphql_names() {
        let v = constraint_enum_values(["t_pkey", "we\"ird_pkey", "we_ird_pkey", "we-ird_pkey", "9lives", "null"]);
        assert_eq!(v, ["t_pkey", "we_ird_pkey_2", "we_ird_pkey", "we_ird_pkey_3", "_9lives", "_null"]);
        assert!(v.iter().all(|n| is_valid_enum_value(n)));
    }

    #[test]
    fn quoting_is_safe() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\b"), r"E'a\\b'");
        assert_eq!(default_table_name("public", "author"), "author");
        assert_eq!(default_table_name("shop", "order"), "shop_order");
        let q = quote_qualified(r#"my"ext"#, "geometry");
        assert_eq!(split_qualified(&q), Some((r#""my""ext""#, "geometry".to_string(), "")));
        assert_eq!(split_qualified(&format!("{q}[]")).map(|p| p.2), Some("[]"));
        assert_eq!(split_qualified("json"), None);
    }
}
