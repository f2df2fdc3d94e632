//! Upstream questions in flight, shared: resolutions that need the same answer
//! from the same zone at the same time wait for one query instead of each
//! sending its own (Unbound's mesh shares sub-queries between clients; Knot
//! Resolver deduplicates its outgoing queries). On a cold cache many client
//! questions need the same referral at once (`com. A` at the root, a hosting
//! provider's zone at its TLD), so this saves upstream queries and answers the
//! later ones sooner.

use std::collections::HashMap;
use std::mem::{discriminant, Discriminant};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::delegation::ServerKind;

/// What asking a zone gave: the usable reply and the server that sent it.
pub(super) type Asked = (Message, SocketAddr);

/// How long a resolution waits for another's query before asking itself too
/// (and taking whichever reply comes first). A reply usually comes within one
/// server's timeout (at most 1.5 s, MAX_RTO); a lead still waiting after that
/// is on slow or dead servers. It also bounds what two resolutions cost that
/// wait on each other (glue-less NS names in a cycle across zones).
pub(super) const FOLLOW_WAIT: Duration = Duration::from_millis(1500);

/// Identifies one lead, so that a resolution never waits for a question it
/// asks itself further up (an NS-address lookup nested in that question).
pub(super) type LeadId = u64;

/// One question to one zone's servers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    zone: Name,
    name: Name,
    qtype: RecordType,
    /// Iterative, stub or forward servers: a stub or forward zone and the
    /// iteration it falls back to ask other servers, and never share.
    kind: Discriminant<ServerKind>,
}

/// A question in flight: who leads it, and who waits for its reply.
type InFlight = (LeadId, Vec<oneshot::Sender<Asked>>);

/// The questions in flight.
#[derive(Debug, Default)]
pub(super) struct SharedQuestions {
    waiting: Mutex<HashMap<Key, InFlight>>,
    next_lead: AtomicU64,
}

/// A resolution's part in a shared question.
pub(super) enum Part<'s> {
    /// Nobody asks it yet: this resolution does, and hands the reply on.
    Lead(Lead<'s>),
    /// Another resolution asks it: wait for its reply (none if it fails).
    Follow(oneshot::Receiver<Asked>),
    /// This resolution asks it already, further up: ask without sharing.
    Nested,
}

impl SharedQuestions {
    /// Joins the question `name`/`qtype` to `zone`'s servers of `kind`:
    /// leads it when nobody asks it yet, follows the resolution that does,
    /// or asks alone when that lead is one of its own `leads`.
    pub(super) fn join(
        &self,
        zone: &Name,
        name: &Name,
        qtype: RecordType,
        kind: &ServerKind,
        leads: &[LeadId],
    ) -> Part<'_> {
        let key = Key {
            zone: zone.clone(),
            name: name.clone(),
            qtype,
            kind: discriminant(kind),
        };
        let mut waiting = self.waiting.lock();
        if let Some((lead, followers)) = waiting.get_mut(&key) {
            if leads.contains(lead) {
                return Part::Nested;
            }
            let (sender, receiver) = oneshot::channel();
            followers.push(sender);
            return Part::Follow(receiver);
        }
        let id = self.next_lead.fetch_add(1, Ordering::Relaxed);
        waiting.insert(key.clone(), (id, Vec::new()));
        Part::Lead(Lead {
            questions: self,
            key,
            id,
        })
    }

    /// Questions in flight (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.waiting.lock().len()
    }
}

/// The leading resolution's hold on a question. Finishing hands the reply to
/// every follower; dropping it unfinished (the lead failed, ran out of budget
/// or was cancelled) releases them to ask for themselves.
pub(super) struct Lead<'s> {
    questions: &'s SharedQuestions,
    key: Key,
    id: LeadId,
}

