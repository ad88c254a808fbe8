//! The worker pool: persistent CPython processes that compile (or only
//! check) the files we stream to them.
//!
//! Only the real interpreter writes bytecode it will load: the magic number
//! and the marshal format change with every minor version. Workers are started
//! lean and isolated (`-I -S`, about 8 ms), in `/` rather than the repository,
//! with an empty environment apart from the locale (which decides how file
//! names decode into `co_filename`). They announce themselves with a ready
//! line, then answer one request at a time; the answer is also the
//! backpressure. Each request has a timeout. A worker that hangs, dies or
//! talks nonsense is killed and its file reported; the rest of the queue goes
//! to the other workers, and a replacement is started while files remain.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::pyc::InvalidationMode;

/// The worker's source, run with `python -I -S -c`.
const WORKER: &str = include_str!("python/worker.py");

/// The only variables workers inherit: the locale decides how file names
/// decode into `co_filename`, so it is also part of [`crate::store::Key`].
pub const LOCALE_VARIABLES: [&str; 3] = ["LANG", "LC_ALL", "LC_CTYPE"];

/// How often one pool thread replaces a broken worker before giving up.
const MAX_RESTARTS: usize = 3;

/// What to do with one source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `py_compile.compile(source, cfile, optimize, invalidation_mode)`.
    Compile {
        /// Where the bytecode goes.
        cfile: PathBuf,
        /// 0, 1 or 2.
        optimize: u8,
        /// How the pyc is tied to its source.
        mode: InvalidationMode,
    },
    /// `compile(source_bytes, source, "exec")`, writing nothing.
    Check,
}

/// One request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// The source, absolute.
    pub source: PathBuf,
    /// What to do.
    pub op: Op,
}

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Compiled (or compiles).
    Ok,
    /// The interpreter refused the source.
    Syntax {
        /// 1-based line, 0 when unknown.
        line: u32,
        /// 1-based column, 0 when unknown.
        column: u32,
        /// The interpreter's message.
        message: String,
    },
    /// Something else went wrong with this file (permissions, a symlinked target...).
    Error(String),
    /// The worker died, hung or answered nonsense on this file.
    WorkerFailed(String),
}

/// How to start workers.
#[derive(Clone, Debug)]
pub struct WorkerSpec {
    /// The real interpreter executable (not a shim).
    pub executable: PathBuf,
    /// Per-file timeout.
    pub timeout: Duration,
}

/// One answer from a worker: `(status, message)`, or why the stream ended.
type Answer = Result<(Vec<u8>, Vec<u8>), String>;

