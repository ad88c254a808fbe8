//! Rebuilding exactly what changed: recompiling changed sources with the real
//! interpreters and removing exactly the bytecode that would lie.
//!
//! A `.py` that git replaced within the same second, with the same size, keeps
//! an old timestamp `.pyc` valid in CPython's eyes, so every changed source is
//! recompiled whatever its old header says. Caches of a changed source that
//! are not rebuilt (another interpreter's tag, another optimisation level, or
//! `PYTHONDONTWRITEBYTECODE`) are removed when their header still validates,
//! and only then. For deleted sources the orphaned caches, shadowing legacy
//! files and emptied folders go. Nothing else is touched: an unchanged
//! source's `.pyc` keeps its inode and mtime.
//!
//! # Racy sources
//!
//! A timestamp pyc records the source's mtime in whole seconds and its size.
//! When a source was modified in the same second it is compiled, a later
//! write in that second with the same size leaves the pyc valid for other
//! content: the pyc is *racy*, like git's "racily clean" index entries
//! (`Documentation/technical/racy-git.txt`). After a checkout that is the
//! common case, since the hook runs in the second git wrote the files. The
//! choices, and what importlib (`SourceLoader.get_code` in
//! `_bootstrap_external.py`) does with each:
//! - Recording the source's nanosecond stat and re-verifying at the next
//!   hook leaves a lie in place until then: a script that rewrites the file
//!   in that second and runs Python is never seen by any hook.
//! - An unchecked-hash pyc is never compared with its source: worse.
//! - A checked-hash pyc is compared by content on every import: importlib
//!   hashes the source (SipHash, far cheaper than the compile it avoids) and
//!   recompiles on a mismatch, so no write can fake it. This is what we write
//!   for a racy source; its content cannot lie.
//!
//! Such a cache is listed in the record ([`crate::record`]), and a later run,
//! once the second has passed, verifies its hash against the source and
//! rewrites only its header as the timestamp pyc `py_compile` would write
//! ([`pyc::settle_racy`]), with no interpreter. So the common path costs what
//! it did: one `stat` per compiled source, which the plan made anyway, and a
//! header rewrite later. Interpreters older than 3.7 have no hash-based
//! pycs: a racy source is not compiled for them, and a cache of theirs that
//! would validate is removed (Python compiles it on import, as without us).
//!
//! # Seen before
//!
//! Each compile job first asks the store of compiled code ([`crate::store`]):
//! a hit writes the pyc with no interpreter, and a miss is compiled and its
//! result stored. Which jobs exist is decided above and does not change.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bstr::{BString, ByteSlice};

use crate::artifact::{self, CacheLocation, CachedFile};
use crate::changes::Scope;
use crate::compile::{self, Op, Outcome, Task, WorkerSpec};
use crate::git::{Change, ChangeKind};
use crate::index::{self, Index};
use crate::interpreter::Interpreter;
use crate::paths;
use crate::pyc::{self, InvalidationMode, would_load};
use crate::safe_fs::{Dir, Kind, Roots, SafeError, Staged};
use crate::store::Restored;
use crate::sweep::{self, Reason, Removal};

/// Resolved settings for one rebuild; every command starts from [`Settings::new`].
pub struct Settings {
    /// The work tree, canonical.
    pub workdir: PathBuf,
    /// Who compiles (may be empty: then nothing is compiled).
    pub interpreters: Vec<Interpreter>,
    /// Optimisation levels to compile at.
    pub optimize: Vec<u8>,
    /// `--invalidation-mode`, overriding the existing file's mode.
    pub mode: Option<InvalidationMode>,
    /// The mode for new files: checked-hash when `SOURCE_DATE_EPOCH` is set.
    pub default_mode: InvalidationMode,
    /// `__pycache__`, or the `PYTHONPYCACHEPREFIX` mirror tree.
    pub location: CacheLocation,
    /// False under `PYTHONDONTWRITEBYTECODE` in hooks: only removals happen.
    pub compile: bool,
    /// Sources never compiled.
    pub exclude: globset::GlobSet,
    /// Workers per interpreter.
    pub jobs: usize,
    /// Per-file timeout.
    pub timeout: Duration,
    /// Where compiled code seen before is kept ([`crate::store`]); `None` compiles everything.
    pub store: Option<crate::store::Store>,
    /// The repository folder: compiled files are staged in its
    /// `pycache-guard/staging` before they are moved into place (see
    /// [`Staged`]); without it they are staged beside their targets.
    pub git_dir: Option<PathBuf>,
}

