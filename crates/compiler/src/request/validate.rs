//! Parse a document, pick the operation, coerce variables, and walk the selection set against
//! the schema into the normalized [`SelField`] tree. Every validation error carries Hasura's
//! message and JSON path.

use std::collections::HashMap;

use async_graphql_parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition, OperationType,
    Selection, SelectionSet, Type,
};
use async_graphql_parser::Positioned;
use async_graphql_value::Name;
use indexmap::IndexMap;
use serde_json::Value;

use super::coerce::Coercer;
use super::input::{Arg, VarSources};
use super::selection::SelField;
use super::Limits;
use crate::error::GqlError;
use crate::schema::model::{Schema, TypeKind, TypeRef};

pub struct Operation {
    pub ty: OperationType,
    pub fields: Vec<SelField>,
}

/// Cheap pre-parse bounds: size, selection nesting (braces outside argument lists), and
/// overall bracket nesting; the parser recurses on both, so they are checked before it runs.
/// The nesting comes from a real tokenizer ([`super::lexer`]): strings, block strings and
/// comments cannot hide or fake a brace.
fn precheck(query: &str, limits: &Limits) -> Result<(), GqlError> {
    if query.len() > limits.max_query_bytes {
        return Err(GqlError::validation("$.query", format!("query is larger than the limit of {} bytes", limits.max_query_bytes)));
    }
    let max_all = max_brackets(limits);
    let d = super::lexer::nesting(query, limits.max_depth, max_all)?;
    if d.selection > limits.max_depth || d.brackets > max_all {
        return Err(GqlError::validation("$.query", format!("the query exceeds the maximum depth of {}", limits.max_depth)));
    }
    Ok(())
}

/// Nesting of brackets of any kind (argument objects and lists inside selections) allowed.
fn max_brackets(limits: &Limits) -> usize {
    4 * limits.max_depth.max(16)
}

pub fn parse(query: &str, limits: &Limits) -> Result<ExecutableDocument, GqlError> {
    let _stack = crate::stack::Entry::new();
    precheck(query, limits)?;
    async_graphql_parser::parse_query(query)
        .map_err(|_| GqlError::validation("$.query", "not a valid graphql query"))
}

fn type_ref(t: &Type) -> TypeRef {
    let base = match &t.base {
        BaseType::Named(n) => TypeRef::Named(n.to_string()),
        BaseType::List(inner) => TypeRef::List(Box::new(type_ref(inner))),
    };
    if t.nullable {
        base
    } else {
        base.non_null()
    }
}

pub fn select_operation<'d>(
    doc: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Result<&'d Positioned<OperationDefinition>, GqlError> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => Ok(op),
        (DocumentOperations::Single(op), Some(name)) => {
            // A single named operation must match; a single anonymous one is taken as is.
            let _ = op;
            Err(GqlError::validation("$", format!("no such operation found in the document: \"{name}\"")))
        }
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get(name)
            .ok_or_else(|| GqlError::validation("$", format!("no such operation found in the document: \"{name}\""))),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => Ok(ops.values().next().unwrap()),
        (DocumentOperations::Multiple(_), None) => Err(GqlError::validation(
            "$",
            "exactly one operation has to be present in the document when operationName is not specified",
        )),
    }
}

/// A variable as the operation declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct VarDef {
    pub name: String,
    pub ty: TypeRef,
    /// The default value, as JSON.
    pub default: Option<Value>,
}

/// The operation's variable definitions, in order.
pub fn variable_definitions(op: &OperationDefinition) -> Vec<VarDef> {
    op.variable_definitions
        .iter()
        .map(|vd| VarDef {
            name: vd.node.name.node.to_string(),
            ty: type_ref(&vd.node.var_type.node),
            default: vd.node.default_value.as_ref().map(|d| d.node.clone().into_json().unwrap_or(Value::Null)),
        })
        .collect()
}

