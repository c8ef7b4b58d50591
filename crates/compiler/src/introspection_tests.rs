//! Hasura's own introspection fixtures (server/tests-py/queries/graphql_introspection/…), with
//! Hasura's expected answers: names sorted, descriptions from metadata comments, database
//! comments or Hasura's defaults, and object relationships nullable unless they follow a foreign
//! key of non-null columns.

use serde_json::{json, Value};

use crate::dbcatalog::DbCatalog;
use crate::metadata::model::Metadata;
use crate::request::{compile, Compiled, Limits, Session};
use crate::schema::build::build_schema;

fn answer(md: &Metadata, db: &DbCatalog, query: &str) -> Value {
    let (schema, problems) = build_schema(md, db, "admin");
    assert!(problems.is_empty(), "{problems:?}");
    let Compiled::Json(v) = compile(&schema, query, None, None, &Session::admin(), &Limits::default()).unwrap() else {
        panic!("introspection needs no SQL")
    };
    v["data"].clone()
}

/// `CREATE TABLE t (id serial primary key, name text not null)` with an optional table
/// comment and `name` column comment, and `t_upper_name(r t) RETURNS text STABLE` with an
/// optional function comment.
fn table_with_function(name: &str, table_comment: Option<&str>, column_comment: Option<&str>, function_comment: Option<&str>) -> (Value, Value) {
    let table = json!({
        "schema": "public", "name": name, "kind": "table", "comment": table_comment,
        "columns": [
            {"name": "id", "type_name": "int4", "nullable": false, "has_default": true},
            {"name": "name", "type_name": "text", "nullable": false, "comment": column_comment},
        ],
        "primary_key": {"name": format!("{name}_pkey"), "columns": ["id"]},
    });
    let function = json!({
        "schema": "public", "name": format!("{name}_upper_name"), "comment": function_comment,
        "arg_names": ["r"], "arg_types": [name], "arg_type_schemas": ["public"],
        "return_type_schema": "pg_catalog", "return_type": "text", "returns_set": false, "volatility": "s",
    });
    (table, function)
}

