//! The command layer: turns parsed arguments into domain calls and decides
//! what the person sees. One file per subcommand.

mod check;
mod clean;
mod completions;
mod forbid;
pub(crate) mod gitignore;
mod hook;
mod install;
mod rebuild;
mod uninstall;
mod wait;

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
            && let Some(prefix) = crate::env::git_prefix()
        {
            user_dir = crate::paths::normalize(&workdir.join(prefix));
        }
        Ok(PathStyle::new(workdir, user_dir))
    }
}

/// The store of compiled code for `repo` ([`crate::store`]), or `None` when
/// `pycache-guard.storeSize` is 0. A value git cannot read as a size is
/// warned about and the default used: a typo must not stop every rebuild.
pub fn store_for(context: &Context, repo: &Repo) -> Option<crate::store::Store> {
    let limit = match repo.config_values(crate::store::SIZE_KEY).last() {
        None => crate::store::DEFAULT_LIMIT,
        Some(text) => crate::store::parse_size(text).unwrap_or_else(|| {
            context.printer.warning(format!(
                "`{}` is not a size (`{}`); using {} MiB",
                crate::store::SIZE_KEY,
                crate::display::sanitize_text(text),
                crate::store::DEFAULT_LIMIT >> 20,
            ));
            context
                .printer
                .hint(format!("set it with `git config {} 256m`, or 0 to turn the store off", crate::store::SIZE_KEY));
            crate::store::DEFAULT_LIMIT
        }),
    };
    (limit > 0).then(|| crate::store::Store::new(repo.common_dir(), limit))
}

/// Paths the user named, relative to the repository, or a refusal naming the
/// first one that leaves the work tree or does not exist.
pub fn repo_paths(context: &Context, workdir: &std::path::Path, paths: &[PathBuf]) -> Result<Vec<bstr::BString>> {
    let relative = named_paths(context, workdir, paths)?;
    for (path, repo_path) in paths.iter().zip(&relative) {
        // A dangling link still names something to act on; only nothing at all is refused.
        if fs_err::symlink_metadata(crate::paths::in_workdir(workdir, repo_path)).is_err() {
            return Err(missing_path(path));
        }
    }
    Ok(relative)
}

/// Paths the user named, relative to the repository, without asking whether
/// they exist (for `forbid`, where a staged path counts even if deleted on disk).
pub fn named_paths(context: &Context, workdir: &std::path::Path, paths: &[PathBuf]) -> Result<Vec<bstr::BString>> {
    paths
        .iter()
        .map(|path| {
            crate::paths::repo_relative(workdir, &context.cwd, path).ok_or_else(|| {
                Refusal::new(
                    format!(
                        "`{}` is outside the repository at `{}`",
                        crate::display::quote_path(path.as_os_str().as_encoded_bytes()),
                        crate::display::quote_path(workdir.as_os_str().as_encoded_bytes())
                    ),
                    "name files or folders inside the work tree",
                )
                .into()
            })
        })
        .collect()
}

/// The refusal for a named path that does not exist.
pub fn missing_path(path: &std::path::Path) -> anyhow::Error {
    Refusal::new(
        format!("`{}` does not exist", crate::display::quote_path(path.as_os_str().as_encoded_bytes())),
        "check the spelling; paths are relative to the current directory",
    )
    .into()
}

/// Where caches go: the `PYTHONPYCACHEPREFIX` mirror tree when it is set
/// (relative to the current directory, as Python resolves it), else `__pycache__`.
pub fn cache_location() -> Result<crate::artifact::CacheLocation> {
    Ok(match crate::env::pycache_prefix() {
        Some(prefix) => crate::artifact::CacheLocation::Prefix(std::path::absolute(PathBuf::from(prefix))?),
        None => crate::artifact::CacheLocation::Pycache,
    })
}

/// The interpreters to compile or check with, chosen in the documented order
/// and queried through the cache in the repository folder.
pub fn find_interpreters(
    context: &Context,
    repo: &Repo,
    config: &crate::config::ProjectConfig,
    flags: &[String],
    index: &crate::index::Index,
) -> (Vec<crate::interpreter::Interpreter>, Vec<crate::interpreter::InterpreterError>) {
    let Ok(workdir) = repo.workdir() else { return (Vec::new(), Vec::new()) };
    let git_config = repo.config_values("pycache-guard.python");
    let requests = crate::interpreter::requests(flags, &git_config, &config.python, workdir, index);
    let mut cache = crate::interpreter::Cache::load(repo.git_dir());
    let found = crate::interpreter::discover(&requests, &context.cwd, workdir, index, &mut cache);
    cache.save(repo.git_dir());
    for interpreter in &found.0 {
        context.printer.verbose(format!(
            "using `{}` (Python {}, {}) for `{}` from {}",
            crate::display::quote_path(interpreter.info.executable.as_os_str().as_encoded_bytes()),
            crate::display::sanitize_text(&interpreter.info.version),
            crate::display::sanitize_text(&interpreter.info.cache_tag),
            crate::display::sanitize_text(&interpreter.request.name),
            interpreter.request.origin.describe()
        ));
    }
    found
}

/// An interpreter error as it may reach a terminal: its name and the
/// interpreter's words escaped.
pub fn shown(error: &crate::interpreter::InterpreterError) -> String {
    crate::display::sanitize_text(&error.to_string())
}

/// Fails (exit 2) when an interpreter someone named cannot be used, so that
/// a typo in CI fails; only the automatic fallback may be missing. Every
/// such interpreter is reported, one line each.
pub fn refuse_named_interpreters(context: &Context, errors: &[crate::interpreter::InterpreterError]) -> Result<()> {
    let named: Vec<_> = errors.iter().filter(|error| !error.is_fallback()).collect();
    let Some((last, others)) = named.split_last() else { return Ok(()) };
    for error in others {
        context.printer.error(shown(error));
    }
    let hint = match last.origin {
        crate::interpreter::Origin::PythonVersionFile if crate::interpreter::managed::is_version_name(&last.name) => {
            let name = crate::display::shell_quote(last.name.as_bytes());
            format!("install it (`pyenv install {name}` or `uv python install {name}`), or choose one with `--python`")
        }
        _ => "install it, or name another with `--python`, `PYCACHE_GUARD_PYTHON` or git config `pycache-guard.python`"
            .to_string(),
    };
    Err(Refusal::new(shown(last), hint).into())
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
        Command::Wait(args) => wait::run(context, &args),
        Command::Check(args) => check::run(context, &args),
        Command::Clean(args) => clean::run(context, &args),
        Command::Completions(args) => completions::completions(context, &args),
        Command::Man(args) => completions::man(context, &args),
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

/// The configuration's `exclude` globs, matched from the repository root
/// (`*` stays within a folder).
pub fn exclude_globs(globs: &[String]) -> Result<globset::GlobSet> {
    let mut exclude = globset::GlobSetBuilder::new();
    for glob in globs {
        exclude.add(globset::GlobBuilder::new(glob).literal_separator(true).build()?);
    }
    Ok(exclude.build()?)
}
