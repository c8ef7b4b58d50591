//! Compiled requests reused across variable values.
//!
//! Clients send the same query text with different variables (`users_by_pk(id: $id)`), and
//! compiling (parse, validate, lower to SQL) costs more than running the SQL of a key lookup.
//! A variable value usually only becomes a statement parameter, so the compiled request for one
//! value is the compiled request for any other, with other parameters. Which parameters those
//! are is found by compiling twice when a request's *shape* is first seen: once with the real
//! values, once with probe values: every string and number in the variables replaced by a
//! unique value of the same kind. The two results must be identical but for parameters, and
//! each parameter that differs must be exactly the text of one variable value (as a scalar,
//! as JSON, or as an array literal), in both compiles. Anything else (a value that changes
//! the SQL text, like a `limit` or an `order_by` direction, or that the compiler transforms)
//! and the shape has no template: its requests are cached by their exact variables instead.
//!
//! The shape ([`signature`]) is what may change the SQL besides those values: which variables
//! are given, nulls, booleans, enum values, list lengths, object keys, integer or not. A
//! template is filled after the new values pass the same coercion a full compile does, so a
//! bad value gets the same error.

use std::collections::HashMap;

use async_graphql_parser::types::ExecutableDocument;
use indexmap::IndexMap;
use serde_json::{json, Map, Number, Value};

use super::validate::{self, VarDef};
use super::{lower, Compiled, Limits, MutationStep, Session};
use crate::error::GqlError;
use crate::schema::model::{Schema, TypeKind, TypeRef};
use crate::sql::array_literal;

/// Marks probe strings; a constant parameter holding it means the probe leaked into the SQL
/// in a way this module does not understand.
const PROBE_MARK: &str = "~graft~probe~";
/// Probe integers: unique, within a GraphQL `Int`, far from typical ids.
const PROBE_INT: i64 = 1_000_000_000;
/// Probe integers given as strings (`bigint` accepts both).
const PROBE_BIG: i64 = 9_000_000_000_000;

/// A compiled request and, per statement, where each of its parameters comes from.
#[derive(Clone, Debug)]
pub struct Template {
    compiled: Compiled,
    slots: Vec<Vec<Slot>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Slot {
    /// The same whatever the variables (literals, session variables, defaults).
    Const,
    /// The text of the (coerced) variable value at `path`.
    Var(Vec<Step>, Rule),
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// How a value becomes parameter text, as [`crate::sql::Params`] binds it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    Scalar,
    Json,
    Array,
}

impl Rule {
    fn text(self, v: &Value) -> Option<Option<String>> {
        match self {
            Rule::Scalar => Some(match v {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                other => Some(other.to_string()),
            }),
            Rule::Json => Some(Some(v.to_string())),
            Rule::Array => match v {
                Value::Array(items) => Some(Some(array_literal(items))),
                _ => None,
            },
        }
    }
}

impl Template {
    /// A template of a request that has no variables: every parameter is constant.
    fn constant(compiled: &Compiled) -> Template {
        let mut c = compiled.clone();
        let slots = take_params(&mut c).iter().map(|p| vec![Slot::Const; p.len()]).collect();
        Template { compiled: compiled.clone(), slots }
    }

