//! Everything that talks to git: the only module that uses `git2` or runs `git`.
//!
//! The repository is opened with `git2` (built without default features, so no
//! TLS start-up cost). Where libgit2 lags behind git, git itself is asked: the
//! hooks folder (`git rev-parse --git-path hooks`) and the scope of a config
//! value. Index writes also go through git so that split and sparse indexes stay
//! exactly as git wants them.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Failures to reach or read the repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No repository here.
    #[error("`{dir}` is not inside a git repository")]
    NotARepository {
        /// Where we looked from.
        dir: PathBuf,
    },
    /// The command needs a work tree.
    #[error("`{git_dir}` is a bare repository; this command needs a work tree")]
    Bare {
        /// The repository folder.
        git_dir: PathBuf,
    },
    /// libgit2 failed at something.
    #[error("cannot {action}: {message}")]
    Library {
        /// What we were doing, in the user's words.
        action: String,
        /// libgit2's message.
        message: String,
    },
    /// Running `git` failed.
    #[error("`git {command}` failed: {message}")]
    Command {
        /// The arguments.
        command: String,
        /// What git said, or why it could not start.
        message: String,
    },
}

/// The hash function of a repository's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectFormat {
    /// The default.
    Sha1,
    /// `extensions.objectFormat = sha256`.
    Sha256,
}

impl ObjectFormat {
    /// Bytes in a raw object id.
    pub fn hash_len(self) -> usize {
        match self {
            ObjectFormat::Sha1 => 20,
            ObjectFormat::Sha256 => 32,
        }
    }
}

/// An open repository.
pub struct Repo {
    repo: git2::Repository,
    workdir: Option<PathBuf>,
}

/// A blob as recorded in a tree: raw id and git file mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeBlob {
    /// Raw object id bytes.
    pub id: Vec<u8>,
    /// The git file mode, such as `0o100644`.
    pub mode: u32,
}

fn library(action: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let action = action.into();
    move |error| GitError::Library { action, message: error.message().to_string() }
}

