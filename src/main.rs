//! The `pycache-guard` binary: parse, set up output and colour, run, exit.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use pycache_guard::cli::Cli;
use pycache_guard::output::{Colors, Printer, Verbosity};

fn main() -> ExitCode {
    // clap's own help and usage errors follow `--color` as the rest of the output does.
    let command = Cli::command().color(clap_color());
    let cli = match command.try_get_matches().and_then(|matches| Cli::from_arg_matches(&matches)) {
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

/// The colour of clap's own output, decided as ours is (see
/// [`pycache_guard::output::resolve_color`]): `--color`, then `CLICOLOR_FORCE`
/// over `NO_COLOR`, then clap's terminal detection for each stream.
fn clap_color() -> clap::ColorChoice {
    use pycache_guard::output::{ColorChoice, resolve_color};
    match color_from_args() {
        Some(choice) => choice,
        // Forced without a terminal: `CLICOLOR_FORCE`.
        None if resolve_color(ColorChoice::Auto, false) => clap::ColorChoice::Always,
        // Refused even on a terminal: `NO_COLOR`, `TERM=dumb`.
        None if !resolve_color(ColorChoice::Auto, true) => clap::ColorChoice::Never,
        None => clap::ColorChoice::Auto,
    }
}

/// The last `--color always|never` on the command line, read before clap
/// parses it (which is when clap already needs it); `None` for `auto`.
fn color_from_args() -> Option<clap::ColorChoice> {
    let mut args = std::env::args_os().skip(1);
    let mut choice = None;
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let value = if arg == "--color" {
            args.next()
        } else {
            arg.to_str().and_then(|arg| arg.strip_prefix("--color=")).map(Into::into)
        };
        match value.as_ref().and_then(|value| value.to_str()) {
            Some("always") => choice = Some(clap::ColorChoice::Always),
            Some("never") => choice = Some(clap::ColorChoice::Never),
            Some(_) => choice = None,
            None => {}
        }
    }
    choice
}
