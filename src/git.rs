//! Everything that talks to git: the only module that uses `git2` or runs `git`.
//!
//! The repository is opened with `git2`, built without default features, so
//! opening costs 0.2 ms instead of 23 ms of TLS start-up. Where libgit2 lags
//! behind git, git itself is asked: the hooks folder
//! (`git rev-parse --git-path hooks`), configuration (libgit2 ignores
//! `GIT_CONFIG_GLOBAL`), and whole repositories libgit2 cannot open, such as
//! SHA-256 ones, which then go through the `git` command for everything.
//! Index writes also go through git so that split and sparse indexes stay
//! exactly as git wants them.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use bstr::BString;

use crate::index::ObjectFormat;

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

/// A blob as recorded in a tree: raw id and git file mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeBlob {
    /// Raw object id bytes.
    pub id: Vec<u8>,
    /// The git file mode, such as `0o100644`.
    pub mode: u32,
}

/// How a tracked path changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// New in the new state.
    Added,
    /// Different content, mode or type.
    Modified,
    /// Gone from the new state.
    Deleted,
}

/// One changed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Repository-relative path.
    pub path: BString,
    /// How it changed.
    pub kind: ChangeKind,
}

/// The command a person runs to untrack files and keep them on disk,
/// `git rm -r --cached -- <pathspecs>`, from pathspecs already quoted for
/// the shell (see [`literal_pathspec`]). Shown in hints, never run.
pub fn untrack_command(pathspecs: &[String]) -> String {
    format!("git rm -r --cached -- {}", pathspecs.join(" "))
}

/// A repository path as a pathspec that matches only itself: prefixed with
/// `:(literal)` when git would read it as a glob or magic.
pub fn literal_pathspec(path: &[u8]) -> BString {
    if path.iter().any(|byte| b"*?[\\".contains(byte)) || path.starts_with(b":") {
        let mut literal = BString::from(":(literal)");
        literal.extend_from_slice(path);
        literal
    } else {
        BString::from(path)
    }
}

/// How the repository is read.
enum Backend {
    /// libgit2, the fast path.
    Library(git2::Repository),
    /// The `git` command, for repositories libgit2 cannot open.
    Command,
}

/// An open repository.
pub struct Repo {
    backend: Backend,
    workdir: Option<PathBuf>,
    git_dir: PathBuf,
    common_dir: PathBuf,
    format: ObjectFormat,
    /// `pycache-guard.*` and `core.excludesFile`, read from git once.
    config: OnceLock<HashMap<String, Vec<String>>>,
}

