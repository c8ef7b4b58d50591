//! The GraphQL schema one role sees: the type map introspection prints and validation checks
//! against, plus the resolved table/column/relationship info the SQL generator needs. Output
//! fields carry a `FieldKind` saying what they mean, so the planner never re-derives it from names.

use indexmap::IndexMap;

use crate::dbcatalog::QualifiedName;

#[derive(Clone, Debug)]
pub struct Schema {
    pub types: IndexMap<String, TypeDef>,
    pub query_type: String,
    pub mutation_type: Option<String>,
    pub subscription_type: Option<String>,
    pub tables: Vec<TableInfo>,
    pub functions: Vec<FunctionInfo>,
}

impl Schema {
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }
    pub fn object_field(&self, type_name: &str, field: &str) -> Option<&Field> {
        match &self.types.get(type_name)?.kind {
            TypeKind::Object { fields } => fields.get(field),
            _ => None,
        }
    }
}

/// Names of the types reachable from `roots` through output fields, their arguments and input
/// fields (the types introspection may list; graphql-js and Hasura list no others).
pub fn reachable_types<'t>(types: &'t IndexMap<String, TypeDef>, roots: &[&str]) -> std::collections::HashSet<&'t str> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut stack: Vec<&str> = roots.to_vec();
    while let Some(name) = stack.pop() {
        let Some((key, def)) = types.get_key_value(name) else { continue };
        if !seen.insert(key.as_str()) {
            continue;
        }
        let mut push = |t: &'t TypeRef| {
            if !seen.contains(t.base_name()) {
                stack.push(t.base_name());
            }
        };
        match &def.kind {
            TypeKind::Scalar | TypeKind::Enum { .. } => {}
            TypeKind::Object { fields } => {
                for f in fields.values() {
                    push(&f.ty);
                    for a in f.args.values() {
                        push(&a.ty);
                    }
                }
            }
            TypeKind::InputObject { fields } => {
                for f in fields.values() {
                    push(&f.ty);
                }
            }
        }
    }
    seen
}

#[derive(Clone, Debug)]
pub struct TypeDef {
    pub name: String,
    pub description: Option<String>,
    pub kind: TypeKind,
}

#[derive(Clone, Debug)]
pub enum TypeKind {
    Scalar,
    Object { fields: IndexMap<String, Field> },
    Enum { values: IndexMap<String, EnumValue> },
    InputObject { fields: IndexMap<String, InputValue> },
}

impl TypeKind {
    pub fn kind_name(&self) -> &'static str {
        match self {
            TypeKind::Scalar => "SCALAR",
            TypeKind::Object { .. } => "OBJECT",
            TypeKind::Enum { .. } => "ENUM",
            TypeKind::InputObject { .. } => "INPUT_OBJECT",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub description: Option<String>,
    pub args: IndexMap<String, InputValue>,
    pub ty: TypeRef,
    pub kind: FieldKind,
}

#[derive(Clone, Debug)]
pub struct InputValue {
    pub name: String,
    pub description: Option<String>,
    pub ty: TypeRef,
    /// The default as GraphQL literal text (`"[]"`, `"true"`), as introspection prints it.
    pub default_value: Option<String>,
    /// How a scalar value here is parsed, where that differs from its type's own rule.
    pub parse: ScalarParse,
}

/// How a location parses a scalar. A value of a Postgres type (a column, a function
/// argument) is parsed by its type, and Hasura's `parsePGValue` passes a string on for
/// Postgres to read, whatever the type (`id: {_eq: "1"}`, `published: {_eq: "true"}`). The
/// arguments that are not values use GraphQL's own scalars (`_is_null`, `distinct`, `if`),
/// and `limit` and `offset` Hasura's `nonNegativeInt` and `bigInt`, all under the type names
/// `Int` and `Boolean`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScalarParse {
    /// A Postgres value, parsed by its type.
    #[default]
    ByType,
    /// GraphQL's own scalar: an `Int`, `Float` or `Boolean` is never a string.
    GraphQl,
    /// An integer from 0 to 2³¹−1; strings are refused.
    NonNegativeInt,
    /// A 64-bit integer, or a string of decimal digits (`offset: "1"`).
    BigInt,
}

