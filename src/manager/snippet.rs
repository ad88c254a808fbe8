//! What to add to a hook manager's configuration, so that it runs
//! pycache-guard on every hook in [`super::ESSENTIAL_HOOKS`].
//!
//! The snippets are made to be pasted where they are said to go: the
//! pre-commit list item takes the indentation of the file's own `repos:`
//! list, lefthook gets the format (YAML or TOML) of its configuration, and
//! husky gets shell commands that append to its scripts. Each names the
//! binary as `pycache-guard`, found on `PATH` when git runs the hook.

use std::path::{Path, PathBuf};

use super::{ESSENTIAL_HOOKS, HookFile, Manager, Survey};

/// One thing to paste, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Where it goes, as a phrase ("at the top of `.pre-commit-config.yaml`").
    pub place: String,
    /// The text to paste.
    pub text: String,
}

/// The steps that make a manager run pycache-guard on every hook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Advice {
    /// Configuration to paste, in order.
    pub pieces: Vec<Piece>,
    /// Commands to run afterwards, in order.
    pub commands: Vec<String>,
    /// A command that does the same without changing the configuration, if there is one.
    pub alternative: Option<String>,
}

/// The `default_install_hook_types` line pre-commit and prek need.
pub fn default_install_hook_types() -> String {
    format!("default_install_hook_types: [{}]", ESSENTIAL_HOOKS.join(", "))
}

/// The advice for `manager`, from what the survey found missing.
pub fn advice(manager: Manager, survey: &Survey, workdir: &Path, hooks_dir: &Path) -> Advice {
    let unconfigured: Vec<&'static str> =
        survey.missing().iter().filter(|status| !status.configured).map(|status| status.hook).collect();
    match manager {
        Manager::PreCommit | Manager::Prek => pre_commit(manager, survey, workdir, &unconfigured),
        Manager::Lefthook => lefthook(workdir, &unconfigured),
        Manager::Husky => husky(workdir, hooks_dir, &unconfigured),
    }
}

fn read(path: &Path) -> String {
    super::read_small(path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default()
}

fn relative(workdir: &Path, path: &Path) -> String {
    crate::display::sanitize_text(&path.strip_prefix(workdir).unwrap_or(path).to_string_lossy())
}

fn first_existing(workdir: &Path, names: &[&str]) -> PathBuf {
    names.iter().map(|name| workdir.join(name)).find(|path| path.is_file()).unwrap_or_else(|| workdir.join(names[0]))
}

/// The hook types `default_install_hook_types` names, if the key is there.
fn install_hook_types(text: &str) -> Option<Vec<String>> {
    let mut lines = super::meaningful_lines(text).skip_while(|line| !line.starts_with("default_install_hook_types:"));
    let value = lines.next()?.trim_start_matches("default_install_hook_types:").trim();
    let items: Vec<String> = if value.starts_with('[') {
        value
            .trim_matches(['[', ']'])
            .split(',')
            .map(|item| item.trim().trim_matches(['"', '\'']).to_string())
            .collect()
    } else {
        lines
            .map_while(|line| line.trim_start().strip_prefix("- "))
            .map(|item| item.trim().trim_matches(['"', '\'']).to_string())
            .collect()
    };
    Some(items.into_iter().filter(|item| !item.is_empty()).collect())
}

fn pre_commit(manager: Manager, survey: &Survey, workdir: &Path, unconfigured: &[&str]) -> Advice {
    let config = first_existing(workdir, &[".pre-commit-config.yaml", ".pre-commit-config.yml"]);
    let name = relative(workdir, &config);
    let text = read(&config);
    let mut advice = Advice::default();
    match install_hook_types(&text) {
        None => {
            advice.pieces.push(Piece { place: format!("at the top of `{name}`"), text: default_install_hook_types() })
        }
        Some(types) if ESSENTIAL_HOOKS.iter().any(|hook| !types.iter().any(|t| t == hook)) => {
            advice.pieces.push(Piece {
                place: format!("in place of the `default_install_hook_types` line of `{name}`"),
                text: default_install_hook_types(),
            });
        }
        Some(_) => {}
    }
    let forbid = unconfigured.iter().any(|hook| guard_command(hook).is_some());
    let rebuild = unconfigured.iter().any(|hook| hook.starts_with("post-"));
    if forbid || rebuild {
        let (place, header, indent) = repos_list(&text, &name);
        let mut item = String::new();
        if header {
            item.push_str("repos:\n");
        }
        item.push_str(&local_repo(&" ".repeat(indent), forbid, rebuild));
        advice.pieces.push(Piece { place, text: item.trim_end().to_string() });
    }
    let not_installed = survey
        .hooks
        .iter()
        .any(|status| !status.runs_us && !matches!(status.file, HookFile::Managed(Manager::PreCommit | Manager::Prek)));
    if not_installed || !advice.pieces.is_empty() {
        advice.commands.push(manager.install_command().to_string());
        let types: Vec<String> = ESSENTIAL_HOOKS.iter().map(|hook| format!("--hook-type {hook}")).collect();
        advice.alternative = Some(format!("{} {}", manager.install_command(), types.join(" ")));
    }
    advice
}

/// Where the local repository goes: the end of an existing `repos:` block
/// list (with its indentation), or a new list.
fn repos_list(text: &str, name: &str) -> (String, bool, usize) {
    let mut lines = super::meaningful_lines(text).skip_while(|line| !line.starts_with("repos:"));
    let Some(header) = lines.next() else {
        return (format!("at the end of `{name}`"), true, 2);
    };
    if header.trim_start_matches("repos:").trim() == "[]" {
        return (format!("in place of the `repos: []` line of `{name}`"), true, 2);
    }
    let indent = lines
        .find(|line| !line.trim().is_empty())
        .filter(|line| line.trim_start().starts_with("- "))
        .map_or(2, |line| line.len() - line.trim_start().len());
    (format!("at the end of the `repos:` list of `{name}`"), false, indent)
}

fn local_repo(indent: &str, forbid: bool, rebuild: bool) -> String {
    let mut text = format!("{indent}- repo: local\n{indent}  hooks:\n");
    if forbid {
        text.push_str(&format!(
            "{indent}    - id: forbid-pycache\n\
             {indent}      name: forbid Python bytecode\n\
             {indent}      entry: pycache-guard forbid\n\
             {indent}      language: system\n\
             {indent}      files: '{}'\n\
             {indent}      stages: [pre-commit, pre-merge-commit, manual]\n",
            crate::artifact::BYTECODE_REGEX
        ));
    }
    if rebuild {
        text.push_str(&format!(
            "{indent}    - id: pycache-rebuild\n\
             {indent}      name: rebuild Python bytecode caches\n\
             {indent}      entry: pycache-guard rebuild --hook\n\
             {indent}      language: system\n\
             {indent}      always_run: true\n\
             {indent}      pass_filenames: false\n\
             {indent}      stages: [post-checkout, post-merge, post-rewrite, post-commit]\n"
        ));
    }
    text
}

/// The command lefthook runs for a hook: git's arguments as `{0}`, and
/// post-rewrite's list of rewritten commits on standard input.
fn lefthook_run(hook: &str) -> String {
    match guard_command(hook) {
        Some(command) => command.into(),
        None => format!("pycache-guard hook {hook} {{0}}"),
    }
}

/// The commit guard for a hook that guards commits: `forbid` judges the index
/// against `HEAD`, which is also what a merge commit is about to record.
fn guard_command(hook: &str) -> Option<&'static str> {
    match hook {
        "pre-commit" => Some("pycache-guard hook pre-commit"),
        "pre-merge-commit" => Some("pycache-guard forbid"),
        _ => None,
    }
}

