//! What git told a hook: the pure parser of the post-checkout, post-merge
//! and post-rewrite arguments (and post-rewrite's stdin), and of the
//! `PRE_COMMIT_*` variables the pre-commit framework and prek pass instead.
//!
//! Nothing here reads the repository; `changes` turns an [`Event`] into the
//! set of changed paths by asking git.

use crate::hook_type::HookType;

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
#[error("unexpected arguments for the {} hook: {detail}", .hook.name())]
pub struct EventError {
    /// The hook.
    pub hook: HookType,
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
pub fn parse_hook(hook: HookType, args: &[String], stdin: &str) -> Result<Option<Event>, EventError> {
    let error = |detail: &str| EventError { hook, detail: detail.to_string() };
    match hook {
        HookType::PostCheckout => {
            let [previous, new, flag] = args else { return Err(error("expected <prev> <new> <flag>")) };
            if !is_object_id(previous) || !is_object_id(new) || !matches!(flag.as_str(), "0" | "1") {
                return Err(error("expected two object ids and 0 or 1"));
            }
            Ok(Some(Event::Checkout { previous: previous.clone(), new: new.clone(), branch: flag == "1" }))
        }
        HookType::PostMerge => {
            let squash = args.first().map(String::as_str).unwrap_or("0");
            Ok(Some(Event::Merge { squash: squash == "1" }))
        }
        HookType::PostRewrite => {
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
            parse_hook(HookType::PostCheckout, &args(&[A, B, "1"]), "").unwrap(),
            Some(Event::Checkout { previous: A.into(), new: B.into(), branch: true })
        );
        assert!(parse_hook(HookType::PostCheckout, &args(&[A, B]), "").is_err());
        assert!(parse_hook(HookType::PostCheckout, &args(&[A, "../../etc/passwd", "1"]), "").is_err());
        assert_eq!(parse_hook(HookType::PostMerge, &args(&["1"]), "").unwrap(), Some(Event::Merge { squash: true }));
        let stdin = format!("{A} {B}\ngarbage\n{B} {A} extra\n\n");
        assert_eq!(
            parse_hook(HookType::PostRewrite, &args(&["rebase"]), &stdin).unwrap(),
            Some(Event::Rewrite { command: "rebase".into(), pairs: vec![(A.into(), B.into()), (B.into(), A.into())] })
        );
        assert_eq!(parse_hook(HookType::PostCommit, &[], "").unwrap(), None);
        assert!(is_null_id(NULL) && !is_null_id(A) && !is_null_id(""));
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
