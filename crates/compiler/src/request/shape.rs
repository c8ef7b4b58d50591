//! A request's *shape*: everything about its variables that may change the compiled request
//! besides the content that becomes parameters. Two requests of one query with the same
//! shape compile to the same SQL with other parameter values (see `template`).
//!
//! The shape fixes what `input` lets the SQL generator look at for free: which variables are
//! given (a missing one takes its default, which the query text fixes), nulls, booleans, enum
//! values, list lengths, input object keys, and each scalar's JSON kind (integer, fraction,
//! string, `json` array or object), which decides casts and guards. Strings, numbers and
//! the insides of `json` values are content: a compile that looks at them has no template.

use serde_json::Value;

use super::validate::VarDef;
use crate::schema::model::{Schema, TypeKind, TypeRef};

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
