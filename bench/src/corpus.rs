//! Building the corpora: real code from this machine and from PyPI, in
//! scratch git repositories under `bench/work/`. Nothing here is committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs a command and fails with its stderr.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(git_env())
        .output()
        .with_context(|| format!("starting {program} {args:?}"))?;
    if !output.status.success() {
        bail!("{program} {args:?} failed in {}:\n{}", dir.display(), String::from_utf8_lossy(&output.stderr));
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

/// The standard library folder of the local `python3`.
pub fn local_stdlib() -> Result<PathBuf> {
    let out =
        run(Path::new("."), "python3", &["-I", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])?;
    Ok(PathBuf::from(out))
}

/// Copies the `.py` files (and other sources) of the standard library into
/// `dest`, without `site-packages` or caches. Idempotent.
pub fn copy_stdlib(dest: &Path) -> Result<()> {
    if dest.join(".complete").exists() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(dest);
    let stdlib = local_stdlib()?;
    copy_sources(&stdlib, dest)?;
    std::fs::write(dest.join(".complete"), "")?;
    Ok(())
}

fn copy_sources(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str == "__pycache__" || name_str == "site-packages" || name_str.ends_with(".pyc") {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_sources(&entry.path(), &to.join(&name))?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

/// A repository whose index holds at least `entries` entries: the standard
/// library under `c000/`, and copies of its tree under `c001/`... added to the
/// index only (`git read-tree --prefix`). A cone sparse checkout keeps only
/// `c000/` on disk, as in a big monorepo. A handful of changes are staged.
pub fn big_index_repo(work: &Path, entries: usize) -> Result<PathBuf> {
    let repo = work.join(format!("index-{entries}"));
    if repo.join(".complete").exists() {
        return Ok(repo);
    }
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo)?;
    let stdlib = work.join("stdlib");
    copy_stdlib(&stdlib)?;
    run(&repo, "git", &["init", "-q", "-b", "main", "."])?;
    copy_sources(&stdlib, &repo.join("c000"))?;
    run(&repo, "git", &["add", "-A"])?;
    run(&repo, "git", &["commit", "-q", "-m", "base"])?;
    let per_copy: usize = run(&repo, "git", &["ls-files"])?.lines().count();
    let tree = run(&repo, "git", &["rev-parse", "HEAD:c000"])?;
    let copies = entries.div_ceil(per_copy);
    for copy in 1..copies {
        run(&repo, "git", &["read-tree", &format!("--prefix=c{copy:03}/"), &tree])?;
    }
    run(&repo, "git", &["commit", "-q", "-m", "replicated"])?;
    run(&repo, "git", &["sparse-checkout", "set", "--cone", "c000"])?;
    // A handful of staged changes, none of them bytecode.
    for (i, name) in ["c000/abc.py", "c000/bisect.py", "c000/colorsys.py"].iter().enumerate() {
        let path = repo.join(name);
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("\n# staged change {i}\n"));
        std::fs::write(&path, text)?;
    }
    std::fs::write(repo.join("c000/new_module.py"), "x = 1\n")?;
    run(&repo, "git", &["add", "-A", "c000"])?;
    std::fs::write(repo.join(".complete"), "")?;
    Ok(repo)
}
