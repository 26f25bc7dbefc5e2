//! The `footfall` binary: everything lives in the library (see `footfall::cli`).

fn main() -> std::process::ExitCode {
    footfall::cli::main()
}