/// How long one file may take to compile before its worker is stopped, unless a command says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Settings {
    /// Where caches are written and removed, with the staging folder below
    /// the repository folder when there is one.
    pub fn roots(&self) -> Roots {
        let roots = Roots::new(&self.workdir, &self.location);
        match &self.git_dir {
            Some(git_dir) => roots.staging_in(git_dir, &staging_dir(git_dir)),
            None => roots,
        }
    }

    /// The settings every command starts from: the levels given (sorted, each
    /// once; none means level 0), checked-hash caches for new files when
    /// `SOURCE_DATE_EPOCH` asks for a reproducible build (as `py_compile`
    /// does), no interpreter yet, nothing excluded, one worker per core and
    /// [`DEFAULT_TIMEOUT`].
    pub fn new(workdir: PathBuf, location: CacheLocation, optimize: &[u8]) -> Settings {
        let mut optimize = optimize.to_vec();
        if optimize.is_empty() {
            optimize.push(0);
        }
        optimize.sort_unstable();
        optimize.dedup();
        let default_mode =
            if crate::env::source_date_epoch() { InvalidationMode::CheckedHash } else { InvalidationMode::Timestamp };
        Settings {
            workdir,
            interpreters: Vec::new(),
            optimize,
            mode: None,
            default_mode,
            location,
            compile: true,
            exclude: globset::GlobSet::empty(),
            jobs: std::thread::available_parallelism().map_or(1, usize::from),
            timeout: DEFAULT_TIMEOUT,
            store: None,
            git_dir: None,
        }
    }
}

/// The folder below the repository folder where compiled files are staged.
pub fn staging_dir(git_dir: &Path) -> PathBuf {
    crate::state::dir(git_dir).join("staging")
}

/// Recompiles stale caches, each at the level it was written at (`stale`
/// pairs a source with that level); the other levels' valid caches stay.
/// Returns how many caches were written.
pub fn recompile_stale(settings: &mut Settings, index: &Index, stale: &[(BString, u8)]) -> usize {
    let levels: BTreeSet<u8> = stale.iter().map(|(_, level)| *level).collect();
    let configured = std::mem::take(&mut settings.optimize);
    let mut compiled = 0;
    for level in levels {
        let compile = stale.iter().filter(|(_, at)| *at == level).map(|(source, _)| source.clone()).collect();
        settings.optimize = vec![level];
        let targets = Targets { compile, sweep: BTreeSet::new() };
        // Only this level is compiled: nothing is removed.
        let mut plan = plan(&targets, settings, index);
        plan.removals.clear();
        compiled += execute(plan, settings, &|| {}).compiled;
    }
    settings.optimize = configured;
    compiled
}

/// The sources to recompile and the folders to sweep.
#[derive(Debug, Default)]
pub struct Targets {
    /// Repository-relative `.py` paths.
    pub compile: BTreeSet<BString>,
    /// Repository-relative folders whose orphans are swept (`""` is the root).
    pub sweep: BTreeSet<BString>,
}

/// True for a path whose file name is a Python source (`<stem>.py`).
pub fn is_source(path: &[u8]) -> bool {
    path.rsplit_str("/").next().and_then(artifact::source_stem).is_some()
}

fn parent(path: &[u8]) -> BString {
    path.rfind_byte(b'/').map(|slash| BString::from(&path[..slash])).unwrap_or_default()
}

/// Turns what git says changed into targets.
pub fn targets(scope: &Scope, index: &Index, settings: &Settings, listing: &mut CacheListing) -> Targets {
    let mut targets = Targets::default();
    match scope {
        Scope::Nothing => {}
        Scope::Changes(changes) => {
            for change in changes.iter().filter(|change| is_source(&change.path) && paths::is_safe_path(&change.path)) {
                match change.kind {
                    ChangeKind::Deleted => {
                        targets.sweep.insert(parent(&change.path));
                    }
                    ChangeKind::Added | ChangeKind::Modified => {
                        targets.compile.insert(change.path.clone());
                    }
                }
            }
        }
        Scope::AllTracked => {
            targets.compile = tracked_sources(index).collect();
        }
        Scope::StaleScan => {
            targets.compile = stale_sources(&tracked_sources(index).collect::<Vec<_>>(), settings, listing);
        }
    }
    targets
}

/// Who wrote the tracked files whose index entries changed since the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// git (a checkout, merge, reset...): compile them.
    ByGit,
    /// The user, and git only committed them (a plain `git commit`): compile
    /// only a cache that would lie.
    ByTheUser,
    /// Nobody: the index is the very file the record was made from, so only
    /// the deletions in `changes` are left to sweep.
    Nothing,
}