/// descriptions/schema_setup.yaml and descriptions/setup.yaml.
fn descriptions_fixture() -> (Metadata, DbCatalog) {
    let parts = [
        table_with_function(
            "automatic_comment_in_db",
            Some("What a great comment in the DB"),
            Some("The name column comment in the DB"),
            Some("What a great comment on the function in the DB"),
        ),
        table_with_function("automatic_no_comment_in_db", None, None, None),
        table_with_function(
            "explicit_comment_in_metadata",
            Some("Fantastic comment, so good, so hidden"),
            Some("The name column comment in the DB, but hidden!"),
            Some("Fantastic comment on the function, so good, so hidden"),
        ),
        table_with_function(
            "explicit_no_comment_in_metadata",
            Some("This would be a great comment, but you can't see it"),
            Some("The name column comment in the DB, but you can't see it"),
            Some("This would be a great comment on the function, but you can't see it"),
        ),
    ];
    let db: DbCatalog = serde_json::from_value(json!({
        "tables": parts.iter().map(|p| p.0.clone()).collect::<Vec<_>>(),
        "functions": parts.iter().map(|p| p.1.clone()).collect::<Vec<_>>(),
    }))
    .unwrap();
    let upper = |table: &str, comment: Option<&str>| {
        let mut cf = json!({"name": "upper_name", "definition": {"function": {"schema": "public", "name": format!("{table}_upper_name")}}});
        if let Some(c) = comment {
            cf["comment"] = json!(c);
        }
        json!([cf])
    };
    let roots = ["select", "select_by_pk", "select_aggregate", "insert", "insert_one", "update", "update_by_pk", "update_many", "delete", "delete_by_pk"];
    let explicit: serde_json::Map<String, Value> = roots
        .iter()
        .map(|k| {
            let name = match *k {
                "select" => "ExplicitCommentInMetadata".to_string(),
                "select_by_pk" => "ExplicitCommentInMetadataByPk".into(),
                "select_aggregate" => "ExplicitCommentInMetadataAgg".into(),
                "insert" => "InsertExplicitCommentInMetadata".into(),
                "insert_one" => "InsertOneExplicitCommentInMetadata".into(),
                "update" => "UpdateExplicitCommentInMetadata".into(),
                "update_by_pk" => "UpdateByPkExplicitCommentInMetadata".into(),
                "update_many" => "UpdateManyExplicitCommentInMetadata".into(),
                "delete" => "DeleteExplicitCommentInMetadata".into(),
                _ => "DeleteByPkExplicitCommentInMetadata".into(),
            };
            (k.to_string(), json!({"name": name, "comment": format!("Explicit comment on {k}")}))
        })
        .collect();
    let none: serde_json::Map<String, Value> = roots.iter().map(|k| (k.to_string(), json!({"name": null, "comment": ""}))).collect();
    let md: Metadata = serde_json::from_value(json!({
        "version": 3,
        "sources": [{"name": "default", "kind": "postgres", "tables": [
            {"table": {"schema": "public", "name": "automatic_comment_in_db"},
             "computed_fields": upper("automatic_comment_in_db", None)},
            {"table": {"schema": "public", "name": "automatic_no_comment_in_db"},
             "configuration": {"custom_root_fields": {
                 "select": "AutomaticNoCommentInDb", "select_by_pk": "AutomaticNoCommentInDbByPk",
                 "select_aggregate": "AutomaticNoCommentInDbAgg", "insert": "InsertAutomaticNoCommentInDb",
                 "insert_one": "InsertOneAutomaticNoCommentInDb", "update": "UpdateAutomaticNoCommentInDb",
                 "update_by_pk": "UpdateByPkAutomaticNoCommentInDb", "update_many": "UpdateManyAutomaticNoCommentInDb",
                 "delete": "DeleteAutomaticNoCommentInDb", "delete_by_pk": "DeleteByPkAutomaticNoCommentInDb"}},
             "computed_fields": upper("automatic_no_comment_in_db", None)},
            {"table": {"schema": "public", "name": "explicit_comment_in_metadata"},
             "configuration": {"comment": "Such an explicit comment, wow", "custom_root_fields": explicit,
                               "column_config": {"name": {"comment": "Explicit comment on the name column"}}},
             "computed_fields": upper("explicit_comment_in_metadata", Some("Such an explicit function comment, wow"))},
            {"table": {"schema": "public", "name": "explicit_no_comment_in_metadata"},
             "configuration": {"comment": "", "custom_root_fields": none, "column_config": {"name": {"comment": ""}}},
             "computed_fields": upper("explicit_no_comment_in_metadata", Some(""))},
        ]}]
    }))
    .unwrap();
    (md, db)
}

