//! `pycache-guard install`: put the hook shims in place.

use anyhow::Result;

use crate::cli::InstallArgs;
use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::output::code;
use crate::shim::{self, Installed, Shim};

use super::{Context, Refusal};

/// The hooks that have working behaviour and are installed by default.
pub const INSTALLED_BY_DEFAULT: [&str; 9] = [
    "pre-commit",
    "pre-merge-commit",
    "post-checkout",
    "post-merge",
    "post-rewrite",
    "post-commit",
    "post-applypatch",
    "reference-transaction",
    "post-index-change",
];

/// Installs the shims, or explains why it will not.
pub fn run(context: &Context, args: &InstallArgs) -> Result<ExitStatus> {
    let repo = Repo::discover()?;
    let workdir = repo.workdir()?.to_path_buf();
    let shims = selected_shims(&args.hooks)?;
    if let Some((scope, value)) = repo.config_with_scope("core.hooksPath")?
        && matches!(scope.as_str(), "global" | "system")
        && !args.force
    {
        return Err(Refusal::new(
            format!("`core.hooksPath` is set in your {scope} git config (`{value}`); installing there would put our hooks in every repository that uses it"),
            "install there anyway with `pycache-guard install --force`, or give this repository its own hooks folder with `git config --local core.hooksPath .git/hooks`",
        )
        .into());
    }
    let hooks_dir = repo.hooks_dir()?;
    if !args.force
        && let Some(manager) = shim::detect_manager(&workdir, &hooks_dir)
    {
        context.printer.warning(format!(
            "this repository uses {}; add pycache-guard to {} instead of installing git hooks:",
            manager.name(),
            code(manager.config_file())
        ));
        context.printer.data(manager.snippet().trim_end());
        context.printer.hint("`pycache-guard install --force` installs the git hooks anyway");
        return Ok(ExitStatus::Success);
    }
    let exe = std::env::current_exe()?;
    let exe = exe.canonicalize().unwrap_or(exe);
    for shim in shims {
        let outcome = shim::install(&hooks_dir, shim, &exe)?;
        let hook = code(hooks_dir.join(shim.name).display());
        match outcome {
            Installed::Created => context.printer.info(format!("installed the {} hook: {hook}", shim.name)),
            Installed::Updated => context.printer.info(format!("updated the {} hook: {hook}", shim.name)),
            Installed::Unchanged => {
                context.printer.info(format!("the {} hook is already installed: {hook}", shim.name))
            }
            Installed::Chained { kept_as } => context.printer.info(format!(
                "installed the {} hook: {hook}; the hook that was there runs first, from {}",
                shim.name,
                code(kept_as.display())
            )),
        }
    }
    Ok(ExitStatus::Success)
}

/// The shims to install: those named with `--hook`, or the defaults.
fn selected_shims(names: &[String]) -> Result<Vec<Shim>> {
    if names.is_empty() {
        return Ok(INSTALLED_BY_DEFAULT.iter().filter_map(|name| Shim::named(name)).collect());
    }
    names
        .iter()
        .map(|name| match Shim::named(name) {
            Some(shim) if INSTALLED_BY_DEFAULT.contains(&shim.name) => Ok(shim),
            _ => Err(Refusal::new(
                format!("pycache-guard has no `{name}` hook"),
                format!("choose among {}", INSTALLED_BY_DEFAULT.map(|name| format!("`--hook {name}`")).join(", ")),
            )
            .into()),
        })
        .collect()
}
