//! The command line: clap definitions only.
//!
//! These types stop at the command layer; domain modules take resolved
//! settings. Exit codes: 0 all good, 1 findings, 2 usage error or failure.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit status:
  0  all good
  1  findings (a commit blocked, a check failed)
  2  usage error, or the tool could not do its job

Environment:
  PYCACHE_GUARD_SKIP=1   makes every hook do nothing
  PYCACHE_GUARD_PYTHON   interpreters to compile with (comma-separated)
  PYTHONPYCACHEPREFIX    caches live in this mirror tree instead of __pycache__
  NO_COLOR               disables colour; CLICOLOR_FORCE forces it";

/// The heading under which `--help` lists the options every command takes.
const GLOBAL: &str = "Global options";

/// Keeps Python bytecode out of git, and `__pycache__` honest across checkouts.
#[derive(Debug, Parser)]
#[command(name = "pycache-guard", version, about, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Run as if started in <DIR>.
    #[arg(short = 'C', value_name = "DIR", global = true, help_heading = GLOBAL)]
    pub directory: Option<PathBuf>,

    /// When to colour output (stderr and stdout alike).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN", help_heading = GLOBAL)]
    pub color: ColorChoice,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,

    /// Explain what is being done.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color` values; the type lives with the printer that resolves it.
pub use crate::output::ColorChoice;

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install the git hooks of this repository.
    ///
    /// Installs shims into the hooks folder git uses (`git rev-parse --git-path
    /// hooks`), honouring a `core.hooksPath` set in the repository. A hook that
    /// is already there and is not ours is kept and runs first. When a hook
    /// manager's scripts are installed (pre-commit, prek, lefthook, husky),
    /// what its configuration still lacks is printed instead, and the exit
    /// status is 1 until it runs pycache-guard on every hook.
    Install(InstallArgs),

    /// Remove our hook shims, restoring any hook they chained.
    Uninstall,

    /// Run as a git hook (called by the installed shims).
    ///
    /// `pre-commit` blocks staged bytecode. Unknown hook names do nothing.
    Hook(HookArgs),

    /// Block a commit that adds or changes bytecode (pre-commit framework entry).
    ///
    /// With PATHS (as the pre-commit framework passes staged files), judges
    /// those; without, judges the index git is about to commit against HEAD,
    /// like `hook pre-commit`.
    Forbid(ForbidArgs),

    /// Make git ignore bytecode, without disturbing your own rules.
    ///
    /// Checks whether `__pycache__/`, `*.py[cod]` and `*$py.class` are in
    /// effect, as git judges it over every ignore source, and adds the missing
    /// rules as one block. Your own `!` exceptions keep winning. Exits 1 when it
    /// changed the file, as formatters do.
    Gitignore(GitignoreArgs),

    /// Recompile changed sources with the real interpreters; remove bytecode that would lie.
    ///
    /// With PATHS, recompiles the tracked sources under them. With `--since`,
    /// what changed since a revision; with `--all`, every tracked source.
    /// Without any, scans tracked sources for caches that no longer match
    /// (a stat and a 16-byte header each) and recompiles those. Orphaned
    /// caches of deleted sources are removed along the way. The git hooks
    /// post-checkout, post-merge and post-rewrite run the same code.
    Rebuild(RebuildArgs),

    /// Block until no rebuild is running or pending, then exit 0.
    ///
    /// A hook removes what would lie before git returns and compiles in a
    /// detached background rebuild (see `background` in the configuration);
    /// scripts, CI and tests that need the caches written call `wait` after
    /// the git command. Work left by a rebuild that was killed is finished
    /// here, in the foreground. Exits 2 when `--timeout` passes first or the
    /// work cannot be finished.
    Wait(WaitArgs),

    /// Report on repository hygiene: tracked, orphaned, shadowing and stale
    /// bytecode, missing ignore rules, syntax errors and missing hooks.
    ///
    /// Syntax is checked in-process for every tracked `.py` (or PATHS); what
    /// that rejects is confirmed by the configured interpreter, whose verdict
    /// is the one reported. Exits 1 when any error-severity finding remains.
    Check(CheckArgs),

    /// Remove bytecode: caches in `__pycache__` and legacy files beside sources.
    ///
    /// Without PATHS it cleans the folder it runs in and everything below, like
    /// `git clean`: in a subfolder, that subfolder only; at the top, the whole
    /// work tree. Never follows a symbolic link, never enters `.git` or a nested
    /// repository, never deletes a tracked file (unless `--include-tracked`),
    /// skips virtual environments (unless `--include-venvs`), and keeps
    /// anything that is not bytecode. Exits 2 if something could not be read or
    /// removed; the rest is cleaned anyway.
    Clean(CleanArgs),

    /// Print a shell completion script to stdout.
    ///
    /// For example `pycache-guard completions bash > ~/.local/share/bash-completion/completions/pycache-guard`,
    /// or `pycache-guard completions zsh > "${fpath[1]}/_pycache-guard"`.
    Completions(CompletionsArgs),

    /// Print the manual page (roff) to stdout, made from the same definitions as `--help`.
    ///
    /// For example `pycache-guard man > ~/.local/share/man/man1/pycache-guard.1`, or
    /// `pycache-guard man --dir ~/.local/share/man/man1` for one page per subcommand too.
    Man(ManArgs),
}

