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
//! is read: in a partial clone reading one would download it. Under the
//! pre-commit framework and prek the hook arguments arrive as `PRE_COMMIT_*`
//! variables instead, and the rewrite's old tip comes from `ORIG_HEAD` or the
//! reflog.

use bstr::BString;

/// What git did, as the hook was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `post-checkout <prev> <new> <flag>`.
    Checkout {
        /// The previous `HEAD`.
        previous: String,
        /// The new `HEAD`.
        new: String,
        /// Flag 1: a branch checkout; flag 0: files checked out from the index or a tree.
        branch: bool,
    },
    /// `post-merge <squash>`.
    Merge {
        /// A squash merge leaves its changes in the index.
        squash: bool,
    },
    /// `post-rewrite <amend|rebase>`, with the `old new` pairs from stdin.
    Rewrite {
        /// `amend` or `rebase`.
        command: String,
        /// The rewritten commits.
        pairs: Vec<(String, String)>,
    },
}

/// A hook's input could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("unexpected arguments for the {hook} hook: {detail}")]
pub struct EventError {
    /// The hook.
    pub hook: String,
    /// What was wrong.
    pub detail: String,
}

/// True for git's all-zero object id (either hash function).
pub fn is_null_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}

fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses a hook's arguments (and stdin for post-rewrite).
pub fn parse_hook(hook: &str, args: &[String], stdin: &str) -> Result<Option<Event>, EventError> {
    let error = |detail: &str| EventError { hook: hook.to_string(), detail: detail.to_string() };
    match hook {
        "post-checkout" => {
            let [previous, new, flag] = args else { return Err(error("expected <prev> <new> <flag>")) };
            if !is_object_id(previous) || !is_object_id(new) || !matches!(flag.as_str(), "0" | "1") {
                return Err(error("expected two object ids and 0 or 1"));
            }
            Ok(Some(Event::Checkout { previous: previous.clone(), new: new.clone(), branch: flag == "1" }))
        }
        "post-merge" => {
            let squash = args.first().map(String::as_str).unwrap_or("0");
            Ok(Some(Event::Merge { squash: squash == "1" }))
        }
        "post-rewrite" => {
            let command = args.first().cloned().unwrap_or_default();
            Ok(Some(Event::Rewrite { command, pairs: parse_rewrite_pairs(stdin) }))
        }
        _ => Ok(None),
    }
}

/// `old new [extra]` lines; anything else is skipped.
pub fn parse_rewrite_pairs(stdin: &str) -> Vec<(String, String)> {
    stdin
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (old, new) = (fields.next()?, fields.next()?);
            (is_object_id(old) && is_object_id(new)).then(|| (old.to_string(), new.to_string()))
        })
        .collect()
}

/// The event from the pre-commit framework's or prek's variables, if they
/// describe one. Commits must be object ids: anything else is ignored.
pub fn from_pre_commit_env(get: impl Fn(&str) -> Option<String>) -> Option<Event> {
    if let Some(kind) = get("PRE_COMMIT_CHECKOUT_TYPE") {
        let previous = get("PRE_COMMIT_FROM_REF").or_else(|| get("PRE_COMMIT_ORIGIN")).filter(|id| is_object_id(id))?;
        let new = get("PRE_COMMIT_TO_REF").or_else(|| get("PRE_COMMIT_SOURCE")).filter(|id| is_object_id(id))?;
        return Some(Event::Checkout { previous, new, branch: kind == "1" });
    }
    if let Some(squash) = get("PRE_COMMIT_IS_SQUASH_MERGE").or_else(|| get("PRE_COMMIT_SQUASH_MERGE")) {
        return Some(Event::Merge { squash: squash == "1" });
    }
    if let Some(command) = get("PRE_COMMIT_REWRITE_COMMAND") {
        return Some(Event::Rewrite { command, pairs: Vec::new() });
    }
    None
}

/// True for a repository path git could have written: relative, no empty,
/// `.` or `..` component, and nothing inside a `.git` folder. A crafted tree
/// could hold other names; they are never acted on.
pub fn is_safe_path(path: &[u8]) -> bool {
    !path.is_empty()
        && path
            .split(|&byte| byte == b'/')
            .all(|part| !part.is_empty() && part != b"." && part != b".." && !part.eq_ignore_ascii_case(b".git"))
}