    /// The compiled request for these (coerced) variable values; `None` if a value the
    /// template needs is missing (then compile in full).
    pub fn fill(&self, values: &IndexMap<String, Value>) -> Option<Compiled> {
        let mut out = self.compiled.clone();
        for (params, slots) in params_mut(&mut out).into_iter().zip(&self.slots) {
            for (p, slot) in params.iter_mut().zip(slots) {
                if let Slot::Var(path, rule) = slot {
                    *p = rule.text(at(values, path)?)?;
                }
            }
        }
        Some(out)
    }
}

/// Compile a request, and derive its template for other values of the same shape (`None`:
/// there is none). Also answers the operation's variable definitions.
pub fn compile(
    schema: &Schema,
    query: &str,
    variables: Option<&Value>,
    operation_name: Option<&str>,
    session: &Session,
    limits: &Limits,
) -> Result<(Compiled, Vec<VarDef>, Option<Template>), GqlError> {
    let doc = validate::parse(query, limits)?;
    let op = &validate::select_operation(&doc, operation_name)?.node;
    let defs = validate::variable_definitions(op);
    let real_values = validate::coerce_variables(schema, &defs, variables)?;
    let real = compile_coerced(schema, &doc, operation_name, &defs, &real_values, session, limits)?;
    if defs.is_empty() {
        let t = Template::constant(&real);
        return Ok((real, defs, Some(t)));
    }
    let probe_raw = probe_variables(schema, &defs, variables);
    let template = validate::coerce_variables(schema, &defs, Some(&probe_raw)).ok().and_then(|probe_values| {
        let probe = compile_coerced(schema, &doc, operation_name, &defs, &probe_values, session, limits).ok()?;
        derive(&real, &probe, &real_values, &probe_values)
    });
    Ok((real, defs, template))
}

fn compile_coerced(
    schema: &Schema,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    defs: &[VarDef],
    values: &IndexMap<String, Value>,
    session: &Session,
    limits: &Limits,
) -> Result<Compiled, GqlError> {
    let op = &validate::select_operation(doc, operation_name)?.node;
    let operation = validate::validate_coerced(schema, doc, op, defs, values, limits)?;
    lower(schema, operation, session)
}

/// The template, when `real` and `probe` differ only in parameters that carry variable values.
fn derive(real: &Compiled, probe: &Compiled, real_values: &IndexMap<String, Value>, probe_values: &IndexMap<String, Value>) -> Option<Template> {
    let (mut a, mut b) = (real.clone(), probe.clone());
    let (pa, pb) = (take_params(&mut a), take_params(&mut b));
    if a != b || pa.len() != pb.len() {
        return None;
    }
    let index = probe_index(probe_values);
    let mut slots = Vec::with_capacity(pa.len());
    for (sa, sb) in pa.iter().zip(&pb) {
        if sa.len() != sb.len() {
            return None;
        }
        let mut s = Vec::with_capacity(sa.len());
        for (x, y) in sa.iter().zip(sb) {
            if x == y {
                if y.as_deref().is_some_and(|t| t.contains(PROBE_MARK)) {
                    return None;
                }
                s.push(Slot::Const);
                continue;
            }
            let (path, rule) = index.get(y.as_ref()?)?.as_ref()?;
            if rule.text(at(real_values, path)?)? != *x {
                return None;
            }
            s.push(Slot::Var(path.clone(), *rule));
        }
        slots.push(s);
    }
    Some(Template { compiled: real.clone(), slots })
}

/// Parameter text → the probe value it is the text of (`None` when two values give it).
fn probe_index(values: &IndexMap<String, Value>) -> HashMap<String, Option<(Vec<Step>, Rule)>> {
    fn walk(v: &Value, path: &mut Vec<Step>, out: &mut HashMap<String, Option<(Vec<Step>, Rule)>>) {
        for rule in [Rule::Scalar, Rule::Json, Rule::Array] {
            if let Some(Some(text)) = rule.text(v) {
                match out.get(&text) {
                    None => {
                        out.insert(text, Some((path.clone(), rule)));
                    }
                    // The same value under another rule gives the same text: keep the first.
                    Some(Some((p, _))) if p == path => {}
                    Some(_) => {
                        out.insert(text, None);
                    }
                }
            }
        }
        match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(item, path, out);
                    path.pop();
                }
            }
            Value::Object(m) => {
                for (k, item) in m {
                    path.push(Step::Key(k.clone()));
                    walk(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    for (name, v) in values {
        walk(v, &mut vec![Step::Key(name.clone())], &mut out);
    }
    out
}

fn at<'v>(values: &'v IndexMap<String, Value>, path: &[Step]) -> Option<&'v Value> {
    let (Step::Key(name), rest) = path.split_first()? else { return None };
    let mut v = values.get(name)?;
    for step in rest {
        v = match (step, v) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Every statement's parameters, in order, taken out of `c` (left empty).
fn take_params(c: &mut Compiled) -> Vec<Vec<Option<String>>> {
    params_mut(c).into_iter().map(std::mem::take).collect()
}

fn params_mut(c: &mut Compiled) -> Vec<&mut Vec<Option<String>>> {
    match c {
        Compiled::Sql(s) => vec![&mut s.params],
        Compiled::Json(_) => vec![],
        Compiled::Mutation(plan) => plan
            .fields
            .iter_mut()
            .flat_map(|f| f.steps.iter_mut())
            .flat_map(|step| match step {
                MutationStep::Static(_) => vec![],
                MutationStep::Query(s) => vec![&mut s.params],
                MutationStep::WriteRead { write, read } => vec![&mut write.params, &mut read.params],
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes and probes: both walk the raw variables along their declared types.

/// What, besides the values that become parameters, may change the compiled request.
pub fn signature(schema: &Schema, defs: &[VarDef], variables: Option<&Value>) -> String {
    let given = variables.and_then(Value::as_object);
    let mut out = String::new();
    for d in defs {
        match given.and_then(|g| g.get(&d.name)) {
            Some(v) => shape(schema, v, &d.ty, &mut out),
            None => out.push('-'),
        }
        out.push('|');
    }
    if !matches!(variables, None | Some(Value::Null) | Some(Value::Object(_))) {
        out.push_str("not-an-object");
    }
    out
}

fn shape(schema: &Schema, v: &Value, ty: &TypeRef, out: &mut String) {
    match (ty, v) {
        (TypeRef::NonNull(inner), _) => shape(schema, v, inner, out),
        (_, Value::Null) => out.push('n'),
        (_, Value::Bool(b)) => out.push(if *b { 't' } else { 'f' }),
        (TypeRef::List(inner), Value::Array(items)) => {
            out.push_str(&format!("[{}:", items.len()));
            for item in items {
                shape(schema, item, inner, out);
                out.push(',');
            }
            out.push(']');
        }
        (TypeRef::List(inner), single) => {
            out.push_str("1(");
            shape(schema, single, inner, out);
            out.push(')');
        }
        (TypeRef::Named(name), _) => match (schema.get(name).map(|t| &t.kind), v) {
            (Some(TypeKind::Enum { .. }), _) => out.push_str(&format!("e{v}")),
            (Some(TypeKind::InputObject { fields }), Value::Object(m)) => {
                out.push('{');
                for (k, fv) in m {
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push('=');
                    match fields.get(k) {
                        Some(f) => shape(schema, fv, &f.ty, out),
                        None => out.push_str(&format!("x{fv}")),
                    }
                    out.push(';');
                }
                out.push('}');
            }
            (Some(TypeKind::Scalar), Value::Number(n)) => out.push(if n.is_i64() || n.is_u64() { 'i' } else { 'd' }),
            (Some(TypeKind::Scalar), Value::String(_)) => out.push('s'),
            (Some(TypeKind::Scalar), Value::Array(_)) => out.push_str("ja"),
            (Some(TypeKind::Scalar), Value::Object(_)) => out.push_str("jo"),
            // Not a value of its type: the compile fails; nothing is shared.
            _ => out.push_str(&format!("x{v}")),
        },
    }
}

/// The variables with every string and number replaced by a unique value of the same kind.
fn probe_variables(schema: &Schema, defs: &[VarDef], variables: Option<&Value>) -> Value {
    let mut out = Map::new();
    let mut k = 0i64;
    if let Some(given) = variables.and_then(Value::as_object) {
        for (name, v) in given {
            let probed = match defs.iter().find(|d| &d.name == name) {
                Some(d) => probe(schema, v, &d.ty, &mut k),
                None => v.clone(),
            };
            out.insert(name.clone(), probed);
        }
    }
    Value::Object(out)
}

fn probe(schema: &Schema, v: &Value, ty: &TypeRef, k: &mut i64) -> Value {
    match (ty, v) {
        (TypeRef::NonNull(inner), _) => probe(schema, v, inner, k),
        (_, Value::Null | Value::Bool(_)) => v.clone(),
        (TypeRef::List(inner), Value::Array(items)) => Value::Array(items.iter().map(|i| probe(schema, i, inner, k)).collect()),
        (TypeRef::List(inner), single) => probe(schema, single, inner, k),
        (TypeRef::Named(name), _) => match (schema.get(name).map(|t| &t.kind), v) {
            (Some(TypeKind::Enum { .. }), _) => v.clone(),
            (Some(TypeKind::InputObject { fields }), Value::Object(m)) => Value::Object(
                m.iter()
                    .map(|(key, fv)| {
                        let p = fields.get(key).map(|f| probe(schema, fv, &f.ty, k)).unwrap_or_else(|| fv.clone());
                        (key.clone(), p)
                    })
                    .collect(),
            ),
            (Some(TypeKind::Scalar), _) => probe_scalar(name, v, k),
            _ => v.clone(),
        },
    }
}

fn probe_scalar(scalar: &str, v: &Value, k: &mut i64) -> Value {
    *k += 1;
    let n = *k;
    match v {
        Value::Number(x) if x.is_i64() || x.is_u64() => json!(PROBE_INT + n),
        Value::Number(_) => Number::from_f64(PROBE_INT as f64 + n as f64 + 0.5).map(Value::Number).unwrap_or_else(|| v.clone()),
        Value::String(s) => {
            let numeric = matches!(scalar, "smallint" | "bigint" | "numeric" | "float8" | "money");
            if numeric && s.trim().parse::<i64>().is_ok() {
                Value::String((PROBE_BIG + n).to_string())
            } else if numeric && s.trim().parse::<f64>().is_ok() {
                Value::String(format!("{}.5", PROBE_BIG + n))
            } else {
                Value::String(format!("{PROBE_MARK}{n}~"))
            }
        }
        Value::Array(_) => json!([format!("{PROBE_MARK}{n}~")]),
        Value::Object(_) => json!({ format!("{PROBE_MARK}{n}~"): 0 }),
        _ => v.clone(),
    }
}