/// `man` options.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `pycache-guard.1` and one `pycache-guard-<command>.1` per subcommand
    /// into this existing folder instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `completions` arguments.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `install` options.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Install only this hook (repeatable).
    #[arg(long = "hook", value_name = "NAME")]
    pub hooks: Vec<String>,

    /// Install even where a hook manager or a global `core.hooksPath` is in charge.
    #[arg(long)]
    pub force: bool,
}

/// `hook` arguments.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The git hook being run, such as `pre-commit`.
    pub name: String,

    /// The arguments git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

/// `forbid` options.
#[derive(Debug, Args)]
pub struct ForbidArgs {
    /// Staged files to judge, relative to the current directory.
    pub paths: Vec<PathBuf>,

    /// Also allow bytecode paths matching this glob (from the repository root; repeatable).
    #[arg(long = "allow", value_name = "GLOB")]
    pub allow: Vec<String>,

    /// Unstage the offending entries (the files stay on disk); still exits 1.
    #[arg(long)]
    pub fix: bool,
}

/// `gitignore` options.
#[derive(Debug, Args)]
pub struct GitignoreArgs {
    /// Write nothing; list the missing rules and exit 1 if any are missing.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,

    /// Write nothing; print the change as a unified diff.
    #[arg(long)]
    pub dry_run: bool,

    /// The file to add the rules to: a `.gitignore` in the work tree, or
    /// `.git/info/exclude` to keep them local [default: the root `.gitignore`].
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// `--invalidation-mode` values, as `py_compile.PycInvalidationMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeChoice {
    /// Validated by the source's mtime and size.
    Timestamp,
    /// Validated by a hash of the source on every import.
    CheckedHash,
    /// Hash-based, never validated on import.
    UncheckedHash,
}

