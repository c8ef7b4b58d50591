//! Answers `__schema` and `__type` from a [`Schema`]: the meta-types live in the schema's own
//! type map (so requests are validated like any other), and values are computed here from the
//! already-validated selection tree, keys in selection order.

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use crate::error::GqlError;
use crate::request::SelField;
use crate::schema::model::{EnumValue, Field, FieldKind, InputValue, ScalarParse, Schema, TypeDef, TypeKind, TypeRef};

/// Directives the server accepts: (name, description, locations, args as (name, type, default)).
const DIRECTIVES: [(&str, &str, &[&str], &[(&str, &str, Option<&str>)]); 3] = [
    (
        "include",
        "whether this query should be included",
        &["FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
        &[("if", "Boolean!", None)],
    ),
    (
        "skip",
        "whether this query should be skipped",
        &["FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
        &[("if", "Boolean!", None)],
    ),
    (
        "cached",
        "whether this query should be cached (Hasura Cloud only)",
        &["QUERY"],
        &[("ttl", "Int!", Some("60")), ("refresh", "Boolean!", Some("false"))],
    ),
];

fn parse_type(s: &str) -> TypeRef {
    if let Some(inner) = s.strip_suffix('!') {
        return parse_type(inner).non_null();
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        return parse_type(inner).list();
    }
    TypeRef::named(s)
}

fn arg(name: &str, ty: &str, default: Option<&str>) -> (String, InputValue) {
    (
        name.to_string(),
        InputValue { name: name.into(), description: None, ty: parse_type(ty), default_value: default.map(str::to_string), parse: ScalarParse::GraphQl },
    )
}

fn obj(name: &str, fields: &[(&str, &str, &[(&str, &str, Option<&str>)])]) -> TypeDef {
    let fields = fields
        .iter()
        .map(|(n, ty, args)| {
            (
                n.to_string(),
                Field {
                    name: n.to_string(),
                    description: None,
                    args: args.iter().map(|(a, t, d)| arg(a, t, *d)).collect(),
                    ty: parse_type(ty),
                    kind: FieldKind::Plain,
                },
            )
        })
        .collect();
    TypeDef { name: name.into(), description: None, kind: TypeKind::Object { fields } }
}

fn enum_type(name: &str, values: &[&str]) -> TypeDef {
    TypeDef {
        name: name.into(),
        description: None,
        kind: TypeKind::Enum {
            values: values.iter().map(|v| (v.to_string(), EnumValue { name: v.to_string(), description: None })).collect(),
        },
    }
}

const DEPRECATED: &[(&str, &str, Option<&str>)] = &[("includeDeprecated", "Boolean", Some("false"))];

/// Add the spec's introspection meta-types (and `String`/`Boolean`, which they use).
pub fn add_introspection_types(types: &mut IndexMap<String, TypeDef>) {
    for s in ["String", "Boolean"] {
        types.entry(s.into()).or_insert(TypeDef { name: s.into(), description: None, kind: TypeKind::Scalar });
    }
    let defs = [
        obj(
            "__Schema",
            &[
                ("description", "String", &[]),
                ("types", "[__Type!]!", &[]),
                ("queryType", "__Type!", &[]),
                ("mutationType", "__Type", &[]),
                ("subscriptionType", "__Type", &[]),
                ("directives", "[__Directive!]!", &[]),
            ],
        ),
        obj(
            "__Type",
            &[
                ("kind", "__TypeKind!", &[]),
                ("name", "String", &[]),
                ("description", "String", &[]),
                ("specifiedByURL", "String", &[]),
                ("fields", "[__Field!]", DEPRECATED),
                ("interfaces", "[__Type!]", &[]),
                ("possibleTypes", "[__Type!]", &[]),
                ("enumValues", "[__EnumValue!]", DEPRECATED),
                ("inputFields", "[__InputValue!]", DEPRECATED),
                ("ofType", "__Type", &[]),
                ("isOneOf", "Boolean", &[]),
            ],
        ),
        obj(
            "__Field",
            &[
                ("name", "String!", &[]),
                ("description", "String", &[]),
                ("args", "[__InputValue!]!", DEPRECATED),
                ("type", "__Type!", &[]),
                ("isDeprecated", "Boolean!", &[]),
                ("deprecationReason", "String", &[]),
            ],
        ),
        obj(
            "__InputValue",
            &[
                ("name", "String!", &[]),
                ("description", "String", &[]),
                ("type", "__Type!", &[]),
                ("defaultValue", "String", &[]),
                ("isDeprecated", "Boolean!", &[]),
                ("deprecationReason", "String", &[]),
            ],
        ),
        obj(
            "__EnumValue",
            &[
                ("name", "String!", &[]),
                ("description", "String", &[]),
                ("isDeprecated", "Boolean!", &[]),
                ("deprecationReason", "String", &[]),
            ],
        ),
        obj(
            "__Directive",
            &[
                ("name", "String!", &[]),
                ("description", "String", &[]),
                ("isRepeatable", "Boolean!", &[]),
                ("locations", "[__DirectiveLocation!]!", &[]),
                ("args", "[__InputValue!]!", DEPRECATED),
            ],
        ),
        enum_type("__TypeKind", &["SCALAR", "OBJECT", "INTERFACE", "UNION", "ENUM", "INPUT_OBJECT", "LIST", "NON_NULL"]),
        enum_type(
            "__DirectiveLocation",
            &[
                "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD", "INLINE_FRAGMENT",
                "VARIABLE_DEFINITION", "SCHEMA", "SCALAR", "OBJECT", "FIELD_DEFINITION", "ARGUMENT_DEFINITION", "INTERFACE",
                "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT", "INPUT_FIELD_DEFINITION",
            ],
        ),
    ];
    for d in defs {
        types.insert(d.name.clone(), d);
    }
}

/// `__schema: __Schema!` and `__type(name: String!): __Type` for the query root.
pub fn root_fields() -> Vec<Field> {
    vec![
        Field {
            name: "__schema".into(),
            description: None,
            args: IndexMap::new(),
            ty: TypeRef::named("__Schema").non_null(),
            kind: FieldKind::IntrospectionSchema,
        },
        Field {
            name: "__type".into(),
            description: None,
            args: [arg("name", "String!", None)].into_iter().collect(),
            ty: TypeRef::named("__Type"),
            kind: FieldKind::IntrospectionType,
        },
    ]
}

/// The value of a root `__schema` or `__type` field.
pub fn resolve(schema: &Schema, field: &SelField) -> Result<Value, GqlError> {
    let r = Resolver { schema, produced: std::cell::Cell::new(0) };
    let out = match field.name.as_str() {
        "__schema" => r.schema_obj(&field.selection),
        "__type" => {
            let name = field.arg("name").and_then(|n| n.as_str()).unwrap_or_default();
            match schema.get(name) {
                Some(_) => r.type_obj(&TypeRef::named(name), &field.selection),
                None => Value::Null,
            }
        }
        other => return Err(GqlError::validation(&field.path, format!("field '{other}' not found in type: 'query_root'"))),
    };
    if r.produced.get() > MAX_VALUES {
        return Err(GqlError::validation(&field.path, "the introspection result would be too large; select less nesting"));
    }
    Ok(out)
}

/// Cap on values an introspection answer may hold: nesting `fields { type { fields … } } }`
/// grows exponentially, and a full graphql-js introspection of a large schema stays far below.
const MAX_VALUES: usize = 2_000_000;

struct Resolver<'s> {
    schema: &'s Schema,
    /// Values produced so far; past `MAX_VALUES` everything else is null and the answer an error.
    produced: std::cell::Cell<usize>,
}

fn include_deprecated(_s: &SelField) -> bool {
    // Nothing in Graft's schemas is deprecated, so the flag changes nothing.
    true
}

impl<'s> Resolver<'s> {
    fn object(&self, typename: &str, sel: &[SelField], mut value: impl FnMut(&SelField) -> Value) -> Value {
        self.produced.set(self.produced.get() + sel.len().max(1));
        if self.produced.get() > MAX_VALUES {
            return Value::Null;
        }
        let mut m = Map::new();
        for s in sel {
            let v = if s.name == "__typename" { Value::String(typename.into()) } else { value(s) };
            m.insert(s.alias.clone(), v);
        }
        Value::Object(m)
    }

    fn schema_obj(&self, sel: &[SelField]) -> Value {
        let sc = self.schema;
        self.object("__Schema", sel, |s| match s.name.as_str() {
            "description" => Value::Null,
            "types" => Value::Array(by_name(&sc.types).into_iter().map(|t| self.type_obj(&TypeRef::named(t.name.clone()), &s.selection)).collect()),
            "queryType" => self.type_obj(&TypeRef::named(sc.query_type.clone()), &s.selection),
            "mutationType" => sc.mutation_type.as_ref().map(|t| self.type_obj(&TypeRef::named(t.clone()), &s.selection)).unwrap_or(Value::Null),
            "subscriptionType" => {
                sc.subscription_type.as_ref().map(|t| self.type_obj(&TypeRef::named(t.clone()), &s.selection)).unwrap_or(Value::Null)
            }
            "directives" => Value::Array(DIRECTIVES.iter().map(|d| self.directive_obj(d, &s.selection)).collect()),
            _ => Value::Null,
        })
    }

    fn directive_obj(&self, d: &(&str, &str, &[&str], &[(&str, &str, Option<&str>)]), sel: &[SelField]) -> Value {
        let (name, desc, locations, args) = *d;
        self.object("__Directive", sel, |s| match s.name.as_str() {
            "name" => json!(name),
            "description" => json!(desc),
            "isRepeatable" => json!(false),
            "locations" => json!(locations),
            "args" => Value::Array(
                args.iter().map(|(a, t, dflt)| self.input_value_obj(&arg(a, t, *dflt).1, &s.selection)).collect(),
            ),
            _ => Value::Null,
        })
    }

    fn type_obj(&self, ty: &TypeRef, sel: &[SelField]) -> Value {
        match ty {
            TypeRef::NonNull(inner) | TypeRef::List(inner) => {
                let kind = if matches!(ty, TypeRef::NonNull(_)) { "NON_NULL" } else { "LIST" };
                self.object("__Type", sel, |s| match s.name.as_str() {
                    "kind" => json!(kind),
                    "ofType" => self.type_obj(inner, &s.selection),
                    _ => Value::Null,
                })
            }
            TypeRef::Named(name) => {
                let Some(def) = self.schema.get(name) else { return Value::Null };
                self.object("__Type", sel, |s| match (s.name.as_str(), &def.kind) {
                    ("kind", k) => json!(k.kind_name()),
                    ("name", _) => json!(def.name),
                    ("description", _) => json!(def.description.clone().or_else(|| builtin_description(&def.name))),
                    ("fields", TypeKind::Object { fields }) => {
                        let _ = include_deprecated(s);
                        // `__schema`/`__type` are implicit on the query root, never listed.
                        Value::Array(
                            by_name(fields)
                                .into_iter()
                                .filter(|f| !f.name.starts_with("__"))
                                .map(|f| self.field_obj(f, &s.selection))
                                .collect(),
                        )
                    }
                    ("interfaces", TypeKind::Object { .. }) => json!([]),
                    ("enumValues", TypeKind::Enum { values }) => Value::Array(
                        by_name(values)
                            .into_iter()
                            .map(|v| {
                                self.object("__EnumValue", &s.selection, |e| match e.name.as_str() {
                                    "name" => json!(v.name),
                                    "description" => json!(v.description),
                                    "isDeprecated" => json!(false),
                                    _ => Value::Null,
                                })
                            })
                            .collect(),
                    ),
                    ("inputFields", TypeKind::InputObject { fields }) => {
                        Value::Array(by_name(fields).into_iter().map(|f| self.input_value_obj(f, &s.selection)).collect())
                    }
                    ("isOneOf", TypeKind::InputObject { .. }) => json!(false),
                    _ => Value::Null,
                })
            }
        }
    }

    fn field_obj(&self, f: &Field, sel: &[SelField]) -> Value {
        self.object("__Field", sel, |s| match s.name.as_str() {
            "name" => json!(f.name),
            "description" => json!(f.description),
            "args" => Value::Array(by_name(&f.args).into_iter().map(|a| self.input_value_obj(a, &s.selection)).collect()),
            "type" => self.type_obj(&f.ty, &s.selection),
            "isDeprecated" => json!(false),
            _ => Value::Null,
        })
    }

    fn input_value_obj(&self, a: &InputValue, sel: &[SelField]) -> Value {
        self.object("__InputValue", sel, |s| match s.name.as_str() {
            "name" => json!(a.name),
            "description" => json!(a.description),
            "type" => self.type_obj(&a.ty, &s.selection),
            "defaultValue" => json!(a.default_value),
            "isDeprecated" => json!(false),
            _ => Value::Null,
        })
    }
}

/// The entries of a type map, field map, argument map or enum value map in name order.
///
/// Hasura's introspection sorts every list it prints by name (`sortOn dName` in
/// `Hasura.GraphQL.Schema.Introspect`): `__schema.types`, an object's `fields`, a field's `args`,
/// `enumValues` and `inputFields`. Names compare as strings of code points, so `Z` sorts before
/// `_` and `_` before `a`. Only directive arguments keep their declared order. The schema keeps
/// declaration order (error messages and SQL follow it); only the introspection answer sorts.
fn by_name<T>(map: &IndexMap<String, T>) -> Vec<&T> {
    let mut entries: Vec<(&String, &T)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries.into_iter().map(|(_, v)| v).collect()
}

fn builtin_description(name: &str) -> Option<String> {
    let d = match name {
        "Int" => "The `Int` scalar type represents non-fractional signed whole numeric values. Int can represent values between -(2^31) and 2^31 - 1.",
        "Float" => "The `Float` scalar type represents signed double-precision fractional values as specified by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point).",
        "String" => "The `String` scalar type represents textual data, represented as UTF-8 character sequences. The String type is most often used by GraphQL to represent free-form human-readable text.",
        "Boolean" => "The `Boolean` scalar type represents `true` or `false`.",
        _ => return None,
    };
    Some(d.to_string())
}

#[cfg(test)]
mod tests {
    use crate::request::{compile, Compiled, Limits, Session};
    use crate::schema::build::{build_schema, tests::fixture};

    #[test]
    fn type_and_schema_queries() {
        let (md, db) = fixture();
        let (schema, _) = build_schema(&md, &db, "admin");
        let q = r#"{ __type(name: "author") { kind name fields { name type { kind name ofType { kind name } } } }
                    __schema { queryType { name } mutationType { name } types { name } } }"#;
        let Compiled::Json(v) = compile(&schema, q, None, None, &Session::admin(), &Limits::default()).unwrap() else {
            panic!("introspection needs no SQL")
        };
        let t = &v["data"]["__type"];
        assert_eq!(t["kind"], "OBJECT");
        // Fields in name order, as Hasura lists them: articles, articles_aggregate, id, …
        let names: Vec<&str> = t["fields"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
        assert_eq!(names, ["articles", "articles_aggregate", "id", "meta", "name", "tags"]);
        assert_eq!(t["fields"][2]["type"]["kind"], "NON_NULL");
        assert_eq!(t["fields"][2]["type"]["ofType"]["name"], "Int");
        assert_eq!(v["data"]["__schema"]["queryType"]["name"], "query_root");
        assert_eq!(v["data"]["__schema"]["mutationType"]["name"], "mutation_root");
        let names: Vec<&str> = v["data"]["__schema"]["types"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        assert!(names.contains(&"__Schema") && names.contains(&"author_bool_exp"));
    }
}

#[cfg(test)]
#[path = "introspection_tests.rs"]
mod hasura_fixtures;

#[cfg(test)]
mod size_tests {
    use crate::request::{compile, Limits, Session};
    use crate::schema::build::{build_schema, tests::fixture};

    fn fragments(levels: usize, body: impl Fn(usize) -> String) -> String {
        (0..levels).map(|i| format!("fragment F{i} on __Type {{ {} }}\n", body(i))).collect()
    }

    #[test]
    fn fragment_bombs_are_refused() {
        let (md, db) = fixture();
        let (schema, _) = build_schema(&md, &db, "admin");
        let defs = fragments(30, |i| if i == 29 { "name".into() } else { format!("...F{} ofType {{ ...F{} }}", i + 1, i + 1) });
        let q = format!("{{ __type(name: \"author\") {{ ...F0 }} }}\n{defs}");
        let e = compile(&schema, &q, None, None, &Session::admin(), &Limits { max_depth: 200, node_limit: 0, ..Limits::default() }).unwrap_err();
        assert!(e.message.contains("expands to more than"), "{}", e.message);
    }
}
