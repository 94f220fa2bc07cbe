//! Output and input helpers shared by the certmesh commands: JSON-or-text results, TTY
//! questions that never hang without a terminal, and the half-block QR code.

use crate::cli::common::Common;
use miniserde::json::{self, Object, Value};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// A JSON object builder.
pub(super) struct Obj(pub(super) Object);

impl Obj {
    pub(super) fn new() -> Obj {
        Obj(Object::new())
    }

    pub(super) fn s(mut self, k: &str, v: impl Into<String>) -> Obj {
        self.0.insert(k.into(), Value::String(v.into()));
        self
    }

    pub(super) fn v(mut self, k: &str, v: Value) -> Obj {
        self.0.insert(k.into(), v);
        self
    }

    pub(super) fn list(self, k: &str, items: &[String]) -> Obj {
        self.v(
            k,
            Value::Array(items.iter().map(|s| Value::String(s.clone())).collect()),
        )
    }
}

/// Prints the object (with --json) or the text, and succeeds.
pub(super) fn done(common: &Common, obj: Obj, text: &str) -> ExitCode {
    if common.json {
        println!("{}", json::to_string(&obj.0));
    } else {
        println!("{text}");
    }
    ExitCode::SUCCESS
}

/// True if a person can be asked.
pub(super) fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks a question on the terminal; `Err` without one (never hangs).
pub(super) fn ask(question: &str, flag: &str) -> Result<String, String> {
    if !interactive() {
        return Err(format!("missing {flag} (no terminal to ask)"));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(line.trim().to_string())
}

/// Reads a passphrase from a file (first line) or asks for it on the terminal, without echo.
pub(super) fn passphrase(file: Option<&str>) -> Result<crate::base::Secret, String> {
    let secret = match file {
        Some(f) => read_passphrase_file(f)?,
        None if interactive() => {
            crate::certmesh::entropy::read_hidden_line("CA passphrase: ", &mut std::io::stderr())?
        }
        None => return Err("missing --passphrase-file (no terminal to ask)".into()),
    };
    if secret.expose().is_empty() {
        return Err("the passphrase is empty".into());
    }
    Ok(secret)
}

/// The first line of a passphrase file.
pub(super) fn read_passphrase_file(f: &str) -> Result<crate::base::Secret, String> {
    let bytes = crate::base::Secret::new(
        std::fs::read(f).map_err(|e| format!("--passphrase-file {f}: {e}"))?,
    );
    let text = std::str::from_utf8(bytes.expose())
        .map_err(|_| format!("--passphrase-file {f}: not UTF-8"))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(format!("--passphrase-file {f}: the passphrase is empty"));
    }
    Ok(crate::base::Secret::new(line.as_bytes().to_vec()))
}

/// The otpauth URI as a half-block QR code, for terminals.
pub(super) fn qr(text: &str) -> String {
    let Ok(code) = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Low) else {
        return String::new();
    };
    let size = code.size();
    let border = 2;
    // Light modules are drawn, dark ones left blank: right for light-on-dark terminals.
    let light = |x: i32, y: i32| !code.get_module(x, y);
    let mut out = String::new();
    let mut y = -border;
    while y < size + border {
        for x in -border..size + border {
            out.push(match (light(x, y), light(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
        y += 2;
    }
    out
}

/// True if stdout is a terminal.
pub(super) fn stdout_tty() -> bool {
    std::io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_is_half_block_rows_that_qrcodegen_would_draw() {
        let uri =
            "otpauth://totp/koi:certmesh%40h?secret=F2TUIWUIBKWQ2P5WIJ5VZJKAPEGOZLZJ&issuer=koi";
        let code = qrcodegen::QrCode::encode_text(uri, qrcodegen::QrCodeEcc::Low).unwrap();
        let text = super::qr(uri);
        let rows: Vec<&str> = text.lines().collect();
        let width = (code.size() + 4) as usize;
        assert_eq!(rows.len(), width.div_ceil(2));
        assert!(rows.iter().all(|r| r.chars().count() == width));
        // Top-left finder pattern: dark module at (0,0) and (0,1) under a light border row.
        let second: Vec<char> = rows[1].chars().collect();
        assert_eq!(second[2], ' ', "the finder's dark corner is left blank");
        assert!(rows[0].chars().all(|c| c == '█'), "the quiet zone is light");
    }
}
