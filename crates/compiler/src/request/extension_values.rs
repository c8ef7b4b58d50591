//! Input values of extension types, checked as Hasura checks them (`parsePGValue`,
//! `Hasura.SQL.GeoJSON`) before they become parameters: PostGIS `geometry`/`geography` take
//! GeoJSON objects, `raster` hex WKB text, ltree's `ltree` a label path, `lquery`/`ltxtquery`
//! text. A refused value is `parse-failed` with aeson's message, as Hasura answers it.
//!
//! A GeoJSON object is re-encoded as Hasura re-encodes it: `type`, `coordinates` (or
//! `geometries`) and `crs` only, positions cut to three numbers, and no `crs` on a
//! `GeometryCollection`. That text is what `ST_GeomFromGeoJSON` reads (see `sql::params`).

use serde_json::{Map, Value};

use crate::error::GqlError;
use crate::metadata::args::mismatch_message as mismatch;

/// Check (and for GeoJSON, normalise) `v`, a value of the GraphQL scalar `scalar`; `None` when
/// the scalar is not an extension type checked here.
pub fn check(scalar: &str, v: &Value, path: &str) -> Option<Result<Value, GqlError>> {
    let fail = |msg: String| GqlError::new("parse-failed", path, msg);
    let out = match scalar {
        // A string is passed through as it is (Hasura's `PGValUnknown`): PostGIS reads it.
        "geometry" | "geography" => match v {
            Value::String(_) => Ok(v.clone()),
            _ => geometry_with_crs(v).map_err(fail),
        },
        "raster" => raster(v).map(|()| v.clone()).map_err(|m| fail(m.into())),
        "ltree" => ltree(v).map(|()| v.clone()).map_err(|m| fail(m.into())),
        "lquery" | "ltxtquery" => match v {
            Value::String(_) => Ok(v.clone()),
            other => Err(fail(mismatch("Text", "String", other))),
        },
        _ => return None,
    };
    Some(out)
}


const LTREE_MESSAGE: &str = "Expecting label path: a sequence of zero or more labels separated by dots, for example L1.L2.L3";

/// A label path: a string without empty labels (so not `""`, `"a."` or `"a..b"`).
fn ltree(v: &Value) -> Result<(), &'static str> {
    match v {
        Value::String(s) if !s.split('.').any(str::is_empty) => Ok(()),
        _ => Err(LTREE_MESSAGE),
    }
}

/// Hex-encoded well-known binary.
fn raster(v: &Value) -> Result<(), &'static str> {
    let Value::String(s) = v else { return Err("expecting String for raster") };
    if s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err("invalid hexadecimal representation of raster well known binary format")
    }
}

/// A GeoJSON geometry object with an optional `crs`, re-encoded.
fn geometry_with_crs(v: &Value) -> Result<Value, String> {
    crate::stack::check("").map_err(|e| e.message)?;
    let Value::Object(o) = v else { return Err(mismatch("Geometry", "Object", v)) };
    let ty = match field(o, "type")? {
        Value::String(t) => t.as_str(),
        other => return Err(mismatch("Text", "String", other)),
    };
    let mut out = Map::new();
    out.insert("type".into(), Value::String(ty.to_string()));
    if ty == "GeometryCollection" {
        let geometries = list(field(o, "geometries")?, geometry_with_crs)?;
        out.insert("geometries".into(), Value::Array(geometries));
        return Ok(Value::Object(out));
    }
    let coords = field(o, "coordinates")?;
    let coordinates = match ty {
        "Point" => position(coords)?,
        "MultiPoint" => Value::Array(list(coords, position)?),
        "LineString" => line_string(coords)?,
        "MultiLineString" => Value::Array(list(coords, line_string)?),
        "Polygon" => polygon(coords)?,
        "MultiPolygon" => Value::Array(list(coords, polygon)?),
        other => return Err(format!("unexpected geometry type: {other}")),
    };
    out.insert("coordinates".into(), coordinates);
    if let Some(crs) = o.get("crs").filter(|c| !c.is_null()) {
        out.insert("crs".into(), crs_value(crs)?);
    }
    Ok(Value::Object(out))
}

/// aeson's `.:`: a key that must be present.
fn field<'v>(o: &'v Map<String, Value>, key: &str) -> Result<&'v Value, String> {
    o.get(key).ok_or_else(|| format!("key \"{key}\" not found"))
}

fn list(v: &Value, item: fn(&Value) -> Result<Value, String>) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(items) => items.iter().map(item).collect(),
        other => Err(mismatch("[]", "Array", other)),
    }
}

/// Two or three numbers (more are dropped, as Hasura drops them).
fn position(v: &Value) -> Result<Value, String> {
    let Value::Array(items) = v else { return Err(mismatch("Position", "Array", v)) };
    if let Some(bad) = items.iter().find(|i| !i.is_number()) {
        return Err(mismatch("Double", "Number", bad));
    }
    if items.len() < 2 {
        return Err("A Position needs at least 2 elements".into());
    }
    Ok(Value::Array(items.iter().take(3).cloned().collect()))
}

fn positions(v: &Value, what: &str) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(items) => items.iter().map(position).collect(),
        other => Err(mismatch(what, "Array", other)),
    }
}

fn line_string(v: &Value) -> Result<Value, String> {
    let ps = positions(v, "LineString")?;
    if ps.len() < 2 {
        return Err("A LineString needs at least 2 Positions".into());
    }
    Ok(Value::Array(ps))
}

