//! A broadcast "stop now" signal for async tasks.
//!
//! Built on a closed channel: closing wakes every waiter at once, and stays observable, so a
//! task that starts waiting after the trigger returns immediately.

/// The waiting side; clone it into every task that must stop.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: async_channel::Receiver<()>,
}

/// The triggering side.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger {
    tx: async_channel::Sender<()>,
}

/// A new untriggered signal.
pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = async_channel::bounded(1);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    /// Wakes every waiter; later waiters return at once.
    pub fn trigger(&self) {
        self.tx.close();
    }
}

impl Shutdown {
    /// Resolves once the signal has been triggered.
    pub async fn wait(&self) {
        let _ = self.rx.recv().await;
    }

    /// True once the signal has been triggered.
    pub fn is_triggered(&self) -> bool {
        self.rx.is_closed()
    }
}