fn lefthook(workdir: &Path, unconfigured: &[&str]) -> Advice {
    let names = ["lefthook.yml", ".lefthook.yml", "lefthook.yaml", ".lefthook.yaml", "lefthook.toml", ".lefthook.toml"];
    let config = first_existing(workdir, &names);
    let name = relative(workdir, &config);
    let text = read(&config);
    let toml = config.extension().is_some_and(|extension| extension == "toml");
    let mut advice = Advice::default();
    let mut appended = String::new();
    for &hook in unconfigured {
        let run = lefthook_run(hook);
        let stdin = hook == "post-rewrite";
        if toml {
            appended.push_str(&format!("[{hook}.commands.pycache-guard]\nrun = \"{run}\"\n"));
            if stdin {
                appended.push_str("use_stdin = true\n");
            }
        } else if super::lefthook_has_section(&text, hook) {
            let mut entry = format!("    pycache-guard:\n      run: {run}\n");
            if stdin {
                entry.push_str("      use_stdin: true\n");
            }
            advice.pieces.push(Piece {
                place: format!("under `commands:` in the `{hook}:` section of `{name}`"),
                text: entry.trim_end().to_string(),
            });
        } else {
            appended.push_str(&format!("{hook}:\n  commands:\n    pycache-guard:\n      run: {run}\n"));
            if stdin {
                appended.push_str("      use_stdin: true\n");
            }
        }
    }
    if !appended.is_empty() {
        advice.pieces.push(Piece { place: format!("at the end of `{name}`"), text: appended.trim_end().to_string() });
    }
    advice.commands.push(Manager::Lefthook.install_command().to_string());
    advice
}

fn husky(workdir: &Path, hooks_dir: &Path, unconfigured: &[&str]) -> Advice {
    let scripts = super::husky_scripts(workdir, hooks_dir);
    let folder = scripts.strip_prefix(workdir).unwrap_or(&scripts);
    let commands = unconfigured
        .iter()
        .map(|hook| {
            let line = match guard_command(hook) {
                Some(command) => command.to_string(),
                None => format!("pycache-guard hook {hook} \"$@\""),
            };
            let script = crate::display::shell_quote(folder.join(hook).as_os_str().as_encoded_bytes());
            format!("echo '{line}' >> {script}")
        })
        .collect();
    Advice { pieces: Vec::new(), commands, alternative: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_hook_types_are_read_in_both_list_styles() {
        let flow = "default_install_hook_types: [pre-commit, 'post-checkout']\nrepos: []\n";
        assert_eq!(install_hook_types(flow).unwrap(), ["pre-commit", "post-checkout"]);
        let block = "default_install_hook_types:\n  - pre-commit\n  - post-merge\nrepos:\n";
        assert_eq!(install_hook_types(block).unwrap(), ["pre-commit", "post-merge"]);
        assert_eq!(install_hook_types("repos: []\n"), None);
    }

    #[test]
    fn the_local_repository_takes_the_indentation_of_the_list() {
        let unindented = "repos:\n- repo: https://example.com/x\n  rev: v1\n  hooks:\n  - id: y\n";
        assert_eq!(repos_list(unindented, "c").2, 0);
        let indented = "repos:\n\n  - repo: https://example.com/x\n";
        assert_eq!(repos_list(indented, "c").2, 2);
        assert!(repos_list("repos: []\n", "c").1);
        assert!(repos_list("", "c").1);
    }
}
