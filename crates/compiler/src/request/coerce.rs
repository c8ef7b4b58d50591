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
use crate::schema::model::{InputValue, ScalarParse, Schema, TypeKind, TypeRef};

pub struct Coercer<'a> {
    pub schema: &'a Schema,
    /// Coerced variable values; a variable missing here was not provided and has no default.
    pub variables: &'a IndexMap<String, Value>,
    /// Where the variables' values come from.
    pub sources: &'a VarSources,
    /// Declared variable types, for location compatibility checks.
    pub variable_types: &'a IndexMap<String, TypeRef>,
    /// Variables declared with a default other than `null`: they may stand at a non-null
    /// location even when their type is nullable.
    pub non_null_defaults: &'a std::collections::HashSet<String>,
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

/// What a value's location (an argument or an input field) says about parsing it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Loc {
    pub has_default: bool,
    pub parse: ScalarParse,
}

impl Loc {
    pub fn of(iv: &InputValue) -> Loc {
        Loc { has_default: iv.default_value.is_some(), parse: iv.parse }
    }
}

/// Hasura's `describeValue` of a literal (variables are described by their JSON).
fn describe_literal(v: &GqlValue) -> &'static str {
    match v {
        GqlValue::Null => "null",
        GqlValue::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        GqlValue::Number(_) => "a float",
        GqlValue::String(_) => "a string",
        GqlValue::Boolean(_) => "a boolean",
        GqlValue::Enum(_) => "an enum value",
        GqlValue::List(_) => "a list",
        GqlValue::Object(_) | GqlValue::Binary(_) => "an object",
        GqlValue::Variable(_) => "a variable",
    }
}

