//! Repository hygiene: the findings of `pycache-guard check`.
//!
//! Each finding has a stable id, a severity, a path (with line and column
//! where they apply), a message and a fix hint. The checks reuse the rest of
//! the tool: the artifact classifier, the stem matcher, the staleness test of
//! the rebuild, the coverage probe of `gitignore`, the interpreter pool.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bstr::{BString, ByteSlice};

use crate::artifact::{self, CacheLocation, CachedFile};
use crate::config::AllowList;
pub use crate::finding::FindingId;
use crate::index::Index;
use crate::source::Stamp;
use crate::sweep;
use crate::verdict;
use crate::walk;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the check.
    Error,
    /// Worth fixing.
    Warning,
    /// For information.
    Info,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What kind of finding.
    pub id: FindingId,
    /// How bad.
    pub severity: Severity,
    /// The file or folder, absolute.
    pub path: Option<PathBuf>,
    /// 1-based line, where it applies.
    pub line: Option<u32>,
    /// 1-based column, where it applies.
    pub column: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Finding {
    fn at(id: FindingId, severity: Severity, path: PathBuf, message: String, hint: &str) -> Finding {
        Finding { id, severity, path: Some(path), line: None, column: None, message, hint: hint.to_string() }
    }
}

/// What `check --fix` removes for the orphan and shadowing findings, under
/// the one sweep rule: only bytecode goes (a folder's orphaned caches, found
/// again by name), a folder only once empty, nothing tracked, nothing through
/// a link (the last three are [`sweep::remove`]'s to enforce).
pub fn removals(findings: &[Finding], workdir: &Path, index: &Index) -> Vec<sweep::Removal> {
    findings
        .iter()
        .filter(|finding| matches!(finding.id, FindingId::OrphanBytecode | FindingId::ShadowingBytecode))
        .filter_map(|finding| finding.path.clone())
        .flat_map(|path| {
            if path.is_dir() {
                sweep::orphans_in(&path, &CacheLocation::Pycache, workdir, index)
            } else {
                vec![sweep::Removal { path, reason: sweep::Reason::Orphan }]
            }
        })
        .collect()
}

/// Bytecode in the index that the allow-list does not exempt.
pub fn tracked_bytecode(
    index: &Index,
    allow: &AllowList,
    workdir: &Path,
    within: &dyn Fn(&[u8]) -> bool,
) -> Vec<Finding> {
    index
        .entries()
        .filter(|entry| {
            entry.stage == 0
                && artifact::is_bytecode_path(entry.path)
                && !allow.allows(entry.path)
                && within(entry.path)
        })
        .map(|entry| {
            let hint = format!(
                "untrack it, keeping the file: `{}`; or allow it in `[tool.pycache-guard] allow`",
                crate::git::untrack_command(&[crate::display::shell_quote(entry.path)])
            );
            Finding::at(
                FindingId::TrackedBytecode,
                Severity::Error,
                crate::paths::in_workdir(workdir, entry.path),
                "bytecode is tracked by git".into(),
                &hint,
            )
        })
        .collect()
}

/// Bytecode found on disk, gathered by one walk.
#[derive(Debug, Default)]
pub struct Inventory {
    /// `(source folder, __pycache__ entries)`.
    pub pycache: Vec<(PathBuf, Vec<walk::Entry>)>,
    /// Legacy bytecode files and their sizes.
    pub legacy: Vec<(PathBuf, u64)>,
    /// The folders of the `PYTHONPYCACHEPREFIX` tree that mirror the work tree.
    pub mirror: Vec<walk::MirrorDir>,
    /// Folders that could not be read.
    pub errors: Vec<(PathBuf, String)>,
    /// `.gitignore` files and other bytecode-named files the walk met
    /// (see [`walk::Visitor::listed`]).
    pub listed: Vec<PathBuf>,
    /// Folders that git walks but this walk did not enter: environments
    /// and folders inside `__pycache__` (a nested repository or `.git` git
    /// does not walk either).
    pub unentered: Vec<PathBuf>,
}

#[derive(Default)]
struct Collector {
    inventory: Mutex<Inventory>,
}

