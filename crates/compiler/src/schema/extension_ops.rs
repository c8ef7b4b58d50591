//! Comparison types of extension types, with Hasura's operators and input types
//! (`Backends/Postgres/Instances/Schema.hs`, `comparisonExps`): PostGIS `geometry`,
//! `geography` and `raster`, and ltree's `ltree`. Only columns of these types (which exist
//! only where the extension is installed) lead to these types.

use indexmap::IndexMap;

use super::build::{input, Builder};
use super::model::{InputValue, TypeCategory, TypeKind, TypeRef};

/// One operator: name, argument type, Hasura's description.
type Op = (&'static str, TypeRef, Option<&'static str>);

impl Builder {
    /// `<scalar>_comparison_exp` for a column of extension category `category`, and the input
    /// types its operators take.
    pub(super) fn extension_comparison(&mut self, name: &str, scalar: &str, category: TypeCategory) -> String {
        self.scalar(scalar);
        let value = || TypeRef::named(scalar);
        let mut ops: Vec<Op> = vec![
            ("_eq", value(), None),
            ("_in", TypeRef::list_nn(scalar), None),
            ("_is_null", TypeRef::named("Boolean"), None),
            ("_neq", value(), None),
            ("_nin", TypeRef::list_nn(scalar), None),
        ];
        // Hasura offers ordering comparisons on every type but raster.
        if category != TypeCategory::Raster {
            for op in ["_gt", "_gte", "_lt", "_lte"] {
                ops.push((op, value(), None));
            }
        }
        let geometry = || TypeRef::named("geometry");
        match category {
            TypeCategory::Geometry => {
                ops.extend([
                    ("_cast", TypeRef::named("geometry_cast_exp"), None),
                    ("_st_3d_d_within", TypeRef::named("st_d_within_input"), Some("is the column within a given 3D distance from the given geometry value")),
                    ("_st_3d_intersects", value(), Some("does the column spatially intersect the given geometry value in 3D")),
                    ("_st_contains", value(), Some("does the column contain the given geometry value")),
                    ("_st_crosses", value(), Some("does the column cross the given geometry value")),
                    ("_st_d_within", TypeRef::named("st_d_within_input"), Some("is the column within a given distance from the given geometry value")),
                    ("_st_equals", value(), Some("is the column equal to given geometry value (directionality is ignored)")),
                    ("_st_intersects", value(), Some("does the column spatially intersect the given geometry value")),
                    ("_st_overlaps", value(), Some("does the column 'spatially overlap' (intersect but not completely contain) the given geometry value")),
                    ("_st_touches", value(), Some("does the column have atleast one point in common with the given geometry value")),
                    ("_st_within", value(), Some("is the column contained in the given geometry value")),
                ]);
            }
            TypeCategory::Geography => {
                ops.extend([
                    ("_cast", TypeRef::named("geography_cast_exp"), None),
                    ("_st_d_within", TypeRef::named("st_d_within_geography_input"), Some("is the column within a given distance from the given geography value")),
                    ("_st_intersects", value(), Some("does the column spatially intersect the given geography value")),
                ]);
            }
            TypeCategory::Raster => {
                ops.extend([
                    ("_st_intersects_geom_nband", TypeRef::named("st_intersects_geom_nband_input"), None),
                    ("_st_intersects_nband_geom", TypeRef::named("st_intersects_nband_geom_input"), None),
                    ("_st_intersects_rast", value(), None),
                ]);
            }
            TypeCategory::Ltree => {
                ops.extend([
                    ("_ancestor", value(), Some("is the left argument an ancestor of right (or equal)?")),
                    ("_ancestor_any", TypeRef::list_nn(scalar), Some("does array contain an ancestor of `ltree`?")),
                    ("_descendant", value(), Some("is the left argument a descendant of right (or equal)?")),
                    ("_descendant_any", TypeRef::list_nn(scalar), Some("does array contain a descendant of `ltree`?")),
                    ("_matches", TypeRef::named("lquery"), Some("does `ltree` match `lquery`?")),
                    ("_matches_any", TypeRef::list_nn("String"), Some("does `ltree` match any `lquery` in array?")),
                    ("_matches_fulltext", TypeRef::named("ltxtquery"), Some("does `ltree` match `ltxtquery`?")),
                ]);
            }
            _ => {}
        }
        ops.sort_by(|a, b| a.0.cmp(b.0));
        let fields = ops.into_iter().map(|(n, ty, d)| (n.to_string(), input(n, ty, d.map(str::to_string)))).collect();
        let desc = format!("Boolean expression to compare columns of type \"{scalar}\". All fields are combined with logical 'AND'.");
        self.add(name, Some(desc), TypeKind::InputObject { fields });
        // The types the operators take, once the comparison type exists (the casts between
        // geometry and geography refer to each other).
        match category {
            TypeCategory::Geometry => {
                let target = self.comparison_type("geography", TypeCategory::Geography, false);
                self.input_object("geometry_cast_exp", vec![input("geography", TypeRef::named(target), None)]);
                self.input_object("st_d_within_input", vec![distance(), input("from", geometry().non_null(), None)]);
            }
            TypeCategory::Geography => {
                let target = self.comparison_type("geometry", TypeCategory::Geometry, false);
                self.input_object("geography_cast_exp", vec![input("geometry", TypeRef::named(target), None)]);
                let mut use_spheroid = input("use_spheroid", TypeRef::named("Boolean"), None);
                use_spheroid.default_value = Some("true".into());
                let from = input("from", TypeRef::named("geography").non_null(), None);
                self.input_object("st_d_within_geography_input", vec![distance(), from, use_spheroid]);
            }
            TypeCategory::Raster => {
                self.scalar("geometry");
                let geommin = || input("geommin", geometry().non_null(), None);
                self.input_object("st_intersects_geom_nband_input", vec![geommin(), input("nband", TypeRef::named("Int"), None)]);
                self.input_object("st_intersects_nband_geom_input", vec![geommin(), input("nband", TypeRef::named("Int").non_null(), None)]);
            }
            TypeCategory::Ltree => {
                self.scalar("lquery");
                self.scalar("ltxtquery");
            }
            _ => {}
        }
        name.to_string()
    }

