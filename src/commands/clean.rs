//! `pycache-guard clean`: remove bytecode, and report exactly what went.

use std::path::Path;

use anyhow::Result;

use crate::artifact::CacheLocation;
use crate::clean::{self, Cleaner};
use crate::cli::CleanArgs;
use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::index::Index;
use crate::safe_fs::Kind;
use crate::walk::Exclusion;

use super::{Context, Refusal};

/// Cleans PATHS, or else the folder it was started in and everything below
/// (the whole work tree from its top), like `git clean`; and the prefix tree's
/// mirror of the same folders with `--prefix`.
pub fn run(context: &Context, args: &CleanArgs) -> Result<ExitStatus> {
    let repo = Repo::discover()?;
    if args.store {
        return clean_store(context, &repo, args.dry_run);
    }
    let workdir = repo.workdir()?.to_path_buf();
    let mut roots = Vec::new();
    for (path, relative) in args.paths.iter().zip(super::repo_paths(context, &workdir, &args.paths)?) {
        let absolute = crate::paths::in_workdir(&workdir, &relative);
        check_root(&workdir, &absolute, args.include_venvs).map_err(|(why, hint)| {
            Refusal::new(format!("`{}` {why}", crate::display::sanitize_text(&path.display().to_string())), hint)
        })?;
        roots.push(absolute);
    }
    if roots.is_empty() {
        let here = start_folder(context, &workdir);
        check_root(&workdir, &here, args.include_venvs)
            .map_err(|(why, hint)| Refusal::new(format!("the current folder {why}"), hint))?;
        if here != workdir {
            context.printer.verbose(format!(
                "cleaning `{}` and below only, the folder you are in (like `git clean`); run it at the top of the work tree, or with `-C`, for all of it",
                crate::display::sanitize_text(&here.strip_prefix(&workdir).unwrap_or(&here).display().to_string())
            ));
        }
        roots.push(here);
    }
    let location = if args.prefix { super::cache_location()? } else { CacheLocation::Pycache };
    if let CacheLocation::Prefix(prefix) = &location {
        check_prefix(&workdir, prefix)?;
    }
    // A rebuild running at the same time must not see its fresh caches removed half way.
    let _lock = if args.dry_run { None } else { Some(crate::state::Lock::acquire(repo.git_dir())?) };
    let index = Index::load(&repo.index_location())?;
    let tracked = clean::tracked_bytecode(&index, &workdir);
    let options =
        clean::Options { orphans: args.orphans, dry_run: args.dry_run, include_tracked: args.include_tracked };
    let cleaner = Cleaner::new(options, &tracked, crate::safe_fs::Roots::new(&workdir, &location));
    let walk_options = crate::walk::Options {
        roots,
        include_venvs: args.include_venvs,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
    };
    crate::walk::walk(&walk_options, &cleaner);
    if args.prefix {
        match location {
            CacheLocation::Prefix(prefix) => {
                for root in &walk_options.roots {
                    let mirror = crate::artifact::cache_dir(root, &CacheLocation::Prefix(prefix.clone()));
                    clean::clean_mirror(&cleaner, &prefix, &mirror);
                }
            }
            CacheLocation::Pycache => {
                context.printer.warning("`--prefix` given, but PYTHONPYCACHEPREFIX is not set; nothing to do there")
            }
        }
    }
    let outcome = cleaner.finish();
    report(context, &repo, args, outcome)
}

/// `clean --store`: empties the store of compiled code (whatever its size limit).
fn clean_store(context: &Context, repo: &Repo, dry_run: bool) -> Result<ExitStatus> {
    let store = crate::store::Store::new(repo.common_dir(), crate::store::DEFAULT_LIMIT);
    let plural = |count: u64| if count == 1 { "1 entry".to_string() } else { format!("{count} entries") };
    let (verb, usage) = if dry_run {
        ("would remove", store.usage())
    } else {
        let usage = store.clear().map_err(|error| {
            Refusal::new(
                format!("cannot empty the store: {}", crate::display::sanitize_text(&error.to_string())),
                format!("remove `{}` by hand", crate::display::sanitize_text(&store.path().display().to_string())),
            )
        })?;
        ("removed", usage)
    };
    context.printer.info(format!(
        "{verb} {} from the store ({})",
        plural(usage.entries),
        crate::display::human_bytes(usage.bytes)
    ));
    Ok(ExitStatus::Success)
}

/// The folder `clean` was started in, when it lies inside the work tree
/// (git runs nothing of ours elsewhere); the top of the work tree otherwise.
fn start_folder(context: &Context, workdir: &Path) -> std::path::PathBuf {
    if context.cwd.starts_with(workdir) { context.cwd.clone() } else { workdir.to_path_buf() }
}