impl walk::Visitor for Collector {
    fn pycache(&self, dir: &Path, entries: Vec<walk::Entry>) {
        let source_dir = dir.parent().unwrap_or(dir).to_path_buf();
        if let Ok(mut inventory) = self.inventory.lock() {
            inventory.pycache.push((source_dir, entries));
        }
    }
    fn legacy(&self, path: &Path, size: u64) {
        if let Ok(mut inventory) = self.inventory.lock() {
            inventory.legacy.push((path.to_path_buf(), size));
        }
    }
    fn error(&self, path: &Path, message: String) {
        if let Ok(mut inventory) = self.inventory.lock() {
            inventory.errors.push((path.to_path_buf(), message));
        }
    }
    fn listed(&self, path: &Path) {
        if let Ok(mut inventory) = self.inventory.lock() {
            inventory.listed.push(path.to_path_buf());
        }
    }
    fn unentered(&self, path: &Path, why: walk::Unentered) {
        use walk::{Exclusion, Unentered};
        let git_walks = matches!(why, Unentered::Excluded(Exclusion::Environment) | Unentered::InPycache);
        if git_walks && let Ok(mut inventory) = self.inventory.lock() {
            inventory.unentered.push(path.to_path_buf());
        }
    }
}

/// Walks the roots (and the mirror of the work tree in a prefix tree) for bytecode.
pub fn inventory(options: &walk::Options, workdir: &Path, location: &CacheLocation) -> Inventory {
    let collector = Collector::default();
    walk::walk(options, &collector);
    let mut inventory = collector.inventory.into_inner().unwrap_or_default();
    if let CacheLocation::Prefix(prefix) = location {
        // Unreadable folders of someone else's prefix tree are not this repository's problem.
        let (dirs, _unreadable) = walk::mirror(prefix, &artifact::cache_dir(workdir, location));
        inventory.mirror = dirs;
    }
    inventory.pycache.sort_by(|a, b| a.0.cmp(&b.0));
    inventory.legacy.sort();
    inventory
}

/// Footprint of the bytecode on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Footprint {
    /// Files.
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Footprint per package folder and per cache tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// By the folder of the sources the bytecode belongs to, at any depth
    /// (`src/pkg/sub`; `.` for the top of the work tree).
    pub by_folder: BTreeMap<String, Footprint>,
    /// By cache tag (`cpython-312`), with `legacy` for files beside sources,
    /// `pytest` for pytest's rewritten test modules (`…-pytest-8.3.2.pyc`,
    /// which pytest writes and validates itself) and `other` for the rest.
    pub by_tag: BTreeMap<String, Footprint>,
}

/// The `by_tag` key of pytest's rewritten caches, counted apart from the interpreters' own.
pub const PYTEST_BUCKET: &str = "pytest";

impl Stats {
    fn add(&mut self, workdir: &Path, source_dir: &Path, tag: &str, bytes: u64) {
        let folder = source_dir
            .strip_prefix(workdir)
            .ok()
            .filter(|relative| !relative.as_os_str().is_empty())
            .map_or(".".to_string(), |relative| relative.as_os_str().as_bytes().to_str_lossy().into_owned());
        for footprint in [self.by_folder.entry(folder).or_default(), self.by_tag.entry(tag.to_string()).or_default()] {
            footprint.files += 1;
            footprint.bytes += bytes;
        }
    }
}

/// What the inventory shows.
pub struct DiskFindings {
    /// Shadowing, orphan and stale findings.
    pub findings: Vec<Finding>,
    /// The footprint.
    pub stats: Stats,
    /// Sources whose caches are stale (for `--fix`), repository-relative, with the stale level.
    pub stale_sources: Vec<(BString, u8)>,
}

const CLEAN_HINT: &str = "remove it with `pycache-guard clean --orphans`";

/// How the caches the walk found are judged stale or current.
pub struct Staleness<'a> {
    /// The tags to judge (all when empty): the configured interpreters'.
    pub tags: &'a [String],
    /// What earlier runs found current; `None` judges no cache stale.
    pub fresh: Option<&'a crate::freshness::Fresh>,
}