fn type_query(name: &str) -> String {
    format!(r#"query IntrospectionQuery {{ __type(name: "{name}") {{ name description kind fields {{ name description }} }} }}"#)
}

fn described(name: &str, description: Value, fields: [(&str, Value); 3]) -> Value {
    json!({"__type": {
        "name": name, "description": description, "kind": "OBJECT",
        "fields": fields.iter().map(|(n, d)| json!({"name": n, "description": d})).collect::<Vec<_>>(),
    }})
}

#[test]
fn descriptions_from_database_comments() {
    let (md, db) = descriptions_fixture();
    assert_eq!(
        answer(&md, &db, &type_query("automatic_comment_in_db")),
        described(
            "automatic_comment_in_db",
            json!("What a great comment in the DB"),
            [
                ("id", Value::Null),
                ("name", json!("The name column comment in the DB")),
                ("upper_name", json!("What a great comment on the function in the DB")),
            ],
        )
    );
}

#[test]
fn descriptions_default_when_nothing_is_commented() {
    let (md, db) = descriptions_fixture();
    assert_eq!(
        answer(&md, &db, &type_query("automatic_no_comment_in_db")),
        described(
            "automatic_no_comment_in_db",
            json!("columns and relationships of \"automatic_no_comment_in_db\""),
            [
                ("id", Value::Null),
                ("name", Value::Null),
                ("upper_name", json!("A computed field, executes function \"automatic_no_comment_in_db_upper_name\"")),
            ],
        )
    );
}

#[test]
fn metadata_comments_win_over_database_comments() {
    let (md, db) = descriptions_fixture();
    assert_eq!(
        answer(&md, &db, &type_query("explicit_comment_in_metadata")),
        described(
            "explicit_comment_in_metadata",
            json!("Such an explicit comment, wow"),
            [
                ("id", Value::Null),
                ("name", json!("Explicit comment on the name column")),
                ("upper_name", json!("Such an explicit function comment, wow")),
            ],
        )
    );
}

#[test]
fn an_empty_metadata_comment_means_no_description() {
    let (md, db) = descriptions_fixture();
    assert_eq!(
        answer(&md, &db, &type_query("explicit_no_comment_in_metadata")),
        described("explicit_no_comment_in_metadata", Value::Null, [("id", Value::Null), ("name", Value::Null), ("upper_name", Value::Null)])
    );
}

/// descriptions/root_fields.yaml: root fields sorted by name (upper case before lower case),
/// custom root field comments, `""` for none, and Hasura's defaults.
#[test]
fn root_field_descriptions_sorted_by_name() {
    let (md, db) = descriptions_fixture();
    let q = r#"query IntrospectionQuery {
        query_root: __type(name: "query_root") { name kind fields { name description } }
        mutation_root: __type(name: "mutation_root") { name kind fields { name description } } }"#;
    let fields = |list: &[(&str, Option<&str>)]| -> Value {
        list.iter().map(|(n, d)| json!({"name": n, "description": d})).collect::<Vec<_>>().into()
    };
    let q_fields = fields(&[
        ("AutomaticNoCommentInDb", Some("fetch data from the table: \"automatic_no_comment_in_db\"")),
        ("AutomaticNoCommentInDbAgg", Some("fetch aggregated fields from the table: \"automatic_no_comment_in_db\"")),
        ("AutomaticNoCommentInDbByPk", Some("fetch data from the table: \"automatic_no_comment_in_db\" using primary key columns")),
        ("ExplicitCommentInMetadata", Some("Explicit comment on select")),
        ("ExplicitCommentInMetadataAgg", Some("Explicit comment on select_aggregate")),
        ("ExplicitCommentInMetadataByPk", Some("Explicit comment on select_by_pk")),
        ("automatic_comment_in_db", Some("fetch data from the table: \"automatic_comment_in_db\"")),
        ("automatic_comment_in_db_aggregate", Some("fetch aggregated fields from the table: \"automatic_comment_in_db\"")),
        ("automatic_comment_in_db_by_pk", Some("fetch data from the table: \"automatic_comment_in_db\" using primary key columns")),
        ("explicit_no_comment_in_metadata", None),
        ("explicit_no_comment_in_metadata_aggregate", None),
        ("explicit_no_comment_in_metadata_by_pk", None),
    ]);
    let m_fields = fields(&[
        ("DeleteAutomaticNoCommentInDb", Some("delete data from the table: \"automatic_no_comment_in_db\"")),
        ("DeleteByPkAutomaticNoCommentInDb", Some("delete single row from the table: \"automatic_no_comment_in_db\"")),
        ("DeleteByPkExplicitCommentInMetadata", Some("Explicit comment on delete_by_pk")),
        ("DeleteExplicitCommentInMetadata", Some("Explicit comment on delete")),
        ("InsertAutomaticNoCommentInDb", Some("insert data into the table: \"automatic_no_comment_in_db\"")),
        ("InsertExplicitCommentInMetadata", Some("Explicit comment on insert")),
        ("InsertOneAutomaticNoCommentInDb", Some("insert a single row into the table: \"automatic_no_comment_in_db\"")),
        ("InsertOneExplicitCommentInMetadata", Some("Explicit comment on insert_one")),
        ("UpdateAutomaticNoCommentInDb", Some("update data of the table: \"automatic_no_comment_in_db\"")),
        ("UpdateByPkAutomaticNoCommentInDb", Some("update single row of the table: \"automatic_no_comment_in_db\"")),
        ("UpdateByPkExplicitCommentInMetadata", Some("Explicit comment on update_by_pk")),
        ("UpdateExplicitCommentInMetadata", Some("Explicit comment on update")),
        ("UpdateManyAutomaticNoCommentInDb", Some("update multiples rows of table: \"automatic_no_comment_in_db\"")),
        ("UpdateManyExplicitCommentInMetadata", Some("Explicit comment on update_many")),
        ("delete_automatic_comment_in_db", Some("delete data from the table: \"automatic_comment_in_db\"")),
        ("delete_automatic_comment_in_db_by_pk", Some("delete single row from the table: \"automatic_comment_in_db\"")),
        ("delete_explicit_no_comment_in_metadata", None),
        ("delete_explicit_no_comment_in_metadata_by_pk", None),
        ("insert_automatic_comment_in_db", Some("insert data into the table: \"automatic_comment_in_db\"")),
        ("insert_automatic_comment_in_db_one", Some("insert a single row into the table: \"automatic_comment_in_db\"")),
        ("insert_explicit_no_comment_in_metadata", None),
        ("insert_explicit_no_comment_in_metadata_one", None),
        ("update_automatic_comment_in_db", Some("update data of the table: \"automatic_comment_in_db\"")),
        ("update_automatic_comment_in_db_by_pk", Some("update single row of the table: \"automatic_comment_in_db\"")),
        ("update_automatic_comment_in_db_many", Some("update multiples rows of table: \"automatic_comment_in_db\"")),
        ("update_explicit_no_comment_in_metadata", None),
        ("update_explicit_no_comment_in_metadata_by_pk", None),
        ("update_explicit_no_comment_in_metadata_many", None),
    ]);
    assert_eq!(
        answer(&md, &db, q),
        json!({
            "query_root": {"name": "query_root", "kind": "OBJECT", "fields": q_fields},
            "mutation_root": {"name": "mutation_root", "kind": "OBJECT", "fields": m_fields},
        })
    );
}

