//! Syslog over TLS (RFC 5425) with rustls and the `ring` provider: building the client
//! configuration from the user's files, the handshake, and a connection that can write, tell
//! whether the collector has gone, and close with `close_notify`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, CipherSuite, ClientConfig, ClientConnection, DigitallySignedStruct,
    RootCertStore,
};

use super::config::TlsConfig;
use super::socket::{read_some, NoSigPipe};
use crate::ConfigError;

/// Builds the rustls client configuration. Reads the CA file, the client certificate and key
/// now, so a missing or malformed file is a configuration error at start, not a delivery error
/// later. Pushes a warning when verification is disabled.
pub(super) fn client_config(
    tls: &TlsConfig,
    warnings: &mut Vec<String>,
) -> Result<Arc<ClientConfig>, ConfigError> {
    let mut provider = crypto::ring::default_provider();
    // AES-128-GCM first: RFC 9662's mandatory suite for TLS 1.2, as strong as needed here, and
    // about a third cheaper per byte than AES-256 (the server still has the last word).
    provider.cipher_suites.sort_by_key(|suite| {
        !matches!(
            suite.suite(),
            CipherSuite::TLS13_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        )
    });
    let provider = Arc::new(provider);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            ConfigError::invalid("tls", format!("cannot set up TLS: {e}")).with_source(e)
        })?;
    let builder = if tls.dangerous_disable_verification {
        warnings.push(
            "syslog over TLS with tls.dangerous_disable_verification = true: the collector's \
             certificate is NOT verified, so anyone on the network path can read and change \
             security events"
                .to_string(),
        );
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
    } else {
        builder.with_root_certificates(root_store(tls)?)
    };
    let config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert_path), Some(key_path)) => {
            let certs = CertificateDer::pem_file_iter(cert_path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| pem_error("tls.client_cert", cert_path, e))?;
            if certs.is_empty() {
                return Err(ConfigError::invalid(
                    "tls.client_cert",
                    format!(
                        "{}: no CERTIFICATE block in this PEM file",
                        cert_path.display()
                    ),
                ));
            }
            // The error text of a failed key load never contains the key itself.
            let key = PrivateKeyDer::from_pem_file(key_path)
                .map_err(|e| pem_error("tls.client_key", key_path, e))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                ConfigError::invalid(
                    "tls.client_key",
                    format!("does not fit tls.client_cert or is not usable: {e}"),
                )
                .with_source(e)
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn pem_error(key: &str, path: &std::path::Path, e: rustls::pki_types::pem::Error) -> ConfigError {
    let reason = match &e {
        rustls::pki_types::pem::Error::Io(io) => format!("cannot read {}: {io}", path.display()),
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("{}: no matching PEM block in this file", path.display())
        }
        other => format!("{}: not a valid PEM file: {other:?}", path.display()),
    };
    ConfigError::invalid(key, reason).with_source(e)
}

fn root_store(tls: &TlsConfig) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    match &tls.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| pem_error("tls.ca_file", path, e))?;
            if certs.is_empty() {
                return Err(ConfigError::invalid(
                    "tls.ca_file",
                    format!("{}: no CERTIFICATE block in this PEM file", path.display()),
                ));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    ConfigError::invalid(
                        "tls.ca_file",
                        format!(
                            "{}: a certificate cannot be used as a CA: {e}",
                            path.display()
                        ),
                    )
                    .with_source(e)
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            if roots.is_empty() {
                let why = native.errors.first().map_or_else(
                    || "the system trust store is empty".to_string(),
                    |e| e.to_string(),
                );
                return Err(ConfigError::invalid(
                    "tls.ca_file",
                    format!("not set, and no system root certificate could be loaded ({why})"),
                ));
            }
        }
    }
    Ok(roots)
}

/// Checks that a host or `server_name` can be verified against a certificate (a DNS name or
/// an IP address).
pub(super) fn server_name(key: &str, name: &str) -> Result<ServerName<'static>, ConfigError> {
    ServerName::try_from(name.to_string()).map_err(|e| {
        ConfigError::invalid(
            key,
            format!("{name:?} is not a DNS name or IP address: {e}"),
        )
        .with_source(e)
    })
}

