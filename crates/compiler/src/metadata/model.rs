//! Hasura metadata, version 3, as `export_metadata` prints it and `replace_metadata` reads it.
//! Field order in these structs is the export order. Parts Graft does not interpret yet are kept
//! as raw JSON so a round trip loses nothing.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::dbcatalog::QualifiedName;

pub const DEFAULT_SOURCE: &str = "default";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Metadata {
    pub version: u32,
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Sections Graft stores but does not interpret yet (remote_schemas, actions, cron_triggers,
    /// inherited_roles, …), in the order they were given.
    #[serde(flatten)]
    pub other: IndexMap<String, Value>,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata { version: 3, sources: vec![Source::default_source()], other: IndexMap::new() }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub tables: Vec<TableEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<FunctionEntry>,
    #[serde(default = "default_configuration")]
    pub configuration: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customization: Option<Value>,
}

fn default_configuration() -> Value {
    serde_json::json!({
        "connection_info": {
            "database_url": {"from_env": "HASURA_GRAPHQL_DATABASE_URL"},
            "isolation_level": "read-committed",
            "use_prepared_statements": true
        }
    })
}

impl Source {
    pub fn default_source() -> Self {
        Source {
            name: DEFAULT_SOURCE.into(),
            kind: "postgres".into(),
            tables: vec![],
            functions: vec![],
            configuration: default_configuration(),
            customization: None,
        }
    }
    pub fn table(&self, name: &QualifiedName) -> Option<&TableEntry> {
        self.tables.iter().find(|t| &t.table == name)
    }
    pub fn table_mut(&mut self, name: &QualifiedName) -> Option<&mut TableEntry> {
        self.tables.iter_mut().find(|t| &t.table == name)
    }
}

/// Accepts `"author"` (schema `public`) or `{"schema": "public", "name": "author"}`.
pub fn deserialize_qualified<'de, D: Deserializer<'de>>(d: D) -> Result<QualifiedName, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Q {
        Plain(String),
        Full {
            #[serde(default = "public")]
            schema: String,
            name: String,
        },
    }
    Ok(match Q::deserialize(d)? {
        Q::Plain(name) => QualifiedName::new("public", name),
        Q::Full { schema, name } => QualifiedName::new(schema, name),
    })
}

fn public() -> String {
    "public".into()
}

/// Hasura prints qualified names with sorted keys: `{"name": …, "schema": …}`.
pub fn serialize_qualified<S: serde::Serializer>(q: &QualifiedName, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(2))?;
    m.serialize_entry("name", &q.name)?;
    m.serialize_entry("schema", &q.schema)?;
    m.end()
}

/// The JSON Hasura prints for a qualified name.
pub fn qualified_json(q: &QualifiedName) -> Value {
    serde_json::json!({"name": q.name, "schema": q.schema})
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableEntry {
    #[serde(deserialize_with = "deserialize_qualified", serialize_with = "serialize_qualified")]
    pub table: QualifiedName,
    #[serde(default, skip_serializing_if = "TableConfig::is_empty")]
    pub configuration: TableConfig,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_enum: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_relationships: Vec<Relationship>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub array_relationships: Vec<Relationship>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computed_fields: Vec<ComputedField>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_relationships: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insert_permissions: Vec<Permission>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub select_permissions: Vec<Permission>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub update_permissions: Vec<Permission>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_permissions: Vec<Permission>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_triggers: Vec<Value>,
}

impl TableEntry {
    pub fn new(table: QualifiedName) -> Self {
        TableEntry {
            table,
            is_enum: false,
            configuration: TableConfig::default(),
            object_relationships: vec![],
            array_relationships: vec![],
            computed_fields: vec![],
            remote_relationships: vec![],
            insert_permissions: vec![],
            select_permissions: vec![],
            update_permissions: vec![],
            delete_permissions: vec![],
            event_triggers: vec![],
        }
    }
    /// Every name a relationship, computed field or remote relationship already uses.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.object_relationships
            .iter()
            .chain(self.array_relationships.iter())
            .map(|r| r.name.as_str())
            .chain(self.computed_fields.iter().map(|c| c.name.as_str()))
    }
}

