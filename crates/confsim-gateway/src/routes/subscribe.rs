//! `GET /simulator/journal?from=SEQ&follow=true` (product.md §9.3): the records from `SEQ`,
//! then every new record as it is journaled, over one chunked response, until the client goes
//! away or the gateway stops. JSON Lines, or with `Accept: text/event-stream` Server-Sent
//! Events (`id:` the record's `seq`, so an `EventSource` resumes by `Last-Event-ID`).
//!
//! A subscriber never slows the platform: one task per subscription reads the in-memory
//! journal (the same copy `?from=` serves, under its own lock, not the engine's) and hands
//! batches to the response through a channel. The batches waiting for a slow client are
//! bounded ([`BACKLOG_BYTES`]): past that, the gateway ends the response (counted in
//! `confsim_journal_subscribers_disconnected_total`), and a client that reconnects with
//! `from` = the next `seq` it needs loses nothing, as long as the records are still held in
//! memory (`--journal-memory-mb`; else `410 Gone`, and the `--journal` file has them).
//!
//! The engine hands its journal to the in-memory copy in batches; an idle subscription asks
//! for the pending ones every [`IDLE_FLUSH`], so a record is seen within about that long.

use super::control_error;
use crate::gateway::Gateway;
use crate::journal::Forgotten;
use crate::metrics::Gauged;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Bytes handed to a subscription and not yet taken by its connection before it is ended.
pub(crate) const BACKLOG_BYTES: usize = 8 << 20;
/// How often an idle subscription asks the engine for records it has not handed over yet.
const IDLE_FLUSH: Duration = Duration::from_millis(50);
/// An idle Server-Sent Events stream sends a comment this often, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How the records are framed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    JsonLines,
    ServerSentEvents,
}

/// Frames `lines` (complete journal lines, the first of them record `seq`, or the header when
/// `seq` is 0); returns the bytes and the `seq` after the last record.
fn frame(lines: &[u8], mut seq: u64, framing: Framing) -> (Vec<u8>, u64) {
    let count = memchr::memchr_iter(b'\n', lines).count() as u64;
    match framing {
        Framing::JsonLines => (lines.to_vec(), seq + count),
        Framing::ServerSentEvents => {
            let mut out = Vec::with_capacity(lines.len() + lines.len() / 4 + 32);
            for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                out.extend_from_slice(b"id: ");
                out.extend_from_slice(seq.to_string().as_bytes());
                out.extend_from_slice(b"\ndata: ");
                out.extend_from_slice(line);
                out.extend_from_slice(b"\n\n");
                seq += 1;
            }
            (out, seq)
        }
    }
}

/// The answer to a `follow=true` request starting at `from` (0: the header and every record).
pub(crate) async fn follow(gateway: Gateway, from: u64, framing: Framing) -> Response {
    // A `from` already forgotten is refused before any byte of a stream is sent.
    let first = match gateway.journal_from(from) {
        Ok(bytes) => bytes,
        Err(Forgotten { earliest }) => {
            return control_error(
                StatusCode::GONE,
                &format!(
                    "records before seq {earliest} are no longer held in memory (--journal-memory-mb); read them from the --journal file"
                ),
            );
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let pending = Arc::new(AtomicUsize::new(0));
    tokio::spawn(produce(gateway, from, first, framing, tx, pending.clone()));
    let stream = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|batch| {
            batch.map(|bytes| {
                pending.fetch_sub(bytes.len(), Ordering::Relaxed);
                Ok::<_, Infallible>(bytes)
            })
        })
    });
    let content_type = match framing {
        Framing::JsonLines => "application/x-ndjson",
        Framing::ServerSentEvents => "text/event-stream",
    };
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The subscription's task: hands batches over until the client goes away, falls behind, the
/// records it needs are forgotten, or the gateway stops.
async fn produce(
    gateway: Gateway,
    from: u64,
    first: Vec<u8>,
    framing: Framing,
    tx: mpsc::UnboundedSender<Bytes>,
    pending: Arc<AtomicUsize>,
) {
    let _open = Gauged::new(gateway.clone(), |http| &http.subscribers_open);
    let mut written = gateway.journal_written();
    let mut stopping = gateway.stopping();
    // `from = 0` starts with the header line, framed as seq 0; records follow from seq 1.
    let mut next = from;
    let mut batch = first;
    let mut idle = Duration::ZERO;
    loop {
        if !batch.is_empty() {
            let (bytes, after) = frame(&batch, next, framing);
            next = after.max(1);
            idle = Duration::ZERO;
            if pending.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len() > BACKLOG_BYTES {
                gateway
                    .shared
                    .http
                    .subscribers_behind
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    next,
                    "a journal subscriber fell behind by more than the backlog: disconnected"
                );
                return;
            }
            if tx.send(Bytes::from(bytes)).is_err() {
                return; // The client went away.
            }
        }
        if *stopping.borrow() {
            return;
        }
        tokio::select! {
            _ = written.changed() => {}
            () = tokio::time::sleep(IDLE_FLUSH) => idle += IDLE_FLUSH,
            _ = stopping.changed() => return,
            () = tx.closed() => return,
        }
        if framing == Framing::ServerSentEvents && idle >= KEEP_ALIVE {
            idle = Duration::ZERO;
            pending.fetch_add(14, Ordering::Relaxed);
            if tx.send(Bytes::from_static(b": keep-alive\n\n")).is_err() {
                return;
            }
        }
        batch = match gateway.journal_from(next) {
            Ok(bytes) => bytes,
            // Trimmed from memory while the client was behind: end here; a reconnect with
            // `from` is told 410 and where to read them.
            Err(Forgotten { .. }) => return,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_pass_as_they_are_and_count_records() {
        let (out, next) = frame(b"{\"seq\":3}\n{\"seq\":4}\n", 3, Framing::JsonLines);
        assert_eq!(out, b"{\"seq\":3}\n{\"seq\":4}\n");
        assert_eq!(next, 5);
    }

    #[test]
    fn server_sent_events_carry_each_records_seq_as_its_id() {
        let (out, next) = frame(b"{\"seq\":3}\n{\"seq\":4}\n", 3, Framing::ServerSentEvents);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id: 3\ndata: {\"seq\":3}\n\nid: 4\ndata: {\"seq\":4}\n\n"
        );
        assert_eq!(next, 5);
        // The header (from = 0) is id 0; the first record is 1.
        let (out, next) = frame(
            b"{\"confsim\":1}\n{\"seq\":1}\n",
            0,
            Framing::ServerSentEvents,
        );
        assert!(
            String::from_utf8(out)
                .unwrap()
                .starts_with("id: 0\ndata: {\"confsim\":1}\n\nid: 1\n")
        );
        assert_eq!(next, 2);
    }
}
