//! The approval prompt on the CA's own terminal (spec §4.5): when the agent runs in the
//! foreground on a TTY, each waiting join is shown there and `y`/`n` decides it, exactly like
//! `koi certmesh approve|deny`. Reading the terminal happens on a helper thread; deciding
//! happens on the executor. Without a terminal nothing is started.

use super::CertmeshService;
use crate::base::{now_unix, OsRandom, Shutdown};
use async_executor::LocalExecutor;
use async_io::Timer;
use futures_lite::future;
use std::io::{BufRead, IsTerminal};
use std::rc::Rc;
use std::time::Duration;

enum Wake {
    Line(String),
    Tick,
    Stop,
}

/// Starts the prompt if stdin is a terminal.
pub(super) fn start(ex: &Rc<LocalExecutor<'static>>, svc: CertmeshService, stopping: Shutdown) {
    if !std::io::stdin().is_terminal() {
        return;
    }
    let (tx, rx) = async_channel::unbounded::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send_blocking(line).is_err() {
                break;
            }
        }
    });
    ex.spawn(async move {
        let mut asked: Option<(String, String)> = None;
        loop {
            if let Some((id, host)) = &asked {
                let still = svc.auth.borrow().pending().any(|p| &p.id == id);
                if !still {
                    eprintln!("certmesh: {host} was decided elsewhere");
                    asked = None;
                }
            }
            if asked.is_none() {
                let next = svc.auth.borrow().pending().next().map(|p| {
                    let ips: Vec<String> = p.request.ips.iter().map(|i| i.to_string()).collect();
                    (p.id.clone(), p.request.hostname.clone(), ips.join(", "))
                });
                if let Some((id, host, ips)) = next {
                    eprintln!(
                        "certmesh: {host} ({ips}) asks to join. Approve? [y/n] (or `koi certmesh approve|deny {host}`)"
                    );
                    asked = Some((id, host));
                }
            }
            let wake = future::or(
                async {
                    match rx.recv().await {
                        Ok(l) => Wake::Line(l),
                        Err(_) => {
                            future::pending::<()>().await;
                            Wake::Stop
                        }
                    }
                },
                future::or(
                    async {
                        stopping.wait().await;
                        Wake::Stop
                    },
                    async {
                        Timer::after(Duration::from_millis(300)).await;
                        Wake::Tick
                    },
                ),
            )
            .await;
            let line = match wake {
                Wake::Stop => break,
                Wake::Tick => continue,
                Wake::Line(l) => l.trim().to_ascii_lowercase(),
            };
            let Some((id, host)) = asked.clone() else {
                continue;
            };
            let result = match line.as_str() {
                "y" | "yes" => svc
                    .auth
                    .borrow_mut()
                    .approve(&id, now_unix(), &mut OsRandom)
                    .map(|_| format!("certmesh: approved {host}")),
                "n" | "no" => svc
                    .auth
                    .borrow_mut()
                    .deny(&id, now_unix())
                    .map(|_| format!("certmesh: denied {host}")),
                _ => {
                    eprintln!("certmesh: answer y or n for {host}");
                    continue;
                }
            };
            match result {
                Ok(msg) => eprintln!("{msg}"),
                Err(e) => eprintln!("certmesh: {host}: {e}"),
            }
            asked = None;
        }
    })
    .detach();
}
