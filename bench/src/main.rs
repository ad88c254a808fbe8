//! The benchmark harness: builds its corpora, builds pycache-guard in release
//! mode, and times each pair of commands side by side.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml -- [--quick] [--only NAME,...] [--rounds N]`

mod corpus;
mod measure;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use measure::{Comparison, Side, compare, ms};

/// Settings from the command line.
struct Settings {
    quick: bool,
    only: Vec<String>,
    rounds: usize,
    warmup: usize,
}

fn parse_args() -> Result<Settings> {
    let mut settings = Settings { quick: false, only: Vec::new(), rounds: 15, warmup: 2 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => settings.quick = true,
            "--only" => {
                settings.only = args.next().context("--only needs names")?.split(',').map(String::from).collect()
            }
            "--rounds" => settings.rounds = args.next().context("--rounds needs a number")?.parse()?,
            "-h" | "--help" => {
                println!("usage: pycache-guard-bench [--quick] [--only NAME,...] [--rounds N]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    if settings.quick {
        settings.rounds = settings.rounds.min(3);
        settings.warmup = 1;
    }
    Ok(settings)
}

/// One row of the report.
struct Row {
    name: &'static str,
    work: String,
    ours: String,
    theirs: String,
    comparison: Comparison,
    goal: Option<f64>,
}

/// Everything the pairs need.
struct Bench {
    root: PathBuf,
    work: PathBuf,
    binary: PathBuf,
    settings: Settings,
}

impl Bench {
    fn wanted(&self, name: &str) -> bool {
        self.settings.only.is_empty() || self.settings.only.iter().any(|only| only == name)
    }

    fn compare(&self, ours: &Side, theirs: &Side) -> Result<Comparison> {
        compare(ours, theirs, self.settings.warmup, self.settings.rounds)
    }

    fn ours(&self, label: &str, dir: &Path, args: &[&str]) -> Side {
        let mut argv = vec![self.binary.to_str().unwrap_or_default()];
        argv.extend_from_slice(args);
        let mut side = Side::new(label, dir, &argv);
        side.env = corpus::git_env();
        side
    }
}

fn build_binary(root: &Path) -> Result<PathBuf> {
    let status = std::process::Command::new("cargo")
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    Ok(root.join("target/release/pycache-guard"))
}

fn guard_pair(bench: &Bench) -> Result<Row> {
    let entries = if bench.settings.quick { 5_000 } else { 100_000 };
    let repo = corpus::big_index_repo(&bench.work, entries)?;
    let ours = bench.ours("hook pre-commit", &repo, &["hook", "pre-commit"]);
    let mut theirs = Side::new("git diff --cached --name-only", &repo, &["git", "diff", "--cached", "--name-only"]);
    theirs.env = corpus::git_env();
    let comparison = bench.compare(&ours, &theirs)?;
    Ok(Row {
        name: "guard",
        work: format!("commit guard, {entries}-entry index"),
        ours: "`hook pre-commit`".into(),
        theirs: "`git diff --cached --name-only`".into(),
        comparison,
        goal: Some(1.0),
    })
}

fn print_rows(rows: &[Row], cores: usize) {
    println!(
        "\n| work | ours | against | ours median (ms) | theirs median (ms) | ratio | goal | met | ours peak (MiB) | theirs peak (MiB) |"
    );
    println!("| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
    for row in rows {
        let c = &row.comparison;
        let (goal, met) = match row.goal {
            Some(goal) => (format!("≤ {goal}"), if c.ratio() <= goal { "yes" } else { "**no**" }),
            None => ("report".into(), "-"),
        };
        println!(
            "| {} | {} | {} | {} ({}–{}) | {} ({}–{}) | {:.2} | {goal} | {met} | {:.1} | {:.1} |",
            row.work,
            row.ours,
            row.theirs,
            ms(c.ours.median),
            ms(c.ours.low),
            ms(c.ours.high),
            ms(c.theirs.median),
            ms(c.theirs.low),
            ms(c.theirs.high),
            c.ratio(),
            c.ours.max_rss_kib as f64 / 1024.0,
            c.theirs.max_rss_kib as f64 / 1024.0,
        );
    }
    println!(
        "\n{} cores; medians with 25th–75th percentiles; {}",
        cores,
        rows.first().map(|r| r.name).unwrap_or_default()
    );
}

fn main() -> Result<()> {
    let settings = parse_args()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("bench/ has a parent")?.to_path_buf();
    let work = root.join("bench/work").join(if settings.quick { "quick" } else { "full" });
    std::fs::create_dir_all(&work)?;
    let binary = build_binary(&root)?;
    let bench = Bench { root, work, binary, settings };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut rows = Vec::new();
    if bench.wanted("guard") {
        eprintln!("bench: guard");
        rows.push(guard_pair(&bench)?);
    }
    let _ = &bench.root;
    print_rows(&rows, cores);
    Ok(())
}
