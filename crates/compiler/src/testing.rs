//! What the unit tests of several modules build the same way: a role's schema from a fixture
//! that must be consistent, and a request session for a role (user id 1).

use serde_json::json;

use crate::dbcatalog::DbCatalog;
use crate::metadata::model::Metadata;
use crate::request::Session;
use crate::schema::build::build_schema;
use crate::Schema;

/// `role`'s schema; the fixture must have no inconsistent object.
pub(crate) fn consistent_schema(md: &Metadata, db: &DbCatalog, role: &str) -> Schema {
    let (s, problems) = build_schema(md, db, role);
    assert!(problems.is_empty(), "{problems:?}");
    s
}

/// A session of `role` with `x-hasura-user-id` 1; `admin` is the admin session.
pub(crate) fn user_session(role: &str) -> Session {
    if role == "admin" {
        return Session::admin();
    }
    Session::from_json(Some(&json!({"x-hasura-role": role, "x-hasura-user-id": "1"}))).unwrap()
}
