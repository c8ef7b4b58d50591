//! Where a description in the schema comes from: a `comment` in metadata, a database comment
//! (`COMMENT ON …`, read into `DbCatalog`), or Hasura's generated default.
//!
//! Hasura reads a metadata `comment` as a `Comment` (`Hasura.RQL.Types.Common`): absent or
//! `null` is *automatic* (use the database comment where Hasura reads one, else the default);
//! `""` is *explicitly none* (no description at all); any other text is the description. This
//! module is the one place that rule is written down.

use crate::dbcatalog::QualifiedName;

use super::build::table_label;

/// The description for a metadata `comment`: the comment itself, none for `""`, or
/// `automatic()` when there is no comment.
pub fn from_comment(comment: Option<&str>, automatic: impl FnOnce() -> Option<String>) -> Option<String> {
    match comment {
        None => automatic(),
        Some("") => None,
        Some(text) => Some(text.to_string()),
    }
}

/// A table's object type: `configuration.comment`, else the table's (or view's) database
/// comment, else `columns and relationships of "T"`.
pub fn table(comment: Option<&str>, db_comment: Option<&str>, table: &QualifiedName) -> Option<String> {
    from_comment(comment, || {
        Some(db_comment.map(str::to_string).unwrap_or_else(|| format!("columns and relationships of \"{}\"", table_label(table))))
    })
}

/// A column: `column_config.<col>.comment`, else the column's database comment (no default).
pub fn column(comment: Option<&str>, db_comment: Option<&str>) -> Option<String> {
    from_comment(comment, || db_comment.map(str::to_string))
}

/// A computed field: its `comment`, else the function's database comment, else
/// `A computed field, executes function "f"`.
pub fn computed_field(comment: Option<&str>, db_comment: Option<&str>, function: &QualifiedName) -> Option<String> {
    from_comment(comment, || {
        Some(
            db_comment
                .map(str::to_string)
                .unwrap_or_else(|| format!("A computed field, executes function \"{}\"", table_label(function))),
        )
    })
}

/// A table's root field (`select`, `insert_one`, …): the `custom_root_fields` entry's comment,
/// else Hasura's default for that field. The table's own comments never apply here.
pub fn root_field(comment: Option<&str>, default: String) -> Option<String> {
    from_comment(comment, || Some(default))
}

/// A tracked function's query root field: the tracked function's `comment`, taken as it is
/// (Hasura keeps it as plain text, so `""` is an empty description), else
/// `execute function "f" which returns "t"`. The function's database comment is not used.
pub fn function_query(comment: Option<&str>, function: &QualifiedName, returns: &QualifiedName) -> String {
    comment
        .map(str::to_string)
        .unwrap_or_else(|| format!("execute function \"{}\" which returns \"{}\"", table_label(function), table_label(returns)))
}

/// A tracked function's aggregate root field (always Hasura's default).
pub fn function_aggregate(function: &QualifiedName, returns: &QualifiedName) -> String {
    format!(
        "execute function \"{}\" and query aggregates on result of table type \"{}\"",
        table_label(function),
        table_label(returns)
    )
}

/// A tracked function exposed as a mutation (always Hasura's default: no comment applies).
pub fn function_mutation(function: &QualifiedName, returns: &QualifiedName) -> String {
    format!("execute VOLATILE function \"{}\" which returns \"{}\"", table_label(function), table_label(returns))
}

/// A comparison operator's description in `<T>_comparison_exp`, as Hasura's Postgres backend
/// gives it (the other operators have none). `on_array` tells `T_array_comparison_exp`'s
/// `_contains`/`_contained_in` from jsonb's.
pub fn comparison_operator(op: &str, on_array: bool) -> Option<&'static str> {
    Some(match (op, on_array) {
        ("_contained_in", true) => "is the array contained in the given array value",
        ("_contains", true) => "does the array contain the given value",
        ("_contained_in", false) => "is the column contained in the given json value",
        ("_contains", false) => "does the column contain the given json value at the top level",
        ("_has_key", _) => "does the string exist as a top-level key in the column",
        ("_has_keys_all", _) => "do all of these strings exist as top-level keys in the column",
        ("_has_keys_any", _) => "do any of these strings exist as top-level keys in the column",
        ("_ilike", _) => "does the column match the given case-insensitive pattern",
        ("_iregex", _) => "does the column match the given POSIX regular expression, case insensitive",
        ("_like", _) => "does the column match the given pattern",
        ("_nilike", _) => "does the column NOT match the given case-insensitive pattern",
        ("_niregex", _) => "does the column NOT match the given POSIX regular expression, case insensitive",
        ("_nlike", _) => "does the column NOT match the given pattern",
        ("_nregex", _) => "does the column NOT match the given POSIX regular expression, case sensitive",
        ("_nsimilar", _) => "does the column NOT match the given SQL regular expression",
        ("_regex", _) => "does the column match the given POSIX regular expression, case sensitive",
        ("_similar", _) => "does the column match the given SQL regular expression",
        _ => return None,
    })
}

/// Relationship fields always carry Hasura's fixed texts; a relationship's `comment` is
/// metadata only and never a description.
pub const OBJECT_RELATIONSHIP: &str = "An object relationship";
pub const ARRAY_RELATIONSHIP: &str = "An array relationship";
pub const AGGREGATE_RELATIONSHIP: &str = "An aggregate relationship";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_semantics() {
        // Hasura's `Comment`: null/absent is automatic, "" is explicitly none.
        assert_eq!(from_comment(None, || Some("auto".into())), Some("auto".into()));
        assert_eq!(from_comment(Some(""), || Some("auto".into())), None);
        assert_eq!(from_comment(Some("mine"), || Some("auto".into())), Some("mine".into()));
    }

    #[test]
    fn defaults_name_non_public_objects_with_their_schema() {
        let public = QualifiedName::new("public", "author");
        let other = QualifiedName::new("shop", "order");
        assert_eq!(table(None, None, &public).as_deref(), Some("columns and relationships of \"author\""));
        assert_eq!(table(None, None, &other).as_deref(), Some("columns and relationships of \"shop.order\""));
        assert_eq!(table(None, Some("db"), &public).as_deref(), Some("db"));
        assert_eq!(table(Some("md"), Some("db"), &public).as_deref(), Some("md"));
        assert_eq!(table(Some(""), Some("db"), &public), None);
        let f = QualifiedName::new("public", "upper_name");
        assert_eq!(computed_field(None, None, &f).as_deref(), Some("A computed field, executes function \"upper_name\""));
        assert_eq!(
            function_query(None, &QualifiedName::new("shop", "search"), &other),
            "execute function \"shop.search\" which returns \"shop.order\""
        );
        assert_eq!(function_query(Some(""), &f, &public), "");
    }
}
