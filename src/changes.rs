//! Which files a checkout, merge or rewrite changed, from git's own records.
//!
//! | event | changed set |
//! | --- | --- |
//! | post-checkout | the tree diff `prev..new` |
//! | null `prev` (clone, `git worktree add`) | every tracked file |
//! | file checkout (flag 0) | unknown: the caller scans for stale caches |
//! | post-merge | `ORIG_HEAD..HEAD` |
//! | squash merge | the index against `HEAD` |
//! | post-rewrite | the pre-rewrite tip against `HEAD` |
//!
//! Trees are compared by object id only, without rename detection, so no blob
//! is read: in a partial clone reading one would download it. The hook's
//! arguments are parsed, without git, by `hook_event`; when a hook framework
//! passed none, the rewrite's old tip comes from `ORIG_HEAD` or the reflog.
//! The changed paths themselves come from `Repo`, the only door to git.

use crate::git::{Change, Repo};
use crate::hook_event::{Event, is_null_id};

/// When a hook framework passed no event (prek gives post-merge no variable),
/// the reflog tells what just happened: git names the operation in
/// `GIT_REFLOG_ACTION`. A rebase's old tip is `ORIG_HEAD`; for a merge, a
/// checkout or an amend it is `HEAD@{1}`.
pub fn span_from_reflog(repo: &Repo, reflog_action: Option<&str>) -> Option<Span> {
    let new = repo.resolve_commit("HEAD")?;
    let rebase = reflog_action.is_some_and(|action| action.starts_with("rebase"));
    let old =
        if rebase { repo.resolve_commit("ORIG_HEAD") } else { None }.or_else(|| repo.resolve_commit("HEAD@{1}"))?;
    Some(Span::Commits { old, new })
}

/// What to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Nothing changed.
    Nothing,
    /// These paths changed.
    Changes(Vec<Change>),
    /// Every tracked file is new here (a clone, a new worktree).
    AllTracked,
    /// Unknown: scan tracked sources for caches that no longer match.
    StaleScan,
}

/// A commit to compare against could not be found.
#[derive(Debug, thiserror::Error)]
#[error("cannot tell what changed: {0}")]
pub struct ScopeError(pub String);

/// What an event covers, with every revision resolved to a commit id (so that
/// a detached rebuild sees the same range even if `ORIG_HEAD` moves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    /// Nothing moved.
    Nothing,
    /// Everything is new (clone, `git worktree add`).
    AllTracked,
    /// Unknown: scan for stale caches.
    StaleScan,
    /// Between two commits.
    Commits {
        /// Before.
        old: String,
        /// After.
        new: String,
    },
    /// The index against `HEAD` (a squash merge).
    Staged,
}

/// The span of an event. A commit that cannot be named is an error; the
/// caller falls back to a stale scan.
pub fn span_for(repo: &Repo, event: &Event) -> Result<Span, ScopeError> {
    let head = || repo.resolve_commit("HEAD").ok_or_else(|| ScopeError("`HEAD` does not name a commit".into()));
    match event {
        Event::Checkout { branch: false, .. } => Ok(Span::StaleScan),
        Event::Checkout { previous, .. } if is_null_id(previous) => Ok(Span::AllTracked),
        Event::Checkout { previous, new, .. } if previous == new => Ok(Span::Nothing),
        Event::Checkout { previous, new, .. } => Ok(Span::Commits { old: previous.clone(), new: new.clone() }),
        Event::Merge { squash: true } => Ok(Span::Staged),
        Event::Merge { squash: false } => {
            let old = repo.resolve_commit("ORIG_HEAD").ok_or_else(|| ScopeError("`ORIG_HEAD` is not set".into()))?;
            Ok(Span::Commits { old, new: head()? })
        }
        Event::Rewrite { command, pairs } => {
            // The tip before the rewrite: the amended commit for an amend,
            // ORIG_HEAD for a rebase, and the reflog when the hook got no pairs.
            let old = match (command.as_str(), pairs.first()) {
                ("amend", Some((old, _))) => Some(old.clone()),
                _ => repo.resolve_commit("ORIG_HEAD").or_else(|| pairs.last().map(|(old, _)| old.clone())),
            }
            .or_else(|| repo.resolve_commit("HEAD@{1}"))
            .ok_or_else(|| {
                ScopeError("neither `ORIG_HEAD` nor the reflog names the commit before the rewrite".into())
            })?;
            Ok(Span::Commits { old, new: head()? })
        }
    }
}

/// The changed paths of a span.
pub fn scope_of(repo: &Repo, span: &Span) -> Result<Scope, ScopeError> {
    let failed = |error: crate::git::GitError| ScopeError(error.to_string());
    Ok(match span {
        Span::Nothing => Scope::Nothing,
        Span::AllTracked => Scope::AllTracked,
        Span::StaleScan => Scope::StaleScan,
        Span::Commits { old, new } if old == new => Scope::Nothing,
        Span::Commits { old, new } => Scope::Changes(repo.diff_commits(old, new).map_err(failed)?),
        Span::Staged => Scope::Changes(repo.diff_head_to_index().map_err(failed)?),
    })
}
