//! A GraphQL request against a role's schema: parse, pick the operation, validate, coerce
//! variables and arguments into a normalized selection tree, and lower it to SQL.

pub mod selection;
pub mod session;

pub use selection::SelField;
pub use session::Session;

use serde_json::Value;

use crate::error::GqlError;
use crate::schema::model::Schema;

/// Bounds checked before and during parsing, so no input can exhaust a backend's stack.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Maximum selection-set nesting depth.
    pub max_depth: usize,
    /// Maximum query text size in bytes.
    pub max_query_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_query_bytes: 1 << 20 }
    }
}

/// What to run for one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Compiled {
    /// One SQL statement returning one row with one `json` column: the whole response
    /// (`{"data": …}`). `params` are bound as `text` (`None` = SQL NULL), cast in the SQL.
    Sql(CompiledSql),
    /// A response computed without the database (introspection, `__typename` only).
    Json(Value),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompiledSql {
    pub sql: String,
    pub params: Vec<Option<String>>,
    /// Writes data: the extension sets `hasura.user` (transaction-local) before running it.
    pub is_mutation: bool,
    /// Run inside a subtransaction so a Postgres error becomes a GraphQL error and leaves
    /// nothing behind: always for mutations, and for queries whose parameters the compiler
    /// could not fully validate (timestamps, regex patterns, custom types …). Plain queries
    /// skip it and pay nothing.
    pub guarded: bool,
}

/// Compile one request for the role whose schema is `schema`.
pub fn compile(
    _schema: &Schema,
    _query: &str,
    _variables: Option<&Value>,
    _operation_name: Option<&str>,
    _session: &Session,
    _limits: &Limits,
) -> Result<Compiled, GqlError> {
    unimplemented!("request compiler")
}
