//! `pycache-guard rebuild` and the post-checkout, post-merge and post-rewrite hooks.
//!
//! Hooks never hurt the git command: whatever happens they exit 0, a syntax
//! error in user code is one warning line, a missing interpreter one warning,
//! and they are quiet otherwise. On a terminal a progress bar and a summary
//! line show long work. A lock in the repository folder serialises rebuilds,
//! and a log there records what each one did.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use bstr::{BString, ByteSlice};

use crate::changes::{self, Scope, Span};
use crate::cli::{ModeChoice, RebuildArgs};
use crate::config::{Background, ProjectConfig};
use crate::display::PathStyle;
use crate::exit::ExitStatus;
use crate::git::{ChangeKind, Repo};
use crate::hook_event::{self, Event};
use crate::hook_type::HookType;
use crate::index::Index;
use crate::output::Verbosity;
use crate::pyc::InvalidationMode;
use crate::rebuild::{self, Plan, Report, Settings, Targets};
use crate::record;
use crate::state;

use super::{Context, Refusal};

/// What to rebuild.
#[derive(Clone, Debug)]
enum What {
    /// A span of git history (or the index, or everything, or a scan).
    Span(Span),
    /// The tracked sources under these paths.
    Paths(Vec<PathBuf>),
}

/// Settings from the command line that do not depend on the repository.
#[derive(Clone, Debug)]
struct Options {
    python: Vec<String>,
    optimize: Vec<u8>,
    mode: Option<InvalidationMode>,
    jobs: Option<usize>,
    timeout: Duration,
    dry_run: bool,
    /// Quiet, and exit 0 whatever happens.
    hook: bool,
    /// `--background`, or the foreground that `wait` and a detached rebuild
    /// must use; `None` asks the configuration.
    background: Option<Background>,
    /// Block on the rebuild lock rather than finding it busy.
    must_lock: bool,
    /// Bring the caches from the record to what is on disk ([`crate::record`]),
    /// taking the event only as a hint; then update the record.
    reconcile: bool,
    /// For messages and the log: which hook or command.
    label: String,
    /// The hook follows a plain `git commit`, which writes no work-tree file:
    /// what was written since the record is the user's own editing.
    plain_commit: bool,
}

fn mode_of(choice: ModeChoice) -> InvalidationMode {
    match choice {
        ModeChoice::Timestamp => InvalidationMode::Timestamp,
        ModeChoice::CheckedHash => InvalidationMode::CheckedHash,
        ModeChoice::UncheckedHash => InvalidationMode::UncheckedHash,
    }
}

/// `pycache-guard rebuild`.
pub fn run(context: &Context, args: &RebuildArgs) -> Result<ExitStatus> {
    let options = Options {
        python: args.python.clone(),
        optimize: args.optimize.clone(),
        mode: args.invalidation_mode.map(mode_of),
        jobs: args.jobs.map(usize::from),
        timeout: Duration::from_secs(args.timeout),
        dry_run: args.dry_run,
        hook: args.hook,
        background: if crate::env::is_background_child() {
            Some(Background::Never)
        } else {
            args.background.then_some(Background::Always)
        },
        must_lock: false,
        reconcile: args.hook || args.all || no_selection(args),
        label: match crate::env::background_child_of() {
            Some(after) if !after.is_empty() => {
                format!("background rebuild after {}", crate::display::sanitize_text(&after))
            }
            _ if args.hook => "rebuild --hook".into(),
            _ => "rebuild".into(),
        },
        plain_commit: crate::env::is_background_child() && crate::env::is_plain_commit_child(),
    };
    guarded(context, &options, || {
        let repo = Repo::discover()?;
        // A detached rebuild yields the processors to whatever the user does
        // next (the next git command, often): its interpreters inherit this.
        if crate::env::is_background_child() {
            let current = rustix::process::getpriority_process(None).unwrap_or(0);
            if current < BACKGROUND_NICENESS {
                let _ = rustix::process::setpriority_process(None, BACKGROUND_NICENESS);
            }
        }
        // A detached rebuild holds its place in the queue until it exits.
        let _ticket = crate::env::is_background_child().then(|| state::Ticket::adopt(repo.git_dir())).flatten();
        let what = if let Some(old) = &args.since {
            let new = args.until.clone().unwrap_or_else(|| "HEAD".into());
            let resolve = |spec: &str| {
                repo.resolve_commit(spec).ok_or_else(|| {
                    Refusal::new(format!("`{spec}` does not name a commit"), "name a branch, a tag or a commit id")
                })
            };
            What::Span(Span::Commits { old: resolve(old)?, new: resolve(&new)? })
        } else if args.staged {
            What::Span(Span::Staged)
        } else if args.all {
            What::Span(Span::AllTracked)
        } else if !args.paths.is_empty() {
            What::Paths(args.paths.clone())
        } else if let Some(event) = args.hook.then(pre_commit_event).flatten() {
            What::Span(span_or_scan(context, &repo, &event))
        } else if args.hook {
            let action = crate::env::git_reflog_action();
            What::Span(changes::span_from_reflog(&repo, action.as_deref()).unwrap_or(Span::StaleScan))
        } else {
            What::Span(Span::StaleScan)
        };
        start(context, &repo, &what, &options)
    })
}

/// The priority a detached rebuild runs at, on `nice`'s scale (never
/// raised if it already runs lower): it still runs at once on an idle
/// machine, and gives way to the foreground.
const BACKGROUND_NICENESS: i32 = 10;

/// `rebuild` with nothing named: reconcile from the record, then scan.
fn no_selection(args: &RebuildArgs) -> bool {
    args.since.is_none() && !args.staged && !args.all && args.paths.is_empty()
}

fn pre_commit_event() -> Option<Event> {
    hook_event::from_pre_commit_env(crate::env::pre_commit_variable)
}

impl Options {
    /// What a hook runs with: the configuration's interpreters and levels,
    /// a reconcile from the record, and the lock found busy rather than waited for.
    fn for_hook(label: String) -> Options {
        Options {
            python: Vec::new(),
            optimize: Vec::new(),
            mode: None,
            jobs: None,
            timeout: Duration::from_secs(60),
            dry_run: false,
            hook: true,
            background: None,
            must_lock: false,
            reconcile: true,
            label,
            plain_commit: false,
        }
    }
}

