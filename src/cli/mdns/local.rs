//! Running an mDNS layer inside the CLI process, for `discover`, `announce` and `reflect`
//! when no agent runs.

use crate::base::shutdown_pair;
use crate::base::signals::Signals;
use crate::mdns::{Mdns, MdnsConfig};
use async_executor::LocalExecutor;
use async_io::Timer;
use futures_lite::future;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// Starts mDNS in this process, runs `body`, then stops it (goodbyes included, at most 2 s).
pub(super) fn with_local_mdns<T, F, Fut>(config: MdnsConfig, body: F) -> Result<T, String>
where
    F: FnOnce(Mdns) -> Fut,
    Fut: Future<Output = T>,
{
    let ex = Rc::new(LocalExecutor::new());
    let (stop, stopping) = shutdown_pair();
    let mdns = Mdns::start(&ex, config, stopping)
        .map_err(|e| format!("cannot start mDNS in this process: {e}"))?;
    let out = async_io::block_on(ex.run(async {
        let out = body(mdns.clone()).await;
        stop.trigger();
        let grace = async {
            Timer::after(Duration::from_secs(2)).await;
        };
        future::or(mdns.stopped(), grace).await;
        out
    }));
    Ok(out)
}

/// Resolves on SIGINT or SIGTERM (or never, if handlers cannot be installed).
pub(super) async fn interrupted() {
    match Signals::install() {
        Ok(mut s) => {
            let _ = s.recv().await;
        }
        Err(_) => future::pending::<()>().await,
    }
}

/// Resolves after `secs` seconds, or never when `secs` is `None`.
pub(super) async fn timeout(secs: Option<u64>) {
    match secs {
        Some(s) => {
            Timer::after(Duration::from_secs(s)).await;
        }
        None => future::pending::<()>().await,
    }
}
