//! Asking an interpreter what it is: one short, isolated, time-limited run.
//!
//! The question runs under `-I -S` in `/`, so nothing in the work tree is in
//! reach, except for a version manager's shim, which must run in the work
//! tree to pick the project's version: it gets `PWD` there and a `PATH`
//! without relative or in-tree entries, and runs only when the version files
//! there hold version names. An interpreter that does not answer within the
//! limit is killed. Python 2, which does not know `-I`, is recognised by its
//! `-V`, and a version manager's several lines are summed up in one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Info, Problem, managed, trust};

/// How long an interpreter may take to answer the query before it is killed.
/// `PYCACHE_GUARD_QUERY_TIMEOUT` (seconds) overrides it.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// `PATH` without relative or empty entries and without entries inside the work tree.
fn safe_path(workdir: &Path) -> std::ffi::OsString {
    let path = crate::env::path().unwrap_or_default();
    let kept: Vec<PathBuf> =
        std::env::split_paths(&path).filter(|dir| dir.is_absolute() && !dir.starts_with(workdir)).collect();
    std::env::join_paths(kept).unwrap_or_default()
}

/// Printed by every Python from 2.7 on; the answer is one value per line.
const QUERY: &str = "import sys
if sys.version_info[0] < 3:
    sys.stdout.write('python2\\n%s\\n%d.%d\\n' % ((sys.executable,) + sys.version_info[:2]))
else:
    import importlib.util
    magic = importlib.util.MAGIC_NUMBER
    sys.stdout.write('\\n'.join(['python3', sys.executable, '%d.%d.%d' % sys.version_info[:3],
        sys.implementation.cache_tag or '', str(magic[0] | magic[1] << 8), '']))
";

/// The query's time limit.
fn query_timeout() -> Duration {
    crate::env::query_timeout()
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map_or(QUERY_TIMEOUT, Duration::from_secs_f64)
}

/// Runs `command` to the end, or kills it when it takes longer than `limit`.
fn output_within(mut command: Command, limit: Duration) -> Result<std::process::Output, Problem> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|error| Problem::Failed { message: error.to_string() })?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let read = |pipe: Option<std::process::ChildStderr>| {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = std::io::Read::read_to_end(&mut pipe, &mut bytes);
            }
            bytes
        };
        let errors = std::thread::spawn(move || read(stderr));
        let mut out = Vec::new();
        if let Some(mut pipe) = stdout {
            let _ = std::io::Read::read_to_end(&mut pipe, &mut out);
        }
        let _ = sender.send((out, errors.join().unwrap_or_default()));
    });
    match receiver.recv_timeout(limit) {
        Ok((stdout, stderr)) => {
            let status = child.wait().map_err(|error| Problem::Failed { message: error.to_string() })?;
            Ok(std::process::Output { status, stdout, stderr })
        }
        Err(_) => {
            // The pipes may stay open in a grandchild; the readers are left to finish on their own.
            let _ = child.kill();
            let _ = child.wait();
            Err(Problem::TimedOut { limit })
        }
    }
}

/// How to run an interpreter for the query: a version manager's shim in the
/// work tree, as the user's shell would (`PWD` included: pyenv reads it), and
/// anything else in `/`, so that nothing in the work tree is in reach.
fn query_command(path: &Path, workdir: &Path) -> Result<Command, Problem> {
    let mut command = Command::new(path);
    if trust::is_script(path) {
        if let Some(file) = managed::unsafe_version_file(workdir) {
            return Err(Problem::UnsafeVersionFile { file });
        }
        // The shim and the version manager behind it look programs up on
        // `PATH` (`#!/usr/bin/env bash`, then `cat`, `head`...): in the work
        // tree a relative entry, or one inside it, would find committed ones.
        command.current_dir(workdir).env("PWD", workdir).env("PATH", safe_path(workdir));
    } else {
        command.current_dir("/").env("PWD", "/");
    }
    Ok(command)
}

/// Asks an interpreter about itself (isolated, without `site`).
pub fn query(path: &Path, workdir: &Path) -> Result<Info, Problem> {
    let mut command = query_command(path, workdir)?;
    command.args(["-I", "-S", "-c", QUERY]);
    let output = output_within(command, query_timeout())?;
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    match lines.first() {
        Some(&"python2") => return Err(Problem::Python2 { version: lines.get(2).unwrap_or(&"2").to_string() }),
        Some(&"python3") if lines.len() >= 5 => {}
        _ => return Err(unanswered(path, workdir, &String::from_utf8_lossy(&output.stderr))),
    }
    let cache_tag = lines[3].to_string();
    if cache_tag.is_empty() {
        return Err(Problem::NoCacheTag);
    }
    let magic =
        lines[4].parse().map_err(|_| Problem::Failed { message: format!("unexpected magic number {}", lines[4]) })?;
    Ok(Info { executable: PathBuf::from(lines[1]), version: lines[2].to_string(), cache_tag, magic })
}

/// `2.7` when `path` is a Python 2, asked with `-V` (which every Python
/// answers before it imports anything).
fn python2_version(path: &Path, workdir: &Path) -> Option<String> {
    let mut command = query_command(path, workdir).ok()?;
    command.arg("-V");
    let output = output_within(command, query_timeout()).ok()?;
    let said = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let version = said.trim().strip_prefix("Python ")?;
    let minor: Vec<&str> = version.split('.').take(2).collect();
    version.starts_with("2.").then(|| minor.join("."))
}

/// Why an interpreter gave no answer, in one line: Python 2 (which does not
/// know `-I`) says so when asked `-V`; a version manager's several lines are
/// summed up in their first, plus the versions it names.
fn unanswered(path: &Path, workdir: &Path, stderr: &str) -> Problem {
    if stderr.contains("Unknown option: -I")
        && let Some(version) = python2_version(path, workdir)
    {
        return Problem::Python2 { version };
    }
    let mut lines = stderr.lines().map(str::trim).filter(|line| !line.is_empty());
    let first = lines.next().unwrap_or("no answer").to_string();
    let mut installed = Vec::new();
    let mut in_list = false;
    for line in stderr.lines() {
        if line.contains("exists in these Python versions") {
            in_list = true;
        } else if in_list && line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
            installed.push(line.trim());
        } else if in_list {
            in_list = false;
        }
    }
    let mut message = first;
    if !installed.is_empty() {
        message.push_str(&format!(" (installed in {}, but not selected here)", installed.join(", ")));
    }
    Problem::Failed { message }
}
