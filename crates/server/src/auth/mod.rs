//! Authentication as Hasura does it: admin secrets (compared as sha256 digests in constant
//! time), JWT (`jwt`, keys from `jwk`), the auth webhook (`webhook`), the unauthorized role,
//! and — with no secret configured — admin unless `X-Hasura-Role` says otherwise. The result
//! is the session passed to `graphql.resolve`.
//!
//! Who decides the role (Hasura's `getUserInfoWithExpTime` and `mkUserInfo`):
//! * the admin secret: admin, or the `X-Hasura-Role` the request asks for;
//! * a JWT: the `X-Hasura-Role` header or the token's default role, which must be one of its
//!   allowed roles (so admin only for a token that allows admin);
//! * the auth webhook: the role it answers, trusted as Hasura trusts it (a webhook that
//!   answers `admin` makes the request admin); the client's own `X-Hasura-*` headers are only
//!   forwarded to the webhook, never session variables;
//! * the unauthorized role: always that role, whatever the request asks for; it may not be
//!   `admin` (refused at startup).
//!
//! `x-hasura-use-backend-only-permissions` counts only with the admin secret (or with no
//! secret configured): JWT claims, webhook answers and unauthorized requests lose it, since
//! `graphql.resolve` trusts the session it is given.

mod jsonpath;
pub mod jwk;
pub mod jwt;
pub mod webhook;

use axum::http::HeaderMap;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub type Session = Map<String, Value>;

/// A failed authentication: HTTP status, Hasura error code and message.
#[derive(Debug, PartialEq)]
pub struct AuthError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

pub(crate) fn denied(status: u16, code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError { status, code, message: message.into() }
}

pub struct Auth {
    secret_digests: Vec<[u8; 32]>,
    jwt: Option<jwt::JwtAuth>,
    webhook: Option<webhook::Webhook>,
    unauthorized_role: Option<String>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Credentials that are `x-hasura-*` headers but never session variables: Hasura's
/// `mkUserInfo` deletes both (`Session.hs`), so an admin secret cannot reach
/// `graphql.resolve`, `hasura.user`, triggers or event payloads.
const CREDENTIAL_HEADERS: [&str; 2] = ["x-hasura-admin-secret", "x-hasura-access-key"];

/// `x-hasura-*` request headers, lower-cased, as session variables.
fn session_headers(h: &HeaderMap) -> Session {
    h.iter()
        .filter(|(k, _)| k.as_str().starts_with("x-hasura-") && !CREDENTIAL_HEADERS.contains(&k.as_str()))
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), Value::String(v.to_string()))))
        .collect()
}

/// The session variable that opens backend-only permissions.
pub(crate) const BACKEND_ONLY: &str = "x-hasura-use-backend-only-permissions";

/// An admin-secret (or no-secret) session: admin unless a role is asked for (an empty
/// `X-Hasura-Role` asks for none), with `x-hasura-use-backend-only-permissions` read as Hasura
/// reads a boolean and passed on as `true`/`false`.
fn with_role(mut vars: Session, role: &str) -> Result<Session, AuthError> {
    if vars.get("x-hasura-role").and_then(Value::as_str).is_none_or(str::is_empty) {
        vars.insert("x-hasura-role".to_string(), Value::String(role.into()));
    }
    if let Some(v) = vars.get(BACKEND_ONLY).and_then(Value::as_str) {
        let flag = match v.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" => "true",
            "false" | "f" | "no" | "n" => "false",
            _ => {
                return Err(denied(
                    400,
                    "bad-request",
                    format!(
                        "{BACKEND_ONLY}:  Not a valid boolean text. True values are [\"true\",\"t\",\"yes\",\"y\"] \
                         and  False values are [\"false\",\"f\",\"no\",\"n\"]. All values are case insensitive"
                    ),
                ))
            }
        };
        vars.insert(BACKEND_ONLY.to_string(), Value::String(flag.into()));
    }
    Ok(vars)
}

/// A session no admin secret vouches for (JWT, webhook, unauthorized role): never
/// backend-only.
fn without_backend_only(mut s: Session) -> Session {
    s.remove(BACKEND_ONLY);
    s
}

