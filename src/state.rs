//! What pycache-guard keeps in the repository folder (`.git/pycache-guard/`):
//! the interpreter cache, the rebuild lock, the journal of rebuilds in
//! progress (`pending`) and the rebuild log, and the bounded reader and
//! atomic writer of its files. (The record and the handled note are
//! [`crate::record`]'s, the store [`crate::store`]'s, `check`'s verdicts
//! [`crate::verdict`]'s and the caches it found current
//! [`crate::freshness`]'s.)
//!
//! The lock is an `flock` on `rebuild.lock`. A hook that hands its compiling
//! to a background rebuild hands the lock over with it: the detached child
//! inherits the locked file description ([`Lock::hand_over`],
//! [`Lock::adopt`]), so there is no moment between the hook's exit and the
//! child's start in which the work is pending but nobody holds the lock.
//! `pycache-guard wait` relies on that: the lock free and the journal empty
//! means no rebuild is running or pending.
//!
//! Nothing here is part of the work tree, so nothing here can be committed or
//! chosen by a cloned repository.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The log is cut back to its newer half when it grows past this.
const LOG_LIMIT: u64 = 512 * 1024;

/// The folder, created on demand.
pub fn dir(git_dir: &Path) -> PathBuf {
    git_dir.join("pycache-guard")
}

/// At most this much of a state file is read: far past any journal, log or
/// record a rebuild writes.
const READ_LIMIT: u64 = 256 << 20;

/// Reads a file of the state folder: a regular file only, so that a FIFO or
/// a device put in its place never blocks a hook.
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::safe_fs::read_small(path, READ_LIMIT)
}

/// Reads the state folder's file `name`, at most `limit` bytes, through
/// [`crate::safe_fs`] (a link or FIFO in its place is refused, never
/// followed or waited on): `None` when it does not exist yet.
pub fn read_bounded(git_dir: &Path, name: &str, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let dir = match crate::safe_fs::Dir::open_beneath(git_dir, &dir(git_dir)) {
        Ok(dir) => dir,
        Err(crate::safe_fs::SafeError::Missing(_)) => return Ok(None),
        Err(error) => return Err(std::io::Error::other(error.to_string())),
    };
    let file = match dir.open_file(OsStr::new(name)) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut data = Vec::new();
    file.take(limit + 1).read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(std::io::Error::other(format!("larger than {} MiB", limit >> 20)));
    }
    Ok(Some(data))
}

/// Replaces the state folder's file `name` with `data` at once: a new file
/// renamed over it, so a reader sees the old bytes or the new, never a part.
pub fn replace(git_dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    let dir = crate::safe_fs::Dir::create_beneath(git_dir, &dir(git_dir))
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_nanos());
    let temporary = format!("{name}.{}.{nanos}.tmp", std::process::id());
    let temporary = OsStr::new(&temporary);
    let written = dir.create_file(temporary).and_then(|mut file| {
        file.write_all(data)?;
        file.sync_data()
    });
    let renamed = written.and_then(|()| dir.rename(temporary, OsStr::new(name)));
    if renamed.is_err() {
        let _ = dir.remove_file(temporary);
    }
    renamed
}

const CHECKSUM_KEY: (u64, u64) = (0x7079_6361_6368_6567, 0x7561_7264_7665_7264);

/// The checksum a state file ends with, of every byte before it.
pub fn checksum(data: &[u8]) -> [u8; 16] {
    use siphasher::sip128::Hasher128;
    let mut hasher = siphasher::sip128::SipHasher13::new_with_keys(CHECKSUM_KEY.0, CHECKSUM_KEY.1);
    std::hash::Hasher::write(&mut hasher, data);
    hasher.finish128().as_u128().to_le_bytes()
}

/// Opens a file of the state folder with `options`, never through a link and
/// never waiting on a FIFO (`O_NOFOLLOW | O_NONBLOCK`); what opens must be a
/// regular file.
fn open(options: &mut fs_err::OpenOptions, path: &Path) -> std::io::Result<File> {
    use fs_err::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = options.custom_flags(flags.bits() as i32).open(path).map(fs_err::File::into_file)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("`{}` is not a regular file; remove it", path.display()),
        ));
    }
    Ok(file)
}

