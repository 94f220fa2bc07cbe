//! Turning record lists into datagrams of at most [`MAX_DATAGRAM`] bytes.
//!
//! Owns message framing: multicast and QU responses (ID 0, QR|AA, no questions) are split
//! across as many datagrams as needed, answers first; legacy replies are one datagram that
//! echoes the ID and questions and sets TC when cut; probes are one datagram. A record that
//! cannot fit a datagram on its own is left out rather than sent oversized (registration caps
//! TXT so ours always fit).

use std::collections::VecDeque;

use koi_wire::dns::{Header, Message, Question, Record};

use crate::mdns::{Destination, Transmit, MAX_DATAGRAM};

/// How many records one encoding attempt considers: more than fit any datagram.
const WINDOW: usize = 128;

/// Flags of every response we send.
const RESPONSE_FLAGS: u16 = Header::QR | Header::AA;

/// Queues `answers` then `additionals` to `dest`, split across datagrams.
pub(super) fn response(
    dest: Destination,
    answers: &[Record],
    additionals: &[Record],
    out: &mut VecDeque<Transmit>,
) {
    let items: Vec<(&Record, bool)> = answers
        .iter()
        .map(|r| (r, true))
        .chain(additionals.iter().map(|r| (r, false)))
        .collect();
    let mut rest = items.as_slice();
    while !rest.is_empty() {
        let window = rest.get(..WINDOW.min(rest.len())).unwrap_or(rest);
        let pick = |answer: bool| -> Vec<Record> {
            window
                .iter()
                .filter(|(_, a)| *a == answer)
                .map(|(r, _)| (*r).clone())
                .collect()
        };
        let msg = Message {
            header: Header {
                id: 0,
                flags: RESPONSE_FLAGS,
            },
            answers: pick(true),
            additionals: pick(false),
            ..Message::default()
        };
        let taken = match msg.encode_truncating(MAX_DATAGRAM) {
            Ok(enc) => {
                let [_, an, _, ar] = enc.counts;
                let taken = usize::from(an) + usize::from(ar);
                if taken > 0 {
                    let mut bytes = enc.bytes;
                    if enc.truncated {
                        // A multicast response is split, never marked truncated.
                        if let Some(flags_hi) = bytes.get_mut(2) {
                            *flags_hi &= !((Header::TC >> 8) as u8);
                        }
                    }
                    out.push_back(Transmit { dest, bytes });
                }
                taken
            }
            Err(_) => 0,
        };
        // Zero means the first record cannot be sent at all: drop it and go on.
        rest = rest.get(taken.max(1)..).unwrap_or(&[]);
    }
}

/// A legacy unicast reply (RFC 6762 §6.7): one datagram, the query's ID and questions, TC set
/// if records had to be left out.
pub(super) fn legacy(
    dest: Destination,
    id: u16,
    questions: &[Question],
    answers: &[Record],
    additionals: &[Record],
) -> Option<Transmit> {
    let msg = Message {
        header: Header {
            id,
            flags: RESPONSE_FLAGS,
        },
        questions: questions.to_vec(),
        answers: answers.to_vec(),
        additionals: additionals.to_vec(),
        ..Message::default()
    };
    let enc = msg.encode_truncating(MAX_DATAGRAM).ok()?;
    Some(Transmit {
        dest,
        bytes: enc.bytes,
    })
}

/// A probe: the questions (type ANY, QU) and our proposed records in the authority section.
pub(super) fn probe(
    dest: Destination,
    questions: Vec<Question>,
    authorities: Vec<Record>,
) -> Option<Transmit> {
    let msg = Message {
        questions,
        authorities,
        ..Message::default()
    };
    let enc = msg.encode_truncating(MAX_DATAGRAM).ok()?;
    Some(Transmit {
        dest,
        bytes: enc.bytes,
    })
}
