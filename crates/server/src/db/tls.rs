//! TLS to PostgreSQL (rustls, ring), with libpq's `sslmode` and `sslrootcert`:
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | |
//! | `allow`, `prefer` (the default) | when the server offers it | not checked |
//! | `require` | always | not checked; checked like `verify-ca` when `sslrootcert` is given (libpq's rule) |
//! | `verify-ca` | always | signed by a trusted root |
//! | `verify-full` | always | signed by a trusted root, and names the host |
//!
//! Trusted roots: the PEM file `sslrootcert` names, else the system's store (what libpq 16
//! calls `sslrootcert=system`). tokio-postgres knows only disable/prefer/require and no
//! `sslrootcert`, so those parameters are taken out of the URL here and applied by the TLS
//! connector. (`allow` tries TLS first, where libpq tries plain first: either way it connects.)

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(format!("invalid database URL: unknown sslmode {other:?}")),
        })
    }
}

/// The TLS parameters of a database URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsParams {
    pub mode: SslMode,
    pub root_cert: Option<String>,
}

/// `url` without `sslmode` and `sslrootcert`, and those parameters. Both URL forms are read:
/// `postgres://…?sslmode=verify-full&sslrootcert=/ca.pem` and `host=… sslmode=require`.
pub fn split_tls_params(url: &str) -> Result<(String, TlsParams), String> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: String| -> Result<bool, String> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(&value)?),
            "sslrootcert" => root_cert = Some(value),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_string(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(k, percent_decode(v))? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            let (k, v) = word.split_once('=').unwrap_or((word, ""));
            if !take(k, v.trim_matches('\'').to_string())? {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    Ok((rest, TlsParams { mode: mode.unwrap_or(SslMode::Prefer), root_cert }))
}

/// libpq's URI decoding: `%XX` escapes only (a `+` stays a `+`).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// tokio-postgres's part of the mode: whether to use TLS at all.
pub fn pg_ssl_mode(mode: SslMode) -> PgSslMode {
    match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Allow | SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
    }
}

/// The TLS connector for these parameters (startup errors for an unreadable `sslrootcert`).
pub fn connector(p: &TlsParams) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let check = match p.mode {
        SslMode::VerifyFull => Check::Full,
        SslMode::VerifyCa => Check::Ca,
        SslMode::Require if p.root_cert.as_deref().is_some_and(|r| r != "system") => Check::Ca,
        _ => Check::None,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::None => Arc::new(NoCheck(provider.clone())),
        Check::Ca | Check::Full => {
            let roots = Arc::new(roots(p.root_cert.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| format!("TLS to the database: {e}"))?;
            if check == Check::Full {
                webpki
            } else {
                Arc::new(AnyName(webpki))
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS to the database: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    None,
    Ca,
    Full,
}

fn roots(root_cert: Option<&str>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match root_cert {
        Some(path) if path != "system" => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("sslrootcert {path}: no certificate in it"));
            }
        }
        _ => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err("TLS to the database: no system root certificates found (give sslrootcert)".into());
            }
        }
    }
    Ok(store)
}

/// `prefer` / `require`: encrypted, the certificate not checked (libpq's behaviour); the
/// handshake signature is still verified.
#[derive(Debug)]
struct NoCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the certificate may differ.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parameters() {
        let (url, p) = split_tls_params("postgres://u@h:5/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem").unwrap();
        assert_eq!(url, "postgres://u@h:5/db?application_name=x");
        assert_eq!(p, TlsParams { mode: SslMode::VerifyFull, root_cert: Some("/tmp/ca.pem".into()) });
        let (url, p) = split_tls_params("postgresql://u@h/db?sslmode=disable").unwrap();
        assert_eq!((url.as_str(), p.mode), ("postgresql://u@h/db", SslMode::Disable));
        let (url, p) = split_tls_params("postgres://u@h/db").unwrap();
        assert_eq!((url.as_str(), p.mode, p.root_cert), ("postgres://u@h/db", SslMode::Prefer, None));
        let (url, p) = split_tls_params("host=h dbname=db sslmode=verify-ca sslrootcert='/ca.pem'").unwrap();
        assert_eq!(url, "host=h dbname=db");
        assert_eq!(p, TlsParams { mode: SslMode::VerifyCa, root_cert: Some("/ca.pem".into()) });
        assert!(split_tls_params("postgres://u@h/db?sslmode=sometimes").is_err());
        let (_, p) = split_tls_params("postgres://u@h/db?sslrootcert=/certs/a+b%20c.pem").unwrap();
        assert_eq!(p.root_cert.as_deref(), Some("/certs/a+b c.pem"), "as libpq decodes it");
    }

    #[test]
    fn modes() {
        assert_eq!(pg_ssl_mode(SslMode::Disable), PgSslMode::Disable);
        assert_eq!(pg_ssl_mode(SslMode::Allow), PgSslMode::Prefer);
        assert_eq!(pg_ssl_mode(SslMode::VerifyFull), PgSslMode::Require);
        assert!(connector(&TlsParams { mode: SslMode::Require, root_cert: None }).is_ok());
        let missing = connector(&TlsParams { mode: SslMode::VerifyFull, root_cert: Some("/nonexistent/ca.pem".into()) });
        assert!(missing.err().unwrap().starts_with("sslrootcert /nonexistent/ca.pem"));
    }
}