/// Check the request's variable values against the declared types (defaults filled in): the
/// values the selection walk substitutes. A variable left out here was not given and has no
/// default.
pub fn coerce_variables(schema: &Schema, defs: &[VarDef], variables: Option<&Value>) -> Result<IndexMap<String, Value>, GqlError> {
    super::check_variables_depth(variables)?;
    let _stack = crate::stack::Entry::new();
    let empty = serde_json::Map::new();
    let given = match variables {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(GqlError::validation("$.variables", "variables must be a JSON object")),
    };
    let variable_types: IndexMap<String, TypeRef> = defs.iter().map(|d| (d.name.clone(), d.ty.clone())).collect();
    let no_vars = IndexMap::new();
    let no_sources = VarSources::none();
    let no_defaults = std::collections::HashSet::new();
    let c = Coercer { schema, variables: &no_vars, sources: &no_sources, variable_types: &variable_types, non_null_defaults: &no_defaults };
    let mut values = IndexMap::new();
    for d in defs {
        let (name, ty) = (d.name.as_str(), &d.ty);
        let input_ok = schema.get(ty.base_name()).map(|t| !matches!(t.kind, TypeKind::Object { .. })).unwrap_or(false);
        if !input_ok {
            return Err(GqlError::validation(
                "$",
                format!("variable \"{name}\" has an unknown or non-input type '{}'", ty.base_name()),
            ));
        }
        let path = format!("$.variableValues.{name}");
        match given.get(name).or(d.default.as_ref()) {
            Some(v) => {
                values.insert(name.to_string(), c.variable(v, ty, &path)?);
            }
            None if ty.is_non_null() => {
                return Err(GqlError::validation("$", format!("expecting a value for non-nullable variable: \"{name}\"")))
            }
            None => {}
        }
    }
    Ok(values)
}

pub fn validate(
    schema: &Schema,
    doc: &ExecutableDocument,
    op: &OperationDefinition,
    variables: Option<&Value>,
    limits: &Limits,
) -> Result<Operation, GqlError> {
    let _stack = crate::stack::Entry::new();
    let defs = variable_definitions(op);
    let values = coerce_variables(schema, &defs, variables)?;
    let sources = variable_sources(schema, &defs, variables, &values);
    validate_coerced(schema, doc, op, &defs, &values, &sources, limits)
}

/// Where the coerced `values` of the request's `variables` come from (see `input`).
pub fn variable_sources(schema: &Schema, defs: &[VarDef], variables: Option<&Value>, values: &IndexMap<String, Value>) -> VarSources {
    let types: IndexMap<String, TypeRef> = defs.iter().map(|d| (d.name.clone(), d.ty.clone())).collect();
    VarSources::new(schema, &types, variables, values)
}

/// [`validate`] with the variables already coerced (by [`coerce_variables`] over `defs`).
#[allow(clippy::too_many_arguments)]
pub fn validate_coerced(
    schema: &Schema,
    doc: &ExecutableDocument,
    op: &OperationDefinition,
    defs: &[VarDef],
    values: &IndexMap<String, Value>,
    sources: &VarSources,
    limits: &Limits,
) -> Result<Operation, GqlError> {
    let root = match op.ty {
        OperationType::Query => schema.query_type.clone(),
        OperationType::Mutation => schema
            .mutation_type
            .clone()
            .ok_or_else(|| GqlError::validation("$", "no mutations exist"))?,
        OperationType::Subscription => schema
            .subscription_type
            .clone()
            .ok_or_else(|| GqlError::validation("$", "no subscriptions exist"))?,
    };
    let _stack = crate::stack::Entry::new();
    let variable_types: IndexMap<String, TypeRef> = defs.iter().map(|d| (d.name.clone(), d.ty.clone())).collect();
    let non_null_defaults = defs.iter().filter(|d| d.default.as_ref().is_some_and(|v| !v.is_null())).map(|d| d.name.clone()).collect();
    let walker = Walker {
        expanded: std::cell::Cell::new(0),
        schema,
        fragments: &doc.fragments,
        coercer: Coercer { schema, variables: values, sources, variable_types: &variable_types, non_null_defaults: &non_null_defaults },
        max_depth: limits.max_depth,
        nodes: std::cell::Cell::new(0),
        node_limit: limits.node_limit,
    };
    let mut visiting = vec![];
    let fields = walker.selection_set(&op.selection_set.node, &root, "$", 1, &mut visiting)?;
    Ok(Operation { ty: op.ty, fields })
}

