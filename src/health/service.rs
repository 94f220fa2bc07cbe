//! The running health capability: the checks and their tasks, the machine verdicts, and the
//! transition log, on the agent's single executor.
//!
//! Owns adding and removing checks (persisting them), folding each run's outcome in (a change
//! of label is a transition, logged once), and the machine tick that reads the signal sources
//! every second. Reads the clock only here, at the edge; the logic it calls takes `now`.

use super::checks::TlsConfig;
use super::json::{MachineJson, ServiceJson, StatusJson, TransitionJson};
use super::machines::{Machines, SignalSource};
use super::model::{CheckSpec, Outcome, ServiceView};
use super::scheduler::{run_check, Permits};
use super::translog::{TransLog, Transition, DEFAULT_CAP};
use super::{store, HealthConfig};
use crate::base::{now_unix, Prng, Shutdown, UnixTime};
use crate::state::StateError;
use async_executor::{LocalExecutor, Task};
use async_io::Timer;
use futures_lite::future;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;

struct Service {
    view: ServiceView,
    _task: Task<()>,
}

/// The state behind [`Health`].
pub(super) struct Core {
    services: BTreeMap<String, Service>,
    machines: Machines,
    log: TransLog,
}

impl Core {
    fn transition(&mut self, t: Transition) {
        crate::log!(
            Info,
            "health",
            "{}: {} → {} ({})",
            t.name,
            t.from,
            t.to,
            t.reason
        );
        if let Err(e) = self.log.append(&t) {
            crate::log!(Warn, "health", "cannot write the transition log: {e}");
        }
    }

    /// Folds in one run's outcome.
    pub(super) fn record(&mut self, name: &str, outcome: Outcome, drift: u64, now: UnixTime) {
        let Some(s) = self.services.get_mut(name) else {
            return;
        };
        let v = &mut s.view;
        v.runs += 1;
        v.max_drift_ms = v.max_drift_ms.max(drift);
        v.checked_at = Some(now);
        let before = v.last.as_ref().map_or("unknown", |o| o.label.as_str());
        let changed = before != outcome.label;
        let t = changed.then(|| Transition {
            at: now,
            name: name.to_string(),
            from: before.to_string(),
            to: outcome.label.clone(),
            reason: outcome.reason.clone(),
        });
        if changed {
            v.since = Some(now);
        }
        v.last = Some(outcome);
        if let Some(t) = t {
            self.transition(t);
        }
    }
}

/// Reads every signal source and folds the machines' signals in.
fn tick_machines(core: &RefCell<Core>, sources: &[Box<dyn SignalSource>]) {
    let now = now_unix();
    let mut c = core.borrow_mut();
    let changes = c.machines.round(now, |signals| {
        for s in sources {
            s.collect(now, signals);
        }
    });
    for t in changes {
        c.transition(t);
    }
}

/// A handle on the running capability (cheap to clone).
#[derive(Clone)]
pub struct Health {
    core: Rc<RefCell<Core>>,
    ex: Rc<LocalExecutor<'static>>,
    tls: Rc<TlsConfig>,
    permits: Permits,
    prng: Rc<RefCell<Prng>>,
    store: PathBuf,
}

impl Health {
    /// Loads the stored checks and starts them and the machine tick.
    pub fn start(
        ex: &Rc<LocalExecutor<'static>>,
        config: HealthConfig,
        sources: Vec<Box<dyn SignalSource>>,
        stopping: Shutdown,
    ) -> Result<Health, StateError> {
        let store = config.state.root().join("health.json");
        let checks = store::load(&store)?;
        let cap = if config.log_cap == 0 {
            DEFAULT_CAP
        } else {
            config.log_cap
        };
        let core = Core {
            services: BTreeMap::new(),
            machines: Machines::new(config.grace),
            log: TransLog::new(config.state.root().join("health.log"), cap),
        };
        let h = Health {
            core: Rc::new(RefCell::new(core)),
            ex: ex.clone(),
            tls: Rc::new(TlsConfig::new(config.extra_roots.clone())),
            permits: Permits::new(config.max_concurrent),
            prng: Rc::new(RefCell::new(Prng::from_os())),
            store,
        };
        for spec in checks {
            h.spawn(spec);
        }
        let weak = Rc::downgrade(&h.core);
        let tick = config.tick;
        ex.spawn(async move {
            let ticking = async {
                loop {
                    let Some(core) = weak.upgrade() else { return };
                    tick_machines(&core, &sources);
                    drop(core);
                    Timer::after(tick).await;
                }
            };
            future::or(ticking, stopping.wait()).await;
        })
        .detach();
        Ok(h)
    }

    fn spawn(&self, spec: CheckSpec) {
        let random = self.prng.borrow_mut().next_u64();
        let task = self.ex.spawn(run_check(
            Rc::downgrade(&self.core),
            spec.clone(),
            self.tls.clone(),
            self.permits.clone(),
            random,
        ));
        let view = ServiceView {
            spec,
            last: None,
            checked_at: None,
            since: None,
            max_drift_ms: 0,
            runs: 0,
        };
        let name = view.spec.name.clone();
        self.core
            .borrow_mut()
            .services
            .insert(name, Service { view, _task: task });
    }

    fn save(&self) -> Result<(), StateError> {
        let core = self.core.borrow();
        store::save(&self.store, core.services.values().map(|s| &s.view.spec))
    }

    /// Adds a check; false if one of that name exists.
    pub fn add(&self, spec: CheckSpec) -> Result<bool, StateError> {
        if self.core.borrow().services.contains_key(&spec.name) {
            return Ok(false);
        }
        self.spawn(spec);
        self.save().map(|()| true)
    }

    /// Removes a check; false if there is none of that name.
    pub fn remove(&self, name: &str) -> Result<bool, StateError> {
        let gone = self.core.borrow_mut().services.remove(name);
        if gone.is_none() {
            return Ok(false);
        }
        self.save()?;
        drop(gone);
        Ok(true)
    }

    /// The status document.
    pub fn status(&self) -> StatusJson {
        let core = self.core.borrow();
        StatusJson {
            now: now_unix(),
            machines: core
                .machines
                .views()
                .map(|v| MachineJson::from_view(&v))
                .collect(),
            services: core
                .services
                .values()
                .map(|s| ServiceJson::from_view(&s.view))
                .collect(),
        }
    }

    /// Transitions at or after `since`.
    pub fn log_since(&self, since: UnixTime) -> Vec<TransitionJson> {
        self.core
            .borrow()
            .log
            .read_since(since)
            .iter()
            .map(TransitionJson::from_transition)
            .collect()
    }
}