/// Holds the rebuild lock until dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
    /// A child holds the lock through the same file description: closing
    /// ours must not unlock it.
    handed_over: bool,
}

impl Lock {
    /// Waits for the lock of this work tree, so that two rebuilds (two
    /// checkouts in quick succession, or `clean` racing a hook) run one after
    /// the other instead of interleaving.
    pub fn acquire(git_dir: &Path) -> std::io::Result<Lock> {
        let dir = dir(git_dir);
        fs_err::create_dir_all(&dir)?;
        let file =
            open(fs_err::OpenOptions::new().create(true).truncate(false).write(true), &dir.join("rebuild.lock"))?;
        file.lock()?;
        Ok(Lock { file, handed_over: false })
    }
}

/// Names the inherited lock's descriptor in a detached rebuild's environment.
pub const LOCK_FD_VARIABLE: &str = "PYCACHE_GUARD_LOCK_FD";

impl Lock {
    /// The lock if nobody holds it now, `None` when another rebuild does.
    pub fn try_acquire(git_dir: &Path) -> std::io::Result<Option<Lock>> {
        let dir = dir(git_dir);
        fs_err::create_dir_all(&dir)?;
        let file =
            open(fs_err::OpenOptions::new().create(true).truncate(false).write(true), &dir.join("rebuild.lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Lock { file, handed_over: false })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(error)) => Err(error),
        }
    }

    /// Makes the locked descriptor survive `exec`, for a child about to be
    /// started, and returns its number. The lock stays held until the child
    /// exits; this process closes its copy without unlocking ([`Lock::release_to_child`]).
    pub fn hand_over(&self) -> std::io::Result<i32> {
        use std::os::fd::AsRawFd;
        rustix::io::fcntl_setfd(&self.file, rustix::io::FdFlags::empty())?;
        Ok(self.file.as_raw_fd())
    }

    /// Closes this process's copy of a handed-over lock, leaving it held by the child.
    pub fn release_to_child(mut self) {
        self.handed_over = true;
    }

    /// The lock a parent handed over (`PYCACHE_GUARD_LOCK_FD`), once it is
    /// shown to be this work tree's lock file: same device and inode.
    pub fn adopt(git_dir: &Path) -> Option<Lock> {
        adopt_file(LOCK_FD_VARIABLE, &dir(git_dir).join("rebuild.lock")).map(|file| Lock { file, handed_over: false })
    }
}

/// Names the inherited queue ticket's descriptor in a detached rebuild's environment.
pub const TICKET_FD_VARIABLE: &str = "PYCACHE_GUARD_QUEUE_FD";

/// A shared `flock` on `queue.lock`, held by every detached rebuild from
/// the moment its hook starts it until it exits, including while it waits
/// for the rebuild lock behind another one. `pycache-guard wait` takes the
/// exclusive lock, so it returns only when no detached rebuild is alive:
/// the journal alone cannot say so, as two rebuilds that name the same
/// source share its record, and the first to finish removes it.
#[derive(Debug)]
pub struct Ticket {
    file: File,
}

impl Ticket {
    fn path(git_dir: &Path) -> PathBuf {
        dir(git_dir).join("queue.lock")
    }

    /// A ticket for a rebuild about to be started, unless `wait` holds the
    /// queue right now (then `wait` finishes the journal's work itself).
    pub fn take(git_dir: &Path) -> std::io::Result<Option<Ticket>> {
        fs_err::create_dir_all(dir(git_dir))?;
        let file = open(fs_err::OpenOptions::new().create(true).truncate(false).write(true), &Self::path(git_dir))?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(Ticket { file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(error)) => Err(error),
        }
    }

    /// Makes the descriptor survive `exec`, and returns its number; the
    /// child keeps the shared lock after this process closes its copy.
    pub fn hand_over(&self) -> std::io::Result<i32> {
        use std::os::fd::AsRawFd;
        rustix::io::fcntl_setfd(&self.file, rustix::io::FdFlags::empty())?;
        Ok(self.file.as_raw_fd())
    }

