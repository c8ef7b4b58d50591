//! Build the GraphQL schema a role sees from metadata and the database catalog, with Hasura's
//! type and field names. Objects that don't match the database are left out (they are reported
//! by `metadata::consistency`); the rest of the schema still works.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use crate::dbcatalog::{DbCatalog, DbColumn, DbFunction, DbTable, QualifiedName, RelKind};
use crate::metadata::consistency::ObjectId;
use crate::metadata::model::{FkOn, Metadata, PermKind, RelUsing, Relationship, Source, TableEntry};

use super::descriptions;
use super::model::*;
use super::names::{category_for_pg_type, default_table_name, quote_qualified, scalar_for_pg_type};

/// A metadata object that does not match the database (a dropped table, a missing column …).
/// Reported by `get_inconsistent_metadata`; the object is left out of the schema.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Inconsistency {
    pub definition: serde_json::Value,
    pub name: String,
    pub reason: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Build the schema for `role` (`"admin"` sees everything).
pub fn build_schema(metadata: &Metadata, db: &DbCatalog, role: &str) -> (Schema, Vec<Inconsistency>) {
    build_schema_for(metadata, db, role, false)
}

/// Build the schema for `role`; `backend_only` also exposes backend-only mutation permissions
/// (the request sent `x-hasura-use-backend-only-permissions: true`).
///
/// `metadata::consistency` decides what is inconsistent (one source of truth): every object it
/// reports — a dropped table, a name that is not a GraphQL name, a bad permission … — is left
/// out, and the rest of the schema still works. Its reports are the returned inconsistencies.
pub fn build_schema_for(metadata: &Metadata, db: &DbCatalog, role: &str, backend_only: bool) -> (Schema, Vec<Inconsistency>) {
    let found = crate::metadata::consistency::check_objects(metadata, db);
    let rejected: HashSet<ObjectId> = found.iter().map(|f| f.id.clone()).collect();
    let mut b = Builder {
        types: IndexMap::new(),
        tables: vec![],
        functions: vec![],
        // Unsupported features are reported too, but no DDL makes them consistent: they are
        // not this schema's inconsistencies (which make the cache watch every relation).
        problems: found.into_iter().filter(|f| !matches!(f.id, ObjectId::Unsupported { .. })).map(|f| f.inconsistency).collect(),
        rejected,
    };
    if let Some(source) = metadata.default_source() {
        b.resolve_tables(source, db);
        b.apply_enum_references(db);
        b.resolve_functions(source, db);
        if role != "admin" {
            b.apply_permissions(metadata, source, db, role, backend_only);
        }
    }
    b.emit_enum_types(db);
    b.emit()
}

pub(super) struct Builder {
    pub(super) types: IndexMap<String, TypeDef>,
    pub(super) tables: Vec<TableInfo>,
    pub(super) functions: Vec<FunctionInfo>,
    problems: Vec<Inconsistency>,
    /// Objects `metadata::consistency` reports: left out of the schema.
    rejected: HashSet<ObjectId>,
}

pub(super) fn table_label(q: &QualifiedName) -> String {
    if q.schema == "public" {
        q.name.clone()
    } else {
        format!("{}.{}", q.schema, q.name)
    }
}

fn sql_type(schema: &str, name: &str) -> String {
    // Array types are `_elem` in pg_type; cast to `elem[]` so the element type's schema is kept.
    match name.strip_prefix('_') {
        Some(elem) if !elem.is_empty() => format!("{}[]", quote_qualified(schema, elem)),
        _ => quote_qualified(schema, name),
    }
}

/// The values of enum table `t`. The consistency checks leave out an enum table whose rows are
/// not all GraphQL names (or that has none); this filter also keeps an empty or invalid enum
/// type out of the schema when the catalog lacks the rows — the table is then a plain table.
fn enum_values<'d>(db: &'d DbCatalog, t: &TableInfo) -> Vec<&'d crate::dbcatalog::EnumRow> {
    if !t.is_enum || t.primary_key.len() != 1 {
        return vec![];
    }
    let rows = db.enum_values.get(&format!("{}.{}", t.name.schema, t.name.name));
    rows.into_iter().flatten().filter(|r| super::names::is_valid_enum_value(&r.value)).collect()
}

/// The primary key and unique constraints of `t`, with their `T_constraint` values.
fn constraint_infos(t: &DbTable) -> Vec<ConstraintInfo> {
    let keys: Vec<_> = t.primary_key.iter().chain(t.unique_constraints.iter()).collect();
    let values = super::names::constraint_enum_values(keys.iter().map(|k| k.name.as_str()));
    keys.iter()
        .zip(values)
        .map(|(k, gql_name)| ConstraintInfo {
            name: k.name.clone(),
            gql_name,
            columns: k.columns.iter().filter_map(|c| t.columns.iter().position(|x| &x.name == c)).collect(),
        })
        .collect()
}

fn column_info(c: &DbColumn, gql_name: String, comment: Option<&str>) -> ColumnInfo {
    let is_array = c.elem_type.is_some() || (c.type_name.starts_with('_') && c.type_kind == "b");
    let elem = c.elem_type.clone().unwrap_or_else(|| c.type_name.trim_start_matches('_').to_string());
    let base = if is_array { elem.as_str() } else { c.type_name.as_str() };
    let scalar = scalar_for_pg_type(base);
    let category = if is_array { TypeCategory::Other } else { category_for_pg_type(base, &c.type_kind) };
    let sql_type = if is_array {
        format!("{}[]", quote_qualified(&c.type_schema, &elem))
    } else {
        sql_type(&c.type_schema, &c.type_name)
    };
    ColumnInfo {
        name: c.name.clone(),
        gql_name,
        sql_type,
        scalar,
        is_array,
        nullable: c.nullable,
        description: descriptions::column(comment, c.comment.as_deref()),
        category,
        generated: c.is_generated || c.identity_always,
        select: true,
        insert: !(c.is_generated || c.identity_always),
        update: !(c.is_generated || c.identity_always),
    }
}

impl Builder {
    fn problem(&mut self, kind: &str, name: String, reason: String, definition: serde_json::Value) {
        self.problems.push(Inconsistency { definition, name, reason, kind: kind.into() });
    }

