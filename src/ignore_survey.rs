//! The repository's ignore rules as git reads them, and the plan to add the
//! missing bytecode rules: what `gitignore`, `check` and `forbid` share.
//!
//! [`survey`] asks git for the visible files and loads every ignore source
//! (nested `.gitignore` files, the root one, `info/exclude`,
//! `core.excludesFile`); `gitignore` does the matching.
//! [`visible_after_walk`] gives `check` the same view of what git shows
//! from the walk it already made, with git judging only what it found. [`Survey::plan`]
//! simulates adding the rules to one file and reports the user exceptions
//! they would override; [`apply`] writes the file. Nothing here prints: the
//! commands report what came back.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use bstr::{BString, ByteSlice};

use crate::artifact::is_bytecode_path;
use crate::config::AllowList;
use crate::git::{GitError, Repo};
use crate::gitignore::{self, Conflict, Edit, GitignoreError, Rule, RuleCoverage, SourcePaths, Sources};
use crate::index::Index;

/// The survey or the edit failed.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    /// git could not list the files or name its folders.
    #[error(transparent)]
    Git(#[from] GitError),
    /// An ignore file could not be read or written.
    #[error(transparent)]
    File(#[from] GitignoreError),
    /// The file to write is a symbolic link: git (since 2.32) does not read a
    /// `.gitignore` that is one, and replacing it would destroy the link.
    #[error("`{}` is a symbolic link to `{}`", .path.display(), .points_to.display())]
    Link {
        /// The link.
        path: PathBuf,
        /// Where it points.
        points_to: PathBuf,
    },
}

/// What the repository's ignore rules look like, with everything needed to change them.
pub struct Survey {
    /// Every ignore source, compiled.
    pub sources: Sources,
    /// Each bytecode rule and its probes.
    pub coverage: Vec<RuleCoverage>,
    /// Visible bytecode paths: the ones a user negation may protect.
    pub candidates: Vec<(Vec<u8>, bool)>,
}

/// What adding the rules to a file would do.
pub enum Plan {
    /// A user exception would be overridden; nothing may be written.
    Conflicts(Vec<Conflict>),
    /// The edit, and the sources as they would be after it.
    Edit {
        /// The file's new content and the lines added.
        edit: Edit,
        /// Every source with the edited file in place.
        after: Box<Sources>,
    },
}

impl Survey {
    /// The rules no pattern covers.
    pub fn missing(&self) -> Vec<Rule> {
        self.coverage.iter().filter(|rule| rule.missing()).map(|rule| rule.rule).collect()
    }

    /// Plans adding `missing` to `target` as one block, checking by
    /// simulation that no user exception is overridden.
    pub fn plan(&self, target: &Path, missing: &[Rule]) -> Result<Plan, SurveyError> {
        let before = match crate::safe_fs::read_small(target, gitignore::IGNORE_FILE_LIMIT) {
            Ok(bytes) => Some(bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(GitignoreError::Read { path: target.to_path_buf(), source }.into()),
        };
        let edit = gitignore::plan_edit(before.as_deref(), missing);
        let mut after = self.sources.clone();
        after.set(target, &edit.after);
        let conflicts = gitignore::conflicts(&self.sources, &after, &self.candidates);
        Ok(if conflicts.is_empty() { Plan::Edit { edit, after: Box::new(after) } } else { Plan::Conflicts(conflicts) })
    }
}

/// What [`fix`] did to the root `.gitignore`.
pub enum Fixed {
    /// Every rule was already in effect.
    InEffect,
    /// A user exception would be overridden; nothing was written.
    Conflicts(Vec<Conflict>),
    /// The rules were added.
    Added {
        /// The file written.
        target: PathBuf,
        /// The lines added.
        added: Vec<&'static str>,
        /// Every source as it is now.
        after: Box<Sources>,
    },
}

/// Adds the missing rules to the root `.gitignore` (what `check --fix` does).
pub fn fix(repo: &Repo) -> Result<Fixed, SurveyError> {
    let survey = survey(repo)?;
    let missing = survey.missing();
    if missing.is_empty() {
        return Ok(Fixed::InEffect);
    }
    let target = repo.workdir()?.join(".gitignore");
    refuse_link(&target)?;
    match survey.plan(&target, &missing)? {
        Plan::Conflicts(conflicts) => Ok(Fixed::Conflicts(conflicts)),
        Plan::Edit { edit, after } => {
            apply(&target, &edit)?;
            Ok(Fixed::Added { target, added: edit.added, after })
        }
    }
}

/// Refuses to write through a symbolic link (see [`SurveyError::Link`]).
pub fn refuse_link(target: &Path) -> Result<(), SurveyError> {
    match fs_err::symlink_metadata(target) {
        Ok(meta) if meta.file_type().is_symlink() => Err(SurveyError::Link {
            path: target.to_path_buf(),
            points_to: fs_err::read_link(target).unwrap_or_default(),
        }),
        _ => Ok(()),
    }
}

/// Reads every ignore source and probes the bytecode rules.
pub fn survey(repo: &Repo) -> Result<Survey, SurveyError> {
    survey_of(repo, repo.visible_files()?)
}

/// [`survey`], given the files git shows ([`Repo::visible_files`]).
pub fn survey_of(repo: &Repo, visible: Vec<Vec<u8>>) -> Result<Survey, SurveyError> {
    let workdir = repo.workdir()?.to_path_buf();
    let per_directory: Vec<PathBuf> = visible
        .iter()
        .filter(|path| path.rsplit_str("/").next() == Some(b".gitignore"))
        .map(|path| crate::paths::in_workdir(&workdir, path))
        .chain(std::iter::once(workdir.join(".gitignore")))
        .collect();
    let folders: Vec<Vec<u8>> =
        visible.iter().filter_map(|path| path.strip_suffix(b"/.gitignore").map(<[u8]>::to_vec)).collect();
    let paths = SourcePaths {
        workdir: workdir.clone(),
        info_exclude: repo.common_dir().join("info/exclude"),
        excludes_file: repo.excludes_file(),
        per_directory,
    };
    let sources = Sources::load(&paths)?;
    let coverage = gitignore::coverage(&sources, &folders);
    let mut candidates: Vec<(Vec<u8>, bool)> =
        visible.into_iter().filter(|path| is_bytecode_path(path)).map(|path| (path, false)).collect();
    for rule in &coverage {
        candidates.extend(rule.probes.iter().map(|(path, is_dir, _)| (path.clone(), *is_dir)));
    }
    Ok(Survey { sources, coverage, candidates })
}

/// What [`Repo::visible_files`] would list of the paths a survey and
/// `check` read (every `.gitignore` and every bytecode path git shows),
/// without git walking the work tree again after the caller's walk:
///
/// - the tracked ones, from `index`;
/// - the untracked ones among `found` (work-tree relative, what the walk
///   met), kept unless git's ignore rules ignore them ([`Repo::ignored_among`]);
/// - under the `unentered` folders that git's rules do not ignore (folders
///   git walks but the caller's walk did not enter, such as an environment
///   nobody ignored), git's own listing.
///
/// Sorted by bytes, as git sorts.
pub fn visible_after_walk(
    repo: &Repo,
    index: &Index,
    found: Vec<Vec<u8>>,
    unentered: Vec<Vec<u8>>,
) -> Result<Vec<Vec<u8>>, SurveyError> {
    let read_by_survey = |path: &[u8]| is_bytecode_path(path) || path.rsplit_str("/").next() == Some(b".gitignore");
    // git never looks inside a submodule's folder, checked out or not.
    let gitlinks: HashSet<&[u8]> = index
        .entries()
        .filter(|entry| entry.mode == crate::rebuild::GITLINK_MODE)
        .map(|entry| entry.path.as_bytes())
        .collect();
    let untracked = |path: &Vec<u8>| {
        !index.contains(path)
            && !path.iter().enumerate().any(|(at, &byte)| byte == b'/' && gitlinks.contains(&path[..at]))
    };
    let mut asked: Vec<Vec<u8>> = found.into_iter().filter(untracked).collect();
    let files = asked.len();
    asked.extend(unentered.into_iter().filter(untracked));
    let ignored = repo.ignored_among(&asked)?;
    let folders: Vec<Vec<u8>> = asked.drain(files..).filter(|folder| !ignored.contains(folder)).collect();
    let mut visible: Vec<Vec<u8>> = asked.into_iter().filter(|path| !ignored.contains(path)).collect();
    visible.extend(repo.visible_others_under(&folders)?.into_iter().filter(|path| read_by_survey(path)));
    visible.extend(index.entries().map(|entry| entry.path.to_vec()).filter(|path| read_by_survey(path)));
    visible.sort();
    visible.dedup();
    Ok(visible)
}

/// Writes the planned content of `target`, creating its folder if needed
/// (`.git/info` may be missing), atomically.
pub fn apply(target: &Path, edit: &Edit) -> Result<(), SurveyError> {
    if let Some(parent) = target.parent() {
        fs_err::create_dir_all(parent)
            .map_err(|source| GitignoreError::Write { path: target.to_path_buf(), source })?;
    }
    Ok(gitignore::write_atomic(target, &edit.after)?)
}

/// Tracked bytecode, outside the allow-list, that `sources` ignore: ignore
/// rules do not untrack files, so these stay committed.
pub fn tracked_and_ignored(index: &Index, allow: &AllowList, sources: &Sources) -> Vec<BString> {
    index
        .entries()
        .filter(|entry| entry.stage == 0 && is_bytecode_path(entry.path) && !allow.allows(entry.path))
        .filter(|entry| sources.verdict(entry.path, false).is_ignored())
        .map(|entry| entry.path.to_owned())
        .collect()
}