#[derive(Clone, Debug)]
pub struct EnumValue {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    pub fn named(n: impl Into<String>) -> TypeRef {
        TypeRef::Named(n.into())
    }
    pub fn non_null(self) -> TypeRef {
        TypeRef::NonNull(Box::new(self))
    }
    pub fn list(self) -> TypeRef {
        TypeRef::List(Box::new(self))
    }
    /// `[T!]!`
    pub fn nn_list_nn(n: impl Into<String>) -> TypeRef {
        TypeRef::named(n).non_null().list().non_null()
    }
    /// `[T!]`
    pub fn list_nn(n: impl Into<String>) -> TypeRef {
        TypeRef::named(n).non_null().list()
    }
    pub fn base_name(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.base_name(),
        }
    }
    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeRef::Named(n) => write!(f, "{n}"),
            TypeRef::List(t) => write!(f, "[{t}]"),
            TypeRef::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

/// What an output field means. Indices point into `Schema::tables` / `Schema::functions` and
/// into the table's `columns` / `relationships` / `computed_fields`.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldKind {
    /// A field whose meaning follows from its parent type alone (aggregate sub-objects, …).
    Plain,
    Column { table: usize, column: usize },
    ObjectRel { table: usize, rel: usize },
    ArrayRel { table: usize, rel: usize },
    ArrayRelAggregate { table: usize, rel: usize },
    ComputedScalar { table: usize, field: usize },
    ComputedSetOf { table: usize, field: usize },
    RootSelect { table: usize },
    RootByPk { table: usize },
    RootAggregate { table: usize },
    /// `T_stream` on the subscription root: rows after a cursor, in cursor order.
    RootStream { table: usize },
    RootFunction { function: usize },
    RootFunctionAggregate { function: usize },
    /// `T_aggregate.aggregate`
    AggregateFields { table: usize },
    /// `T_aggregate.nodes`
    AggregateNodes { table: usize },
    /// `T_aggregate_fields.count`
    AggregateCount { table: usize },
    /// `T_aggregate_fields.sum` etc.; `op` is the SQL aggregate function name.
    AggregateOp { table: usize, op: String },
    /// A column inside `T_sum_fields` etc.
    AggregateOpColumn { table: usize, op: String, column: usize },
    /// `__schema`, `__type` on the query root.
    IntrospectionSchema,
    IntrospectionType,
    Insert { table: usize },
    InsertOne { table: usize },
    Update { table: usize },
    UpdateByPk { table: usize },
    UpdateMany { table: usize },
    Delete { table: usize },
    DeleteByPk { table: usize },
}

#[derive(Clone, Debug)]
pub struct TableInfo {
    pub name: QualifiedName,
    /// GraphQL object type name (`custom_name` or the default `schema_table`/`table`).
    pub type_name: String,
    pub description: Option<String>,
    pub columns: Vec<ColumnInfo>,
    pub relationships: Vec<RelInfo>,
    pub computed_fields: Vec<ComputedFieldInfo>,
    /// Indices into `columns`.
    pub primary_key: Vec<usize>,
    pub is_enum: bool,
    /// Unique and primary-key constraints, for `T_constraint`.
    pub constraints: Vec<ConstraintInfo>,
    /// `ON CONFLICT` targets of the `constraints` that are unique indexes backing no
    /// constraint: (SQL name, `(keys) [WHERE predicate]`). The others are `ON CONSTRAINT name`.
    pub conflict_targets: Vec<(String, String)>,
    /// Views, materialized views and foreign tables (not tables or partitioned tables).
    pub is_view: bool,
    pub insertable: bool,
    pub updatable: bool,
    pub deletable: bool,
    /// Root field names after `custom_root_fields`.
    pub root: RootNames,
    /// The role's permissions; `None` for admin.
    pub perms: Option<super::permissions::TablePerms>,
}

