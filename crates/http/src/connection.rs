//! The TCP connection under actix's HTTP/1 dispatcher, with a clock on every request.
//!
//! actix bounds the head of the *first* request on a connection
//! (`server.request_timeout`, then 408) and idle keep-alive time, but nothing times the
//! head of a later request on a kept-alive connection: a client could send it a byte a
//! minute and hold the connection for ever. actix offers no hook at that point (its
//! dispatcher parses the head), so the bound sits one layer down, on the byte stream:
//! from the first byte of a request to the first byte written in answer, at most
//! `budget`. The budget is `request_timeout + request_deadline` plus a second, so that
//! a well-behaved request always meets the [`deadline`](crate::middleware::deadline)
//! middleware's 503 first; a connection over budget is closed. No HTTP is parsed here:
//! pipelined requests, `100 Continue` and streamed answers need no special case,
//! because any byte written ends the wait and any byte read while nothing is awaited
//! starts it.
//!
//! It also drains: once the server starts a graceful shutdown, a connection with no
//! request in progress reads end-of-stream, so actix closes it instead of keeping it
//! alive until the shutdown timeout.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep, sleep},
};

/// Resolves when the server starts shutting down.
pub(crate) type ShutdownSignal = Pin<Box<dyn Future<Output = ()>>>;

/// A byte stream whose requests must each begin to be answered within a budget.
pub(crate) struct TimedConnection<T> {
    io: T,
    budget: Duration,
    /// Armed while a request is awaited: bytes arrived and nothing was written since.
    timer: Pin<Box<Sleep>>,
    awaiting: bool,
    shutdown: Option<ShutdownSignal>,
    draining: bool,
}

impl<T> TimedConnection<T> {
    pub(crate) fn new(io: T, budget: Duration, shutdown: ShutdownSignal) -> Self {
        Self {
            io,
            budget,
            timer: Box::pin(sleep(budget)),
            awaiting: false,
            shutdown: Some(shutdown),
            draining: false,
        }
    }

    fn answered(&mut self, written: usize) {
        if written > 0 {
            self.awaiting = false;
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedConnection<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.awaiting && this.timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request was not received in time",
            )));
        }
        if this.draining && !this.awaiting {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        match poll {
            Poll::Ready(Ok(())) if !this.awaiting && buf.filled().len() > before => {
                this.awaiting = true;
                this.timer.as_mut().reset(Instant::now() + this.budget);
                // Registers the waker, so that a client that stops sending is still cut.
                let _ = this.timer.as_mut().poll(cx);
            }
            Poll::Pending if !this.awaiting => {
                if let Some(signal) = this.shutdown.as_mut()
                    && signal.as_mut().poll(cx).is_ready()
                {
                    this.shutdown = None;
                    this.draining = true;
                    return Poll::Ready(Ok(()));
                }
            }
            _ => {}
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedConnection<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = poll {
            this.answered(written);
        }
        poll
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = poll {
            this.answered(written);
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, duplex};

    use super::{ShutdownSignal, TimedConnection};

    const BUDGET: Duration = Duration::from_secs(3);
    const JUST_UNDER_BUDGET: Duration = Duration::from_millis(2_999);

    fn never() -> ShutdownSignal {
        Box::pin(std::future::pending())
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_trickled_past_the_budget_is_cut() {
        let (mut client, server) = duplex(64);
        let mut server = TimedConnection::new(server, BUDGET, never());
        let mut buf = [0_u8; 16];
        let started = tokio::time::Instant::now();
        let trickle = tokio::spawn(async move {
            for _ in 0..100 {
                if client.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let error = loop {
            match server.read(&mut buf).await {
                Ok(_) => {}
                Err(error) => break error,
            }
        };
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
        let elapsed = started.elapsed();
        assert!(
            elapsed >= BUDGET && elapsed < BUDGET + Duration::from_secs(1),
            "{elapsed:?}"
        );
        trickle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_goes_quiet_mid_request_is_cut() {
        let (mut client, server) = duplex(64);
        let mut server = TimedConnection::new(server, BUDGET, never());
        client.write_all(b"GET / HT").await.expect("write");
        let mut buf = [0_u8; 16];
        assert_eq!(server.read(&mut buf).await.expect("read"), 8);
        let error = server.read(&mut buf).await.expect_err("cut");
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_ends_the_wait_and_idle_time_is_not_counted() {
        let (mut client, server) = duplex(64);
        let mut server = TimedConnection::new(server, BUDGET, never());
        let mut buf = [0_u8; 16];
        for _ in 0..5 {
            client.write_all(b"ask").await.expect("write");
            assert_eq!(server.read(&mut buf).await.expect("read"), 3);
            tokio::time::sleep(JUST_UNDER_BUDGET).await;
            server.write_all(b"answer").await.expect("answer");
            client
                .read_exact(&mut [0_u8; 6])
                .await
                .expect("read answer");
            // Idle between requests for longer than the budget: keep-alive is actix's.
            tokio::time::sleep(BUDGET * 4).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_an_idle_connection_but_not_one_in_progress() {
        let (signal_tx, signal_rx) = tokio::sync::oneshot::channel::<()>();
        let signal: ShutdownSignal = Box::pin(async move {
            let _ = signal_rx.await;
        });
        let (mut client, server) = duplex(64);
        let mut server = TimedConnection::new(server, BUDGET, signal);
        let mut buf = [0_u8; 16];
        client.write_all(b"ask").await.expect("write");
        assert_eq!(server.read(&mut buf).await.expect("read"), 3);
        signal_tx.send(()).expect("signal");
        // In progress: the rest of the request is still read.
        client.write_all(b"more").await.expect("write");
        assert_eq!(server.read(&mut buf).await.expect("read"), 4);
        server.write_all(b"answer").await.expect("answer");
        // Answered and idle: end of stream, so actix closes the connection.
        assert_eq!(server.read(&mut buf).await.expect("read"), 0);
    }
}
