//! The body of a watch response: newline-delimited events as they are published, sent with
//! chunked transfer encoding, plus the periodic BOOKMARKs and the `timeoutSeconds` end that a
//! real API server adds.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::sync::mpsc;

use super::state::WatchMsg;
use super::Shared;

pub(crate) struct WatchBody {
    rx: mpsc::UnboundedReceiver<WatchMsg>,
    done: bool,
}

impl WatchBody {
    pub fn new(rx: mpsc::UnboundedReceiver<WatchMsg>) -> WatchBody {
        WatchBody { rx, done: false }
    }
}

impl Body for WatchBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(WatchMsg::Data(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(WatchMsg::End) | None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Ends the watch after `timeout` (the client's `timeoutSeconds`), and sends bookmarks every
/// `bookmark_every` meanwhile, like the API server's watch cache. Stops early when the client
/// goes away.
pub(crate) fn spawn_keeper(
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<WatchMsg>,
    timeout: Duration,
    bookmark_every: Option<Duration>,
) {
    tokio::spawn(async move {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            let next =
                bookmark_every.map_or(end, |every| (tokio::time::Instant::now() + every).min(end));
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep_until(next) => {}
            }
            if tokio::time::Instant::now() >= end {
                let _ = tx.send(WatchMsg::End);
                return;
            }
            // Sent under the lock, so that no event of a later resourceVersion can overtake it.
            let mut st = shared.lock();
            let line = super::state::bookmark_line(st.resource_version(), false);
            if tx.send(WatchMsg::Data(line)).is_err() {
                return;
            }
            st.stats.bookmarks += 1;
        }
    });
}
