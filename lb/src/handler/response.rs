//! The response path: what happens to a UDP client's query after
//! [`Inner::dispatch`] sent it. Each backend's thread blocks in recv on the
//! backend's socket (dnsdist's responder thread: no scheduler between a
//! response and its client); a response goes straight back to the client and
//! into the packet cache, a timeout or a removed backend sends the query to
//! its one retry or answers SERVFAIL.

use std::sync::Arc;
use std::time::Duration;

use common::dns::wire::QueryView;
use common::shutdown::Shutdown;

use super::{Inner, Lb, Tally, SERVFAIL};
use crate::backend::Backend;
use crate::forward::ClientQuery;
use crate::nodelocal::metrics::{rcode_of, Plugin};

/// How often each backend's late UDP queries are looked for: the most a
/// timeout fires late.
pub const TIMEOUT_TICK: Duration = Duration::from_millis(20);

/// A backend's receive loop and timeout sweep, on the calling thread, until
/// shutdown or until the backend is retired and `grace` has passed; what it
/// still holds then goes to another backend or is answered SERVFAIL.
pub fn serve_backend(backend: &Arc<Backend>, lb: &Lb, stop: &Shutdown, grace: Duration) {
    let inner = &lb.inner;
    backend.forwarder.receive_blocking(
        |client, response, rtt| inner.answered(backend, client, response, rtt),
        |client| inner.timed_out(backend, client),
        || !stop.is_requested() && !backend.retirement_done(grace),
        TIMEOUT_TICK,
    );
    for client in backend.forwarder.close() {
        inner.reroute(backend, client);
    }
}

impl Inner {
    /// `backend` answered a UDP client after `rtt`: pass the response on.
    fn answered(&self, backend: &Backend, client: ClientQuery, response: &[u8], rtt: Duration) {
        backend.answered(rtt, response);
        self.judge_response(backend, response, &self.routing.load());
        let mut stale = Vec::new();
        if rcode_of(response) == SERVFAIL
            && self.stale(
                &client.wire,
                client.cache_key.as_deref(),
                true,
                client.asked,
                &mut stale,
            )
        {
            self.reply_to(&client, &stale, Plugin::Cache);
            return;
        }
        self.reply_to(&client, response, Plugin::Forward);
        if let Some(key) = client.cache_key {
            self.store(key, response, client.asked);
        }
    }

    /// `backend` did not answer a UDP client in time: retry once on another
    /// backend that is up, else SERVFAIL.
    fn timed_out(&self, backend: &Arc<Backend>, client: ClientQuery) {
        self.judge_timeout(backend, &self.routing.load());
        self.reroute(backend, client);
    }

    /// A UDP client's query that `backend` will not answer (timed out, or the
    /// backend was removed): once more on another backend that is up, else
    /// SERVFAIL.
    fn reroute(&self, backend: &Arc<Backend>, mut client: ClientQuery) {
        match self.next_backend(&client.wire, &mut client.attempt, backend) {
            Some(next) => self.dispatch(next, client),
            None => self.servfail_client(client),
        }
    }

    /// Answers a UDP client SERVFAIL.
    pub(super) fn servfail_client(&self, client: ClientQuery) {
        let Ok(view) = QueryView::parse(&client.wire) else {
            return;
        };
        let mut out = Vec::new();
        if self.stale(
            &client.wire,
            client.cache_key.as_deref(),
            true,
            client.asked,
            &mut out,
        ) {
            self.reply_to(&client, &out, Plugin::Cache);
            return;
        }
        self.write_servfail(&view, &mut out);
        self.reply_to(&client, &out, Plugin::None);
    }

    /// Sends `reply`, written by `plugin`, to a UDP client and counts it.
    fn reply_to(&self, client: &ClientQuery, reply: &[u8], plugin: Plugin) {
        client.responder.send(reply, client.peer);
        let tally = Tally {
            received_at: client.received_at,
            asked: client.asked,
        };
        self.count_response(tally, reply, plugin);
    }
}