/// Adds what the record says to look at ([`crate::record`]): the sources
/// changed in git since the record's commit (`changes`), and the tracked
/// sources git wrote or refreshed since the record's time (`since`, seconds).
///
/// A deleted source's folder is swept. A source git wrote is compiled unless
/// every cache it has already describes it; a source that only changed in
/// history (a commit of your own edit) is compiled only when one of its
/// caches would lie or is stale, since Python writes missing caches itself.
/// `since` is in nanoseconds. For sources with caches the window starts a
/// second early (file-system clocks are coarser than the system clock, and
/// the check is one `stat`); a source without caches is compiled only when
/// written at or after `since` (a file-clock reading, see
/// [`crate::record::file_clock_nanos`]), so that one that does not compile is not
/// retried by every hook of the same command. Missing a cache never lies.
/// `written` says who wrote the files changed since the record.
pub fn reconcile_targets(
    changes: &[Change],
    index: &Index,
    since: i64,
    written: Written,
    settings: &Settings,
    listing: &mut CacheListing,
    targets: &mut Targets,
) {
    let mut candidates: BTreeMap<BString, bool> = BTreeMap::new();
    for change in changes.iter().filter(|change| is_source(&change.path) && paths::is_safe_path(&change.path)) {
        match change.kind {
            ChangeKind::Deleted => {
                targets.sweep.insert(parent(&change.path));
            }
            ChangeKind::Added | ChangeKind::Modified if written != Written::Nothing => {
                candidates.insert(change.path.clone(), false);
            }
            ChangeKind::Added | ChangeKind::Modified => {}
        }
    }
    let git_wrote = written == Written::ByGit;
    // One pass over the index. After a plain commit the files written since
    // the record are the user's edits: only a cache that would lie is worth
    // a compile there. A link git wrote may be one a source resolves
    // through (`pkg/m.py -> ../lib/m.py`, with `lib` re-pointed): every
    // source that is itself a link is looked at then ([`pyc::Observed`]
    // counts the links on its way).
    let (mut link_written, mut link_sources) = (false, Vec::new());
    if written != Written::Nothing {
        for entry in index.entries().filter(|e| e.stage == 0) {
            let recent = entry.changed + 1_000_000_000 >= since;
            let source = is_source(entry.path) && paths::is_safe_path(entry.path);
            if entry.mode == SYMLINK_MODE {
                link_written |= recent;
                if source {
                    link_sources.push(entry.path);
                }
            } else if recent && source && index::is_file_mode(entry.mode) {
                candidates.insert(entry.path.to_owned(), git_wrote && entry.changed >= since);
            }
        }
    }
    if link_written {
        for path in link_sources {
            candidates.entry(path.to_owned()).or_insert(git_wrote);
        }
    }
    for (source, written) in candidates {
        if targets.compile.contains(&source) {
            continue;
        }
        let absolute = crate::paths::in_workdir(&settings.workdir, &source);
        let caches = listing.of(&absolute, &settings.location);
        let mut looks = caches.iter().map(|cache| listing.observe(cache, &absolute));
        // Written since the record: compile unless the caches describe it.
        // Otherwise only a cache that would lie is worth a compile: a stale
        // one Python rewrites itself, and retrying it (a syntax error) in
        // every hook of one command would repeat the same warning.
        let wanted = match (caches.is_empty(), written) {
            (true, _) => written,
            (false, true) => looks.any(|look| worth_compiling(&look, &absolute)),
            (false, false) => looks.any(|look| look.is_outdated(&absolute) && look.would_load()),
        };
        if wanted {
            targets.compile.insert(source);
        }
    }
}

/// For a source git wrote: true unless this cache already describes it
/// ([`pyc::is_outdated`]), except that a checked-hash cache written before
/// the source's last change is taken as outdated without reading and hashing
/// the source. git rewrites a file when its content changes, so that cache
/// is almost always of other bytes; when it is not, one compile too many is
/// the cost (a checked-hash cache never lies either way).
fn worth_compiling(look: &pyc::Observed, source: &Path) -> bool {
    (look.is_checked_hash() && look.written_before_source()) || look.is_outdated(source)
}

/// Tracked `.py` files (stage 0, files or symbolic links).
pub fn tracked_sources(index: &Index) -> impl Iterator<Item = BString> + '_ {
    index
        .entries()
        .filter(|e| e.stage == 0 && index::is_file_mode(e.mode) && is_source(e.path) && paths::is_safe_path(e.path))
        .map(|e| e.path.to_owned())
}

/// The caches on disk of each source, by folder. A folder is read and its
/// entries classified once, however many of its sources are asked about:
/// asking source by source re-read the folder and stat-ed sources for every
/// entry, 28,000 `stat` calls for sympy's 1,446 modules. One listing serves
/// a whole run (the reconcile, then the plan), so each folder is opened and
/// read, and each cache looked at ([`pyc::Observed`]), once per run.
#[derive(Debug)]
pub struct CacheListing {
    /// Where cache folders may be reached from, with the folders opened so far.
    opener: crate::safe_fs::Opener,
    /// Source folder → stem → cache files (pytest's excluded). Keyed by the
    /// paths' bytes: hashing a `Path` goes component by component.
    folders: HashMap<Vec<u8>, HashMap<Vec<u8>, Vec<PathBuf>>>,
    /// Each cache looked at (by its path's bytes), with its source.
    observed: HashMap<Vec<u8>, pyc::Observed>,
}

impl CacheListing {
    /// An empty listing for the caches of `workdir` at `location`.
    pub fn new(workdir: &Path, location: &CacheLocation) -> CacheListing {
        CacheListing {
            opener: crate::safe_fs::Opener::new(Roots::new(workdir, location)),
            folders: HashMap::new(),
            observed: HashMap::new(),
        }
    }