/// nullable_object_relationship/setup.yaml: a forward object relationship is non-null only
/// when every column of its foreign key is NOT NULL; reverse ones (`{table, columns}`) are
/// nullable.
#[test]
fn object_relationship_nullability() {
    let int = |name: &str, nullable: bool| json!({"name": name, "type_name": "int4", "nullable": nullable});
    let text = |name: &str, nullable: bool| json!({"name": name, "type_name": "text", "nullable": nullable});
    let fk = |name: &str, cols: &[&str], table: &str, refs: &[&str]| {
        json!({"name": name, "columns": cols, "ref_schema": "public", "ref_table": table, "ref_columns": refs})
    };
    let db: DbCatalog = serde_json::from_value(json!({"tables": [
        {"schema": "public", "name": "table1", "kind": "table",
         "columns": [int("id", false), text("name", true)],
         "primary_key": {"name": "table1_pkey", "columns": ["id"]}},
        {"schema": "public", "name": "table2", "kind": "table",
         "columns": [int("id", false), text("name", true), int("table1_id", true), int("table1_id_not_null", false)],
         "primary_key": {"name": "table2_pkey", "columns": ["id"]},
         "unique_constraints": [{"name": "table2_name_table1_id_key", "columns": ["name", "table1_id"]}],
         "foreign_keys": [fk("table2_table1_id_fkey", &["table1_id"], "table1", &["id"]),
                          fk("table2_table1_id_not_null_fkey", &["table1_id_not_null"], "table1", &["id"])]},
        {"schema": "public", "name": "joint_foreign_key", "kind": "table",
         "columns": [int("id", false), text("table2_name", false), int("table2_table1_id", true)],
         "primary_key": {"name": "joint_foreign_key_pkey", "columns": ["id"]},
         "foreign_keys": [fk("joint_foreign_key_table2_name_table2_table1_id_fkey", &["table2_name", "table2_table1_id"], "table2", &["name", "table1_id"])]},
    ]}))
    .unwrap();
    let md: Metadata = serde_json::from_value(json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
        {"table": {"schema": "public", "name": "table1"}, "object_relationships": [
            {"name": "via_table2", "using": {"foreign_key_constraint_on": {"table": "table2", "columns": ["table1_id"]}}},
            {"name": "via_table2_not_null", "using": {"foreign_key_constraint_on": {"table": "table2", "columns": ["table1_id_not_null"]}}}]},
        {"table": {"schema": "public", "name": "table2"}, "object_relationships": [
            {"name": "via_table1", "using": {"foreign_key_constraint_on": "table1_id"}},
            {"name": "via_table1_not_null", "using": {"foreign_key_constraint_on": "table1_id_not_null"}}]},
        {"table": {"schema": "public", "name": "joint_foreign_key"}, "object_relationships": [
            {"name": "table2", "using": {"foreign_key_constraint_on": ["table2_name", "table2_table1_id"]}}]},
    ]}]}))
    .unwrap();
    let q = r#"query {
        table1 : __type(name: "table1") { fields { name type { kind } } }
        table2 : __type(name: "table2") { fields { name type { kind } } }
        joint_foreign_key : __type(name: "joint_foreign_key") { fields { name type { kind } } } }"#;
    let kinds = |list: &[(&str, &str)]| -> Value {
        json!({"fields": list.iter().map(|(n, k)| json!({"name": n, "type": {"kind": k}})).collect::<Vec<_>>()})
    };
    assert_eq!(
        answer(&md, &db, q),
        json!({
            "table1": kinds(&[("id", "NON_NULL"), ("name", "SCALAR"), ("via_table2", "OBJECT"), ("via_table2_not_null", "OBJECT")]),
            "table2": kinds(&[
                ("id", "NON_NULL"), ("name", "SCALAR"), ("table1_id", "SCALAR"), ("table1_id_not_null", "NON_NULL"),
                ("via_table1", "OBJECT"), ("via_table1_not_null", "NON_NULL"),
            ]),
            "joint_foreign_key": kinds(&[("id", "NON_NULL"), ("table2", "OBJECT"), ("table2_name", "NON_NULL"), ("table2_table1_id", "SCALAR")]),
        })
    );
}

