//! Timing processes: wall time and peak memory of finished children, pairs
//! measured in alternation so that machine noise falls on both sides.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// One side of a comparison: a command line and what to do before each run.
pub struct Side {
    /// Shown in the report.
    pub label: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory.
    pub dir: PathBuf,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Untimed preparation before every run (restoring a tree, say).
    pub prepare: Option<Box<dyn Fn() -> Result<()>>>,
    /// Exit codes that count as success.
    pub ok_codes: Vec<i32>,
}

impl Side {
    /// A side that runs `argv` in `dir` and expects exit code 0.
    pub fn new(label: &str, dir: impl Into<PathBuf>, argv: &[&str]) -> Side {
        Side {
            label: label.to_string(),
            argv: argv.iter().map(|arg| arg.to_string()).collect(),
            dir: dir.into(),
            env: Vec::new(),
            prepare: None,
            ok_codes: vec![0],
        }
    }

    /// Sets the untimed preparation.
    pub fn prepare(mut self, prepare: impl Fn() -> Result<()> + 'static) -> Side {
        self.prepare = Some(Box::new(prepare));
        self
    }

    /// Accepts more exit codes.
    pub fn ok_codes(mut self, codes: &[i32]) -> Side {
        self.ok_codes = codes.to_vec();
        self
    }
}

/// One finished run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Wall time.
    pub wall: Duration,
    /// Peak resident memory of the process tree's largest process, KiB.
    pub max_rss_kib: u64,
}

/// Runs a side once and measures it with `wait4`.
pub fn run_once(side: &Side) -> Result<Sample> {
    if let Some(prepare) = &side.prepare {
        prepare().with_context(|| format!("preparing {}", side.label))?;
    }
    let mut command = Command::new(&side.argv[0]);
    command.args(&side.argv[1..]).current_dir(&side.dir).stdin(Stdio::null()).stdout(Stdio::null());
    command.stderr(Stdio::piped());
    // Both sides run without the machine's PYTHONDONTWRITEBYTECODE: the hook honours it, compileall does not.
    command.env_remove("PYTHONDONTWRITEBYTECODE");
    command.envs(side.env.iter().map(|(k, v)| (k, v)));
    let started = Instant::now();
    let mut child = command.spawn().with_context(|| format!("starting {:?}", side.argv))?;
    let stderr = child.stderr.take();
    // Drain stderr on a thread so a chatty child never blocks on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        }
        text
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain FFI; `usage` is zeroed plain data and `pid` is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    let stderr = reader.join().unwrap_or_default();
    if waited != pid {
        bail!("wait4 failed for {:?}", side.argv);
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    if !side.ok_codes.contains(&code) {
        bail!("{} exited with {code}: {:?}\n{stderr}", side.label, side.argv);
    }
    // The child is reaped; forget it so that `Child`'s drop does not wait again.
    std::mem::forget(child);
    Ok(Sample { wall, max_rss_kib: usage.ru_maxrss as u64 })
}

/// Summary of many runs of one side.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Median wall time.
    pub median: Duration,
    /// 25th percentile.
    pub low: Duration,
    /// 75th percentile.
    pub high: Duration,
    /// Peak memory over all runs, KiB.
    pub max_rss_kib: u64,
}

impl Stats {
    /// Summarises samples.
    pub fn of(samples: &[Sample]) -> Stats {
        let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
        walls.sort();
        let at = |q: f64| walls[((walls.len() - 1) as f64 * q).round() as usize];
        Stats {
            median: at(0.5),
            low: at(0.25),
            high: at(0.75),
            max_rss_kib: samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0),
        }
    }
}

/// Two sides measured in alternation.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Ours.
    pub ours: Stats,
    /// Theirs.
    pub theirs: Stats,
}

impl Comparison {
    /// Median ours over median theirs.
    pub fn ratio(&self) -> f64 {
        self.ours.median.as_secs_f64() / self.theirs.median.as_secs_f64()
    }
}

/// Runs `warmup` untimed rounds, then `rounds` timed rounds of A then B.
pub fn compare(ours: &Side, theirs: &Side, warmup: usize, rounds: usize) -> Result<Comparison> {
    for _ in 0..warmup {
        run_once(ours)?;
        run_once(theirs)?;
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which side goes first, so neither always inherits a warm cache.
        if round % 2 == 0 {
            a.push(run_once(ours)?);
            b.push(run_once(theirs)?);
        } else {
            b.push(run_once(theirs)?);
            a.push(run_once(ours)?);
        }
    }
    Ok(Comparison { ours: Stats::of(&a), theirs: Stats::of(&b) })
}

/// Milliseconds with two decimals.
pub fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}