    fn input_object(&mut self, name: &str, fields: Vec<InputValue>) {
        let fields: IndexMap<String, InputValue> = fields.into_iter().map(|f| (f.name.clone(), f)).collect();
        self.add(name, None, TypeKind::InputObject { fields });
    }
}

fn distance() -> InputValue {
    input("distance", TypeRef::named("Float").non_null(), None)
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use crate::dbcatalog::{DbCatalog, DbColumn, DbConstraint, DbTable, RelKind};
    use crate::metadata::model::Metadata;
    use crate::schema::build::build_schema;
    use crate::schema::model::{Schema, TypeKind};

    fn col(name: &str, ty: &str, schema: &str) -> DbColumn {
        serde_json::from_value(json!({"name": name, "type_name": ty, "type_schema": schema, "nullable": ty != "int4"})).unwrap()
    }

    fn table(name: &str, cols: Vec<DbColumn>) -> DbTable {
        DbTable {
            oid: 0,
            schema: "public".into(),
            name: name.into(),
            kind: RelKind::Table,
            comment: None,
            columns: cols,
            primary_key: Some(DbConstraint { name: format!("{name}_pkey"), columns: vec!["id".into()], ..Default::default() }),
            unique_constraints: vec![],
            foreign_keys: vec![],
            is_insertable: true,
            is_updatable: true,
            is_deletable: true,
        }
    }

    /// Hasura's PostGIS and ltree test tables: `geom_table(id, type, geom_col geometry)`,
    /// `geog_table(id, name, geog_col geography)`, `geog_as_geom_table(id, name, geom_col
    /// geometry)`, `rast_table(id, rast raster)`,
    /// `tree(id, path ltree)`; PostGIS in `public`, ltree in `ext`.
    pub(crate) fn fixture() -> (Metadata, DbCatalog) {
        let pc = "pg_catalog";
        let db = DbCatalog {
            tables: vec![
                table("geom_table", vec![col("id", "int4", pc), col("type", "text", pc), col("geom_col", "geometry", "public")]),
                table("geog_table", vec![col("id", "int4", pc), col("name", "text", pc), col("geog_col", "geography", "public")]),
                table("geog_as_geom_table", vec![col("id", "int4", pc), col("name", "text", pc), col("geom_col", "geometry", "public")]),
                table("rast_table", vec![col("id", "int4", pc), col("rast", "raster", "public")]),
                table("tree", vec![col("id", "int4", pc), col("path", "ltree", "ext")]),
            ],
            ..Default::default()
        };
        let tables: Vec<_> = db.tables.iter().map(|t| json!({"table": {"schema": "public", "name": t.name}})).collect();
        let md = serde_json::from_value(json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": tables}]})).unwrap();
        (md, db)
    }

    pub(crate) fn schema() -> Schema {
        let (md, db) = fixture();
        let (s, problems) = build_schema(&md, &db, "admin");
        assert!(problems.is_empty(), "{problems:?}");
        s
    }

    fn fields(s: &Schema, ty: &str) -> Vec<String> {
        match &s.get(ty).unwrap_or_else(|| panic!("missing {ty}")).kind {
            TypeKind::InputObject { fields } => fields.values().map(|f| format!("{}: {}", f.name, f.ty)).collect(),
            other => panic!("{ty} is {other:?}"),
        }
    }

    #[test]
    fn operators_and_input_types_are_hasuras() {
        let s = schema();
        assert_eq!(
            fields(&s, "geometry_comparison_exp"),
            [
                "_cast: geometry_cast_exp", "_eq: geometry", "_gt: geometry", "_gte: geometry", "_in: [geometry!]",
                "_is_null: Boolean", "_lt: geometry", "_lte: geometry", "_neq: geometry", "_nin: [geometry!]",
                "_st_3d_d_within: st_d_within_input", "_st_3d_intersects: geometry", "_st_contains: geometry",
                "_st_crosses: geometry", "_st_d_within: st_d_within_input", "_st_equals: geometry",
                "_st_intersects: geometry", "_st_overlaps: geometry", "_st_touches: geometry", "_st_within: geometry",
            ]
        );
        assert_eq!(
            fields(&s, "geography_comparison_exp"),
            [
                "_cast: geography_cast_exp", "_eq: geography", "_gt: geography", "_gte: geography", "_in: [geography!]",
                "_is_null: Boolean", "_lt: geography", "_lte: geography", "_neq: geography", "_nin: [geography!]",
                "_st_d_within: st_d_within_geography_input", "_st_intersects: geography",
            ]
        );
        assert_eq!(
            fields(&s, "raster_comparison_exp"),
            [
                "_eq: raster", "_in: [raster!]", "_is_null: Boolean", "_neq: raster", "_nin: [raster!]",
                "_st_intersects_geom_nband: st_intersects_geom_nband_input",
                "_st_intersects_nband_geom: st_intersects_nband_geom_input", "_st_intersects_rast: raster",
            ]
        );
        assert_eq!(
            fields(&s, "ltree_comparison_exp"),
            [
                "_ancestor: ltree", "_ancestor_any: [ltree!]", "_descendant: ltree", "_descendant_any: [ltree!]",
                "_eq: ltree", "_gt: ltree", "_gte: ltree", "_in: [ltree!]", "_is_null: Boolean", "_lt: ltree",
                "_lte: ltree", "_matches: lquery", "_matches_any: [String!]", "_matches_fulltext: ltxtquery",
                "_neq: ltree", "_nin: [ltree!]",
            ]
        );
        assert_eq!(fields(&s, "geometry_cast_exp"), ["geography: geography_comparison_exp"]);
        assert_eq!(fields(&s, "geography_cast_exp"), ["geometry: geometry_comparison_exp"]);
        assert_eq!(fields(&s, "st_d_within_input"), ["distance: Float!", "from: geometry!"]);
        assert_eq!(fields(&s, "st_d_within_geography_input"), ["distance: Float!", "from: geography!", "use_spheroid: Boolean"]);
        let TypeKind::InputObject { fields: f } = &s.get("st_d_within_geography_input").unwrap().kind else { panic!() };
        assert_eq!(f["use_spheroid"].default_value.as_deref(), Some("true"));
        assert_eq!(fields(&s, "st_intersects_geom_nband_input"), ["geommin: geometry!", "nband: Int"]);
        assert_eq!(fields(&s, "st_intersects_nband_geom_input"), ["geommin: geometry!", "nband: Int!"]);
        for scalar in ["geometry", "geography", "raster", "ltree", "lquery", "ltxtquery"] {
            assert!(matches!(s.get(scalar).map(|t| &t.kind), Some(TypeKind::Scalar)), "{scalar}");
        }
        assert_eq!(s.object_field("geom_table", "geom_col").unwrap().ty.to_string(), "geometry");
        // Geometry is not ordered for min/max (Hasura's `isComparableType`).
        assert!(s.object_field("geom_table_max_fields", "geom_col").is_none());
        assert!(s.object_field("geom_table_max_fields", "type").is_some());
        assert!(crate::schema::tests::schema_errors(&s).is_empty(), "{:?}", crate::schema::tests::schema_errors(&s));
    }

    #[test]
    fn no_extension_types_without_extension_columns() {
        let (md, db) = crate::schema::build::tests::fixture();
        let s = build_schema(&md, &db, "admin").0;
        for ty in ["geometry", "geometry_comparison_exp", "st_d_within_input", "ltree_comparison_exp", "lquery"] {
            assert!(s.get(ty).is_none(), "{ty}");
        }
    }
}
