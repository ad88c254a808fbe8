//! Peak memory of `check` against the size of the largest source: one large
//! valid module (the standard library's `argparse.py` repeated) per row, and
//! one in-tree file that claims 4 GiB (sparse), which must be refused long
//! before 1 GiB. The peak is `wait4`'s, so it covers the interpreter workers
//! `check` waits for, not only its own process.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::corpus;
use crate::measure::{Side, run_once};
use crate::pairs::Bench;

/// One measured source.
pub struct MemoryRow {
    /// What is measured.
    pub work: String,
    /// The source's size on disk, bytes.
    pub source_bytes: u64,
    /// Peak resident memory over the runs, KiB.
    pub peak_kib: u64,
    /// The goal: at most this ratio of peak to source size, or at most this many MiB.
    pub goal: Goal,
}

/// What a row must stay under.
#[derive(Clone, Copy)]
pub enum Goal {
    /// Peak ≤ this many times the source size.
    Ratio(f64),
    /// Peak ≤ this many MiB.
    MiB(f64),
}

impl MemoryRow {
    fn ratio(&self) -> f64 {
        (self.peak_kib * 1024) as f64 / self.source_bytes.max(1) as f64
    }

    fn met(&self) -> bool {
        match self.goal {
            Goal::Ratio(most) => self.ratio() <= most,
            Goal::MiB(most) => self.peak_kib as f64 / 1024.0 <= most,
        }
    }
}

/// A repository holding one committed `big.py` of about `mib` MiB of valid code.
fn large_source_repo(work: &Path, mib: u64) -> Result<PathBuf> {
    let repo = work.join(format!("memory-{mib}mib"));
    if repo.join(".git").exists() {
        return Ok(repo);
    }
    std::fs::create_dir_all(&repo)?;
    let python = corpus::real_python()?;
    let argparse = corpus::run(&repo, &python, &["-I", "-S", "-c", "import argparse; print(argparse.__file__)"])?;
    let module = std::fs::read(argparse.trim()).context("reading argparse.py")?;
    let mut text = Vec::with_capacity((mib << 20) as usize + module.len());
    while (text.len() as u64) < mib << 20 {
        text.extend_from_slice(&module);
        text.push(b'\n');
    }
    std::fs::write(repo.join("big.py"), &text)?;
    corpus::run(&repo, "git", &["init", "-q", "-b", "main", "."])?;
    corpus::run(&repo, "git", &["add", "big.py"])?;
    corpus::run(&repo, "git", &["commit", "-q", "-m", "one large module"])?;
    Ok(repo)
}

/// A repository whose committed `endless.py` is replaced by a sparse 4 GiB file.
fn endless_source_repo(work: &Path) -> Result<PathBuf> {
    let repo = work.join("memory-endless");
    if !repo.join(".git").exists() {
        std::fs::create_dir_all(&repo)?;
        std::fs::write(repo.join("endless.py"), "X = 1\n")?;
        corpus::run(&repo, "git", &["init", "-q", "-b", "main", "."])?;
        corpus::run(&repo, "git", &["add", "endless.py"])?;
        corpus::run(&repo, "git", &["commit", "-q", "-m", "a small module"])?;
    }
    std::fs::OpenOptions::new().write(true).open(repo.join("endless.py"))?.set_len(4 << 30)?;
    Ok(repo)
}

fn peak(bench: &Bench, repo: &Path, rounds: usize) -> Result<u64> {
    let python = corpus::real_python()?;
    let argv = [bench.binary.to_str().unwrap_or_default(), "check", "--select", "syntax-error", "--format", "json"];
    let mut side = Side::new("check", repo, &argv).ok_codes(&[0, 1]);
    side.env = corpus::git_env();
    side.env.push(("PYCACHE_GUARD_PYTHON".into(), python.display().to_string()));
    let mut most = 0;
    for _ in 0..rounds {
        most = most.max(run_once(&side)?.max_rss_kib);
    }
    Ok(most)
}

/// Measures every row: 1 MiB in quick mode, up to 20 MiB in a full run.
pub fn run(bench: &Bench) -> Result<Vec<MemoryRow>> {
    let sizes: &[u64] = if bench.quick { &[1] } else { &[1, 4, 8, 12, 16, 20] };
    let rounds = if bench.quick { 1 } else { 3 };
    let mut rows = Vec::new();
    for &mib in sizes {
        let repo = large_source_repo(&bench.work, mib)?;
        let source_bytes = std::fs::metadata(repo.join("big.py"))?.len();
        rows.push(MemoryRow {
            work: format!("`check`, one valid {mib} MiB module"),
            source_bytes,
            peak_kib: peak(bench, &repo, rounds)?,
            goal: Goal::Ratio(20.0),
        });
    }
    let repo = endless_source_repo(&bench.work)?;
    rows.push(MemoryRow {
        work: "`check`, an in-tree source that claims 4 GiB".into(),
        source_bytes: 4 << 30,
        peak_kib: peak(bench, &repo, 1)?,
        goal: Goal::MiB(1024.0),
    });
    Ok(rows)
}

/// The rows as a Markdown table.
pub fn table(rows: &[MemoryRow]) -> String {
    let mut out = String::from(
        "| work | source (MiB) | check peak (MiB) | peak / source | goal | met |\n| --- | ---: | ---: | ---: | --- | --- |\n",
    );
    for row in rows {
        let goal = match row.goal {
            Goal::Ratio(most) => format!("≤ {most}× the source"),
            Goal::MiB(most) => format!("≤ {most} MiB"),
        };
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {:.2} | {goal} | {} |",
            row.work,
            row.source_bytes as f64 / 1048576.0,
            row.peak_kib as f64 / 1024.0,
            row.ratio(),
            if row.met() { "yes" } else { "**no**" },
        );
    }
    out
}