/// A TLS connection to a collector on a blocking socket.
pub(super) struct TlsLink {
    conn: ClientConnection,
    sock: TcpStream,
}

impl TlsLink {
    /// Runs the handshake within `timeout`; the error says in plain words what was refused.
    pub(super) fn handshake(
        config: &Arc<ClientConfig>,
        name: &ServerName<'static>,
        sock: TcpStream,
        timeout: Duration,
    ) -> Result<TlsLink, String> {
        let mut conn = ClientConnection::new(Arc::clone(config), name.clone())
            .map_err(|e| format!("cannot start TLS: {e}"))?;
        let io = |e: io::Error| e.to_string();
        sock.set_read_timeout(Some(timeout)).map_err(io)?;
        sock.set_write_timeout(Some(timeout)).map_err(io)?;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut NoSigPipe(&sock)) {
                return Err(describe_handshake_error(&e, name));
            }
        }
        sock.set_read_timeout(None).map_err(io)?;
        Ok(TlsLink { conn, sock })
    }

    pub(super) fn socket(&self) -> &TcpStream {
        &self.sock
    }

    /// Encrypts and writes all of `bytes`; rustls cuts them into records of up to 16 KiB.
    pub(super) fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = self.conn.writer().write(bytes)?;
            if n == 0 && !self.conn.wants_write() {
                return Err(io::ErrorKind::WriteZero.into());
            }
            bytes = &bytes[n..];
            self.flush_tls()?;
        }
        Ok(())
    }

    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut NoSigPipe(&self.sock))? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Reads what the collector sent, decrypted, into `buf`, waiting until `until` at the
    /// latest, or not at all when `None` (TLS 1.3 session tickets and other records without
    /// data are handled on the way). `Ok(None)`: nothing arrived in time; `Ok(Some(0))`: the
    /// collector ended the stream (`close_notify` or end of stream). A TLS alert is an error.
    pub(super) fn read(
        &mut self,
        buf: &mut [u8],
        until: Option<Instant>,
    ) -> io::Result<Option<usize>> {
        let mut raw = [0u8; 4096];
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // End of stream without `close_notify`: as good as a close here, the
                // connection cannot carry more.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Some(0)),
                Err(e) => return Err(e),
            }
            let n = match read_some(&self.sock, &mut raw, until)? {
                None => return Ok(None),
                Some(0) => return Ok(Some(0)),
                Some(n) => n,
            };
            let mut data = &raw[..n];
            while !data.is_empty() {
                if self.conn.read_tls(&mut data)? == 0 {
                    return Err(io::Error::other(
                        "the collector sent more than the TLS buffers hold",
                    ));
                }
                self.conn.process_new_packets().map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("TLS error from the collector: {e}"),
                    )
                })?;
            }
            // Session tickets and key updates may call for an answer.
            self.flush_tls()?;
        }
    }

    /// Sends `close_notify` so the collector knows nothing was cut off, then ends the stream
    /// in this direction.
    pub(super) fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_tls();
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
    }
}

fn describe_handshake_error(e: &io::Error, name: &ServerName<'_>) -> String {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return format!("TLS handshake failed: {e}");
    };
    let name = name.to_str();
    match tls {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "TLS handshake refused: the collector's certificate is not signed by a trusted CA \
             (check tls.ca_file): {tls}"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "TLS handshake refused: the collector's certificate is not valid for the name \
             {name:?} (check host or tls.server_name): {tls}"
        ),
        rustls::Error::InvalidCertificate(_) => {
            format!("TLS handshake refused: the collector's certificate is not acceptable: {tls}")
        }
        rustls::Error::AlertReceived(_) => format!(
            "TLS handshake refused by the collector: {tls} (if it requires a client \
             certificate, check tls.client_cert)"
        ),
        other => format!("TLS handshake failed: {other}"),
    }
}

/// The verifier behind `dangerous_disable_verification`: any certificate for any name is
/// accepted. The handshake signature is still checked, which proves only that the peer holds
/// the key of the certificate it sent, not who it is.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
