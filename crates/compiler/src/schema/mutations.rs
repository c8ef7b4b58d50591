//! Mutation root fields and their input types, with Hasura's names: `insert_T`, `insert_T_one`,
//! `update_T`, `update_T_by_pk`, `update_T_many`, `delete_T`, `delete_T_by_pk`, and
//! `T_insert_input`, `T_on_conflict`, `T_constraint`, `T_update_column`, `T_set_input`, …

use indexmap::IndexMap;

use super::build::{column_type, input, table_label, Builder};
use super::model::*;

/// jsonb update operators: (argument, type suffix, description).
const JSONB_OPS: [(&str, &str, &str); 5] = [
    ("_append", "append_input", "append existing jsonb value of filtered columns with new jsonb value"),
    ("_delete_at_path", "delete_at_path_input", "delete the field or element with specified path (for JSON arrays, negative integers count from the end)"),
    ("_delete_elem", "delete_elem_input", "delete the array element with specified index (negative integers count from the end). throws an error if top level container is not an array"),
    ("_delete_key", "delete_key_input", "delete key/value pair or string element. key/value pairs are matched based on their key value"),
    ("_prepend", "prepend_input", "prepend existing jsonb value of filtered columns with new jsonb value"),
];

impl Builder {
    pub(super) fn mutation_fields(&mut self) -> IndexMap<String, Field> {
        let mut fields = IndexMap::new();
        // Hasura lists delete_*, insert_*, update_* grouped by operation.
        let mut deletes = vec![];
        let mut inserts = vec![];
        let mut updates = vec![];
        for ti in 0..self.tables.len() {
            let t = self.tables[ti].clone();
            let n = t.type_name.clone();
            let label = table_label(&t.name);
            if t.hidden() {
                continue;
            }
            let has_pk = !t.primary_key.is_empty();
            let selectable = t.can_select();
            let perms = t.perms.clone();
            let may = |f: fn(&super::permissions::TablePerms) -> bool| perms.as_ref().map(f).unwrap_or(true);
            if t.deletable && may(|p| p.delete.is_some()) {
                self.emit_mutation_response(ti);
                let mut args = IndexMap::new();
                args.insert("where".to_string(), input("where", TypeRef::named(format!("{n}_bool_exp")).non_null(), Some("filter the rows which have to be deleted".into())));
                deletes.push(Field {
                    name: t.root.delete.clone(),
                    description: t.root.description("delete", format!("delete data from the table: \"{label}\"")),
                    args,
                    ty: TypeRef::named(format!("{n}_mutation_response")),
                    kind: FieldKind::Delete { table: ti },
                });
                if has_pk && selectable {
                    deletes.push(Field {
                        name: t.root.delete_by_pk.clone(),
                        description: t.root.description("delete_by_pk", format!("delete single row from the table: \"{label}\"")),
                        args: pk_args(&t),
                        ty: TypeRef::named(n.clone()),
                        kind: FieldKind::DeleteByPk { table: ti },
                    });
                }
            }
            if t.insertable && may(|p| p.insert.is_some()) && t.columns.iter().any(|c| c.insert) {
                self.emit_mutation_response(ti);
                self.emit_insert_input(ti);
                let on_conflict = self.emit_on_conflict(ti);
                let mut args = IndexMap::new();
                args.insert("objects".to_string(), input("objects", TypeRef::nn_list_nn(format!("{n}_insert_input")), Some("the rows to be inserted".into())));
                if let Some(oc) = &on_conflict {
                    args.insert("on_conflict".to_string(), input("on_conflict", TypeRef::named(oc.clone()), Some("upsert condition".into())));
                }
                inserts.push(Field {
                    name: t.root.insert.clone(),
                    description: t.root.description("insert", format!("insert data into the table: \"{label}\"")),
                    args,
                    ty: TypeRef::named(format!("{n}_mutation_response")),
                    kind: FieldKind::Insert { table: ti },
                });
                let mut args = IndexMap::new();
                args.insert("object".to_string(), input("object", TypeRef::named(format!("{n}_insert_input")).non_null(), Some("the row to be inserted".into())));
                if let Some(oc) = &on_conflict {
                    args.insert("on_conflict".to_string(), input("on_conflict", TypeRef::named(oc.clone()), Some("upsert condition".into())));
                }
                if selectable {
                    inserts.push(Field {
                        name: t.root.insert_one.clone(),
                        description: t.root.description("insert_one", format!("insert a single row into the table: \"{label}\"")),
                        args,
                        ty: TypeRef::named(n.clone()),
                        kind: FieldKind::InsertOne { table: ti },
                    });
                }
            }
            if t.updatable && may(|p| p.update.is_some()) && t.columns.iter().any(|c| c.update) {
                self.emit_mutation_response(ti);
                let ops = self.emit_update_inputs(ti);
                let mut args = ops.clone();
                args.insert("where".to_string(), input("where", TypeRef::named(format!("{n}_bool_exp")).non_null(), Some("filter the rows which have to be updated".into())));
                updates.push(Field {
                    name: t.root.update.clone(),
                    description: t.root.description("update", format!("update data of the table: \"{label}\"")),
                    args,
                    ty: TypeRef::named(format!("{n}_mutation_response")),
                    kind: FieldKind::Update { table: ti },
                });
                if has_pk && selectable {
                    let pk_input = format!("{n}_pk_columns_input");
                    let pk_fields = pk_args(&t);
                    self.add(&pk_input, Some(format!("primary key columns input for table: {label}")), TypeKind::InputObject { fields: pk_fields });
                    let mut args = ops.clone();
                    args.insert("pk_columns".to_string(), input("pk_columns", TypeRef::named(pk_input).non_null(), None));
                    updates.push(Field {
                        name: t.root.update_by_pk.clone(),
                        description: t.root.description("update_by_pk", format!("update single row of the table: \"{label}\"")),
                        args,
                        ty: TypeRef::named(n.clone()),
                        kind: FieldKind::UpdateByPk { table: ti },
                    });
                }
                let updates_ty = format!("{n}_updates");
                let mut ufields = ops.clone();
                ufields.insert("where".to_string(), input("where", TypeRef::named(format!("{n}_bool_exp")).non_null(), Some("filter the rows which have to be updated".into())));
                self.add(&updates_ty, None, TypeKind::InputObject { fields: ufields });
                let mut args = IndexMap::new();
                args.insert("updates".to_string(), input("updates", TypeRef::nn_list_nn(updates_ty), Some("updates to execute, in order".into())));
                updates.push(Field {
                    name: t.root.update_many.clone(),
                    description: t.root.description("update_many", format!("update multiples rows of table: \"{label}\"")),
                    args,
                    ty: TypeRef::named(format!("{n}_mutation_response")).list(),
                    kind: FieldKind::UpdateMany { table: ti },
                });
            }
        }
        for f in deletes.into_iter().chain(inserts).chain(updates) {
            fields.insert(f.name.clone(), f);
        }
        fields
    }