/// Classifies what the walk found.
pub fn judge_disk(inventory: &Inventory, workdir: &Path, index: &Index, staleness: &Staleness<'_>) -> DiskFindings {
    let mut out = DiskFindings { findings: Vec::new(), stats: Stats::default(), stale_sources: Vec::new() };
    let tracked = |path: &Path| sweep::is_tracked(index, workdir, path);
    for (source_dir, entries) in &inventory.pycache {
        let cache_dir = source_dir.join(artifact::PYCACHE);
        judge_cache_dir(&cache_dir, source_dir, entries, workdir, &tracked, staleness, &mut out);
        if only_pycache(source_dir) && !source_dir.starts_with(workdir.join(".git")) && source_dir != workdir {
            out.findings.push(Finding::at(
                FindingId::OrphanBytecode,
                Severity::Warning,
                source_dir.clone(),
                "this folder holds only `__pycache__`, so it still imports as a namespace package".into(),
                CLEAN_HINT,
            ));
        }
    }
    for mirror in &inventory.mirror {
        judge_cache_dir(&mirror.dir, &mirror.source_dir, &mirror.entries, workdir, &tracked, staleness, &mut out);
    }
    for (path, size) in &inventory.legacy {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { continue };
        out.stats.add(workdir, dir, "legacy", *size);
        if let Some(stem) = artifact::legacy_stem(name.as_bytes())
            && !sweep::has_source(dir, stem)
            && !tracked(path)
        {
            out.findings.push(Finding::at(
                FindingId::ShadowingBytecode,
                Severity::Error,
                path.clone(),
                format!(
                    "its source `{}.py` is gone, so Python imports this file instead: deleted code still runs",
                    stem.to_str_lossy()
                ),
                CLEAN_HINT,
            ));
        }
    }
    out.stale_sources.sort();
    out.stale_sources.dedup();
    out
}

fn only_pycache(dir: &Path) -> bool {
    fs_err::read_dir(dir).is_ok_and(|mut entries| {
        let first = entries.next().and_then(Result::ok).map(|entry| entry.file_name());
        first.as_deref() == Some(OsStr::new(artifact::PYCACHE)) && entries.next().is_none()
    })
}

/// Judges one folder of caches (a `__pycache__` or a prefix-tree folder).
fn judge_cache_dir(
    cache_dir: &Path,
    source_dir: &Path,
    entries: &[walk::Entry],
    workdir: &Path,
    tracked: &dyn Fn(&Path) -> bool,
    staleness: &Staleness<'_>,
    out: &mut DiskFindings,
) {
    let tags = staleness.tags;
    for entry in entries.iter().filter(|entry| entry.is_file) {
        let path = cache_dir.join(&entry.name);
        // The source's own `lstat`, when it is a regular file: also its stamp for `is_outdated`.
        let mut source_stamp = None;
        let has_source = |stem: &[u8]| {
            let mut name = stem.to_vec();
            name.extend_from_slice(artifact::SOURCE_SUFFIX);
            match fs_err::symlink_metadata(source_dir.join(OsStr::from_bytes(&name))) {
                Ok(meta) if meta.file_type().is_file() => {
                    source_stamp = Some(Stamp::of(&meta));
                    true
                }
                Ok(meta) if meta.file_type().is_symlink() => sweep::has_source(source_dir, stem),
                _ => false,
            }
        };
        match artifact::classify_cached(entry.name.as_bytes(), has_source) {
            CachedFile::Cache { stem, suffix } => {
                let tag = suffix.tag.to_str_lossy().into_owned();
                out.stats.add(workdir, source_dir, if suffix.pytest { PYTEST_BUCKET } else { &tag }, entry.size);
                // Tracked caches are reported as tracked; pytest's are pytest's business.
                let Some(fresh) = staleness.fresh else { continue };
                if suffix.pytest || tracked(&path) || !(tags.is_empty() || tags.contains(&tag)) {
                    continue;
                }
                let mut source_name = stem.to_vec();
                source_name.extend_from_slice(artifact::SOURCE_SUFFIX);
                let source = source_dir.join(OsStr::from_bytes(&source_name));
                if is_outdated(&path, entry, (&source, source_stamp), fresh) {
                    // A cache that still validates for other content is a lie
                    // Python runs; one that no longer validates it only rewrites.
                    let severity =
                        if crate::pyc::would_load(&path, &source) { Severity::Error } else { Severity::Warning };
                    out.findings.push(Finding::at(
                        FindingId::StaleBytecode,
                        severity,
                        path.clone(),
                        stale_message(&path, &source),
                        "rebuild it with `pycache-guard rebuild`",
                    ));
                    if let Ok(relative) = source.strip_prefix(workdir) {
                        out.stale_sources
                            .push((BString::from(relative.as_os_str().as_bytes()), suffix.optimization.unwrap_or(0)));
                    }
                }
            }
            CachedFile::Orphan { stem, suffix } => {
                let tag = suffix.tag.to_str_lossy();
                out.stats.add(workdir, source_dir, if suffix.pytest { PYTEST_BUCKET } else { &tag }, entry.size);
                if !tracked(&path) {
                    let message = format!("its source `{}.py` is gone", stem.to_str_lossy());
                    out.findings.push(Finding::at(
                        FindingId::OrphanBytecode,
                        Severity::Warning,
                        path,
                        message,
                        CLEAN_HINT,
                    ));
                }
            }
            CachedFile::Temporary | CachedFile::OddBytecode => out.stats.add(workdir, source_dir, "other", entry.size),
            CachedFile::Unknown => {}
        }
    }
}