/// A git hook: `post-checkout`, `post-merge`, `post-rewrite`, `post-commit`,
/// `post-applypatch` or `reference-transaction`.
pub fn run_hook(context: &Context, hook: HookType, args: &[String], stdin: &str) -> Result<ExitStatus> {
    let options = Options::for_hook(hook.name().to_string());
    // A commit fires `reference-transaction` (its branch moved) and then
    // `post-commit`; both read the reflog entry the commit just wrote.
    let plain_commit = matches!(hook, HookType::PostCommit | HookType::ReferenceTransaction) && is_plain_commit();
    let options = Options { plain_commit, ..options };
    guarded(context, &options, || {
        if let Some(hint) = ref_move_hint(hook, args, stdin) {
            let (old, new) = match hint {
                RefMove::Ignored => return Ok(ExitStatus::Success),
                RefMove::WorkTree => {
                    return start(context, &Repo::discover()?, &What::Span(Span::StaleScan), &options);
                }
                RefMove::Head { old, new } => (old, new),
            };
            let repo = Repo::discover()?;
            if hook == HookType::ReferenceTransaction && !moves_head(&repo, stdin) {
                return Ok(ExitStatus::Success);
            }
            // Only a hint: without a record, the event's diff and a stale scan.
            let span = if hook_event::is_null_id(&old) || old.is_empty() {
                changes::span_from_reflog(&repo, None).unwrap_or(Span::StaleScan)
            } else {
                Span::Commits { old, new }
            };
            return start(context, &repo, &What::Span(span), &options);
        }
        let Some(event) = hook_event::parse_hook(hook, args, stdin)? else { return Ok(ExitStatus::Success) };
        // The cheapest no-op, without even opening the repository: `git checkout -b`.
        if let Event::Checkout { previous, new, branch: true } = &event
            && previous == new
        {
            return Ok(ExitStatus::Success);
        }
        let repo = Repo::discover()?;
        let span = span_or_scan(context, &repo, &event);
        start(context, &repo, &What::Span(span), &options)
    })
}

/// Finishes what an interrupted rebuild left in the journal, in the
/// foreground: the reconcile every hook makes, under the lock (for `wait`).
pub fn finish_pending(context: &Context, repo: &Repo) -> Result<()> {
    let options = Options {
        background: Some(Background::Never),
        must_lock: true,
        ..Options::for_hook("wait (finishing an interrupted rebuild)".into())
    };
    start(context, repo, &What::Span(Span::StaleScan), &options).map(drop)
}

/// True when the newest entry of `HEAD`'s reflog is a plain `git commit`
/// (`commit:` or `commit (initial):`): git wrote no work-tree file for it, so
/// the files written since the record are the user's own edits, which
/// Python recompiles on import by itself. A merge's commit (`commit
/// (merge)`), cherry-pick, revert and anything unreadable count as git's
/// writes. The reflog is git's own file, never the repository's choice.
fn is_plain_commit() -> bool {
    let Ok(repo) = Repo::discover() else { return false };
    let Ok(log) = crate::safe_fs::read_small(&repo.git_dir().join("logs/HEAD"), 64 << 20) else { return false };
    let Some(last) = log.trim_ascii_end().rsplit(|&byte| byte == b'\n').next() else { return false };
    let Some(tab) = last.iter().position(|&byte| byte == b'\t') else { return false };
    let message = &last[tab + 1..];
    message.starts_with(b"commit: ") || message.starts_with(b"commit (initial): ")
}

/// What a hook that names no files tells: `post-commit` and
/// `post-applypatch` (a commit was made; the reflog names the one before),
/// `reference-transaction` (refs moved; only a committed transaction that
/// moves `HEAD` or its branch matters) and `post-index-change` (only when git
/// says it updated the work tree: `stash apply` and `pop` fire nothing else).
/// `None` for other hooks.
enum RefMove {
    /// Nothing that can have changed the work tree.
    Ignored,
    /// `HEAD` moved, from `old` (possibly the null id) to `new`.
    Head { old: String, new: String },
    /// git updated the work tree without moving `HEAD` (`stash apply`).
    WorkTree,
}

fn ref_move_hint(hook: HookType, args: &[String], stdin: &str) -> Option<RefMove> {
    match hook {
        HookType::PostCommit | HookType::PostApplypatch => {
            Some(RefMove::Head { old: String::new(), new: String::new() })
        }
        // `post-index-change <work tree updated> <skip-worktree changed>`.
        HookType::PostIndexChange if args.first().map(String::as_str) == Some("1") => Some(RefMove::WorkTree),
        HookType::PostIndexChange => Some(RefMove::Ignored),
        HookType::ReferenceTransaction if args.first().map(String::as_str) != Some("committed") => {
            Some(RefMove::Ignored)
        }
        HookType::ReferenceTransaction => Some(ref_updates(stdin).find(|(_, _, name)| *name == "HEAD").map_or(
            RefMove::Head { old: String::new(), new: String::new() },
            |(old, new, _)| RefMove::Head { old: old.to_string(), new: new.to_string() },
        )),
        _ => None,
    }
}

/// `<old> <new> <ref>` lines of a `reference-transaction` hook.
fn ref_updates(stdin: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    stdin.lines().filter_map(|line| {
        let mut fields = line.split(' ');
        Some((fields.next()?, fields.next()?, fields.next()?))
    })
}

/// True when a transaction moved `HEAD`, the branch `HEAD` is on, or the
/// stash (`git stash pop` drops it after rewriting files). The shim already
/// filtered on names; this is the precise test (git-branchless's
/// `should_ignore_ref_updates` is the model): `git fetch`, tags and other
/// branches start nothing.
fn moves_head(repo: &Repo, stdin: &str) -> bool {
    let branch = fs_err::read_to_string(repo.git_dir().join("HEAD"))
        .ok()
        .and_then(|head| head.trim_end().strip_prefix("ref: ").map(str::to_string));
    ref_updates(stdin).any(|(_, _, name)| name == "HEAD" || name == "refs/stash" || Some(name) == branch.as_deref())
}

/// The span of an event; when git cannot name it (a shallow or partial
/// clone, a pruned reflog), a stale scan instead.
fn span_or_scan(context: &Context, repo: &Repo, event: &Event) -> Span {
    changes::span_for(repo, event).unwrap_or_else(|error| {
        context.printer.verbose(format!("{error}; scanning for stale caches instead"));
        Span::StaleScan
    })
}

