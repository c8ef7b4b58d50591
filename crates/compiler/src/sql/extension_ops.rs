//! SQL of the PostGIS and ltree comparison operators, as Hasura writes them
//! (`Translate/BoolExp.hs`): spatial predicates are function calls (`ST_Contains(col, v)`,
//! `ST_DWithin(col, from, distance[, use_spheroid])`, `ST_Intersects(rast, …)`), ltree's are
//! its operators (`@>`, `<@`, `~`, `?`, `@`). Functions and operators are called in the
//! extension's schema (the column type's), so they are found whatever the search_path.

use super::select::Ctx;
use crate::error::GqlError;
use crate::request::input::{In, Kind};
use crate::schema::model::TypeCategory;
use crate::schema::names::{quote_ident, split_qualified};

const FLOAT4: &str = "\"pg_catalog\".\"float4\"";
const INT4: &str = "\"pg_catalog\".\"int4\"";
const BOOL: &str = "\"pg_catalog\".\"bool\"";

/// The quoted schema of `sql_type` (`"public"`), where the extension's objects live.
pub(super) fn type_schema(sql_type: &str) -> String {
    split_qualified(sql_type).map(|(s, _, _)| s.to_string()).unwrap_or_else(|| quote_ident("public"))
}

/// `"schema"."name"`: another type (or a function) of the extension that owns `sql_type`.
pub(super) fn sibling(sql_type: &str, name: &str) -> String {
    format!("{}.{}", type_schema(sql_type), quote_ident(name))
}

/// A value of type `sql_type` as the response shows it: geometry and geography as GeoJSON
/// objects with up to 15 decimals and the long CRS form (`urn:ogc:def:crs:EPSG::4326`), as
/// Hasura's `toJSONableExp` has `ST_AsGeoJSON(col, 15, 4)`; other types unchanged.
pub(super) fn output(value: String, sql_type: &str, category: TypeCategory) -> String {
    match category {
        TypeCategory::Geometry | TypeCategory::Geography => {
            format!("{}({value}, 15, 4)::json", sibling(sql_type, "st_asgeojson"))
        }
        _ => value,
    }
}

impl<'s> Ctx<'s> {
    /// Operator `op` of an extension type's comparison applied to `expr` of type `sql_type`;
    /// `None` if `op` is not one of the category's extension operators.
    pub(super) fn extension_op(
        &mut self,
        expr: &str,
        sql_type: &str,
        category: TypeCategory,
        op: &str,
        v: In,
    ) -> Result<Option<String>, GqlError> {
        let call = |f: &str, args: &[&str]| format!("{}({})", sibling(sql_type, f), args.join(", "));
        let cond = match (category, op) {
            (TypeCategory::Geometry | TypeCategory::Geography, "_st_d_within" | "_st_3d_d_within") => {
                let get = |k: &str| v.get(k).unwrap_or(In::null());
                // Hasura reads the distance as a GraphQL Float: a float4.
                let distance = self.params.scalar(get("distance"), FLOAT4);
                let from = self.params.scalar(get("from"), sql_type);
                let f = if op == "_st_3d_d_within" { "st_3ddwithin" } else { "st_dwithin" };
                if category == TypeCategory::Geography {
                    let use_spheroid = match v.get("use_spheroid") {
                        None => "true".to_string(),
                        Some(u) if u.is_null() => format!("NULL::{BOOL}"),
                        Some(u) => self.params.scalar(u, BOOL),
                    };
                    call(f, &[expr, &from, &distance, &use_spheroid])
                } else {
                    call(f, &[expr, &from, &distance])
                }
            }
            (TypeCategory::Geometry | TypeCategory::Geography, _) => {
                let Some(f) = spatial_predicate(category, op) else { return Ok(None) };
                let value = self.params.scalar(v, sql_type);
                call(f, &[expr, &value])
            }
            (TypeCategory::Raster, "_st_intersects_rast") => {
                let value = self.params.scalar(v, sql_type);
                call("st_intersects", &[expr, &value])
            }
            (TypeCategory::Raster, "_st_intersects_nband_geom" | "_st_intersects_geom_nband") => {
                let geommin = self.params.scalar(v.get("geommin").unwrap_or(In::null()), &sibling(sql_type, "geometry"));
                let nband = match v.get("nband").filter(|n| !n.is_null()) {
                    Some(n) => self.params.scalar(n, INT4),
                    None => format!("NULL::{INT4}"),
                };
                if op == "_st_intersects_nband_geom" {
                    call("st_intersects", &[expr, &nband, &geommin])
                } else {
                    call("st_intersects", &[expr, &geommin, &nband])
                }
            }
            (TypeCategory::Ltree, _) => {
                let lquery = sibling(sql_type, "lquery");
                let (sym, value) = match op {
                    "_ancestor" => ("@>", self.params.scalar(v, sql_type)),
                    "_ancestor_any" => ("@>", self.list_operand(v, sql_type)),
                    "_descendant" => ("<@", self.params.scalar(v, sql_type)),
                    "_descendant_any" => ("<@", self.list_operand(v, sql_type)),
                    "_matches" => ("~", self.params.scalar(v, &lquery)),
                    "_matches_any" => ("?", self.list_operand(v, &lquery)),
                    "_matches_fulltext" => ("@", self.params.scalar(v, &sibling(sql_type, "ltxtquery"))),
                    _ => return Ok(None),
                };
                format!("({expr} OPERATOR({}.{sym}) {value})", type_schema(sql_type))
            }
            _ => return Ok(None),
        };
        Ok(Some(cond))
    }
}

impl<'s> Ctx<'s> {
    /// A list operand of element type `elem`: a list value, or (in a permission) a session
    /// variable holding a Postgres array literal such as `{a.b,c}`.
    fn list_operand(&mut self, v: In, elem: &str) -> String {
        if v.kind() == Kind::String {
            self.params.needs_guard = true;
            self.params.scalar(v, &format!("{elem}[]"))
        } else {
            self.params.array(v, elem)
        }
    }
}

/// The PostGIS function of a two-argument spatial operator: every one on geometry, only
/// `_st_intersects` on geography.
fn spatial_predicate(category: TypeCategory, op: &str) -> Option<&'static str> {
    let f = match op {
        "_st_intersects" => "st_intersects",
        _ if category == TypeCategory::Geography => return None,
        "_st_contains" => "st_contains",
        "_st_crosses" => "st_crosses",
        "_st_equals" => "st_equals",
        "_st_overlaps" => "st_overlaps",
        "_st_touches" => "st_touches",
        "_st_within" => "st_within",
        "_st_3d_intersects" => "st_3dintersects",
        _ => return None,
    };
    Some(f)
}
