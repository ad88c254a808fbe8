//! `pycache-guard clean`: remove bytecode, and report exactly what went.

use anyhow::Result;

use crate::artifact::CacheLocation;
use crate::clean::{self, Cleaner};
use crate::cli::CleanArgs;
use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::index::Index;

use super::{Context, Refusal};

/// Cleans the work tree (or PATHS), and the prefix tree with `--prefix`.
pub fn run(context: &Context, args: &CleanArgs) -> Result<ExitStatus> {
    let repo = Repo::discover()?;
    let workdir = repo.workdir()?.to_path_buf();
    let mut roots = Vec::new();
    for (path, relative) in args.paths.iter().zip(super::repo_paths(context, &workdir, &args.paths)?) {
        let absolute = crate::paths::in_workdir(&workdir, &relative);
        // A root that is a symbolic link would lead the walk elsewhere.
        if std::fs::symlink_metadata(&absolute).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Err(Refusal::new(
                format!("`{}` is a symbolic link; clean never follows links", path.display()),
                "name the folder it points to, if it is inside the work tree",
            )
            .into());
        }
        roots.push(absolute);
    }
    if roots.is_empty() {
        roots.push(workdir.clone());
    }
    // A rebuild running at the same time must not see its fresh caches removed half way.
    let _lock = if args.dry_run { None } else { Some(crate::state::Lock::acquire(repo.git_dir())?) };
    let index = Index::load(&repo.index_location())?;
    let tracked = clean::tracked_bytecode(&index, &workdir);
    let options =
        clean::Options { orphans: args.orphans, dry_run: args.dry_run, include_tracked: args.include_tracked };
    let cleaner = Cleaner::new(options, &tracked);
    let walk_options = crate::walk::Options {
        roots,
        include_venvs: args.include_venvs,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
    };
    crate::walk::walk(&walk_options, &cleaner);
    if args.prefix {
        match super::cache_location()? {
            CacheLocation::Prefix(prefix) => {
                let mirror = crate::artifact::cache_dir(&workdir, &CacheLocation::Prefix(prefix.clone()));
                clean::clean_mirror(&cleaner, &prefix, &mirror);
            }
            CacheLocation::Pycache => {
                context.printer.warning("`--prefix` given, but PYTHONPYCACHEPREFIX is not set; nothing to do there")
            }
        }
    }
    let outcome = cleaner.finish();
    report(context, &repo, args, outcome)
}

fn report(context: &Context, repo: &Repo, args: &CleanArgs, mut outcome: clean::Outcome) -> Result<ExitStatus> {
    let style = context.path_style(repo)?;
    outcome.files.sort();
    if args.dry_run {
        for path in &outcome.files {
            context.printer.data(style.show_absolute(path));
        }
    }
    let plural = |count: usize, word: &str| if count == 1 { format!("1 {word}") } else { format!("{count} {word}s") };
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
            "untrack them with `git rm -r --cached -- {}`, or remove them with `--include-tracked`",
            paths.join(" ")
        ));
    }
    for (path, message) in &outcome.errors {
        context.printer.error(format!("{}: {}", style.show_absolute(path), crate::display::sanitize_text(message)));
    }
    Ok(if outcome.errors.is_empty() { ExitStatus::Success } else { ExitStatus::Failure })
}