/// Hooks report errors as one warning and exit 0; the command lets them through.
fn guarded(context: &Context, options: &Options, work: impl FnOnce() -> Result<ExitStatus>) -> Result<ExitStatus> {
    match work() {
        Ok(_) if options.hook => Ok(ExitStatus::Success),
        Ok(status) => Ok(status),
        Err(error) if options.hook => {
            let causes = crate::display::sanitize_text(&crate::display::causes(&error));
            context.printer.warning(format!("pycache-guard {}: {causes}", options.label));
            Ok(ExitStatus::Success)
        }
        Err(error) => Err(error),
    }
}

/// What a rebuild will work on, once git and the journal have been asked.
struct Work {
    config: ProjectConfig,
    settings: Settings,
    index: Index,
    targets: Targets,
    /// The caches looked at while gathering, for the plan to reuse.
    listing: rebuild::CacheListing,
}

fn start(context: &Context, repo: &Repo, what: &What, options: &Options) -> Result<ExitStatus> {
    if repo.is_bare() && options.hook {
        return Ok(ExitStatus::Success);
    }
    let workdir = repo.workdir()?.to_path_buf();
    // Taken before git's state is read, from the clock file times come
    // from, so that whatever git writes from now on is not older than the
    // record this run writes (the system clock runs up to a tick ahead).
    let began = record::file_clock_nanos();
    // Held from the record's read to its write: two hooks never interleave.
    // A hook finds it busy rather than waiting behind a background rebuild:
    // what would lie it removes at once, and the compiling waits its turn.
    let lock = acquire_lock(repo, options)?;
    let busy = lock.is_none() && !options.dry_run;
    context.printer.verbose(format!("what to rebuild: {}", describe_selection(what)));
    // A reconcile reads the index first: the record is compared with the tree it describes.
    let index = if options.reconcile { Some(Index::load(&repo.index_location())?) } else { None };
    let mut baseline = index.as_ref().map(|index| Baseline::resolve(context, repo, began, index));
    if let Some(Baseline { since: Some(_), head, .. }) = &baseline {
        let at = head.as_deref().map_or(String::new(), |head| format!(" (now at {})", short(head)));
        context.printer.verbose(format!(
            "the record of the last rebuild is trusted: also what git changed since it{at}, from `.git/pycache-guard/`"
        ));
    }
    // A first record needs more than a stale scan from a hook that names no
    // commits (post-index-change): that scan compiles no new file, and the
    // record would then hide the new files from the hooks that follow.
    if let Some(found) = &baseline
        && found.since.is_none()
        && options.hook
        && matches!(what, What::Span(Span::StaleScan))
    {
        baseline = None;
    }
    let found = Found { busy, index, baseline: baseline.as_mut() };
    let Some(mut work) = gather(context, repo, &workdir, what, options, found)? else {
        context.printer.verbose("nothing to compile and no folder to sweep: every cache in that selection is current");
        if let Some(baseline) = &baseline
            && !options.dry_run
            && !busy
        {
            baseline.store(repo, began, Vec::new());
        }
        return Ok(ExitStatus::Success);
    };
    // Recorded before anything else happens, so that a kill from here on is finished by the next run.
    let compile = work.targets.compile.iter().map(|path| path.as_slice());
    let sweep = work.targets.sweep.iter().map(|path| path.as_slice());
    // A journal that cannot be written (a full disk) must not stop the work:
    // removing a lying cache needs no space.
    let journal = if options.dry_run {
        None
    } else {
        match state::Journal::begin(repo.git_dir(), compile, sweep) {
            Ok(journal) => Some(journal),
            Err(error) => {
                context.printer.warning(format!(
                    "cannot record the rebuild in `.git/pycache-guard/pending` ({}); going on without it",
                    crate::display::sanitize_text(&error.to_string())
                ));
                None
            }
        }
    };
    let needs_interpreter = work.settings.compile && !work.targets.compile.is_empty();
    let deferred = !options.dry_run && defers(background_mode(repo, &work.config, options), options, needs_interpreter);
    if deferred {
        // The journal stays: the detached rebuild takes it over, and a kill
        // there is finished later. It reconciles and writes the record itself.
        let plan = rebuild::plan_lying(&work.targets, &work.settings, &work.index, &mut work.listing);
        let report = rebuild::execute(plan, &work.settings, &|| {});
        // Nothing lies any more, and what is left to compile is in the
        // journal, which the detached rebuild (or, after a kill, any later
        // run) finishes: the record may move on now, so that the next hook of
        // this same git command finds its index already reconciled.
        if let Some(baseline) = &mut baseline
            && journal.is_some()
            && report.removed.errors.is_empty()
        {
            if busy {
                // The record belongs to the rebuild holding the lock: a note
                // tells the next hook of this git command the same.
                if let Some(handled) = baseline.handled(began) {
                    let _ = record::store_handled(repo.git_dir(), &handled);
                }
            } else {
                baseline.note_outside(repo, &work.targets.compile);
                baseline.store(repo, began, Vec::new());
            }
        }
        let pending = work.targets.compile.len();
        let lines = deferred_log_lines(&report, options, pending, busy);
        if summary_wanted(context, repo, options) {
            let summary = lines[0].split_once(": ").map_or(lines[0].as_str(), |(_, summary)| summary);
            context.printer.info(summary);
        }
        state::log(repo.git_dir(), &lines);
        detach(context, repo, &workdir, what, options, lock)?;
        return Ok(ExitStatus::Success);
    }
    let lock = match lock {
        Some(lock) => Some(lock),
        None if options.dry_run => None,
        // Busy, and this run compiles in the foreground: its turn comes
        // after the running rebuild, and what that one wrote is read afresh.
        None => {
            drop(journal);
            return start(context, repo, what, &Options { must_lock: true, ..options.clone() });
        }
    };
    choose_interpreters(context, repo, &work.config, options, &work.index, &work.targets, &mut work.settings)?;
    let settings = work.settings;
    let racy_caches = baseline.as_ref().map(Baseline::racy_caches).unwrap_or_default();
    let plan = rebuild::plan_at(
        &work.targets,
        &settings,
        &work.index,
        &mut work.listing,
        &racy_caches,
        began.div_euclid(1_000_000_000),
    );
    let style = context.path_style(repo)?;
    explain_plan(context, &style, &work.targets, &plan, &settings);
    if options.dry_run {
        print_plan(context, &style, &plan, &settings);
        return Ok(ExitStatus::Success);
    }
    let started = Instant::now();
    let racy = plan.racy.clone();
    let written = rebuild::written_by(&plan);
    let mut report = run_plan(context, plan, &settings);
    // A source written again while it compiled may have got old code under its new stat.
    let overtaken = rebuild::overtaken(&written, began);
    if !overtaken.is_empty() {
        let roots = crate::safe_fs::Roots::new(&settings.workdir, &settings.location);
        let late = crate::sweep::remove(overtaken, &roots, &|_: &Path| false);
        report.removed.files.extend(late.files);
        report.removed.errors.extend(late.errors);
    }
    if let Some(journal) = journal {
        journal.finish();
    }
    // A record never claims more than was done: after a failed write the old one stays.
    if let Some(baseline) = &mut baseline
        && report.failures.is_empty()
        && report.removed.errors.is_empty()
    {
        baseline.note_outside(repo, &work.targets.compile);
        baseline.store(repo, began, racy);
    }
    drop(lock);
    let status =
        show_report(context, &style, &report, options, summary_wanted(context, repo, options), started.elapsed());
    state::log(repo.git_dir(), &log_lines(&report, options, started.elapsed()));
    Ok(status)
}