/// When a hook framework passed no event (prek gives post-merge no variable),
/// the reflog tells what just happened: git names the operation in
/// `GIT_REFLOG_ACTION`. A rebase's old tip is `ORIG_HEAD`; for a merge, a
/// checkout or an amend it is `HEAD@{1}`.
pub fn span_from_reflog(repo: &crate::git::Repo, reflog_action: Option<&str>) -> Option<Span> {
    let new = repo.resolve_commit("HEAD")?;
    let rebase = reflog_action.is_some_and(|action| action.starts_with("rebase"));
    let old =
        if rebase { repo.resolve_commit("ORIG_HEAD") } else { None }.or_else(|| repo.resolve_commit("HEAD@{1}"))?;
    Some(Span::Commits { old, new })
}

/// How a tracked path changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// New in the new state.
    Added,
    /// Different content, mode or type.
    Modified,
    /// Gone from the new state.
    Deleted,
}

/// One changed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Repository-relative path.
    pub path: BString,
    /// How it changed.
    pub kind: ChangeKind,
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
pub fn span_for(repo: &crate::git::Repo, event: &Event) -> Result<Span, ScopeError> {
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
pub fn scope_of(repo: &crate::git::Repo, span: &Span) -> Result<Scope, ScopeError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const NULL: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn hook_arguments_parse() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_hook("post-checkout", &args(&[A, B, "1"]), "").unwrap(),
            Some(Event::Checkout { previous: A.into(), new: B.into(), branch: true })
        );
        assert!(parse_hook("post-checkout", &args(&[A, B]), "").is_err());
        assert!(parse_hook("post-checkout", &args(&[A, "../../etc/passwd", "1"]), "").is_err());
        assert_eq!(parse_hook("post-merge", &args(&["1"]), "").unwrap(), Some(Event::Merge { squash: true }));
        let stdin = format!("{A} {B}\ngarbage\n{B} {A} extra\n\n");
        assert_eq!(
            parse_hook("post-rewrite", &args(&["rebase"]), &stdin).unwrap(),
            Some(Event::Rewrite { command: "rebase".into(), pairs: vec![(A.into(), B.into()), (B.into(), A.into())] })
        );
        assert_eq!(parse_hook("pre-push", &[], "").unwrap(), None);
        assert!(is_null_id(NULL) && !is_null_id(A) && !is_null_id(""));
        for (path, safe) in [
            ("a/b.py", true),
            ("../x.py", false),
            ("a/../b.py", false),
            ("/abs.py", false),
            ("a//b.py", false),
            (".git/x.py", false),
            ("a/.GIT/x.py", false),
            ("./a.py", false),
            (".github/x.py", true),
        ] {
            assert_eq!(is_safe_path(path.as_bytes()), safe, "{path}");
        }
    }

    #[test]
    fn pre_commit_variables_describe_events() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string())
        };
        assert_eq!(
            from_pre_commit_env(env(&[
                ("PRE_COMMIT_CHECKOUT_TYPE", "1"),
                ("PRE_COMMIT_FROM_REF", A),
                ("PRE_COMMIT_TO_REF", B)
            ])),
            Some(Event::Checkout { previous: A.into(), new: B.into(), branch: true })
        );
        assert_eq!(from_pre_commit_env(env(&[("PRE_COMMIT_SQUASH_MERGE", "1")])), Some(Event::Merge { squash: true }));
        assert_eq!(
            from_pre_commit_env(env(&[("PRE_COMMIT_REWRITE_COMMAND", "amend")])),
            Some(Event::Rewrite { command: "amend".into(), pairs: vec![] })
        );
        assert_eq!(from_pre_commit_env(env(&[])), None);
        assert_eq!(
            from_pre_commit_env(env(&[
                ("PRE_COMMIT_CHECKOUT_TYPE", "1"),
                ("PRE_COMMIT_FROM_REF", "/etc/passwd"),
                ("PRE_COMMIT_TO_REF", B)
            ])),
            None
        );
    }
}
