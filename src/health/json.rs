//! The JSON shapes of `/v1/health/...` and `koi health ... --json`.

use super::machines::MachineView;
use super::model::{ServiceView, State};
use super::translog::Transition;
use crate::base::UnixTime;
use miniserde::{Deserialize, Serialize};

/// A machine in `status`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct MachineJson {
    /// Host name without `.local`.
    pub name: String,
    /// `up`, `down` or `unknown`.
    pub state: String,
    /// Why.
    pub reason: String,
    /// Last seen over mDNS (Unix seconds).
    pub last_seen: Option<u64>,
    /// Days until its cert expires.
    pub cert_days: Option<i64>,
    /// When its state last changed.
    pub since: u64,
}

/// A service check in `status`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ServiceJson {
    /// Check name.
    pub name: String,
    /// `up`, `down` or `unknown`.
    pub state: String,
    /// Short result: `200`, `open`, `refused`, `timeout`, `tls`, ...
    pub label: String,
    /// Why.
    pub reason: String,
    /// When it last ran (Unix seconds).
    pub checked_at: Option<u64>,
    /// When its result last changed.
    pub since: Option<u64>,
    /// `host:port`.
    pub target: String,
    /// The URL or `host:port` as added.
    pub url: String,
    /// `http` or `tcp`.
    pub kind: String,
    /// Interval in milliseconds.
    pub interval_ms: u64,
    /// Largest lateness against its schedule so far.
    pub max_drift_ms: u64,
    /// Runs so far.
    pub runs: u64,
}

/// `GET /v1/health/status`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct StatusJson {
    /// The agent's clock, so clients can say "12s ago".
    pub now: u64,
    /// Machines by name.
    pub machines: Vec<MachineJson>,
    /// Checks by name.
    pub services: Vec<ServiceJson>,
}

/// `POST /v1/health/add`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct AddRequest {
    /// Check name.
    pub name: String,
    /// URL for an HTTP check.
    pub http: Option<String>,
    /// `host:port` for a TCP check.
    pub tcp: Option<String>,
    /// e.g. `30s`.
    pub interval: Option<String>,
    /// e.g. `5s`.
    pub timeout: Option<String>,
    /// e.g. `200-399`.
    pub expect: Option<String>,
}

/// `POST /v1/health/remove`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct RemoveRequest {
    /// Check name.
    pub name: String,
}

/// One transition in `GET /v1/health/log`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TransitionJson {
    /// Unix seconds.
    pub at: u64,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub time: String,
    /// Machine or check.
    pub name: String,
    /// Label before.
    pub from: String,
    /// Label after.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// `GET /v1/health/log`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct LogJson {
    /// Oldest first.
    pub transitions: Vec<TransitionJson>,
}

impl MachineJson {
    /// From a verdict.
    pub fn from_view(v: &MachineView) -> MachineJson {
        MachineJson {
            name: v.name.clone(),
            state: v.state.as_str().to_string(),
            reason: v.reason.to_string(),
            last_seen: v.last_seen,
            cert_days: v.cert_days,
            since: v.since,
        }
    }
}

impl ServiceJson {
    /// From a check's view.
    pub fn from_view(v: &ServiceView) -> ServiceJson {
        let (state, label, reason) = match &v.last {
            Some(o) => (o.state, o.label.clone(), o.reason.clone()),
            None => (
                State::Unknown,
                "unknown".to_string(),
                "not checked yet".to_string(),
            ),
        };
        ServiceJson {
            name: v.spec.name.clone(),
            state: state.as_str().to_string(),
            label,
            reason,
            checked_at: v.checked_at,
            since: v.since,
            target: v.spec.shown_target(),
            url: v.spec.target.clone(),
            kind: v.spec.kind().to_string(),
            interval_ms: u64::try_from(v.spec.interval.as_millis()).unwrap_or(u64::MAX),
            max_drift_ms: v.max_drift_ms,
            runs: v.runs,
        }
    }
}

impl TransitionJson {
    /// From a log line.
    pub fn from_transition(t: &Transition) -> TransitionJson {
        TransitionJson {
            at: t.at,
            time: super::translog::format_time(t.at),
            name: t.name.clone(),
            from: t.from.clone(),
            to: t.to.clone(),
            reason: t.reason.clone(),
        }
    }

    /// Back to a transition (for rendering).
    pub fn to_transition(&self) -> Transition {
        Transition {
            at: self.at as UnixTime,
            name: self.name.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            reason: self.reason.clone(),
        }
    }
}
