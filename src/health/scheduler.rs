//! Running checks on their schedules: one task per check on the agent's executor.
//!
//! Each task sleeps until its check is due, takes a permit (at most `max_concurrent` checks
//! are in flight at once), runs the probe against a deadline of `timeout`, hands the outcome
//! back, and computes its next due time ([`super::schedule`]). A slow or hanging target only
//! holds its own task (and one permit, until its deadline): other checks keep their times.
//! Tasks hold the core weakly, so removing a check (dropping its task) or stopping the agent
//! ends them.

use super::checks::{self, TlsConfig};
use super::model::CheckSpec;
use super::schedule::{drift_ms, first_due, next_due};
use super::service::Core;
use async_channel::{Receiver, Sender};
use async_io::Timer;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Instant;

/// Permits for checks in flight: a bounded channel used as a semaphore.
#[derive(Clone, Debug)]
pub(super) struct Permits {
    take: Sender<()>,
    give: Receiver<()>,
}

impl Permits {
    pub(super) fn new(n: usize) -> Permits {
        let (take, give) = async_channel::bounded(n.max(1));
        Permits { take, give }
    }

    async fn acquire(&self) -> Permit<'_> {
        let _ = self.take.send(()).await;
        Permit(self)
    }
}

struct Permit<'a>(&'a Permits);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let _ = self.0.give.try_recv();
    }
}

/// The loop of one check; `random` sets its phase.
pub(super) async fn run_check(
    core: Weak<RefCell<Core>>,
    spec: CheckSpec,
    tls: Rc<TlsConfig>,
    permits: Permits,
    random: u64,
) {
    let mut due = first_due(Instant::now(), spec.interval, random);
    loop {
        Timer::at(due).await;
        let outcome = {
            let _permit = permits.acquire().await;
            let started = Instant::now();
            let drift = drift_ms(due, started);
            let outcome = Box::pin(checks::run(&spec, &tls, started + spec.timeout)).await;
            (outcome, drift)
        };
        let Some(core) = core.upgrade() else {
            return;
        };
        core.borrow_mut()
            .record(&spec.name, outcome.0, outcome.1, crate::base::now_unix());
        drop(core);
        due = next_due(due, spec.interval, Instant::now());
    }
}
