//! A socket whose writes give up: a client that stops reading (its receive window and our
//! send buffer full) makes a write wait, and after the time-out the write fails, which drops
//! the connection and whatever stream it carried. Reads are untouched (the request head and
//! body have their own time-outs in the HTTP layer).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// `io` whose writes (and flushes and shutdown) fail with `TimedOut` after waiting `limit`.
#[derive(Debug)]
pub(crate) struct WriteTimeout<T> {
    io: T,
    limit: Duration,
    /// Runs from the moment a write first had to wait; disarmed by any write that completes.
    timer: Pin<Box<Sleep>>,
    armed: bool,
}

impl<T> WriteTimeout<T> {
    pub(crate) fn new(io: T, limit: Duration) -> WriteTimeout<T> {
        WriteTimeout {
            io,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            armed: false,
        }
    }

    /// Passes a finished write on (disarming the timer), or fails a waiting one whose time is up.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match poll {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => {
                if !self.armed {
                    self.armed = true;
                    let deadline = Instant::now() + self.limit;
                    self.timer.as_mut().reset(deadline);
                }
                match self.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A pipe nobody reads fills, and the write that waits then fails: on the paused clock, so
    /// the time-out passes at once.
    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_takes_fails_after_the_limit() {
        let (a, _unread) = tokio::io::duplex(1024);
        let mut w = WriteTimeout::new(a, Duration::from_secs(30));
        w.write_all(&[0; 1024]).await.unwrap();
        let started = Instant::now();
        let e = w.write_all(&[0; 1]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    /// A reader that keeps up, however slowly in total, never trips it: the timer measures one
    /// wait, not the whole transfer.
    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_kept() {
        let (a, mut b) = tokio::io::duplex(16);
        let mut w = WriteTimeout::new(a, Duration::from_secs(1));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let mut total = 0;
            while total < 16 * 20 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                total += tokio::io::AsyncReadExt::read(&mut b, &mut buf)
                    .await
                    .unwrap();
            }
            total
        });
        w.write_all(&[1; 16 * 20]).await.unwrap();
        assert_eq!(reader.await.unwrap(), 16 * 20);
    }
}
