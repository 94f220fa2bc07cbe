//! The audit log: append-only JSON lines, each hash-chained to the one before and signed by
//! the CA, with a signed head (`audit.head`) naming the entry count and the last hash.
//!
//! What `verify` detects: an edited entry (its signature fails), a deleted or reordered entry
//! (its sequence number or `prev` hash breaks), and a truncated tail (the signed head names
//! more entries, or another last hash). It cannot detect an attacker who restores an old
//! log *and* its old head together (a rollback); the spec's standby sync is what answers that.
//! Owns the format; never decides what is logged.

use super::ca::{verify_signature, Ca};
use super::roster::unhex;
use crate::base::{format_utc, hex};
use crate::state::{read_bounded, write_atomic, Secrecy};
use miniserde::{json, Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const MAX_LOG: u64 = 64 * 1024 * 1024;

/// One log entry.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Entry {
    /// 1, 2, 3...
    pub seq: u64,
    /// ISO time.
    pub at: String,
    /// Unix seconds.
    pub at_unix: u64,
    /// Operator attribution (`-` when none is configured).
    pub operator: String,
    /// Event name: `created`, `enrolled`, `enroll_failed`, `enroll_refused`, `window_opened`...
    pub event: String,
    /// Free text: host, reason...
    pub detail: String,
    /// Hex SHA-256 of the previous line (zeros for the first).
    pub prev: String,
    /// Hex CA signature over the entry with this field empty.
    pub sig: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Head {
    schema: u32,
    count: u64,
    last: String,
    sig: String,
}

fn head_bytes(count: u64, last: &str) -> Vec<u8> {
    format!("koi audit head v1|{count}|{last}").into_bytes()
}

fn sha(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn entry_signed_bytes(e: &Entry) -> Vec<u8> {
    let mut c = e.clone();
    c.sig.clear();
    json::to_string(&c).into_bytes()
}

/// The log at `dir/audit.log` with its head `dir/audit.head`.
#[derive(Debug, Clone)]
pub struct AuditLog {
    log: PathBuf,
    head: PathBuf,
}

impl AuditLog {
    /// The log in `dir`.
    pub fn new(dir: &Path) -> AuditLog {
        AuditLog {
            log: dir.join("audit.log"),
            head: dir.join("audit.head"),
        }
    }

    /// Path of the log.
    pub fn path(&self) -> &Path {
        &self.log
    }

    fn lines(&self) -> Result<Vec<String>, String> {
        match read_bounded(&self.log, MAX_LOG) {
            Ok(b) => Ok(String::from_utf8_lossy(&b)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect()),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Appends a signed entry and updates the signed head.
    pub fn append(
        &self,
        ca: &Ca,
        now: u64,
        operator: Option<&str>,
        event: &str,
        detail: &str,
    ) -> Result<Entry, String> {
        let lines = self.lines()?;
        let prev = lines
            .last()
            .map_or_else(|| GENESIS.to_string(), |l| sha(l.as_bytes()));
        let mut e = Entry {
            seq: lines.len() as u64 + 1,
            at: format_utc(now),
            at_unix: now,
            operator: operator.unwrap_or("-").to_string(),
            event: event.to_string(),
            detail: detail.to_string(),
            prev,
            sig: String::new(),
        };
        e.sig = hex(&ca.sign(&entry_signed_bytes(&e))?);
        let line = json::to_string(&e);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|err| format!("{}: {err}", self.log.display()))?;
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(|err| format!("{}: {err}", self.log.display()))?;
        let last = sha(line.as_bytes());
        let head = Head {
            schema: 1,
            count: e.seq,
            sig: hex(&ca.sign(&head_bytes(e.seq, &last))?),
            last,
        };
        write_atomic(
            &self.head,
            json::to_string(&head).as_bytes(),
            Secrecy::Public,
        )
        .map_err(|err| err.to_string())?;
        Ok(e)
    }

    /// Reads every entry without verifying.
    pub fn entries(&self) -> Result<Vec<Entry>, String> {
        self.lines()?
            .iter()
            .enumerate()
            .map(|(i, l)| {
                json::from_str(l)
                    .map_err(|_| format!("{} line {}: not an entry", self.log.display(), i + 1))
            })
            .collect()
    }

    /// Verifies the chain, every signature and the head; returns the entry count or the first
    /// problem found.
    pub fn verify(&self, ca_der: &[u8]) -> Result<u64, String> {
        let lines = self.lines()?;
        let mut prev = GENESIS.to_string();
        for (i, line) in lines.iter().enumerate() {
            let n = i as u64 + 1;
            let e: Entry = json::from_str(line)
                .map_err(|_| format!("entry {n}: not a valid entry (edited)"))?;
            let sig = unhex(&e.sig).unwrap_or_default();
            if !verify_signature(ca_der, &entry_signed_bytes(&e), &sig) {
                return Err(format!("entry {n}: signature does not verify (edited)"));
            }
            if e.seq != n {
                return Err(format!(
                    "entry {n}: sequence number {} where {n} was expected (deleted or reordered)",
                    e.seq
                ));
            }
            if e.prev != prev {
                return Err(format!(
                    "entry {n}: does not chain to the entry before it (deleted or reordered)"
                ));
            }
            prev = sha(line.as_bytes());
        }
        let bytes = read_bounded(&self.head, 4096).map_err(|e| {
            if lines.is_empty() && e.is_not_found() {
                "empty log".to_string()
            } else {
                format!("the signed head is missing or unreadable ({e})")
            }
        });
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) if e == "empty log" => return Ok(0),
            Err(e) => return Err(e),
        };
        let head: Head = json::from_str(&String::from_utf8_lossy(&bytes))
            .map_err(|_| "the signed head is not valid".to_string())?;
        let sig = unhex(&head.sig).unwrap_or_default();
        if !verify_signature(ca_der, &head_bytes(head.count, &head.last), &sig) {
            return Err("the signed head does not verify (edited)".into());
        }
        let count = lines.len() as u64;
        if head.count != count || head.last != prev {
            return Err(format!(
                "the signed head names {} entries but the log has {count} (truncated or rolled back)",
                head.count
            ));
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certmesh::roster::tests_support::test_ca;

    fn fresh(tag: &str) -> (PathBuf, AuditLog, Ca) {
        let dir = std::env::temp_dir().join(format!("koi-audit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = AuditLog::new(&dir);
        let ca = test_ca();
        for (i, ev) in ["created", "enrolled", "enroll_failed", "window_closed"]
            .iter()
            .enumerate()
        {
            log.append(
                &ca,
                1_700_000_000 + i as u64,
                Some("Maria"),
                ev,
                &format!("host{i}"),
            )
            .unwrap();
        }
        (dir, log, ca)
    }

    fn rewrite(log: &AuditLog, f: impl FnOnce(&mut Vec<String>)) {
        let mut lines = log.lines().unwrap();
        f(&mut lines);
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(log.path(), text).unwrap();
    }

    #[test]
    fn intact_log_verifies_with_attribution() {
        let (dir, log, ca) = fresh("ok");
        assert_eq!(log.verify(ca.cert_der()).unwrap(), 4);
        assert_eq!(log.entries().unwrap()[1].operator, "Maria");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn each_tamper_class_is_detected() {
        type Tamper = fn(&mut Vec<String>);
        let cases: [(&str, Tamper); 4] = [
            ("edit", |l| l[1] = l[1].replace("host1", "hostX")),
            ("delete", |l| {
                l.remove(1);
            }),
            ("reorder", |l| l.swap(1, 2)),
            ("truncate", |l| {
                l.pop();
            }),
        ];
        for (name, tamper) in cases {
            let (dir, log, ca) = fresh(name);
            rewrite(&log, tamper);
            let err = log.verify(ca.cert_der()).unwrap_err();
            eprintln!("{name}: {err}");
            let _ = std::fs::remove_dir_all(dir);
        }
        // Another CA's signatures do not verify.
        let (dir, log, _) = fresh("other");
        assert!(log.verify(test_ca().cert_der()).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