/// A running worker.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<Answer>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Worker {
    fn spawn(spec: &WorkerSpec) -> Result<Worker, String> {
        let mut command = Command::new(&spec.executable);
        command.args(["-I", "-S", "-c", WORKER]).current_dir("/").env_clear();
        for name in LOCALE_VARIABLES {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            command.spawn().map_err(|error| format!("cannot start `{}`: {error}", spec.executable.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr_pipe = child.stderr.take().ok_or("no stderr")?;
        let (sender, answers) = mpsc::channel();
        std::thread::spawn(move || read_answers(stdout, &sender));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || collect_stderr(stderr_pipe, &sink));
        let mut worker = Worker { child, stdin, answers, stderr };
        match worker.answer(spec.timeout) {
            Ok((status, _)) if status == b"ready" => Ok(worker),
            Ok((status, _)) => {
                Err(worker.failure(&format!("said {:?} instead of ready", String::from_utf8_lossy(&status))))
            }
            Err(error) => Err(worker.failure(&error)),
        }
    }

    fn answer(&mut self, timeout: Duration) -> Answer {
        match self.answers.recv_timeout(timeout) {
            Ok(answer) => answer,
            Err(RecvTimeoutError::Timeout) => Err(format!("no answer within {} s", timeout.as_secs())),
            Err(RecvTimeoutError::Disconnected) => Err("the worker exited".into()),
        }
    }

    /// Kills the worker and describes the failure with the end of its stderr.
    fn failure(&mut self, what: &str) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self.stderr.lock().map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default();
        match stderr.lines().rev().find(|line| !line.trim().is_empty()) {
            Some(last) => format!("{what} ({})", crate::display::sanitize_text(last.trim())),
            None => what.to_string(),
        }
    }

    fn run(&mut self, task: &Task, timeout: Duration) -> Result<Outcome, String> {
        let mut request = Vec::new();
        let (op, cfile, optimize, mode): (&[u8], &[u8], String, &str) = match &task.op {
            Op::Compile { cfile, optimize, mode } => {
                (b"compile", cfile.as_os_str().as_bytes(), optimize.to_string(), mode.python_name())
            }
            Op::Check => (b"check", b"", "0".into(), ""),
        };
        for field in [op, task.source.as_os_str().as_bytes(), cfile, optimize.as_bytes(), mode.as_bytes()] {
            request.extend_from_slice(field);
            request.push(0);
        }
        if self.stdin.write_all(&request).and_then(|()| self.stdin.flush()).is_err() {
            return Err(self.failure("the worker stopped reading"));
        }
        let (status, message) = match self.answer(timeout) {
            Ok(answer) => answer,
            Err(error) => return Err(self.failure(&error)),
        };
        let message = String::from_utf8_lossy(&message).into_owned();
        match status.as_slice() {
            b"ok" => Ok(Outcome::Ok),
            b"syntax" => Ok(parse_syntax(&message)),
            b"error" => Ok(Outcome::Error(crate::display::sanitize_text(&message))),
            other => Err(self.failure(&format!("answered {:?}", String::from_utf8_lossy(other)))),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin ends the worker's loop; kill in case it is stuck.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `line:column:message` from the worker.
fn parse_syntax(message: &str) -> Outcome {
    let mut parts = message.splitn(3, ':');
    let line = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let column = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let text = parts.next().unwrap_or(message);
    Outcome::Syntax { line, column, message: crate::display::sanitize_text(text) }
}

/// Reads `status NUL message NUL` pairs; anything malformed ends the stream.
fn read_answers(stdout: impl Read, sender: &mpsc::Sender<Answer>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut status = Vec::new();
        let mut message = Vec::new();
        let status_read = reader.read_until(0, &mut status);
        let message_read = reader.read_until(0, &mut message);
        match (status_read, message_read) {
            (Ok(0), _) => return,
            (Ok(_), Ok(_)) if status.last() == Some(&0) && message.last() == Some(&0) => {
                status.pop();
                message.pop();
                if sender.send(Ok((status, message))).is_err() {
                    return;
                }
            }
            _ => {
                let _ = sender.send(Err("the worker's answer was cut off".into()));
                return;
            }
        }
    }
}

/// Keeps the last 8 KiB of a worker's stderr for error reports.
fn collect_stderr(mut pipe: impl Read, sink: &Mutex<Vec<u8>>) {
    let mut buffer = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buffer) {
        if n == 0 {
            return;
        }
        if let Ok(mut kept) = sink.lock() {
            kept.extend_from_slice(&buffer[..n]);
            let excess = kept.len().saturating_sub(8192);
            kept.drain(..excess);
        }
    }
}

/// Runs `tasks` on up to `workers` processes and returns one outcome per task, in order.
/// `on_done` is called after each task.
pub fn run(spec: &WorkerSpec, tasks: &[Task], workers: usize, on_done: &(dyn Fn() + Sync)) -> Vec<Outcome> {
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..tasks.len()).collect());
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; tasks.len()]);
    let startup_error: Mutex<Option<String>> = Mutex::new(None);
    let workers = workers.clamp(1, tasks.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| drain(spec, tasks, &queue, &results, &startup_error, on_done));
        }
    });
    let startup_error =
        startup_error.into_inner().unwrap_or_default().unwrap_or_else(|| "no worker could be started".into());
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(|| Outcome::WorkerFailed(startup_error.clone())))
        .collect()
}

/// One pool thread: keeps a worker alive and feeds it from the queue.
fn drain(
    spec: &WorkerSpec,
    tasks: &[Task],
    queue: &Mutex<VecDeque<usize>>,
    results: &Mutex<Vec<Option<Outcome>>>,
    startup_error: &Mutex<Option<String>>,
    on_done: &(dyn Fn() + Sync),
) {
    let next = || queue.lock().ok().and_then(|mut queue| queue.pop_front());
    let record = |index: usize, outcome: Outcome| {
        if let Ok(mut results) = results.lock() {
            results[index] = Some(outcome);
        }
        on_done();
    };
    for _ in 0..=MAX_RESTARTS {
        if queue.lock().map(|queue| queue.is_empty()).unwrap_or(true) {
            return;
        }
        let mut worker = match Worker::spawn(spec) {
            Ok(worker) => worker,
            Err(error) => {
                if let Ok(mut slot) = startup_error.lock() {
                    slot.get_or_insert(error);
                }
                return;
            }
        };
        while let Some(index) = next() {
            match worker.run(&tasks[index], spec.timeout) {
                Ok(outcome) => record(index, outcome),
                Err(failure) => {
                    record(index, Outcome::WorkerFailed(failure));
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_answers_parse() {
        assert_eq!(
            parse_syntax("3:7:invalid syntax: here"),
            Outcome::Syntax { line: 3, column: 7, message: "invalid syntax: here".into() }
        );
        assert_eq!(parse_syntax("garbage"), Outcome::Syntax { line: 0, column: 0, message: "garbage".into() });
    }
}