    fn emit_mutation_response(&mut self, ti: usize) {
        let n = self.tables[ti].type_name.clone();
        let name = format!("{n}_mutation_response");
        if self.types.contains_key(&name) {
            return;
        }
        let selectable = self.tables[ti].can_select();
        let mut fields = IndexMap::new();
        fields.insert(
            "affected_rows".to_string(),
            Field {
                name: "affected_rows".into(),
                description: Some("number of rows affected by the mutation".into()),
                args: IndexMap::new(),
                ty: TypeRef::named("Int").non_null(),
                kind: FieldKind::Plain,
            },
        );
        if selectable {
        fields.insert(
            "returning".to_string(),
            Field {
                name: "returning".into(),
                description: Some("data from the rows affected by the mutation".into()),
                args: IndexMap::new(),
                ty: TypeRef::nn_list_nn(n.clone()),
                kind: FieldKind::Plain,
            },
        );
        }
        let label = table_label(&self.tables[ti].name);
        self.add(&name, Some(format!("response of any mutation on the table \"{label}\"")), TypeKind::Object { fields });
    }

    fn emit_insert_input(&mut self, ti: usize) {
        let t = self.tables[ti].clone();
        let n = &t.type_name;
        let name = format!("{n}_insert_input");
        if self.types.contains_key(&name) {
            return;
        }
        // Register the name first: relationships may lead back here.
        self.add(&name, None, TypeKind::InputObject { fields: IndexMap::new() });
        let mut fields = IndexMap::new();
        for c in t.columns.iter().filter(|c| c.insert) {
            fields.insert(c.gql_name.clone(), input(&c.gql_name, column_type(c), c.description.clone()));
        }
        for r in &t.relationships {
            let target = self.tables[r.target].clone();
            let target_insert = target.perms.as_ref().map(|p| p.insert.is_some()).unwrap_or(true);
            if !target.insertable || !target_insert || !target.columns.iter().any(|c| c.insert) {
                continue;
            }
            self.emit_insert_input(r.target);
            let on_conflict = self.emit_on_conflict(r.target);
            let tn = &target.type_name;
            let (wrapper, data_ty) = match r.kind {
                RelKindInfo::Object => (format!("{tn}_obj_rel_insert_input"), TypeRef::named(format!("{tn}_insert_input")).non_null()),
                RelKindInfo::Array => (format!("{tn}_arr_rel_insert_input"), TypeRef::nn_list_nn(format!("{tn}_insert_input"))),
            };
            if !self.types.contains_key(&wrapper) {
                let mut wf = IndexMap::new();
                wf.insert("data".to_string(), input("data", data_ty, None));
                if let Some(oc) = on_conflict {
                    wf.insert("on_conflict".to_string(), input("on_conflict", TypeRef::named(oc), Some("upsert condition".into())));
                }
                let desc = match r.kind {
                    RelKindInfo::Object => format!("input type for inserting object relation for remote table \"{}\"", table_label(&target.name)),
                    RelKindInfo::Array => format!("input type for inserting array relation for remote table \"{}\"", table_label(&target.name)),
                };
                self.add(&wrapper, Some(desc), TypeKind::InputObject { fields: wf });
            }
            fields.insert(r.name.clone(), input(&r.name, TypeRef::named(wrapper), None));
        }
        let label = table_label(&t.name);
        self.types.insert(
            name.clone(),
            TypeDef {
                name,
                description: Some(format!("input type for inserting data into table \"{label}\"")),
                kind: TypeKind::InputObject { fields },
            },
        );
    }

