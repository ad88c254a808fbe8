//! The crate's shape, checked from its source: no module of `src/` imports
//! a module that imports it back.
//!
//! The graph is built from the text of `src/**/*.rs`: every `crate::…`,
//! `super::…` and `self::…` path outside comments and outside the unit
//! tests at the foot of a file is an edge to the deepest module it names.
//! A module and its own submodules are one unit (a parent declares its
//! children and a child may use its parent), so edges between them do not
//! count; the crate root (`lib.rs`) declares every module and is left out.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path below the crate root, as its components (`["commands", "check"]`).
type Module = Vec<String>;

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&source);
    assert!(graph.len() > 10, "read only {} modules from {}", graph.len(), source.display());
    let cycles = cycles(&graph);
    assert!(cycles.is_empty(), "import circles in src/:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_finder_names_a_circle_and_ignores_parents_and_children() {
    let module = |path: &str| path.split("::").map(str::to_owned).collect::<Module>();
    let mut graph = BTreeMap::new();
    graph.insert(module("git"), BTreeSet::from([module("changes")]));
    graph.insert(module("changes"), BTreeSet::from([module("index")]));
    graph.insert(module("index"), BTreeSet::from([module("git")]));
    graph.insert(module("interpreter"), BTreeSet::from([module("interpreter::query")]));
    graph.insert(module("interpreter::query"), BTreeSet::from([module("interpreter")]));
    assert_eq!(cycles(&graph), ["changes -> index -> git -> changes"]);
}

#[test]
fn paths_in_use_trees_resolve_to_the_deepest_module() {
    let modules: BTreeSet<Module> =
        [vec!["git".to_owned()], vec!["commands".to_owned()], vec!["commands".to_owned(), "check".to_owned()]]
            .into_iter()
            .collect();
    let here = vec!["commands".to_owned(), "forbid".to_owned()];
    let code = "use crate::{git::Repo, commands::check::{self, Finding}};\nuse super::check::run; // crate::index\n";
    let targets = references(code, &here, &modules);
    assert_eq!(targets, BTreeSet::from([vec!["git".to_owned()], vec!["commands".to_owned(), "check".to_owned()]]));
}

fn module_graph(source: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let files = rust_files(source);
    let modules: BTreeSet<Module> = files.iter().filter_map(|file| module_of(source, file)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(source, file) else { continue };
        let text = std::fs::read_to_string(file).unwrap();
        let targets = references(&text, &module, &modules);
        graph.insert(module, targets);
    }
    graph
}

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `src/commands/check.rs` → `commands::check`; `src/manager/mod.rs` →
/// `manager`; the crate root and the binary are not modules of the graph.
fn module_of(source: &Path, file: &Path) -> Option<Module> {
    let relative = file.strip_prefix(source).ok()?.with_extension("");
    let mut parts: Module = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    (parts != ["lib"] && parts != ["main"] && !parts.is_empty()).then_some(parts)
}

/// The modules a file's code names through `crate::`, `super::` and `self::`.
fn references(text: &str, here: &Module, modules: &BTreeSet<Module>) -> BTreeSet<Module> {
    let code = without_comments_and_tests(text);
    let mut targets = BTreeSet::new();
    for (anchor, base) in
        [("crate::", Vec::new()), ("super::", here[..here.len().saturating_sub(1)].to_vec()), ("self::", here.clone())]
    {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(anchor) {
            let preceded_by_ident = rest[..at]
                .chars()
                .next_back()
                .is_some_and(|before| before.is_alphanumeric() || before == '_' || before == ':');
            rest = &rest[at + anchor.len()..];
            if preceded_by_ident {
                continue;
            }
            for path in use_tree_paths(rest) {
                let mut full = base.clone();
                full.extend(path);
                if let Some(target) = deepest_module(&full, modules) {
                    targets.insert(target);
                }
            }
        }
    }
    targets
}

/// The paths a use tree starting at `text` names: `a::{b, c::d}` gives
/// `a::b` and `a::c::d`. Stops at the first character that cannot continue it.
fn use_tree_paths(text: &str) -> Vec<Vec<String>> {
    fn tree(chars: &[char], at: &mut usize) -> Vec<Vec<String>> {
        let mut prefix = Vec::new();
        loop {
            skip_space(chars, at);
            if chars.get(*at) == Some(&'{') {
                *at += 1;
                let mut paths = Vec::new();
                loop {
                    for mut path in tree(chars, at) {
                        let mut full = prefix.clone();
                        full.append(&mut path);
                        paths.push(full);
                    }
                    skip_space(chars, at);
                    match chars.get(*at) {
                        Some(',') => *at += 1,
                        Some('}') => {
                            *at += 1;
                            break;
                        }
                        _ => break,
                    }
                }
                return paths;
            }
            let start = *at;
            while chars.get(*at).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                *at += 1;
            }
            if start == *at {
                return vec![prefix];
            }
            let ident: String = chars[start..*at].iter().collect();
            if ident != "self" {
                prefix.push(ident);
            }
            if chars.get(*at) == Some(&':') && chars.get(*at + 1) == Some(&':') {
                *at += 2;
            } else {
                return vec![prefix];
            }
        }
    }
    fn skip_space(chars: &[char], at: &mut usize) {
        while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
    }
    let chars: Vec<char> = text.chars().take(2000).collect();
    tree(&chars, &mut 0)
}

fn deepest_module(path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    (1..=path.len()).rev().map(|length| path[..length].to_vec()).find(|prefix| modules.contains(prefix))
}

/// The code of a file without `//` comments, string contents and the
/// `#[cfg(test)]` module at its foot (test code may reach anywhere).
fn without_comments_and_tests(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" && lines.peek().is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        // A quote as a character literal does not open a string.
        let line = line.replace("'\"'", "' '").replace("'\\\"'", "' '");
        let mut in_string = false;
        let mut previous = ' ';
        for c in line.chars() {
            if in_string {
                if c == '"' && previous != '\\' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
            } else if c == '/' && previous == '/' {
                code.pop();
                break;
            } else {
                code.push(c);
            }
            previous = if previous == '\\' && c == '\\' { ' ' } else { c };
        }
        code.push('\n');
    }
    code
}

/// Every elementary circle of the graph, each named once from its smallest
/// module: `a -> b -> a`.
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    fn walk(
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        start: &Module,
        path: &mut Vec<Module>,
        found: &mut BTreeSet<Vec<Module>>,
    ) {
        let Some(current) = path.last().cloned() else { return };
        let related = |next: &&Module| next.starts_with(&current) || current.starts_with(next);
        for next in graph.get(&current).into_iter().flatten().filter(|next| !related(next)) {
            if next == start {
                found.insert(path.clone());
            } else if next > start && !path.contains(next) {
                path.push(next.clone());
                walk(graph, start, path, found);
                path.pop();
            }
        }
    }
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        walk(graph, start, &mut vec![start.clone()], &mut found);
    }
    found
        .into_iter()
        .map(|cycle| {
            let mut names: Vec<String> = cycle.iter().map(|module| module.join("::")).collect();
            names.push(names[0].clone());
            names.join(" -> ")
        })
        .collect()
}