/// git prints its own output around a hook's: a hook that succeeds says
/// nothing unless asked (`-v`, or `git config pycache-guard.hookSummary true`).
fn summary_wanted(context: &Context, repo: &Repo, options: &Options) -> bool {
    context.printer.verbosity() >= Verbosity::Verbose
        || if options.hook {
            repo.config_bool("pycache-guard.hookSummary").unwrap_or(false)
        } else {
            std::io::stderr().is_terminal()
        }
}

/// The rebuild lock for this run: `None` when a hook finds it busy (or for
/// a dry run, which takes none). A detached rebuild adopts the lock its
/// parent handed over.
fn acquire_lock(repo: &Repo, options: &Options) -> Result<Option<state::Lock>> {
    if options.dry_run {
        return Ok(None);
    }
    if crate::env::is_background_child()
        && let Some(lock) = state::Lock::adopt(repo.git_dir())
    {
        return Ok(Some(lock));
    }
    if options.hook && !options.must_lock && !crate::env::is_background_child() {
        return Ok(state::Lock::try_acquire(repo.git_dir())?);
    }
    Ok(Some(state::Lock::acquire(repo.git_dir())?))
}

/// `--background`, else git config `pycache-guard.background` (the user's
/// own choice wins over the committed one), else `[tool.pycache-guard]`.
fn background_mode(repo: &Repo, config: &ProjectConfig, options: &Options) -> Background {
    if let Some(chosen) = options.background {
        return chosen;
    }
    repo.config_values("pycache-guard.background")
        .last()
        .and_then(|value| Background::parse(value))
        .unwrap_or(config.background)
}

/// True when this run's compiling goes to a detached rebuild.
///
/// # The budget of `auto`
///
/// The goal (issue 14) is that a checkout with the hooks costs at most 1.3×
/// the same checkout without them, for any number of changed files: the hook
/// may add 30% of git's own time. Measured on the development machine (two
/// shared cores; `git checkout` of 200 changed 120-line modules, CPython
/// 3.11):
/// - git's checkout: 28–40 ms, about 0.15–0.2 ms per changed file;
/// - starting one interpreter (`python3 -I -S -c pass`): 58–110 ms, and
///   20–30 ms on an idle machine;
/// - compiling one such module (`py_compile`): about 3 ms, 15–20× what git
///   spends writing it.
///
/// The interpreter's start-up alone is more than 30% of git's time for any
/// checkout under a few hundred files, and the per-file cost is more than
/// 30% of git's per-file cost at any size, so no number of files fits the
/// budget once an interpreter must start. `auto`'s budget is therefore
/// "no interpreter": a hook does in the foreground what needs none (removing
/// caches that would lie, orphans, settling racy caches) and hands every
/// compile to the background. A rebuild typed by hand (`rebuild`) is
/// waited for by its user and stays in the foreground; `true` detaches it
/// too, and `false` keeps hooks in the foreground.
fn defers(mode: Background, options: &Options, needs_interpreter: bool) -> bool {
    if !needs_interpreter {
        return false;
    }
    match mode {
        Background::Always => true,
        Background::Never => false,
        Background::Auto => options.hook,
    }
}

fn deferred_log_lines(report: &Report, options: &Options, pending: usize, busy: bool) -> Vec<String> {
    let files = |count: usize| if count == 1 { "1 file".to_string() } else { format!("{count} files") };
    let mut line = format!(
        "{}: removed {} that would lie; {} to compile in the background",
        options.label,
        files(report.removed.files.len()),
        if pending == 1 { "1 source".to_string() } else { format!("{pending} sources") },
    );
    if busy {
        line.push_str(", after the background rebuild already running");
    }
    let mut lines = vec![line];
    for (path, message) in &report.removed.errors {
        lines.push(format!("  failed: {}: {message}", path.display()));
    }
    lines
}

/// The record, resolved against the repository as it is now.
struct Baseline {
    /// The commit `HEAD` names now.
    head: Option<String>,
    /// The record's time, when it can be trusted.
    since: Option<i64>,
    /// What changed in git from the record's commit to `head`.
    changes: Vec<crate::git::Change>,
    /// Checked-hash caches written for racy sources that are still racy.
    racy: Vec<record::RacyCache>,
    /// The index file the record was made from.
    index: Option<String>,
    /// The index file this run read, for the record it writes.
    read_index: String,
    /// The tree the index this run read describes, when git's cache tree says.
    tree: Option<String>,
    /// Sources compiled outside any recorded tree that are still in the
    /// index ([`record::Record::outside`]), and those this run compiles.
    outside: Vec<BString>,
    /// The note a hook that found the lock busy left, read once per run.
    handled: Option<record::Handled>,
}