/// Table customization. Fields are in Hasura's export order (sorted keys). On read the deprecated
/// `custom_column_names` is folded into `column_config` (an explicit `column_config` name wins).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(from = "RawTableConfig")]
pub struct TableConfig {
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub column_config: IndexMap<String, ColumnConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Deprecated form of `column_config.<col>.custom_name`; always empty after reading.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub custom_column_names: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub custom_root_fields: IndexMap<String, CustomRootField>,
}

#[derive(Deserialize)]
struct RawTableConfig {
    #[serde(default)]
    column_config: Option<IndexMap<String, ColumnConfig>>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    custom_column_names: Option<IndexMap<String, String>>,
    #[serde(default)]
    custom_name: Option<String>,
    #[serde(default)]
    custom_root_fields: Option<IndexMap<String, Option<CustomRootField>>>,
}

impl From<RawTableConfig> for TableConfig {
    fn from(raw: RawTableConfig) -> Self {
        let mut column_config = raw.column_config.unwrap_or_default();
        for (col, name) in raw.custom_column_names.unwrap_or_default() {
            let entry = column_config.entry(col).or_default();
            if entry.custom_name.is_none() {
                entry.custom_name = Some(name);
            }
        }
        let custom_root_fields = raw
            .custom_root_fields
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        TableConfig {
            column_config,
            comment: raw.comment,
            custom_column_names: IndexMap::new(),
            custom_name: raw.custom_name,
            custom_root_fields,
        }
    }
}

impl TableConfig {
    pub fn is_empty(&self) -> bool {
        self == &TableConfig::default()
    }
    /// The GraphQL name configured for column `col`, if any.
    pub fn column_custom_name(&self, col: &str) -> Option<&str> {
        self.column_config
            .get(col)
            .and_then(|c| c.custom_name.as_deref())
            .or_else(|| self.custom_column_names.get(col).map(|s| s.as_str()))
    }
    pub fn root_field(&self, key: &str) -> Option<&CustomRootField> {
        self.custom_root_fields.get(key)
    }
}

