//! Head and chunk writers.
//!
//! Invariants: a writer validates everything before it writes, so on `Err` the output buffer
//! is untouched; and whatever it writes, the parsers in this module accept and read back to
//! the same values (header values lose surrounding whitespace). The writers do not add or
//! check framing headers; the caller chooses Content-Length or chunked.

use super::syntax::{is_field_byte, is_target, is_token};
use super::{Error, RequestHead, ResponseHead, Version};

/// The RFC 9110 reason phrase for a status code, or `""` for codes it does not name.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Writes an HTTP/1.1 request head, ending with the empty line. The method and header names
/// must be tokens and the target visible ASCII ([`Error::BadRequestLine`]); header values must
/// hold no control byte but HTAB ([`Error::BadHeader`]).
pub fn write_request_head(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Result<(), Error> {
    let fields = || headers.iter().map(|&(n, v)| (n, v));
    write_request(out, method, target, Version::Http11, fields)
}

/// Writes an HTTP/1.1 status line with [`reason_phrase`] and the headers, ending with the
/// empty line. The status must be 100 to 999 ([`Error::BadStatusLine`]); headers are checked
/// as for [`write_request_head`].
pub fn write_response_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
) -> Result<(), Error> {
    let fields = || headers.iter().map(|&(n, v)| (n, v));
    write_response(out, Version::Http11, status, reason_phrase(status), fields)
}

/// Writes one chunk of a chunked body; nothing for empty `data`, which would end the body
/// (use [`write_last_chunk`] for that).
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    push_hex(out, data.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Writes the zero-size chunk and the empty trailer section that end a chunked body.
pub fn write_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

impl RequestHead {
    /// Writes this head back out, version and fields as they are, with the checks of
    /// [`write_request_head`].
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let fields = || {
            self.headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.as_str()))
        };
        write_request(out, &self.method, &self.target, self.version, fields)
    }
}

impl ResponseHead {
    /// Writes this head back out, version and reason as they are, with the checks of
    /// [`write_response_head`]; a reason with a control byte is [`Error::BadStatusLine`].
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let fields = || {
            self.headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.as_str()))
        };
        write_response(out, self.version, self.status, &self.reason, fields)
    }
}

fn write_request<'a, I>(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    version: Version,
    fields: impl Fn() -> I,
) -> Result<(), Error>
where
    I: Iterator<Item = (&'a str, &'a str)>,
{
    if !is_token(method.as_bytes()) || !is_target(target.as_bytes()) {
        return Err(Error::BadRequestLine);
    }
    check_fields(fields())?;
    for part in [method, " ", target, " ", version.as_str(), "\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }
    push_fields(out, fields());
    Ok(())
}

fn write_response<'a, I>(
    out: &mut Vec<u8>,
    version: Version,
    status: u16,
    reason: &str,
    fields: impl Fn() -> I,
) -> Result<(), Error>
where
    I: Iterator<Item = (&'a str, &'a str)>,
{
    if !(100..=999).contains(&status) || !reason.bytes().all(is_field_byte) {
        return Err(Error::BadStatusLine);
    }
    check_fields(fields())?;
    out.extend_from_slice(version.as_str().as_bytes());
    out.push(b' ');
    // Three digits, since 100 <= status <= 999.
    for div in [100, 10, 1] {
        out.push(b'0' + (status / div % 10) as u8);
    }
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    push_fields(out, fields());
    Ok(())
}

fn check_fields<'a>(mut fields: impl Iterator<Item = (&'a str, &'a str)>) -> Result<(), Error> {
    let ok =
        fields.all(|(name, value)| is_token(name.as_bytes()) && value.bytes().all(is_field_byte));
    if ok {
        Ok(())
    } else {
        Err(Error::BadHeader)
    }
}

fn push_fields<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = (&'a str, &'a str)>) {
    for (name, value) in fields {
        for part in [name, ": ", value, "\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Lower-case hex without leading zeros (at least one digit).
fn push_hex(out: &mut Vec<u8>, n: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let nibbles = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..nibbles).rev() {
        out.push(DIGITS[((n >> (i * 4)) & 0xf) as usize]);
    }
}
