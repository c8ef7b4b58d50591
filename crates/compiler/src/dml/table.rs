//! The table a data API request names, and the role's rights on it, checked the way Hasura's
//! DML checks them (`RQL/DML/Internal.hs`), with its messages.

use serde_json::{Map, Value};

use crate::error::MetadataError;
use crate::metadata::names::is_graphql_name;
use crate::request::Session;
use crate::schema::model::{Schema, TableInfo};

/// The operation a permission check is about, as Hasura names it in messages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Perm {
    Select,
    Insert,
    Update,
    Delete,
}

impl Perm {
    fn code(self) -> &'static str {
        match self {
            Perm::Select => "select",
            Perm::Insert => "insert",
            Perm::Update => "update",
            Perm::Delete => "delete",
        }
    }
}

/// What every translation reads: the role's schema, the session, and the request's table.
pub struct Cx<'s> {
    pub schema: &'s Schema,
    pub session: &'s Session,
    pub table: usize,
}

impl<'s> Cx<'s> {
    pub fn new(schema: &'s Schema, session: &'s Session, args: &Map<String, Value>) -> Result<Cx<'s>, MetadataError> {
        if let Some(source) = args.get("source") {
            if source.as_str() != Some("default") {
                return Err(MetadataError::new(
                    "not-exists",
                    "$.args.source",
                    format!("source with name {source} does not exist"),
                ));
            }
        }
        let Some(table) = args.get("table") else {
            return Err(MetadataError::new("parse-failed", "$.args", "key \"table\" not found"));
        };
        let name = crate::metadata::model::deserialize_qualified(table.clone())
            .map_err(|_| MetadataError::new("parse-failed", "$.args.table", "expected a table name: a String or {\"schema\", \"name\"}"))?;
        let table = schema.tables.iter().position(|t| t.name == name).ok_or_else(|| {
            MetadataError::new("not-exists", "$.args.table", format!("table {} does not exist", quoted_table(&name)))
        })?;
        Ok(Cx { schema, session, table })
    }

    pub fn info(&self) -> &'s TableInfo {
        &self.schema.tables[self.table]
    }

    pub fn is_admin(&self) -> bool {
        self.info().perms.is_none()
    }

    /// `T on "table" for role "r" is not allowed. ` when the role has no such permission.
    pub fn require(&self, ti: usize, perm: Perm) -> Result<(), MetadataError> {
        let t = &self.schema.tables[ti];
        let Some(p) = &t.perms else { return Ok(()) };
        let has = match perm {
            Perm::Select => p.select.is_some(),
            Perm::Insert => p.insert.is_some(),
            Perm::Update => p.update.is_some(),
            Perm::Delete => p.delete.is_some(),
        };
        if has {
            return Ok(());
        }
        Err(MetadataError::new(
            "permission-denied",
            "$.args",
            format!(
                "{} on {} for role \"{}\" is not allowed. ",
                perm.code(),
                quoted_table(&t.name),
                self.session.role
            ),
        ))
    }

    /// The column `sql_name` of table `ti`, which the role may `perm`. A column the role may
    /// not use is reported as Hasura does: to a role, as a missing permission (whether the
    /// column exists or not); to the admin, as a missing column.
    pub fn column(&self, ti: usize, sql_name: &str, perm: Perm, path: &str) -> Result<usize, MetadataError> {
        let t = &self.schema.tables[ti];
        let allowed = |ci: usize| {
            let c = &t.columns[ci];
            match perm {
                Perm::Select => c.select,
                Perm::Insert => c.insert,
                Perm::Update => c.update,
                Perm::Delete => true,
            }
        };
        match t.column_by_sql(sql_name) {
            Some(ci) if allowed(ci) => Ok(ci),
            _ if t.perms.is_none() => Err(MetadataError::new(
                "permission-denied",
                path,
                format!("no such column exists : \"{sql_name}\""),
            )),
            _ => Err(MetadataError::new(
                "permission-denied",
                path,
                format!(
                    "role \"{}\" does not have permission to {} column \"{sql_name}\"",
                    self.session.role,
                    perm.code()
                ),
            )),
        }
    }

    /// A list of SQL column names of the request's table (`returning`, `distinct`,
    /// `$default`) at `$.args.<key>`: each a column the role may `perm`, never a relationship
    /// (`Relationships can't be used in "<key>".`, as Hasura words it).
    pub fn column_list(&self, key: &str, v: &Value, perm: Perm) -> Result<Vec<usize>, MetadataError> {
        let Value::Array(items) = v else {
            return Err(MetadataError::new("parse-failed", format!("$.args.{key}"), "expected Array"));
        };
        let t = self.info();
        let mut out = vec![];
        for (i, c) in items.iter().enumerate() {
            let path = format!("$.args.{key}[{i}]");
            let c = c.as_str().ok_or_else(|| MetadataError::new("parse-failed", &path, "expected String"))?;
            if t.column_by_sql(c).is_none() && t.rel_by_name(c).is_some() {
                return Err(MetadataError::new("parse-failed", path, format!("Relationships can't be used in \"{key}\".")));
            }
            out.push(self.column(self.table, c, perm, &path)?);
        }
        Ok(out)
    }

    /// The GraphQL field for column `ci` of table `ti`, aliased to its SQL name when the
    /// two differ (the data API answers with SQL names).
    pub fn column_field(&self, ti: usize, ci: usize, path: &str) -> Result<String, MetadataError> {
        let c = &self.schema.tables[ti].columns[ci];
        if c.name == c.gql_name {
            return Ok(c.gql_name.clone());
        }
        if !is_graphql_name(&c.name) {
            return Err(MetadataError::new(
                "not-supported",
                path,
                format!("column \"{}\" is not a GraphQL name: select it through /v1/graphql as \"{}\"", c.name, c.gql_name),
            ));
        }
        Ok(format!("{}: {}", c.name, c.gql_name))
    }

    /// The GraphQL type of argument `arg` of root field `field` (of the query or mutation
    /// root), as variable-definition text.
    pub fn root_arg_type(&self, mutation: bool, field: &str, arg: &str) -> Option<String> {
        let root = if mutation { self.schema.mutation_type.as_deref()? } else { self.schema.query_type.as_str() };
        self.schema.object_field(root, field)?.args.get(arg).map(|a| a.ty.to_string())
    }

    /// The GraphQL type of argument `arg` of field `field` of object type `ty`.
    pub fn field_arg_type(&self, ty: &str, field: &str, arg: &str) -> Option<String> {
        self.schema.object_field(ty, field)?.args.get(arg).map(|a| a.ty.to_string())
    }

    /// Whether root field `field` exists for the role.
    pub fn has_root(&self, mutation: bool, field: &str) -> bool {
        let root = if mutation { self.schema.mutation_type.as_deref() } else { Some(self.schema.query_type.as_str()) };
        root.and_then(|r| self.schema.object_field(r, field)).is_some()
    }
}

/// Hasura's way of naming a table in messages: `"author"` in public, `"s.author"` elsewhere.
pub fn quoted_table(name: &crate::dbcatalog::QualifiedName) -> String {
    if name.schema == "public" {
        format!("\"{}\"", name.name)
    } else {
        format!("\"{}.{}\"", name.schema, name.name)
    }
}

/// A JSON argument that must be a non-negative integer (`limit`, `offset`).
pub fn non_negative(args: &Map<String, Value>, key: &str) -> Result<Option<u64>, MetadataError> {
    let path = format!("$.args.{key}");
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n < 0 => Err(MetadataError::new("not-supported", path, "unexpected negative value")),
            Some(n) => Ok(Some(n as u64)),
            None => Err(MetadataError::new("parse-failed", path, "expected Int")),
        },
    }
}