#[derive(Clone, Debug, Default)]
pub struct RootNames {
    pub select: String,
    pub select_by_pk: String,
    pub select_aggregate: String,
    pub select_stream: String,
    pub insert: String,
    pub insert_one: String,
    pub update: String,
    pub update_by_pk: String,
    pub update_many: String,
    pub delete: String,
    pub delete_by_pk: String,
    /// `custom_root_fields` comments, keyed by Hasura's key (`select`, `insert_one`, …).
    pub comments: std::collections::HashMap<String, String>,
}

impl RootNames {
    /// The description of root field `key`: its configured comment, else `default`.
    pub fn description(&self, key: &str, default: String) -> Option<String> {
        super::descriptions::root_field(self.comments.get(key).map(String::as_str), default)
    }
}

impl TableInfo {
    /// The role may read rows (admin, or a select permission).
    pub fn can_select(&self) -> bool {
        self.perms.as_ref().map(|p| p.select.is_some()).unwrap_or(true)
    }
    pub fn allow_aggregations(&self) -> bool {
        match &self.perms {
            None => true,
            Some(p) => p.select.as_ref().map(|s| s.allow_aggregations).unwrap_or(false),
        }
    }
    /// `select`, `select_by_pk`, `select_aggregate` allowed by `query_root_fields`.
    pub fn root_allowed(&self, which: &str) -> bool {
        match self.perms.as_ref().and_then(|p| p.select.as_ref()) {
            None => self.perms.is_none(),
            Some(s) => s.query_root_fields.as_ref().map(|f| f.iter().any(|x| x == which)).unwrap_or(true),
        }
    }
    /// `select`, `select_by_pk`, `select_aggregate`, `select_stream` allowed on the
    /// subscription root by `subscription_root_fields` (Hasura's `isRootFieldAllowed`: no list
    /// allows all of them; `query_root_fields` has no say here).
    pub fn subscription_allowed(&self, which: &str) -> bool {
        match self.perms.as_ref().and_then(|p| p.select.as_ref()) {
            None => self.perms.is_none(),
            Some(s) => s.subscription_root_fields.as_ref().map(|f| f.iter().any(|x| x == which)).unwrap_or(true),
        }
    }
    /// Nothing of this table is visible to the role.
    pub fn hidden(&self) -> bool {
        self.perms.as_ref().map(|p| p.is_empty()).unwrap_or(false)
    }
}

impl TableInfo {
    pub fn column_by_gql(&self, gql: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.gql_name == gql)
    }
    pub fn column_by_sql(&self, sql: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == sql)
    }
    /// The SQL name of the constraint whose `T_constraint` value is `gql`.
    pub fn constraint_by_gql(&self, gql: &str) -> Option<&str> {
        self.constraints.iter().find(|c| c.gql_name == gql).map(|c| c.name.as_str())
    }
    pub fn rel_by_name(&self, name: &str) -> Option<usize> {
        self.relationships.iter().position(|r| r.name == name)
    }
    pub fn computed_by_name(&self, name: &str) -> Option<usize> {
        self.computed_fields.iter().position(|c| c.name == name)
    }
}