/// Why a folder named on the command line is not cleaned: a symbolic link in
/// any component below the work tree, `.git`, another repository, or (without
/// `--include-venvs`) an environment. `Err((why, hint))`.
fn check_root(workdir: &Path, root: &Path, include_venvs: bool) -> Result<(), (String, &'static str)> {
    let link_hint = "name the folder it points to, if it is inside the work tree";
    let mut current = workdir.to_path_buf();
    let below = root.strip_prefix(workdir).unwrap_or(Path::new(""));
    let mut dir = crate::safe_fs::Dir::root(workdir).map_err(|error| (error.to_string(), link_hint))?;
    for component in below.components() {
        let name = component.as_os_str();
        current.push(name);
        match dir.kind_of(name) {
            None => return Ok(()), // Missing: the walk reports it.
            Some(Kind::Symlink) => {
                let link = crate::display::sanitize_text(&current.display().to_string());
                return Err((
                    format!("leads through the symbolic link `{link}`; clean never follows links"),
                    link_hint,
                ));
            }
            Some(Kind::Dir) => {}
            Some(_) => return Ok(()), // A file: the walk judges it by name.
        }
        if let Some(exclusion) = crate::walk::exclusion(&current, false, include_venvs) {
            let hint = match exclusion {
                Exclusion::Environment => "add `--include-venvs` to clean inside environments too",
                Exclusion::GitDir | Exclusion::Repository => "run `pycache-guard clean` inside that repository instead",
            };
            let what = crate::display::sanitize_text(&current.display().to_string());
            return Err((format!("lies in `{what}`, which is {}; clean never enters it", exclusion.describe()), hint));
        }
        dir = dir.child(name).map_err(|error| (crate::display::sanitize_text(&error.to_string()), link_hint))?;
    }
    Ok(())
}

/// Refuses a prefix tree whose mirror of the work tree is the work tree itself
/// or a folder above it (`PYTHONPYCACHEPREFIX=/`): walking it as a mirror
/// would walk real sources, `.git` and environments.
fn check_prefix(workdir: &Path, prefix: &Path) -> Result<()> {
    let mirror =
        crate::paths::normalize(&crate::artifact::cache_dir(workdir, &CacheLocation::Prefix(prefix.to_path_buf())));
    let mirror = mirror.canonicalize().unwrap_or(mirror);
    if workdir.starts_with(&mirror) {
        return Err(Refusal::new(
            format!(
                "the pycache prefix `{}` mirrors the work tree onto `{}`, which holds the work tree itself; `clean --prefix` would walk real files",
                crate::display::sanitize_text(&prefix.display().to_string()),
                crate::display::sanitize_text(&mirror.display().to_string())
            ),
            "set PYTHONPYCACHEPREFIX to a folder of its own, such as `~/.cache/pycache`",
        )
        .into());
    }
    Ok(())
}

fn report(context: &Context, repo: &Repo, args: &CleanArgs, mut outcome: clean::Outcome) -> Result<ExitStatus> {
    let style = context.path_style(repo)?;
    outcome.files.sort();
    if args.dry_run {
        // Files, then the folders their removal would leave empty (with a
        // trailing `/`, as `git clean --dry-run` shows folders), deepest first.
        outcome.dirs.sort_by(|a, b| b.components().count().cmp(&a.components().count()).then(a.cmp(b)));
        for path in &outcome.files {
            context.printer.data(style.show_absolute(path));
        }
        for path in &outcome.dirs {
            context.printer.data(format!("{}/", style.show_absolute(path)));
        }
    }
    let plural = |count: usize, word: &str| crate::display::count(count, word, &format!("{word}s"));
    let verb = if args.dry_run { "would remove" } else { "removed" };
    context.printer.info(format!(
        "{verb} {} and {} ({})",
        plural(outcome.files.len(), "file"),
        plural(outcome.dirs.len(), "folder"),
        crate::display::human_bytes(outcome.bytes)
    ));
    if !outcome.kept_tracked.is_empty() {
        outcome.kept_tracked.sort();
        let paths: Vec<String> = outcome.kept_tracked.iter().map(|path| style.argument_absolute(path)).collect();
        context.printer.info(format!("kept {} that git tracks", plural(outcome.kept_tracked.len(), "file")));
        context.printer.hint(format!(
            "untrack them with `{}`, or remove them with `--include-tracked`",
            crate::git::untrack_command(&paths)
        ));
    }
    for (path, message) in &outcome.errors {
        context.printer.error(format!("{}: {}", style.show_absolute(path), crate::display::sanitize_text(message)));
    }
    Ok(if outcome.errors.is_empty() { ExitStatus::Success } else { ExitStatus::Failure })
}
