//! `pycache-guard completions` and `pycache-guard man`: shell completion
//! scripts and the manual page, both generated from the clap definitions in
//! [`crate::cli`], so they can never disagree with `--help`.

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::ExitStatus;

use super::Context;

/// Writes the completion script for the chosen shell to stdout.
pub fn completions(context: &Context, args: &CompletionsArgs) -> Result<ExitStatus> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "pycache-guard", &mut script);
    if args.shell == clap_complete::Shell::Bash {
        script = mend_bash_case_labels(&script);
    }
    context.printer.data_bytes(&script).context("cannot write the completion script to stdout")?;
    Ok(ExitStatus::Success)
}

/// Writes the roff manual page to stdout, or every page into a folder.
pub fn man(context: &Context, args: &ManArgs) -> Result<ExitStatus> {
    if let Some(dir) = &args.dir {
        clap_mangen::generate_to(Cli::command(), dir).with_context(|| {
            format!(
                "cannot write the manual pages into `{}`",
                crate::display::quote_path(dir.as_os_str().as_encoded_bytes())
            )
        })?;
        return Ok(ExitStatus::Success);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page).context("cannot render the manual page")?;
    context.printer.data_bytes(&page).context("cannot write the manual page to stdout")?;
    Ok(ExitStatus::Success)
}

/// clap_complete's bash generator spells the state of a subcommand two ways
/// when the binary name has a hyphen (clap-rs/clap#6421, open in 4.6.12): the
/// loop that reads the words builds `pycache__guard__subcmd__check`, the
/// `case` arms test `pycache__subcmd__guard__subcmd__check`, so no option of a
/// subcommand would ever complete. The arms are respelled the loop's way.
fn mend_bash_case_labels(script: &[u8]) -> Vec<u8> {
    const WRONG: &[u8] = b"pycache__subcmd__guard";
    const RIGHT: &[u8] = b"pycache__guard";
    let mut mended = Vec::with_capacity(script.len());
    let mut rest = script;
    while let Some(at) = memchr::memmem::find(rest, WRONG) {
        mended.extend_from_slice(&rest[..at]);
        mended.extend_from_slice(RIGHT);
        rest = &rest[at + WRONG.len()..];
    }
    mended.extend_from_slice(rest);
    mended
}
