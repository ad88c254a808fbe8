//! The git hooks pycache-guard serves, as one closed vocabulary.
//!
//! Two kinds: the commit guard (`pre-commit`, and `pre-merge-commit` for the
//! commit `git merge` makes without running `pre-commit`), whose failure
//! stops a commit on purpose, and the hooks git runs after a command that
//! can rewrite files, which reconcile the caches and never fail the git
//! command ([`HookType::never_fails`] is the one place that rule lives).
//! Any other name is not ours: a newer shim calling an older binary gets
//! `None` from [`HookType::parse`] and the hook does nothing.

/// A git hook pycache-guard has a shim for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookType {
    /// Blocks staged bytecode.
    PreCommit,
    /// Blocks bytecode in the commit a merge makes.
    PreMergeCommit,
    /// After `git checkout`/`switch`, a clone, `git worktree add`.
    PostCheckout,
    /// After `git merge` and `git pull`.
    PostMerge,
    /// After `git commit --amend` and `git rebase`.
    PostRewrite,
    /// After every commit: cherry-pick, revert, a conflicted merge's commit.
    PostCommit,
    /// After `git am` applies a patch.
    PostApplypatch,
    /// After a ref update. No longer installed (see [`HookType::RETIRED`]);
    /// an older install's shim still calls it.
    ReferenceTransaction,
    /// After git wrote the index and the work tree: `git stash apply`, `--autostash`.
    PostIndexChange,
}

impl HookType {
    /// Every hook, in the order `install` lists them.
    pub const ALL: [HookType; 9] = [
        HookType::PreCommit,
        HookType::PreMergeCommit,
        HookType::PostCheckout,
        HookType::PostMerge,
        HookType::PostRewrite,
        HookType::PostCommit,
        HookType::PostApplypatch,
        HookType::ReferenceTransaction,
        HookType::PostIndexChange,
    ];

    /// Hooks an older version installed and this one removes on `install`
    /// and `uninstall`. `reference-transaction`: every command whose work-tree
    /// change it heard also fires `post-index-change`, `post-checkout`,
    /// `post-merge`, `post-commit` or `post-rewrite` (the whole suite, the 35
    /// sequences of `tests/git_sequences.rs` under every set-up included,
    /// passes with its shim reduced to `exit 0`), while git starts it for
    /// every phase of every ref update: eight `sh` starts per branch
    /// checkout, two per fetch or tag. A shim of it left by an older install
    /// still works until `install` removes it.
    pub const RETIRED: [HookType; 1] = [HookType::ReferenceTransaction];

    /// The hooks `install` puts in place, in its order: all but the retired.
    pub fn installed() -> impl Iterator<Item = HookType> {
        HookType::ALL.into_iter().filter(|hook| !HookType::RETIRED.contains(hook))
    }

    /// git's name for the hook.
    pub fn name(self) -> &'static str {
        match self {
            HookType::PreCommit => "pre-commit",
            HookType::PreMergeCommit => "pre-merge-commit",
            HookType::PostCheckout => "post-checkout",
            HookType::PostMerge => "post-merge",
            HookType::PostRewrite => "post-rewrite",
            HookType::PostCommit => "post-commit",
            HookType::PostApplypatch => "post-applypatch",
            HookType::ReferenceTransaction => "reference-transaction",
            HookType::PostIndexChange => "post-index-change",
        }
    }

    /// The hook git calls `name`, if it is one of ours.
    pub fn parse(name: &str) -> Option<HookType> {
        HookType::ALL.into_iter().find(|hook| hook.name() == name)
    }

    /// True for the commit guard, whose exit status is meant to stop a commit.
    pub fn guards_commits(self) -> bool {
        matches!(self, HookType::PreCommit | HookType::PreMergeCommit)
    }

    /// True for every hook that must exit 0 whatever happens: git has
    /// already changed the work tree, and failing would only break the
    /// command (a failing `reference-transaction` in its `prepared` state
    /// would even abort the ref update).
    pub fn never_fails(self) -> bool {
        !self.guards_commits()
    }

    /// True for the hooks that pass git's data on standard input.
    pub fn reads_stdin(self) -> bool {
        matches!(self, HookType::PostRewrite | HookType::ReferenceTransaction)
    }
}

impl std::fmt::Display for HookType {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_not_ours() {
        for hook in HookType::ALL {
            assert_eq!(HookType::parse(hook.name()), Some(hook));
        }
        for other in ["pre-push", "post-receive", "Post-Checkout", ""] {
            assert_eq!(HookType::parse(other), None, "{other}");
        }
    }

    #[test]
    fn a_retired_hook_still_parses_for_an_old_shim_and_has_no_shim_of_its_own() {
        for hook in HookType::RETIRED {
            assert_eq!(HookType::parse(hook.name()), Some(hook));
            assert!(crate::shim::Shim::named(hook.name()).is_none(), "{hook} is retired but has a shim");
        }
    }

    #[test]
    fn only_the_commit_guard_may_fail() {
        let may_fail: Vec<&str> =
            HookType::ALL.into_iter().filter(|hook| !hook.never_fails()).map(HookType::name).collect();
        assert_eq!(may_fail, ["pre-commit", "pre-merge-commit"]);
    }
}