    /// The caches of `source` (absolute) in its cache folder, matched by stem.
    pub fn of(&mut self, source: &Path, location: &CacheLocation) -> Vec<PathBuf> {
        let (Some(dir), Some(stem)) =
            (source.parent(), source.file_name().and_then(|name| artifact::source_stem(name.as_bytes())))
        else {
            return Vec::new();
        };
        let folder = match self.folders.entry(dir.as_os_str().as_bytes().to_vec()) {
            std::collections::hash_map::Entry::Occupied(folder) => folder.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(read_cache_folder(dir, location, &mut self.opener))
            }
        };
        folder.get(stem).cloned().unwrap_or_default()
    }

    /// One look at `cache` and its `source`, the first time it is asked for.
    pub fn observe(&mut self, cache: &Path, source: &Path) -> pyc::Observed {
        let key = cache.as_os_str().as_bytes().to_vec();
        *self.observed.entry(key).or_insert_with(|| pyc::Observed::read(cache, source))
    }
}

fn read_cache_folder(
    dir: &Path,
    location: &CacheLocation,
    opener: &mut crate::safe_fs::Opener,
) -> HashMap<Vec<u8>, Vec<PathBuf>> {
    let cache_dir = artifact::cache_dir(dir, location);
    let mut by_stem: HashMap<Vec<u8>, Vec<PathBuf>> = HashMap::new();
    // The cache folder is reached from its root with no link on the way, so a
    // committed `__pycache__ -> /elsewhere` (or `pkg -> ../victim`) lists nothing.
    let Ok(Ok(entries)) = opener.with_dir(&cache_dir, Dir::entries) else { return by_stem };
    let mut sources: HashMap<Vec<u8>, bool> = HashMap::new();
    for (name, kind) in entries {
        if kind == Kind::Dir {
            continue;
        }
        let mut has_source = |stem: &[u8]| {
            *sources.entry(stem.to_vec()).or_insert_with(|| {
                // From the source folder already opened on the way, when it was.
                opener
                    .with_dir(dir, |source_dir| sweep::has_source_in(source_dir, stem))
                    .unwrap_or_else(|_| sweep::has_source(dir, stem))
            })
        };
        if let CachedFile::Cache { stem, suffix } = artifact::classify_cached(name.as_bytes(), &mut has_source)
            && !suffix.pytest
        {
            by_stem.entry(stem.to_vec()).or_default().push(cache_dir.join(&name));
        }
    }
    by_stem
}

/// The cheap scan for a file checkout: a stat and a 16-byte header per cache,
/// no interpreter. Sources without caches are left alone.
pub fn stale_sources(sources: &[BString], settings: &Settings, listing: &mut CacheListing) -> BTreeSet<BString> {
    sources
        .iter()
        .filter(|source| {
            let absolute = crate::paths::in_workdir(&settings.workdir, source);
            let caches = listing.of(&absolute, &settings.location);
            caches.iter().any(|cache| listing.observe(cache, &absolute).is_outdated(&absolute))
        })
        .cloned()
        .collect()
}

/// One compile job.
#[derive(Clone, Debug)]
pub struct Job {
    /// Index into `Settings::interpreters`.
    pub interpreter: usize,
    /// Repository-relative source.
    pub source: BString,
    /// The request for the worker.
    pub task: Task,
}

/// Everything a rebuild will do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Caches compiled as checked-hash because their source is racy, for the record.
    pub racy: Vec<crate::record::RacyCache>,
    /// Files to remove first.
    pub removals: Vec<Removal>,
    /// Compile jobs.
    pub jobs: Vec<Job>,
    /// Problems found while planning (a symbolic-link `__pycache__`, a source outside the work tree).
    pub refused: Vec<(PathBuf, String)>,
    /// Tracked bytecode and gitlink folders (absolute): never removed, never overwritten.
    pub keep: std::collections::HashSet<PathBuf>,
    /// What was left alone on purpose, and why (for `-v`).
    pub skipped: Vec<(PathBuf, Skip)>,
    /// The cache folders of the swept folders (absolute), removed with the
    /// folders above them if they are empty: a compile killed half way (or
    /// anything else) can leave an empty `__pycache__`, which makes a
    /// deleted package import as a namespace package.
    pub prune: BTreeSet<PathBuf>,
}

/// Why the plan leaves a target alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The source is not a regular file here (not checked out, or replaced).
    NotAFile,
    /// The source matches `exclude` in `[tool.pycache-guard]`.
    Excluded,
    /// The cache file is tracked by git: never overwritten.
    TrackedCache,
    /// The source was written this second and the interpreter predates hash-based pycs.
    RacyWithoutHashPycs,
    /// The folder lies in a virtual environment or another repository.
    NotOurs,
}

impl Skip {
    /// Why, as a phrase for `-v`.
    pub fn describe(self) -> &'static str {
        match self {
            Skip::NotAFile => "not a regular file in the work tree (not checked out, or replaced)",
            Skip::Excluded => "matches `exclude` in `[tool.pycache-guard]`",
            Skip::TrackedCache => "git tracks this cache, so it is never overwritten",
            Skip::RacyWithoutHashPycs => {
                "its source changed this second and this interpreter cannot write a hash-checked cache"
            }
            Skip::NotOurs => "a virtual environment or another repository: not swept",
        }
    }
}

