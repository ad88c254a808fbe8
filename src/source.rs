//! Reading a tracked source for `check`: only regular files inside the work
//! tree, and never more than a bounded number of bytes.
//!
//! A repository chooses what its tracked paths are. A committed symbolic link
//! `m.py -> /dev/tty` made `check` wait for the terminal, a FIFO would block
//! the read forever, and `m.py -> /proc/self/pagemap` grew the process to
//! 4.1 GB. So a source is resolved first, and read only when it resolves
//! inside the work tree; it is opened without blocking and without following
//! a last symbolic link (the resolved path has none unless it was swapped
//! since), and read only when what was opened is a regular file. The read
//! itself stops at [`IN_PROCESS_LIMIT`] whatever the size the file claims.
//!
//! What was read comes with its [`Stamp`] when the path itself is a regular
//! file whose stat did not move while it was read: the verdict cache
//! ([`crate::verdict`]) keys a verdict by it, so that an unchanged file is
//! never read again.
//!
//! Files between [`IN_PROCESS_LIMIT`] and [`INTERPRETER_LIMIT`] are left to
//! the interpreter, and larger ones are not checked at all: both parsers need
//! memory in proportion to the source (measured by the bench's `memory` rows:
//! about 20 times its size in-process, about 50 times in CPython's
//! `compile()`), and a source that never ends must not take the machine.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::{Condvar, Mutex};

/// Sources up to this size are parsed in-process.
pub const IN_PROCESS_LIMIT: u64 = 8 << 20;

/// Sources up to this size, and larger than [`IN_PROCESS_LIMIT`], go to the
/// interpreter; larger ones are skipped (CPython's `compile()` of a 16 MiB
/// module peaks near 800 MiB).
pub const INTERPRETER_LIMIT: u64 = 16 << 20;

/// What reading one source gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    /// The whole file, at most [`IN_PROCESS_LIMIT`] bytes.
    Bytes {
        /// The content.
        bytes: Vec<u8>,
        /// The stat the file had before and after the read, when `path`
        /// itself (not a link to it) is that file; `None` otherwise.
        stamp: Option<Stamp>,
    },
    /// A regular file inside the work tree, too large to parse in-process,
    /// small enough for the interpreter.
    ForInterpreter {
        /// Its size in bytes.
        size: u64,
    },
    /// Not read, for the reason given (a sentence naming no path).
    Skipped(String),
    /// Nothing at that path: not checked out (sparse), or gone since the index was read.
    Missing,
}

/// Reads the source at `path`, which lies below `workdir`; `workdir` must be canonical.
#[expect(clippy::disallowed_methods, reason = "the caller reports the error with the source it belongs to")]
pub fn read(workdir: &Path, path: &Path) -> std::io::Result<Source> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Source::Missing),
        Err(error) => return Err(error),
    };
    // Any component may be a symbolic link (`m.py`, or the folder holding it): resolve them all.
    let real = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && link.is_symlink() => {
            return Ok(Source::Skipped("it is a symbolic link to nothing".into()));
        }
        Err(error) => return Err(error),
    };
    if !real.starts_with(workdir) {
        return Ok(Source::Skipped("it leads outside the work tree through a symbolic link".into()));
    }
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(&real)
    {
        Ok(file) => file,
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(Source::Skipped("it was replaced by a symbolic link while being read".into()));
        }
        Err(error) => return Err(error),
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Ok(Source::Skipped(format!("it is {}, not a regular file", kind(&metadata))));
    }
    let before = Stamp::of(&metadata);
    let size = metadata.len();
    if size > INTERPRETER_LIMIT {
        return Ok(Source::Skipped(format!(
            "it is larger than {} MiB, the most the syntax check reads",
            INTERPRETER_LIMIT >> 20
        )));
    }
    if size > IN_PROCESS_LIMIT {
        return Ok(Source::ForInterpreter { size });
    }
    let (source, file) = read_bounded(file, size)?;
    let Source::Bytes { bytes, .. } = source else { return Ok(source) };
    // The stamp speaks for these bytes only when nothing moved during the
    // read and `path` is the file itself: a link's own stat says nothing
    // about its target.
    let after = file.metadata().map(|metadata| Stamp::of(&metadata)).ok();
    let at_path = std::fs::symlink_metadata(path).ok().filter(|metadata| metadata.is_file()).map(|m| Stamp::of(&m));
    let stamp = (after == Some(before) && at_path == Some(before)).then_some(before);
    Ok(Source::Bytes { bytes, stamp })
}

/// Reads at most [`IN_PROCESS_LIMIT`] bytes; a file that grew past it goes to the interpreter.
fn read_bounded(mut file: File, size: u64) -> std::io::Result<(Source, File)> {
    // A regular file opened with O_NONBLOCK still reads normally.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    (&mut file).take(IN_PROCESS_LIMIT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > IN_PROCESS_LIMIT {
        return Ok((Source::ForInterpreter { size: bytes.len() as u64 }, file));
    }
    Ok((Source::Bytes { bytes, stamp: None }, file))
}

