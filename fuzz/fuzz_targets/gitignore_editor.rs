//! The `.gitignore` editor: every existing byte survives, the block is the
//! only insertion, and after the edit no bytecode rule is missing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pycache_guard::gitignore::{self, RULES, SourcePaths, Sources};

fuzz_target!(|input: (Vec<u8>, u8)| {
    let (before, mask) = input;
    let rules: Vec<_> = RULES.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, rule)| *rule).collect();
    if rules.is_empty() {
        return;
    }
    let edit = gitignore::plan_edit(Some(&before), &rules);
    // The edit is one insertion: a common prefix and suffix make up the whole original.
    let prefix = before.iter().zip(&edit.after).take_while(|(a, b)| a == b).count();
    let suffix =
        before[prefix..].iter().rev().zip(edit.after[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    assert_eq!(prefix + suffix, before.len(), "existing bytes changed");
    let inserted = String::from_utf8_lossy(&edit.after[prefix..edit.after.len() - suffix]).into_owned();
    for rule in &rules {
        assert!(inserted.contains(rule.line));
    }
    // Idempotent: with the new content, no added rule is missing any more.
    let workdir = std::path::PathBuf::from("/nonexistent-fuzz-root");
    let paths = SourcePaths {
        workdir: workdir.clone(),
        info_exclude: workdir.join(".git/info/exclude"),
        excludes_file: None,
        per_directory: vec![],
    };
    let Ok(mut sources) = Sources::load(&paths) else { return };
    sources.set(&workdir.join(".gitignore"), &edit.after);
    for coverage in gitignore::coverage(&sources, &[]) {
        if rules.contains(&coverage.rule) {
            assert!(!coverage.missing(), "{} still missing after the edit", coverage.rule.line);
        }
    }
});
