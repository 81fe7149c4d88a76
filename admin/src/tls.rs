//! The listener `serve` accepts connections on: plain TCP, or TLS terminated here
//! with rustls when `tls.cert_file` and `tls.key_file` are configured
//! (`docs/deployment.md`, "TLS").
//!
//! It implements axum's `Listener`, so `axum::serve` and its graceful shutdown work
//! the same either way. TLS handshakes run in their own tasks, with a deadline, so a
//! client that connects and says nothing delays no one else.

use std::{
    io,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinHandle,
};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self, ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    },
    server::TlsStream,
};

use crate::config::Config;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.cert_file {0}: {1}")]
    Certificate(PathBuf, String),
    #[error("tls.key_file {0}: {1}")]
    Key(PathBuf, String),
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("binding {0}: {1}")]
    Bind(std::net::SocketAddr, io::Error),
}

/// The rustls server configuration for a PEM certificate chain and private key.
pub fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Certificate(cert_file.to_path_buf(), e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Certificate(
            cert_file.to_path_buf(),
            "holds no PEM certificate".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| TlsError::Key(key_file.to_path_buf(), e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Where `serve` accepts connections.
#[derive(Debug)]
pub enum Incoming {
    Plain(TcpListener),
    Tls {
        local: std::net::SocketAddr,
        ready: mpsc::Receiver<(TlsStream<TcpStream>, std::net::SocketAddr)>,
        accepting: JoinHandle<()>,
    },
}

impl Incoming {
    /// Binds `config.listen`, with TLS when the configuration names a certificate.
    pub async fn bind(config: &Config) -> Result<Self, TlsError> {
        let tcp = TcpListener::bind(config.listen)
            .await
            .map_err(|e| TlsError::Bind(config.listen, e))?;
        let (Some(cert), Some(key)) = (&config.tls.cert_file, &config.tls.key_file) else {
            return Ok(Self::Plain(tcp));
        };
        let acceptor = TlsAcceptor::from(server_config(cert, key)?);
        let local = tcp
            .local_addr()
            .map_err(|e| TlsError::Bind(config.listen, e))?;
        let (tx, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(accept_tls(tcp, acceptor, tx));
        Ok(Self::Tls {
            local,
            ready,
            accepting,
        })
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls { .. })
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Self::Tls { accepting, .. } = self {
            accepting.abort();
        }
    }
}

/// Accepts TCP connections and hands each one's handshake to a task of its own.
async fn accept_tls(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, std::net::SocketAddr)>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for Incoming {
    type Io = Stream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Stream, std::net::SocketAddr) {
        match self {
            Self::Plain(tcp) => {
                let (stream, peer) = axum::serve::Listener::accept(tcp).await;
                (Stream::Plain(stream), peer)
            }
            Self::Tls { ready, .. } => match ready.recv().await {
                Some((stream, peer)) => (Stream::Tls(Box::new(stream)), peer),
                // The accepting task ended (it never does while the listener lives):
                // accept nothing more, as a closed listener would.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        match self {
            Self::Plain(tcp) => tcp.local_addr(),
            Self::Tls { local, .. } => Ok(*local),
        }
    }
}

/// One accepted connection.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }
}