/// Hasura's `fieldSelection`: in an inherited role, a column that not every parent grants is a
/// cell that reads as null where the granting parents' filters fail, so its field is nullable
/// even when the column is NOT NULL; a column every parent grants keeps its nullability.
#[test]
fn inherited_roles_type_redacted_cells_nullable() {
    let (md, db) = crate::sql::leak_tests::leak_fixture();
    let (schema, _) = build_schema(&md, &db, "both");
    let session = Session::from_json(Some(&json!({"x-hasura-role": "both", "x-hasura-user-id": "1"}))).unwrap();
    let q = r#"{ __type(name: "article") { fields { name type { kind } } } }"#;
    let Compiled::Json(v) = compile(&schema, q, None, None, &session, &Limits::default()).unwrap() else {
        panic!("introspection needs no SQL")
    };
    let kind = |field: &str| {
        v["data"]["__type"]["fields"].as_array().unwrap().iter().find(|f| f["name"] == field).map(|f| f["type"]["kind"].clone())
    };
    // `id` is granted by both parents; `title` (NOT NULL) only by `owner`, on its own rows.
    assert_eq!(kind("id"), Some(json!("NON_NULL")));
    assert_eq!(kind("title"), Some(json!("SCALAR")));
}

/// Column descriptions also describe the column's primary-key arguments and its fields in the
/// aggregate objects (Hasura's `ciDescription` in `primaryKeysArguments` and
/// `tableAggregationFields`), but not `T_order_by`'s fields.
#[test]
fn column_descriptions_in_keys_and_aggregates() {
    let (md, db) = descriptions_fixture();
    let q = r#"{
        max: __type(name: "automatic_comment_in_db_max_fields") { fields { name description } }
        order: __type(name: "automatic_comment_in_db_order_by") { inputFields { name description } }
        pk: __type(name: "automatic_comment_in_db_pk_columns_input") { inputFields { name description } } }"#;
    let v = answer(&md, &db, q);
    let description = |ty: &str, list: &str, field: &str| {
        v[ty][list].as_array().unwrap().iter().find(|f| f["name"] == field).map(|f| f["description"].clone())
    };
    let db_comment = json!("The name column comment in the DB");
    assert_eq!(description("max", "fields", "name"), Some(db_comment));
    assert_eq!(description("max", "fields", "id"), Some(Value::Null));
    assert_eq!(description("order", "inputFields", "name"), Some(Value::Null));
    assert_eq!(description("pk", "inputFields", "id"), Some(Value::Null));
}