impl Repo {
    /// Finds the repository from the current directory, honouring `GIT_DIR`,
    /// `GIT_WORK_TREE` and `GIT_CEILING_DIRECTORIES` as git does.
    pub fn discover() -> Result<Repo, GitError> {
        let repo = git2::Repository::open_from_env().map_err(|error| {
            let dir = std::env::current_dir().unwrap_or_default();
            match error.code() {
                git2::ErrorCode::NotFound => GitError::NotARepository { dir },
                _ => library(format!("open the repository at `{}`", dir.display()))(error),
            }
        })?;
        let workdir = repo.workdir().map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()));
        Ok(Repo { repo, workdir })
    }

    /// The work tree, canonical. Errors for bare repositories.
    pub fn workdir(&self) -> Result<&Path, GitError> {
        self.workdir.as_deref().ok_or_else(|| GitError::Bare { git_dir: self.git_dir().to_path_buf() })
    }

    /// The repository folder of this work tree (`.git`, or `.git/worktrees/<name>`).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The folder shared by all worktrees.
    pub fn common_dir(&self) -> &Path {
        self.repo.commondir()
    }

    /// True for a bare repository.
    pub fn is_bare(&self) -> bool {
        self.repo.is_bare()
    }

    /// The index git uses right now: `GIT_INDEX_FILE` (relative to the current
    /// directory, as git hands it to hooks) or the repository's own.
    pub fn index_path(&self) -> PathBuf {
        match std::env::var_os("GIT_INDEX_FILE").filter(|value| !value.is_empty()) {
            Some(path) => std::path::absolute(Path::new(&path)).unwrap_or_else(|_| PathBuf::from(path)),
            None => self.git_dir().join("index"),
        }
    }

    /// The index to read, with what is needed to read it.
    pub fn index_location(&self) -> crate::index::IndexLocation {
        let path = self.index_path();
        // git looks for `sharedindex.*` in the repository folder; a temporary
        // index elsewhere still refers to it there.
        let mut shared_dirs = vec![self.git_dir().to_path_buf(), self.common_dir().to_path_buf()];
        if let Some(parent) = path.parent() {
            shared_dirs.push(parent.to_path_buf());
        }
        crate::index::IndexLocation { path, format: self.object_format(), shared_dirs }
    }

    /// The object format, from `extensions.objectFormat`.
    pub fn object_format(&self) -> ObjectFormat {
        let sha256 = self
            .repo
            .config()
            .and_then(|config| config.get_string("extensions.objectformat"))
            .is_ok_and(|value| value.eq_ignore_ascii_case("sha256"));
        if sha256 { ObjectFormat::Sha256 } else { ObjectFormat::Sha1 }
    }

    /// The tree of `HEAD`, or `None` on an unborn branch.
    pub fn head_tree(&self) -> Result<Option<git2::Tree<'_>>, GitError> {
        let head = match self.repo.head() {
            Ok(head) => head,
            Err(error) if matches!(error.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => {
                return Ok(None);
            }
            Err(error) => return Err(library("resolve `HEAD`")(error)),
        };
        head.peel_to_tree().map(Some).map_err(library("read the tree of `HEAD`"))
    }

    /// The blob at `path` in `tree`, if any.
    pub fn blob_in(tree: &git2::Tree<'_>, path: &[u8]) -> Option<TreeBlob> {
        let entry = tree.get_path(Path::new(OsStr::from_bytes(path))).ok()?;
        (entry.kind() == Some(git2::ObjectType::Blob)).then(|| TreeBlob {
            id: entry.id().as_bytes().to_vec(),
            mode: u32::try_from(entry.filemode()).unwrap_or_default(),
        })
    }

    /// A `git` command that runs in the work tree (or the repository folder when bare).
    pub fn command(&self) -> Command {
        let mut command = Command::new("git");
        let dir = self.workdir.as_deref().unwrap_or_else(|| self.git_dir());
        command.current_dir(dir);
        command
    }

    /// Runs `git args...` and returns its stdout, trimmed of the final newline.
    pub fn output(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        run(self.command().args(args), args, None)
    }

    /// Runs `git args...` with extra environment, feeding `input` on stdin.
    pub fn output_with(&self, args: &[&str], input: &[u8], env: &[(&str, &OsStr)]) -> Result<Vec<u8>, GitError> {
        let mut command = self.command();
        command.args(args).envs(env.iter().copied());
        run(&mut command, args, Some(input))
    }

    /// The hooks folder, exactly as git resolves it (`core.hooksPath`, worktrees).
    pub fn hooks_dir(&self) -> Result<PathBuf, GitError> {
        let out = self.output(&["rev-parse", "--path-format=absolute", "--git-path", "hooks"])?;
        Ok(PathBuf::from(OsStr::from_bytes(&out)))
    }

    /// The scope (`local`, `worktree`, `global`, `system`, `command`) and value
    /// of the config entry git would use for `key`, if set.
    pub fn config_with_scope(&self, key: &str) -> Result<Option<(String, String)>, GitError> {
        let args = ["config", "--show-scope", "--get", key];
        let output = self
            .command()
            .args(args)
            .output()
            .map_err(|error| GitError::Command { command: args.join(" "), message: error.to_string() })?;
        // `git config --get` exits 1 when the key is unset.
        if output.status.code() == Some(1) {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text.trim_end_matches('\n');
        Ok(line.split_once('\t').map(|(scope, value)| (scope.to_string(), value.to_string())))
    }

    /// All values of a multi-valued config key, in order.
    pub fn config_values(&self, key: &str) -> Vec<String> {
        let Ok(config) = self.repo.config() else { return Vec::new() };
        let Ok(mut entries) = config.multivar(key, None) else { return Vec::new() };
        let mut values = Vec::new();
        while let Some(Ok(entry)) = entries.next() {
            if let Ok(value) = entry.value() {
                values.push(value.to_string());
            }
        }
        values
    }

    /// `core.excludesFile`, or git's default `$XDG_CONFIG_HOME/git/ignore`
    /// (`~/.config/git/ignore`).
    pub fn excludes_file(&self) -> Option<PathBuf> {
        if let Ok(path) = self.repo.config().and_then(|config| config.get_path("core.excludesfile")) {
            return Some(path);
        }
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))?;
        Some(config_home.join("git/ignore"))
    }

    /// Paths git shows in the work tree: tracked, and untracked but not ignored.
    pub fn visible_files(&self) -> Result<Vec<Vec<u8>>, GitError> {
        let out = self.output(&["ls-files", "-z", "--cached", "--others", "--exclude-standard"])?;
        Ok(out.split(|&byte| byte == 0).filter(|path| !path.is_empty()).map(<[u8]>::to_vec).collect())
    }

    /// The commit a revision names, if it exists (`ORIG_HEAD`, `HEAD@{1}`, an id).
    pub fn resolve_commit(&self, spec: &str) -> Option<String> {
        let object = self.repo.revparse_single(spec).ok()?;
        object.peel_to_commit().ok().map(|commit| commit.id().to_string())
    }

    /// The paths that differ between two commits, by tree entry ids only:
    /// no rename detection and no blob is read (a partial clone would fetch it).
    pub fn diff_commits(&self, old: &str, new: &str) -> Result<Vec<crate::changes::Change>, GitError> {
        let tree = |spec: &str| {
            self.repo
                .revparse_single(spec)
                .and_then(|object| object.peel_to_tree())
                .map_err(library(format!("read the tree of `{spec}`")))
        };
        let (old_tree, new_tree) = (tree(old)?, tree(new)?);
        let mut options = git2::DiffOptions::new();
        options.skip_binary_check(true).include_typechange(true);
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut options))
            .map_err(library(format!("compare `{old}` with `{new}`")))?;
        Ok(deltas(&diff))
    }

    /// The paths staged in the index that differ from `HEAD` (after a squash merge).
    pub fn diff_head_to_index(&self) -> Result<Vec<crate::changes::Change>, GitError> {
        let head = self.head_tree()?;
        let index = self.repo.index().map_err(library("read the index"))?;
        let mut options = git2::DiffOptions::new();
        options.skip_binary_check(true).include_typechange(true);
        let diff = self
            .repo
            .diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut options))
            .map_err(library("compare the index with `HEAD`"))?;
        Ok(deltas(&diff))
    }

    /// A boolean config value.
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.repo.config().ok()?.get_bool(key).ok()
    }
}

fn deltas(diff: &git2::Diff<'_>) -> Vec<crate::changes::Change> {
    use crate::changes::{Change, ChangeKind};
    diff.deltas()
        .filter_map(|delta| {
            let (file, kind) = match delta.status() {
                git2::Delta::Added => (delta.new_file(), ChangeKind::Added),
                git2::Delta::Deleted => (delta.old_file(), ChangeKind::Deleted),
                git2::Delta::Modified | git2::Delta::Typechange => (delta.new_file(), ChangeKind::Modified),
                _ => return None,
            };
            file.path_bytes().map(|path| Change { path: path.into(), kind })
        })
        .collect()
}

fn run(command: &mut Command, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, GitError> {
    let failure = |message: String| GitError::Command { command: args.join(" "), message };
    command.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|error| failure(format!("cannot start git: {error}")))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(input).map_err(|error| failure(error.to_string()))?;
    }
    let output = child.wait_with_output().map_err(|error| failure(error.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failure(stderr.trim().to_string()));
    }
    let mut stdout = output.stdout;
    if stdout.last() == Some(&b'\n') {
        stdout.pop();
    }
    Ok(stdout)
}
