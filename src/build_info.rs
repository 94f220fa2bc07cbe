//! What this binary is: version, commit and compiled-in capabilities.

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit this binary was built from, or `unknown`.
pub const COMMIT: &str = env!("KOI_GIT_COMMIT");

/// Every capability koi knows, in display order.
pub const ALL_CAPABILITIES: [&str; 5] = ["mdns", "certmesh", "dns", "health", "proxy"];

/// The capabilities compiled into this binary (one cargo feature each).
pub fn features() -> Vec<&'static str> {
    ALL_CAPABILITIES
        .iter()
        .copied()
        .filter(|c| compiled(c))
        .collect()
}

/// True if capability `name` is compiled in.
pub fn compiled(name: &str) -> bool {
    match name {
        "mdns" => cfg!(feature = "mdns"),
        "certmesh" => cfg!(feature = "certmesh"),
        "dns" => cfg!(feature = "dns"),
        "health" => cfg!(feature = "health"),
        "proxy" => cfg!(feature = "proxy"),
        _ => false,
    }
}
