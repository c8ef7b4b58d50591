//! A `json` result handed to Postgres as the text the compiled SQL produced. pgrx 0.18 maps only
//! `Json(serde_json::Value)` to SQL `json`, which would parse every response in Rust and round
//! numerics through `f64` (losing digits of `numeric` and `bigint`). `json`'s on-disk form is
//! its text, so the text datum is returned as is.

use pgrx::callconv::{BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::{pg_sys, IntoDatum};

pub struct JsonText(pub String);

impl IntoDatum for JsonText {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        self.0.into_datum()
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONOID
    }
}

// SAFETY: the datum is a valid `text` varlena, which is also a valid `json` datum; Postgres
// does not re-check json input coming from a C function, and the compiler only emits JSON.
unsafe impl BoxRet for JsonText {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        match self.into_datum() {
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}

pgrx::impl_sql_translatable!(JsonText, "json");
