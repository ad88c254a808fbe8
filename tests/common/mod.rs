//! Shared harness for the integration tests: real git repositories in
//! temporary folders, isolated from the machine's git configuration, and the
//! built binary run against them.
#![allow(dead_code, reason = "each test binary uses a different part of the harness")]

pub mod hook_repo;
pub mod python;
pub mod setups;
pub mod snapshot;
pub mod tools;

#[allow(unused_imports, reason = "only the test binaries that need an interpreter use it")]
pub(crate) use python::require_python;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pycache-guard"))
}

/// What a finished process left.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }
}

/// A temporary world: a home folder with its own git config, and a repository.
pub struct TestEnv {
    temp: tempfile::TempDir,
    /// The repository's work tree (canonical).
    pub repo: PathBuf,
    /// The isolated home folder.
    pub home: PathBuf,
    /// Extra environment for every command.
    pub extra_env: Vec<(String, String)>,
}

/// The variables every child process gets; nothing else leaks in from the machine.
fn base_env(home: &Path, ceiling: &Path) -> Vec<(String, String)> {
    let real_home = std::env::var("HOME").unwrap_or_default();
    let pyenv_root = std::env::var("PYENV_ROOT").unwrap_or_else(|_| format!("{real_home}/.pyenv"));
    let keep_or = |name: &str, default: String| std::env::var(name).unwrap_or(default);
    vec![
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("HOME".into(), home.display().to_string()),
        ("GIT_CONFIG_GLOBAL".into(), home.join(".gitconfig").display().to_string()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("GIT_CEILING_DIRECTORIES".into(), ceiling.display().to_string()),
        ("LC_ALL".into(), "C".into()),
        ("NO_COLOR".into(), "1".into()),
        ("PYENV_ROOT".into(), pyenv_root),
        ("CARGO_HOME".into(), keep_or("CARGO_HOME", format!("{real_home}/.cargo"))),
        ("RUSTUP_HOME".into(), keep_or("RUSTUP_HOME", format!("{real_home}/.rustup"))),
        ("TMPDIR".into(), keep_or("TMPDIR", "/tmp".into())),
    ]
}

impl TestEnv {
    /// A new world with an initialised repository in `repo/` on branch `main`.
    pub fn new() -> TestEnv {
        let env = TestEnv::empty();
        env.git(&["init", "-q", "-b", "main", "."]);
        env
    }

    /// A world whose `repo/` folder exists but is not a repository.
    pub fn empty() -> TestEnv {
        let temp = tempfile::Builder::new().prefix("pycache-guard-test-").tempdir().expect("temporary folder");
        let root = temp.path().canonicalize().expect("canonical temporary folder");
        let home = root.join("home");
        let repo = root.join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n[protocol \"file\"]\n\tallow = always\n",
        )
        .unwrap();
        TestEnv { temp, repo, home, extra_env: Vec::new() }
    }

    /// The temporary root that holds `home/` and `repo/`.
    pub fn root(&self) -> &Path {
        self.temp.path()
    }

    /// A command with the isolated environment, started in `dir`.
    pub fn command_in(&self, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command.env_clear().current_dir(dir).stdin(Stdio::null());
        let ceiling = self.repo.parent().unwrap();
        command.envs(base_env(&self.home, ceiling));
        command.envs(self.extra_env.iter().map(|(key, value)| (key, value)));
        command
    }

    /// Runs git in the repository and asserts success.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> Run {
        self.git_in(&self.repo, args)
    }

    /// Runs git in `dir` and asserts success; then waits for the rebuild its
    /// hooks may have handed to the background ([`TestEnv::wait_in`]), so
    /// that what the test reads next is what the hooks end with.
    #[track_caller]
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> Run {
        let run = self.git_nowait_in(dir, args);
        assert_eq!(run.code, 0, "git {args:?} failed\n{}\n{}", run.stdout, run.stderr);
        self.wait_in(dir);
        run
    }

    /// Runs git in `dir` and returns at once, as a user's shell does: a
    /// background rebuild may still be running. For tests of that window.
    pub fn git_nowait_in(&self, dir: &Path, args: &[&str]) -> Run {
        Run::from(self.command_in("git", dir).args(args).output().expect("git runs"))
    }

    /// Runs git in the repository and returns whatever happened, after
    /// waiting for a background rebuild its hooks started.
    pub fn git_status(&self, args: &[&str]) -> Run {
        let run = self.git_nowait_in(&self.repo, args);
        self.wait_in(&self.repo);
        run
    }

    /// The process ids of the detached rebuilds of this work tree, found by
    /// their command lines (`-C <repo> rebuild --hook`).
    pub fn background_rebuilds(&self) -> Vec<i32> {
        let repo = self.repo.to_str().unwrap();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
            let args: Vec<&[u8]> = cmdline.split(|&byte| byte == 0).collect();
            let named = args.windows(2).any(|pair| pair[0] == b"-C" && pair[1] == repo.as_bytes());
            if named && args.contains(&&b"rebuild"[..]) && args.contains(&&b"--hook"[..]) {
                found.push(pid);
            }
        }
        found
    }

    /// Waits (a minute at most) until no detached rebuild of this work tree
    /// runs, for a test that replaces the state folder under them.
    pub fn wait_for_background_rebuilds_to_exit(&self) {
        for _ in 0..1200 {
            if self.background_rebuilds().is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("a background rebuild still runs after a minute");
    }

    /// `pycache-guard wait` in `dir`, when a hook of ours has run there (the
    /// repository folder has our state folder). A minute at most: a rebuild
    /// that never ends fails the test that waits for it.
    #[track_caller]
    pub fn wait_in(&self, dir: &Path) {
        if let Some(run) = self.wait_output(dir) {
            assert_eq!(run.code, 0, "pycache-guard wait failed\n{}\n{}", run.stdout, run.stderr);
        }
    }

    /// What `pycache-guard wait` printed in `dir`, or `None` when no hook of ours has run there.
    fn wait_output(&self, dir: &Path) -> Option<Run> {
        let git_dir = match std::fs::read_to_string(dir.join(".git")) {
            Ok(pointer) => dir.join(pointer.trim_end().strip_prefix("gitdir: ")?),
            Err(_) => dir.join(".git"),
        };
        if !git_dir.join("pycache-guard").is_dir() {
            return None;
        }
        Some(Run::from(self.command_in(binary(), dir).args(["wait", "--timeout", "60"]).output().expect("binary runs")))
    }

    /// Runs the binary in the repository.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(&self.repo, args)
    }

    /// Runs the binary in `dir`. A hook (`hook NAME`, `rebuild --hook`) is
    /// run as a user meets it: followed by `pycache-guard wait`, whose output
    /// (the warnings of the compiling the hook left to the background) is
    /// added to the hook's stderr.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        let mut run = Run::from(self.command_in(binary(), dir).args(args).output().expect("binary runs"));
        let is_hook = args.first() == Some(&"hook") || args.contains(&"--hook");
        if is_hook
            && !args.contains(&"--dry-run")
            && let Some(wait) = self.wait_output(dir)
        {
            run.stderr.push_str(&wait.stderr);
        }
        run
    }

    /// Writes a file below the repository, creating folders.
    pub fn write(&self, path: impl AsRef<Path>, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.repo.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Writes a file whose name is raw bytes (relative to the repository).
    pub fn write_bytes_name(&self, name: &[u8], content: &[u8]) -> PathBuf {
        let path = self.repo.join(OsStr::from_bytes(name));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Reads a file below the repository.
    pub fn read(&self, path: impl AsRef<Path>) -> Vec<u8> {
        std::fs::read(self.repo.join(path)).unwrap()
    }

    /// Stages everything and commits.
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--no-verify", "-m", message]);
    }

    /// The paths in the index, one per entry.
    pub fn staged_paths(&self) -> Vec<String> {
        let run = self.git(&["ls-files", "-z"]);
        run.stdout.split('\0').filter(|path| !path.is_empty()).map(str::to_string).collect()
    }

    /// Makes every command use this interpreter, as `PYCACHE_GUARD_PYTHON` does for a user.
    pub fn use_python(&mut self, interpreter: impl AsRef<Path>) {
        self.extra_env.retain(|(key, _)| key != "PYCACHE_GUARD_PYTHON");
        self.extra_env.push(("PYCACHE_GUARD_PYTHON".into(), interpreter.as_ref().display().to_string()));
    }

    /// Runs the interpreter with `args` in the work tree, as a user would.
    pub fn python(&self, python: &python::Python, args: &[&str]) -> Run {
        Run::from(self.command_in(&python.path, &self.repo).args(args).output().expect("python runs"))
    }

    /// Leaves only git on `PATH` and names no interpreter: the automatic
    /// choice (`python3`) is missing, which is a warning, not an error.
    pub fn without_python(&mut self) {
        let only_git = self.root().join("only-git");
        std::fs::create_dir_all(&only_git).unwrap();
        let git = Command::new("sh").args(["-c", "command -v git"]).output().unwrap();
        let git = String::from_utf8(git.stdout).unwrap();
        let _ = std::os::unix::fs::symlink(git.trim(), only_git.join("git"));
        self.extra_env.retain(|(key, _)| key != "PATH" && key != "PYCACHE_GUARD_PYTHON");
        self.extra_env.push(("PATH".into(), only_git.display().to_string()));
    }

    /// Runs the binary in the work tree, killing it if it has not finished
    /// after a generous minute: a hang must fail the test, not the whole run.
    /// Also says whether it had to be killed.
    pub fn run_or_kill(&self, args: &[&str]) -> (Run, bool) {
        let mut child = self
            .command_in(binary(), &self.repo)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let mut killed = false;
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(60) {
                child.kill().unwrap();
                killed = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        (Run::from(child.wait_with_output().unwrap()), killed)
    }

    /// Installs the binary's hooks through the binary itself.
    pub fn install_hooks(&self) {
        self.run(&["install"]).expect_code(0);
    }
}

/// True when the tests run as root, where permission bits do not stop reads.
pub fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().map(|out| out.stdout.starts_with(b"0\n")).unwrap_or(false)
}