impl Auth {
    pub fn new(
        admin_secrets: &[String],
        jwt: Option<jwt::JwtAuth>,
        webhook: Option<webhook::Webhook>,
        unauthorized_role: Option<String>,
    ) -> Result<Auth, String> {
        // Hasura's startup checks, with its messages.
        const NEEDS_SECRET: &str = " requires --admin-secret (HASURA_GRAPHQL_ADMIN_SECRET) to be set";
        if jwt.is_some() && webhook.is_some() {
            return Err("Fatal Error: Both webhook and JWT mode cannot be enabled at the same time".into());
        }
        if admin_secrets.is_empty() && webhook.is_some() {
            return Err(format!("Fatal Error: --auth-hook (HASURA_GRAPHQL_AUTH_HOOK){NEEDS_SECRET}"));
        }
        if admin_secrets.is_empty() && jwt.is_some() {
            return Err(format!("Fatal Error: --jwt-secret (HASURA_GRAPHQL_JWT_SECRET){NEEDS_SECRET}"));
        }
        if webhook.is_some() && unauthorized_role.is_some() {
            return Err("Fatal Error: --unauthorized-role (HASURA_GRAPHQL_UNAUTHORIZED_ROLE) is not allowed when --auth-hook (HASURA_GRAPHQL_AUTH_HOOK) is set".into());
        }
        // Graft's own check (Hasura accepts it): an unauthorized role of admin would make every
        // request without credentials admin.
        if unauthorized_role.as_deref() == Some("admin") {
            return Err("Fatal Error: --unauthorized-role (HASURA_GRAPHQL_UNAUTHORIZED_ROLE) cannot be admin: requests without credentials would bypass every permission".into());
        }
        Ok(Auth { secret_digests: admin_secrets.iter().map(|s| digest(s)).collect(), jwt, webhook, unauthorized_role })
    }

    pub fn jwt(&self) -> Option<&jwt::JwtAuth> {
        self.jwt.as_ref()
    }

    pub fn webhook_set(&self) -> bool {
        self.webhook.is_some()
    }

    pub fn admin_secret_set(&self) -> bool {
        !self.secret_digests.is_empty()
    }

    /// Whether `given` is one of the admin secrets (every digest is compared).
    pub fn secret_matches(&self, given: &str) -> bool {
        let d = digest(given);
        self.secret_digests.iter().fold(false, |acc, s| acc | bool::from(d.ct_eq(s)))
    }

    /// The session of a request, or why it is refused.
    pub async fn session(&self, h: &HeaderMap, request: Option<&Value>) -> Result<Session, AuthError> {
        self.authenticate(h, request).await.map(|g| g.session)
    }