    /// `T_on_conflict` (with `T_constraint` and `T_update_column`), when T has a unique key.
    fn emit_on_conflict(&mut self, ti: usize) -> Option<String> {
        let t = self.tables[ti].clone();
        // Upserts need a unique key and, for non-admin roles, an update permission.
        let may_update = t.perms.as_ref().map(|p| p.update.is_some()).unwrap_or(true);
        if t.constraints.is_empty() || !may_update {
            return None;
        }
        let n = &t.type_name;
        let name = format!("{n}_on_conflict");
        if self.types.contains_key(&name) {
            return Some(name);
        }
        let label = table_label(&t.name);
        let constraint = format!("{n}_constraint");
        let values = t
            .constraints
            .iter()
            .map(|c| {
                let desc = format!(
                    "{} or primary key constraint on columns {}",
                    "unique",
                    c.columns.iter().map(|&i| format!("\"{}\"", t.columns[i].name)).collect::<Vec<_>>().join(", ")
                );
                (c.gql_name.clone(), EnumValue { name: c.gql_name.clone(), description: Some(desc) })
            })
            .collect();
        self.add(&constraint, Some(format!("unique or primary key constraints on table \"{label}\"")), TypeKind::Enum { values });
        let update_column = format!("{n}_update_column");
        let mut uvalues: IndexMap<String, EnumValue> = t
            .columns
            .iter()
            .filter(|c| c.update)
            .map(|c| (c.gql_name.clone(), EnumValue { name: c.gql_name.clone(), description: Some("column name".into()) }))
            .collect();
        if uvalues.is_empty() {
            uvalues.insert("_PLACEHOLDER".into(), EnumValue { name: "_PLACEHOLDER".into(), description: Some("placeholder (do not use)".into()) });
        }
        self.add(&update_column, Some(format!("update columns of table \"{label}\"")), TypeKind::Enum { values: uvalues });
        let mut fields = IndexMap::new();
        fields.insert("constraint".to_string(), input("constraint", TypeRef::named(constraint).non_null(), None));
        let mut uc = input("update_columns", TypeRef::nn_list_nn(update_column), None);
        uc.default_value = Some("[]".into());
        fields.insert("update_columns".to_string(), uc);
        fields.insert("where".to_string(), input("where", TypeRef::named(format!("{n}_bool_exp")), None));
        self.add(&name, Some(format!("on_conflict condition type for table \"{label}\"")), TypeKind::InputObject { fields });
        Some(name)
    }