/// Refuses to write where a link, a file or another repository lies on the way
/// from the root to `cfile`'s folder, or where `cfile` itself is anything but
/// a regular file (a link, a FIFO, a device, a folder).
fn check_target(cfile: &Path, roots: &Roots) -> Result<(), String> {
    let Some(dir) = cfile.parent() else { return Err("no folder".into()) };
    let Some(root) = roots.root_of(dir) else {
        return Err(format!("`{}` lies outside the work tree and the pycache prefix", dir.display()));
    };
    match Dir::check_creatable(root, dir) {
        Err(SafeError::Symlink(link)) => {
            return Err(format!("`{}` is a symbolic link; not writing through it", link.display()));
        }
        Err(error) => return Err(error.to_string()),
        Ok(()) => {}
    }
    match fs_err::symlink_metadata(cfile) {
        Ok(meta) if !meta.file_type().is_file() => {
            Err(format!("`{}` is not a regular file; not replacing it", cfile.display()))
        }
        _ => Ok(()),
    }
}

/// Why a source is not compiled: its folder is not reached from the work
/// tree without a link or another repository, or it is a link leading out.
fn check_source(source: &Path, workdir: &Path) -> Result<(), String> {
    let Some(dir) = source.parent() else { return Err("no folder".into()) };
    if let Err(error) = Dir::open_beneath(workdir, dir) {
        return Err(format!("its folder is not reached safely: {error}"));
    }
    let is_link = fs_err::symlink_metadata(source).is_ok_and(|meta| meta.file_type().is_symlink());
    if is_link && source.canonicalize().is_ok_and(|target| !target.starts_with(workdir)) {
        return Err("it is a symbolic link that leads outside the work tree".into());
    }
    Ok(())
}

/// Plans compiles and removals for `targets`.
pub fn plan(targets: &Targets, settings: &Settings, index: &Index) -> Plan {
    let mut listing = CacheListing::new(&settings.workdir, &settings.location);
    plan_at(targets, settings, index, &mut listing, &BTreeSet::new(), crate::record::now_seconds())
}

/// [`plan`], judging raciness against `now` (seconds). `racy_caches` are
/// checked-hash caches we wrote only because their source was racy: their
/// mode is not the user's, so they are rewritten as timestamp pycs.
pub fn plan_at(
    targets: &Targets,
    settings: &Settings,
    index: &Index,
    listing: &mut CacheListing,
    racy_caches: &BTreeSet<PathBuf>,
    now: i64,
) -> Plan {
    let mut plan = Plan::default();
    let roots = Roots::new(&settings.workdir, &settings.location);
    plan.keep = tracked_to_keep(index, &settings.workdir);
    // One interpreter per cache tag: two installs of one version write the same files.
    let mut tags = BTreeMap::new();
    for (position, interpreter) in settings.interpreters.iter().enumerate() {
        tags.entry(interpreter.info.cache_tag.clone()).or_insert(position);
    }
    for source in &targets.compile {
        let absolute = crate::paths::in_workdir(&settings.workdir, source);
        let Some(meta) = fs_err::metadata(&absolute).ok().filter(std::fs::Metadata::is_file) else {
            plan.skipped.push((absolute, Skip::NotAFile)); // Not checked out (sparse) or replaced.
            continue;
        };
        let racy = pyc::python_mtime(meta.mtime(), meta.mtime_nsec()) >= now;
        if let Err(reason) = check_source(&absolute, &settings.workdir) {
            plan.refused.push((absolute, reason));
            continue;
        }
        let excluded = settings.exclude.is_match(Path::new(OsStr::from_bytes(source)));
        if excluded {
            plan.skipped.push((absolute.clone(), Skip::Excluded));
        }
        let compiling = settings.compile && !excluded;
        let mut written = BTreeSet::new();
        if compiling {
            for (tag, &position) in &tags {
                for &optimize in &settings.optimize {
                    let Some(cfile) = artifact::cache_path(&absolute, tag, optimize, &settings.location) else {
                        continue;
                    };
                    if plan.keep.contains(&cfile) {
                        plan.skipped.push((cfile, Skip::TrackedCache)); // Never overwritten.
                        continue;
                    }
                    if let Err(reason) = check_target(&cfile, &roots) {
                        plan.refused.push((cfile, reason));
                        continue;
                    }
                    let existing_mode = if racy_caches.contains(&cfile) {
                        Some(InvalidationMode::Timestamp)
                    } else {
                        listing.observe(&cfile, &absolute).header().map(|header| header.mode())
                    };
                    let mut mode = settings.mode.or(existing_mode).unwrap_or(settings.default_mode);
                    if racy && mode == InvalidationMode::Timestamp {
                        // See "Racy sources" above: never a timestamp pyc a same-second write can fake.
                        if !pyc::supports_hash_pycs(settings.interpreters[position].info.magic) {
                            plan.skipped.push((cfile, Skip::RacyWithoutHashPycs));
                            continue;
                        }
                        mode = InvalidationMode::CheckedHash;
                        plan.racy.push(crate::record::RacyCache { source: source.clone(), cache: cfile.clone() });
                    }
                    written.insert(cfile.clone());
                    let op = Op::Compile { cfile, optimize, mode };
                    plan.jobs.push(Job {
                        interpreter: position,
                        source: source.clone(),
                        task: Task { source: absolute.clone(), op },
                    });
                }
            }
        }
        for cache in listing.of(&absolute, &settings.location) {
            if !written.contains(&cache)
                && !plan.keep.contains(&cache)
                && listing.observe(&cache, &absolute).would_load()
            {
                plan.removals.push(Removal { path: cache, reason: Reason::Lying });
            }
        }
    }
    sweep_removals(targets, settings, index, &mut plan);
    plan.removals.sort();
    plan.removals.dedup();
    plan
}

