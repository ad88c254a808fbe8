//! `pycache-guard uninstall`: remove our shims and nothing else.

use anyhow::Result;

use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::output::code;
use crate::shim::{self, SHIMS, Uninstalled};

use super::Context;

/// Removes every shim of ours, restoring the hooks they chained.
pub fn run(context: &Context) -> Result<ExitStatus> {
    let repo = Repo::discover()?;
    repo.workdir()?;
    let hooks_dir = repo.hooks_dir()?;
    let mut removed = 0;
    for shim in SHIMS {
        let hook = code(hooks_dir.join(shim.name).display());
        match shim::uninstall(&hooks_dir, shim.name)? {
            Uninstalled::Removed => context.printer.info(format!("removed the {} hook: {hook}", shim.name)),
            Uninstalled::Restored => {
                context.printer.info(format!("removed the {} hook and restored the one it chained: {hook}", shim.name));
            }
            Uninstalled::Foreign => {
                context.printer.verbose(format!("left {hook} alone: it is not a pycache-guard shim"));
                continue;
            }
            Uninstalled::Absent => continue,
        }
        removed += 1;
    }
    if removed == 0 {
        context.printer.info(format!("no pycache-guard hooks were installed in {}", code(hooks_dir.display())));
    }
    Ok(ExitStatus::Success)
}