    /// The ticket a parent handed over, held until this process exits.
    pub fn adopt(git_dir: &Path) -> Option<Ticket> {
        adopt_file(TICKET_FD_VARIABLE, &Self::path(git_dir)).map(|file| Ticket { file })
    }

    /// Blocks until no detached rebuild holds a ticket, or until `deadline`
    /// (then `false`).
    pub fn wait_for_none(git_dir: &Path, deadline: Option<std::time::Instant>) -> std::io::Result<bool> {
        fs_err::create_dir_all(dir(git_dir))?;
        let file = open(fs_err::OpenOptions::new().create(true).truncate(false).write(true), &Self::path(git_dir))?;
        let Some(deadline) = deadline else {
            file.lock()?;
            return Ok(true);
        };
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(true),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
                Err(std::fs::TryLockError::Error(error)) => return Err(error),
            }
        }
    }
}

/// The descriptor named by `variable`, once it is shown to be open on
/// `expected` (same device and inode), owned and closed on `exec` again.
fn adopt_file(variable: &str, expected: &Path) -> Option<File> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    let number = crate::env::descriptor(variable)?;
    if number < 3 {
        return None;
    }
    let expected = fs_err::metadata(expected).ok()?;
    // SAFETY: only fstat-ed through this borrow; a number that is not an
    // open descriptor fails with EBADF and is not adopted.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(number) };
    let stat = rustix::fs::fstat(borrowed).ok()?;
    if stat.st_dev != expected.dev() || stat.st_ino != expected.ino() {
        return None;
    }
    // SAFETY: the parent passed this descriptor for us to own, and it was
    // just shown to be open on the expected file; nothing else in this
    // process refers to it.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(number) });
    // The compile workers this process starts must not inherit it.
    rustix::io::fcntl_setfd(&file, rustix::io::FdFlags::CLOEXEC).ok()?;
    Some(file)
}

impl Drop for Lock {
    fn drop(&mut self) {
        if self.handed_over {
            return;
        }
        let _ = self.file.unlock();
    }
}

/// Appends lines to the rebuild log, stamped with the UTC time. Failures to
/// log never fail a hook.
pub fn log(git_dir: &Path, lines: &[String]) {
    let dir = dir(git_dir);
    if fs_err::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join("rebuild.log");
    trim_log(&path);
    let Ok(mut file) = open(fs_err::OpenOptions::new().create(true).append(true), &path) else {
        return;
    };
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
    let mut text = String::new();
    for line in lines {
        text.push_str(&format!("{stamp} {line}\n"));
    }
    let _ = file.write_all(text.as_bytes());
}

fn trim_log(path: &Path) {
    let Ok(meta) = fs_err::symlink_metadata(path) else { return };
    if meta.len() <= LOG_LIMIT {
        return;
    }
    if let Ok(content) = read(path) {
        let half = &content[content.len() / 2..];
        let start = half.iter().position(|&b| b == b'\n').map_or(0, |at| at + 1);
        let _ = open(fs_err::OpenOptions::new().write(true).truncate(true), path)
            .and_then(|mut file| file.write_all(&half[start..]));
    }
}

/// The file that detached rebuilds write their warnings to, opened for
/// appending; `pycache-guard wait` shows and empties it ([`take_background_warnings`]).
pub fn background_warnings(git_dir: &Path) -> std::io::Result<File> {
    let dir = dir(git_dir);
    fs_err::create_dir_all(&dir)?;
    open(fs_err::OpenOptions::new().create(true).append(true), &dir.join("background-warnings"))
}