fn library(action: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let action = action.into();
    move |error| GitError::Library { action, message: error.message().to_string() }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

impl Repo {
    /// Finds the repository from the current directory, honouring `GIT_DIR`,
    /// `GIT_WORK_TREE` and `GIT_CEILING_DIRECTORIES` as git does. A repository
    /// libgit2 cannot open (a SHA-256 one, say) is read through `git`.
    pub fn discover() -> Result<Repo, GitError> {
        let dir = std::env::current_dir().unwrap_or_default();
        match git2::Repository::open_from_env() {
            Ok(repo) => {
                // git reads a relative `GIT_WORK_TREE` from the current
                // folder (git sets `GIT_WORK_TREE=.` for hooks when the user
                // set either variable); libgit2 from the repository folder.
                let from_env = crate::env::git_work_tree();
                let workdir = match (repo.workdir(), from_env) {
                    (Some(_), Some(value)) => Some(canonical(&dir.join(value))),
                    (found, _) => found.map(canonical),
                };
                let (git_dir, common_dir) = (repo.path().to_path_buf(), repo.commondir().to_path_buf());
                let format = format_from_config(repo.config().ok().as_ref());
                Ok(Repo {
                    backend: Backend::Library(repo),
                    workdir,
                    git_dir,
                    common_dir,
                    format,
                    config: OnceLock::new(),
                })
            }
            Err(error) if error.code() == git2::ErrorCode::NotFound => Err(GitError::NotARepository { dir }),
            Err(error) => Repo::discover_with_git()
                .map_err(|_| library(format!("open the repository at `{}`", dir.display()))(error)),
        }
    }

    fn discover_with_git() -> Result<Repo, GitError> {
        let args = [
            "rev-parse",
            "--path-format=absolute",
            "--git-dir",
            "--git-common-dir",
            "--is-bare-repository",
            "--show-object-format",
        ];
        let out = run(Command::new("git").args(args), &args, None)?;
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        let [git_dir, common_dir, bare, format] = lines.as_slice() else {
            return Err(GitError::Command { command: args.join(" "), message: "unexpected answer".into() });
        };
        let workdir = if *bare == b"true" {
            None
        } else {
            let top = run(
                Command::new("git").args(["rev-parse", "--show-toplevel"]),
                &["rev-parse", "--show-toplevel"],
                None,
            )?;
            Some(canonical(Path::new(OsStr::from_bytes(&top))))
        };
        Ok(Repo {
            backend: Backend::Command,
            workdir,
            git_dir: PathBuf::from(OsStr::from_bytes(git_dir)),
            common_dir: PathBuf::from(OsStr::from_bytes(common_dir)),
            format: if *format == b"sha256" { ObjectFormat::Sha256 } else { ObjectFormat::Sha1 },
            config: OnceLock::new(),
        })
    }

    /// The work tree, canonical. Errors for bare repositories.
    pub fn workdir(&self) -> Result<&Path, GitError> {
        self.workdir.as_deref().ok_or_else(|| GitError::Bare { git_dir: self.git_dir.clone() })
    }

    /// The repository folder of this work tree (`.git`, or `.git/worktrees/<name>`).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The folder shared by all worktrees.
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// True for a bare repository.
    pub fn is_bare(&self) -> bool {
        self.workdir.is_none()
    }

    /// The object format.
    pub fn object_format(&self) -> ObjectFormat {
        self.format
    }

    /// The index git uses right now: `GIT_INDEX_FILE` (relative to the current
    /// directory, as git hands it to hooks) or the repository's own.
    pub fn index_path(&self) -> PathBuf {
        match crate::env::git_index_file() {
            Some(path) => std::path::absolute(&path).unwrap_or(path),
            None => self.git_dir.join("index"),
        }
    }

    /// The index to read, with what is needed to read it.
    pub fn index_location(&self) -> crate::index::IndexLocation {
        let path = self.index_path();
        // git looks for `sharedindex.*` in the repository folder; a temporary
        // index elsewhere still refers to it there.
        let mut shared_dirs = vec![self.git_dir.clone(), self.common_dir.clone()];
        if let Some(parent) = path.parent() {
            shared_dirs.push(parent.to_path_buf());
        }
        crate::index::IndexLocation { path, format: self.format, shared_dirs }
    }

    /// The blobs `HEAD` records at `paths`, or `None` on an unborn branch.
    pub fn head_blobs(&self, paths: &[&[u8]]) -> Result<Option<HashMap<Vec<u8>, TreeBlob>>, GitError> {
        match &self.backend {
            Backend::Library(repo) => {
                let head = match repo.head() {
                    Ok(head) => head,
                    Err(error) if matches!(error.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => {
                        return Ok(None);
                    }
                    Err(error) => return Err(library("resolve `HEAD`")(error)),
                };
                let tree = head.peel_to_tree().map_err(library("read the tree of `HEAD`"))?;
                let mut found = HashMap::new();
                for path in paths {
                    if let Ok(entry) = tree.get_path(Path::new(OsStr::from_bytes(path)))
                        && entry.kind() == Some(git2::ObjectType::Blob)
                    {
                        let blob = TreeBlob {
                            id: entry.id().as_bytes().to_vec(),
                            mode: u32::try_from(entry.filemode()).unwrap_or_default(),
                        };
                        found.insert(path.to_vec(), blob);
                    }
                }
                Ok(Some(found))
            }
            Backend::Command => self.head_blobs_with_git(paths),
        }
    }

    fn head_blobs_with_git(&self, paths: &[&[u8]]) -> Result<Option<HashMap<Vec<u8>, TreeBlob>>, GitError> {
        if self.resolve_commit("HEAD").is_none() {
            return Ok(None);
        }
        let mut found = HashMap::new();
        for chunk in paths.chunks(500) {
            let mut command = self.command();
            command.args(["--literal-pathspecs", "ls-tree", "-z", "--full-tree", "HEAD", "--"]);
            command.args(chunk.iter().map(|path| OsStr::from_bytes(path)));
            let out = run(&mut command, &["ls-tree", "HEAD"], None)?;
            for record in out.split(|&b| b == 0).filter(|record| !record.is_empty()) {
                // `<mode> SP <type> SP <id> TAB <path>`
                let Some(tab) = record.iter().position(|&b| b == b'\t') else { continue };
                let fields: Vec<&[u8]> = record[..tab].split(|&b| b == b' ').collect();
                if let [mode, b"blob", id] = fields.as_slice() {
                    let mode = u32::from_str_radix(&String::from_utf8_lossy(mode), 8).unwrap_or_default();
                    found.insert(record[tab + 1..].to_vec(), TreeBlob { id: hex_to_bytes(id), mode });
                }
            }
        }
        Ok(Some(found))
    }

    /// A `git` command that runs in the work tree (or the repository folder when bare).
    fn command(&self) -> Command {
        let mut command = Command::new("git");
        command.current_dir(self.workdir.as_deref().unwrap_or(&self.git_dir));
        command
    }

    /// git for the commands that look at the work tree's files (`ls-files`,
    /// `check-ignore`): no `core.fsmonitor` program is run for them (a
    /// repository's config could name one), and no pathspec setting of the
    /// caller's environment changes how the paths given are read.
    fn listing_command(&self) -> Command {
        let mut command = self.command();
        command.args(["-c", "core.fsmonitor=false"]);
        for variable in ["GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS"] {
            command.env_remove(variable);
        }
        command
    }

    /// Runs `git args...` and returns its stdout, trimmed of the final newline.
    pub fn output(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        run(self.command().args(args), args, None)
    }

    /// Runs `git args...` with extra environment, feeding `input` on stdin.
    fn output_with(&self, args: &[&str], input: &[u8], env: &[(&str, &OsStr)]) -> Result<Vec<u8>, GitError> {
        let mut command = self.command();
        command.args(args).envs(env.iter().copied());
        run(&mut command, args, Some(input))
    }

    /// Drops new entries from the index and puts changed ones back to
    /// `HEAD`'s version (on an unborn branch: drops them all), leaving the
    /// work tree alone. Goes through git so that the index (possibly
    /// `GIT_INDEX_FILE`) keeps git's own format and extensions; the paths go
    /// on stdin, NUL-separated and literal, so no name is read as a glob or
    /// an option.
    pub fn unstage(&self, paths: &[BString]) -> Result<(), GitError> {
        let input = nul_separated(paths);
        let unborn = self.head_blobs(&[])?.is_none();
        let args: &[&str] = if unborn {
            &["rm", "-q", "--cached", "--ignore-unmatch", "--pathspec-from-file=-", "--pathspec-file-nul"]
        } else {
            &["reset", "-q", "--pathspec-from-file=-", "--pathspec-file-nul"]
        };
        let index = self.index_path();
        let env = [("GIT_INDEX_FILE", index.as_os_str()), ("GIT_LITERAL_PATHSPECS", OsStr::new("1"))];
        self.output_with(args, &input, &env).map(|_| ())
    }

    /// The hooks folder, exactly as git resolves it (`core.hooksPath`, worktrees).
    pub fn hooks_dir(&self) -> Result<PathBuf, GitError> {
        hooks_dir_of(self.command())
    }

    /// The scope (`local`, `worktree`, `global`, `system`, `command`) and value
    /// of the config entry git would use for `key`, if set.
    pub fn config_with_scope(&self, key: &str) -> Result<Option<(String, String)>, GitError> {
        config_with_scope_of(self.command(), key)
    }

    /// What decides where git runs hooks from: `core.hooksPath` with its
    /// scope, and the folder git resolves.
    pub fn hooks_facts(&self) -> Result<HooksFacts, GitError> {
        Ok(HooksFacts { configured: self.config_with_scope(HOOKS_PATH)?, hooks_dir: self.hooks_dir() })
    }

    /// [`Repo::hooks_facts`], asked of git on a thread of its own while the
    /// caller goes on.
    pub fn hooks_facts_started(&self) -> PendingHooks {
        let (config, dir) = (self.command(), self.command());
        PendingHooks {
            facts: std::thread::spawn(move || {
                Ok(HooksFacts { configured: config_with_scope_of(config, HOOKS_PATH)?, hooks_dir: hooks_dir_of(dir) })
            }),
        }
    }

    /// Our keys and `core.excludesFile`, from one `git config` call.
    fn config(&self) -> &HashMap<String, Vec<String>> {
        self.config.get_or_init(|| {
            let args = [
                "config",
                "-z",
                "--includes",
                "--get-regexp",
                r"^(pycache-guard\.|core\.excludesfile$|core\.ignorecase$)",
            ];
            let out = self.command().args(args).stdin(Stdio::null()).stderr(Stdio::null()).output();
            let mut values: HashMap<String, Vec<String>> = HashMap::new();
            if let Ok(out) = out {
                for record in out.stdout.split(|&b| b == 0).filter(|record| !record.is_empty()) {
                    let text = String::from_utf8_lossy(record);
                    let (key, value) = text.split_once('\n').unwrap_or((&text, ""));
                    values.entry(key.to_ascii_lowercase()).or_default().push(value.to_string());
                }
            }
            values
        })
    }

    /// All values of a multi-valued config key, in order.
    pub fn config_values(&self, key: &str) -> Vec<String> {
        self.config().get(&key.to_ascii_lowercase()).cloned().unwrap_or_default()
    }

    /// A boolean config value, as git reads booleans.
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        let value = self.config().get(&key.to_ascii_lowercase())?.last()?.to_ascii_lowercase();
        match value.as_str() {
            "true" | "yes" | "on" | "1" | "" => Some(true),
            "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        }
    }

    /// `core.excludesFile`, or git's default `$XDG_CONFIG_HOME/git/ignore`
    /// (`~/.config/git/ignore`).
    pub fn excludes_file(&self) -> Option<PathBuf> {
        let home = crate::env::home();
        if let Some(value) = self.config_values("core.excludesFile").last() {
            return Some(match (value.strip_prefix("~/"), &home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => PathBuf::from(value),
            });
        }
        let config_home = crate::env::xdg_config_home().or_else(|| home.map(|home| home.join(".config")))?;
        Some(config_home.join("git/ignore"))
    }

    /// Paths git shows in the work tree: tracked, and untracked but not ignored.
    pub fn visible_files(&self) -> Result<Vec<Vec<u8>>, GitError> {
        self.visible_files_started().wait()
    }

    /// [`Repo::visible_files`], started now and collected later: git walks
    /// the work tree on its own while the caller does other work (`check`
    /// walks it for caches meanwhile).
    pub fn visible_files_started(&self) -> PendingFiles {
        const ARGS: [&str; 5] = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"];
        let mut command = self.listing_command();
        command.args(ARGS);
        PendingFiles { listing: std::thread::spawn(move || run(&mut command, &ARGS, None)) }
    }

    /// Which of `paths` (work-tree relative, untracked) git's ignore rules
    /// ignore, as `git ls-files --others --exclude-standard` would judge
    /// them: the same rule sources, including a folder on the way that is
    /// ignored. Asked of `git check-ignore --no-index` (with the index it
    /// scans every entry for each path) in one process, so `check` needs no
    /// second walk of the work tree. check-ignore refuses literal pathspecs,
    /// so each path goes as `:(top)path`: the one magic it takes, after
    /// which the name is used as it is (`*`, `[` and a leading `:` included).
    pub fn ignored_among(&self, paths: &[Vec<u8>]) -> Result<HashSet<Vec<u8>>, GitError> {
        const ARGS: [&str; 4] = ["check-ignore", "--no-index", "--stdin", "-z"];
        const TOP: &[u8] = b":(top)";
        if paths.is_empty() {
            return Ok(HashSet::new());
        }
        let marked: Vec<Vec<u8>> = paths.iter().map(|path| [TOP, path].concat()).collect();
        let mut command = self.listing_command();
        command.args(ARGS).env_remove("GIT_LITERAL_PATHSPECS");
        // Exit status 1: none of them is ignored. git answers with each path as it was given.
        let out = run_accepting(&mut command, &ARGS, Some(&nul_separated(&marked)), &[0, 1])?;
        Ok(split_nul(&out).map(|path| path.strip_prefix(TOP).map_or(path.clone(), <[u8]>::to_vec)).collect())
    }

    /// The untracked files git shows under `folders` (work-tree relative):
    /// `git ls-files --others --exclude-standard` for the few folders a
    /// walk did not enter but git does (an environment nobody ignored).
    pub fn visible_others_under(&self, folders: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, GitError> {
        // ls-files reads no pathspec from a file: the few folders go as literal arguments.
        const ARGS: [&str; 5] = ["ls-files", "-z", "--others", "--exclude-standard", "--"];
        if folders.is_empty() {
            return Ok(Vec::new());
        }
        let mut command = self.listing_command();
        command
            .args(ARGS)
            .args(folders.iter().map(|folder| OsStr::from_bytes(folder)))
            .env("GIT_LITERAL_PATHSPECS", "1");
        let out = run(&mut command, &ARGS, None)?;
        Ok(split_nul(&out).collect())
    }

    /// The commit a revision names, if it exists (`ORIG_HEAD`, `HEAD@{1}`, an id).
    pub fn resolve_commit(&self, spec: &str) -> Option<String> {
        match &self.backend {
            Backend::Library(repo) => {
                let object = repo.revparse_single(spec).ok()?;
                object.peel_to_commit().ok().map(|commit| commit.id().to_string())
            }
            Backend::Command => {
                let target = format!("{spec}^{{commit}}");
                let out = self.output(&["rev-parse", "--verify", "-q", "--end-of-options", &target]).ok()?;
                Some(String::from_utf8_lossy(&out).into_owned())
            }
        }
    }

    /// The paths that differ between two commits, by tree entry ids only:
    /// no rename detection and no blob is read (a partial clone would fetch it).
    /// A null `new` (git's all-zero id: `switch --orphan` leaves `HEAD`
    /// unborn) is the empty tree, so everything `old` held is deleted.
    pub fn diff_commits(&self, old: &str, new: &str) -> Result<Vec<Change>, GitError> {
        let unborn = crate::hook_event::is_null_id(new);
        let repo = match &self.backend {
            Backend::Library(repo) => repo,
            Backend::Command if unborn => {
                let out = self.output(&["ls-tree", "-r", "-z", "--name-only", "--full-tree", old])?;
                return Ok(out
                    .split(|&byte| byte == 0)
                    .filter(|path| !path.is_empty())
                    .map(|path| Change { path: BString::from(path), kind: ChangeKind::Deleted })
                    .collect());
            }
            Backend::Command => {
                let out = self.output(&[
                    "diff-tree",
                    "-r",
                    "-z",
                    "--no-renames",
                    "--no-ext-diff",
                    "--name-status",
                    old,
                    new,
                ])?;
                return Ok(parse_name_status(&out));
            }
        };
        let tree = |spec: &str| {
            repo.revparse_single(spec)
                .and_then(|object| object.peel_to_tree())
                .map_err(library(format!("read the tree of `{spec}`")))
        };
        let old_tree = tree(old)?;
        let new_tree = if unborn { None } else { Some(tree(new)?) };
        let mut changes = Vec::new();
        diff_trees(repo, Some(&old_tree), new_tree.as_ref(), &[], &mut changes)
            .map_err(library(format!("compare `{old}` with `{new}`")))?;
        Ok(changes)
    }

    /// The paths staged in the index that differ from `HEAD` (after a squash merge).
    pub fn diff_head_to_index(&self) -> Result<Vec<Change>, GitError> {
        let repo = match &self.backend {
            Backend::Library(repo) => repo,
            Backend::Command => {
                let out =
                    self.output(&["diff-index", "--cached", "-r", "-z", "--no-renames", "--name-status", "HEAD"])?;
                return Ok(parse_name_status(&out));
            }
        };
        let head = match repo.head().and_then(|head| head.peel_to_tree()) {
            Ok(tree) => Some(tree),
            Err(error) if matches!(error.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
            Err(error) => return Err(library("read the tree of `HEAD`")(error)),
        };
        let index = repo.index().map_err(library("read the index"))?;
        let mut options = git2::DiffOptions::new();
        options.skip_binary_check(true).include_typechange(true);
        let diff = repo
            .diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut options))
            .map_err(library("compare the index with `HEAD`"))?;
        Ok(deltas(&diff))
    }
}

/// Compares two trees entry by entry, descending only into subtrees whose ids
/// differ. libgit2's own tree diff reads every subtree, which made a no-op
/// hook grow with the size of the repository. The descent keeps its own stack
/// rather than recursing: a crafted tree can nest 20,000 levels deep, which
/// overflowed the thread's stack.
fn diff_trees(
    repo: &git2::Repository,
    old: Option<&git2::Tree<'_>>,
    new: Option<&git2::Tree<'_>>,
    prefix: &[u8],
    out: &mut Vec<Change>,
) -> Result<(), git2::Error> {
    type Pair = (Option<git2::Oid>, Option<git2::Oid>, Vec<u8>);
    let entries = |tree: Option<&git2::Tree<'_>>| -> HashMap<Vec<u8>, (git2::Oid, i32)> {
        tree.map(|tree| {
            tree.iter().map(|entry| (entry.name_bytes().to_vec(), (entry.id(), entry.filemode()))).collect()
        })
        .unwrap_or_default()
    };
    let is_tree = |mode: i32| mode == 0o040000;
    let subtree = |side: Option<&(git2::Oid, i32)>| side.filter(|(_, mode)| is_tree(*mode)).map(|(id, _)| *id);
    let is_blob = |side: Option<&(git2::Oid, i32)>| side.is_some_and(|(_, mode)| !is_tree(*mode) && *mode != 0o160000);
    let mut pending: Vec<Pair> = vec![(old.map(git2::Tree::id), new.map(git2::Tree::id), prefix.to_vec())];
    while let Some((old_id, new_id, base)) = pending.pop() {
        let find = |id: Option<git2::Oid>| id.map(|id| repo.find_tree(id)).transpose();
        let (old_tree, new_tree) = (find(old_id)?, find(new_id)?);
        let (old_entries, new_entries) = (entries(old_tree.as_ref()), entries(new_tree.as_ref()));
        let mut names: Vec<&Vec<u8>> = old_entries.keys().chain(new_entries.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let (before, after) = (old_entries.get(name), new_entries.get(name));
            if before == after {
                continue;
            }
            let mut path = base.clone();
            path.extend_from_slice(name);
            let (old_subtree, new_subtree) = (subtree(before), subtree(after));
            if old_subtree.is_some() || new_subtree.is_some() {
                let mut folder = path.clone();
                folder.push(b'/');
                pending.push((old_subtree, new_subtree, folder));
            }
            let kind = match (is_blob(before), is_blob(after)) {
                (false, true) => Some(ChangeKind::Added),
                (true, false) => Some(ChangeKind::Deleted),
                (true, true) => Some(ChangeKind::Modified),
                (false, false) => None,
            };
            if let Some(kind) = kind {
                out.push(Change { path: path.into(), kind });
            }
        }
    }
    Ok(())
}

fn format_from_config(config: Option<&git2::Config>) -> ObjectFormat {
    let sha256 = config
        .and_then(|config| config.get_string("extensions.objectformat").ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("sha256"));
    if sha256 { ObjectFormat::Sha256 } else { ObjectFormat::Sha1 }
}

fn hex_to_bytes(hex: &[u8]) -> Vec<u8> {
    hex.chunks(2).filter_map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()).collect()
}

