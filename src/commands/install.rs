//! `pycache-guard install`: put the hook shims in place, or, where a hook
//! manager's scripts are installed, say what its configuration still lacks.
//!
//! The judgement is [`crate::manager::survey`] of the hooks folder: a
//! manager's configuration file alone installs nothing, so with no manager
//! installed our shims go in. Exit status: 0 when every hook runs
//! pycache-guard afterwards (installed now or already), 1 when nothing was
//! installed because a manager owns the hooks and its configuration or its
//! installed hook types still lack pycache-guard, 2 on failure.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::Result;

use crate::cli::InstallArgs;
use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::hook_type::HookType;
use crate::manager::{self, Manager, snippet};
use crate::output::code;
use crate::shim::{self, Installed, Sharing, Shim};

use super::{Context, Refusal};

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
    let hooks_dir = hooks_dir_git_runs(&repo, &workdir)?;
    let survey = manager::survey(&workdir, &hooks_dir);
    if !args.force
        && let Some(manager) = survey.installed
    {
        return Ok(advise(context, manager, &survey, &workdir, &hooks_dir));
    }
    if !args.force
        && let Some(tracked) = tracked_hook(&repo, &workdir, &hooks_dir)
    {
        return Err(Refusal::new(
            format!(
                "`{}` is tracked by git: `core.hooksPath` points at a folder the repository shares, and installing would overwrite or add files there",
                crate::display::sanitize_text(&tracked.display().to_string())
            ),
            "call `pycache-guard hook <name> \"$@\"` from those hooks yourself (see the README's hook managers section), or install anyway with `pycache-guard install --force`",
        )
        .into());
    }
    let sharing = Sharing::parse(repo.config_with_scope("core.sharedRepository")?.map(|(_, value)| value).as_deref());
    install_shims(context, &hooks_dir, &shims, sharing)?;
    retire_shims(context, &hooks_dir)?;
    if !args.force {
        mention_configured_managers(context, &survey, &workdir);
    }
    Ok(ExitStatus::Success)
}

/// A tracked file in `hooks_dir`, when that folder lies in the work tree
/// (a `core.hooksPath` such as `.githooks`, committed for the whole team).
fn tracked_hook(repo: &Repo, workdir: &Path, hooks_dir: &Path) -> Option<std::path::PathBuf> {
    let top = |path: &Path| path.canonicalize().unwrap_or_else(|_| crate::paths::normalize(path));
    let relative = top(hooks_dir).strip_prefix(top(workdir)).ok()?.as_os_str().as_bytes().to_vec();
    let index = crate::index::Index::load(&repo.index_location()).ok()?;
    let mut prefix = relative;
    prefix.push(b'/');
    let tracked = index.entries().find(|entry| entry.path.starts_with(&prefix))?;
    Some(workdir.join(std::ffi::OsStr::from_bytes(tracked.path)))
}

/// The folder git runs hooks from, or a refusal where git would run none we
/// could put there: an empty `core.hooksPath` (git then runs no hook at
/// all), or one naming the top of the work tree (`.`), where the shims would
/// be files a commit could add and git cannot start them (it looks a bare
/// `pre-commit` up on `PATH` and fails the commit).
pub(super) fn hooks_dir_git_runs(repo: &Repo, workdir: &Path) -> Result<std::path::PathBuf> {
    hooks_dir_of(repo.hooks_facts()?, workdir)
}

/// [`hooks_dir_git_runs`] from what git said.
pub(super) fn hooks_dir_of(facts: crate::git::HooksFacts, workdir: &Path) -> Result<std::path::PathBuf> {
    let crate::git::HooksFacts { configured, hooks_dir } = facts;
    if let Some((scope, value)) = &configured
        && value.is_empty()
    {
        return Err(Refusal::new(
            format!("`core.hooksPath` is empty in your {scope} git config, so git runs no hook at all"),
            format!(
                "unset it with `git config --{scope} --unset core.hooksPath`, then run `pycache-guard install` again"
            ),
        )
        .into());
    }
    let hooks_dir = match (hooks_dir, &configured) {
        (Ok(dir), _) => dir,
        // git itself cannot resolve the configured folder (`./`): it runs no hook.
        (Err(error), Some((scope, value))) => {
            return Err(Refusal::new(
                format!("`core.hooksPath` is `{value}` in your {scope} git config, a folder git cannot resolve ({error}), so git runs no hook"),
                format!("set it to a folder of its own with `git config --{scope} core.hooksPath <folder>`, or unset it, then run `pycache-guard install` again"),
            )
            .into());
        }
        (Err(error), None) => return Err(error.into()),
    };
    let top = |path: &Path| path.canonicalize().unwrap_or_else(|_| crate::paths::normalize(path));
    if let Some((scope, value)) = &configured
        && top(&hooks_dir) == top(workdir)
    {
        return Err(Refusal::new(
            format!("`core.hooksPath` is `{value}` in your {scope} git config: the top of the work tree, where hooks would be files a commit could add, and git cannot run them there"),
            "give this repository its own hooks folder with `git config --local core.hooksPath .git/hooks`, then run `pycache-guard install` again",
        )
        .into());
    }
    Ok(hooks_dir)
}

