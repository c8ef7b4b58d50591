//! How Hasura spells names inside metadata messages: `"author"` for `public.author`,
//! `"other.author"` elsewhere; English lists; "because …" / "for the following reasons: …".

use crate::dbcatalog::QualifiedName;

/// A table or function name as Hasura prints it: unqualified in `public`, `schema.name` elsewhere.
pub fn display(q: &QualifiedName) -> String {
    if q.schema == "public" {
        q.name.clone()
    } else {
        format!("{}.{}", q.schema, q.name)
    }
}

/// `"text"` with double quotes, like Hasura's `<<>`.
pub fn dq(s: &str) -> String {
    format!("\"{s}\"")
}

/// A quoted display name: `"author"`, `"other.author"`.
pub fn dq_q(q: &QualifiedName) -> String {
    dq(&display(q))
}

/// `a`, `a and b`, `a, b, and c` (Hasura's `englishList`).
pub fn english_list(joiner: &str, items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [one, two] => format!("{one} {joiner} {two}"),
        [init @ .., last] => format!("{}, {joiner} {last}", init.join(", ")),
    }
}

/// `because <r>` for one reason, `for the following reasons:\n  • r1\n  • r2\n` for several.
pub fn reasons(list: &[String]) -> String {
    match list {
        [one] => format!("because {one}"),
        many => {
            let mut s = String::from("for the following reasons:\n");
            for r in many {
                s.push_str("  • ");
                s.push_str(r);
                s.push('\n');
            }
            s
        }
    }
}

/// The name Postgres prints for a type (`int4` → `integer`), as Hasura's messages show it.
pub fn pg_type_display(type_name: &str) -> String {
    match type_name {
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "bool" => "boolean",
        "varchar" => "character varying",
        "bpchar" => "character",
        "timestamptz" => "timestamp with time zone",
        "timestamp" => "timestamp without time zone",
        "timetz" => "time with time zone",
        "time" => "time without time zone",
        other => other,
    }
    .to_string()
}

/// GraphQL name syntax: `/[_A-Za-z][_0-9A-Za-z]*/`.
pub fn is_graphql_name(s: &str) -> bool {
    crate::schema::names::is_valid_graphql_name(s)
}

/// The name Hasura derives for a table or function without a custom name: `name` in `public`,
/// `schema_name` elsewhere — unsanitized (Hasura's `snakeCaseQualifiedObject`).
pub fn default_graphql_name(q: &QualifiedName) -> String {
    if q.schema == "public" {
        q.name.clone()
    } else {
        format!("{}_{}", q.schema, q.name)
    }
}

/// Hasura's `textToName` error for a column, relationship, computed field or argument name
/// that is not a GraphQL name (the double space is Hasura's).
pub fn not_a_graphql_identifier(name: &str) -> String {
    format!("cannot include {} in the GraphQL schema because  it is not a valid GraphQL identifier", dq(name))
}

/// Hasura's `qualifiedObjectToName` error for a table or function whose default name is not a
/// GraphQL name (it needs a `custom_name`).
pub fn qualified_not_a_graphql_identifier(q: &QualifiedName) -> String {
    format!(
        "cannot include {} in the GraphQL schema because {} is not a valid GraphQL identifier",
        dq_q(q),
        dq(&default_graphql_name(q))
    )
}

/// Hasura's `EnumTableInvalidEnumValueNames` reason: `value "a b" is not …`, `values "a" and
/// "b" are not …`, `values a, b, and "c" are not …` (sorted; Hasura quotes only the last ones).
pub fn invalid_enum_values(values: &[&str]) -> String {
    let mut v: Vec<&str> = values.to_vec();
    v.sort();
    const PLURAL: &str = " are not valid GraphQL enum value names";
    match v.as_slice() {
        [] => String::new(),
        [one] => format!("the value {} is not a valid GraphQL enum value name", dq(one)),
        [a, b] => format!("the values {} and {}{PLURAL}", dq(a), dq(b)),
        [init @ .., last] => format!("the values {}, and {}{PLURAL}", init.join(", "), dq(last)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_lists_like_hasura() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(english_list("and", &v(&["a"])), "a");
        assert_eq!(english_list("and", &v(&["a", "b"])), "a and b");
        assert_eq!(english_list("and", &v(&["a", "b", "c"])), "a, b, and c");
    }

    #[test]
    fn display_drops_public() {
        assert_eq!(display(&QualifiedName::new("public", "a")), "a");
        assert_eq!(display(&QualifiedName::new("s", "a")), "s.a");
        assert_eq!(reasons(&["x".into()]), "because x");
        assert_eq!(reasons(&["x".into(), "y".into()]), "for the following reasons:\n  • x\n  • y\n");
    }
}
