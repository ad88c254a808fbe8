//! The commit guard: which staged entries add or change bytecode.
//!
//! The staged set is the index git is about to commit (`GIT_INDEX_FILE` when
//! git hands us a temporary one) judged against `HEAD`. Only entry paths are
//! scanned; `HEAD` is consulted for the few paths that look like bytecode, and
//! no file content is read. Deleting a tracked artifact passes; a rename shows
//! up as an added path and is blocked.

use std::collections::{BTreeMap, HashMap};

use bstr::{BString, ByteSlice};

use crate::artifact::{PYCACHE, is_bytecode_path};
use crate::config::AllowList;
use crate::git::TreeBlob;
use crate::index::{self, Index, IndexEntry};

/// How an offending entry differs from `HEAD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Not in `HEAD` (new, or renamed from elsewhere).
    Added,
    /// In `HEAD` with other content or mode.
    Modified,
    /// Named on the command line (the pre-commit framework passes staged names).
    Named,
}

/// One staged bytecode entry that may not be committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offender {
    /// Repository-relative path.
    pub path: BString,
    /// How it differs from `HEAD`.
    pub change: Change,
}

/// The guard's verdict on a staged set.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Entries that block the commit, in path order.
    pub offenders: Vec<Offender>,
    /// Bytecode entries let through by the allow-list.
    pub allowed: usize,
    /// For each `__pycache__` folder, how many index entries it holds; a folder
    /// whose entries all offend can be untracked as a whole.
    pub entries_per_pycache: BTreeMap<BString, usize>,
}

impl Verdict {
    /// True when the commit may go ahead.
    pub fn passes(&self) -> bool {
        self.offenders.is_empty()
    }
}

/// The `__pycache__` folder (up to its last occurrence) that holds `path`.
pub fn pycache_folder(path: &[u8]) -> Option<&[u8]> {
    let marker = format!("{PYCACHE}/");
    let mut end = None;
    for at in path.find_iter(marker.as_bytes()) {
        if at == 0 || path[at - 1] == b'/' {
            end = Some(at + PYCACHE.len());
        }
    }
    end.map(|end| &path[..end])
}

/// The stage-0 file entries of the index that are bytecode artifacts and
/// part of the next commit.
pub fn bytecode_entries(index: &Index) -> Vec<IndexEntry<'_>> {
    // Conflict stages cannot be committed; sparse-directory and submodule entries are not files;
    // an intent-to-add entry (`git add -N`) holds the empty blob and is left out of the commit.
    index
        .entries()
        .filter(|entry| {
            entry.stage == 0 && !entry.intent_to_add && index::is_file_mode(entry.mode) && is_bytecode_path(entry.path)
        })
        .collect()
}

/// Judges staged bytecode entries against what `HEAD` records at their paths
/// (`None` on an unborn branch, where every entry counts).
pub fn judge_index(
    entries: &[IndexEntry<'_>],
    head: Option<&HashMap<Vec<u8>, TreeBlob>>,
    allow: &AllowList,
) -> Verdict {
    let mut verdict = Verdict::default();
    for entry in entries {
        if let Some(folder) = pycache_folder(entry.path) {
            *verdict.entries_per_pycache.entry(BString::from(folder)).or_default() += 1;
        }
        let change = match head.and_then(|head| head.get(entry.path.as_bytes())) {
            Some(TreeBlob { id, mode }) if id.as_slice() == entry.id && *mode == entry.mode => continue,
            Some(_) => Change::Modified,
            None => Change::Added,
        };
        if allow.allows(entry.path) {
            verdict.allowed += 1;
            continue;
        }
        verdict.offenders.push(Offender { path: entry.path.to_owned(), change });
    }
    verdict
}

/// Judges paths handed over by the pre-commit framework (repository-relative).
pub fn judge_named(paths: &[BString], allow: &AllowList) -> Verdict {
    let mut verdict = Verdict::default();
    for path in paths {
        if !is_bytecode_path(path) {
            continue;
        }
        if allow.allows(path) {
            verdict.allowed += 1;
        } else {
            verdict.offenders.push(Offender { path: path.clone(), change: Change::Named });
        }
    }
    verdict.offenders.sort_by(|a, b| a.path.cmp(&b.path));
    verdict.offenders.dedup();
    verdict
}

/// The arguments for `git rm -r --cached --`: whole `__pycache__` folders
/// where every entry in them offends, single paths otherwise.
pub fn untrack_arguments(verdict: &Verdict) -> Vec<BString> {
    let mut offending_per_folder: BTreeMap<&[u8], usize> = BTreeMap::new();
    for offender in &verdict.offenders {
        if let Some(folder) = pycache_folder(&offender.path) {
            *offending_per_folder.entry(folder).or_default() += 1;
        }
    }
    let whole = |folder: &[u8]| {
        verdict
            .entries_per_pycache
            .get(folder.as_bstr())
            .is_some_and(|total| offending_per_folder.get(folder) == Some(total))
    };
    let mut arguments: Vec<BString> = Vec::new();
    for offender in &verdict.offenders {
        let argument = match pycache_folder(&offender.path) {
            Some(folder) if whole(folder) => BString::from(folder),
            _ => offender.path.clone(),
        };
        if arguments.last() != Some(&argument) {
            arguments.push(argument);
        }
    }
    arguments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pycache_folder_finds_the_innermost_component() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"pkg/__pycache__/m.pyc", Some(b"pkg/__pycache__")),
            (b"__pycache__/m.pyc", Some(b"__pycache__")),
            (b"a/__pycache__/b/__pycache__/m.pyc", Some(b"a/__pycache__/b/__pycache__")),
            (b"x__pycache__/m.pyc", None),
            (b"m.pyc", None),
        ];
        for (path, expected) in cases {
            assert_eq!(pycache_folder(path), *expected, "{}", path.as_bstr());
        }
    }

    #[test]
    fn named_paths_keep_only_bytecode_outside_the_allow_list() {
        let allow = AllowList::new(&["fixtures/*.pyc".into()], &[]).unwrap();
        let paths: Vec<BString> =
            ["a.py", "b.pyc", "fixtures/c.pyc", "b.pyc", "d/__pycache__/e.cpython-312.pyc"].map(BString::from).into();
        let verdict = judge_named(&paths, &allow);
        let offenders: Vec<&[u8]> = verdict.offenders.iter().map(|o| o.path.as_bytes()).collect();
        assert_eq!(offenders, [&b"b.pyc"[..], b"d/__pycache__/e.cpython-312.pyc"]);
        assert_eq!(verdict.allowed, 1);
    }

    #[test]
    fn untrack_arguments_collapse_fully_offending_folders() {
        let offender = |path: &str| Offender { path: path.into(), change: Change::Added };
        let verdict = Verdict {
            offenders: vec![
                offender("a/__pycache__/x.pyc"),
                offender("a/__pycache__/y.pyc"),
                offender("b/__pycache__/z.pyc"),
                offender("m.pyc"),
            ],
            allowed: 0,
            entries_per_pycache: [("a/__pycache__".into(), 2), ("b/__pycache__".into(), 2)].into_iter().collect(),
        };
        let arguments: Vec<String> = untrack_arguments(&verdict).iter().map(|a| a.to_string()).collect();
        assert_eq!(arguments, ["a/__pycache__", "b/__pycache__/z.pyc", "m.pyc"]);
    }
}
