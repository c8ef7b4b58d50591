//! What the database looks like: the introspected Postgres catalog the extension hands over as
//! JSON (see `src/catalog.rs`, query `CATALOG_SQL`). Nothing here is Hasura metadata; it is the
//! ground truth metadata is checked against.

use serde::{Deserialize, Serialize};

/// A schema-qualified Postgres name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName { schema: schema.into(), name: name.into() }
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DbCatalog {
    #[serde(default)]
    pub tables: Vec<DbTable>,
    #[serde(default)]
    pub functions: Vec<DbFunction>,
    /// Rows of tracked enum tables (`is_enum`), keyed `schema.name`: the primary-key value and
    /// the comment column, if the table has one.
    #[serde(default)]
    pub enum_values: std::collections::BTreeMap<String, Vec<EnumRow>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EnumRow {
    pub value: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelKind {
    Table,
    View,
    MaterializedView,
    ForeignTable,
    PartitionedTable,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DbTable {
    /// `pg_class.oid`, so the extension can tell which relation invalidations matter.
    #[serde(default)]
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub kind: RelKind,
    #[serde(default)]
    pub comment: Option<String>,
    pub columns: Vec<DbColumn>,
    #[serde(default)]
    pub primary_key: Option<DbConstraint>,
    /// Unique constraints (not the primary key) and every other unique index (partial and
    /// expression indexes too), as Hasura lists them in `T_constraint`.
    #[serde(default)]
    pub unique_constraints: Vec<DbConstraint>,
    #[serde(default)]
    pub foreign_keys: Vec<DbForeignKey>,
    /// For views: whether Postgres can insert/update/delete through it (auto-updatable).
    #[serde(default)]
    pub is_insertable: bool,
    #[serde(default)]
    pub is_updatable: bool,
    #[serde(default)]
    pub is_deletable: bool,
}

impl DbTable {
    pub fn qualified(&self) -> QualifiedName {
        QualifiedName::new(&self.schema, &self.name)
    }
    pub fn column(&self, name: &str) -> Option<&DbColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DbColumn {
    pub name: String,
    /// Postgres type name as `pg_type.typname` gives it: `int4`, `text`, `timestamptz`, `_text`
    /// for `text[]`, or a user type's name.
    pub type_name: String,
    /// Schema of the type (`pg_catalog` for built-ins).
    #[serde(default = "pg_catalog")]
    pub type_schema: String,
    /// `pg_type.typtype`: b(ase), e(num), c(omposite), d(omain), r(ange), m(ultirange), p(seudo).
    #[serde(default = "base_kind")]
    pub type_kind: String,
    /// For arrays, the element type name (`text` for `_text`).
    #[serde(default)]
    pub elem_type: Option<String>,
    /// For Postgres enum types: the labels in order.
    #[serde(default)]
    pub enum_values: Option<Vec<String>>,
    pub nullable: bool,
    #[serde(default)]
    pub has_default: bool,
    #[serde(default)]
    pub is_identity: bool,
    /// `GENERATED ALWAYS AS IDENTITY`: Postgres rejects explicit values.
    #[serde(default)]
    pub identity_always: bool,
    /// `GENERATED ALWAYS AS (...) STORED` columns can't be written.
    #[serde(default)]
    pub is_generated: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

fn pg_catalog() -> String {
    "pg_catalog".into()
}
fn base_kind() -> String {
    "b".into()
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DbConstraint {
    pub name: String,
    /// The plain columns of the key, in key order (an expression key has none).
    pub columns: Vec<String>,
    /// For a unique index that backs no constraint (`ON CONFLICT ON CONSTRAINT` cannot name
    /// it): its key as `ON CONFLICT` infers it, one SQL text per key column, a quoted column
    /// name or a parenthesised expression (`"email"`, `(lower(email))`), from
    /// `pg_get_indexdef`. `None` for a constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_keys: Option<Vec<String>>,
    /// A partial unique index's predicate (`pg_get_expr` of `indpred`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_predicate: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DbForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_schema: String,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DbFunction {
    pub schema: String,
    pub name: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// Argument names (empty string for unnamed) and type names, input arguments only.
    pub arg_names: Vec<String>,
    pub arg_types: Vec<String>,
    #[serde(default)]
    pub arg_type_schemas: Vec<String>,
    /// How many trailing arguments have defaults.
    #[serde(default)]
    pub num_defaults: usize,
    pub return_type_schema: String,
    pub return_type: String,
    pub returns_set: bool,
    /// `i`, `s` or `v`.
    pub volatility: String,
}

impl DbFunction {
    pub fn qualified(&self) -> QualifiedName {
        QualifiedName::new(&self.schema, &self.name)
    }
}

impl DbCatalog {
    pub fn table(&self, schema: &str, name: &str) -> Option<&DbTable> {
        self.tables.iter().find(|t| t.schema == schema && t.name == name)
    }
    pub fn functions_named(&self, schema: &str, name: &str) -> impl Iterator<Item = &DbFunction> {
        let (s, n) = (schema.to_string(), name.to_string());
        self.functions.iter().filter(move |f| f.schema == s && f.name == n)
    }
}