/// `rebuild` options.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Recompile the tracked sources under these files or folders.
    pub paths: Vec<PathBuf>,

    /// Recompile what changed between REV and `HEAD`, and sweep after deletions.
    #[arg(long, value_name = "REV", conflicts_with_all = ["all", "paths"])]
    pub since: Option<String>,

    /// The end of the `--since` range [default: HEAD].
    #[arg(long, value_name = "REV", requires = "since", hide = true)]
    pub until: Option<String>,

    /// What the index changed against `HEAD` (after a squash merge).
    #[arg(long, hide = true, conflicts_with_all = ["all", "paths", "since"])]
    pub staged: bool,

    /// Recompile every tracked source.
    #[arg(long, conflicts_with = "paths")]
    pub all: bool,

    /// Interpreter to compile with (repeatable): a name on `PATH` or a path.
    #[arg(long = "python", value_name = "PY")]
    pub python: Vec<String>,

    /// Optimisation level to compile at (repeatable) [default: 0].
    #[arg(long, value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub optimize: Vec<u8>,

    /// How new files are validated [default: the existing file's mode, else
    /// checked-hash when SOURCE_DATE_EPOCH is set, else timestamp].
    #[arg(long, value_enum, value_name = "MODE")]
    pub invalidation_mode: Option<ModeChoice>,

    /// Worker processes per interpreter [default: the number of cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Seconds one file may take before its worker is stopped.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Print what would be compiled and removed, and do nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Run as a hook of the pre-commit framework or prek: read the
    /// `PRE_COMMIT_*` variables, stay quiet, and always exit 0.
    #[arg(long)]
    pub hook: bool,

    /// Detach and return at once; the work is logged in `.git/pycache-guard/rebuild.log`.
    #[arg(long)]
    pub background: bool,
}

/// `wait` options.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Give up after this many seconds (exit 2) [default: wait as long as it takes].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped by finding, for people.
    Human,
    /// One JSON document with a `version` field.
    Json,
    /// GitHub Actions workflow commands, shown as annotations.
    Github,
}

/// `check` options.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check only these files or folders.
    pub paths: Vec<PathBuf>,

    /// Interpreter to confirm syntax errors and judge caches with (repeatable).
    #[arg(long = "python", value_name = "PY")]
    pub python: Vec<String>,

    /// Output format (`--output-format` is the same option, as ruff spells it).
    #[arg(long, visible_alias = "output-format", value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Skip the syntax check.
    #[arg(long)]
    pub no_syntax: bool,

    /// Run only these checks (repeatable), by finding id, such as `syntax-error`
    /// [default: `select` in `[tool.pycache-guard]`, else every check].
    #[arg(long, value_name = "ID", value_enum)]
    pub select: Vec<crate::finding::FindingId>,

    /// Skip these checks (repeatable), by finding id
    /// [default: `ignore` in `[tool.pycache-guard]`; a `--select` drops it].
    #[arg(long, value_name = "ID", value_enum)]
    pub ignore: Vec<crate::finding::FindingId>,

    /// Add the bytecode footprint: files and bytes per package folder (at any depth) and per
    /// cache tag, pytest's rewritten caches apart. With `--format human` or `json` only.
    #[arg(long)]
    pub stats: bool,

    /// Apply the safe fixes: add ignore rules, remove orphaned and shadowing
    /// bytecode, rebuild stale caches. Tracked files are never touched; the
    /// commands for them are printed.
    #[arg(long)]
    pub fix: bool,
}

/// `clean` options.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Clean only these folders or files [default: the current folder and below].
    pub paths: Vec<PathBuf>,

    /// Remove only bytecode whose source is gone, including legacy files
    /// that shadow a deleted module: the safe everyday mode.
    #[arg(long)]
    pub orphans: bool,

    /// List what would be removed, one path per line on stdout (files, then the folders
    /// left empty, with a trailing `/`); remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Also clean inside virtual environments (folders with `pyvenv.cfg`,
    /// `node_modules`, `.tox`, `.nox`).
    #[arg(long)]
    pub include_venvs: bool,

    /// Also remove bytecode that git tracks.
    #[arg(long)]
    pub include_tracked: bool,

    /// Also clean this repository's part of the `PYTHONPYCACHEPREFIX` tree.
    #[arg(long)]
    pub prefix: bool,

    /// Empty the store of compiled code in the git folder instead (what lets
    /// a branch seen before compile nothing); the work tree is not touched.
    #[arg(long, conflicts_with_all = ["paths", "orphans", "include_venvs", "include_tracked", "prefix"])]
    pub store: bool,
}
