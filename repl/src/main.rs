//! The `eddy` binary.

fn main() -> std::process::ExitCode {
    repl::main()
}
