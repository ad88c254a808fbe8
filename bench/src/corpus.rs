//! Building the corpora: real code from this machine and from PyPI, in
//! scratch git repositories under `bench/work/`. Nothing here is committed.
//! Every builder is idempotent: a finished corpus is marked `.complete`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs a command and fails with its stderr.
pub fn run(dir: &Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Result<String> {
    let program = program.as_ref();
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(git_env())
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .output()
        .with_context(|| format!("starting {program:?} {args:?}"))?;
    if !output.status.success() {
        bail!("{program:?} {args:?} failed in {}:\n{}", dir.display(), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim_end().to_string())
}

/// git settings that make the runs independent of the machine's config.
pub fn git_env() -> Vec<(String, String)> {
    vec![
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
        ("GIT_AUTHOR_NAME".into(), "bench".into()),
        ("GIT_AUTHOR_EMAIL".into(), "bench@example.com".into()),
        ("GIT_COMMITTER_NAME".into(), "bench".into()),
        ("GIT_COMMITTER_EMAIL".into(), "bench@example.com".into()),
    ]
}

/// The real executable behind `python3` (not a version manager's shim).
pub fn real_python() -> Result<PathBuf> {
    Ok(PathBuf::from(run(Path::new("/"), "python3", &["-I", "-S", "-c", "import sys; print(sys.executable)"])?))
}

/// A folder built once: `build` fills `dir`, then it is marked complete.
fn once(dir: &Path, build: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    if dir.join(".complete").exists() {
        return Ok(dir.to_path_buf());
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    build(dir)?;
    std::fs::write(dir.join(".complete"), "")?;
    Ok(dir.to_path_buf())
}

/// A copy of the local CPython's standard library: sources only, no
/// `site-packages`, no caches. `limit` keeps only the first top-level entries (quick mode).
pub fn stdlib(work: &Path, limit: Option<usize>) -> Result<PathBuf> {
    once(&work.join("stdlib"), |dir| {
        let python = real_python()?;
        let stdlib =
            run(Path::new("/"), &python, &["-I", "-S", "-c", "import os; print(os.path.dirname(os.__file__))"])?;
        let mut entries: Vec<_> = std::fs::read_dir(&stdlib)?.flatten().map(|e| e.path()).collect();
        entries.sort();
        if let Some(limit) = limit {
            entries.truncate(limit);
        }
        for entry in entries {
            copy_sources(&entry, &dir.join(entry.file_name().unwrap_or_default()))?;
        }
        Ok(())
    })
}

fn copy_sources(from: &Path, to: &Path) -> Result<()> {
    let name = from.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name == "__pycache__" || name == "site-packages" || name.ends_with(".pyc") {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(from)?;
    if meta.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_sources(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if meta.is_file() {
        std::fs::copy(from, to)?;
    }
    Ok(())
}

/// Hard-links a tree (`cp -al`): copies of a corpus cost no disk and little time.
pub fn link_tree(from: &Path, to: &Path) -> Result<()> {
    run(Path::new("/"), "cp", &["-al", &from.to_string_lossy(), &to.to_string_lossy()])?;
    Ok(())
}

/// A repository whose index holds at least `entries` entries: the standard
/// library under `c000/`, and copies of its tree `c001/`... added to the index
/// only (`git read-tree --prefix`). A cone sparse checkout keeps only `c000/`
/// on disk, as in a big monorepo. Three changed and one new file are staged.
pub fn big_index_repo(work: &Path, stdlib: &Path, entries: usize) -> Result<PathBuf> {
    once(&work.join(format!("index-{entries}")), |repo| {
        run(repo, "git", &["init", "-q", "-b", "main", "."])?;
        link_tree(stdlib, &repo.join("c000"))?;
        std::fs::remove_file(repo.join("c000/.complete")).ok();
        run(repo, "git", &["add", "-A"])?;
        run(repo, "git", &["commit", "-q", "-m", "base"])?;
        let per_copy = run(repo, "git", &["ls-files"])?.lines().count();
        let tree = run(repo, "git", &["rev-parse", "HEAD:c000"])?;
        for copy in 1..entries.div_ceil(per_copy) {
            run(repo, "git", &["read-tree", &format!("--prefix=c{copy:03}/"), &tree])?;
        }
        run(repo, "git", &["commit", "-q", "-m", "replicated"])?;
        run(repo, "git", &["sparse-checkout", "set", "--cone", "c000"])?;
        let mut sources: Vec<PathBuf> = std::fs::read_dir(repo.join("c000"))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .collect();
        sources.sort();
        for (i, path) in sources.iter().take(3).enumerate() {
            // Break the hard link before editing.
            let mut text = std::fs::read_to_string(path).unwrap_or_default();
            std::fs::remove_file(path)?;
            text.push_str(&format!("\n# staged change {i}\n"));
            std::fs::write(path, text)?;
        }
        std::fs::write(repo.join("c000/new_module.py"), "x = 1\n")?;
        run(repo, "git", &["add", "-A", "c000"])?;
        Ok(())
    })
}

/// The throwaway virtualenv with the peers: pre-commit and pyclean from PyPI.
pub fn tools(work: &Path) -> Result<PathBuf> {
    let venv = once(&work.join("../tools-venv"), |venv| {
        run(Path::new("/"), "python3", &["-m", "venv", &venv.to_string_lossy()])?;
        let pip = venv.join("bin/pip");
        run(
            Path::new("/"),
            &pip,
            &["install", "--quiet", "--disable-pip-version-check", "pre-commit==4.7.0", "pyclean==3.7.0"],
        )?;
        Ok(())
    })?;
    Ok(venv.join("bin"))
}

/// A package at two released versions from PyPI, committed as two commits
/// (`old`, `new`) of a scratch repository, plus branches:
/// - `k`: `old` with `k` changed modules taken from `new`;
/// - `readme`: `old` with only a non-Python file changed.
pub struct TwoVersions {
    /// The repository.
    pub repo: PathBuf,
    /// The modules changed between `old` and `k`, repository-relative.
    pub changed: Vec<String>,
    /// Commit ids.
    pub old: String,
    /// `old` plus the K changes.
    pub k: String,
    /// `old` plus a README change.
    pub readme: String,
    /// `.py` files in the tree.
    pub modules: usize,
}

/// Downloads the wheels of `distribution` at two versions and builds
/// [`TwoVersions`] from their `package` folder.
pub fn two_versions(
    work: &Path,
    tools_bin: &Path,
    distribution: &str,
    package: &str,
    versions: (&str, &str),
    k: usize,
) -> Result<TwoVersions> {
    let repo = once(&work.join(format!("{distribution}-two-versions-{k}")), |repo| {
        let download = repo.join("../downloads");
        std::fs::create_dir_all(&download)?;
        for version in [versions.0, versions.1] {
            let spec = format!("{distribution}=={version}");
            run(
                Path::new("/"),
                tools_bin.join("pip"),
                &["download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", &download.to_string_lossy(), &spec],
            )?;
        }
        let unpack = |version: &str, into: &Path| -> Result<()> {
            let wheel = std::fs::read_dir(&download)?
                .flatten()
                .map(|e| e.path())
                .find(|path| path.to_string_lossy().contains(&format!("{distribution}-{version}-")))
                .context("wheel not downloaded")?;
            run(
                Path::new("/"),
                "python3",
                &["-m", "zipfile", "-e", &wheel.to_string_lossy(), &into.to_string_lossy()],
            )?;
            Ok(())
        };
        let (old_dir, new_dir) = (repo.join("../unpacked-old"), repo.join("../unpacked-new"));
        for (version, dir) in [(versions.0, &old_dir), (versions.1, &new_dir)] {
            let _ = std::fs::remove_dir_all(dir);
            unpack(version, dir)?;
        }
        run(repo, "git", &["init", "-q", "-b", "main", "."])?;
        std::fs::write(repo.join(".gitignore"), "__pycache__/\n*.py[cod]\n")?;
        std::fs::write(repo.join("README.txt"), "benchmark corpus\n")?;
        copy_sources(&old_dir.join(package), &repo.join(package))?;
        run(repo, "git", &["add", "-A"])?;
        run(repo, "git", &["commit", "-q", "-m", "old"])?;
        run(repo, "git", &["branch", "old"])?;
        // K modules changed between the two releases.
        run(repo, "git", &["checkout", "-q", "-b", "k"])?;
        let changed = changed_modules(&old_dir, &new_dir, package, k)?;
        for module in &changed {
            std::fs::copy(new_dir.join(module), repo.join(module))?;
        }
        std::fs::write(repo.join(".changed"), changed.join("\n"))?;
        run(repo, "git", &["add", "-A", package])?;
        run(repo, "git", &["commit", "-q", "-m", "k changed modules"])?;
        run(repo, "git", &["checkout", "-q", "-b", "readme", "old"])?;
        std::fs::write(repo.join("README.txt"), "benchmark corpus, changed\n")?;
        run(repo, "git", &["commit", "-q", "-am", "readme only"])?;
        run(repo, "git", &["checkout", "-q", "k"])?;
        Ok(())
    })?;
    let changed: Vec<String> = std::fs::read_to_string(repo.join(".changed"))?.lines().map(String::from).collect();
    let modules = run(&repo, "git", &["ls-files", "*.py"])?.lines().count();
    Ok(TwoVersions {
        old: run(&repo, "git", &["rev-parse", "old"])?,
        k: run(&repo, "git", &["rev-parse", "k"])?,
        readme: run(&repo, "git", &["rev-parse", "readme"])?,
        repo,
        changed,
        modules,
    })
}

/// A generated package of `modules` modules of about 150 lines each, on two
/// branches whose every module differs: for `--quick`, where nothing is
/// downloaded. Same shape as [`two_versions`].
pub fn generated_two_versions(work: &Path, modules: usize) -> Result<TwoVersions> {
    let repo = once(&work.join(format!("generated-two-versions-{modules}")), |repo| {
        let module = |index: usize, variant: &str| {
            let mut text = format!("\"\"\"Generated module {index} ({variant}).\"\"\"\nimport os\n\n");
            for function in 0..12 {
                text.push_str(&format!(
                    "class Thing{function}:\n    \"\"\"A thing.\"\"\"\n\n    def __init__(self, value={function}):\n        self.value = value\n        self.name = {variant:?} + str(value)\n\n    def compute(self, items):\n        total = 0\n        for item in items:\n            if item % {m} == 0:\n                total += item * self.value\n        return [total, os.sep, {{'k': total}}]\n\n",
                    m = function + 2
                ));
            }
            text
        };
        run(repo, "git", &["init", "-q", "-b", "main", "."])?;
        std::fs::write(repo.join(".gitignore"), "__pycache__/\n*.py[cod]\n")?;
        std::fs::write(repo.join("README.txt"), "benchmark corpus\n")?;
        std::fs::create_dir_all(repo.join("gen"))?;
        std::fs::write(repo.join("gen/__init__.py"), "")?;
        let names: Vec<String> = (0..modules).map(|index| format!("gen/m{index:03}.py")).collect();
        for (index, name) in names.iter().enumerate() {
            std::fs::write(repo.join(name), module(index, "old"))?;
        }
        run(repo, "git", &["add", "-A"])?;
        run(repo, "git", &["commit", "-q", "-m", "old"])?;
        run(repo, "git", &["branch", "old"])?;
        run(repo, "git", &["checkout", "-q", "-b", "k"])?;
        for (index, name) in names.iter().enumerate() {
            std::fs::write(repo.join(name), module(index, "new"))?;
        }
        std::fs::write(repo.join(".changed"), names.join("\n"))?;
        run(repo, "git", &["add", "-A", "gen"])?;
        run(repo, "git", &["commit", "-q", "-m", "k changed modules"])?;
        run(repo, "git", &["checkout", "-q", "-b", "readme", "old"])?;
        std::fs::write(repo.join("README.txt"), "benchmark corpus, changed\n")?;
        run(repo, "git", &["commit", "-q", "-am", "readme only"])?;
        run(repo, "git", &["checkout", "-q", "k"])?;
        Ok(())
    })?;
    let changed: Vec<String> = std::fs::read_to_string(repo.join(".changed"))?.lines().map(String::from).collect();
    let modules = run(&repo, "git", &["ls-files", "*.py"])?.lines().count();
    Ok(TwoVersions {
        old: run(&repo, "git", &["rev-parse", "old"])?,
        k: run(&repo, "git", &["rev-parse", "k"])?,
        readme: run(&repo, "git", &["rev-parse", "readme"])?,
        repo,
        changed,
        modules,
    })
}

/// The first `k` modules (sorted) present in both versions with different content.
fn changed_modules(old: &Path, new: &Path, package: &str, k: usize) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut stack = vec![old.join(package)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                let relative = path.strip_prefix(old)?.to_path_buf();
                if let Ok(other) = std::fs::read(new.join(&relative))
                    && other != std::fs::read(&path)?
                {
                    found.push(relative.to_string_lossy().into_owned());
                }
            }
        }
    }
    found.sort();
    found.truncate(k);
    if found.len() < k {
        bail!("only {} modules differ between the two versions of {package}", found.len());
    }
    Ok(found)
}

/// A repository with the standard library committed (for the syntax check).
pub fn stdlib_repo(work: &Path, stdlib: &Path, copies: usize) -> Result<PathBuf> {
    once(&work.join(format!("stdlib-repo-{copies}x")), |repo| {
        run(repo, "git", &["init", "-q", "-b", "main", "."])?;
        std::fs::write(repo.join(".gitignore"), "__pycache__/\n*.py[cod]\n")?;
        for copy in 0..copies {
            link_tree(stdlib, &repo.join(format!("c{copy:03}")))?;
            std::fs::remove_file(repo.join(format!("c{copy:03}/.complete"))).ok();
        }
        run(repo, "git", &["add", "-A"])?;
        run(repo, "git", &["commit", "-q", "-m", "standard library"])?;
        run(repo, "git", &["branch", "base"])?;
        std::fs::write(repo.join("README.txt"), "changed\n")?;
        run(repo, "git", &["add", "README.txt"])?;
        run(repo, "git", &["commit", "-q", "-m", "a non-Python change"])?;
        Ok(())
    })
}

/// A compiled tree for `clean`: `copies` copies of the compiled standard
/// library in a repository (untracked). Restored before every run.
pub fn clean_template(work: &Path, stdlib: &Path, copies: usize) -> Result<PathBuf> {
    once(&work.join(format!("clean-template-{copies}x")), |template| {
        run(template, "git", &["init", "-q", "."])?;
        let first = template.join("c000");
        link_tree(stdlib, &first)?;
        std::fs::remove_file(first.join(".complete")).ok();
        let python = real_python()?;
        // compileall returns 1 for the standard library's deliberately broken files.
        let _ = Command::new(&python)
            .args(["-m", "compileall", "-q", "-j", "0"])
            .arg(&first)
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        for copy in 1..copies {
            link_tree(&first, &template.join(format!("c{copy:03}")))?;
        }
        Ok(())
    })
}

/// Counts files named `*.pyc` and folders named `__pycache__` under `root`.
pub fn count_bytecode(root: &Path) -> (usize, usize) {
    let (mut files, mut dirs) = (0, 0);
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if entry.file_name() == "__pycache__" {
                    dirs += 1;
                }
                if entry.file_name() != ".git" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "pyc") {
                files += 1;
            }
        }
    }
    (files, dirs)
}

