//! `pycache-guard uninstall`: remove our shims and nothing else.

use anyhow::Result;

use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::hook_type::HookType;
use crate::output::code;
use crate::shim::{self, SHIMS, Uninstalled};

use super::Context;

/// Removes every shim of ours, those of retired hooks included, restoring
/// the hooks they chained.
pub fn run(context: &Context) -> Result<ExitStatus> {
    let repo = Repo::discover()?;
    repo.workdir()?;
    let hooks_dir = repo.hooks_dir()?;
    let mut removed = 0;
    let retired = HookType::RETIRED.map(HookType::name);
    for name in SHIMS.iter().map(|shim| shim.name).chain(retired) {
        let hook = code(hooks_dir.join(name).display());
        match shim::uninstall(&hooks_dir, name)? {
            Uninstalled::Removed => context.printer.info(format!("removed the {name} hook: {hook}")),
            Uninstalled::Restored => {
                context.printer.info(format!("removed the {name} hook and restored the one it chained: {hook}"));
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