    fn resolve_tables(&mut self, source: &Source, db: &DbCatalog) {
        // First pass: tables and columns, so relationships can point at any tracked table.
        let mut entries: Vec<(&TableEntry, &DbTable)> = vec![];
        for entry in &source.tables {
            if self.rejected.contains(&ObjectId::Table { source: source.name.clone(), table: entry.table.clone() }) {
                continue;
            }
            let Some(t) = db.table(&entry.table.schema, &entry.table.name) else {
                self.problem(
                    "table",
                    format!("table {} in source default", table_label(&entry.table)),
                    format!("Inconsistent object: no such table/view exists in source: \"{}\"", table_label(&entry.table)),
                    serde_json::to_value(entry).unwrap_or_default(),
                );
                continue;
            };
            let cfg = &entry.configuration;
            let type_name = cfg.custom_name.clone().unwrap_or_else(|| default_table_name(&t.schema, &t.name));
            let columns: Vec<ColumnInfo> = t
                .columns
                .iter()
                .map(|c| {
                    let gql = cfg.column_custom_name(&c.name).map(str::to_string).unwrap_or_else(|| c.name.clone());
                    let comment = cfg.column_config.get(&c.name).and_then(|cc| cc.comment.as_deref());
                    column_info(c, gql, comment)
                })
                .collect();
            let primary_key = t
                .primary_key
                .as_ref()
                .map(|pk| pk.columns.iter().filter_map(|c| t.columns.iter().position(|x| &x.name == c)).collect())
                .unwrap_or_default();
            let description = descriptions::table(cfg.comment.as_deref(), t.comment.as_deref(), &entry.table);
            let root = root_names(&type_name, cfg);
            self.tables.push(TableInfo {
                name: entry.table.clone(),
                type_name,
                description,
                columns,
                relationships: vec![],
                computed_fields: vec![],
                constraints: constraint_infos(t),
                conflict_targets: t
                    .unique_constraints
                    .iter()
                    .filter_map(|k| {
                        let keys = k.index_keys.as_ref()?;
                        let pred = k.index_predicate.as_ref().map(|p| format!(" WHERE {p}")).unwrap_or_default();
                        Some((k.name.clone(), format!("({}){pred}", keys.join(", "))))
                    })
                    .collect(),
                primary_key,
                is_enum: entry.is_enum,
                root,
                perms: None,
                is_view: !matches!(t.kind, RelKind::Table | RelKind::PartitionedTable),
                insertable: t.kind == RelKind::Table || t.kind == RelKind::PartitionedTable || t.is_insertable,
                updatable: t.kind == RelKind::Table || t.kind == RelKind::PartitionedTable || t.is_updatable,
                deletable: t.kind == RelKind::Table || t.kind == RelKind::PartitionedTable || t.is_deletable,
            });
            entries.push((entry, t));
        }
        // Second pass: relationships and computed fields.
        for (idx, (entry, t)) in entries.iter().enumerate() {
            let mut rels = vec![];
            let rel_id = |name: &str, kind| ObjectId::Relationship {
                source: source.name.clone(),
                table: entry.table.clone(),
                name: name.to_string(),
                kind,
            };
            for r in &entry.object_relationships {
                if self.rejected.contains(&rel_id(&r.name, crate::metadata::model::RelKind::Object)) {
                    continue;
                }
                match self.resolve_rel(t, r, RelKindInfo::Object, db) {
                    Ok(info) => rels.push(info),
                    Err(reason) => self.problem(
                        "object_relation",
                        format!("relationship {} in table {} in source default", r.name, table_label(&entry.table)),
                        reason,
                        serde_json::to_value(r).unwrap_or_default(),
                    ),
                }
            }
            for r in &entry.array_relationships {
                if self.rejected.contains(&rel_id(&r.name, crate::metadata::model::RelKind::Array)) {
                    continue;
                }
                match self.resolve_rel(t, r, RelKindInfo::Array, db) {
                    Ok(info) => rels.push(info),
                    Err(reason) => self.problem(
                        "array_relation",
                        format!("relationship {} in table {} in source default", r.name, table_label(&entry.table)),
                        reason,
                        serde_json::to_value(r).unwrap_or_default(),
                    ),
                }
            }
            self.tables[idx].relationships = rels;
            let mut cfs = vec![];
            for cf in &entry.computed_fields {
                let id = ObjectId::ComputedField { source: source.name.clone(), table: entry.table.clone(), name: cf.name.clone() };
                if self.rejected.contains(&id) {
                    continue;
                }
                match self.resolve_computed(t, cf, db) {
                    Ok(info) => cfs.push(info),
                    Err(reason) => self.problem(
                        "computed_field",
                        format!("computed field {} in table {} in source default", cf.name, table_label(&entry.table)),
                        reason,
                        serde_json::to_value(cf).unwrap_or_default(),
                    ),
                }
            }
            self.tables[idx].computed_fields = cfs;
        }
    }

    fn table_index(&self, q: &QualifiedName) -> Option<usize> {
        self.tables.iter().position(|t| &t.name == q)
    }

    fn resolve_rel(&self, t: &DbTable, r: &Relationship, kind: RelKindInfo, db: &DbCatalog) -> Result<RelInfo, String> {
        let (target, mapping): (QualifiedName, Vec<(String, String)>) = match &r.using {
            RelUsing::Manual(m) => (m.remote_table.clone(), m.column_mapping.iter().map(|(a, b)| (a.clone(), b.clone())).collect()),
            RelUsing::ForeignKey(FkOn::Column(c)) => self.fk_from_here(t, &[c.clone()])?,
            RelUsing::ForeignKey(FkOn::Columns(cs)) => self.fk_from_here(t, cs)?,
            RelUsing::ForeignKey(FkOn::Remote(rf)) => {
                let cols = rf.column_list();
                let remote = db
                    .table(&rf.table.schema, &rf.table.name)
                    .ok_or_else(|| format!("table \"{}\" does not exist", table_label(&rf.table)))?;
                let fk = remote
                    .foreign_keys
                    .iter()
                    .find(|fk| fk.columns == cols && fk.ref_schema == t.schema && fk.ref_table == t.name)
                    .ok_or_else(|| format!("no foreign key constraint exists on the given column(s) of \"{}\"", table_label(&rf.table)))?;
                (rf.table.clone(), fk.ref_columns.iter().cloned().zip(fk.columns.iter().cloned()).collect())
            }
        };
        let target_idx = self
            .table_index(&target)
            .ok_or_else(|| format!("table \"{}\" is not tracked", table_label(&target)))?;
        let target_info = &self.tables[target_idx];
        for (local, remote) in &mapping {
            if t.column(local).is_none() {
                return Err(format!("column \"{local}\" does not exist in \"{}\"", t.name));
            }
            if target_info.column_by_sql(remote).is_none() {
                return Err(format!("column \"{remote}\" does not exist in \"{}\"", target.name));
            }
        }
        // An object relationship is non-null when it follows a NOT NULL foreign key of this table.
        let nullable = match (&r.using, kind) {
            (RelUsing::ForeignKey(FkOn::Column(_) | FkOn::Columns(_)), RelKindInfo::Object) => {
                mapping.iter().any(|(l, _)| t.column(l).map(|c| c.nullable).unwrap_or(true))
            }
            _ => true,
        };
        let insert_before = match &r.using {
            RelUsing::ForeignKey(FkOn::Column(_) | FkOn::Columns(_)) => true,
            RelUsing::ForeignKey(FkOn::Remote(_)) => false,
            RelUsing::Manual(m) => kind == RelKindInfo::Object && m.insertion_order.as_deref() != Some("after_parent"),
        };
        Ok(RelInfo {
            name: r.name.clone(),
            kind,
            target: target_idx,
            mapping,
            nullable,
            insert_before,
            visible: true,
        })
    }

    fn fk_from_here(&self, t: &DbTable, cols: &[String]) -> Result<(QualifiedName, Vec<(String, String)>), String> {
        let fk = t
            .foreign_keys
            .iter()
            .find(|fk| fk.columns == cols)
            .ok_or_else(|| format!("no foreign key constraint exists on the given column(s) of \"{}\"", t.name))?;
        Ok((
            QualifiedName::new(&fk.ref_schema, &fk.ref_table),
            fk.columns.iter().cloned().zip(fk.ref_columns.iter().cloned()).collect(),
        ))
    }

