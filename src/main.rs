//! The `koi` binary: argh dispatch only; everything else lives in the library.

fn main() -> std::process::ExitCode {
    koi::cli::main_with_args(std::env::args().collect())
}