fn install_shims(context: &Context, hooks_dir: &Path, shims: &[Shim], sharing: Sharing) -> Result<()> {
    let exe = std::env::current_exe()?;
    let exe = exe.canonicalize().unwrap_or(exe);
    for &shim in shims {
        let outcome = shim::install(hooks_dir, shim, &exe, sharing)?;
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
    Ok(())
}

/// Removes the shims of hooks an older version installed and this one no
/// longer needs, putting back the hooks they chained.
fn retire_shims(context: &Context, hooks_dir: &Path) -> Result<()> {
    for hook in HookType::RETIRED {
        let path = code(hooks_dir.join(hook.name()).display());
        match shim::uninstall(hooks_dir, hook.name())? {
            shim::Uninstalled::Removed => context.printer.info(format!(
                "removed the {hook} hook an older pycache-guard installed (the other hooks hear what it heard): {path}"
            )),
            shim::Uninstalled::Restored => context.printer.info(format!(
                "removed the {hook} hook an older pycache-guard installed, and restored the one it chained: {path}"
            )),
            shim::Uninstalled::Foreign | shim::Uninstalled::Absent => {}
        }
    }
    Ok(())
}

/// Our shims are in; a manager configured but not installed could run us instead.
fn mention_configured_managers(context: &Context, survey: &manager::Survey, workdir: &Path) {
    let Some((manager, config)) = survey.configured.first() else { return };
    let file = crate::display::sanitize_text(&config.strip_prefix(workdir).unwrap_or(config).to_string_lossy());
    context.printer.hint(format!(
        "this project also configures {} ({}), which is not installed here; to run pycache-guard through it instead, run `pycache-guard uninstall`, then `{}`, then `pycache-guard install` again: it prints what to add",
        manager.name(),
        code(file),
        manager.install_command(),
    ));
}

fn list(hooks: &[&str]) -> String {
    hooks.iter().map(code).collect::<Vec<_>>().join(", ")
}

/// A manager owns the hooks: says what still keeps it from running us.
fn advise(
    context: &Context,
    manager: Manager,
    survey: &manager::Survey,
    workdir: &Path,
    hooks_dir: &Path,
) -> ExitStatus {
    let missing: Vec<&str> = survey.missing().iter().map(|status| status.hook).collect();
    let folder = code(hooks_dir.display());
    if missing.is_empty() {
        let hooks: Vec<&str> = survey.hooks.iter().map(|status| status.hook).collect();
        let hooks = list(&hooks);
        context.printer.info(format!("{} runs pycache-guard on {hooks}; nothing to install", manager.name()));
        return ExitStatus::Success;
    }
    let not_installed = survey.not_installed();
    if not_installed.len() == missing.len() {
        context.printer.warning(format!(
            "the hooks in {folder} are run by {}, and its configuration runs pycache-guard, but it has not installed the {} hooks",
            manager.name(),
            list(&not_installed)
        ));
    } else {
        context.printer.warning(format!(
            "the hooks in {folder} are run by {}, and it does not run pycache-guard on {}; add it to its configuration instead of installing git hooks",
            manager.name(),
            list(&missing)
        ));
    }
    let advice = snippet::advice(manager, survey, workdir, hooks_dir);
    for piece in &advice.pieces {
        context.printer.hint(format!("add this {}:", piece.place));
        context.printer.data(&piece.text);
    }
    if !advice.commands.is_empty() {
        let commands: Vec<String> = advice.commands.iter().map(code).collect();
        let then = if advice.pieces.is_empty() { "run" } else { "then run" };
        let mut line = format!("{then} {}", commands.join(", then "));
        if let Some(alternative) = &advice.alternative {
            line.push_str(&format!(" (or, without changing the configuration, {})", code(alternative)));
        }
        context.printer.hint(line);
    }
    if !on_path("pycache-guard") {
        context.printer.warning(
            "`pycache-guard` is not on your `PATH`, so these hooks cannot find it; install it with `pip install pycache-guard`, `uv tool install pycache-guard`, `pipx install pycache-guard` or `cargo install pycache-guard`",
        );
    }
    context.printer.hint("`pycache-guard install --force` installs our git hooks anyway");
    ExitStatus::Findings
}

/// Whether a program of that name is on `PATH`, as the hook's shell would find it.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    crate::env::path().is_some_and(|path| {
        std::env::split_paths(&path).filter(|dir| dir.is_absolute()).any(|dir| {
            fs_err::metadata(dir.join(program))
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
    })
}

/// The shims to install: those named with `--hook`, or the defaults.
fn selected_shims(names: &[String]) -> Result<Vec<Shim>> {
    if names.is_empty() {
        return Ok(HookType::installed().filter_map(|hook| Shim::named(hook.name())).collect());
    }
    names
        .iter()
        .map(|name| match Shim::named(name) {
            Some(shim)
                if HookType::parse(shim.name).is_some_and(|hook| HookType::installed().any(|one| one == hook)) =>
            {
                Ok(shim)
            }
            _ => Err(Refusal::new(
                format!("pycache-guard has no `{name}` hook"),
                format!(
                    "choose among {}",
                    HookType::installed().map(|hook| format!("`--hook {hook}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .into()),
        })
        .collect()
}
