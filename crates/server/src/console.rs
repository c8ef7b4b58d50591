//! GraphiQL at `/console` (`HASURA_GRAPHQL_ENABLE_CONSOLE`): the page and its assets are
//! embedded in the binary (vendored by scripts/vendor-graphiql.sh into assets/graphiql/) and
//! served from this fixed map; `/` redirects to `/console`.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $ct:expr) => {
        Asset { name: $name, content_type: $ct, bytes: include_bytes!(concat!("../assets/graphiql/", $name)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
static ASSETS: &[Asset] = &[
    asset!("graphiql.min.js", JS),
    asset!("graphiql.min.css", CSS),
    asset!("react.production.min.js", JS),
    asset!("react-dom.production.min.js", JS),
    asset!("console.js", JS),
    asset!("LICENSE-graphiql", TEXT),
    asset!("LICENSE-react", TEXT),
];

const INDEX: &str = include_str!("../assets/graphiql/index.html");

/// The console page (also for any path under /console, as Hasura's console routes).
pub async fn index() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], INDEX).into_response()
}

pub async fn index_any(Path(_rest): Path<String>) -> Response {
    index().await
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, a.content_type), (header::CACHE_CONTROL, "public, max-age=86400")],
            a.bytes,
        )
            .into_response(),
        None => crate::routes::error(404, "not-found", "resource does not exist"),
    }
}

pub async fn root() -> Redirect {
    Redirect::temporary("/console")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_references_only_embedded_assets() {
        for src in INDEX.split("/console/assets/").skip(1) {
            let name = &src[..src.find('"').unwrap()];
            assert!(ASSETS.iter().any(|a| a.name == name), "{name} is not embedded");
        }
        assert!(ASSETS.iter().all(|a| !a.bytes.is_empty()));
        assert!(ASSETS.iter().filter(|a| a.content_type == JS).count() >= 4);
    }
}
