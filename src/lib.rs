//! pycache-guard keeps Python bytecode where it belongs: out of commits, and
//! honest across checkouts.
//!
//! The binary (`src/main.rs`) is a thin shell over [`run`]. The library is
//! split by concern: [`artifact`] knows what bytecode is, [`guard`] judges a
//! staged set, [`git`] is the only door to git (and the only builder of a
//! git command line), [`index`] reads big indexes fast without git,
//! [`hook_event`] parses what git told a hook and [`changes`] asks git what
//! that event changed, [`shim`] installs hooks, [`manager`] judges hook managers, and
//! `commands` turns all of it into output.

pub mod artifact;
pub mod changes;
pub mod check;
pub mod clean;
pub mod cli;
mod commands;
pub mod compile;
pub mod config;
pub mod depth;
pub mod display;
pub mod encoding;
pub mod env;
pub mod exit;
pub mod finding;
pub mod freshness;
pub mod git;
pub mod gitignore;
pub mod guard;
pub mod hook_event;
pub mod hook_type;
pub mod ignore_survey;
pub mod index;
pub mod interpreter;
pub mod manager;
pub mod output;
pub mod paths;
pub mod pyc;
pub mod rebuild;
pub mod record;
pub mod safe_fs;
pub mod shim;
pub mod source;
pub mod state;
pub mod store;
pub mod sweep;
pub mod syntax;
pub mod verdict;
pub mod walk;

use crate::cli::Cli;
use crate::exit::ExitStatus;
use crate::output::Printer;

/// Runs a parsed command line: changes directory for `-C`, dispatches, and
/// renders an error chain as `error:` / `caused by:` lines with a hint.
pub fn run(cli: Cli, printer: Printer) -> ExitStatus {
    if let Some(dir) = &cli.directory
        && let Err(error) = std::env::set_current_dir(dir)
    {
        printer
            .error(format!("cannot change to `{}`: {error}", display::quote_path(dir.as_os_str().as_encoded_bytes())));
        return ExitStatus::Failure;
    }
    let hook = match &cli.command {
        cli::Command::Hook(args) => hook_type::HookType::parse(&args.name),
        _ => None,
    };
    let result = commands::Context::new(printer).and_then(|context| commands::dispatch(cli.command, &context));
    match result {
        Ok(status) => status,
        Err(error) => {
            render_error(&printer, &error);
            // The hooks after a command that changed files never fail it.
            if hook.is_some_and(hook_type::HookType::never_fails) { ExitStatus::Success } else { ExitStatus::Failure }
        }
    }
}

fn render_error(printer: &Printer, error: &anyhow::Error) {
    printer.error(display::sanitize_text(&error.to_string()));
    for cause in error.chain().skip(1) {
        printer.detail(format!("  caused by: {}", display::sanitize_text(&cause.to_string())));
    }
    if let Some(hint) = commands::hint_for(error) {
        printer.hint(hint);
    }
}
