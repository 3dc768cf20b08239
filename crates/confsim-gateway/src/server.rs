//! The accept loop, plain HTTP and HTTPS alike, and the transport's limits: a slow client, a
//! huge request head or a flood of connections costs the gateway a bounded amount and never
//! gets a 5xx.
//!
//! * **Connections at once** (`max_connections`, `--max-connections`, 10,000): a semaphore
//!   slot is taken *before* `accept`, so at the cap the gateway stops accepting; new
//!   connections wait in the operating system's listen backlog (not refused, not answered)
//!   and are served as soon as a served one closes. Past the backlog (4,096 in `confsim
//!   serve`, 1,024 with tokio's `bind`, capped by `net.core.somaxconn`) the kernel refuses
//!   or resets them. Every memory the
//!   gateway spends per connection (a read buffer, a body of at most `max_body_bytes`, one
//!   task) is then bounded in total.
//! * **Header read timeout** (`header_read_timeout`, `--header-timeout-ms`, 10 s): a request's
//!   line and headers must arrive within it, counted from when the gateway starts waiting for
//!   them (on a kept-alive connection, from the end of the previous answer, so it is also the
//!   idle keep-alive timeout). A slower client (a slowloris sending a byte now and then) is
//!   disconnected without an answer. A long poll is not affected: it is held after its
//!   headers are read. The same bound applies to a TLS handshake.
//! * **Header size** (`max_header_bytes`, `--max-header-bytes`, 16 KiB): a larger request
//!   line and headers are answered `431 Request Header Fields Too Large` by hyper, and the
//!   connection closed. The connection's read buffer is bounded accordingly.
//!
//! hyper does the parsing and the two per-connection limits (`http1::Builder::timer`,
//! `header_read_timeout`, `max_header_size`, `max_buf_size`); this module counts what each
//! limit did for the metrics (`confsim_http_connections_closed_total{reason}`).

use crate::error::{GatewayError, Result};
use crate::gateway::Gateway;
use crate::metrics::{Gauged, HttpCounters};
use crate::wire::VendorCase;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

/// How long a stop waits for open connections before dropping them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
/// hyper's smallest allowed read buffer (`max_buf_size` panics below it).
const MIN_READ_BUFFER: usize = 8192;

/// The HTTP/1 settings every connection is served with.
fn builder(gateway: &Gateway) -> http1::Builder {
    let config = gateway.config();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_header_size(config.max_header_bytes)
        // The head must fit in the read buffer; a little more lets a body stream through
        // without the buffer growing towards hyper's default (~400 KB a connection).
        .max_buf_size(config.max_header_bytes.max(MIN_READ_BUFFER) + MIN_READ_BUFFER);
    builder
}

/// Serves one connection to its end and counts why it ended, if a limit ended it.
async fn serve_connection<I>(
    builder: &http1::Builder,
    io: I,
    router: Router,
    watcher: Watcher,
    http: &HttpCounters,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = builder.serve_connection(
        TokioIo::new(VendorCase::new(io)),
        TowerToHyperService::new(router),
    );
    if let Err(error) = watcher.watch(connection).await {
        let counter = if error.is_timeout() {
            &http.header_timeouts
        } else if error.is_parse_too_large() {
            &http.headers_too_large
        } else if error.is_parse() {
            &http.bad_requests
        } else {
            // The client went away mid-request, say: nothing to count.
            tracing::debug!(%error, "a connection ended with an error");
            return;
        };
        tracing::debug!(%error, "a connection was closed by a transport limit");
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The next connection, with the slot it takes (see the module's notes); `None` once `signal`
/// has fired. A slot is taken before accepting, so at the cap connections wait in the backlog.
/// Answers are small and written whole: each connection sends them at once (`TCP_NODELAY`).
pub(crate) async fn next_connection(
    listener: &tokio::net::TcpListener,
    slots: &Arc<Semaphore>,
    signal: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Option<(OwnedSemaphorePermit, tokio::net::TcpStream)> {
    let permit = tokio::select! {
        permit = slots.clone().acquire_owned() => match permit {
            Ok(permit) => permit,
            // The semaphore is never closed; stop serving rather than spin if it were.
            Err(_) => return None,
        },
        _ = signal.as_mut() => return None,
    };
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = signal.as_mut() => return None,
        };
        match accepted {
            Ok((tcp, _)) => {
                let _ = tcp.set_nodelay(true);
                return Some((permit, tcp));
            }
            Err(error) => {
                // Out of file descriptors, say: keep serving the connections there are, and
                // try again shortly rather than spinning.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Gateway {
    /// The accept loop of `serve` and `serve_tls` (see the module's notes).
    pub(crate) async fn serve_on(
        self,
        listener: tokio::net::TcpListener,
        tls: Option<TlsAcceptor>,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Option<confsim_journal::Summary>> {
        let addr = listener.local_addr().map_err(|error| GatewayError::Io {
            context: "reading the listening address".to_owned(),
            error,
        })?;
        self.config().control.check_address(addr)?;
        let clock = {
            let gateway = self.clone();
            tokio::spawn(async move { gateway.run_clock().await })
        };
        let router = crate::routes::router(self.clone());
        let builder = Arc::new(builder(&self));
        let handshake_timeout = self.config().header_read_timeout;
        let slots = Arc::new(Semaphore::new(self.config().max_connections));
        let graceful = GracefulShutdown::new();
        let mut signal = std::pin::pin!(signal);
        loop {
            if slots.available_permits() == 0
                && self
                    .shared
                    .http
                    .connection_cap_waits
                    .fetch_add(1, Ordering::Relaxed)
                    == 0
            {
                tracing::warn!(
                    max_connections = self.config().max_connections,
                    "every connection slot is taken: new connections wait in the listen backlog until one closes (warned once; counted in confsim_http_connection_cap_waits_total)"
                );
            }
            let Some((permit, tcp)) = next_connection(&listener, &slots, &mut signal).await else {
                break;
            };
            let http = &self.shared.http;
            http.connections.fetch_add(1, Ordering::Relaxed);
            let open = Gauged::new(self.clone(), |http| &http.connections_open);
            let (builder, router, watcher, tls) = (
                builder.clone(),
                router.clone(),
                graceful.watcher(),
                tls.clone(),
            );
            tokio::spawn(async move {
                let _slot = permit;
                let http = &open.gateway().shared.http;
                match tls {
                    None => serve_connection(&builder, tcp, router, watcher, http).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => {
                                serve_connection(&builder, tls, router, watcher, http).await;
                            }
                            Ok(Err(error)) => {
                                tracing::debug!(%error, "TLS handshake failed");
                                http.tls_failures.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                http.tls_failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
                drop(open);
            });
        }
        // Held polls answer now, so open connections can finish their requests and close.
        self.shut_down();
        drop(listener);
        drop(router);
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
        let _ = clock.await;
        self.finish()
    }
}