/// A repository with the standard library committed and a second repository,
/// `upstream`, it fetches from, for timing everyday git commands with and
/// without the hooks. The hooks are installed in the repository's own hooks
/// folder by the caller; the side without hooks points `core.hooksPath` at an
/// empty folder, so both sides run in the same repository.
pub fn hooks_repo(work: &Path, stdlib: &Path) -> Result<PathBuf> {
    once(&work.join("hooks-repo"), |repo| {
        run(repo, "git", &["init", "-q", "-b", "main", "."])?;
        std::fs::write(repo.join(".gitignore"), "__pycache__/\n*.py[cod]\n/upstream/\n/no-hooks/\n")?;
        link_tree(stdlib, &repo.join("lib"))?;
        std::fs::remove_file(repo.join("lib/.complete")).ok();
        std::fs::write(repo.join("edited.py"), "V = 0\n")?;
        run(repo, "git", &["add", "-A"])?;
        run(repo, "git", &["commit", "-q", "-m", "standard library"])?;
        std::fs::create_dir_all(repo.join("no-hooks"))?;
        let upstream = repo.join("upstream");
        run(repo, "git", &["init", "-q", "-b", "main", &upstream.to_string_lossy()])?;
        run(&upstream, "git", &["commit", "-q", "--allow-empty", "-m", "upstream"])?;
        run(repo, "git", &["remote", "add", "upstream", &upstream.to_string_lossy()])?;
        run(repo, "git", &["fetch", "-q", "upstream"])?;
        Ok(())
    })
}

