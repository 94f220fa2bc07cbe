//! Hidden door for `fuzz/` targets: each function drives one codec end to end and panics only
//! when a codec invariant (such as "parse → encode → parse is stable") is broken.

pub use crate::der::fuzzing as der;
pub use crate::dns::fuzzing as dns;
pub use crate::http::fuzzing as http;