impl Baseline {
    /// Reads the record, and settles the racy caches whose second has passed.
    fn resolve(context: &Context, repo: &Repo, now: i64, index: &Index) -> Baseline {
        let head = repo.resolve_commit("HEAD");
        let mut baseline = Baseline {
            head: head.clone(),
            since: None,
            changes: Vec::new(),
            racy: Vec::new(),
            index: None,
            read_index: index.identity().to_string(),
            tree: index.tree().map(str::to_string),
            outside: Vec::new(),
            handled: None,
        };
        let untrusted = |why: &str| {
            context.printer.verbose(format!("{why}; rebuilding from the event and a stale scan instead"));
        };
        let found = match record::load(repo.git_dir(), now) {
            record::Loaded::Found(found) => found,
            record::Loaded::Missing => {
                untrusted("no record of what the caches were made for yet");
                return baseline;
            }
            record::Loaded::Untrusted(why) => {
                untrusted(&why);
                return baseline;
            }
        };
        // The trees the index described then and now, where git's cache tree
        // says (a checkout's `post-index-change` runs before `HEAD` moves), else the commits.
        let (old, new) = (found.tree.as_ref().or(found.head.as_ref()), baseline.tree.as_ref().or(head.as_ref()));
        baseline.changes = match (old, new) {
            (old, new) if old == new => Vec::new(),
            (Some(old), Some(new)) => match repo.diff_commits(old, new) {
                Ok(changes) => changes,
                Err(error) => {
                    untrusted(&format!("the recorded commit cannot be compared with `HEAD` ({error})"));
                    return baseline;
                }
            },
            _ => {
                untrusted("the record and `HEAD` disagree about an unborn branch");
                return baseline;
            }
        };
        // A hook that found the lock busy after this record was made may
        // have brought the caches to a state no record names: what was
        // deleted since that state is swept too (sweeping a folder whose
        // sources are all there removes nothing).
        baseline.handled = record::load_handled(repo.git_dir());
        if let Some(note) = &baseline.handled
            && note.began > found.since
            && let Some(seen) = note.state.clone()
            && let Some(now) = baseline.tree.clone().or_else(|| head.clone())
            && seen != now
            && let Ok(since_seen) = repo.diff_commits(&seen, &now)
        {
            let known: std::collections::HashSet<BString> =
                baseline.changes.iter().map(|change| change.path.clone()).collect();
            baseline.changes.extend(
                since_seen
                    .into_iter()
                    .filter(|change| change.kind == ChangeKind::Deleted && !known.contains(&change.path)),
            );
        }
        baseline.since = Some(found.since);
        baseline.index = found.index;
        // What was compiled outside any tree and has left the index since
        // (`merge --abort`, a reset that drops staged files) is deleted, for
        // the sweep. What is still there stays on the list while the index
        // describes no tree; once it does, the tree diffs see those files.
        if !found.outside.is_empty() {
            let tracked: std::collections::HashSet<&[u8]> =
                index.entries().map(|entry| entry.path.as_bytes()).collect();
            for source in found.outside {
                if tracked.contains(source.as_slice()) {
                    if baseline.tree.is_none() {
                        baseline.outside.push(source);
                    }
                } else {
                    baseline.changes.push(crate::git::Change { path: source, kind: ChangeKind::Deleted });
                }
            }
        }
        if let Ok(workdir) = repo.workdir()
            && !found.racy.is_empty()
        {
            let roots = crate::safe_fs::Roots::new(
                workdir,
                &super::cache_location().unwrap_or(crate::artifact::CacheLocation::Pycache),
            )
            .staging_in(repo.git_dir(), &rebuild::staging_dir(repo.git_dir()));
            let tracked = crate::clean::tracked_bytecode(index, workdir);
            let is_tracked = |cache: &Path| tracked.contains(cache);
            for racy in found.racy {
                let source = crate::paths::in_workdir(workdir, &racy.source);
                match crate::pyc::settle_racy(&roots, &racy.cache, &source, now.div_euclid(1_000_000_000), &is_tracked)
                {
                    Ok(crate::pyc::Settled::StillRacy) => baseline.racy.push(racy),
                    Ok(_) => {}
                    // Left checked-hash, which cannot lie; the next run tries again.
                    Err(_) => baseline.racy.push(racy),
                }
            }
        }
        baseline
    }

    /// The racy caches, for the plan's choice of mode.
    fn racy_caches(&self) -> std::collections::BTreeSet<PathBuf> {
        self.racy.iter().map(|racy| racy.cache.clone()).collect()
    }

    /// True when nothing the record knows of moved: no source changed in
    /// git, and no racy cache waits.
    fn is_quiet(&self) -> bool {
        self.racy.is_empty() && !self.changes.iter().any(|change| rebuild::is_source(&change.path))
    }

    /// Notes the sources this run compiles that no tree diff will show
    /// deleted: while the index describes no tree (a conflicted merge, files
    /// only staged), those `HEAD` lacks. When `HEAD` cannot be read, all.
    fn note_outside(&mut self, repo: &Repo, compiled: &std::collections::BTreeSet<BString>) {
        if self.tree.is_some() || compiled.is_empty() {
            return;
        }
        let paths: Vec<&[u8]> = compiled.iter().map(|path| path.as_slice()).collect();
        let in_head = repo.head_blobs(&paths).ok().flatten();
        for path in compiled {
            let outside = in_head.as_ref().is_none_or(|found| !found.contains_key(path.as_slice()));
            if outside && !self.outside.contains(path) {
                self.outside.push(path.clone());
            }
        }
    }

    /// What a busy hook that started at `began` and reconciled from this
    /// record to the index it read leaves for the next ([`record::Handled`]);
    /// `None` without a trusted record.
    fn handled(&self, began: i64) -> Option<record::Handled> {
        Some(record::Handled {
            since: self.since?,
            record_index: self.index.clone(),
            index: self.read_index.clone(),
            state: self.tree.clone().or_else(|| self.head.clone()),
            began,
        })
    }

    /// Writes the record for `head` as of `began`. Failing to write it only
    /// makes the next run do more.
    fn store(&self, repo: &Repo, began: i64, mut racy: Vec<record::RacyCache>) {
        racy.extend(self.racy.iter().cloned());
        racy.sort_by(|a, b| a.cache.cmp(&b.cache));
        racy.dedup_by(|a, b| a.cache == b.cache);
        let record = record::Record {
            head: self.head.clone(),
            tree: self.tree.clone(),
            since: began,
            index: Some(self.read_index.clone()),
            racy,
            outside: self.outside.clone(),
        };
        let _ = record::store(repo.git_dir(), &record);
    }
}

/// What a run found before gathering its targets.
struct Found<'b> {
    /// Another rebuild holds the lock.
    busy: bool,
    /// The index, when a reconcile read it already.
    index: Option<Index>,
    /// The record, resolved.
    baseline: Option<&'b mut Baseline>,
}