    fn resolve_computed(
        &self,
        t: &DbTable,
        cf: &crate::metadata::model::ComputedField,
        db: &DbCatalog,
    ) -> Result<ComputedFieldInfo, String> {
        let f = db
            .functions_named(&cf.definition.function.schema, &cf.definition.function.name)
            .next()
            .ok_or_else(|| format!("no such function exists: \"{}\"", cf.definition.function))?;
        let table_arg_pos = match &cf.definition.table_argument {
            Some(name) => f.arg_names.iter().position(|n| n == name).ok_or_else(|| format!("table argument \"{name}\" not found"))?,
            None => 0,
        };
        if f.arg_types.get(table_arg_pos) != Some(&t.name) {
            return Err(format!("first argument of \"{}\" is not of type \"{}\"", f.name, t.name));
        }
        let session_arg_pos = match &cf.definition.session_argument {
            Some(name) => Some(f.arg_names.iter().position(|n| n == name).ok_or_else(|| format!("session argument \"{name}\" not found"))?),
            None => None,
        };
        let args = function_args(f, &[Some(table_arg_pos), session_arg_pos], db);
        let returns = if f.returns_set {
            let idx = self
                .table_index(&QualifiedName::new(&f.return_type_schema, &f.return_type))
                .ok_or_else(|| format!("function \"{}\" returns a set of an untracked table", f.name))?;
            ComputedReturn::SetOf { table: idx }
        } else {
            let scalar = scalar_for_pg_type(&f.return_type);
            ComputedReturn::Scalar {
                sql_type: sql_type(&f.return_type_schema, &f.return_type),
                category: category_for_pg_type(&f.return_type, "b"),
                scalar,
            }
        };
        Ok(ComputedFieldInfo {
            name: cf.name.clone(),
            function: cf.definition.function.clone(),
            description: descriptions::computed_field(cf.comment.as_deref(), f.comment.as_deref(), &cf.definition.function),
            returns,
            table_arg_pos,
            session_arg_pos,
            args,
            num_args: f.arg_types.len(),
            visible: true,
        })
    }

    /// Columns whose foreign key points at an enum table's key take the GraphQL enum
    /// `<T>_enum` instead of their scalar.
    fn apply_enum_references(&mut self, db: &DbCatalog) {
        let enums: Vec<(QualifiedName, String)> = self
            .tables
            .iter()
            .filter(|t| !enum_values(db, t).is_empty())
            .map(|t| (t.name.clone(), format!("{}_enum", t.type_name)))
            .collect();
        for t in self.tables.iter_mut() {
            let Some(dbt) = db.table(&t.name.schema, &t.name.name) else { continue };
            for fk in dbt.foreign_keys.iter().filter(|fk| fk.columns.len() == 1) {
                let target = QualifiedName::new(&fk.ref_schema, &fk.ref_table);
                if let Some((_, enum_name)) = enums.iter().find(|(q, _)| q == &target) {
                    if let Some(c) = t.columns.iter_mut().find(|c| c.name == fk.columns[0]) {
                        c.scalar = enum_name.clone();
                        c.category = TypeCategory::EnumRef;
                    }
                }
            }
        }
    }

    fn emit_enum_types(&mut self, db: &DbCatalog) {
        for t in self.tables.clone().iter() {
            let rows = enum_values(db, t);
            if rows.is_empty() {
                continue;
            }
            let values = rows
                .iter()
                .map(|r| (r.value.clone(), EnumValue { name: r.value.clone(), description: r.comment.clone() }))
                .collect();
            let name = format!("{}_enum", t.type_name);
            self.types.insert(name.clone(), TypeDef { name, description: None, kind: TypeKind::Enum { values } });
        }
    }