impl TestEnv {
    /// Runs the binary so that permission bits count even when the tests run
    /// as root: as root still (the interpreters under root's home stay
    /// reachable), but without the capabilities that override permissions.
    pub fn run_unprivileged(&self, args: &[&str]) -> Run {
        if !running_as_root() {
            return self.run(args);
        }
        let mut command = self.command_in("setpriv", &self.repo);
        command.args(["--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]).arg(binary()).args(args);
        Run::from(command.output().expect("setpriv runs"))
    }

    /// Runs the binary unprivileged while `path` (below the repository) has
    /// the permission bits `mode`, then gives it back the bits `restore`, so
    /// that the folder can be cleaned up whatever the test asserts next.
    pub fn run_while_locked(&self, path: &str, mode: u32, restore: u32, args: &[&str]) -> Run {
        let path = self.repo.join(path);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let run = self.run_unprivileged(args);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(restore)).unwrap();
        run
    }
}

/// The ways a state file of `good`'s bytes arrives damaged, each named: cut
/// short, one bit flipped at `inside` (within an entry, where only the
/// checksum can tell), another format version (the magic's last byte), and
/// empty. Each must be discarded, never trusted.
#[allow(dead_code, reason = "shared by the test files of the state folder's caches")]
pub fn damaged_state_files(good: &[u8], inside: usize) -> [(&'static str, Vec<u8>); 4] {
    let mut flipped = good.to_vec();
    flipped[inside] ^= 1;
    let mut foreign = good.to_vec();
    foreign[7] = foreign[7].wrapping_add(1);
    [
        ("truncated", good[..good.len() - 1].to_vec()),
        ("flipped", flipped),
        ("another format version", foreign),
        ("empty", Vec::new()),
    ]
}
