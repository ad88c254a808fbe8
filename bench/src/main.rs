//! The benchmark harness: builds its corpora, builds pycache-guard in release
//! mode, and times each pair of commands side by side, A B A B after a
//! warm-up. Ratios measured in one run are the figures; absolute times on a
//! shared machine are noise.
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml -- [--quick] [--only NAME,...] [--rounds N] [--no-scale] [--sizes N,...]
//! ```
//!
//! Results go to `bench/work/<mode>/results.md`; the full run also writes the
//! charts under `docs/`.

mod corpus;
mod measure;
mod memory;
mod pairs;
mod report;
mod scale;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use pairs::{Bench, Row};

/// Settings from the command line.
struct Settings {
    quick: bool,
    only: Vec<String>,
    rounds: Option<usize>,
    scale: bool,
    sizes: Option<Vec<usize>>,
}

fn parse_args() -> Result<Settings> {
    let mut settings = Settings { quick: false, only: Vec::new(), rounds: None, scale: true, sizes: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => settings.quick = true,
            "--only" => {
                settings.only = args.next().context("--only needs names")?.split(',').map(String::from).collect()
            }
            "--rounds" => settings.rounds = Some(args.next().context("--rounds needs a number")?.parse()?),
            "--no-scale" => settings.scale = false,
            "--sizes" => {
                let list = args.next().context("--sizes needs copy counts, such as 1,16")?;
                settings.sizes = Some(list.split(',').map(str::parse).collect::<Result<_, _>>()?);
            }
            "-h" | "--help" => {
                println!(
                    "usage: pycache-guard-bench [--quick] [--only NAME,...] [--rounds N] [--no-scale] [--sizes N,...]\n\
                     names: guard, guard-pre-commit, rebuild-k, rebuild-tree, noop, syntax, everyday, clean, memory, scale"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; see --help"),
        }
    }
    Ok(settings)
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

fn main() -> Result<()> {
    let settings = parse_args()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("bench/ has a parent")?.to_path_buf();
    let mode = if settings.quick { "quick" } else { "full" };
    let work = root.join("bench/work").join(mode);
    std::fs::create_dir_all(&work)?;
    let bench = Bench {
        binary: build_binary(&root)?,
        quick: settings.quick,
        rounds: settings.rounds.unwrap_or(if settings.quick { 2 } else { 15 }),
        warmup: if settings.quick { 1 } else { 2 },
        work,
    };
    let wanted = |name: &str| settings.only.is_empty() || settings.only.iter().any(|only| only == name);
    let mut rows: Vec<Row> = Vec::new();
    let step = |name: &str| {
        let go = wanted(name);
        if go {
            eprintln!("bench: {name}");
        }
        go
    };
    if step("guard") {
        rows.push(pairs::guard(&bench)?);
    }
    if step("guard-pre-commit") {
        rows.push(pairs::guard_via_pre_commit(&bench)?);
    }
    if wanted("rebuild-k") || wanted("rebuild-tree") || wanted("noop") {
        let corpus = pairs::two_versions(&bench)?;
        if step("rebuild-k") {
            rows.push(pairs::rebuild_k(&bench, &corpus)?);
        }
        if step("rebuild-tree") {
            rows.push(pairs::rebuild_tree(&bench, &corpus)?);
        }
        if step("noop") {
            rows.push(pairs::noop(&bench, &corpus)?);
        }
    }
    if step("syntax") {
        rows.push(pairs::syntax(&bench)?);
    }
    if step("everyday") {
        rows.extend(pairs::everyday(&bench)?);
    }
    if step("clean") {
        let (against_pyclean, against_find) = pairs::clean(&bench)?;
        rows.push(against_pyclean);
        rows.push(against_find);
    }
    let memory = if step("memory") { memory::run(&bench)? } else { Vec::new() };
    // 82 copies of the standard library are about 200,000 tracked files.
    let sizes = settings.sizes.clone().unwrap_or(if settings.quick { vec![1, 2] } else { vec![1, 4, 16, 82] });
    let scale = if settings.scale && wanted("scale") {
        let (scale, scale_rows) = scale::run(&bench, &sizes)?;
        rows.extend(scale_rows);
        scale
    } else {
        Vec::new()
    };
    publish(&root, &bench, &settings, &rows, &memory, &scale)
}

/// Prints the tables and writes them, with the charts.
fn publish(
    root: &Path,
    bench: &Bench,
    settings: &Settings,
    rows: &[Row],
    memory: &[memory::MemoryRow],
    scale: &[scale::ScaleRow],
) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let date = corpus::run(Path::new("/"), "date", &["-u", "+%Y-%m-%d"])?;
    let mut text = format!(
        "Measured {date} on {cores} cores; medians of {} alternating rounds after {} warm-up, 25th–75th percentiles in brackets.\n\n",
        bench.rounds, bench.warmup
    );
    if !rows.is_empty() {
        text.push_str(&report::pairs_table(rows));
    }
    if !memory.is_empty() {
        text.push('\n');
        text.push_str(&memory::table(memory));
    }
    if !scale.is_empty() {
        text.push('\n');
        text.push_str(&report::scale_table(scale));
    }
    println!("\n{text}");
    std::fs::write(bench.work.join("results.md"), &text)?;
    // The committed charts come from full runs only.
    let charts = if settings.quick || !settings.only.is_empty() { bench.work.clone() } else { root.join("docs") };
    std::fs::create_dir_all(&charts)?;
    if !rows.is_empty() {
        report::ratio_chart(
            rows,
            &charts.join("bench-ratios.svg"),
            &format!("pycache-guard against today's tools ({date}, {cores} cores)"),
        )?;
    }
    if !scale.is_empty() {
        report::scale_chart(
            scale,
            &charts.join("bench-scaling.svg"),
            &format!("scaling with the corpus ({date}, {cores} cores)"),
        )?;
    }
    eprintln!("bench: tables in {}, charts in {}", bench.work.join("results.md").display(), charts.display());
    Ok(())
}