/// What a rebuild never removes or overwrites (absolute): tracked bytecode,
/// and the folders of gitlinks (a submodule not checked out is an empty
/// folder git made; removing it shows as a deletion in `git status`).
fn tracked_to_keep(index: &Index, workdir: &Path) -> std::collections::HashSet<PathBuf> {
    let mut keep = crate::clean::tracked_bytecode(index, workdir);
    keep.extend(
        index
            .entries()
            .filter(|entry| entry.mode == GITLINK_MODE)
            .map(|entry| crate::paths::in_workdir(workdir, entry.path)),
    );
    keep
}

/// The index mode of a gitlink (a submodule's commit).
pub const GITLINK_MODE: u32 = 0o160000;

/// The index mode of a symbolic link.
pub const SYMLINK_MODE: u32 = 0o120000;

/// Adds to `plan` the orphans of the folders to sweep (caches of deleted
/// sources, legacy files that would shadow them, emptied cache folders), and
/// the folders it leaves alone as not ours.
fn sweep_removals(targets: &Targets, settings: &Settings, index: &Index, plan: &mut Plan) {
    for dir in &targets.sweep {
        let absolute = crate::paths::in_workdir(&settings.workdir, dir);
        // A virtual environment, `node_modules` or another repository is
        // not ours to sweep, even where a tracked file in it was deleted: its
        // sourceless files are its owner's (`clean --include-venvs` is the way in).
        if crate::walk::excluded_on_the_way(&settings.workdir, &absolute, false).is_some() {
            plan.skipped.push((absolute, Skip::NotOurs));
            continue;
        }
        plan.removals.extend(sweep::orphans_in(&absolute, &settings.location, &settings.workdir, index));
        plan.prune.insert(crate::artifact::cache_dir(&absolute, &settings.location));
    }
}

/// The part of a rebuild that needs no interpreter: removing every cache of
/// `targets` that would lie (importlib would load it, though it was written
/// before its source's last change) and the orphans of the swept folders.
/// What is left is caches that are true, or missing: the compiling can come
/// later ([`crate::commands`]' background rebuild) without anything lying in
/// between. A cache written after its source's last change is kept: it is
/// the newer content's, as when a background rebuild already wrote it.
pub fn plan_lying(targets: &Targets, settings: &Settings, index: &Index, listing: &mut CacheListing) -> Plan {
    let mut plan = Plan { keep: tracked_to_keep(index, &settings.workdir), ..Plan::default() };
    for source in &targets.compile {
        let absolute = crate::paths::in_workdir(&settings.workdir, source);
        for cache in listing.of(&absolute, &settings.location) {
            let look = listing.observe(&cache, &absolute);
            if !plan.keep.contains(&cache) && look.would_load() && look.is_outdated(&absolute) {
                plan.removals.push(Removal { path: cache, reason: Reason::Lying });
            }
        }
    }
    sweep_removals(targets, settings, index, &mut plan);
    plan.removals.sort();
    plan.removals.dedup();
    plan
}

/// The timestamp and unchecked-hash caches a rebuild wrote whose source was
/// written again since `since` (nanoseconds; the run's start). `py_compile`
/// reads a source and then stats it, so a write in between (a second
/// checkout while a background rebuild runs, an editor) gives old code under
/// the new stat: such a cache could lie, and is removed. The next run
/// compiles the source, which git's index shows as written since the record.
/// A checked-hash cache is compared by content and cannot lie.
pub fn overtaken(written: &[(PathBuf, PathBuf)], since: i64) -> Vec<Removal> {
    let nanos = |meta: &std::fs::Metadata| i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    let mut removals: Vec<Removal> = written
        .iter()
        .filter(|(source, cache)| {
            fs_err::metadata(source).is_ok_and(|meta| nanos(&meta) >= i128::from(since)) && would_load(cache, source)
        })
        .map(|(_, cache)| Removal { path: cache.clone(), reason: Reason::Lying })
        .collect();
    removals.sort();
    removals.dedup();
    removals
}

/// The sources and caches a plan's compile jobs write, for [`overtaken`].
pub fn written_by(plan: &Plan) -> Vec<(PathBuf, PathBuf)> {
    plan.jobs
        .iter()
        .filter_map(|job| match &job.task.op {
            Op::Compile { cfile, .. } => Some((job.task.source.clone(), cfile.clone())),
            _ => None,
        })
        .collect()
}

