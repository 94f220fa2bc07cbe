//! tmux on a private socket, for tests of what a person sees on a terminal: one session `w`
//! running a bare bash with the prompt `READY$ `, killed (with everything in it) on drop.

use std::process::Command;

/// A private tmux server with one 120×30 session `w`.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Whether tmux is installed (tests/install-deps.sh installs it).
    pub fn available() -> bool {
        Command::new("tmux").arg("-V").output().is_ok()
    }

    /// Starts the server and its session; `tag` keeps parallel tests apart.
    pub fn start(tag: &str) -> Tmux {
        let t = Tmux {
            socket: format!("koi-{tag}-{}", std::process::id()),
        };
        t.cmd(&[
            "new-session",
            "-d",
            "-s",
            "w",
            "-x",
            "120",
            "-y",
            "30",
            "env PS1='READY$ ' bash --norc --noprofile",
        ]);
        t
    }

    /// Runs a tmux command against this server and returns its stdout.
    pub fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible pane, with colour escapes.
    pub fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-e", "-t", "w"])
    }

    /// Types `keys` literally (no key-name lookup).
    pub fn type_literal(&self, keys: &str) {
        self.cmd(&["send-keys", "-t", "w", "-l", keys]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}