/// Fields a request may expand to once fragments are inlined: fragments reused at several
/// places multiply, so a small document could otherwise expand exponentially.
const MAX_EXPANDED_FIELDS: usize = 100_000;

struct Walker<'a> {
    expanded: std::cell::Cell<usize>,
    schema: &'a Schema,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    coercer: Coercer<'a>,
    max_depth: usize,
    /// Fields with a selection set seen so far (Hasura's nodes), and the limit (0: none).
    nodes: std::cell::Cell<usize>,
    node_limit: usize,
}

impl<'a> Walker<'a> {
    /// `@skip(if:)` / `@include(if:)`: whether the selection is kept.
    fn included(&self, directives: &[Positioned<async_graphql_parser::types::Directive>], path: &str) -> Result<bool, GqlError> {
        for d in directives {
            let name = d.node.name.node.as_str();
            match name {
                "skip" | "include" => {
                    let arg = d
                        .node
                        .get_argument("if")
                        .ok_or_else(|| GqlError::validation(path, format!("missing required argument 'if' of directive '{name}'")))?;
                    let loc = super::coerce::Loc { has_default: false, parse: crate::schema::model::ScalarParse::GraphQl };
                    let v = self.coercer.literal_at(&arg.node, &TypeRef::named("Boolean").non_null(), loc, path)?;
                    // A boolean: fixed by the shape, so this reads no variable's content.
                    let b = v.and_then(|v| v.view().as_bool()).unwrap_or(false);
                    if (name == "skip" && b) || (name == "include" && !b) {
                        return Ok(false);
                    }
                }
                // Hasura's query-level directive; field-level use is accepted and has no effect here.
                "cached" => {}
                other => return Err(GqlError::validation(path, format!("directive '{other}' is not defined"))),
            }
        }
        Ok(true)
    }

