//! The SQL API: `graphql.resolve`, `graphql.metadata`, and DBA helpers that build the same
//! metadata requests (one implementation behind both).

use graft_compiler::metadata::ops;
use graft_compiler::request::{Compiled, Limits, Session};
use graft_compiler::GqlError;
use pgrx::prelude::*;
use pgrx::datum::Json;
use serde_json::{json, Value};

use crate::errors::GraftError;
use crate::json_text::JsonText;
use crate::{cache, catalog, execute, settings};

fn error_json(code: &'static str, path: &str, message: impl Into<String>) -> String {
    GqlError::new(code, path, message).response().to_string()
}

/// Answer one GraphQL request as the role in `session` (admin without one).
#[pg_extern(volatile, parallel_unsafe)]
fn resolve(
    query: Option<&str>,
    variables: default!(Option<Json>, "NULL"),
    session: default!(Option<Json>, "NULL"),
    operation_name: default!(Option<&str>, "NULL"),
) -> JsonText {
    match resolve_inner(query, variables.map(|j| j.0), session.map(|j| j.0), operation_name) {
        Ok(s) => JsonText(s),
        Err(e) => e.raise(),
    }
}

fn resolve_inner(
    query: Option<&str>,
    variables: Option<Value>,
    session: Option<Value>,
    operation_name: Option<&str>,
) -> Result<String, GraftError> {
    let Some(query) = query.filter(|q| !q.trim().is_empty()) else {
        return Ok(error_json("bad-request", "$.query", "the query is empty"));
    };
    let mut session = match Session::from_json(session.as_ref()) {
        Ok(s) => s,
        Err(e) => return Ok(e.response().to_string()),
    };
    session.stringify_numeric = settings::stringify_numeric();
    let state = cache::state()?;
    let backend_only = session.get("x-hasura-use-backend-only-permissions").map(|v| v.eq_ignore_ascii_case("true")).unwrap_or(false);
    let schema = state.borrow_mut().schema(&session.role, backend_only);
    let schema_key = cache::State::schema_key(&session.role, backend_only);
    let limits = Limits { max_depth: settings::max_depth(), ..Limits::default() };
    // A compiler bug must not take the backend down: a panic becomes an `unexpected` error.
    let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut st = state.borrow_mut();
        st.compiled.compile(&schema_key, &schema, query, variables.as_ref(), operation_name, &session, &limits)
    }));
    match compiled {
        Err(_) => Ok(error_json("unexpected", "$", "internal error while compiling the request")),
        Ok(Err(e)) => Ok(e.response().to_string()),
        Ok(Ok(Compiled::Json(v))) => Ok(v.to_string()),
        Ok(Ok(Compiled::Sql(sql))) => execute::run_query(&sql),
        Ok(Ok(Compiled::Mutation(plan))) => execute::run_mutation(&plan, &session.to_json().to_string()),
    }
}

/// Apply a Hasura `/v1/metadata` request; returns the response body, or Hasura's error body.
#[pg_extern(volatile, parallel_unsafe)]
fn metadata(request: Json) -> Json {
    Json(match apply_metadata(&request.0) {
        Ok(v) => v,
        Err(GraftError::Metadata(e)) => e.to_json(),
        Err(e) => e.raise(),
    })
}

/// The one path every metadata change takes.
pub fn apply_metadata(request: &Value) -> Result<Value, GraftError> {
    // Serialize writers; readers keep reading the committed document. Advisory, so callers
    // need no privilege on the store table itself.
    Spi::run("SELECT pg_catalog.pg_advisory_xact_lock(hashtext('graft.metadata_store'))")?;
    let (mut md, version) = catalog::load_metadata()?;
    if let Some(expected) = request.get("resource_version").and_then(|v| v.as_i64()) {
        if expected != version {
            return Err(GraftError::Metadata(graft_compiler::MetadataError::new(
                "conflict",
                "$",
                format!("metadata resource version referenced ({expected}) did not match current version"),
            )));
        }
    }
    let db = catalog::load_db_catalog()?;
    let outcome = ops::apply(&mut md, &db, request, version).map_err(GraftError::Metadata)?;
    // reload_metadata changes nothing stored but must still make every backend reload (e.g.
    // after enum-table rows changed).
    let reload = request.get("type").and_then(|t| t.as_str()) == Some("reload_metadata");
    if outcome.changed || reload {
        if outcome.changed {
            catalog::store_metadata(&md, version + 1)?;
        }
        unsafe { pg_sys::CacheInvalidateRelcacheByRelid(catalog::metadata_store_oid()?) };
        cache::invalidate();
    }
    Ok(outcome.response)
}