impl Lead<'_> {
    /// This lead's identity, for the resolution's own nested lookups.
    pub(super) fn id(&self) -> LeadId {
        self.id
    }

    /// Hands `asked` to the resolutions waiting for it.
    pub(super) fn finish(self, asked: &Asked) {
        for follower in self.take_followers() {
            // A follower that gave up waiting is gone; nothing to tell it.
            let _ = follower.send(asked.clone());
        }
    }

    fn take_followers(&self) -> Vec<oneshot::Sender<Asked>> {
        self.questions
            .waiting
            .lock()
            .remove(&self.key)
            .map(|(_, followers)| followers)
            .unwrap_or_default()
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        // After finish this finds nothing; otherwise the followers' senders
        // drop here and each of them asks for itself.
        self.take_followers();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITERATIVE: ServerKind = ServerKind::Iterative;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn reply() -> Asked {
        (
            Message::new(
                7,
                hickory_proto::op::MessageType::Response,
                hickory_proto::op::OpCode::Query,
            ),
            "127.0.0.1:53".parse().unwrap(),
        )
    }

    fn join<'s>(
        questions: &'s SharedQuestions,
        zone: &str,
        qname: &str,
        qtype: RecordType,
        kind: &ServerKind,
    ) -> Part<'s> {
        questions.join(&name(zone), &name(qname), qtype, kind, &[])
    }

    #[test]
    fn the_same_question_to_the_same_zone_is_asked_once_and_shared() {
        let questions = SharedQuestions::default();
        let Part::Lead(lead) = join(
            &questions,
            "com.",
            "example.com.",
            RecordType::A,
            &ITERATIVE,
        ) else {
            panic!("the first resolution must lead");
        };
        // Case does not make another question.
        let Part::Follow(mut follower) = join(
            &questions,
            "COM.",
            "Example.com.",
            RecordType::A,
            &ITERATIVE,
        ) else {
            panic!("the second resolution must follow");
        };
        let forward = ServerKind::Forward {
            first: true,
            tls: HashMap::new(),
        };
        let stub = ServerKind::Stub { first: true };
        for (zone, qname, qtype, kind) in [
            ("com.", "example.com.", RecordType::AAAA, &ITERATIVE),
            (".", "example.com.", RecordType::A, &ITERATIVE),
            ("com.", "example.org.", RecordType::A, &ITERATIVE),
            ("com.", "example.com.", RecordType::A, &forward),
            ("com.", "example.com.", RecordType::A, &stub),
        ] {
            assert!(
                matches!(join(&questions, zone, qname, qtype, kind), Part::Lead(_)),
                "{zone} {qname} {qtype} {kind:?} is another question"
            );
        }
        assert!(
            follower.try_recv().is_err(),
            "nothing before the lead finishes"
        );
        let asked = reply();
        lead.finish(&asked);
        assert_eq!(follower.try_recv().map(|(_, server)| server), Ok(asked.1));
        assert_eq!(questions.len(), 0, "a finished question is forgotten");
    }

    #[test]
    fn a_lead_that_fails_releases_its_followers_to_ask_for_themselves() {
        let questions = SharedQuestions::default();
        let lead = join(
            &questions,
            "com.",
            "example.com.",
            RecordType::A,
            &ITERATIVE,
        );
        let Part::Follow(mut follower) = join(
            &questions,
            "com.",
            "example.com.",
            RecordType::A,
            &ITERATIVE,
        ) else {
            panic!("the second resolution must follow");
        };
        drop(lead);
        assert_eq!(
            follower.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        );
        assert!(matches!(
            join(
                &questions,
                "com.",
                "example.com.",
                RecordType::A,
                &ITERATIVE
            ),
            Part::Lead(_)
        ));
    }

    #[test]
    fn a_resolution_never_waits_for_its_own_question() {
        let questions = SharedQuestions::default();
        let (zone, qname) = (name("com."), name("example.com."));
        let Part::Lead(lead) = questions.join(&zone, &qname, RecordType::A, &ITERATIVE, &[]) else {
            panic!("the first resolution must lead");
        };
        let own = [lead.id()];
        assert!(matches!(
            questions.join(&zone, &qname, RecordType::A, &ITERATIVE, &own),
            Part::Nested
        ));
        assert!(matches!(
            questions.join(&zone, &qname, RecordType::A, &ITERATIVE, &[lead.id() + 1]),
            Part::Follow(_)
        ));
    }
}