    /// The session and the cookies the auth webhook sets. `request` is the GraphQL request
    /// body (sent to a POST auth webhook).
    pub async fn authenticate(&self, h: &HeaderMap, request: Option<&Value>) -> Result<webhook::Granted, AuthError> {
        let granted = |session| webhook::Granted { session, set_cookies: Vec::new(), expires: None };
        let vars = session_headers(h);
        // No secret configured: everyone is admin unless a role is asked for.
        if self.secret_digests.is_empty() {
            return Ok(granted(with_role(vars, "admin")?));
        }
        let given = header(h, "x-hasura-admin-secret").or_else(|| header(h, "x-hasura-access-key"));
        if let Some(g) = given {
            if self.secret_matches(g) {
                return Ok(granted(with_role(vars, "admin")?));
            }
            return Err(denied(401, "access-denied", "invalid x-hasura-admin-secret/x-hasura-access-key"));
        }
        if let Some(hook) = &self.webhook {
            let g = hook.session(h, request).await?;
            return Ok(webhook::Granted { session: without_backend_only(g.session), ..g });
        }
        if let Some(jwt) = &self.jwt {
            if let Some((s, expires)) = jwt.session_until(h, header(h, "x-hasura-role")).await? {
                return Ok(webhook::Granted { expires, ..granted(without_backend_only(s)) });
            }
            if self.unauthorized_role.is_none() {
                return Err(denied(400, "invalid-headers", "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"));
            }
        }
        match &self.unauthorized_role {
            Some(role) => {
                let mut m = Map::new();
                m.insert("x-hasura-role".into(), Value::String(role.clone()));
                Ok(granted(m))
            }
            None => Err(denied(401, "access-denied", "x-hasura-admin-secret/x-hasura-access-key required, but not found")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[tokio::test]
    async fn no_secret_means_admin_unless_a_role_is_asked_for() {
        let a = Auth::new(&[], None, None, None).unwrap();
        assert_eq!(a.session(&HeaderMap::new(), None).await.unwrap()["x-hasura-role"], "admin");
        let s = a.session(&headers(&[("x-hasura-role", "user"), ("x-hasura-user-id", "3")]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "user");
        assert_eq!(s["x-hasura-user-id"], "3");
    }

    #[test]
    fn startup_checks() {
        let jwt = || jwt::JwtAuth::new(Some(r#"{"type": "HS256", "key": "0123456789abcdef0123456789abcdef"}"#), None, &reqwest::Client::new()).unwrap();
        let hook = || Some(webhook::Webhook::new("http://127.0.0.1:1/".into(), crate::config::HookMode::Get, true, reqwest::Client::new()));
        let e = |r: Result<Auth, String>| r.err().unwrap_or_default();
        assert!(e(Auth::new(&[], jwt(), None, None)).contains("requires --admin-secret"));
        assert!(e(Auth::new(&[], None, hook(), None)).contains("requires --admin-secret"));
        assert!(e(Auth::new(&["s".into()], jwt(), hook(), None)).contains("cannot be enabled at the same time"));
        assert!(e(Auth::new(&["s".into()], None, hook(), Some("anon".into()))).contains("is not allowed"));
        assert!(Auth::new(&["s".into()], jwt(), None, Some("anon".into())).is_ok());
    }

    #[tokio::test]
    async fn credentials_are_not_session_variables() {
        let a = Auth::new(&["s3cret".into()], None, None, None).unwrap();
        for given in [&[("x-hasura-admin-secret", "s3cret")][..], &[("x-hasura-access-key", "s3cret")][..]] {
            let mut pairs = given.to_vec();
            pairs.extend([("x-hasura-access-key", "s3cret"), ("x-hasura-user-id", "9")]);
            let s = a.session(&headers(&pairs), None).await.unwrap();
            assert_eq!(s["x-hasura-role"], "admin");
            assert_eq!(s["x-hasura-user-id"], "9");
            assert!(!s.contains_key("x-hasura-admin-secret") && !s.contains_key("x-hasura-access-key"), "{s:?}");
        }
        // Without a secret configured (everyone is admin) they are dropped too.
        let a = Auth::new(&[], None, None, None).unwrap();
        let s = a.session(&headers(&[("x-hasura-access-key", "k"), ("x-hasura-admin-secret", "k")]), None).await.unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
    }

    #[tokio::test]
    async fn admin_secret() {
        let a = Auth::new(&["other".into(), "s3cret".into()], None, None, None).unwrap();
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "s3cret")]), None).await.unwrap()["x-hasura-role"], "admin");
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "nope")]), None).await.unwrap_err().code, "access-denied");
        assert_eq!(a.session(&HeaderMap::new(), None).await.unwrap_err().status, 401);
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "other")]), None).await.unwrap()["x-hasura-role"], "admin");
        let a = Auth::new(&["s3cret".into()], None, None, Some("anonymous".into())).unwrap();
        assert_eq!(a.session(&HeaderMap::new(), None).await.unwrap()["x-hasura-role"], "anonymous");
    }

    #[tokio::test]
    async fn jwt_claims_and_role_switch() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let cfg = r#"{"type": "HS256", "key": "0123456789abcdef0123456789abcdef"}"#;
        let a = Auth::new(&["admin".into()], jwt::JwtAuth::new(Some(cfg), None, &reqwest::Client::new()).unwrap(), None, None).unwrap();
        let claims = serde_json::json!({"sub": "1", "https://hasura.io/jwt/claims": {
            "x-hasura-allowed-roles": ["user", "editor"], "x-hasura-default-role": "user", "x-hasura-user-id": "42"}});
        let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef")).unwrap();
        let bearer = format!("Bearer {token}");
        let s = a.session(&headers(&[("authorization", &bearer)]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "user");
        assert_eq!(s["x-hasura-user-id"], "42");
        let s = a.session(&headers(&[("authorization", &bearer), ("x-hasura-role", "editor")]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "editor");
        let e = a.session(&headers(&[("authorization", &bearer), ("x-hasura-role", "admin")]), None).await.unwrap_err();
        assert_eq!(e.message, "Your requested role is not in allowed roles");
        let bad = format!("Bearer {}x", token);
        assert_eq!(a.session(&headers(&[("authorization", &bad)]), None).await.unwrap_err().code, "invalid-jwt");
        let expired = encode(
            &Header::default(),
            &serde_json::json!({"exp": 1, "https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}}),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        let e = a.session(&headers(&[("authorization", &format!("Bearer {expired}"))]), None).await.unwrap_err();
        assert_eq!(e.message, "Could not verify JWT: JWTExpired");
        // alg none is refused.
        let none = format!("{}.{}.", b64("{\"alg\":\"none\"}"), b64(&claims.to_string()));
        assert_eq!(a.session(&headers(&[("authorization", &format!("Bearer {none}"))]), None).await.unwrap_err().code, "invalid-jwt");
    }

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn jwt_auth(unauthorized: Option<&str>) -> Auth {
        let cfg = r#"{"type": "HS256", "key": "0123456789abcdef0123456789abcdef"}"#;
        let jwt = jwt::JwtAuth::new(Some(cfg), None, &reqwest::Client::new()).unwrap();
        Auth::new(&["s3cret".into()], jwt, None, unauthorized.map(str::to_string)).unwrap()
    }

    fn bearer(claims: Value) -> String {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let c = serde_json::json!({"https://hasura.io/jwt/claims": claims});
        format!("Bearer {}", encode(&Header::default(), &c, &EncodingKey::from_secret(KEY)).unwrap())
    }

    #[tokio::test]
    async fn jwt_default_role_must_be_an_allowed_role() {
        let a = jwt_auth(None);
        let not_allowed = |e: AuthError| {
            assert_eq!((e.status, e.code, e.message.as_str()), (400, "access-denied", "Your requested role is not in allowed roles"));
        };
        // A token cannot make itself admin by naming admin as its default role …
        for allowed in [serde_json::json!(["user"]), serde_json::json!([])] {
            let t = bearer(serde_json::json!({"x-hasura-allowed-roles": allowed, "x-hasura-default-role": "admin"}));
            not_allowed(a.session(&headers(&[("authorization", &t)]), None).await.unwrap_err());
        }
        // … nor any other role outside its allowed roles.
        let t = bearer(serde_json::json!({"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "editor"}));
        not_allowed(a.session(&headers(&[("authorization", &t)]), None).await.unwrap_err());
        let t = bearer(serde_json::json!({"x-hasura-allowed-roles": [], "x-hasura-default-role": "user"}));
        not_allowed(a.session(&headers(&[("authorization", &t)]), None).await.unwrap_err());
        // The header asks for a role: it must be allowed too; an empty header asks for none.
        let t = bearer(serde_json::json!({"x-hasura-allowed-roles": ["user", "editor"], "x-hasura-default-role": "user"}));
        not_allowed(a.session(&headers(&[("authorization", &t), ("x-hasura-role", "admin")]), None).await.unwrap_err());
        not_allowed(a.session(&headers(&[("authorization", &t), ("x-hasura-role", "other")]), None).await.unwrap_err());
        let s = a.session(&headers(&[("authorization", &t), ("x-hasura-role", "")]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "user");
        // Roles must be strings.
        let t = bearer(serde_json::json!({"x-hasura-allowed-roles": "user", "x-hasura-default-role": "user"}));
        assert_eq!(a.session(&headers(&[("authorization", &t)]), None).await.unwrap_err().code, "jwt-invalid-claims");
        // A token that allows admin is admin (Hasura: the auth server decides).
        let t = bearer(serde_json::json!({"x-hasura-allowed-roles": ["admin"], "x-hasura-default-role": "admin"}));
        assert_eq!(a.session(&headers(&[("authorization", &t)]), None).await.unwrap()["x-hasura-role"], "admin");
    }

    #[tokio::test]
    async fn backend_only_needs_the_admin_secret() {
        let a = jwt_auth(Some("anonymous"));
        // With the secret the header counts, read as Hasura reads a boolean.
        for (given, read) in [("true", "true"), ("YES", "true"), ("t", "true"), ("n", "false"), ("False", "false")] {
            let s = a
                .session(&headers(&[("x-hasura-admin-secret", "s3cret"), ("x-hasura-role", "user"), (BACKEND_ONLY, given)]), None)
                .await
                .unwrap();
            assert_eq!((s["x-hasura-role"].as_str(), s[BACKEND_ONLY].as_str()), (Some("user"), Some(read)));
        }
        let e = a.session(&headers(&[("x-hasura-admin-secret", "s3cret"), (BACKEND_ONLY, "maybe")]), None).await.unwrap_err();
        assert_eq!((e.status, e.code), (400, "bad-request"));
        assert!(e.message.starts_with("x-hasura-use-backend-only-permissions:  Not a valid boolean text."), "{}", e.message);
        // A JWT claim does not count, nor does the client's header in JWT mode.
        let t = bearer(serde_json::json!({"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", BACKEND_ONLY: "true"}));
        let s = a.session(&headers(&[("authorization", &t), (BACKEND_ONLY, "true")]), None).await.unwrap();
        assert!(!s.contains_key(BACKEND_ONLY), "{s:?}");
        // Nor for the unauthorized role.
        let s = a.session(&headers(&[(BACKEND_ONLY, "true")]), None).await.unwrap();
        assert_eq!(Value::Object(s), serde_json::json!({"x-hasura-role": "anonymous"}));
        // Without any secret configured (every request is admin) the header counts, as in Hasura.
        let open = Auth::new(&[], None, None, None).unwrap();
        assert_eq!(open.session(&headers(&[(BACKEND_ONLY, "true")]), None).await.unwrap()[BACKEND_ONLY], "true");
    }

    #[tokio::test]
    async fn unauthorized_role_is_never_admin() {
        let e = Auth::new(&["s".into()], None, None, Some("admin".into())).err().unwrap_or_default();
        assert!(e.contains("cannot be admin"), "{e}");
        let a = Auth::new(&["s3cret".into()], None, None, Some("anonymous".into())).unwrap();
        let s = a.session(&headers(&[("x-hasura-role", "admin")]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "anonymous");
        let a = jwt_auth(Some("anonymous"));
        let s = a.session(&headers(&[("x-hasura-role", "admin")]), None).await.unwrap();
        assert_eq!(s["x-hasura-role"], "anonymous");
        // A wrong secret is refused, not downgraded to the unauthorized role.
        assert_eq!(a.session(&headers(&[("x-hasura-admin-secret", "x")]), None).await.unwrap_err().status, 401);
    }

    /// A webhook answering every request with `body` (HTTP 200), on a port of its own.
    fn mock_hook(body: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        url
    }

    fn hook_auth(body: &'static str) -> Auth {
        let hook = webhook::Webhook::new(mock_hook(body), crate::config::HookMode::Get, false, reqwest::Client::new());
        Auth::new(&["s3cret".into()], None, Some(hook), None).unwrap()
    }

    #[tokio::test]
    async fn webhook_decides_the_role() {
        // The client's headers go to the hook, but the session is the hook's answer: asking for
        // admin or backend-only permissions in headers changes nothing.
        let a = hook_auth(r#"{"X-Hasura-Role": "user", "X-Hasura-User-Id": "7"}"#);
        let s = a
            .session(&headers(&[("x-hasura-role", "admin"), (BACKEND_ONLY, "true"), ("x-hasura-user-id", "1")]), None)
            .await
            .unwrap();
        assert_eq!(Value::Object(s), serde_json::json!({"x-hasura-role": "user", "x-hasura-user-id": "7"}));
        // The hook cannot open backend-only permissions either.
        let a = hook_auth(r#"{"X-Hasura-Role": "user", "X-Hasura-Use-Backend-Only-Permissions": "true"}"#);
        assert!(!a.session(&HeaderMap::new(), None).await.unwrap().contains_key(BACKEND_ONLY));
        // A hook answering admin is trusted, as Hasura trusts it.
        let a = hook_auth(r#"{"X-Hasura-Role": "admin"}"#);
        assert_eq!(a.session(&HeaderMap::new(), None).await.unwrap()["x-hasura-role"], "admin");
    }

    fn b64(s: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &x)| acc | (x as u32) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
