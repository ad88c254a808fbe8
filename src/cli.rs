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
  PYCACHE_GUARD_SKIP=1  makes every hook do nothing
  NO_COLOR              disables colour; CLICOLOR_FORCE forces it";

/// Keeps Python bytecode out of git, and `__pycache__` honest across checkouts.
#[derive(Debug, Parser)]
#[command(name = "pycache-guard", version, about, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Run as if started in <DIR>.
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// When to colour output on stderr.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Explain what is being done.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal, NO_COLOR is unset and TERM is not `dumb`.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install the git hooks of this repository.
    ///
    /// Installs shims into the hooks folder git uses (`git rev-parse --git-path
    /// hooks`), honouring a `core.hooksPath` set in the repository. A hook that
    /// is already there and is not ours is kept and runs first. When the
    /// repository uses a hook manager (pre-commit, prek, lefthook, husky), the
    /// configuration to add is printed instead.
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