/// The targets, or `None` when there is nothing to do. What git changed comes
/// first: most hooks stop there, having read no configuration.
fn gather(
    context: &Context,
    repo: &Repo,
    workdir: &Path,
    what: &What,
    options: &Options,
    found: Found<'_>,
) -> Result<Option<Work>> {
    let Found { busy, index, baseline } = found;
    if baseline.is_none() && matches!(what, What::Span(Span::Nothing)) {
        return Ok(None);
    }
    // With a trusted record the event is not needed: the record covers it.
    let has_record = baseline.as_ref().is_some_and(|baseline| baseline.since.is_some());
    let scope = match (has_record, what) {
        // A new work tree (clone, `git worktree add`): everything, record or not.
        (_, What::Span(Span::AllTracked)) => Some(Scope::AllTracked),
        (true, _) | (false, What::Paths(_)) => None,
        (false, What::Span(span)) => Some(changes::scope_of(repo, span)?),
    };
    // A rebuild that was killed half way left its targets behind; finish them now.
    let pending = if options.dry_run { None } else { state::Journal::pending(repo.git_dir()) };
    if let Some(Scope::Changes(changes)) = &scope
        && !changes.iter().any(|change| rebuild::is_source(&change.path))
        && pending.is_none()
        && baseline.is_none()
    {
        return Ok(None);
    }
    // The one index scan a quiet hook makes: did git write a source since the record?
    // Only hooks stop here: `rebuild` typed by hand goes on to its stale scan,
    // which is what catches a file git rewrote outside its index (`stash pop`
    // under a hook manager, which installs no `post-index-change`).
    let index = match index {
        Some(index) => index,
        None => Index::load(&repo.index_location())?,
    };
    let trusted = baseline.as_deref().and_then(|baseline| baseline.since.map(|since| (baseline, since)));
    // `--all` (and a new work tree) compiles everything, whatever the record says.
    let reconciling_hook = options.hook && !options_name_paths(what) && !matches!(what, What::Span(Span::AllTracked));
    // The index is the very file the record was made from, so git wrote no
    // tracked file since (the second and third hook of one checkout, after
    // `post-index-change` did the work). Only what the trees' diff deleted is
    // left, and the journal's work, which the rebuild holding the lock (or
    // one queued behind it) does.
    let index_unchanged = reconciling_hook
        && (pending.is_none() || busy)
        && trusted.is_some_and(|(baseline, _)| baseline.index.as_deref() == Some(index.identity()));
    if index_unchanged {
        context.printer.verbose("the index is the very file the record was made from: only deletions are left");
    }
    // The lock is busy, so the hook before this one (of the same git command)
    // could not move the record on; its note says it did this very reconcile.
    if reconciling_hook
        && busy
        && !index_unchanged
        && pending.is_some()
        && let Some((baseline, since)) = trusted
        && baseline.handled.as_ref().is_some_and(|note| note.covers(since, baseline.index.as_deref(), index.identity()))
    {
        context.printer.verbose(
            "a hook found the rebuild lock busy and reconciled this very index from this very record: nothing is left",
        );
        return Ok(None);
    }
    if let Some((baseline, since)) = trusted
        && reconciling_hook
        && if index_unchanged {
            !baseline
                .changes
                .iter()
                .any(|change| rebuild::is_source(&change.path) && change.kind == ChangeKind::Deleted)
        } else {
            baseline.is_quiet() && pending.is_none() && !written_since(&index, since)
        }
    {
        return Ok(None);
    }
    let config = match ProjectConfig::load(workdir) {
        Ok(config) => config,
        Err(error) if options.hook => {
            context
                .printer
                .warning(format!("{}; using the defaults", crate::display::sanitize_text(&error.to_string())));
            ProjectConfig::default()
        }
        Err(error) => return Err(error.into()),
    };
    let mut settings = settings_for(repo, workdir, &config, options)?;
    settings.store = super::store_for(context, repo);
    let mut listing = rebuild::CacheListing::new(workdir, &settings.location);
    let mut targets = match (what, &scope) {
        (What::Span(_), Some(scope)) => rebuild::targets(scope, &index, &settings, &mut listing),
        (What::Span(_), None) => rebuild::Targets::default(),
        _ => path_targets(context, workdir, &index, paths_of(what))?,
    };
    match trusted {
        Some((baseline, since)) => {
            let written = match (index_unchanged, options.plain_commit) {
                (true, _) => rebuild::Written::Nothing,
                (false, true) => rebuild::Written::ByTheUser,
                (false, false) => rebuild::Written::ByGit,
            };
            rebuild::reconcile_targets(&baseline.changes, &index, since, written, &settings, &mut listing, &mut targets)
        }
        // No record to trust: the event's diff, plus the stale scan.
        None if options.reconcile && !matches!(scope, Some(Scope::StaleScan)) => {
            let sources: Vec<BString> = rebuild::tracked_sources(&index).collect();
            targets.compile.extend(rebuild::stale_sources(&sources, &settings, &mut listing));
        }
        None => {}
    }
    // `rebuild` without arguments also scans, whatever the record says.
    if trusted.is_some() && !options.hook && matches!(what, What::Span(Span::StaleScan)) {
        let sources: Vec<BString> = rebuild::tracked_sources(&index).collect();
        targets.compile.extend(rebuild::stale_sources(&sources, &settings, &mut listing));
    }
    if let Some((compile, sweep)) = pending.filter(|_| !index_unchanged) {
        let safe = |path: &Vec<u8>| crate::paths::is_safe_path(path);
        // A source the journal lists that has left the index since: the
        // compile of it may have been killed after making its cache folder.
        for source in compile.iter().filter(|path| safe(path) && !index.contains(path)) {
            let folder = source.rfind_byte(b'/').map_or(&source[..0], |slash| &source[..slash]);
            targets.sweep.insert(BString::from(folder));
        }
        targets.compile.extend(compile.into_iter().filter(safe).map(BString::from));
        targets.sweep.extend(sweep.into_iter().filter(|path| path.is_empty() || safe(path)).map(BString::from));
    }
    let empty = targets.compile.is_empty() && targets.sweep.is_empty();
    Ok((!empty).then_some(Work { config, settings, index, targets, listing }))
}

fn options_name_paths(what: &What) -> bool {
    matches!(what, What::Paths(_))
}

/// True when the index holds a tracked source git wrote or refreshed since
/// `since` (a second early: see [`rebuild::reconcile_targets`]).
/// Did git write a source since the record, or a symbolic link (a source may
/// resolve through it: see [`rebuild::reconcile_targets`])?
fn written_since(index: &Index, since: i64) -> bool {
    index.entries().any(|entry| {
        entry.stage == 0
            && entry.changed + 1_000_000_000 >= since
            && (rebuild::is_source(entry.path) || entry.mode == rebuild::SYMLINK_MODE)
    })
}

fn paths_of(what: &What) -> &[PathBuf] {
    match what {
        What::Paths(paths) => paths,
        What::Span(_) => &[],
    }
}

