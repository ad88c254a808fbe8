//! The `pycache-guard` binary: parse, set up output and colour, run, exit.

use std::process::ExitCode;

use clap::Parser;
use pycache_guard::cli::Cli;
use pycache_guard::output::{Colors, Printer, Verbosity};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints help and version to stdout with status 0, usage errors to stderr with 2.
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    let colors = Colors::resolve(cli.color);
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    pycache_guard::run(cli, Printer::new(verbosity, colors)).into()
}