/// A repository with two branches for the checkout row, `one` and `two`,
/// and the hooks folder left empty for the side without hooks
/// (`no-hooks/`). Full mode: the whole `package` tree of two releases
/// (wheels from PyPI), so a checkout changes, adds and deletes what the
/// release did. Quick mode (`release` is `None`): `modules` generated
/// modules, each different on the two branches.
pub fn checkout_pair(
    work: &Path,
    tools_bin: &Path,
    release: Option<(&str, &str, (&str, &str))>,
    modules: usize,
) -> Result<PathBuf> {
    let name = match release {
        Some((distribution, _, (old, new))) => format!("checkout-{distribution}-{old}-{new}"),
        None => format!("checkout-generated-{modules}"),
    };
    once(&work.join(name), |repo| {
        run(repo, "git", &["init", "-q", "-b", "one", "."])?;
        std::fs::write(repo.join(".gitignore"), "__pycache__/\n*.py[cod]\n/no-hooks/\n")?;
        std::fs::create_dir_all(repo.join("no-hooks"))?;
        let fill = |branch: usize| -> Result<()> {
            match release {
                Some((distribution, package, versions)) => {
                    let version = if branch == 0 { versions.0 } else { versions.1 };
                    let unpacked = unpacked_wheel(work, tools_bin, distribution, version)?;
                    let _ = std::fs::remove_dir_all(repo.join(package));
                    copy_sources(&unpacked.join(package), &repo.join(package))
                }
                None => {
                    for index in 0..modules {
                        let folder = repo.join(format!("pkg/sub{}", index / 50));
                        std::fs::create_dir_all(&folder)?;
                        let mut text = format!("\"\"\"Module {index}, branch {branch}.\"\"\"\n");
                        for function in 0..30 {
                            text.push_str(&format!(
                                "def f{function}(x, y={branch}):\n    return [x * {function} + y for _ in range({index})]\n"
                            ));
                        }
                        std::fs::write(folder.join(format!("m{index}.py")), text)?;
                    }
                    Ok(())
                }
            }
        };
        fill(0)?;
        run(repo, "git", &["add", "-A"])?;
        run(repo, "git", &["commit", "-q", "-m", "one"])?;
        run(repo, "git", &["checkout", "-q", "-b", "two"])?;
        fill(1)?;
        run(repo, "git", &["add", "-A"])?;
        run(repo, "git", &["commit", "-q", "-m", "two"])?;
        run(repo, "git", &["checkout", "-q", "one"])?;
        Ok(())
    })
}

/// A release's wheel from PyPI, unpacked once into `work/wheels/`.
fn unpacked_wheel(work: &Path, tools_bin: &Path, distribution: &str, version: &str) -> Result<PathBuf> {
    once(&work.join(format!("wheels/{distribution}-{version}")), |dir| {
        let download = dir.join("download");
        std::fs::create_dir_all(&download)?;
        let spec = format!("{distribution}=={version}");
        run(
            Path::new("/"),
            tools_bin.join("pip"),
            &["download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", &download.to_string_lossy(), &spec],
        )?;
        let wheel = std::fs::read_dir(&download)?.flatten().map(|e| e.path()).next().context("wheel not downloaded")?;
        run(Path::new("/"), "python3", &["-m", "zipfile", "-e", &wheel.to_string_lossy(), &dir.to_string_lossy()])?;
        Ok(())
    })
}