    /// Restrict tables, columns, relationships and computed fields to what `role` may use.
    fn apply_permissions(&mut self, metadata: &Metadata, source: &Source, db: &DbCatalog, role: &str, backend_only: bool) {
        // Fail closed: a permission the consistency checks reject (a filter that is not a
        // boolean expression, an unknown column or operator …) grants nothing, as Hasura leaves
        // an inconsistent permission out of its schema cache.
        let mut rejected: HashMap<QualifiedName, Vec<(String, PermKind)>> = HashMap::new();
        for id in &self.rejected {
            if let ObjectId::Permission { source: s, table, role, kind } = id {
                if s == &source.name {
                    rejected.entry(table.clone()).or_default().push((role.clone(), *kind));
                }
            }
        }
        // Inherited roles' parents, indexed once for all tables (not a scan per table and role).
        let inherited = crate::metadata::inherited_roles::index(metadata);
        for t in self.tables.iter_mut() {
            let (Some(entry), Some(dbt)) = (source.table(&t.name), db.table(&t.name.schema, &t.name.name)) else { continue };
            let consistent;
            let entry = match rejected.get(&t.name) {
                None => entry,
                Some(bad) => {
                    let mut e = entry.clone();
                    for (role, kind) in bad {
                        e.permissions_mut(*kind).retain(|p| &p.role != role);
                    }
                    consistent = e;
                    &consistent
                }
            };
            let parents_of = |r: &str| inherited.get(r).cloned().unwrap_or_default();
            let perms = super::permissions::resolve_perms(entry, dbt, role, backend_only, &parents_of, 0);
            for (ci, c) in t.columns.iter_mut().enumerate() {
                let sel = perms.select.as_ref().map(|s| s.columns[ci]).unwrap_or(false);
                let ins = perms.insert.as_ref().map(|p| p.columns[ci] && !p.set.iter().any(|(k, _)| k == &c.name)).unwrap_or(false);
                let upd = perms.update.as_ref().map(|p| p.columns[ci] && !p.set.iter().any(|(k, _)| k == &c.name)).unwrap_or(false);
                c.select = sel;
                c.insert = c.insert && ins;
                c.update = c.update && upd;
            }
            // A scalar computed field is granted by name; one returning rows of a table takes
            // that table's select permission (Hasura refuses it in `computed_fields`), checked
            // below once every table's selectability is known.
            for cf in t.computed_fields.iter_mut() {
                cf.visible = perms.select.as_ref().is_some_and(|s| {
                    matches!(cf.returns, ComputedReturn::SetOf { .. }) || s.computed_fields.contains(&cf.name)
                });
            }
            t.perms = Some(perms);
        }
        // A select permission that leaves the role no field of the table (no column, computed
        // field or visible relationship) gives nothing to select: as in Hasura (no selection
        // set, no root fields), the table is not selectable — an object type needs a field.
        // Hiding one table can hide relationships to it, so repeat until nothing changes.
        let granted: Vec<Vec<bool>> =
            self.tables.iter().map(|t| t.computed_fields.iter().map(|cf| cf.visible).collect()).collect();
        loop {
            let selectable: Vec<bool> = self.tables.iter().map(|t| t.can_select()).collect();
            for (ti, t) in self.tables.iter_mut().enumerate() {
                for r in t.relationships.iter_mut() {
                    r.visible = selectable[r.target];
                }
                for (fi, cf) in t.computed_fields.iter_mut().enumerate() {
                    cf.visible = granted[ti][fi];
                    if let ComputedReturn::SetOf { table } = cf.returns {
                        cf.visible = cf.visible && selectable[table];
                    }
                }
            }
            let mut changed = false;
            for t in self.tables.iter_mut() {
                let has_field = t.columns.iter().any(|c| c.select)
                    || t.relationships.iter().any(|r| r.visible)
                    || t.computed_fields.iter().any(|cf| cf.visible);
                if t.can_select() && !has_field {
                    if let Some(p) = t.perms.as_mut() {
                        p.select = None;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn resolve_functions(&mut self, source: &Source, db: &DbCatalog) {
        for fe in &source.functions {
            if self.rejected.contains(&ObjectId::Function { source: source.name.clone(), function: fe.function.clone() }) {
                continue;
            }
            let Some(f) = db.functions_named(&fe.function.schema, &fe.function.name).next() else {
                self.problem(
                    "function",
                    format!("function {} in source default", fe.function),
                    format!("Inconsistent object: no such function exists in source: \"{}\"", fe.function),
                    serde_json::to_value(fe).unwrap_or_default(),
                );
                continue;
            };
            let Some(returns_table) = self.table_index(&QualifiedName::new(&f.return_type_schema, &f.return_type)) else {
                self.problem(
                    "function",
                    format!("function {} in source default", fe.function),
                    format!("the function \"{}\" does not return a table that is tracked", fe.function),
                    serde_json::to_value(fe).unwrap_or_default(),
                );
                continue;
            };
            let cfg = &fe.configuration;
            let session_arg_pos = cfg.session_argument.as_ref().and_then(|s| f.arg_names.iter().position(|n| n == s));
            let (field_name, aggregate_field_name, is_mutation) = function_root_names(fe, &f.volatility);
            self.functions.push(FunctionInfo {
                name: fe.function.clone(),
                field_name,
                aggregate_field_name,
                returns_table,
                args: function_args(f, &[session_arg_pos], db),
                session_arg_pos,
                num_args: f.arg_types.len(),
                description: fe.comment.clone(),
                is_mutation,
            });
        }
    }

    // ------------------------------------------------------------------ type emission

    pub(super) fn add(&mut self, name: &str, description: Option<String>, kind: TypeKind) {
        self.types.entry(name.to_string()).or_insert(TypeDef { name: name.to_string(), description, kind });
    }

    pub(super) fn scalar(&mut self, name: &str) {
        if !self.types.contains_key(name) {
            self.add(name, None, TypeKind::Scalar);
        }
    }

    fn emit(mut self) -> (Schema, Vec<Inconsistency>) {
        let mut query_fields: IndexMap<String, Field> = IndexMap::new();
        let mut subscription_fields: IndexMap<String, Field> = IndexMap::new();
        self.scalar("Int");
        self.scalar("Float");
        self.scalar("String");
        self.scalar("Boolean");
        self.add(
            "order_by",
            Some("column ordering options".into()),
            TypeKind::Enum {
                values: [
                    ("asc", "in ascending order, nulls last"),
                    ("asc_nulls_first", "in ascending order, nulls first"),
                    ("asc_nulls_last", "in ascending order, nulls last"),
                    ("desc", "in descending order, nulls first"),
                    ("desc_nulls_first", "in descending order, nulls first"),
                    ("desc_nulls_last", "in descending order, nulls last"),
                ]
                .into_iter()
                .map(|(n, d)| (n.to_string(), EnumValue { name: n.into(), description: Some(d.into()) }))
                .collect(),
            },
        );
        for ti in 0..self.tables.len() {
            if self.tables[ti].hidden() {
                continue;
            }
            if self.tables[ti].can_select() {
                self.emit_table(ti);
            } else {
                self.emit_bool_exp(ti);
            }
            let t = self.tables[ti].clone();
            if !t.can_select() {
                continue;
            }
            let label = table_label(&t.name);
            let n = &t.type_name;
            // Each field goes to the query root as `query_root_fields` allows and to the
            // subscription root as `subscription_root_fields` allows, independently.
            let place = |field: Field, key: &str, q: &mut IndexMap<String, Field>, s: &mut IndexMap<String, Field>| {
                if t.subscription_allowed(key) {
                    s.insert(field.name.clone(), field.clone());
                }
                if t.root_allowed(key) {
                    q.insert(field.name.clone(), field);
                }
            };
            place(
                Field {
                    name: t.root.select.clone(),
                    description: t.root.description("select", format!("fetch data from the table: \"{label}\"")),
                    args: select_args(n),
                    ty: TypeRef::nn_list_nn(n),
                    kind: FieldKind::RootSelect { table: ti },
                },
                "select",
                &mut query_fields,
                &mut subscription_fields,
            );
            if t.allow_aggregations() {
                place(
                    Field {
                        name: t.root.select_aggregate.clone(),
                        description: t.root.description("select_aggregate", format!("fetch aggregated fields from the table: \"{label}\"")),
                        args: select_args(n),
                        ty: TypeRef::named(format!("{n}_aggregate")).non_null(),
                        kind: FieldKind::RootAggregate { table: ti },
                    },
                    "select_aggregate",
                    &mut query_fields,
                    &mut subscription_fields,
                );
            }
            if !t.primary_key.is_empty() && t.primary_key.iter().all(|&c| t.columns[c].select) {
                let args = t
                    .primary_key
                    .iter()
                    .map(|&c| {
                        let col = &t.columns[c];
                        (col.gql_name.clone(), input(&col.gql_name, column_type(col).non_null(), col.description.clone()))
                    })
                    .collect();
                place(
                    Field {
                        name: t.root.select_by_pk.clone(),
                        description: t.root.description("select_by_pk", format!("fetch data from the table: \"{label}\" using primary key columns")),
                        args,
                        ty: TypeRef::named(n.clone()),
                        kind: FieldKind::RootByPk { table: ti },
                    },
                    "select_by_pk",
                    &mut query_fields,
                    &mut subscription_fields,
                );
            }
            if t.subscription_allowed("select_stream") {
                if let Some(field) = self.stream_field(ti) {
                    subscription_fields.insert(field.name.clone(), field);
                }
            }
        }
        let mut function_mutations = vec![];
        for fi in 0..self.functions.len() {
            let f = self.functions[fi].clone();
            if !self.tables[f.returns_table].can_select() {
                continue; // function permissions are inferred from the returned table's
            }
            let target = self.tables[f.returns_table].type_name.clone();
            let mut args = IndexMap::new();
            if !f.args.is_empty() {
                let args_ty = format!("{}_args", f.field_name);
                let fields = f
                    .args
                    .iter()
                    .map(|a| {
                        self.scalar(&a.scalar);
                        (a.name.clone(), input(&a.name, TypeRef::named(a.scalar.clone()), None))
                    })
                    .collect();
                self.add(&args_ty, None, TypeKind::InputObject { fields });
                let required = f.args.iter().any(|a| !a.has_default);
                let ty = if required { TypeRef::named(args_ty).non_null() } else { TypeRef::named(args_ty) };
                args.insert("args".to_string(), input("args", ty, Some("input parameters for function \"".to_string() + &f.field_name + "\"")));
            }
            args.extend(select_args(&target));
            let returns = self.tables[f.returns_table].name.clone();
            let description = if f.is_mutation {
                descriptions::function_mutation(&f.name, &returns)
            } else {
                descriptions::function_query(f.description.as_deref(), &f.name, &returns)
            };
            let field = Field {
                name: f.field_name.clone(),
                description: Some(description),
                args: args.clone(),
                ty: TypeRef::nn_list_nn(target.clone()),
                kind: FieldKind::RootFunction { function: fi },
            };
            if f.is_mutation {
                // VOLATILE functions (or `exposed_as: mutation`) are mutation root fields.
                function_mutations.push(field);
                continue;
            }
            // Tracked functions are on both roots (root field lists do not name them).
            subscription_fields.insert(f.field_name.clone(), field.clone());
            query_fields.insert(f.field_name.clone(), field);
            if !self.tables[f.returns_table].allow_aggregations() {
                continue;
            }
            let aggregate = Field {
                name: f.aggregate_field_name.clone(),
                description: Some(descriptions::function_aggregate(&f.name, &returns)),
                args,
                ty: TypeRef::named(format!("{target}_aggregate")).non_null(),
                kind: FieldKind::RootFunctionAggregate { function: fi },
            };
            subscription_fields.insert(f.aggregate_field_name.clone(), aggregate.clone());
            query_fields.insert(f.aggregate_field_name.clone(), aggregate);
        }
        if query_fields.is_empty() {
            // Hasura's placeholder: an object type needs a field, and GraphQL needs a query root.
            let name = "no_queries_available".to_string();
            query_fields.insert(
                name.clone(),
                Field {
                    name,
                    description: Some(
                        "There are no queries available to the current role. Either there are no sources or remote schemas configured, or the current role doesn't have the required permissions.".into(),
                    ),
                    args: IndexMap::new(),
                    ty: TypeRef::named("String").non_null(),
                    kind: FieldKind::Plain,
                },
            );
        }
        for f in crate::introspection::root_fields() {
            query_fields.insert(f.name.clone(), f);
        }
        self.add("query_root", None, TypeKind::Object { fields: query_fields });
        let mut mutation_fields = self.mutation_fields();
        for f in function_mutations {
            mutation_fields.insert(f.name.clone(), f);
        }
        let has_mutations = !mutation_fields.is_empty();
        if has_mutations {
            self.add("mutation_root", Some("mutation root".into()), TypeKind::Object { fields: mutation_fields });
        }
        let has_subscriptions = !subscription_fields.is_empty();
        if has_subscriptions {
            self.add("subscription_root", None, TypeKind::Object { fields: subscription_fields });
        }
        crate::introspection::add_introspection_types(&mut self.types);
        // Only what a root reaches is in the schema: a role without aggregations has no
        // `T_aggregate`, a table it may only filter on no `T_order_by`, …
        let roots: Vec<&str> = ["query_root", "mutation_root", "subscription_root"]
            .into_iter()
            .filter(|r| self.types.contains_key(*r))
            .collect();
        let reachable: HashSet<String> = reachable_types(&self.types, &roots).into_iter().map(str::to_string).collect();
        self.types.retain(|name, _| reachable.contains(name));
        let schema = Schema {
            types: self.types,
            query_type: "query_root".into(),
            mutation_type: has_mutations.then(|| "mutation_root".to_string()),
            subscription_type: has_subscriptions.then(|| "subscription_root".to_string()),
            tables: self.tables,
            functions: self.functions,
        };
        (schema, self.problems)
    }

    fn emit_table(&mut self, ti: usize) {
        let t = self.tables[ti].clone();
        let n = t.type_name.clone();
        let label = table_label(&t.name);
        // Object type.
        let mut fields = IndexMap::new();
        for (ci, c) in t.columns.iter().enumerate() {
            if !c.select {
                continue;
            }
            self.scalar(&c.scalar);
            let mut args = IndexMap::new();
            if matches!(c.category, TypeCategory::Json | TypeCategory::Jsonb) {
                args.insert("path".to_string(), input("path", TypeRef::named("String"), Some("JSON select path".into())));
            }
            // As in Hasura, a cell an inherited role sees only under some parent's filter (null
            // elsewhere) is nullable whatever the column's own nullability.
            let redacted = t.perms.as_ref().and_then(|p| p.select.as_ref()).is_some_and(|s| matches!(s.column_filters.get(ci), Some(Some(_))));
            let ty = if c.nullable || redacted { column_type(c) } else { column_type(c).non_null() };
            fields.insert(
                c.gql_name.clone(),
                Field {
                    name: c.gql_name.clone(),
                    description: c.description.clone(),
                    args,
                    ty,
                    kind: FieldKind::Column { table: ti, column: ci },
                },
            );
        }
        for (ri, r) in t.relationships.iter().enumerate() {
            if !r.visible {
                continue;
            }
            let target = self.tables[r.target].type_name.clone();
            let target_aggregates = self.tables[r.target].allow_aggregations();
            match r.kind {
                RelKindInfo::Object => {
                    let ty = if r.nullable { TypeRef::named(target) } else { TypeRef::named(target).non_null() };
                    fields.insert(
                        r.name.clone(),
                        Field {
                            name: r.name.clone(),
                            description: Some(descriptions::OBJECT_RELATIONSHIP.into()),
                            args: IndexMap::new(),
                            ty,
                            kind: FieldKind::ObjectRel { table: ti, rel: ri },
                        },
                    );
                }
                RelKindInfo::Array => {
                    fields.insert(
                        r.name.clone(),
                        Field {
                            name: r.name.clone(),
                            description: Some(descriptions::ARRAY_RELATIONSHIP.into()),
                            args: select_args(&target),
                            ty: TypeRef::nn_list_nn(target.clone()),
                            kind: FieldKind::ArrayRel { table: ti, rel: ri },
                        },
                    );
                    if !target_aggregates {
                        continue;
                    }
                    let agg = format!("{}_aggregate", r.name);
                    fields.insert(
                        agg.clone(),
                        Field {
                            name: agg,
                            description: Some(descriptions::AGGREGATE_RELATIONSHIP.into()),
                            args: select_args(&target),
                            ty: TypeRef::named(format!("{target}_aggregate")).non_null(),
                            kind: FieldKind::ArrayRelAggregate { table: ti, rel: ri },
                        },
                    );
                }
            }
        }
        for (fi, cf) in t.computed_fields.iter().enumerate() {
            if !cf.visible {
                continue;
            }
            let mut args = IndexMap::new();
            if !cf.args.is_empty() {
                let args_ty = format!("{}_{}_args", cf.name, n);
                let afields = cf
                    .args
                    .iter()
                    .map(|a| {
                        self.scalar(&a.scalar);
                        (a.name.clone(), input(&a.name, TypeRef::named(a.scalar.clone()), None))
                    })
                    .collect();
                self.add(&args_ty, None, TypeKind::InputObject { fields: afields });
                let required = cf.args.iter().any(|a| !a.has_default);
                let ty = if required { TypeRef::named(args_ty).non_null() } else { TypeRef::named(args_ty) };
                args.insert(
                    "args".to_string(),
                    input("args", ty, Some(format!("input parameters for computed field \"{}\" defined on table \"{}\"", cf.name, label))),
                );
            }
            let desc = cf.description.clone();
            match &cf.returns {
                ComputedReturn::Scalar { scalar, .. } => {
                    self.scalar(scalar);
                    fields.insert(
                        cf.name.clone(),
                        Field {
                            name: cf.name.clone(),
                            description: desc,
                            args,
                            ty: TypeRef::named(scalar.clone()),
                            kind: FieldKind::ComputedScalar { table: ti, field: fi },
                        },
                    );
                }
                ComputedReturn::SetOf { table } => {
                    let target = self.tables[*table].type_name.clone();
                    args.extend(select_args(&target));
                    fields.insert(
                        cf.name.clone(),
                        Field {
                            name: cf.name.clone(),
                            description: desc,
                            args,
                            ty: TypeRef::nn_list_nn(target),
                            kind: FieldKind::ComputedSetOf { table: ti, field: fi },
                        },
                    );
                }
            }
        }
        self.add(&n, t.description.clone(), TypeKind::Object { fields });

        self.emit_bool_exp(ti);
        self.emit_order_by(ti);
        self.emit_select_column(ti);
        self.emit_aggregate(ti);
    }

    fn emit_bool_exp(&mut self, ti: usize) {
        let t = self.tables[ti].clone();
        let n = &t.type_name;
        let name = format!("{n}_bool_exp");
        let mut fields = IndexMap::new();
        fields.insert("_and".into(), input("_and", TypeRef::list_nn(name.clone()), None));
        fields.insert("_not".into(), input("_not", TypeRef::named(name.clone()), None));
        fields.insert("_or".into(), input("_or", TypeRef::list_nn(name.clone()), None));
        for c in t.columns.iter().filter(|c| c.select) {
            let cmp = self.comparison_type(&c.scalar, c.category, c.is_array);
            fields.insert(c.gql_name.clone(), input(&c.gql_name, TypeRef::named(cmp), None));
        }
        for r in t.relationships.iter().filter(|r| r.visible) {
            let target = self.tables[r.target].type_name.clone();
            fields.insert(r.name.clone(), input(&r.name, TypeRef::named(format!("{target}_bool_exp")), None));
            if r.kind == RelKindInfo::Array && self.tables[r.target].allow_aggregations() {
                let agg = format!("{}_aggregate", r.name);
                self.emit_aggregate_bool_exp(r.target);
                fields.insert(agg.clone(), input(&agg, TypeRef::named(format!("{target}_aggregate_bool_exp")), None));
            }
        }
        for cf in t.computed_fields.iter().filter(|cf| cf.visible) {
            match &cf.returns {
                ComputedReturn::Scalar { scalar, category, .. } if cf.args.is_empty() => {
                    let cmp = self.comparison_type(scalar, *category, false);
                    fields.insert(cf.name.clone(), input(&cf.name, TypeRef::named(cmp), None));
                }
                ComputedReturn::SetOf { table } if cf.args.is_empty() => {
                    let target = self.tables[*table].type_name.clone();
                    fields.insert(cf.name.clone(), input(&cf.name, TypeRef::named(format!("{target}_bool_exp")), None));
                }
                _ => {}
            }
        }
        let label = table_label(&t.name);
        self.add(
            &name,
            Some(format!("Boolean expression to filter rows from the table \"{label}\". All fields are combined with a logical 'AND'.")),
            TypeKind::InputObject { fields },
        );
    }

    fn emit_aggregate_bool_exp(&mut self, ti: usize) {
        let n = self.tables[ti].type_name.clone();
        let name = format!("{n}_aggregate_bool_exp");
        if self.types.contains_key(&name) {
            return;
        }
        let count_name = format!("{name}_count");
        let mut cfields = IndexMap::new();
        cfields.insert("arguments".into(), input("arguments", TypeRef::list_nn(format!("{n}_select_column")), None));
        cfields.insert("distinct".into(), builtin_input("distinct", TypeRef::named("Boolean")));
        cfields.insert("filter".into(), input("filter", TypeRef::named(format!("{n}_bool_exp")), None));
        let int_cmp = self.comparison_type("Int", TypeCategory::Numeric, false);
        cfields.insert("predicate".into(), input("predicate", TypeRef::named(int_cmp).non_null(), None));
        self.add(&count_name, None, TypeKind::InputObject { fields: cfields });
        let mut fields = IndexMap::new();
        fields.insert("count".into(), input("count", TypeRef::named(count_name), None));
        self.add(&name, None, TypeKind::InputObject { fields });
    }

    /// `<Scalar>_comparison_exp` with Hasura's operators for the type's category.
    pub(super) fn comparison_type(&mut self, scalar: &str, category: TypeCategory, is_array: bool) -> String {
        let name = if is_array { format!("{scalar}_array_comparison_exp") } else { format!("{scalar}_comparison_exp") };
        if self.types.contains_key(&name) {
            return name;
        }
        if !is_array
            && matches!(category, TypeCategory::Geometry | TypeCategory::Geography | TypeCategory::Raster | TypeCategory::Ltree)
        {
            return self.extension_comparison(&name, scalar, category);
        }
        self.scalar(scalar);
        let value = if is_array { TypeRef::list_nn(scalar) } else { TypeRef::named(scalar) };
        let list = if is_array { TypeRef::named(scalar).non_null().list().non_null().list() } else { TypeRef::list_nn(scalar) };
        let mut fields: IndexMap<String, InputValue> = IndexMap::new();
        let mut add = |n: &str, ty: TypeRef| {
            fields.insert(n.to_string(), input(n, ty, descriptions::comparison_operator(n, is_array).map(str::to_string)));
        };
        if category == TypeCategory::EnumRef {
            add("_eq", value.clone());
            add("_in", list.clone());
            add("_is_null", TypeRef::named("Boolean"));
            add("_neq", value.clone());
            add("_nin", list);
            builtin_is_null(&mut fields);
            self.add(&name, Some(format!("Boolean expression to compare columns of type \"{scalar}\". All fields are combined with logical 'AND'.")), TypeKind::InputObject { fields });
            return name;
        }
        if category == TypeCategory::Jsonb && !is_array {
            self.emit_jsonb_cast();
            add("_cast", TypeRef::named("jsonb_cast_exp"));
            add("_contained_in", value.clone());
            add("_contains", value.clone());
        }
        if is_array {
            add("_contained_in", value.clone());
            add("_contains", value.clone());
        }
        add("_eq", value.clone());
        add("_gt", value.clone());
        add("_gte", value.clone());
        if category == TypeCategory::Jsonb && !is_array {
            add("_has_key", TypeRef::named("String"));
            add("_has_keys_all", TypeRef::list_nn("String"));
            add("_has_keys_any", TypeRef::list_nn("String"));
        }
        if category == TypeCategory::String && !is_array {
            add("_ilike", value.clone());
        }
        add("_in", list.clone());
        if category == TypeCategory::String && !is_array {
            add("_iregex", value.clone());
        }
        add("_is_null", TypeRef::named("Boolean"));
        if category == TypeCategory::String && !is_array {
            add("_like", value.clone());
        }
        add("_lt", value.clone());
        add("_lte", value.clone());
        add("_neq", value.clone());
        if category == TypeCategory::String && !is_array {
            add("_nilike", value.clone());
        }
        add("_nin", list);
        if category == TypeCategory::String && !is_array {
            add("_niregex", value.clone());
            add("_nlike", value.clone());
            add("_nregex", value.clone());
            add("_nsimilar", value.clone());
            add("_regex", value.clone());
            add("_similar", value.clone());
        }
        builtin_is_null(&mut fields);
        let desc = format!(
            "Boolean expression to compare columns of type \"{scalar}\". All fields are combined with logical 'AND'."
        );
        self.add(&name, Some(desc), TypeKind::InputObject { fields });
        name
    }

    fn emit_jsonb_cast(&mut self) {
        if self.types.contains_key("jsonb_cast_exp") {
            return;
        }
        let s = self.comparison_type("String", TypeCategory::String, false);
        let mut fields = IndexMap::new();
        fields.insert("String".into(), input("String", TypeRef::named(s), None));
        self.add("jsonb_cast_exp", None, TypeKind::InputObject { fields });
    }

    fn emit_order_by(&mut self, ti: usize) {
        let t = self.tables[ti].clone();
        let n = &t.type_name;
        let mut fields = IndexMap::new();
        for c in t.columns.iter().filter(|c| c.select) {
            fields.insert(c.gql_name.clone(), input(&c.gql_name, TypeRef::named("order_by"), None));
        }
        for r in t.relationships.iter().filter(|r| r.visible) {
            let target = self.tables[r.target].type_name.clone();
            match r.kind {
                RelKindInfo::Object => {
                    fields.insert(r.name.clone(), input(&r.name, TypeRef::named(format!("{target}_order_by")), None));
                }
                RelKindInfo::Array if self.tables[r.target].allow_aggregations() => {
                    self.emit_aggregate_order_by(r.target);
                    let agg = format!("{}_aggregate", r.name);
                    fields.insert(agg.clone(), input(&agg, TypeRef::named(format!("{target}_aggregate_order_by")), None));
                }
                RelKindInfo::Array => {}
            }
        }
        for cf in t.computed_fields.iter().filter(|cf| cf.visible) {
            if let ComputedReturn::Scalar { .. } = cf.returns {
                if cf.args.is_empty() {
                    fields.insert(cf.name.clone(), input(&cf.name, TypeRef::named("order_by"), None));
                }
            }
        }
        let label = table_label(&t.name);
        self.add(
            &format!("{n}_order_by"),
            Some(format!("Ordering options when selecting data from \"{label}\".")),
            TypeKind::InputObject { fields },
        );
    }

    fn emit_aggregate_order_by(&mut self, ti: usize) {
        let t = self.tables[ti].clone();
        let n = &t.type_name;
        let name = format!("{n}_aggregate_order_by");
        if self.types.contains_key(&name) {
            return;
        }
        let mut fields = IndexMap::new();
        for op in AGG_OPS {
            if op == "count" {
                fields.insert("count".into(), input("count", TypeRef::named("order_by"), None));
                continue;
            }
            let cols: Vec<&ColumnInfo> = t.columns.iter().filter(|c| c.select && agg_op_applies(op, c)).collect();
            if cols.is_empty() {
                continue;
            }
            let oname = format!("{n}_{op}_order_by");
            // Hasura describes these with the columns' descriptions (not `T_order_by`'s fields).
            let ofields = cols
                .iter()
                .map(|c| (c.gql_name.clone(), input(&c.gql_name, TypeRef::named("order_by"), c.description.clone())))
                .collect();
            let description = format!("order by {op}() on columns of table \"{}\"", table_label(&t.name));
            self.add(&oname, Some(description), TypeKind::InputObject { fields: ofields });
            fields.insert(op.to_string(), input(op, TypeRef::named(oname), None));
        }
        self.add(&name, Some(format!("order by aggregate values of table \"{}\"", table_label(&t.name))), TypeKind::InputObject { fields });
    }

    fn emit_select_column(&mut self, ti: usize) {
        let t = self.tables[ti].clone();
        let values = t
            .columns
            .iter()
            .filter(|c| c.select)
            .map(|c| (c.gql_name.clone(), EnumValue { name: c.gql_name.clone(), description: Some("column name".into()) }))
            .collect();
        self.add(
            &format!("{}_select_column", t.type_name),
            Some(format!("select columns of table \"{}\"", table_label(&t.name))),
            TypeKind::Enum { values },
        );
    }

    fn emit_aggregate(&mut self, ti: usize) {
        let t = self.tables[ti].clone();
        let n = &t.type_name;
        let label = table_label(&t.name);
        let mut afields = IndexMap::new();
        let mut count_args = IndexMap::new();
        count_args.insert("columns".to_string(), input("columns", TypeRef::list_nn(format!("{n}_select_column")), None));
        count_args.insert("distinct".to_string(), builtin_input("distinct", TypeRef::named("Boolean")));
        afields.insert(
            "count".to_string(),
            Field {
                name: "count".into(),
                description: None,
                args: count_args,
                ty: TypeRef::named("Int").non_null(),
                kind: FieldKind::AggregateCount { table: ti },
            },
        );
        for op in AGG_OPS {
            if op == "count" {
                continue;
            }
            let cols: Vec<(usize, &ColumnInfo)> = t.columns.iter().enumerate().filter(|(_, c)| c.select && agg_op_applies(op, c)).collect();
            if cols.is_empty() {
                continue;
            }
            let oname = format!("{n}_{op}_fields");
            let ofields = cols
                .iter()
                .map(|(ci, c)| {
                    let ty = match op {
                        "sum" | "max" | "min" => c.scalar.clone(),
                        _ => "Float".to_string(),
                    };
                    (
                        c.gql_name.clone(),
                        Field {
                            name: c.gql_name.clone(),
                            // Hasura describes `T_sum_fields` etc. with the columns' descriptions.
                            description: c.description.clone(),
                            args: IndexMap::new(),
                            ty: TypeRef::named(ty),
                            kind: FieldKind::AggregateOpColumn { table: ti, op: op.to_string(), column: *ci },
                        },
                    )
                })
                .collect();
            self.add(&oname, Some(format!("aggregate {op} on columns")), TypeKind::Object { fields: ofields });
            afields.insert(
                op.to_string(),
                Field {
                    name: op.to_string(),
                    description: None,
                    args: IndexMap::new(),
                    ty: TypeRef::named(oname),
                    kind: FieldKind::AggregateOp { table: ti, op: op.to_string() },
                },
            );
        }
        let fields_name = format!("{n}_aggregate_fields");
        self.add(&fields_name, Some(format!("aggregate fields of \"{label}\"")), TypeKind::Object { fields: afields });
        let mut fields = IndexMap::new();
        fields.insert(
            "aggregate".to_string(),
            Field {
                name: "aggregate".into(),
                description: None,
                args: IndexMap::new(),
                ty: TypeRef::named(fields_name),
                kind: FieldKind::AggregateFields { table: ti },
            },
        );
        fields.insert(
            "nodes".to_string(),
            Field {
                name: "nodes".into(),
                description: None,
                args: IndexMap::new(),
                ty: TypeRef::nn_list_nn(n.clone()),
                kind: FieldKind::AggregateNodes { table: ti },
            },
        );
        self.add(&format!("{n}_aggregate"), Some(format!("aggregated selection of \"{label}\"")), TypeKind::Object { fields });
    }
}

/// A tracked function's root field and aggregate field names, and whether it is a mutation
/// (`exposed_as: mutation`, or VOLATILE without `exposed_as`).
pub(crate) fn function_root_names(fe: &crate::metadata::model::FunctionEntry, volatility: &str) -> (String, String, bool) {
    let cfg = &fe.configuration;
    let field_name = cfg
        .custom_root_fields
        .get("function")
        .cloned()
        .or_else(|| cfg.custom_name.clone())
        .unwrap_or_else(|| default_table_name(&fe.function.schema, &fe.function.name));
    let aggregate_field_name =
        cfg.custom_root_fields.get("function_aggregate").cloned().unwrap_or_else(|| format!("{field_name}_aggregate"));
    let is_mutation = match cfg.exposed_as.as_deref() {
        Some("mutation") => true,
        Some(_) => false,
        None => volatility == "v",
    };
    (field_name, aggregate_field_name, is_mutation)
}

/// Root field names: `custom_root_fields` where given, else Hasura's defaults.
pub(crate) fn root_names(n: &str, cfg: &crate::metadata::model::TableConfig) -> RootNames {
    let pick = |key: &str, default: String| cfg.root_field(key).and_then(|r| r.name()).map(str::to_string).unwrap_or(default);
    RootNames {
        select: pick("select", n.to_string()),
        select_by_pk: pick("select_by_pk", format!("{n}_by_pk")),
        select_aggregate: pick("select_aggregate", format!("{n}_aggregate")),
        select_stream: pick("select_stream", format!("{n}_stream")),
        insert: pick("insert", format!("insert_{n}")),
        insert_one: pick("insert_one", format!("insert_{n}_one")),
        update: pick("update", format!("update_{n}")),
        update_by_pk: pick("update_by_pk", format!("update_{n}_by_pk")),
        update_many: pick("update_many", format!("update_{n}_many")),
        delete: pick("delete", format!("delete_{n}")),
        delete_by_pk: pick("delete_by_pk", format!("delete_{n}_by_pk")),
        comments: cfg
            .custom_root_fields
            .iter()
            .filter_map(|(key, field)| Some((key.clone(), field.comment()?.to_string())))
            .collect(),
    }
}

/// Aggregate operations in Hasura's order of `T_aggregate_fields`.
pub const AGG_OPS: [&str; 11] =
    ["count", "avg", "max", "min", "stddev", "stddev_pop", "stddev_samp", "sum", "var_pop", "var_samp", "variance"];

/// Whether aggregate `op` is offered for column `c`: numeric ops on numeric columns, max/min
/// on anything ordered (numbers, strings, dates, …) but not json, booleans or arrays.
pub fn agg_op_applies(op: &str, c: &ColumnInfo) -> bool {
    if c.is_array {
        return false;
    }
    match op {
        "max" | "min" => matches!(c.category, TypeCategory::Numeric | TypeCategory::String | TypeCategory::Other),
        _ => c.category == TypeCategory::Numeric,
    }
}

pub(super) fn column_type(c: &ColumnInfo) -> TypeRef {
    if c.is_array {
        TypeRef::list_nn(c.scalar.clone())
    } else {
        TypeRef::named(c.scalar.clone())
    }
}

/// `_is_null` of a comparison type takes GraphQL's `Boolean`, not a Postgres value.
fn builtin_is_null(fields: &mut IndexMap<String, InputValue>) {
    if let Some(f) = fields.get_mut("_is_null") {
        f.parse = ScalarParse::GraphQl;
    }
}

/// An argument that is not a Postgres value (`_is_null`, `distinct`): GraphQL's own scalar.
fn builtin_input(name: &str, ty: TypeRef) -> InputValue {
    let mut iv = input(name, ty, None);
    iv.parse = ScalarParse::GraphQl;
    iv
}

pub(super) fn input(name: &str, ty: TypeRef, description: Option<String>) -> InputValue {
    InputValue { name: name.to_string(), description, ty, default_value: None, parse: ScalarParse::ByType }
}

/// `distinct_on, limit, offset, order_by, where` of a select over table type `n`.
fn select_args(n: &str) -> IndexMap<String, InputValue> {
    let mut a = IndexMap::new();
    a.insert("distinct_on".into(), input("distinct_on", TypeRef::list_nn(format!("{n}_select_column")), Some("distinct select on columns".into())));
    let mut limit = input("limit", TypeRef::named("Int"), Some("limit the number of rows returned".into()));
    limit.parse = ScalarParse::NonNegativeInt;
    a.insert("limit".into(), limit);
    let mut offset = input("offset", TypeRef::named("Int"), Some("skip the first n rows. Use only with order_by".into()));
    offset.parse = ScalarParse::BigInt;
    a.insert("offset".into(), offset);
    a.insert("order_by".into(), input("order_by", TypeRef::list_nn(format!("{n}_order_by")), Some("sort the rows by one or more columns".into())));
    a.insert("where".into(), input("where", TypeRef::named(format!("{n}_bool_exp")), Some("filter the rows returned".into())));
    a
}

/// Input arguments of `f` except those at `skip` positions (row and session arguments).
/// An argument of a table's row type is, as in Hasura's `mkScalarTypeName`, a scalar named
/// `<table>_scalar` (the table's own name is its object type), whose value Postgres reads
/// from its text (`"(1,Alice)"`).
fn function_args(f: &DbFunction, skip: &[Option<usize>], db: &DbCatalog) -> Vec<FunctionArg> {
    let n = f.arg_types.len();
    f.arg_types
        .iter()
        .enumerate()
        .filter(|(i, _)| !skip.contains(&Some(*i)))
        .map(|(i, ty)| {
            let schema = f.arg_type_schemas.get(i).cloned().unwrap_or_else(|| "pg_catalog".into());
            let name = f.arg_names.get(i).filter(|s| !s.is_empty()).cloned().unwrap_or_else(|| format!("arg_{}", i + 1));
            FunctionArg {
                name,
                position: i,
                sql_type: sql_type(&schema, ty),
                scalar: if db.tables.iter().any(|t| t.schema == schema && &t.name == ty) {
                    format!("{}_scalar", super::names::sanitize_graphql_name(ty))
                } else {
                    scalar_for_pg_type(ty.trim_start_matches('_'))
                },
                has_default: i >= n.saturating_sub(f.num_defaults),
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dbcatalog::*;

    fn col(name: &str, ty: &str, nullable: bool) -> DbColumn {
        DbColumn {
            name: name.into(),
            type_name: ty.into(),
            type_schema: "pg_catalog".into(),
            type_kind: "b".into(),
            elem_type: ty.strip_prefix('_').map(str::to_string),
            enum_values: None,
            nullable,
            has_default: false,
            is_identity: false,
            identity_always: false,
            is_generated: false,
            comment: None,
        }
    }

    /// author(id, name, meta jsonb, tags text[]) ← article(id, author_id, title, rating numeric, published bool)
    pub fn fixture() -> (Metadata, DbCatalog) {
        let author = DbTable {
            oid: 1,
            schema: "public".into(),
            name: "author".into(),
            kind: RelKind::Table,
            comment: None,
            columns: vec![col("id", "int4", false), col("name", "text", false), col("meta", "jsonb", true), col("tags", "_text", true)],
            primary_key: Some(DbConstraint { name: "author_pkey".into(), columns: vec!["id".into()], ..Default::default() }),
            unique_constraints: vec![],
            foreign_keys: vec![],
            is_insertable: true,
            is_updatable: true,
            is_deletable: true,
        };
        let article = DbTable {
            oid: 2,
            schema: "public".into(),
            name: "article".into(),
            kind: RelKind::Table,
            comment: None,
            columns: vec![
                col("id", "int4", false),
                col("author_id", "int4", false),
                col("title", "text", false),
                col("rating", "numeric", true),
                col("published", "bool", false),
                col("created_at", "timestamptz", true),
            ],
            primary_key: Some(DbConstraint { name: "article_pkey".into(), columns: vec!["id".into()], ..Default::default() }),
            unique_constraints: vec![],
            foreign_keys: vec![DbForeignKey {
                name: "article_author_id_fkey".into(),
                columns: vec!["author_id".into()],
                ref_schema: "public".into(),
                ref_table: "author".into(),
                ref_columns: vec!["id".into()],
            }],
            is_insertable: true,
            is_updatable: true,
            is_deletable: true,
        };
        let db = DbCatalog { tables: vec![author, article], ..Default::default() };
        let md: Metadata = serde_json::from_value(serde_json::json!({
            "version": 3,
            "sources": [{"name": "default", "kind": "postgres", "tables": [
                {"table": {"schema": "public", "name": "author"},
                 "array_relationships": [{"name": "articles", "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}]},
                {"table": {"schema": "public", "name": "article"},
                 "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "author_id"}}]}
            ]}]
        }))
        .unwrap();
        (md, db)
    }

    #[test]
    fn builds_hasura_names() {
        let (md, db) = fixture();
        let (s, problems) = build_schema(&md, &db, "admin");
        assert!(problems.is_empty(), "{problems:?}");
        for ty in [
            "author",
            "author_bool_exp",
            "author_order_by",
            "author_select_column",
            "author_aggregate",
            "author_aggregate_fields",
            "article_sum_fields",
            "article_aggregate_order_by",
            "article_aggregate_bool_exp_count",
            "Int_comparison_exp",
            "String_comparison_exp",
            "jsonb_comparison_exp",
            "jsonb_cast_exp",
            "String_array_comparison_exp",
            "order_by",
        ] {
            assert!(s.types.contains_key(ty), "missing {ty}");
        }
        let q = s.object_field("query_root", "author_by_pk").unwrap();
        assert_eq!(q.args["id"].ty.to_string(), "Int!");
        let rel = s.object_field("article", "author").unwrap();
        assert_eq!(rel.ty.to_string(), "author!");
        let arr = s.object_field("author", "articles").unwrap();
        assert_eq!(arr.ty.to_string(), "[article!]!");
        assert!(s.object_field("author", "articles_aggregate").is_some());
        assert_eq!(s.object_field("author", "tags").unwrap().ty.to_string(), "[String!]");
    }

    #[test]
    fn missing_table_is_reported_not_fatal() {
        let (md, mut db) = fixture();
        db.tables.retain(|t| t.name != "article");
        let (s, problems) = build_schema(&md, &db, "admin");
        assert!(s.object_field("query_root", "author").is_some());
        assert!(s.object_field("query_root", "article").is_none());
        assert_eq!(problems.len(), 2, "{problems:?}"); // the table, and author.articles
    }
}