/// What detached rebuilds warned about since the last call, and empties it.
/// Each line was made safe for a terminal when it was written.
pub fn take_background_warnings(git_dir: &Path) -> String {
    let path = dir(git_dir).join("background-warnings");
    let text = read(&path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default();
    if !text.is_empty() {
        let _ = open(fs_err::OpenOptions::new().write(true).truncate(true), &path);
    }
    text
}

/// The targets of rebuilds in progress, kept until they complete, so that a
/// rebuild killed half way (SIGKILL, a closed terminal) is finished by the
/// next one. Written atomically under a short lock of its own, and shared by
/// concurrent rebuilds: each adds its records and removes them when done.
/// NUL-separated `c<source>` and `s<folder>` records.
pub struct Journal {
    git_dir: PathBuf,
    records: Vec<Vec<u8>>,
}

type Records = std::collections::BTreeSet<Vec<u8>>;

/// What interrupted rebuilds left: sources to compile and folders to sweep.
pub type Pending = (Vec<Vec<u8>>, Vec<Vec<u8>>);

impl Journal {
    fn path(git_dir: &Path) -> PathBuf {
        dir(git_dir).join("pending")
    }

    fn read(git_dir: &Path) -> Records {
        let content = read(&Self::path(git_dir)).unwrap_or_default();
        content.split(|&b| b == 0).filter(|record| !record.is_empty()).map(<[u8]>::to_vec).collect()
    }

    /// Rewrites the journal under its lock with what `change` leaves.
    fn update(git_dir: &Path, change: impl FnOnce(&mut Records)) -> std::io::Result<()> {
        let folder = dir(git_dir);
        fs_err::create_dir_all(&folder)?;
        let lock =
            open(fs_err::OpenOptions::new().create(true).truncate(false).write(true), &folder.join("pending.lock"))?;
        lock.lock()?;
        let mut records = Self::read(git_dir);
        change(&mut records);
        let path = Self::path(git_dir);
        if records.is_empty() {
            match fs_err::remove_file(&path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
                _ => return Ok(()),
            }
        }
        let mut content = Vec::new();
        for record in &records {
            content.extend_from_slice(record);
            content.push(0);
        }
        let mut temporary = tempfile::NamedTempFile::new_in(&folder)?;
        temporary.write_all(&content)?;
        temporary.persist(&path).map_err(|error| error.error)?;
        Ok(())
    }

    /// What interrupted rebuilds left to do: `(sources to compile, folders to sweep)`.
    /// A record no run could finish (an unknown tag, a path that is not a
    /// plain relative one, like `../x.py`; we never write such records) is
    /// dropped from the journal here: left there, it would keep `wait`
    /// failing for ever.
    pub fn pending(git_dir: &Path) -> Option<Pending> {
        if !Self::path(git_dir).exists() {
            return None;
        }
        let usable = |record: &[u8]| match record.split_first() {
            Some((b'c', path)) => crate::paths::is_safe_path(path),
            Some((b's', path)) => path.is_empty() || crate::paths::is_safe_path(path),
            _ => false,
        };
        if Self::read(git_dir).iter().any(|record| !usable(record)) {
            let _ = Self::update(git_dir, |all| all.retain(|record| usable(record)));
            if !Self::path(git_dir).exists() {
                return None;
            }
        }
        let (mut compile, mut sweep) = (Vec::new(), Vec::new());
        for record in Self::read(git_dir) {
            match record.split_first() {
                Some((b'c', path)) => compile.push(path.to_vec()),
                Some((b's', path)) => sweep.push(path.to_vec()),
                _ => {}
            }
        }
        Some((compile, sweep))
    }

    /// Records the work about to be done.
    pub fn begin<'p>(
        git_dir: &Path,
        compile: impl Iterator<Item = &'p [u8]>,
        sweep: impl Iterator<Item = &'p [u8]>,
    ) -> std::io::Result<Journal> {
        let tagged = |tag: u8, path: &[u8]| [&[tag][..], path].concat();
        let records: Vec<Vec<u8>> =
            compile.map(|path| tagged(b'c', path)).chain(sweep.map(|path| tagged(b's', path))).collect();
        Self::update(git_dir, |all| all.extend(records.iter().cloned()))?;
        Ok(Journal { git_dir: git_dir.to_path_buf(), records })
    }

    /// The work is done: its records go.
    pub fn finish(self) {
        let _ = Self::update(&self.git_dir, |all| {
            for record in &self.records {
                all.remove(record);
            }
        });
    }
}
