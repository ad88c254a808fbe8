//! The command layer: turns parsed arguments into domain calls and decides
//! what the person sees. One file per subcommand.

mod forbid;
mod gitignore;
mod hook;
mod install;
mod rebuild;
mod uninstall;

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::Command;
use crate::display::PathStyle;
use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::output::Printer;

/// What every command gets: the printer and the directory the user started in.
pub struct Context {
    /// Where diagnostics go.
    pub printer: Printer,
    /// The directory relative paths on the command line are relative to.
    pub cwd: PathBuf,
}

impl Context {
    /// A context for the current directory (after `-C`).
    pub fn new(printer: Printer) -> Result<Context> {
        let cwd = std::env::current_dir()?;
        let cwd = cwd.canonicalize().unwrap_or(cwd);
        Ok(Context { printer, cwd })
    }

    /// How to show repository paths to this user. Inside a hook git runs us at
    /// the top of the work tree and says in `GIT_PREFIX` where the user was.
    pub fn path_style(&self, repo: &Repo) -> Result<PathStyle> {
        let workdir = repo.workdir()?.to_path_buf();
        let mut user_dir = self.cwd.clone();
        if user_dir == workdir
            && let Some(prefix) = std::env::var_os("GIT_PREFIX").filter(|prefix| !prefix.is_empty())
        {
            user_dir = crate::paths::normalize(&workdir.join(prefix));
        }
        Ok(PathStyle::new(workdir, user_dir))
    }
}

/// Runs one subcommand.
pub fn dispatch(command: Command, context: &Context) -> Result<ExitStatus> {
    match command {
        Command::Install(args) => install::run(context, &args),
        Command::Uninstall => uninstall::run(context),
        Command::Hook(args) => hook::run(context, &args),
        Command::Forbid(args) => forbid::run(context, &forbid::Options::from(&args)),
        Command::Gitignore(args) => gitignore::run(context, &args),
        Command::Rebuild(args) => rebuild::run(context, &args),
    }
}

/// A refusal: the message says what is wrong, the hint how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    message: String,
    hint: String,
}

impl Refusal {
    /// A refusal with its fix.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Refusal {
        Refusal { message: message.into(), hint: hint.into() }
    }
}

/// A hint that goes with an error, for the errors that have an obvious fix.
pub fn hint_for(error: &anyhow::Error) -> Option<String> {
    use crate::git::GitError;
    for cause in error.chain() {
        if let Some(refusal) = cause.downcast_ref::<Refusal>() {
            return Some(refusal.hint.clone());
        }
        if let Some(error) = cause.downcast_ref::<GitError>() {
            return match error {
                GitError::NotARepository { .. } => {
                    Some("run it inside a git work tree, or name one with `pycache-guard -C <dir> ...`".into())
                }
                GitError::Bare { .. } => {
                    Some("run it in a work tree of this repository (`git worktree add <dir>`)".into())
                }
                _ => None,
            };
        }
        if let Some(crate::gitignore::GitignoreError::Read { .. }) = cause.downcast_ref() {
            return Some("check the file's permissions; nothing was changed".into());
        }
        if cause.downcast_ref::<crate::config::ConfigError>().is_some() {
            return Some("fix `[tool.pycache-guard]` in `pyproject.toml`; the keys are listed in the README".into());
        }
    }
    None
}
