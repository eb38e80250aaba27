//! HTTPS: the REST API over TLS (system OpenSSL), HTTP/1.1 or HTTP/2 as ALPN picks.
//!
//! `TlsListener` accepts TCP connections and runs each handshake on its own task, so a
//! slow or stalled client never holds up the others; finished handshakes go to axum's
//! serve loop, which serves them with the same router as plain HTTP.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::ssl::{AlpnError, Ssl, SslAcceptor, SslMethod, select_next_proto};
use openssl::x509::X509;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_openssl::SslStream;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The protocols offered in ALPN, in order of preference (wire format: length-prefixed).
const ALPN: &[u8] = b"\x02h2\x08http/1.1";

/// A server certificate (with its chain) and private key, ready to accept connections.
#[derive(Clone)]
pub struct Tls {
    acceptor: Arc<SslAcceptor>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Tls(..)")
    }
}

impl Tls {
    /// From PEM: `certificates` holds the server's certificate first, then its chain;
    /// `key` its private key (encrypted with `key_password` when given).
    pub fn from_pem(
        certificates: &[u8],
        key: &[u8],
        key_password: Option<&str>,
    ) -> Result<Tls, String> {
        let mut chain = X509::stack_from_pem(certificates)
            .map_err(|error| format!("cannot read the PEM certificates: {error}"))?
            .into_iter();
        let certificate = chain
            .next()
            .ok_or("no certificate (-----BEGIN CERTIFICATE-----) in the PEM file")?;
        let key = match key_password {
            Some(password) => PKey::private_key_from_pem_passphrase(key, password.as_bytes()),
            None => PKey::private_key_from_pem(key),
        }
        .map_err(|_| {
            "cannot read the PEM private key (is it there, and is ssl.key.password right?)"
                .to_string()
        })?;
        Self::build(&certificate, chain, &key)
    }

    /// From a PKCS#12 key store (`ssl.keystore.type=PKCS12`).
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Tls, String> {
        let parsed = Pkcs12::from_der(der)
            .and_then(|store| store.parse2(password))
            .map_err(|_| {
                "cannot read the PKCS12 key store (is ssl.keystore.password right?)".to_string()
            })?;
        let certificate = parsed
            .cert
            .ok_or("no certificate in the PKCS12 key store")?;
        let key = parsed
            .pkey
            .ok_or("no private key in the PKCS12 key store")?;
        let chain: Vec<X509> = parsed.ca.into_iter().flatten().collect();
        Self::build(&certificate, chain.into_iter(), &key)
    }

    fn build(
        certificate: &X509,
        chain: impl Iterator<Item = X509>,
        key: &PKey<openssl::pkey::Private>,
    ) -> Result<Tls, String> {
        let tls_error = |error: openssl::error::ErrorStack| format!("TLS set-up failed: {error}");
        let mut builder =
            SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(tls_error)?;
        builder.set_certificate(certificate).map_err(tls_error)?;
        for extra in chain {
            builder.add_extra_chain_cert(extra).map_err(tls_error)?;
        }
        builder.set_private_key(key).map_err(tls_error)?;
        builder
            .check_private_key()
            .map_err(|_| "the private key does not belong to the certificate".to_string())?;
        builder.set_alpn_select_callback(|_, client| {
            select_next_proto(ALPN, client).ok_or(AlpnError::NOACK)
        });
        Ok(Tls {
            acceptor: Arc::new(builder.build()),
        })
    }
}

/// Connections that finished their TLS handshake, for `axum::serve`.
pub(crate) struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(SslStream<TcpStream>, SocketAddr)>,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    pub(crate) fn new(listener: TcpListener, tls: Tls) -> io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(accept_loop(listener, tls, sender));
        Ok(TlsListener {
            local_addr,
            ready,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = SslStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop ended (only when it is aborted): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Tls,
    ready: mpsc::Sender<(SslStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("cannot accept a connection: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {error}");
        }
        let acceptor = Arc::clone(&tls.acceptor);
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&acceptor, stream)).await {
                Ok(Ok(stream)) => {
                    // The receiver is gone only when the server stops.
                    let _ = ready.send((stream, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!("TLS handshake with {peer} failed: {error}"),
                Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
            }
        });
    }
}

async fn handshake(
    acceptor: &SslAcceptor,
    stream: TcpStream,
) -> Result<SslStream<TcpStream>, String> {
    let ssl = Ssl::new(acceptor.context()).map_err(|error| error.to_string())?;
    let mut stream = SslStream::new(ssl, stream).map_err(|error| error.to_string())?;
    Pin::new(&mut stream)
        .accept()
        .await
        .map_err(|error| error.to_string())?;
    Ok(stream)
}
