//! HTTP/1.1 heads and bodies (placeholder; being written).

#[doc(hidden)]
pub mod fuzzing {}