    /// `_set`, `_inc` and the jsonb operators, as arguments (shared by update fields and `T_updates`).
    fn emit_update_inputs(&mut self, ti: usize) -> IndexMap<String, InputValue> {
        let t = self.tables[ti].clone();
        let n = &t.type_name;
        let label = table_label(&t.name);
        let writable: Vec<&ColumnInfo> = t.columns.iter().filter(|c| c.update).collect();
        let mut args = IndexMap::new();
        let jsonb: Vec<&ColumnInfo> = writable.iter().copied().filter(|c| c.category == TypeCategory::Jsonb && !c.is_array).collect();
        if !jsonb.is_empty() {
            for (arg, suffix, desc) in JSONB_OPS {
                let ty = format!("{n}_{suffix}");
                let fields = jsonb
                    .iter()
                    .map(|c| {
                        let fty = match arg {
                            "_delete_at_path" => TypeRef::list_nn("String"),
                            "_delete_elem" => TypeRef::named("Int"),
                            "_delete_key" => TypeRef::named("String"),
                            _ => TypeRef::named("jsonb"),
                        };
                        (c.gql_name.clone(), input(&c.gql_name, fty, None))
                    })
                    .collect();
                self.add(&ty, Some(desc.to_string()), TypeKind::InputObject { fields });
                args.insert(arg.to_string(), input(arg, TypeRef::named(ty), Some(desc.to_string())));
            }
        }
        let numeric: Vec<&ColumnInfo> = writable.iter().copied().filter(|c| c.category == TypeCategory::Numeric && !c.is_array).collect();
        if !numeric.is_empty() {
            let ty = format!("{n}_inc_input");
            let fields = numeric.iter().map(|c| (c.gql_name.clone(), input(&c.gql_name, TypeRef::named(c.scalar.clone()), None))).collect();
            self.add(&ty, Some(format!("input type for incrementing numeric columns in table \"{label}\"")), TypeKind::InputObject { fields });
            args.insert("_inc".to_string(), input("_inc", TypeRef::named(ty), Some("increments the numeric columns with given value of the filtered values".into())));
        }
        let ty = format!("{n}_set_input");
        let fields = writable.iter().map(|c| (c.gql_name.clone(), input(&c.gql_name, column_type(c), c.description.clone()))).collect();
        self.add(&ty, Some(format!("input type for updating data in table \"{label}\"")), TypeKind::InputObject { fields });
        args.insert("_set".to_string(), input("_set", TypeRef::named(ty), Some("sets the columns of the filtered rows to the given values".into())));
        // Hasura's argument order: _append, _delete_*, _inc, _prepend, _set.
        args.sort_by(|a, _, b, _| a.cmp(b));
        args
    }
}

/// Primary-key arguments (`T_by_pk`, `T_pk_columns_input`): Hasura describes them with the
/// columns' descriptions.
fn pk_args(t: &TableInfo) -> IndexMap<String, InputValue> {
    t.primary_key
        .iter()
        .map(|&ci| {
            let c = &t.columns[ci];
            (c.gql_name.clone(), input(&c.gql_name, column_type(c).non_null(), c.description.clone()))
        })
        .collect()
}
