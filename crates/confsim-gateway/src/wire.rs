//! Header names as the vendor writes them (product.md §9.5).
//!
//! Clients written for the real gateway compare header names exactly: the vendor's Java demo
//! picks up its Guid with `header.getName().equals("Set-GUID")`. hyper stores header names in
//! lower case and writes them so (HTTP/1 names are case-insensitive); its only server-side
//! options are title case for every name (`Set-Guid`, still not the vendor's) and a case map
//! that only hyper itself can build. So the connection's writes pass through [`VendorCase`],
//! which rewrites the one name the vendor's clients read, `\r\nset-guid:`, to
//! `\r\nSet-GUID:` in the bytes hyper writes. Same length, so nothing else moves.
//!
//! Soundness: the pattern starts with a line break and ends with the colon, so it matches a
//! header line's name and nothing in a JSON body (a body's line breaks are escaped, and
//! hyper's own head writes names in lower case with `: `). A write that ends part-way into
//! the pattern keeps that tail (at most ten bytes) until the next write or flush shows whether
//! it completes; hyper writes a response head in one buffer, so in practice the tail is
//! always empty. The wrapper sits between hyper and the transport: under HTTPS it rewrites the
//! plain text before rustls encrypts it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What hyper writes, and what the vendor's clients expect, byte for byte.
const FROM: &[u8] = b"\r\nset-guid:";
const TO: &[u8] = b"\r\nSet-GUID:";

/// A transport whose writes have `Set-GUID` in the vendor's case (see the module's notes).
#[derive(Debug)]
pub(crate) struct VendorCase<IO> {
    inner: IO,
    /// Accepted and rewritten, not yet written to `inner`.
    ready: Vec<u8>,
    /// How much of `ready` is written.
    written: usize,
    /// Accepted, not yet rewritten: a proper prefix of [`FROM`] that ended the last write.
    tail: Vec<u8>,
}

impl<IO> VendorCase<IO> {
    pub(crate) fn new(inner: IO) -> Self {
        Self {
            inner,
            ready: Vec::new(),
            written: 0,
            tail: Vec::new(),
        }
    }
}

/// The length of the longest suffix of `bytes` that is a proper prefix of [`FROM`].
fn partial_suffix(bytes: &[u8]) -> usize {
    (1..FROM.len().min(bytes.len() + 1))
        .rev()
        .find(|&n| bytes.ends_with(&FROM[..n]))
        .unwrap_or(0)
}

/// Rewrites every [`FROM`] in `bytes` to [`TO`].
fn rewrite(bytes: &mut [u8]) {
    let finder = memchr::memmem::Finder::new(FROM);
    let mut at = 0;
    while let Some(found) = finder.find(&bytes[at..]) {
        let start = at + found;
        bytes[start..start + TO.len()].copy_from_slice(TO);
        at = start + FROM.len();
    }
}

impl<IO: AsyncWrite + Unpin> VendorCase<IO> {
    /// Writes out `ready`; Ready(Ok) once it is all written.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.ready.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.ready[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.ready.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for VendorCase<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if this.tail.is_empty()
            && partial_suffix(buf) == 0
            && memchr::memmem::find(buf, FROM).is_none()
        {
            // Nothing to rewrite and nothing held: straight through, no copy.
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        let mut chunk = std::mem::take(&mut this.tail);
        chunk.extend_from_slice(buf);
        let keep = partial_suffix(&chunk);
        this.tail = chunk.split_off(chunk.len() - keep);
        rewrite(&mut chunk);
        this.ready = chunk;
        this.written = 0;
        // Start the write now; what is left goes out on the next write or flush.
        if let Poll::Ready(Err(error)) = this.poll_drain(cx) {
            return Poll::Ready(Err(error));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if !this.tail.is_empty() {
            // A flush part-way into the pattern: the name did not complete, send it as it is.
            this.ready = std::mem::take(&mut this.tail);
            this.written = 0;
            ready!(this.poll_drain(cx))?;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for VendorCase<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Writes `pieces` one write each through the wrapper; returns the bytes that came out.
    async fn through(pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = VendorCase::new(Vec::new());
        for piece in pieces {
            out.write_all(piece).await.unwrap();
        }
        out.flush().await.unwrap();
        out.inner
    }

    const HEAD: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nset-guid: JSESSIONID=abc\r\ncontent-length: 2\r\n\r\n{}";

    #[tokio::test]
    async fn the_name_is_rewritten_in_one_write() {
        let out = through(&[HEAD]).await;
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nSet-GUID: JSESSIONID=abc\r\n"), "{text}");
        assert!(
            text.contains("\r\ncontent-type: application/json\r\n"),
            "{text}"
        );
        assert_eq!(text.len(), HEAD.len());
    }

    #[tokio::test]
    async fn the_name_is_rewritten_when_split_at_every_byte() {
        let expected = through(&[HEAD]).await;
        for split in 1..HEAD.len() {
            let out = through(&[&HEAD[..split], &HEAD[split..]]).await;
            assert_eq!(out, expected, "split at {split}");
        }
        let bytes: Vec<&[u8]> = HEAD.chunks(1).collect();
        assert_eq!(through(&bytes).await, expected, "a byte a write");
    }

    #[tokio::test]
    async fn other_bytes_pass_unchanged() {
        let body: &[u8] =
            b"{\"message\":\"set-guid: not a header\",\"retcode\":\"0\"}\r\nset-guidance";
        assert_eq!(through(&[body]).await, body);
        assert_eq!(
            through(&[b"\r\nset-gu"]).await,
            b"\r\nset-gu",
            "a flushed tail goes out as it is"
        );
    }

    #[test]
    fn partial_suffix_finds_the_longest_proper_prefix() {
        assert_eq!(partial_suffix(b"abc"), 0);
        assert_eq!(partial_suffix(b"abc\r"), 1);
        assert_eq!(partial_suffix(b"abc\r\nset-guid"), 10);
        assert_eq!(
            partial_suffix(b"\r\nset-guid:"),
            0,
            "a whole match is not a tail"
        );
        assert_eq!(partial_suffix(b""), 0);
    }
}