/// [`crate::pyc::is_outdated`] of the cache at `path` (as the walk saw it in
/// `entry`) for `source`, without reading either when an earlier run found
/// this very cache current next to this very source; a cache found current
/// now is remembered when neither file changed while it was judged.
fn is_outdated(
    path: &Path,
    entry: &walk::Entry,
    (source, stamp): (&Path, Option<Stamp>),
    fresh: &crate::freshness::Fresh,
) -> bool {
    // A source that is a link is judged afresh: importlib follows it.
    let Some(before) = stamp else { return crate::pyc::is_outdated(path, source) };
    let source_stamp =
        || fs_err::symlink_metadata(source).ok().filter(|meta| meta.file_type().is_file()).map(|meta| Stamp::of(&meta));
    let key = fresh.key_of(path.as_os_str().as_bytes(), &entry.stamp, &before);
    if fresh.is_known(key) {
        return false;
    }
    let outdated = crate::pyc::is_outdated(path, source);
    let cache_now = || fs_err::symlink_metadata(path).ok().map(|meta| Stamp::of(&meta));
    if !outdated && cache_now() == Some(entry.stamp) && source_stamp() == Some(before) {
        fresh.learn(key, &entry.stamp, &before);
    }
    outdated
}

fn stale_message(cache: &Path, source: &Path) -> String {
    match crate::pyc::read_header(cache) {
        Err(error) => return format!("it cannot be read: {error}"),
        Ok(Err(error)) => return format!("it is not a valid bytecode file: {error}"),
        Ok(Ok(_)) => {}
    }
    if crate::pyc::would_load(cache, source) {
        "its header still matches the source, but it was written before the source's last change: Python runs the old code".into()
    } else {
        "its header no longer matches the source: Python compiles the source again on its next import and rewrites it"
            .into()
    }
}

/// The hooks that do not run pycache-guard, judged as `install` judges them:
/// by what is installed in the hooks folder, not by which configuration
/// files exist.
pub fn hooks_missing(workdir: &Path, hooks_dir: &Path) -> Option<Finding> {
    let survey = crate::manager::survey(workdir, hooks_dir);
    let missing: Vec<String> = survey.missing().iter().map(|status| format!("`{}`", status.hook)).collect();
    if missing.is_empty() {
        return None;
    }
    let (message, hint) = match survey.installed {
        Some(manager) => (
            format!("{} runs the hooks here, but not pycache-guard on {}", manager.name(), missing.join(", ")),
            "`pycache-guard install` prints what to add to its configuration".to_string(),
        ),
        None if missing.len() == survey.hooks.len() => (
            "the pycache-guard hooks are not installed and no hook manager runs them".to_string(),
            "install them with `pycache-guard install`".to_string(),
        ),
        None => (
            format!("no pycache-guard hook runs on {}", missing.join(", ")),
            "install them with `pycache-guard install`".to_string(),
        ),
    };
    Some(Finding {
        id: FindingId::HooksMissing,
        severity: Severity::Info,
        path: None,
        line: None,
        column: None,
        message,
        hint,
    })
}

/// What the syntax check found.
#[derive(Debug, Default)]
pub struct SyntaxRun {
    /// One finding per file an interpreter refuses (or, without one, that the parser rejects).
    pub findings: Vec<Finding>,
    /// Files checked.
    pub checked: usize,
    /// Files the in-process check sent to the interpreter.
    pub suspects: usize,
    /// Files that could not be judged: `(file, why)`.
    pub failures: Vec<(PathBuf, String)>,
    /// Files deliberately not read (not regular, outside the work tree, too large): `(file, why)`.
    pub skipped: Vec<(PathBuf, String)>,
    /// How the verdicts were reached.
    pub cost: SyntaxCost,
}

