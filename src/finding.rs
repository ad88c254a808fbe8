//! The vocabulary of `check`: the stable id of each kind of finding.
//!
//! Its own module because both the report (`check`) and the configuration
//! (`config`, whose `select` and `ignore` name ids) use it, and neither may
//! import the other back.

use std::collections::BTreeSet;

/// The stable id of a kind of finding, in report order. The command line
/// (`--select`, `--ignore`), the configuration (`select`, `ignore`) and the
/// JSON report all spell it in kebab case: `tracked-bytecode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingId {
    /// Bytecode in the index.
    TrackedBytecode,
    /// A bytecode rule git does not apply.
    GitignoreMissing,
    /// A legacy `.pyc` beside its source, which Python imports before the source.
    ShadowingBytecode,
    /// Bytecode whose source is gone.
    OrphanBytecode,
    /// A cache its source no longer matches.
    StaleBytecode,
    /// A source that does not compile.
    SyntaxError,
    /// No pycache-guard hook would run.
    HooksMissing,
}

impl FindingId {
    /// Every id, in report order.
    pub const ALL: [FindingId; 7] = [
        FindingId::TrackedBytecode,
        FindingId::GitignoreMissing,
        FindingId::ShadowingBytecode,
        FindingId::OrphanBytecode,
        FindingId::StaleBytecode,
        FindingId::SyntaxError,
        FindingId::HooksMissing,
    ];

    /// The id as written: `tracked-bytecode`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingId::TrackedBytecode => "tracked-bytecode",
            FindingId::GitignoreMissing => "gitignore-missing",
            FindingId::ShadowingBytecode => "shadowing-bytecode",
            FindingId::OrphanBytecode => "orphan-bytecode",
            FindingId::StaleBytecode => "stale-bytecode",
            FindingId::SyntaxError => "syntax-error",
            FindingId::HooksMissing => "hooks-missing",
        }
    }

    /// The ids a run reports: the selection (every id when it is empty)
    /// without the ignored ones.
    pub fn selected(select: &[FindingId], ignore: &[FindingId]) -> BTreeSet<FindingId> {
        FindingId::ALL
            .into_iter()
            .filter(|id| (select.is_empty() || select.contains(id)) && !ignore.contains(id))
            .collect()
    }
}

/// By hand rather than derived, so that `--help` lists the ids on one line
/// (`[possible values: ...]`) instead of one paragraph each.
impl clap::ValueEnum for FindingId {
    fn value_variants<'a>() -> &'a [Self] {
        &FindingId::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_spelled_alike_everywhere_and_sorted_in_report_order() {
        for id in FindingId::ALL {
            let clap = clap::ValueEnum::to_possible_value(&id).map(|value| value.get_name().to_owned());
            let serde = serde_json::to_value(id).ok().and_then(|value| value.as_str().map(str::to_owned));
            assert_eq!(clap.as_deref(), Some(id.as_str()));
            assert_eq!(serde.as_deref(), Some(id.as_str()));
        }
        assert!(FindingId::ALL.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn a_selection_is_the_selected_ids_without_the_ignored_ones() {
        use FindingId::*;
        assert_eq!(FindingId::selected(&[], &[]).len(), FindingId::ALL.len());
        assert_eq!(FindingId::selected(&[], &[SyntaxError]).len(), FindingId::ALL.len() - 1);
        assert_eq!(FindingId::selected(&[SyntaxError, StaleBytecode], &[StaleBytecode]), BTreeSet::from([SyntaxError]));
    }
}
