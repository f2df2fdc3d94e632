//! DNS cookies on a fake authoritative server (RFC 7873 §5.2, simplified):
//! when on, the server logs the COOKIE option of every query, answers a
//! client cookie with client cookie | server cookie, and answers a server
//! cookie that is not its current one with BADCOOKIE and the current one.
//! The server cookie is the client cookie XOR the server's generation, so a
//! test can rotate it ([`FakeServer::rotate_cookie`](super::FakeServer::rotate_cookie)).
//! The forging switch sends, before each real UDP reply, a forged answer
//! (poison address) carrying a COOKIE option with someone else's client
//! cookie: what an off-path attacker who guessed ID and port would send.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use parking_lot::Mutex;

use super::authority::error_response;
use super::responders::forged_answer;

/// Queries' COOKIE options kept at most (tests look at the first few).
const MAX_LOGGED: usize = 10_000;

/// A fake server's cookie switches and log.
#[derive(Default)]
pub(super) struct CookieState {
    on: AtomicBool,
    forge: AtomicBool,
    generation: AtomicU8,
    log: Mutex<Vec<Vec<u8>>>,
}

impl CookieState {
    pub(super) fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    pub(super) fn set_forge(&self, on: bool) {
        self.forge.store(on, Ordering::Relaxed);
    }

    pub(super) fn rotate(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn log(&self) -> Vec<Vec<u8>> {
        self.log.lock().clone()
    }

    pub(super) fn clear_log(&self) {
        self.log.lock().clear();
    }

    fn server_cookie(&self, client: &[u8]) -> Vec<u8> {
        let generation = self.generation.load(Ordering::Relaxed);
        client.iter().map(|b| b ^ 0x5a ^ generation).collect()
    }

    /// Whether the server does cookies; when it does, the query's option
    /// (empty when none) is logged and `resp` made the cookie-aware reply.
    pub(super) fn apply(&self, req: &Message, resp: Message) -> Message {
        if !self.on.load(Ordering::Relaxed) {
            return resp;
        }
        let sent = query_cookie(req).unwrap_or_default();
        {
            let mut log = self.log.lock();
            if log.len() < MAX_LOGGED {
                log.push(sent.clone());
            }
        }
        if sent.len() < 8 || resp.edns.is_none() {
            return resp;
        }
        let expected = self.server_cookie(&sent[..8]);
        let mut option = sent[..8].to_vec();
        option.extend_from_slice(&expected);
        let mut resp = if sent.len() > 8 && sent[8..] != expected[..] {
            error_response(req, ResponseCode::BADCOOKIE)
        } else {
            resp
        };
        with_cookie(&mut resp, option);
        resp
    }

    /// The forged datagram to send before the real reply, when forging.
    pub(super) fn forged(&self, req: &Message) -> Option<Message> {
        if !self.forge.load(Ordering::Relaxed) {
            return None;
        }
        let sent = query_cookie(req).unwrap_or_else(|| vec![0; 8]);
        let mut option: Vec<u8> = sent.iter().take(8).map(|b| !b).collect();
        option.extend_from_slice(b"spoofed!");
        let mut forged = forged_answer(req);
        with_cookie(&mut forged, option);
        Some(forged)
    }
}

/// The COOKIE option data of `message`, if any.
pub fn query_cookie(message: &Message) -> Option<Vec<u8>> {
    match message.edns.as_ref()?.options().get(EdnsCode::Cookie)? {
        EdnsOption::Unknown(_, data) => Some(data.clone()),
        _ => None,
    }
}

fn with_cookie(message: &mut Message, option: Vec<u8>) {
    if let Some(edns) = message.edns.as_mut() {
        edns.options_mut()
            .insert(EdnsOption::Unknown(u16::from(EdnsCode::Cookie), option));
    }
}