/// How many files needed which work: what makes a warm `check` cheap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyntaxCost {
    /// Verdicts found by the file's stamp: not read at all.
    pub by_stamp: usize,
    /// Verdicts found by the bytes' digest: read and hashed, not parsed.
    pub by_content: usize,
    /// Files parsed in-process.
    pub parsed: usize,
}

/// The Python version the in-process parser judges for: the oldest interpreter's.
pub fn syntax_target(interpreters: &[crate::interpreter::Interpreter]) -> (u32, u32) {
    interpreters.iter().map(|interpreter| interpreter.info.major_minor()).min().unwrap_or((3, 13))
}

/// Where a suspect's verdict goes once the interpreters have spoken.
type Memo = Option<(verdict::Digest, Option<verdict::StampKey>)>;

/// How many sources a syntax-check thread claims at a time.
const CLAIM: usize = 32;

/// The folder a syntax-check thread last looked in, held open: the `lstat`
/// of each of its sources then resolves one name, not the whole path from
/// `/` (most of a warm check's system time on a deep tree).
#[derive(Default)]
struct Folder {
    opened: Option<(Vec<u8>, rustix::fd::OwnedFd)>,
}

impl Folder {
    /// `lstat` of the tracked `source`: links on the way are followed and a
    /// final one is not, as `lstat` of the whole path does.
    fn lstat(&mut self, workdir: &Path, source: &[u8]) -> Option<rustix::fs::Stat> {
        let (dir, name) = match source.rfind_byte(b'/') {
            Some(slash) => (&source[..slash], &source[slash + 1..]),
            None => (&b""[..], source),
        };
        if self.opened.as_ref().is_none_or(|(held, _)| held.as_slice() != dir) {
            let flags = rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC;
            let fd = rustix::fs::open(crate::paths::in_workdir(workdir, dir), flags, rustix::fs::Mode::empty());
            self.opened = fd.ok().map(|fd| (dir.to_vec(), fd));
        }
        let (_, fd) = self.opened.as_ref()?;
        rustix::fs::statat(fd, std::ffi::OsStr::from_bytes(name), rustix::fs::AtFlags::SYMLINK_NOFOLLOW).ok()
    }
}