/// The tracked sources under the given paths, and their folders to sweep.
fn path_targets(context: &Context, workdir: &Path, index: &Index, paths: &[PathBuf]) -> Result<Targets> {
    let prefixes = super::repo_paths(context, workdir, paths)?;
    let mut targets = Targets::default();
    for source in rebuild::tracked_sources(index) {
        if prefixes.iter().any(|prefix| crate::paths::is_within(&source, prefix)) {
            let folder = source.rfind_byte(b'/').map(|slash| BString::from(&source[..slash])).unwrap_or_default();
            targets.sweep.insert(folder);
            targets.compile.insert(source);
        }
    }
    Ok(targets)
}

/// Starts the same rebuild detached, with every input explicit: commit ids
/// rather than `ORIG_HEAD`, which may move before the child runs. A lock
/// this run holds is handed to the child ([`state::Lock::hand_over`]);
/// without one the child waits for it.
fn detach(
    context: &Context,
    repo: &Repo,
    workdir: &Path,
    what: &What,
    options: &Options,
    lock: Option<state::Lock>,
) -> Result<()> {
    let mut args: Vec<std::ffi::OsString> = vec!["rebuild".into(), "--hook".into()];
    match what {
        What::Span(Span::Commits { old, new }) => {
            args.extend(["--since".into(), old.into(), "--until".into(), new.into()])
        }
        What::Span(Span::Staged) => args.push("--staged".into()),
        What::Span(Span::AllTracked) => args.push("--all".into()),
        What::Span(Span::StaleScan | Span::Nothing) => {}
        What::Paths(paths) => {
            args.push("--".into());
            args.extend(paths.iter().map(|path| context.cwd.join(path).into_os_string()));
        }
    }
    let mut flags: Vec<String> = Vec::new();
    for python in &options.python {
        flags.extend(["--python".into(), python.clone()]);
    }
    for level in &options.optimize {
        flags.extend(["--optimize".into(), level.to_string()]);
    }
    flags.extend(["--timeout".into(), options.timeout.as_secs().to_string()]);
    // Options go before a `--` that ends them.
    let split = args.iter().position(|arg| arg == "--").unwrap_or(args.len());
    args.splice(split..split, flags.into_iter().map(Into::into));
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command.arg("-C").arg(workdir).args(&args).env(crate::env::BACKGROUND_CHILD, &options.label);
    command.env_remove(state::LOCK_FD_VARIABLE).env_remove(state::TICKET_FD_VARIABLE);
    // It starts in the work tree (`-C`): git's variables that name folders,
    // which git reads from the folder it started in, are handed on absolute.
    for (variable, set, absolute) in [
        ("GIT_DIR", crate::env::git_dir().is_some(), repo.git_dir().to_path_buf()),
        ("GIT_WORK_TREE", crate::env::git_work_tree().is_some(), workdir.to_path_buf()),
        ("GIT_INDEX_FILE", crate::env::git_index_file().is_some(), repo.index_path()),
    ] {
        if set {
            command.env(variable, std::path::absolute(&absolute).unwrap_or(absolute));
        }
    }
    if let Some(lock) = &lock {
        command.env(state::LOCK_FD_VARIABLE, lock.hand_over()?.to_string());
    }
    // Its ticket in the queue that `wait` waits for; this process's copy closes on return.
    let ticket = state::Ticket::take(repo.git_dir()).ok().flatten();
    if let Some(ticket) = &ticket {
        command.env(state::TICKET_FD_VARIABLE, ticket.hand_over()?.to_string());
    }
    if options.plain_commit {
        command.env(crate::env::PLAIN_COMMIT, "1");
    }
    // Its warnings (a syntax error, a missing interpreter) wait in the
    // repository folder for `pycache-guard wait` to show them.
    let stderr = state::background_warnings(repo.git_dir())
        .map_or_else(|_| std::process::Stdio::null(), std::process::Stdio::from);
    command.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(stderr);
    // Its own process group: Ctrl-C at the terminal does not reach it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let spawned = command.spawn();
    // Our copy of the descriptor goes either way; the lock stays with a started child.
    if let Some(lock) = lock {
        if spawned.is_ok() { lock.release_to_child() } else { drop(lock) }
    }
    spawned.map_err(|error| {
        anyhow::anyhow!(
            "cannot start the background rebuild in `{}` ({error}); `pycache-guard wait` finishes it",
            repo.git_dir().display()
        )
    })?;
    context.printer.verbose("compiling in the background; see `.git/pycache-guard/rebuild.log`");
    Ok(())
}

fn settings_for(repo: &Repo, workdir: &Path, config: &ProjectConfig, options: &Options) -> Result<Settings> {
    let optimize = if options.optimize.is_empty() { &config.optimize } else { &options.optimize };
    let mut settings = Settings::new(workdir.to_path_buf(), super::cache_location()?, optimize);
    settings.mode = options.mode;
    // A hook honours PYTHONDONTWRITEBYTECODE: it only removes what would lie.
    settings.compile = !(options.hook && crate::env::dont_write_bytecode());
    settings.exclude = super::exclude_globs(&config.exclude)?;
    if let Some(jobs) = options.jobs {
        settings.jobs = jobs;
    }
    settings.timeout = options.timeout;
    settings.git_dir = Some(repo.git_dir().to_path_buf());
    Ok(settings)
}

/// Finds the interpreters when there is something to compile; warns once for each that fails.
fn choose_interpreters(
    context: &Context,
    repo: &Repo,
    config: &ProjectConfig,
    options: &Options,
    index: &Index,
    targets: &Targets,
    settings: &mut Settings,
) -> Result<()> {
    if targets.compile.is_empty() || !settings.compile {
        return Ok(());
    }
    if !options.hook && crate::env::dont_write_bytecode() {
        context.printer.warning("PYTHONDONTWRITEBYTECODE is set, but an explicit rebuild compiles anyway");
    }
    let (found, errors) = super::find_interpreters(context, repo, config, &options.python, index);
    if !options.hook {
        super::refuse_named_interpreters(context, &errors)?;
    }
    let count = targets.compile.len();
    let sources = crate::display::count(count, "changed source was", "changed sources were");
    if found.is_empty() {
        // One warning, whatever went wrong: hooks must stay quiet.
        let why: Vec<String> = errors.iter().map(super::shown).collect();
        context.printer.warning(format!(
            "no Python interpreter to compile with ({}); {sources} not compiled, and caches that would lie were removed",
            why.join("; ")
        ));
    } else {
        for error in &errors {
            context.printer.warning(format!("{}; compiling without it", super::shown(error)));
        }
    }
    settings.interpreters = found;
    Ok(())
}