/// Comparison operators, in name order with Hasura's descriptions (from Hasura's own printed
/// schemas: `String_comparison_exp`, `jsonb_comparison_exp`, `String_array_comparison_exp`).
#[test]
fn comparison_operator_descriptions() {
    let (md, db) = crate::schema::build::tests::fixture();
    let q = r#"{
        string: __type(name: "String_comparison_exp") { inputFields { name description } }
        jsonb: __type(name: "jsonb_comparison_exp") { inputFields { name description } }
        array: __type(name: "String_array_comparison_exp") { inputFields { name description } } }"#;
    let list = |fields: &[(&str, Option<&str>)]| -> Value {
        json!({"inputFields": fields.iter().map(|(n, d)| json!({"name": n, "description": d})).collect::<Vec<_>>()})
    };
    let plain = |op: &'static str| (op, None);
    assert_eq!(
        answer(&md, &db, q),
        json!({
            "string": list(&[
                plain("_eq"), plain("_gt"), plain("_gte"),
                ("_ilike", Some("does the column match the given case-insensitive pattern")),
                plain("_in"),
                ("_iregex", Some("does the column match the given POSIX regular expression, case insensitive")),
                plain("_is_null"),
                ("_like", Some("does the column match the given pattern")),
                plain("_lt"), plain("_lte"), plain("_neq"),
                ("_nilike", Some("does the column NOT match the given case-insensitive pattern")),
                plain("_nin"),
                ("_niregex", Some("does the column NOT match the given POSIX regular expression, case insensitive")),
                ("_nlike", Some("does the column NOT match the given pattern")),
                ("_nregex", Some("does the column NOT match the given POSIX regular expression, case sensitive")),
                ("_nsimilar", Some("does the column NOT match the given SQL regular expression")),
                ("_regex", Some("does the column match the given POSIX regular expression, case sensitive")),
                ("_similar", Some("does the column match the given SQL regular expression")),
            ]),
            "jsonb": list(&[
                plain("_cast"),
                ("_contained_in", Some("is the column contained in the given json value")),
                ("_contains", Some("does the column contain the given json value at the top level")),
                plain("_eq"), plain("_gt"), plain("_gte"),
                ("_has_key", Some("does the string exist as a top-level key in the column")),
                ("_has_keys_all", Some("do all of these strings exist as top-level keys in the column")),
                ("_has_keys_any", Some("do any of these strings exist as top-level keys in the column")),
                plain("_in"), plain("_is_null"), plain("_lt"), plain("_lte"), plain("_neq"), plain("_nin"),
            ]),
            "array": list(&[
                ("_contained_in", Some("is the array contained in the given array value")),
                ("_contains", Some("does the array contain the given value")),
                plain("_eq"), plain("_gt"), plain("_gte"), plain("_in"), plain("_is_null"), plain("_lt"), plain("_lte"), plain("_neq"), plain("_nin"),
            ]),
        })
    );
}

/// The per-operation aggregate order-by inputs: `order by max() on columns of table "T"`
/// (Hasura's printed schema), their fields described by the columns' descriptions.
#[test]
fn aggregate_order_by_inputs() {
    let (md, mut db) = crate::schema::build::tests::fixture();
    let article = db.tables.iter_mut().find(|t| t.name == "article").unwrap();
    article.columns.iter_mut().find(|c| c.name == "title").unwrap().comment = Some("The headline".into());
    let q = r#"{ __type(name: "article_max_order_by") { description inputFields { name description } } }"#;
    let v = answer(&md, &db, q);
    assert_eq!(v["__type"]["description"], json!("order by max() on columns of table \"article\""));
    let fields = v["__type"]["inputFields"].as_array().unwrap();
    let title = fields.iter().find(|f| f["name"] == "title").unwrap();
    assert_eq!(title["description"], json!("The headline"));
}

