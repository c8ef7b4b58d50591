//! Input coercion: GraphQL literals (with variables) and JSON variable values checked against
//! schema input types and turned into plain JSON. `None` means "absent" (an unset variable), which
//! callers treat as an omitted field, as the GraphQL spec says. A literal's value comes with
//! its sources (see `input`): a variable used in it carries the variable's source tree, so the
//! SQL generator knows which parameters are which variable's value.

use async_graphql_value::{ConstValue, Value as GqlValue};
use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::input::{Arg, Src, VarSources};
use crate::error::GqlError;
use crate::schema::model::{Schema, TypeKind, TypeRef};

pub struct Coercer<'a> {
    pub schema: &'a Schema,
    /// Coerced variable values; a variable missing here was not provided and has no default.
    pub variables: &'a IndexMap<String, Value>,
    /// Where the variables' values come from.
    pub sources: &'a VarSources,
    /// Declared variable types, for location compatibility checks.
    pub variable_types: &'a IndexMap<String, TypeRef>,
}

fn describe_json(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Whether a variable declared as `var` may be used where `loc` is expected
/// (GraphQL's "All Variable Usages Are Allowed"; `has_default` relaxes non-null).
pub fn var_type_fits(var: &TypeRef, loc: &TypeRef, has_default: bool) -> bool {
    match (var, loc) {
        (TypeRef::NonNull(v), TypeRef::NonNull(l)) => var_type_fits(v, l, false),
        (TypeRef::NonNull(v), l) => var_type_fits(v, l, false),
        (v, TypeRef::NonNull(l)) => has_default && var_type_fits(v, l, false),
        (TypeRef::List(v), TypeRef::List(l)) => var_type_fits(v, l, false),
        (TypeRef::Named(v), TypeRef::Named(l)) => v == l,
        _ => false,
    }
}

impl<'a> Coercer<'a> {
    /// Coerce a literal from the query document.
    pub fn literal(&self, v: &GqlValue, ty: &TypeRef, path: &str) -> Result<Option<Arg>, GqlError> {
        crate::interrupt::tick()?;
        crate::stack::check(path)?;
        if let GqlValue::Variable(name) = v {
            let name = name.as_str();
            let Some(var_ty) = self.variable_types.get(name) else {
                return Err(GqlError::validation(path, format!("unbound variable \"{name}\"")));
            };
            if !var_type_fits(var_ty, ty, self.variables.contains_key(name) && !ty.is_non_null())
                && !var_type_fits(var_ty, ty, false)
            {
                return Err(GqlError::validation(
                    path,
                    format!("variable \"{name}\" is declared as '{var_ty}', but used where '{ty}' is expected"),
                ));
            }
            return match self.variables.get(name) {
                Some(Value::Null) if ty.is_non_null() => {
                    Err(GqlError::validation(path, format!("unexpected null value for type '{}'", ty.base_name())))
                }
                Some(val) => Ok(Some(Arg::new(val.clone(), self.sources.get(name)))),
                None if ty.is_non_null() => Err(GqlError::validation(
                    path,
                    format!("expecting a value for non-nullable variable: \"{name}\""),
                )),
                None => Ok(None),
            };
        }
        match ty {
            TypeRef::NonNull(inner) => {
                if matches!(v, GqlValue::Null) {
                    return Err(GqlError::validation(path, format!("unexpected null value for type '{}'", inner.base_name())));
                }
                self.literal(v, inner, path)
            }
            TypeRef::List(inner) => match v {
                GqlValue::Null => Ok(Some(Arg::constant(Value::Null))),
                GqlValue::List(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        match self.literal(item, inner, &format!("{path}[{i}]"))? {
                            Some(v) => out.push(v),
                            None => out.push(Arg::constant(Value::Null)),
                        }
                    }
                    Ok(Some(Arg::list(out)))
                }
                single => Ok(self.literal(single, inner, path)?.map(|v| Arg::list(vec![v]))),
            },
            TypeRef::Named(name) => {
                if matches!(v, GqlValue::Null) {
                    return Ok(Some(Arg::constant(Value::Null)));
                }
                let def = self
                    .schema
                    .get(name)
                    .ok_or_else(|| GqlError::new("unexpected", path, format!("unknown type '{name}'")))?;
                match &def.kind {
                    TypeKind::Scalar => self.scalar_literal(v, name, path).map(Some),
                    TypeKind::Enum { values } => match v {
                        GqlValue::Enum(e) if values.contains_key(e.as_str()) => Ok(Some(Arg::constant(Value::String(e.to_string())))),
                        GqlValue::Enum(e) => Err(GqlError::validation(
                            path,
                            format!("unexpected value '{e}' for enum: '{name}'"),
                        )),
                        _ => Err(GqlError::validation(path, format!("expected an enum value for type '{name}'"))),
                    },
                    TypeKind::InputObject { fields } => {
                        let GqlValue::Object(obj) = v else {
                            return Err(GqlError::validation(path, format!("expected an object for type '{name}'")));
                        };
                        let mut out = Vec::new();
                        for (k, fv) in obj {
                            let fpath = format!("{path}.{k}");
                            let Some(fdef) = fields.get(k.as_str()) else {
                                return Err(GqlError::validation(fpath, format!("field '{k}' not found in type: '{name}'")));
                            };
                            if let Some(val) = self.literal(fv, &fdef.ty, &fpath)? {
                                out.push((k.to_string(), val));
                            }
                        }
                        let out = Arg::object(out);
                        let keys = out.view().keys().into_iter().map(|k| (k.to_string(), Value::Null)).collect();
                        self.check_required(fields, &keys, name, path)?;
                        Ok(Some(out))
                    }
                    TypeKind::Object { .. } => {
                        Err(GqlError::validation(path, format!("type '{name}' is not an input type")))
                    }
                }
            }
        }
    }

    fn check_required(
        &self,
        fields: &IndexMap<String, crate::schema::model::InputValue>,
        given: &Map<String, Value>,
        type_name: &str,
        path: &str,
    ) -> Result<(), GqlError> {
        for (fname, f) in fields {
            if f.ty.is_non_null() && f.default_value.is_none() && !given.contains_key(fname) {
                return Err(GqlError::validation(
                    path,
                    format!("missing required field '{fname}' in type '{type_name}'"),
                ));
            }
        }
        Ok(())
    }

    fn scalar_literal(&self, v: &GqlValue, scalar: &str, path: &str) -> Result<Arg, GqlError> {
        // Turn the literal into JSON first (objects/lists become JSON for json/jsonb scalars).
        let (json, src) = match v.clone().into_const() {
            Some(c) => (const_to_json(c), Src::Const),
            None => {
                // A variable nested inside a list/object literal of a custom scalar: the
                // value is computed from the variables'.
                let mut used = vec![];
                let resolved = v.clone().into_const_with(|name| {
                    used.push(name.to_string());
                    self.variables
                        .get(name.as_str())
                        .map(|j| ConstValue::from_json(j.clone()).unwrap_or(ConstValue::Null))
                        .ok_or(())
                });
                match resolved {
                    Ok(c) => (const_to_json(c), self.sources.derived_from(&used)),
                    Err(()) => return Err(GqlError::validation(path, "unbound variable in literal")),
                }
            }
        };
        let is_literal_string = matches!(v, GqlValue::String(_));
        let is_enum = matches!(v, GqlValue::Enum(_));
        if is_enum {
            return Err(GqlError::validation(path, format!("expected a value of type '{scalar}', but found an enum value")));
        }
        let _ = is_literal_string;
        Ok(Arg::new(self.scalar_json(&json, scalar, path)?, src))
    }

    /// Check a JSON value against a scalar type.
    pub fn scalar_json(&self, v: &Value, scalar: &str, path: &str) -> Result<Value, GqlError> {
        let bad = |what: &str| {
            GqlError::validation(path, format!("expected {what} for type '{scalar}', but found {}", describe_json(v)))
        };
        if let Some(checked) = super::extension_values::check(scalar, v, path) {
            return checked;
        }
        match scalar {
            "Int" => match v.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => Ok(v.clone()),
                _ => Err(bad("a 32-bit integer")),
            },
            "Float" => match v {
                Value::Number(_) => Ok(v.clone()),
                _ => Err(bad("a float")),
            },
            "String" => match v {
                Value::String(_) => Ok(v.clone()),
                _ => Err(bad("a string")),
            },
            "Boolean" => match v {
                Value::Bool(_) => Ok(v.clone()),
                _ => Err(bad("a boolean")),
            },
            "ID" => match v {
                Value::String(_) => Ok(v.clone()),
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Value::String(n.to_string())),
                _ => Err(bad("a String or an Int")),
            },
            "smallint" | "bigint" => match v {
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
                Value::String(s) if s.trim().parse::<i64>().is_ok() => Ok(v.clone()),
                _ => Err(bad("an integer")),
            },
            "numeric" | "float8" | "money" => match v {
                Value::Number(_) => Ok(v.clone()),
                Value::String(s) if s.trim().parse::<f64>().is_ok() || s.trim().eq_ignore_ascii_case("nan") => Ok(v.clone()),
                _ => Err(bad("a number")),
            },
            "json" | "jsonb" => Ok(v.clone()),
            // Other Postgres scalars (uuid, date, timestamptz, …) arrive as strings (or
            // numbers/booleans, which Postgres parses from their text) and are checked by
            // Postgres itself when cast.
            _ => match v {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(v.clone()),
                Value::Array(_) | Value::Object(_) => Err(bad("a scalar")),
                Value::Null => Ok(Value::Null),
            },
        }
    }

    /// Coerce a JSON variable value against the variable's declared type.
    pub fn variable(&self, v: &Value, ty: &TypeRef, path: &str) -> Result<Value, GqlError> {
        crate::interrupt::tick()?;
        crate::stack::check(path)?;
        match ty {
            TypeRef::NonNull(inner) => {
                if v.is_null() {
                    return Err(GqlError::validation(path, format!("unexpected null value for type '{}'", inner.base_name())));
                }
                self.variable(v, inner, path)
            }
            TypeRef::List(inner) => match v {
                Value::Null => Ok(Value::Null),
                Value::Array(items) => Ok(Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.variable(item, inner, &format!("{path}[{i}]")))
                        .collect::<Result<_, _>>()?,
                )),
                single => Ok(Value::Array(vec![self.variable(single, inner, path)?])),
            },
            TypeRef::Named(name) => {
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let def = self
                    .schema
                    .get(name)
                    .ok_or_else(|| GqlError::validation(path, format!("unknown type '{name}'")))?;
                match &def.kind {
                    TypeKind::Scalar => self.scalar_json(v, name, path),
                    TypeKind::Enum { values } => match v {
                        Value::String(s) if values.contains_key(s) => Ok(v.clone()),
                        _ => Err(GqlError::validation(path, format!("unexpected value {v} for enum: '{name}'"))),
                    },
                    TypeKind::InputObject { fields } => {
                        let Value::Object(obj) = v else {
                            return Err(GqlError::validation(path, format!("expected an object for type '{name}', but found {}", describe_json(v))));
                        };
                        let mut out = Map::new();
                        for (k, fv) in obj {
                            let fpath = format!("{path}.{k}");
                            let Some(fdef) = fields.get(k) else {
                                return Err(GqlError::validation(fpath, format!("field '{k}' not found in type: '{name}'")));
                            };
                            out.insert(k.clone(), self.variable(fv, &fdef.ty, &fpath)?);
                        }
                        self.check_required(fields, &out, name, path)?;
                        Ok(Value::Object(out))
                    }
                    TypeKind::Object { .. } => Err(GqlError::validation(path, format!("type '{name}' is not an input type"))),
                }
            }
        }
    }
}

fn const_to_json(c: ConstValue) -> Value {
    c.into_json().unwrap_or(Value::Null)
}
