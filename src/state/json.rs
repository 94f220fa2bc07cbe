//! Schema-versioned JSON state files.
//!
//! Every JSON file koi writes is an object with a top-level `"schema"` number. Reading checks
//! that number before decoding the rest, so a file from a newer koi is refused by name instead
//! of being misread.

use super::{read_bounded, write_atomic, Secrecy, StateError, StateErrorKind};
use miniserde::json::{self, Value};
use miniserde::{Deserialize, Serialize};
use std::path::Path;

/// Largest JSON state file koi reads (a roster of thousands of members fits easily).
const MAX_STATE_FILE: u64 = 16 * 1024 * 1024;

/// A state file's type and the schema number it is written with.
pub trait Versioned: Serialize + Deserialize {
    /// The schema number of this file type.
    const SCHEMA: u32;
}

/// Reads and decodes a versioned JSON file.
pub fn read_versioned<T: Versioned>(path: &Path) -> Result<T, StateError> {
    let bytes = read_bounded(path, MAX_STATE_FILE)?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| StateError::corrupt(path, "not UTF-8 text"))?;
    let value: Value =
        json::from_str(text).map_err(|_| StateError::corrupt(path, "not valid JSON"))?;
    let Value::Object(obj) = &value else {
        return Err(StateError::corrupt(path, "not a JSON object"));
    };
    let found = match obj.get("schema") {
        Some(Value::Number(n)) => number_as_u64(n),
        _ => None,
    }
    .ok_or_else(|| StateError::corrupt(path, "no schema version"))?;
    if found != u64::from(T::SCHEMA) {
        return Err(StateError {
            path: path.to_path_buf(),
            kind: StateErrorKind::UnsupportedSchema {
                found,
                expected: T::SCHEMA,
            },
        });
    }
    json::from_str(text).map_err(|_| StateError::corrupt(path, "fields missing or mistyped"))
}

fn number_as_u64(n: &miniserde::json::Number) -> Option<u64> {
    match n {
        miniserde::json::Number::U64(u) => Some(*u),
        _ => None,
    }
}

/// Encodes and atomically writes a versioned JSON file.
pub fn write_versioned<T: Versioned>(
    path: &Path,
    value: &T,
    secrecy: Secrecy,
) -> Result<(), StateError> {
    let mut text = json::to_string(value);
    text.push('\n');
    write_atomic(path, text.as_bytes(), secrecy)
}