/// Checks `sources` in-process on `threads` threads; whatever is rejected goes
/// to every interpreter in one batch, and only their verdict is reported.
/// Sources that are not regular files inside the work tree, or too large, are
/// not read (see [`crate::source`]). With a `cache`, a verdict already reached
/// for the same stamp or the same bytes is reused, and every verdict reached
/// goes to `learned`.
pub fn check_syntax(
    workdir: &Path,
    sources: &[BString],
    interpreters: &[crate::interpreter::Interpreter],
    settings: (usize, std::time::Duration),
    cache: Option<&verdict::Cache>,
    learned: &verdict::Learned,
) -> SyntaxRun {
    let (threads, timeout) = settings;
    let version = syntax_target(interpreters);
    let canonical = workdir.canonicalize().unwrap_or_else(|_| workdir.to_path_buf());
    // Stamps younger than this may still change unseen (see `verdict`).
    let settled_before = crate::record::now_nanos() - verdict::SETTLED_NANOS;
    let next = AtomicUsize::new(0);
    let (by_stamp, by_content, parsed) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    // Sources gone since the index listed them: not checked, and not counted.
    let gone = AtomicUsize::new(0);
    let suspects: Mutex<Vec<(usize, crate::syntax::Problem, Memo)>> = Mutex::new(Vec::new());
    let reused: Mutex<Vec<(usize, verdict::Verdict)>> = Mutex::new(Vec::new());
    let unreadable: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    let skipped: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    let budget = crate::source::ByteBudget::new(crate::source::IN_PROCESS_LIMIT);
    let push = |list: &Mutex<Vec<(PathBuf, String)>>, path: PathBuf, message: String| {
        if let Ok(mut list) = list.lock() {
            list.push((path, message));
        }
    };
    let reuse = |at: usize, verdict: &verdict::Verdict, counter: &AtomicUsize| {
        counter.fetch_add(1, Ordering::Relaxed);
        if *verdict != verdict::Verdict::Clean
            && let Ok(mut list) = reused.lock()
        {
            list.push((at, verdict.clone()));
        }
    };
    let work = || {
        // Verdicts found by their stamp are noted here and handed over once:
        // a lock per source was most of a warm run's contention.
        let mut kept = Vec::new();
        let mut folder = Folder::default();
        'claims: loop {
            // Sources are claimed a few at a time, in index order, so one
            // thread's next lookups stay in the folder it just looked in.
            let first = next.fetch_add(CLAIM, Ordering::Relaxed);
            for at in first..first.saturating_add(CLAIM) {
                let Some(source) = sources.get(at) else { break 'claims };
                let path = crate::paths::in_workdir(workdir, source);
                // One lstat: the same stamp at the same path means the same bytes.
                if let Some(cache) = cache
                    && let Some(stat) = folder.lstat(workdir, source)
                    && rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile
                    && let Some((digest, verdict)) = cache.by_stamp(cache.stamp_key(source, &Stamp::of_stat(&stat)))
                {
                    kept.push(*digest);
                    reuse(at, verdict, &by_stamp);
                    continue;
                }
                let (problem, memo) = match crate::source::read(&canonical, &path) {
                    Ok(crate::source::Source::Bytes { bytes, stamp }) => {
                        let memo = cache.map(|cache| {
                            let settled = stamp.filter(|stamp| stamp.latest() < settled_before);
                            (verdict::digest(&bytes), settled.map(|stamp| cache.stamp_key(source, &stamp)))
                        });
                        if let (Some(cache), Some((digest, stamp))) = (cache, memo)
                            && let Some(verdict) = cache.by_digest(&digest)
                        {
                            learned.reused(digest, stamp);
                            reuse(at, verdict, &by_content);
                            continue;
                        }
                        parsed.fetch_add(1, Ordering::Relaxed);
                        match budget.run(bytes.len() as u64, || crate::syntax::check(&bytes, version)) {
                            crate::syntax::Verdict::Accepted => {
                                if let Some((digest, stamp)) = memo {
                                    learned.verdict(digest, verdict::Verdict::Clean, stamp);
                                }
                                continue;
                            }
                            crate::syntax::Verdict::Suspect(problem) => (problem, memo),
                        }
                    }
                    Ok(crate::source::Source::ForInterpreter { size }) => (
                        crate::syntax::Problem::undecided(format!(
                            "{} MiB is too large for the in-process parser, so it needs the interpreter",
                            size.div_ceil(1 << 20)
                        )),
                        None,
                    ),
                    Ok(crate::source::Source::Skipped(why)) => {
                        push(&skipped, path, format!("not checked for syntax: {why}"));
                        continue;
                    }
                    Ok(crate::source::Source::Missing) => {
                        gone.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Err(error) => {
                        push(&unreadable, path, error.to_string());
                        continue;
                    }
                };
                if let Ok(mut list) = suspects.lock() {
                    list.push((at, problem, memo));
                }
            }
        }
        learned.kept(kept);
    };
    std::thread::scope(|scope| {
        let started = (0..threads.max(1))
            .filter(|_| {
                // The parser recurses as deep as the source nests: give it room (see `syntax::STACK_BYTES`).
                std::thread::Builder::new().stack_size(crate::syntax::STACK_BYTES).spawn_scoped(scope, work).is_ok()
            })
            .count();
        if started == 0 {
            work();
        }
    });
    let mut suspects = suspects.into_inner().unwrap_or_default();
    suspects.sort_by_key(|(at, _, _)| *at);
    let mut run = SyntaxRun {
        checked: sources.len(),
        suspects: suspects.len(),
        failures: unreadable.into_inner().unwrap_or_default(),
        skipped: skipped.into_inner().unwrap_or_default(),
        cost: SyntaxCost {
            by_stamp: by_stamp.into_inner(),
            by_content: by_content.into_inner(),
            parsed: parsed.into_inner(),
        },
        ..SyntaxRun::default()
    };
    for (at, found) in reused.into_inner().unwrap_or_default() {
        if let verdict::Verdict::Refused { line, column, message } = found {
            run.findings.push(syntax_finding(crate::paths::in_workdir(workdir, &sources[at]), message, line, column));
        }
    }
    if interpreters.is_empty() {
        for (at, problem, memo) in suspects {
            let path = crate::paths::in_workdir(workdir, &sources[at]);
            if problem.certainty == crate::syntax::Certainty::Undecided {
                run.failures.push((path, format!("not checked: {} and no interpreter is available", problem.message)));
                continue;
            }
            let message = format!("{} (unconfirmed: no interpreter to ask)", problem.message);
            learn_refusal(learned, memo, problem.line, problem.column, &message);
            run.findings.push(syntax_finding(path, message, problem.line, problem.column));
        }
        run.checked = judged(&run, gone.into_inner());
        return run;
    }
    confirm(workdir, sources, &suspects, interpreters, timeout, learned, &mut run);
    run.checked = judged(&run, gone.into_inner());
    run
}

/// The sources whose syntax was judged: all of them but the ones skipped
/// (a FIFO, a device), unreadable or gone.
fn judged(run: &SyntaxRun, gone: usize) -> usize {
    run.checked.saturating_sub(run.skipped.len() + run.failures.len() + gone)
}

fn learn_refusal(learned: &verdict::Learned, memo: Memo, line: u32, column: u32, message: &str) {
    if let Some((digest, stamp)) = memo {
        learned.verdict(digest, verdict::Verdict::Refused { line, column, message: message.to_string() }, stamp);
    }
}

fn syntax_finding(path: PathBuf, message: String, line: u32, column: u32) -> Finding {
    Finding {
        id: FindingId::SyntaxError,
        severity: Severity::Error,
        path: Some(path),
        // An error about the whole file (CPython's line 0) is shown at its start: never `:0:0`.
        line: Some(line.max(1)),
        column: Some(column.max(1)),
        message,
        hint: "fix the source; `python -m py_compile` on the file shows the same error".into(),
    }
}

/// Asks every interpreter about the suspects; a file is reported when one
/// refuses it. A verdict every interpreter gave is learned; one that met an
/// error or a failed worker is not.
fn confirm(
    workdir: &Path,
    sources: &[BString],
    suspects: &[(usize, crate::syntax::Problem, Memo)],
    interpreters: &[crate::interpreter::Interpreter],
    timeout: std::time::Duration,
    learned: &verdict::Learned,
    run: &mut SyntaxRun,
) {
    use crate::compile::{Op, Outcome, Task, WorkerSpec};
    let tasks: Vec<Task> = suspects
        .iter()
        .map(|(at, _, _)| Task { source: crate::paths::in_workdir(workdir, &sources[*at]), op: Op::Check })
        .collect();
    let mut verdicts: Vec<Vec<(String, Outcome)>> = vec![Vec::new(); tasks.len()];
    for interpreter in interpreters {
        let spec = WorkerSpec { executable: interpreter.info.executable.clone(), timeout };
        // Few files: one worker per interpreter avoids starting processes that would idle.
        let workers = tasks.len().div_ceil(16).min(2);
        for (slot, outcome) in verdicts.iter_mut().zip(crate::compile::run(&spec, &tasks, workers, &|| {})) {
            slot.push((interpreter.info.cache_tag.clone(), outcome));
        }
    }
    for ((task, outcomes), (_, suspect, memo)) in tasks.into_iter().zip(verdicts).zip(suspects) {
        let mut failed = false;
        for (tag, outcome) in &outcomes {
            if let Outcome::Failed(error) = outcome {
                run.failures.push((task.source.clone(), format!("{tag}: {error}")));
                failed = true;
            }
        }
        let refused: Vec<&(String, Outcome)> =
            outcomes.iter().filter(|(_, outcome)| matches!(outcome, Outcome::Syntax { .. })).collect();
        let Some((_, Outcome::Syntax { line, column, message })) = refused.first() else {
            if !failed && let Some((digest, stamp)) = memo {
                learned.verdict(*digest, verdict::Verdict::Clean, *stamp);
            }
            continue;
        };
        let tags: Vec<&str> = refused.iter().map(|(tag, _)| tag.as_str()).collect();
        // CPython gives line 0 for some errors (an unknown encoding);
        // the in-process finding then knows the line to show.
        let (line, column) = if *line == 0 { (suspect.line, suspect.column) } else { (*line, *column) };
        let message = format!("{message} ({})", tags.join(", "));
        if !failed {
            learn_refusal(learned, *memo, line, column, &message);
        }
        run.findings.push(syntax_finding(task.source, message, line, column));
    }
}