fn linear_ring(v: &Value) -> Result<Value, String> {
    let ps = positions(v, "LinearRing")?;
    if ps.len() < 4 {
        return Err("A LinearRing needs at least 4 Positions".into());
    }
    if ps.first() != ps.last() {
        return Err("the first and last locations have to be equal for a LinearRing".into());
    }
    Ok(Value::Array(ps))
}

fn polygon(v: &Value) -> Result<Value, String> {
    Ok(Value::Array(list(v, linear_ring)?))
}

/// A named (`{"type": "name", "properties": {"name": …}}`) or linked CRS.
fn crs_value(v: &Value) -> Result<Value, String> {
    let Value::Object(o) = v else { return Err(mismatch("CRS", "Object", v)) };
    let tag = match field(o, "type")? {
        Value::String(t) => t.as_str(),
        other => return Err(mismatch("Text", "String", other)),
    };
    let props = match field(o, "properties")? {
        Value::Object(p) => p,
        other => return Err(mismatch(if tag == "link" { "CRSLinkProps" } else { "CRSNameProps" }, "Object", other)),
    };
    let text = |key: &str, required: bool| -> Result<Option<Value>, String> {
        match props.get(key) {
            None | Some(Value::Null) if !required => Ok(None),
            None => Err(format!("key \"{key}\" not found")),
            Some(s @ Value::String(_)) => Ok(Some(s.clone())),
            Some(other) => Err(mismatch("Text", "String", other)),
        }
    };
    let mut p = Map::new();
    match tag {
        "name" => {
            p.insert("name".into(), text("name", true)?.unwrap_or(Value::Null));
        }
        "link" => {
            p.insert("href".into(), text("href", true)?.unwrap_or(Value::Null));
            if let Some(t) = text("type", false)? {
                p.insert("type".into(), t);
            }
        }
        other => {
            return Err(format!(
                "parsing Hasura.SQL.GeoJSON.CRS failed, expected tag field to be one of [\"name\", \"link\"], but found tag \"{other}\""
            ))
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), Value::String(tag.to_string()));
    out.insert("properties".into(), Value::Object(p));
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(scalar: &str, v: Value) -> String {
        check(scalar, &v, "$.x").unwrap().unwrap_err().message
    }

    #[test]
    fn geojson_is_reencoded_like_hasura() {
        let v = json!({"coordinates": [1, 2, 3, 4], "bbox": [0, 0, 1, 1], "type": "Point",
                       "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}});
        let out = check("geometry", &v, "$").unwrap().unwrap();
        assert_eq!(
            out.to_string(),
            r#"{"type":"Point","coordinates":[1,2,3],"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4326"}}}"#
        );
        let gc = json!({"type": "GeometryCollection", "crs": {"type": "name", "properties": {"name": "EPSG:4326"}},
                        "geometries": [{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}]});
        assert_eq!(
            check("geography", &gc, "$").unwrap().unwrap().to_string(),
            r#"{"type":"GeometryCollection","geometries":[{"type":"LineString","coordinates":[[0,0],[1,1]]}]}"#
        );
        // Text is PostGIS's to read.
        assert_eq!(check("geometry", &json!("POINT(1 2)"), "$").unwrap().unwrap(), json!("POINT(1 2)"));
    }

    #[test]
    fn bad_geojson_gets_aesons_messages() {
        assert_eq!(msg("geometry", json!(5)), "parsing Geometry failed, expected Object, but encountered Number");
        assert_eq!(msg("geometry", json!({"coordinates": [1, 2]})), "key \"type\" not found");
        assert_eq!(msg("geometry", json!({"type": "Circle", "coordinates": [1, 2]})), "unexpected geometry type: Circle");
        assert_eq!(msg("geometry", json!({"type": "Point", "coordinates": [1]})), "A Position needs at least 2 elements");
        assert_eq!(msg("geometry", json!({"type": "LineString", "coordinates": [[1, 2]]})), "A LineString needs at least 2 Positions");
        let open = json!({"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0]]]});
        assert_eq!(msg("geometry", open), "the first and last locations have to be equal for a LinearRing");
        let e = check("geography", &json!(true), "$.selectionSet.t.args.where.g._st_intersects").unwrap().unwrap_err();
        assert_eq!((e.code, e.path.as_str()), ("parse-failed", "$.selectionSet.t.args.where.g._st_intersects"));
    }

    #[test]
    fn ltree_raster_and_queries() {
        let label = "Expecting label path: a sequence of zero or more labels separated by dots, for example L1.L2.L3";
        assert_eq!(msg("ltree", json!("Tree.Collections.")), label);
        assert_eq!(msg("ltree", json!("")), label);
        assert_eq!(msg("ltree", json!(3)), label);
        assert!(check("ltree", &json!("Tree.Science"), "$").unwrap().is_ok());
        assert_eq!(msg("raster", json!(1)), "expecting String for raster");
        assert_eq!(msg("raster", json!("0g")), "invalid hexadecimal representation of raster well known binary format");
        assert!(check("raster", &json!("01ab"), "$").unwrap().is_ok());
        assert_eq!(msg("lquery", json!(1)), "parsing Text failed, expected String, but encountered Number");
        assert!(check("ltxtquery", &json!("Astro*"), "$").unwrap().is_ok());
        assert!(check("uuid", &json!("x"), "$").is_none());
    }
}
