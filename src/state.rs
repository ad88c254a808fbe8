//! What pycache-guard keeps in the repository folder (`.git/pycache-guard/`):
//! the interpreter cache, the rebuild lock and the rebuild log.
//!
//! Nothing here is part of the work tree, so nothing here can be committed or
//! chosen by a cloned repository.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The log is cut back to its newer half when it grows past this.
const LOG_LIMIT: u64 = 512 * 1024;

/// The folder, created on demand.
pub fn dir(git_dir: &Path) -> PathBuf {
    git_dir.join("pycache-guard")
}

/// Holds the rebuild lock until dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Lock {
    /// Waits for the lock of this work tree, so that two rebuilds (two
    /// checkouts in quick succession, or `clean` racing a hook) run one after
    /// the other instead of interleaving.
    pub fn acquire(git_dir: &Path) -> std::io::Result<Lock> {
        let dir = dir(git_dir);
        std::fs::create_dir_all(&dir)?;
        let file = File::options().create(true).truncate(false).write(true).open(dir.join("rebuild.lock"))?;
        file.lock()?;
        Ok(Lock { file })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Appends lines to the rebuild log, stamped with the UTC time. Failures to
/// log never fail a hook.
pub fn log(git_dir: &Path, lines: &[String]) {
    let dir = dir(git_dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join("rebuild.log");
    trim_log(&path);
    let Ok(mut file) = File::options().create(true).append(true).open(&path) else { return };
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
    let mut text = String::new();
    for line in lines {
        text.push_str(&format!("{stamp} {line}\n"));
    }
    let _ = file.write_all(text.as_bytes());
}

fn trim_log(path: &Path) {
    let Ok(meta) = std::fs::metadata(path) else { return };
    if meta.len() <= LOG_LIMIT {
        return;
    }
    if let Ok(content) = std::fs::read(path) {
        let half = &content[content.len() / 2..];
        let start = half.iter().position(|&b| b == b'\n').map_or(0, |at| at + 1);
        let _ = std::fs::write(path, &half[start..]);
    }
}
