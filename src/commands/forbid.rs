//! `pycache-guard forbid` and `hook pre-commit`: block staged bytecode.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use bstr::{BString, ByteSlice};

use crate::cli::ForbidArgs;
use crate::config::{AllowList, ProjectConfig};
use crate::display::{PathStyle, plural};
use crate::exit::ExitStatus;
use crate::git::{self, Repo};
use crate::guard::{self, Change, Verdict};
use crate::index::Index;
use crate::output::code;

use super::Context;

/// Groups longer than this are shortened in the report.
const GROUP_LIMIT: usize = 8;
/// How many names a shortened group still shows.
const GROUP_SHOWN: usize = 5;

/// Resolved options.
pub struct Options {
    /// Paths named by the pre-commit framework, relative to the current directory.
    pub paths: Vec<std::path::PathBuf>,
    /// Extra allow-list globs.
    pub allow: Vec<String>,
    /// Unstage the offenders.
    pub fix: bool,
}

impl From<&ForbidArgs> for Options {
    fn from(args: &ForbidArgs) -> Self {
        Options { paths: args.paths.clone(), allow: args.allow.clone(), fix: args.fix }
    }
}

/// Judges the staged set, reports offenders and optionally unstages them.
pub fn run(context: &Context, options: &Options) -> Result<ExitStatus> {
    let repo = Repo::discover()?;
    let workdir = repo.workdir()?.to_path_buf();
    let config = ProjectConfig::load(&workdir)?;
    let allow = AllowList::new(&config.allow, &options.allow)?;
    let verdict = if options.paths.is_empty() {
        let index = Index::load(&repo.index_location())?;
        let entries = guard::bytecode_entries(&index);
        let paths: Vec<&[u8]> = entries.iter().map(|entry| entry.path.as_bytes()).collect();
        let head = if paths.is_empty() { None } else { repo.head_blobs(&paths)? };
        guard::judge_index(&entries, head.as_ref(), &allow)
    } else {
        let named = super::named_paths(context, &workdir, &options.paths)?;
        refuse_unknown(&repo, &workdir, &options.paths, &named)?;
        guard::judge_named(&named, &allow)
    };
    if verdict.allowed > 0 {
        context.printer.verbose(format!("{} bytecode entries allowed by the allow-list", verdict.allowed));
    }
    if verdict.passes() {
        return Ok(ExitStatus::Success);
    }
    let style = context.path_style(&repo)?;
    report(context, &style, &verdict);
    if options.fix {
        let paths: Vec<BString> = verdict.offenders.iter().map(|offender| offender.path.clone()).collect();
        repo.unstage(&paths)
            .with_context(|| format!("cannot unstage the bytecode entries from `{}`", repo.index_path().display()))?;
        context.printer.info(format!(
            "unstaged {} {}; the files are still in the work tree. Review with {}, then commit again",
            paths.len(),
            plural(paths.len(), "entry", "entries"),
            code("git status")
        ));
    } else {
        let arguments: Vec<String> = guard::untrack_arguments(&verdict)
            .iter()
            .map(|path| style.argument(&git::literal_pathspec(path)))
            .collect();
        let mut hint = format!("unstage them, keeping the files on disk:\n    {}", git::untrack_command(&arguments));
        // Only worth saying when a rule really is missing; a blocked commit is
        // rare, so the survey costs nothing on the common path.
        if crate::ignore_survey::survey(&repo).is_ok_and(|survey| !survey.missing().is_empty()) {
            hint.push_str("\n  then keep bytecode out of future commits:\n    pycache-guard gitignore");
        }
        context.printer.hint(hint);
    }
    Ok(ExitStatus::Findings)
}

/// Refuses a named path that is neither in the work tree nor in the index:
/// judging it would "block" a commit it cannot be part of, with a `git rm`
/// hint that fails.
fn refuse_unknown(
    repo: &Repo,
    workdir: &std::path::Path,
    paths: &[std::path::PathBuf],
    named: &[BString],
) -> Result<()> {
    let mut index = None;
    for (path, repo_path) in paths.iter().zip(named) {
        if fs_err::symlink_metadata(crate::paths::in_workdir(workdir, repo_path)).is_ok() {
            continue;
        }
        let index = match &index {
            Some(index) => index,
            None => index.insert(Index::load(&repo.index_location())?),
        };
        if !index.contains(repo_path) && !index.contains_under(repo_path) {
            return Err(super::missing_path(path));
        }
    }
    Ok(())
}

/// Prints the offenders grouped by folder.
fn report(context: &Context, style: &PathStyle, verdict: &Verdict) {
    let count = verdict.offenders.len();
    context.printer.error(format!("commit blocked: {count} bytecode {} staged", plural(count, "file is", "files are")));
    let mut groups: BTreeMap<Vec<u8>, Vec<&guard::Offender>> = BTreeMap::new();
    for offender in &verdict.offenders {
        let folder = offender.path.rfind_byte(b'/').map(|slash| offender.path[..slash].to_vec()).unwrap_or_default();
        groups.entry(folder).or_default().push(offender);
    }
    let label = |change: Change| match change {
        Change::Added => " (new)",
        Change::Modified => " (modified)",
        Change::Named => "",
    };
    for (folder, members) in &groups {
        if members.len() == 1 {
            let offender = members[0];
            context.printer.detail(format!("  {}{}", style.show(&offender.path), label(offender.change)));
            continue;
        }
        let shown_folder = style.show(folder);
        context.printer.detail(format!("  {shown_folder}/ ({} files)", members.len()));
        let shown = if members.len() > GROUP_LIMIT { GROUP_SHOWN } else { members.len() };
        for offender in &members[..shown] {
            let name = offender.path.rsplit_str("/").next().unwrap_or_default();
            context.printer.detail(format!("      {}{}", crate::display::quote_path(name), label(offender.change)));
        }
        if shown < members.len() {
            context.printer.detail(format!("      ... and {} more", members.len() - shown));
        }
    }
}