/// What must stay the same for a file's bytes to be the same: its identity
/// (device, inode), type and permissions, size, and both times to the
/// nanosecond. The change time cannot be set by a user (`touch -d` and
/// `os.utime` move it forward), so a rewrite that restores size and
/// modification time still shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// `st_dev`.
    pub device: u64,
    /// `st_ino`.
    pub inode: u64,
    /// `st_mode`.
    pub mode: u32,
    /// `st_size`.
    pub size: u64,
    /// `st_mtime` in nanoseconds since the epoch.
    pub modified: i64,
    /// `st_ctime` in nanoseconds since the epoch.
    pub changed: i64,
}

impl Stamp {
    /// The stamp of `metadata` (from `lstat` or `fstat`).
    pub fn of(metadata: &std::fs::Metadata) -> Stamp {
        let nanos = |seconds: i64, nanoseconds: i64| seconds.saturating_mul(1_000_000_000).saturating_add(nanoseconds);
        Stamp {
            device: metadata.dev(),
            inode: metadata.ino(),
            mode: metadata.mode(),
            size: metadata.size(),
            modified: nanos(metadata.mtime(), metadata.mtime_nsec()),
            changed: nanos(metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// The stamp of a `stat` the system gave (`statat`), as [`Stamp::of`].
    pub fn of_stat(stat: &rustix::fs::Stat) -> Stamp {
        let nanos = |seconds: i64, nanoseconds: i64| seconds.saturating_mul(1_000_000_000).saturating_add(nanoseconds);
        Stamp {
            device: stat.st_dev,
            inode: stat.st_ino,
            mode: stat.st_mode,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            modified: nanos(stat.st_mtime, stat.st_mtime_nsec as i64),
            changed: nanos(stat.st_ctime, stat.st_ctime_nsec as i64),
        }
    }

    /// The later of the two times.
    pub fn latest(&self) -> i64 {
        self.modified.max(self.changed)
    }
}

/// "a FIFO", "a device", ... for the skip message.
fn kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "something else"
    }
}

/// Bounds the bytes parsed at once across threads: parsing needs memory in
/// proportion to the source, so eight threads on eight large files would
/// need eight times what the largest one needs. A file larger than the whole
/// budget waits until it can run alone.
pub struct ByteBudget {
    capacity: u64,
    in_use: Mutex<u64>,
    freed: Condvar,
}

impl ByteBudget {
    /// A budget of `capacity` bytes.
    pub fn new(capacity: u64) -> ByteBudget {
        ByteBudget { capacity, in_use: Mutex::new(0), freed: Condvar::new() }
    }

    /// Waits until `bytes` fit (or nothing else runs), runs `work`, and gives the bytes back.
    pub fn run<T>(&self, bytes: u64, work: impl FnOnce() -> T) -> T {
        let bytes = bytes.min(self.capacity);
        if let Ok(mut in_use) = self.in_use.lock() {
            while *in_use + bytes > self.capacity {
                match self.freed.wait(in_use) {
                    Ok(guard) => in_use = guard,
                    Err(_) => return work(),
                }
            }
            *in_use += bytes;
        }
        let result = work();
        if let Ok(mut in_use) = self.in_use.lock() {
            *in_use -= bytes;
        }
        self.freed.notify_all();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_inside_the_work_tree_are_read() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        let work = root.join("work");
        fs_err::create_dir(&work).unwrap();
        fs_err::write(work.join("a.py"), "A = 1\n").unwrap();
        fs_err::write(root.join("outside.py"), "B = 1\n").unwrap();
        std::os::unix::fs::symlink("a.py", work.join("alias.py")).unwrap();
        std::os::unix::fs::symlink("../outside.py", work.join("out.py")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", work.join("zero.py")).unwrap();
        std::os::unix::fs::symlink("gone.py", work.join("dangling.py")).unwrap();
        fs_err::create_dir(work.join("dir.py")).unwrap();
        let read = |name: &str| read(&work, &work.join(name)).unwrap();
        let bytes = |source: Source| match source {
            Source::Bytes { bytes, stamp } => (bytes, stamp.is_some()),
            other => panic!("{other:?}"),
        };
        assert_eq!(bytes(read("a.py")), (b"A = 1\n".to_vec(), true));
        // A link's own stat says nothing about its target: no stamp.
        assert_eq!(bytes(read("alias.py")), (b"A = 1\n".to_vec(), false));
        assert_eq!(read("missing.py"), Source::Missing);
        for name in ["out.py", "zero.py", "dangling.py", "dir.py"] {
            assert!(matches!(read(name), Source::Skipped(_)), "{name}: {:?}", read(name));
        }
    }

    #[test]
    fn large_files_are_not_read_into_memory() {
        let temp = tempfile::tempdir().unwrap();
        let work = temp.path().canonicalize().unwrap();
        let file = fs_err::File::create(work.join("big.py")).unwrap();
        file.set_len(IN_PROCESS_LIMIT + 1).unwrap();
        assert_eq!(read(&work, &work.join("big.py")).unwrap(), Source::ForInterpreter { size: IN_PROCESS_LIMIT + 1 });
        file.set_len(1 << 40).unwrap();
        assert!(matches!(read(&work, &work.join("big.py")).unwrap(), Source::Skipped(_)));
    }
}