/// A value for a location with its own parser ([`ScalarParse`]), as JSON; `what` describes
/// the value as given (literal or JSON) for the message. Hasura's `nonNegativeInt` and
/// `bigInt`, whose type name stays `Int`.
fn parse_special(v: &Value, parse: ScalarParse, scalar: &str, what: &str, path: &str) -> Result<Value, GqlError> {
    let mismatch = |expected: &str| {
        GqlError::validation(path, format!("expected {expected} for type '{scalar}', but found {what}"))
    };
    match parse {
        ScalarParse::ByType => Ok(v.clone()),
        ScalarParse::GraphQl => {
            let ok = match scalar {
                "Boolean" => v.is_boolean(),
                "Int" => v.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
                "Float" => v.is_number(),
                "String" => v.is_string(),
                _ => true,
            };
            let expected = match scalar {
                "Boolean" => "a boolean",
                "Int" => "a 32-bit integer",
                "Float" => "a float",
                _ => "a string",
            };
            if ok { Ok(v.clone()) } else { Err(mismatch(expected)) }
        }
        ScalarParse::NonNegativeInt => match v.as_i64() {
            Some(i) if (0..=i64::from(i32::MAX)).contains(&i) => Ok(v.clone()),
            _ => Err(mismatch("a non-negative 32-bit integer")),
        },
        ScalarParse::BigInt => match v {
            Value::Number(n) if n.is_i64() => Ok(v.clone()),
            // Decimal digits only, as Haskell's `decimal` reads them: no sign, no spaces.
            Value::String(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => match t.parse::<i64>() {
                Ok(i) => Ok(Value::from(i)),
                Err(_) => Err(mismatch("a 32-bit integer, or a 64-bit integer represented as a string")),
            },
            _ => Err(mismatch("a 32-bit integer, or a 64-bit integer represented as a string")),
        },
    }
}

/// Whether a variable declared as `var` may be used where `loc` is expected: GraphQL's "All
/// Variable Usages Are Allowed" (§5.8.5), as Hasura's `isVariableUsageAllowed` applies it. A
/// nullable variable may stand at a non-null location only when the location has a default or
/// the variable has a non-null default (GraphQL conflates nullability and optionality); a value
/// given for it does not make it fit. Below the outermost level, a non-null item or element
/// needs a non-null one.
pub fn var_type_fits(var: &TypeRef, loc: &TypeRef, loc_has_default: bool, var_has_non_null_default: bool) -> bool {
    let allowed = !loc.is_non_null() || var.is_non_null() || loc_has_default || var_has_non_null_default;
    allowed && types_compatible(strip_non_null(var), strip_non_null(loc))
}

fn strip_non_null(t: &TypeRef) -> &TypeRef {
    match t {
        TypeRef::NonNull(inner) => inner,
        other => other,
    }
}

/// Outer nullability already settled: the same shape, and inside lists a non-null location
/// takes only a non-null type.
fn types_compatible(var: &TypeRef, loc: &TypeRef) -> bool {
    match (var, loc) {
        (TypeRef::List(v), TypeRef::List(l)) => {
            (!l.is_non_null() || v.is_non_null()) && types_compatible(strip_non_null(v), strip_non_null(l))
        }
        (TypeRef::Named(v), TypeRef::Named(l)) => v == l,
        _ => false,
    }
}

impl<'a> Coercer<'a> {
    /// Coerce a literal from the query document at a location of type `ty` (an argument or an
    /// input field) described by `loc`.
    pub fn literal_at(&self, v: &GqlValue, ty: &TypeRef, loc: Loc, path: &str) -> Result<Option<Arg>, GqlError> {
        let loc_has_default = loc.has_default;
        crate::interrupt::tick()?;
        crate::stack::check(path)?;
        if let GqlValue::Variable(name) = v {
            let name = name.as_str();
            let Some(var_ty) = self.variable_types.get(name) else {
                return Err(GqlError::validation(path, format!("unbound variable \"{name}\"")));
            };
            let non_null_default = self.non_null_defaults.contains(name);
            if !var_type_fits(var_ty, ty, loc_has_default, non_null_default) {
                // Hasura's `typeCheck` message: names and types in single quotes.
                return Err(GqlError::validation(
                    path,
                    format!("variable '{name}' is declared as '{var_ty}', but used where '{ty}' is expected"),
                ));
            }
            return match self.variables.get(name) {
                Some(Value::Null) if ty.is_non_null() => {
                    Err(GqlError::validation(path, format!("unexpected null value for type '{}'", ty.base_name())))
                }
                // A location with its own parser checks (and may convert) the variable's value;
                // the value keeps the variable as its source.
                Some(val) if loc.parse != ScalarParse::ByType && !val.is_null() && matches!(strip_non_null(ty), TypeRef::Named(_)) => {
                    let val = parse_special(val, loc.parse, ty.base_name(), describe_json(val), path)?;
                    Ok(Some(Arg::new(val, self.sources.get(name))))
                }
                Some(val) => Ok(Some(Arg::new(val.clone(), self.sources.get(name)))),
                // Not given and no default of its own: an omitted value, which the location's
                // default (if any) replaces.
                None if ty.is_non_null() && !loc_has_default => Err(GqlError::validation(
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
                self.literal_at(v, inner, Loc { has_default: false, ..loc }, path)
            }
            TypeRef::List(inner) => {
                let item_loc = Loc { has_default: false, ..loc };
                match v {
                    GqlValue::Null => Ok(Some(Arg::constant(Value::Null))),
                    GqlValue::List(items) => {
                        let mut out = Vec::with_capacity(items.len());
                        for (i, item) in items.iter().enumerate() {
                            match self.literal_at(item, inner, item_loc, &format!("{path}[{i}]"))? {
                                Some(v) => out.push(v),
                                None => out.push(Arg::constant(Value::Null)),
                            }
                        }
                        Ok(Some(Arg::list(out)))
                    }
                    single => Ok(self.literal_at(single, inner, item_loc, path)?.map(|v| Arg::list(vec![v]))),
                }
            }
            TypeRef::Named(name) => {
                if matches!(v, GqlValue::Null) {
                    return Ok(Some(Arg::constant(Value::Null)));
                }
                let def = self
                    .schema
                    .get(name)
                    .ok_or_else(|| GqlError::new("unexpected", path, format!("unknown type '{name}'")))?;
                match &def.kind {
                    TypeKind::Scalar if loc.parse != ScalarParse::ByType => {
                        let Some(c) = v.clone().into_const() else {
                            return Err(GqlError::validation(path, format!("expected a value of type '{name}'")));
                        };
                        let json = parse_special(&const_to_json(c), loc.parse, name, describe_literal(v), path)?;
                        Ok(Some(Arg::constant(json)))
                    }
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
                            if let Some(val) = self.literal_at(fv, &fdef.ty, Loc::of(fdef), &fpath)? {
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
            // An `Int` value is a Postgres integer (a column, a function argument): Hasura
            // parses it with `parsePGValue`, which passes a string on for Postgres to read
            // (`id: {_eq: "1"}`). The arguments that are not values (`limit`, `offset`) have
            // their own parser (`ScalarParse`).
            "Int" => match v {
                Value::String(_) => Ok(v.clone()),
                _ => match v.as_i64() {
                    Some(i) if i32::try_from(i).is_ok() => Ok(v.clone()),
                    _ => Err(bad("a 32-bit integer")),
                },
            },
            // Only `real` columns and arguments are `Float` inputs: a string is Postgres's to
            // read, as for `Int`.
            "Float" => match v {
                Value::Number(_) | Value::String(_) => Ok(v.clone()),
                _ => Err(bad("a float")),
            },
            "String" => match v {
                Value::String(_) => Ok(v.clone()),
                _ => Err(bad("a string")),
            },
            // A `boolean` column or argument: as for `Int`, a string is Postgres's to read.
            // `_is_null`, `distinct` and `if` take GraphQL's own `Boolean` (`ScalarParse`).
            "Boolean" => match v {
                Value::Bool(_) | Value::String(_) => Ok(v.clone()),
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
        self.variable_at(v, ty, ScalarParse::ByType, path)
    }

    /// [`Self::variable`] for a value at a location parsed by `parse` (an input object's field
    /// inside the variable: where it is used is known only there).
    fn variable_at(&self, v: &Value, ty: &TypeRef, parse: ScalarParse, path: &str) -> Result<Value, GqlError> {
        crate::interrupt::tick()?;
        crate::stack::check(path)?;
        match ty {
            TypeRef::NonNull(inner) => {
                if v.is_null() {
                    return Err(GqlError::validation(path, format!("unexpected null value for type '{}'", inner.base_name())));
                }
                self.variable_at(v, inner, parse, path)
            }
            TypeRef::List(inner) => match v {
                Value::Null => Ok(Value::Null),
                Value::Array(items) => Ok(Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.variable_at(item, inner, parse, &format!("{path}[{i}]")))
                        .collect::<Result<_, _>>()?,
                )),
                single => Ok(Value::Array(vec![self.variable_at(single, inner, parse, path)?])),
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
                    TypeKind::Scalar if parse != ScalarParse::ByType => parse_special(v, parse, name, describe_json(v), path),
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
                            out.insert(k.clone(), self.variable_at(fv, &fdef.ty, fdef.parse, &fpath)?);
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
