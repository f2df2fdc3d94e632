//! Upstream questions in flight, shared: resolutions that need the same answer
//! from the same zone at the same time wait for one query instead of each
//! sending its own (Unbound's mesh shares sub-queries between clients; Knot
//! Resolver deduplicates its outgoing queries). On a cold cache many client
//! questions need the same referral at once (`com. A` at the root, a hosting
//! provider's zone at its TLD), so this saves upstream queries and answers the
//! later ones sooner.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use parking_lot::Mutex;
use tokio::sync::oneshot;

/// What asking a zone gave: the usable reply and the server that sent it.
pub(super) type Asked = (Message, SocketAddr);

/// How long a resolution waits for another's query before asking itself. It
/// bounds what two resolutions cost that wait on each other (glue-less NS
/// names in a cycle across zones), and is no shorter than one exchange may
/// take (the longest timeout, MAX_RTO).
pub(super) const FOLLOW_WAIT: Duration = Duration::from_millis(1500);

/// One question to one zone's servers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    zone: Name,
    name: Name,
    qtype: RecordType,
    /// Forwarders are asked with RD and trusted differently: a forward zone
    /// and the iteration it falls back to never share.
    forward: bool,
}

/// The questions in flight, each with the resolutions waiting for its reply.
#[derive(Debug, Default)]
pub(super) struct SharedQuestions {
    waiting: Mutex<HashMap<Key, Vec<oneshot::Sender<Asked>>>>,
}

/// A resolution's part in a shared question.
pub(super) enum Part<'s> {
    /// Nobody asks it yet: this resolution does, and hands the reply on.
    Lead(Lead<'s>),
    /// Another resolution asks it: wait for its reply (none if it fails).
    Follow(oneshot::Receiver<Asked>),
}

impl SharedQuestions {
    /// Joins the question `name`/`qtype` to `zone`'s servers: leads it when
    /// nobody asks it yet, else follows the resolution that does.
    pub(super) fn join(
        &self,
        zone: &Name,
        name: &Name,
        qtype: RecordType,
        forward: bool,
    ) -> Part<'_> {
        let key = Key {
            zone: zone.clone(),
            name: name.clone(),
            qtype,
            forward,
        };
        let mut waiting = self.waiting.lock();
        if let Some(followers) = waiting.get_mut(&key) {
            let (sender, receiver) = oneshot::channel();
            followers.push(sender);
            return Part::Follow(receiver);
        }
        waiting.insert(key.clone(), Vec::new());
        Part::Lead(Lead {
            questions: self,
            key,
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
}

impl Lead<'_> {
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

    #[test]
    fn the_same_question_to_the_same_zone_is_asked_once_and_shared() {
        let questions = SharedQuestions::default();
        let Part::Lead(lead) =
            questions.join(&name("com."), &name("example.com."), RecordType::A, false)
        else {
            panic!("the first resolution must lead");
        };
        // Case does not make another question.
        let Part::Follow(mut follower) =
            questions.join(&name("COM."), &name("Example.com."), RecordType::A, false)
        else {
            panic!("the second resolution must follow");
        };
        for (zone, qname, qtype, forward) in [
            ("com.", "example.com.", RecordType::AAAA, false),
            (".", "example.com.", RecordType::A, false),
            ("com.", "example.org.", RecordType::A, false),
            ("com.", "example.com.", RecordType::A, true),
        ] {
            assert!(
                matches!(
                    questions.join(&name(zone), &name(qname), qtype, forward),
                    Part::Lead(_)
                ),
                "{zone} {qname} {qtype} forward={forward} is another question"
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
        let lead = questions.join(&name("com."), &name("example.com."), RecordType::A, false);
        let Part::Follow(mut follower) =
            questions.join(&name("com."), &name("example.com."), RecordType::A, false)
        else {
            panic!("the second resolution must follow");
        };
        drop(lead);
        assert_eq!(
            follower.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        );
        assert!(matches!(
            questions.join(&name("com."), &name("example.com."), RecordType::A, false),
            Part::Lead(_)
        ));
    }
}