/// Run a metadata request from a SQL helper: errors are raised, not returned.
fn helper(request: Value) -> Json {
    match apply_metadata(&request) {
        Ok(v) => Json(v),
        Err(e) => e.raise(),
    }
}

/// `'author'`, `'public.author'`, `'"My Schema"."T"'` → `{schema, name}` via regclass; a name
/// that resolves to nothing is passed on as written, so the metadata API reports it.
fn table_ref(table: &str) -> Value {
    let row: Result<(Option<String>, Option<String>), _> = Spi::get_two_with_args(
        "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass($1)",
        &[table.into()],
    );
    match row {
        Ok((Some(schema), Some(name))) => json!({"schema": schema, "name": name}),
        _ => {
            let (schema, name) = table.split_once('.').unwrap_or(("public", table));
            json!({"schema": schema, "name": name})
        }
    }
}

#[pg_extern(volatile)]
fn track_table(table: &str, custom_name: default!(Option<&str>, "NULL")) -> Json {
    let mut args = json!({"table": table_ref(table), "source": "default"});
    if let Some(n) = custom_name {
        args["configuration"] = json!({"custom_name": n});
    }
    helper(json!({"type": "pg_track_table", "args": args}))
}

#[pg_extern(volatile)]
fn untrack_table(table: &str, cascade: default!(bool, false)) -> Json {
    helper(json!({"type": "pg_untrack_table", "args": {"table": table_ref(table), "cascade": cascade}}))
}

#[pg_extern(volatile)]
fn create_object_relationship(table: &str, name: &str, foreign_key_column: &str) -> Json {
    helper(json!({"type": "pg_create_object_relationship", "args": {
        "table": table_ref(table), "name": name, "using": {"foreign_key_constraint_on": foreign_key_column}}}))
}

#[pg_extern(volatile)]
fn create_array_relationship(table: &str, name: &str, remote_table: &str, remote_column: &str) -> Json {
    helper(json!({"type": "pg_create_array_relationship", "args": {
        "table": table_ref(table), "name": name,
        "using": {"foreign_key_constraint_on": {"table": table_ref(remote_table), "column": remote_column}}}}))
}

#[pg_extern(volatile)]
fn drop_relationship(table: &str, name: &str) -> Json {
    helper(json!({"type": "pg_drop_relationship", "args": {"table": table_ref(table), "relationship": name}}))
}

/// Track every table and view of `schema` and the relationships its foreign keys imply.
#[pg_extern(volatile)]
fn track_all(schema: default!(&str, "'public'")) -> Json {
    let state = match cache::state() {
        Ok(s) => s,
        Err(e) => e.raise(),
    };
    let (md, db) = {
        let st = state.borrow();
        (st.metadata.clone(), st.db.clone())
    };
    helper(ops::track_all_request(&md, &db, schema))
}

#[pg_extern(volatile)]
fn export_metadata() -> Json {
    helper(json!({"type": "export_metadata", "args": {}}))
}

/// Forget this backend's cached metadata, catalog and plans.
#[pg_extern(volatile)]
fn reload() -> bool {
    cache::invalidate();
    true
}

/// `pg_create_<kind>_permission` from SQL: `kind` is select, insert, update or delete.
fn create_permission(kind: &str, table: &str, role: &str, permission: Json, comment: Option<&str>) -> Json {
    let mut args = json!({"table": table_ref(table), "role": role, "permission": permission.0});
    if let Some(c) = comment {
        args["comment"] = json!(c);
    }
    helper(json!({"type": format!("pg_create_{kind}_permission"), "args": args}))
}

#[pg_extern(volatile)]
fn create_select_permission(table: &str, role: &str, permission: Json, comment: default!(Option<&str>, "NULL")) -> Json {
    create_permission("select", table, role, permission, comment)
}

#[pg_extern(volatile)]
fn create_insert_permission(table: &str, role: &str, permission: Json, comment: default!(Option<&str>, "NULL")) -> Json {
    create_permission("insert", table, role, permission, comment)
}

#[pg_extern(volatile)]
fn create_update_permission(table: &str, role: &str, permission: Json, comment: default!(Option<&str>, "NULL")) -> Json {
    create_permission("update", table, role, permission, comment)
}

#[pg_extern(volatile)]
fn create_delete_permission(table: &str, role: &str, permission: Json, comment: default!(Option<&str>, "NULL")) -> Json {
    create_permission("delete", table, role, permission, comment)
}

/// `pg_drop_<kind>_permission` from SQL.
#[pg_extern(volatile)]
fn drop_permission(table: &str, role: &str, kind: &str) -> Json {
    helper(json!({"type": format!("pg_drop_{kind}_permission"), "args": {"table": table_ref(table), "role": role}}))
}