/// `-v`: the changed set and why it is that set.
fn describe_selection(what: &What) -> String {
    match what {
        What::Paths(paths) => format!(
            "the tracked sources under the {} named on the command line",
            if paths.len() == 1 { "path".to_string() } else { format!("{} paths", paths.len()) }
        ),
        What::Span(Span::AllTracked) => "every tracked source (`--all`, or a new work tree)".into(),
        What::Span(Span::StaleScan) => {
            "tracked sources whose caches no longer match (a stat and a 16-byte header each), as no revision or path was named or the event named none".into()
        }
        What::Span(Span::Commits { old, new }) => {
            format!("the files git changed between {} and {}", short(old), short(new))
        }
        What::Span(Span::Staged) => "the files the index changes against `HEAD` (a squash merge)".into(),
        What::Span(Span::Nothing) => "nothing: the event moved no file".into(),
    }
}

/// A commit id as people read it.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// `-v`: how many files the plan compiles and removes, and what it leaves alone and why.
fn explain_plan(context: &Context, style: &PathStyle, targets: &Targets, plan: &Plan, settings: &Settings) {
    if context.printer.verbosity() < Verbosity::Verbose {
        return;
    }
    let tags: Vec<&str> = settings.interpreters.iter().map(|interpreter| interpreter.info.cache_tag.as_str()).collect();
    let sources: std::collections::BTreeSet<&BString> = plan.jobs.iter().map(|job| &job.source).collect();
    context.printer.verbose(format!(
        "{} selected, {} to compile ({} cache {} for {}), {} folder{} to sweep, {} cache{} to remove",
        if targets.compile.len() == 1 { "1 source".to_string() } else { format!("{} sources", targets.compile.len()) },
        sources.len(),
        plan.jobs.len(),
        if plan.jobs.len() == 1 { "file" } else { "files" },
        if tags.is_empty() { "no interpreter".to_string() } else { tags.join(", ") },
        targets.sweep.len(),
        if targets.sweep.len() == 1 { "" } else { "s" },
        plan.removals.len(),
        if plan.removals.len() == 1 { "" } else { "s" },
    ));
    for (path, skip) in &plan.skipped {
        context.printer.verbose(format!("skipped {}: {}", style.show_absolute(path), skip.describe()));
    }
}

fn print_plan(context: &Context, style: &PathStyle, plan: &Plan, settings: &Settings) {
    for removal in &plan.removals {
        context.printer.data(format!("remove {} ({})", style.show_absolute(&removal.path), removal.reason.word()));
    }
    for job in &plan.jobs {
        let tag = &settings.interpreters[job.interpreter].info.cache_tag;
        let level = match &job.task.op {
            crate::compile::Op::Compile { optimize, .. } if *optimize > 0 => format!(", opt-{optimize}"),
            _ => String::new(),
        };
        context.printer.data(format!("compile {} ({tag}{level})", style.show(&job.source)));
    }
    for (path, reason) in &plan.refused {
        context.printer.warning(format!("{}: {}", style.show_absolute(path), crate::display::sanitize_text(reason)));
    }
}

/// Runs the plan with a progress bar when stderr is a terminal.
fn run_plan(context: &Context, plan: Plan, settings: &Settings) -> Report {
    let total = plan.jobs.len() as u64;
    let show_progress =
        total >= 20 && context.printer.verbosity() >= Verbosity::Normal && std::io::stderr().is_terminal();
    let bar = if show_progress { indicatif::ProgressBar::new(total) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} compiling [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let report = rebuild::execute(plan, settings, &|| bar.inc(1));
    bar.finish_and_clear();
    report
}

fn show_report(
    context: &Context,
    style: &PathStyle,
    report: &Report,
    options: &Options,
    summary_wanted: bool,
    elapsed: Duration,
) -> ExitStatus {
    // The label follows the exit status: a hook exits 0 whatever happened, so
    // there these are warnings; a command exits 1 or 2 for them, so errors.
    let report_line = |message: String| {
        if options.hook { context.printer.warning(message) } else { context.printer.error(message) }
    };
    for problem in &report.syntax {
        report_line(format!(
            "{}:{}:{}: {} ({})",
            style.show(&problem.source),
            problem.line,
            problem.column,
            crate::display::sanitize_text(&problem.message),
            problem.tags.join(", ")
        ));
    }
    for (path, message) in report.failures.iter().chain(&report.removed.errors) {
        report_line(format!("{}: {}", style.show_absolute(path), crate::display::sanitize_text(message)));
    }
    let did_something = report.compiled > 0 || !report.removed.files.is_empty();
    if did_something && summary_wanted {
        context.printer.info(summary(report, elapsed));
    }
    if options.hook {
        ExitStatus::Success
    } else if !report.failures.is_empty() || !report.removed.errors.is_empty() {
        ExitStatus::Failure
    } else {
        ExitStatus::findings_if(!report.syntax.is_empty())
    }
}

/// `compiled 412 files, removed 9 in 1.3s`.
fn summary(report: &Report, elapsed: Duration) -> String {
    let files = |count: usize| crate::display::count(count, "file", "files");
    let mut text = format!("compiled {}", files(report.compiled));
    if report.restored > 0 {
        text.push_str(&format!(" ({} from the store)", report.restored));
    }
    text.push_str(&format!(", removed {}", files(report.removed.files.len())));
    if !report.removed.dirs.is_empty() {
        text.push_str(&format!(
            " and {} empty {}",
            report.removed.dirs.len(),
            crate::display::plural(report.removed.dirs.len(), "folder", "folders")
        ));
    }
    text.push_str(&format!(" in {:.1}s", elapsed.as_secs_f64()));
    text
}

fn log_lines(report: &Report, options: &Options, elapsed: Duration) -> Vec<String> {
    let mut lines = vec![format!("{}: {}", options.label, summary(report, elapsed))];
    for problem in &report.syntax {
        let message = crate::display::sanitize_text(&problem.message);
        lines.push(format!("  syntax error: {}:{}: {message}", problem.source.to_str_lossy(), problem.line));
    }
    for (path, message) in report.failures.iter().chain(&report.removed.errors) {
        lines.push(format!("  failed: {}: {}", path.display(), crate::display::sanitize_text(message)));
    }
    lines
}