/// A custom root field is a plain name or `{name, comment}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum CustomRootField {
    Name(String),
    Full {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

impl CustomRootField {
    pub fn name(&self) -> Option<&str> {
        match self {
            CustomRootField::Name(n) => Some(n),
            CustomRootField::Full { name, .. } => name.as_deref(),
        }
    }
    pub fn comment(&self) -> Option<&str> {
        match self {
            CustomRootField::Name(_) => None,
            CustomRootField::Full { comment, .. } => comment.as_deref(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ColumnConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Relationship {
    pub name: String,
    pub using: RelUsing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum RelUsing {
    /// Object relationships: a column or columns of this table (`"author_id"`, `["a","b"]`), or
    /// `{table, column(s)}` of the other table pointing here. Array relationships: always
    /// `{table, column(s)}`.
    #[serde(rename = "foreign_key_constraint_on")]
    ForeignKey(FkOn),
    #[serde(rename = "manual_configuration")]
    Manual(ManualConfig),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FkOn {
    Column(String),
    Columns(Vec<String>),
    Remote(RemoteFk),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RemoteFk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(deserialize_with = "deserialize_qualified", serialize_with = "serialize_qualified")]
    pub table: QualifiedName,
}

impl RemoteFk {
    pub fn column_list(&self) -> Vec<String> {
        match (&self.column, &self.columns) {
            (Some(c), _) => vec![c.clone()],
            (None, Some(cs)) => cs.clone(),
            (None, None) => vec![],
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManualConfig {
    pub column_mapping: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insertion_order: Option<String>,
    #[serde(deserialize_with = "deserialize_qualified", serialize_with = "serialize_qualified")]
    pub remote_table: QualifiedName,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComputedField {
    pub name: String,
    pub definition: ComputedFieldDef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComputedFieldDef {
    #[serde(deserialize_with = "deserialize_qualified", serialize_with = "serialize_qualified")]
    pub function: QualifiedName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_argument: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_argument: Option<String>,
}

/// A permission entry; the body is interpreted by the permissions layer (issue 4).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Permission {
    pub role: String,
    pub permission: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FunctionEntry {
    #[serde(deserialize_with = "deserialize_qualified", serialize_with = "serialize_qualified")]
    pub function: QualifiedName,
    #[serde(default, skip_serializing_if = "FunctionConfig::is_empty")]
    pub configuration: FunctionConfig,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FunctionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_name: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub custom_root_fields: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_as: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_argument: Option<String>,
}

impl FunctionConfig {
    pub fn is_empty(&self) -> bool {
        self == &FunctionConfig::default()
    }
}

impl Metadata {
    /// The source `name`. Graft serves one source (the database it is installed in) under
    /// whatever name the metadata gives it; `default`, the name a request without `source`
    /// means, also finds it when no source is called `default`, so a renamed source keeps
    /// answering Graft's SQL helpers and Hasura clients that leave `source` out.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.source_index(name).map(|i| &self.sources[i])
    }
    pub fn source_mut(&mut self, name: &str) -> Option<&mut Source> {
        self.source_index(name).map(|i| &mut self.sources[i])
    }
    fn source_index(&self, name: &str) -> Option<usize> {
        self.sources
            .iter()
            .position(|s| s.name == name)
            .or_else(|| (name == DEFAULT_SOURCE && self.sources.len() == 1).then_some(0))
    }
    /// The source Graft serves, whatever its name.
    pub fn default_source(&self) -> Option<&Source> {
        self.source(DEFAULT_SOURCE)
    }
}

/// Object or array relationship.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelKind {
    Object,
    Array,
}

impl RelKind {
    /// Hasura's metadata object type: `object_relation` / `array_relation`.
    pub fn object_type(self) -> &'static str {
        match self {
            RelKind::Object => "object_relation",
            RelKind::Array => "array_relation",
        }
    }
}

/// The four table permission kinds, in Hasura's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PermKind {
    Insert,
    Select,
    Update,
    Delete,
}

impl PermKind {
    pub const ALL: [PermKind; 4] = [PermKind::Insert, PermKind::Select, PermKind::Update, PermKind::Delete];

    /// `insert`, `select`, `update`, `delete`.
    pub fn code(self) -> &'static str {
        match self {
            PermKind::Insert => "insert",
            PermKind::Select => "select",
            PermKind::Update => "update",
            PermKind::Delete => "delete",
        }
    }

    pub fn from_code(code: &str) -> Option<PermKind> {
        PermKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl TableEntry {
    pub fn relationships(&self, kind: RelKind) -> &Vec<Relationship> {
        match kind {
            RelKind::Object => &self.object_relationships,
            RelKind::Array => &self.array_relationships,
        }
    }
    pub fn relationships_mut(&mut self, kind: RelKind) -> &mut Vec<Relationship> {
        match kind {
            RelKind::Object => &mut self.object_relationships,
            RelKind::Array => &mut self.array_relationships,
        }
    }
    /// The relationship called `name` and its kind.
    pub fn relationship(&self, name: &str) -> Option<(RelKind, &Relationship)> {
        [RelKind::Object, RelKind::Array]
            .into_iter()
            .find_map(|k| self.relationships(k).iter().find(|r| r.name == name).map(|r| (k, r)))
    }
    pub fn relationship_mut(&mut self, name: &str) -> Option<&mut Relationship> {
        self.object_relationships
            .iter_mut()
            .chain(self.array_relationships.iter_mut())
            .find(|r| r.name == name)
    }
    pub fn permissions(&self, kind: PermKind) -> &Vec<Permission> {
        match kind {
            PermKind::Insert => &self.insert_permissions,
            PermKind::Select => &self.select_permissions,
            PermKind::Update => &self.update_permissions,
            PermKind::Delete => &self.delete_permissions,
        }
    }
    pub fn permissions_mut(&mut self, kind: PermKind) -> &mut Vec<Permission> {
        match kind {
            PermKind::Insert => &mut self.insert_permissions,
            PermKind::Select => &mut self.select_permissions,
            PermKind::Update => &mut self.update_permissions,
            PermKind::Delete => &mut self.delete_permissions,
        }
    }
}

impl Source {
    pub fn function(&self, name: &QualifiedName) -> Option<&FunctionEntry> {
        self.functions.iter().find(|f| &f.function == name)
    }
    pub fn function_mut(&mut self, name: &QualifiedName) -> Option<&mut FunctionEntry> {
        self.functions.iter_mut().find(|f| &f.function == name)
    }
}

impl FkOn {
    /// The columns named, whichever form was used.
    pub fn columns(&self) -> Vec<String> {
        match self {
            FkOn::Column(c) => vec![c.clone()],
            FkOn::Columns(cs) => cs.clone(),
            FkOn::Remote(r) => r.column_list(),
        }
    }
}