/// Tracked functions (Hasura's `buildFunctionQueryFieldsPG` / `buildFunctionMutationFieldsPG`):
/// the query field takes the tracked function's `comment`, never the function's database
/// comment; the aggregate and mutation fields always carry Hasura's defaults; a function in
/// another schema is named `schema.name`.
#[test]
fn tracked_function_descriptions() {
    let (mut md, mut db) = crate::schema::build::tests::fixture();
    let function = |schema: &str, name: &str, volatility: &str| -> crate::dbcatalog::DbFunction {
        serde_json::from_value(json!({
            "schema": schema, "name": name, "comment": "a database comment Hasura does not show",
            "arg_names": [], "arg_types": [], "arg_type_schemas": [],
            "return_type_schema": "public", "return_type": "article", "returns_set": true, "volatility": volatility,
        }))
        .unwrap()
    };
    db.functions.push(function("public", "search_articles", "s"));
    db.functions.push(function("public", "recent_articles", "s"));
    db.functions.push(function("shop", "top_articles", "s"));
    db.functions.push(function("public", "reset_articles", "v"));
    md.sources[0].functions = serde_json::from_value(json!([
        {"function": {"schema": "public", "name": "search_articles"}, "comment": "Search the articles"},
        {"function": {"schema": "public", "name": "recent_articles"}},
        {"function": {"schema": "shop", "name": "top_articles"}, "configuration": {"custom_name": "top_articles"}},
        {"function": {"schema": "public", "name": "reset_articles"}, "comment": "not used for mutations"},
    ]))
    .unwrap();
    let q = r#"{ q: __type(name: "query_root") { fields { name description } } m: __type(name: "mutation_root") { fields { name description } } }"#;
    let v = answer(&md, &db, q);
    let description = |root: &str, field: &str| {
        v[root]["fields"].as_array().unwrap().iter().find(|f| f["name"] == field).map(|f| f["description"].clone())
    };
    assert_eq!(description("q", "search_articles"), Some(json!("Search the articles")));
    assert_eq!(
        description("q", "search_articles_aggregate"),
        Some(json!("execute function \"search_articles\" and query aggregates on result of table type \"article\""))
    );
    assert_eq!(description("q", "recent_articles"), Some(json!("execute function \"recent_articles\" which returns \"article\"")));
    assert_eq!(description("q", "top_articles"), Some(json!("execute function \"shop.top_articles\" which returns \"article\"")));
    assert_eq!(description("m", "reset_articles"), Some(json!("execute VOLATILE function \"reset_articles\" which returns \"article\"")));
}

/// A manual object relationship is nullable even over NOT NULL columns (Hasura's
/// `relationshipField`: "Manual or reverse relationships are always nullable"); an array
/// relationship is `[T!]!`.
#[test]
fn manual_object_relationships_are_nullable() {
    let (mut md, db) = crate::schema::build::tests::fixture();
    let article = md.sources[0].tables.iter_mut().find(|t| t.table.name == "article").unwrap();
    article.object_relationships.push(
        serde_json::from_value(json!({"name": "writer", "using": {"manual_configuration": {
            "remote_table": {"schema": "public", "name": "author"}, "column_mapping": {"author_id": "id"},
            "insertion_order": "before_parent"}}}))
        .unwrap(),
    );
    let q = r#"{ article: __type(name: "article") { fields { name type { kind ofType { kind ofType { kind } } } } }
                author: __type(name: "author") { fields { name type { kind ofType { kind ofType { kind } } } } } }"#;
    let v = answer(&md, &db, q);
    let ty = |t: &str, field: &str| v[t]["fields"].as_array().unwrap().iter().find(|f| f["name"] == field).map(|f| f["type"].clone());
    assert_eq!(ty("article", "writer"), Some(json!({"kind": "OBJECT", "ofType": null})));
    assert_eq!(ty("article", "author"), Some(json!({"kind": "NON_NULL", "ofType": {"kind": "OBJECT", "ofType": null}})));
    assert_eq!(
        ty("author", "articles"),
        Some(json!({"kind": "NON_NULL", "ofType": {"kind": "LIST", "ofType": {"kind": "NON_NULL"}}}))
    );
}
