//! `my-eddy`: the `eddy` command with this crate's functions registered. Every subcommand
//! works as in `eddy` (`my-eddy`, `my-eddy --execute ...`, `my-eddy server`).

fn main() -> std::process::ExitCode {
    if let Err(error) = my_functions::register() {
        eprintln!("cannot register my functions: {error}");
        return std::process::ExitCode::FAILURE;
    }
    repl::main()
}
