//! `JsonText`: a `json` value that is already serialized text.
//!
//! `graphql.resolve` returns the text Postgres produced (`json_build_object` output) as is:
//! going through `pgrx::Json` would parse it into a `serde_json::Value` and print it again, for
//! nothing, on every request — and the response's key order is the query's order, which a
//! `json` text keeps by construction.

use pgrx::callconv::{BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::prelude::*;

pub struct JsonText(pub String);

impl From<serde_json::Value> for JsonText {
    fn from(v: serde_json::Value) -> Self {
        JsonText(v.to_string())
    }
}

impl IntoDatum for JsonText {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        // `json`'s on-disk form is its text: a text varlena is a valid json datum (this is
        // also how pgrx's own `JsonString` converts).
        self.0.into_datum()
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONOID
    }
}

// SAFETY: the datum is a `json` varlena, as declared to SQL below.
unsafe impl BoxRet for JsonText {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        match self.into_datum() {
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}

pgrx::impl_sql_translatable!(JsonText, "json");