    fn selection_set(
        &self,
        set: &SelectionSet,
        type_name: &str,
        path: &str,
        depth: usize,
        visiting: &mut Vec<String>,
    ) -> Result<Vec<SelField>, GqlError> {
        crate::stack::check(path)?;
        if depth > self.max_depth {
            return Err(GqlError::validation(path, format!("the query exceeds the maximum depth of {}", self.max_depth)));
        }
        let mut out = Merged::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    let key = f.response_key().node.to_string();
                    let name = f.name.node.as_str();
                    let fpath = format!("{path}.selectionSet.{key}");
                    if !self.included(&f.directives, &fpath)? {
                        continue;
                    }
                    let sel = self.field(f, name, key, type_name, &fpath, depth, visiting)?;
                    out.add(sel, &fpath)?;
                }
                Selection::FragmentSpread(s) => {
                    let fname = s.node.fragment_name.node.as_str();
                    if !self.included(&s.node.directives, path)? {
                        continue;
                    }
                    let frag = self
                        .fragments
                        .get(fname)
                        .ok_or_else(|| GqlError::validation(path, format!("fragment '{fname}' not found")))?;
                    if visiting.iter().any(|v| v == fname) {
                        return Err(GqlError::validation(path, format!("the fragment definition(s) {fname} form a cycle")));
                    }
                    let on = frag.node.type_condition.node.on.node.as_str();
                    self.check_condition(on, type_name, path)?;
                    visiting.push(fname.to_string());
                    let fields = self.selection_set(&frag.node.selection_set.node, type_name, path, depth, visiting)?;
                    visiting.pop();
                    for sel in fields {
                        let p = sel.path.clone();
                        out.add(sel, &p)?;
                    }
                }
                Selection::InlineFragment(i) => {
                    if !self.included(&i.node.directives, path)? {
                        continue;
                    }
                    if let Some(tc) = &i.node.type_condition {
                        self.check_condition(tc.node.on.node.as_str(), type_name, path)?;
                    }
                    let fields = self.selection_set(&i.node.selection_set.node, type_name, path, depth, visiting)?;
                    for sel in fields {
                        let p = sel.path.clone();
                        out.add(sel, &p)?;
                    }
                }
            }
        }
        Ok(out.finish())
    }

    fn check_condition(&self, on: &str, type_name: &str, path: &str) -> Result<(), GqlError> {
        // Graft's schemas have no interfaces or unions: a fragment applies only to its own type.
        if on != type_name {
            if self.schema.get(on).is_none() {
                return Err(GqlError::validation(path, format!("type '{on}' not found")));
            }
            return Err(GqlError::validation(
                path,
                format!("cannot spread fragment of type '{on}' on type '{type_name}'"),
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn field(
        &self,
        f: &async_graphql_parser::types::Field,
        name: &str,
        key: String,
        type_name: &str,
        path: &str,
        depth: usize,
        visiting: &mut Vec<String>,
    ) -> Result<SelField, GqlError> {
        crate::interrupt::tick()?;
        self.expanded.set(self.expanded.get() + 1);
        if self.expanded.get() > MAX_EXPANDED_FIELDS {
            return Err(GqlError::validation(path, format!("the query expands to more than {MAX_EXPANDED_FIELDS} fields")));
        }
        if name == "__typename" {
            if !f.arguments.is_empty() || !f.selection_set.node.items.is_empty() {
                return Err(GqlError::validation(path, "'__typename' takes no arguments or sub-selection"));
            }
            return Ok(SelField { alias: key, name: name.into(), args: IndexMap::new(), selection: vec![], path: path.into() });
        }
        let def = self
            .schema
            .object_field(type_name, name)
            .ok_or_else(|| GqlError::validation(path, format!("field '{name}' not found in type: '{type_name}'")))?;
        let mut args = IndexMap::new();
        for (an, av) in &f.arguments {
            let an = an.node.as_str();
            let apath = format!("{path}.args.{an}");
            let adef = def
                .args
                .get(an)
                .ok_or_else(|| GqlError::validation(path, format!("'{name}' has no argument named '{an}'")))?;
            if args.contains_key(an) {
                return Err(GqlError::validation(path, format!("argument '{an}' is given more than once")));
            }
            if let Some(v) = self.coercer.literal_at(&av.node, &adef.ty, super::coerce::Loc::of(adef), &apath)? {
                args.insert(an.to_string(), v);
            }
        }
        for (an, adef) in &def.args {
            if adef.ty.is_non_null() && adef.default_value.is_none() && !args.contains_key(an) {
                return Err(GqlError::validation(path, format!("missing required field '{an}'")));
            }
        }
        // Keep schema order of arguments so identical queries compile identically.
        let args = def.args.keys().filter_map(|k| args.get(k).map(|v| (k.clone(), v.clone()))).collect();
        let base = def.ty.base_name();
        let base_def = self
            .schema
            .get(base)
            .ok_or_else(|| GqlError::new("unexpected", path, format!("unknown type '{base}'")))?;
        let has_sub = !f.selection_set.node.items.is_empty();
        let selection = match (&base_def.kind, has_sub) {
            (TypeKind::Object { .. }, true) => {
                self.nodes.set(self.nodes.get() + 1);
                if self.node_limit > 0 && self.nodes.get() > self.node_limit {
                    return Err(GqlError::validation(path, format!("the query exceeds the node limit of {}", self.node_limit)));
                }
                self.selection_set(&f.selection_set.node, base, path, depth + 1, visiting)?
            }
            (TypeKind::Object { .. }, false) => {
                return Err(GqlError::validation(path, format!("missing selection set for '{name}'")))
            }
            (_, true) => {
                return Err(GqlError::validation(path, format!("unexpected subselection set for non-object field '{name}'")))
            }
            (_, false) => vec![],
        };
        Ok(SelField { alias: key, name: name.into(), args, selection, path: path.into() })
    }
}

/// Whether two fields' arguments are equal (reading the variables when that depends on them).
fn same_args(a: &IndexMap<String, Arg>, b: &IndexMap<String, Arg>) -> bool {
    let mut same = a.len() == b.len();
    for (k, x) in a {
        same &= b.get(k).is_some_and(|y| Arg::same(x, y));
    }
    same
}

/// A selection set being built: fields in order, found by response key in constant time, so
/// merging n fields costs O(n), not O(n²). A field selected again with a sub-selection merges
/// into the earlier one's, itself kept open (indexed) until [`Merged::finish`].
#[derive(Default)]
struct Merged {
    fields: Vec<SelField>,
    index: HashMap<String, usize>,
    open: HashMap<usize, Merged>,
}

impl Merged {
    fn of(fields: Vec<SelField>) -> Merged {
        let index = fields.iter().enumerate().map(|(i, f)| (f.alias.clone(), i)).collect();
        Merged { fields, index, open: HashMap::new() }
    }

    /// Add `sel`, merging with an earlier field of the same response key (which must be the
    /// same field with the same arguments).
    fn add(&mut self, sel: SelField, path: &str) -> Result<(), GqlError> {
        let Some(&i) = self.index.get(sel.alias.as_str()) else {
            self.index.insert(sel.alias.clone(), self.fields.len());
            self.fields.push(sel);
            return Ok(());
        };
        let prev = &mut self.fields[i];
        if prev.name != sel.name || !same_args(&prev.args, &sel.args) {
            return Err(GqlError::validation(
                path,
                format!("field '{}' is selected more than once with different definitions", sel.alias),
            ));
        }
        if sel.selection.is_empty() {
            return Ok(());
        }
        let sub = self.open.entry(i).or_insert_with(|| Merged::of(std::mem::take(&mut prev.selection)));
        for child in sel.selection {
            crate::interrupt::tick()?;
            let p = child.path.clone();
            sub.add(child, &p)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Vec<SelField> {
        for (i, sub) in std::mem::take(&mut self.open) {
            self.fields[i].selection = sub.finish();
        }
        self.fields
    }
}

#[cfg(test)]
mod tests {
    use async_graphql_parser::types::{DocumentOperations, Selection};
    use async_graphql_value::Value as GqlValue;

    use super::*;

    /// The arguments of the first field of a one-operation document.
    fn first_field_args(q: &str) -> Vec<(String, GqlValue)> {
        let doc = parse(q, &Limits::default()).unwrap();
        let DocumentOperations::Single(op) = &doc.operations else { panic!() };
        let Selection::Field(f) = &op.node.selection_set.node.items[0].node else { panic!() };
        f.node.arguments.iter().map(|(n, v)| (n.node.to_string(), v.node.clone())).collect()
    }

    /// GraphQL (October 2021 §2.9.6): an enum value is any name but exactly `true`, `false`
    /// or `null`; names that only begin with one are enum values (the parser used to refuse
    /// them, and read `[nullName]` as `[null, Name]`).
    #[test]
    fn names_beginning_with_literals_are_enum_values() {
        let args = first_field_args("{ f(a: [nullName, trueish, falsey, null_, true_], b: null, c: true, d: false, e: [null, true]) { x } }");
        let e = |s: &str| GqlValue::Enum(Name::new(s));
        assert_eq!(args[0].1, GqlValue::List(vec![e("nullName"), e("trueish"), e("falsey"), e("null_"), e("true_")]));
        assert_eq!(args[1].1, GqlValue::Null);
        assert_eq!(args[2].1, GqlValue::Boolean(true));
        assert_eq!(args[3].1, GqlValue::Boolean(false));
        assert_eq!(args[4].1, GqlValue::List(vec![GqlValue::Null, GqlValue::Boolean(true)]));
        // In an object literal and as a variable's default.
        let args = first_field_args("query ($v: x = nullish) { f(o: {k: nullValue, n: null}) { x } }");
        let GqlValue::Object(o) = &args[0].1 else { panic!() };
        assert_eq!(o[&Name::new("k")], e("nullValue"));
        assert_eq!(o[&Name::new("n")], GqlValue::Null);
        // A literal glued to a name is still not a literal followed by a name.
        assert!(parse("{ f(a: nullName: 1) { x } }", &Limits::default()).is_err());
    }
}