/// A source the interpreter refused.
#[derive(Clone, Debug)]
pub struct SyntaxProblem {
    /// Repository-relative source.
    pub source: BString,
    /// Cache tags of the interpreters that refused it.
    pub tags: Vec<String>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The interpreter's message.
    pub message: String,
}

/// What a rebuild did.
#[derive(Debug, Default)]
pub struct Report {
    /// Compile jobs that succeeded, from the store or an interpreter.
    pub compiled: usize,
    /// Of those, the ones written from the store, with no interpreter.
    pub restored: usize,
    /// Distinct sources compiled.
    pub sources: usize,
    /// What was removed.
    pub removed: sweep::Removed,
    /// Sources the interpreters refused.
    pub syntax: Vec<SyntaxProblem>,
    /// Other failures: a file, and what went wrong.
    pub failures: Vec<(PathBuf, String)>,
}

/// The worker's request for `job`, writing to a temporary name in a verified folder.
fn stage<'j>(job: &'j Job, roots: &Roots, unique: usize) -> Result<(&'j Job, Task, Option<Staged>), SafeError> {
    let Op::Compile { cfile, optimize, mode } = &job.task.op else { return Ok((job, job.task.clone(), None)) };
    let staged = Staged::prepare_for_worker(roots, cfile, unique)?;
    let op = Op::Compile { cfile: staged.temporary_path(), optimize: *optimize, mode: *mode };
    Ok((job, Task { source: job.task.source.clone(), op }, Some(staged)))
}

/// Drops a staged write, and notes its folder when staging made it (the
/// `__pycache__` of a package git may have deleted since must not stay
/// behind; a folder that was there before is the user's and stays).
fn discard(staged: Staged, made_folder: Option<&mut BTreeSet<PathBuf>>) {
    if let Some(folders) = made_folder {
        folders.insert(staged.folder().to_path_buf());
    }
    staged.discard();
}

/// [`crate::syntax::unplaced_position`] of a source the interpreter placed at line 0.
fn unplaced_position(settings: &Settings, source: &Path) -> (u32, u32) {
    match crate::source::read(&settings.workdir, source) {
        Ok(crate::source::Source::Bytes { bytes, .. }) => crate::syntax::unplaced_position(&bytes),
        _ => (1, 1),
    }
}