/// A unique or primary-key constraint and its value in the `T_constraint` enum.
#[derive(Clone, Debug)]
pub struct ConstraintInfo {
    /// SQL name (for `ON CONFLICT ON CONSTRAINT`).
    pub name: String,
    /// The `T_constraint` enum value: the SQL name when it is a GraphQL name, else derived
    /// from it (see `schema::names::constraint_enum_values`).
    pub gql_name: String,
    /// Indices into the table's `columns`.
    pub columns: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct ColumnInfo {
    /// SQL column name.
    pub name: String,
    /// GraphQL field name (after `column_config.custom_name`).
    pub gql_name: String,
    /// SQL type for casts of bound parameters, already quoted: `"pg_catalog"."int4"`,
    /// `"pg_catalog"."text"[]`.
    pub sql_type: String,
    /// GraphQL scalar (or enum, for enum-table references) of the column or its elements.
    pub scalar: String,
    pub is_array: bool,
    pub nullable: bool,
    pub description: Option<String>,
    /// Broad category used to pick operators and aggregates.
    pub category: TypeCategory,
    /// `GENERATED ALWAYS` (stored or identity): never written by mutations.
    pub generated: bool,
    /// What the schema's role may do with the column (all true for admin; insert/update false
    /// for generated and preset columns).
    pub select: bool,
    pub insert: bool,
    pub update: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeCategory {
    Numeric,
    String,
    Boolean,
    Json,
    Jsonb,
    /// Dates, times, uuids, enums … anything ordered but neither numeric nor text.
    Other,
    /// A reference to an enum table: the GraphQL enum `<T>_enum`, compared by equality only.
    EnumRef,
    /// PostGIS `geometry`: GeoJSON in and out, spatial operators (`_st_contains` …).
    Geometry,
    /// PostGIS `geography`: GeoJSON in and out, `_st_intersects` and `_st_d_within`.
    Geography,
    /// PostGIS `raster`: hex WKB in and out, `_st_intersects_rast` and friends, not ordered.
    Raster,
    /// The `ltree` extension's label paths: `_ancestor`, `_matches` ….
    Ltree,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelKindInfo {
    Object,
    Array,
}

#[derive(Clone, Debug)]
pub struct RelInfo {
    pub name: String,
    pub kind: RelKindInfo,
    /// Index of the target table in `Schema::tables`.
    pub target: usize,
    /// (column of this table, column of the target table), SQL names.
    pub mapping: Vec<(String, String)>,
    /// Object relationships: whether the field may be null.
    pub nullable: bool,
    /// Nested inserts: the related row is inserted before this one (it holds the key this
    /// row's columns point at), else after (it points at this row).
    pub insert_before: bool,
    /// The role may select from the target table; hidden relationships still serve
    /// permission filters.
    pub visible: bool,
}

#[derive(Clone, Debug)]
pub struct ComputedFieldInfo {
    pub name: String,
    pub function: QualifiedName,
    pub description: Option<String>,
    pub returns: ComputedReturn,
    /// Position of the table-row argument among the function's input arguments.
    pub table_arg_pos: usize,
    /// Position of the session argument (json) if any.
    pub session_arg_pos: Option<usize>,
    /// The remaining input arguments, exposed as `args: <cf>_<T>_args`, with their positions.
    pub args: Vec<FunctionArg>,
    /// Total number of input arguments the function takes.
    pub num_args: usize,
    pub visible: bool,
}

#[derive(Clone, Debug)]
pub enum ComputedReturn {
    Scalar { sql_type: String, scalar: String, category: TypeCategory },
    SetOf { table: usize },
}

#[derive(Clone, Debug)]
pub struct FunctionArg {
    pub name: String,
    pub position: usize,
    pub sql_type: String,
    pub scalar: String,
    pub has_default: bool,
}

#[derive(Clone, Debug)]
pub struct FunctionInfo {
    pub name: QualifiedName,
    /// Root field name (custom_name or the function name).
    pub field_name: String,
    pub aggregate_field_name: String,
    /// Table (in `Schema::tables`) whose rows the function returns.
    pub returns_table: usize,
    pub args: Vec<FunctionArg>,
    pub session_arg_pos: Option<usize>,
    pub num_args: usize,
    /// The tracked function's metadata `comment` (see `descriptions::function_query`).
    pub description: Option<String>,
    pub is_mutation: bool,
}