/// `--name-status -z` output: `<status> NUL <path> NUL` pairs.
fn parse_name_status(out: &[u8]) -> Vec<Change> {
    let fields: Vec<&[u8]> = out.split(|&b| b == 0).filter(|field| !field.is_empty()).collect();
    fields
        .chunks(2)
        .filter_map(|pair| {
            let [status, path] = pair else { return None };
            let kind = match status.first()? {
                b'A' => ChangeKind::Added,
                b'D' => ChangeKind::Deleted,
                b'M' | b'T' => ChangeKind::Modified,
                _ => return None,
            };
            Some(Change { path: (*path).into(), kind })
        })
        .collect()
}

fn deltas(diff: &git2::Diff<'_>) -> Vec<Change> {
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

/// A `git ls-files` still running ([`Repo::visible_files_started`]).
#[derive(Debug)]
pub struct PendingFiles {
    listing: std::thread::JoinHandle<Result<Vec<u8>, GitError>>,
}

impl PendingFiles {
    /// Waits for git and gives the paths it listed.
    pub fn wait(self) -> Result<Vec<Vec<u8>>, GitError> {
        let out = self.listing.join().unwrap_or_else(|_| {
            Err(GitError::Command { command: "ls-files".into(), message: "the listing thread panicked".into() })
        })?;
        Ok(split_nul(&out).collect())
    }
}

const HOOKS_PATH: &str = "core.hooksPath";

/// What decides where git runs hooks from.
pub struct HooksFacts {
    /// `core.hooksPath`'s scope and value, when set.
    pub configured: Option<(String, String)>,
    /// The folder, as git resolves it (git refuses some `core.hooksPath`
    /// values, such as an empty one, that the caller explains better).
    pub hooks_dir: Result<PathBuf, GitError>,
}

/// [`HooksFacts`] git is being asked for.
pub struct PendingHooks {
    facts: std::thread::JoinHandle<Result<HooksFacts, GitError>>,
}

impl PendingHooks {
    /// Waits for git's answers.
    pub fn wait(self) -> Result<HooksFacts, GitError> {
        self.facts.join().unwrap_or_else(|_| {
            Err(GitError::Command { command: "rev-parse".into(), message: "the hooks thread panicked".into() })
        })
    }
}

fn hooks_dir_of(mut command: Command) -> Result<PathBuf, GitError> {
    let args = ["rev-parse", "--path-format=absolute", "--git-path", "hooks"];
    let out = run(command.args(args), &args, None)?;
    Ok(PathBuf::from(OsStr::from_bytes(&out)))
}

fn config_with_scope_of(mut command: Command, key: &str) -> Result<Option<(String, String)>, GitError> {
    let args = ["config", "--show-scope", "--get", key];
    let output = command
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

/// `paths`, each followed by a NUL.
fn nul_separated(paths: &[impl AsRef<[u8]>]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(paths.iter().map(|path| path.as_ref().len() + 1).sum());
    for path in paths {
        bytes.extend_from_slice(path.as_ref());
        bytes.push(0);
    }
    bytes
}

/// The non-empty NUL-separated records of git's `-z` output.
fn split_nul(out: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    out.split(|&byte| byte == 0).filter(|path| !path.is_empty()).map(<[u8]>::to_vec)
}

fn run(command: &mut Command, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, GitError> {
    run_accepting(command, args, input, &[0])
}

/// Runs git, feeding `input` from a thread of its own while the output is
/// read (git may answer before it has read everything: a full pipe each way
/// would stop both), and accepts the exit codes in `ok`.
fn run_accepting(command: &mut Command, args: &[&str], input: Option<&[u8]>, ok: &[i32]) -> Result<Vec<u8>, GitError> {
    let failure = |message: String| GitError::Command { command: args.join(" "), message };
    command.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|error| failure(format!("cannot start git: {error}")))?;
    let stdin = child.stdin.take();
    let (output, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || match (input, stdin) {
            // Dropping `stdin` at the end closes it: git sees the end of the list.
            (Some(input), Some(mut stdin)) => stdin.write_all(input),
            _ => Ok(()),
        });
        let output = child.wait_with_output();
        (output, writer.join())
    });
    let output = output.map_err(|error| failure(error.to_string()))?;
    let accepted = output.status.code().is_some_and(|code| ok.contains(&code));
    if !accepted {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failure(stderr.trim().to_string()));
    }
    match written {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(failure(format!("cannot write to git: {error}"))),
        Err(_) => return Err(failure("the thread writing to git stopped".into())),
    }
    let mut stdout = output.stdout;
    if stdout.last() == Some(&b'\n') {
        stdout.pop();
    }
    Ok(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_output_parses() {
        let changes = parse_name_status(b"M\0a.py\0A\0new dir/b.py\0D\0gone.py\0T\0link.py\0X\0odd\0");
        let kinds: Vec<(String, ChangeKind)> = changes.iter().map(|c| (c.path.to_string(), c.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("a.py".into(), ChangeKind::Modified),
                ("new dir/b.py".into(), ChangeKind::Added),
                ("gone.py".into(), ChangeKind::Deleted),
                ("link.py".into(), ChangeKind::Modified)
            ]
        );
        assert_eq!(hex_to_bytes(b"00ff10"), [0, 255, 16]);
    }
}