/// Carries out a plan: removals first, then the pools, one interpreter after another.
pub fn execute(plan: Plan, settings: &Settings, on_done: &(dyn Fn() + Sync)) -> Report {
    let roots = settings.roots();
    if let Some(git_dir) = &settings.git_dir
        && !plan.jobs.is_empty()
    {
        crate::safe_fs::clear_staging(git_dir, &staging_dir(git_dir));
    }
    let keep = |path: &Path| plan.keep.contains(path);
    let mut report =
        Report { removed: sweep::remove(plan.removals, &roots, &keep), failures: plan.refused, ..Report::default() };
    let pruned = sweep::prune_empty(plan.prune, &roots, &keep);
    report.removed.dirs.extend(pruned.dirs);
    let mut compiled_sources = BTreeSet::new();
    let mut syntax: BTreeMap<BString, SyntaxProblem> = BTreeMap::new();
    let mut late_removals = Vec::new();
    let mut discarded = BTreeSet::new();
    for (position, interpreter) in settings.interpreters.iter().enumerate() {
        let jobs: Vec<&Job> = plan.jobs.iter().filter(|job| job.interpreter == position).collect();
        if jobs.is_empty() {
            continue;
        }
        // Each worker writes to a temporary name in a folder verified here; the
        // rename into place happens relative to that folder, checked again.
        let mut staged_jobs = Vec::new();
        let mut pending = Vec::new();
        let restored = restore_all(&jobs, interpreter, settings, &roots);
        for (job, restored) in jobs.into_iter().zip(restored) {
            let missing = match restored {
                Restored::Written => {
                    report.compiled += 1;
                    report.restored += 1;
                    compiled_sources.insert(job.source.clone());
                    on_done();
                    continue;
                }
                Restored::Missing(key, snapshot) => Some((key, snapshot)),
                Restored::Unusable => None,
            };
            // A folder staging makes is pruned again if nothing lands in it.
            let folder_existed = match &job.task.op {
                Op::Compile { cfile, .. } => cfile.parent().is_none_or(|folder| folder.symlink_metadata().is_ok()),
                Op::Check => true,
            };
            match stage(job, &roots, staged_jobs.len()) {
                Ok(staged) => {
                    staged_jobs.push(staged);
                    pending.push((missing, crate::store::source_identity(&job.task.source), folder_existed));
                }
                Err(error) => report.failures.push((job.task.source.clone(), error.to_string())),
            }
        }
        let tasks: Vec<Task> = staged_jobs.iter().map(|(_, task, _)| task.clone()).collect();
        let spec = WorkerSpec { executable: interpreter.info.executable.clone(), timeout: settings.timeout };
        let outcomes = if tasks.is_empty() { Vec::new() } else { compile::run(&spec, &tasks, settings.jobs, on_done) };
        for (((job, _, staged), (missing, before, folder_existed)), mut outcome) in
            staged_jobs.into_iter().zip(pending).zip(outcomes)
        {
            let mut overtaken = false;
            if let Some(staged) = staged {
                // `py_compile` reads the source, then stats it: a write in
                // between gives old code under the new stat, a cache that
                // would lie. A source that changed since it was staged loses
                // its cache instead (missing, never lying).
                if outcome == Outcome::Ok
                    && before.is_none_or(|before| crate::store::source_identity(&job.task.source) != Some(before))
                {
                    discard(staged, (!folder_existed).then_some(&mut discarded));
                    overtaken = true;
                } else if outcome == Outcome::Ok {
                    // Filled from what the interpreter wrote, before it is renamed into place.
                    if let (Some(store), Some((key, snapshot))) = (&settings.store, &missing) {
                        crate::store::fill(store, key, snapshot, interpreter.info.magic, &staged.temporary_path());
                    }
                    if let Err(error) = staged.commit() {
                        outcome = Outcome::Failed(compile::CompileError::Commit(error.to_string()));
                    }
                } else {
                    discard(staged, (!folder_existed).then_some(&mut discarded));
                }
            }
            let compiled = outcome == Outcome::Ok && !overtaken;
            match outcome {
                Outcome::Ok if overtaken => {}
                Outcome::Ok => {
                    report.compiled += 1;
                    compiled_sources.insert(job.source.clone());
                }
                Outcome::Syntax { line, column, message } => {
                    let (line, column) =
                        if line == 0 { unplaced_position(settings, &job.task.source) } else { (line, column) };
                    let problem = syntax.entry(job.source.clone()).or_insert_with(|| SyntaxProblem {
                        source: job.source.clone(),
                        tags: Vec::new(),
                        line,
                        column,
                        message,
                    });
                    if !problem.tags.contains(&interpreter.info.cache_tag) {
                        problem.tags.push(interpreter.info.cache_tag.clone());
                    }
                }
                // Deleted while it waited (git's next command): nothing to
                // compile, and nothing to tell; the next run sweeps its caches.
                Outcome::Failed(_) if job.task.source.symlink_metadata().is_err() => {}
                Outcome::Failed(error) => report.failures.push((job.task.source.clone(), error.to_string())),
            }
            // A file that did not compile must not keep an old cache that still validates.
            if let Op::Compile { cfile, .. } = &job.task.op
                && !compiled
                && pyc::would_load(cfile, &job.task.source)
            {
                late_removals.push(Removal { path: cfile.clone(), reason: Reason::Lying });
            }
        }
    }
    if !late_removals.is_empty() {
        let late = sweep::remove(late_removals, &roots, &keep);
        report.removed.bytes += late.bytes;
        report.removed.files.extend(late.files);
        report.removed.dirs.extend(late.dirs);
        report.removed.errors.extend(late.errors);
    }
    let pruned = sweep::prune_empty(discarded, &roots, &keep);
    report.removed.dirs.extend(pruned.dirs);
    report.removed.errors.extend(pruned.errors);
    if let Some(store) = &settings.store
        && store.written() > 0
    {
        store.evict();
    }
    report.sources = compiled_sources.len();
    report.syntax = syntax.into_values().collect();
    report
}

/// [`from_store`] for every job, on up to `settings.jobs` threads: a
/// restore is a read, a write and a rename, and the file system overlaps
/// them well (a checkout back to a seen branch restores hundreds).
fn restore_all(jobs: &[&Job], interpreter: &Interpreter, settings: &Settings, roots: &Roots) -> Vec<Restored> {
    let threads = settings.jobs.clamp(1, 8).min(jobs.len());
    if settings.store.is_none() || threads <= 1 {
        return jobs.iter().map(|job| from_store(job, interpreter, settings, roots)).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().map(|job| from_store(job, interpreter, settings, roots)).collect::<Vec<_>>()
                })
            })
            .collect();
        // A thread that panicked restored nothing: its jobs go to the interpreter.
        workers
            .into_iter()
            .zip(jobs.chunks(chunk))
            .flat_map(|(worker, part)| {
                worker.join().unwrap_or_else(|_| part.iter().map(|_| Restored::Unusable).collect())
            })
            .collect()
    })
}

/// Writes `job`'s cache from the store when it holds it; a write that fails
/// there is left to the interpreter, which reports what is wrong.
fn from_store(job: &Job, interpreter: &Interpreter, settings: &Settings, roots: &Roots) -> Restored {
    let (Some(store), Op::Compile { cfile, optimize, mode }) = (&settings.store, &job.task.op) else {
        return Restored::Unusable;
    };
    let request = crate::store::Request {
        interpreter: &interpreter.info,
        source: &job.task.source,
        cfile,
        optimize: *optimize,
        mode: *mode,
    };
    crate::store::restore(store, roots, &request, 0).unwrap_or(Restored::Unusable)
}
