//! What this binary is: version, commit and compiled-in capabilities.

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit this binary was built from, or `unknown`.
pub const COMMIT: &str = env!("KOI_GIT_COMMIT");

/// Every capability koi knows, in display order.
pub const ALL_CAPABILITIES: [&str; 5] = ["mdns", "certmesh", "dns", "health", "proxy"];

/// The capabilities compiled into this binary (one cargo feature each).
pub fn features() -> Vec<&'static str> {
    let flags = [
        cfg!(feature = "mdns"),
        cfg!(feature = "certmesh"),
        cfg!(feature = "dns"),
        cfg!(feature = "health"),
        cfg!(feature = "proxy"),
    ];
    ALL_CAPABILITIES
        .iter()
        .zip(flags)
        .filter_map(|(name, on)| on.then_some(*name))
        .collect()
}

/// True if capability `name` is compiled in.
pub fn compiled(name: &str) -> bool {
    features().contains(&name)
}
