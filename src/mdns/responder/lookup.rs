//! Which of our records answer a question on a link (RFC 6762 §6, §6.1; RFC 6763 §9, §12).
//!
//! Owns the mapping from a question to records: names live on the receiving link only (never
//! names still probing there), that link's addresses only; DNS-SD additionals (PTR → SRV, TXT,
//! target addresses; SRV → target addresses, with the host NSEC when a family is missing); an
//! NSEC answer for a type one of our unique names does not have; known-answer suppression
//! (§7.1: a known answer with at least half our TTL). Reads state, changes nothing.

use koi_wire::dns::{Class, Message, Name, Question, RData, Record, RecordType};

use std::collections::{HashMap, HashSet};

use super::answer::Known;
use super::{records, Owner, Responder};

impl Responder {
    /// The answers (each with whether its question allows unicast) and additionals for `msg`
    /// on link `li`, after known-answer suppression.
    pub(super) fn collect(
        &self,
        li: usize,
        msg: &Message,
        unicast_dst: bool,
    ) -> (Vec<(Record, bool)>, Vec<Record>) {
        let mut answers: Vec<(Record, bool)> = Vec::new();
        let mut index: HashMap<u64, usize> = HashMap::new();
        let mut extra: Vec<Record> = Vec::new();
        let host_live = self.phase(Owner::Host, li).is_some_and(|p| p.is_live());
        let host_recs = if host_live {
            self.owner_records(Owner::Host, li)
        } else {
            Vec::new()
        };
        for q in &msg.questions {
            if q.class() != Class::IN && q.class() != Class::ANY {
                continue;
            }
            let mut found = Vec::new();
            self.match_question(li, q, &host_recs, &mut found, &mut extra);
            let unicast_ok = q.unicast_response() || unicast_dst;
            for r in found {
                let fp = records::fp(&r);
                match index.get(&fp).and_then(|i| answers.get_mut(*i)) {
                    Some((_, u)) => *u &= unicast_ok,
                    None => {
                        index.insert(fp, answers.len());
                        answers.push((r, unicast_ok));
                    }
                }
            }
        }
        let known = Known::new(&msg.answers);
        answers.retain(|(r, _)| !known.covers(records::fp(r), r));
        let mut seen: HashSet<u64> = index.into_keys().collect();
        let mut additionals = Vec::new();
        for r in extra {
            let fp = records::fp(&r);
            if !known.covers(fp, &r) && seen.insert(fp) {
                additionals.push(r);
            }
        }
        (answers, additionals)
    }

    /// Our records answering `q` on link `li` into `found`, their additionals into `extra`.
    fn match_question(
        &self,
        li: usize,
        q: &Question,
        host_recs: &[Record],
        found: &mut Vec<Record>,
        extra: &mut Vec<Record>,
    ) {
        let Some(link) = self.links.get(li).map(|l| l.info.link) else {
            return;
        };
        let wants = |t: RecordType| q.qtype == RecordType::ANY || q.qtype == t;
        let host_nsec = host_recs.iter().find(|r| r.rtype == RecordType::NSEC);
        // Host addresses and reverse names.
        let before = found.len();
        found.extend(
            host_recs
                .iter()
                .filter(|r| r.name == q.name && r.rtype != RecordType::NSEC && wants(r.rtype))
                .cloned(),
        );
        if q.name == self.host.fqdn {
            if found.len() > before {
                extra.extend(partial_family_nsec(host_nsec));
            } else if let Some(nsec) =
                host_nsec.filter(|n| !has_type(n, q.qtype) && q.qtype != RecordType::ANY)
            {
                found.push(nsec.clone());
            }
        }
        let meta = q.name == records::services_meta() && wants(RecordType::PTR);
        let mut types: Vec<&Name> = Vec::new();
        for s in &self.services {
            let live = s.phases.iter().any(|(l, p)| *l == link && p.is_live());
            if !live {
                continue;
            }
            if meta && !types.contains(&&s.names.ty) {
                types.push(&s.names.ty);
                found.push(records::meta_ptr(&s.names.ty));
            }
            let is_type = s.names.ty == q.name && wants(RecordType::PTR);
            let is_instance = s.names.instance == q.name;
            let is_target = s.names.custom_host.as_ref() == Some(&q.name);
            if !(is_type || is_instance || is_target) {
                continue;
            }
            let recs = self.owner_records(Owner::Service(s.key), li);
            let own_addrs =
                |r: &&Record| is_address(r) && Some(&r.name) == s.names.custom_host.as_ref();
            let target: Vec<Record> = if s.names.custom_host.is_some() {
                recs.iter().filter(own_addrs).cloned().collect()
            } else {
                let addrs = host_recs.iter().filter(|r| is_address(r)).cloned();
                addrs.chain(partial_family_nsec(host_nsec)).collect()
            };
            if is_type {
                let ptr = recs
                    .iter()
                    .find(|r| r.rtype == RecordType::PTR && r.name == s.names.ty);
                found.extend(ptr.cloned());
                let srv_txt = |r: &&Record| {
                    r.name == s.names.instance
                        && (r.rtype == RecordType::SRV || r.rtype == RecordType::TXT)
                };
                extra.extend(recs.iter().filter(srv_txt).cloned());
                extra.extend(target.iter().cloned());
            }
            if is_instance {
                let at_instance = recs.iter().filter(|r| r.name == s.names.instance);
                let hits: Vec<&Record> = at_instance
                    .filter(|r| r.rtype != RecordType::NSEC && wants(r.rtype))
                    .collect();
                if hits.iter().any(|r| r.rtype == RecordType::SRV) {
                    extra.extend(target.iter().cloned());
                }
                if hits.is_empty() && q.qtype != RecordType::ANY {
                    let nsec = recs
                        .iter()
                        .find(|r| r.rtype == RecordType::NSEC && r.name == s.names.instance);
                    found.extend(nsec.cloned());
                }
                found.extend(hits.into_iter().cloned());
            }
            if is_target {
                found.extend(
                    recs.iter()
                        .filter(own_addrs)
                        .filter(|r| wants(r.rtype))
                        .cloned(),
                );
            }
        }
    }
}

fn is_address(r: &Record) -> bool {
    r.rtype == RecordType::A || r.rtype == RecordType::AAAA
}

fn has_type(nsec: &Record, t: RecordType) -> bool {
    matches!(&nsec.rdata, RData::Nsec { types, .. } if types.contains(&t))
}

/// §6.2: the host NSEC goes along with addresses when one family is missing.
fn partial_family_nsec(nsec: Option<&Record>) -> Option<Record> {
    nsec.filter(|n| !(has_type(n, RecordType::A) && has_type(n, RecordType::AAAA)))
        .cloned()
}
