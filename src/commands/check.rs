//! `pycache-guard check`: the hygiene report, in human, JSON or GitHub form.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use bstr::{BString, ByteSlice};
use serde::Serialize;

use crate::artifact::CacheLocation;
use crate::check::{self, Finding, FindingId, Severity, Stats};
use crate::cli::{CheckArgs, Format};
use crate::config::{AllowList, ProjectConfig};
use crate::display::PathStyle;
use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::index::Index;
use crate::interpreter::Interpreter;
use crate::output::{Tone, Verbosity, paint};

use super::{Context, Refusal};

/// Version of the JSON document; bumped when a field changes meaning.
/// 2: `stats.by_folder` is keyed by the package folder at any depth, and
/// `stats.by_tag` counts pytest's rewritten caches under `pytest`.
pub const JSON_VERSION: u32 = 2;

/// Everything one pass found.
#[derive(Default)]
struct Gathered {
    findings: Vec<Finding>,
    stats: Stats,
    stale_sources: Vec<(BString, u8)>,
    failures: Vec<(PathBuf, String)>,
    /// Sources the syntax check did not read, and why.
    skipped: Vec<(PathBuf, String)>,
    files_checked: usize,
    /// With `--stats`: what the store of compiled code holds.
    store: Option<StoreStats>,
    /// How the syntax check used the verdict cache, when it ran.
    verdicts: Option<VerdictReport>,
    /// What `-v` says about the caches remembered as current.
    fresh: Vec<String>,
}

/// The store's line of `--stats`.
#[derive(Clone, Copy, Serialize)]
struct StoreStats {
    entries: u64,
    bytes: u64,
    /// The size limit, 0 when the store is off.
    limit: u64,
}

fn store_line(context: &Context, repo: &Repo) -> StoreStats {
    match super::store_for(context, repo) {
        Some(store) => {
            let usage = store.usage();
            StoreStats { entries: usage.entries, bytes: usage.bytes, limit: store.limit() }
        }
        None => StoreStats { entries: 0, bytes: 0, limit: 0 },
    }
}

/// What `-v` says about the verdict cache.
struct VerdictReport {
    cost: check::SyntaxCost,
    found: crate::verdict::Found,
    /// Whether the cache was rewritten, or why it could not be.
    saved: std::io::Result<bool>,
}

impl VerdictReport {
    fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let crate::verdict::Found::Discarded(why) = &self.found {
            lines.push(format!("verdict cache discarded: {why}"));
        }
        let cost = self.cost;
        lines.push(format!(
            "verdicts: {} reused unread, {} reused by content, {} parsed",
            cost.by_stamp, cost.by_content, cost.parsed
        ));
        match &self.saved {
            Ok(true) => lines.push("verdict cache written".into()),
            Ok(false) => {}
            Err(error) => lines.push(format!("verdict cache not written: {error}")),
        }
        lines
    }
}

/// What the run is about.
struct Scope<'a> {
    repo: &'a Repo,
    workdir: PathBuf,
    index: Index,
    allow: AllowList,
    location: CacheLocation,
    /// Repository-relative prefixes from PATHS (empty: everything).
    prefixes: Vec<BString>,
    selected: BTreeSet<FindingId>,
    interpreters: Vec<Interpreter>,
    /// `--stats` needs the walk even when no disk finding is selected.
    stats: bool,
    /// Sources the configuration excludes: never compiled, so never syntax-checked.
    exclude: globset::GlobSet,
}

impl Scope<'_> {
    fn within(&self, path: &[u8]) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|prefix| crate::paths::is_within(path, prefix))
    }

    fn wants(&self, id: FindingId) -> bool {
        self.selected.contains(&id)
    }
}

/// The ids to report. The command line overrides the configuration: a
/// `--select` replaces the configured `select` and drops the configured
/// `ignore` with it (what was asked for by name is reported), and an
/// `--ignore` replaces the configured `ignore`.
fn selection(args: &CheckArgs, config: &ProjectConfig) -> BTreeSet<FindingId> {
    let (select, configured_ignore) =
        if args.select.is_empty() { (&config.select, &config.ignore) } else { (&args.select, &Vec::new()) };
    let ignore = if args.ignore.is_empty() { configured_ignore } else { &args.ignore };
    FindingId::selected(select, ignore)
}

/// Runs the checks, applies `--fix`, and prints the report.
pub fn run(context: &Context, args: &CheckArgs) -> Result<ExitStatus> {
    if args.stats && args.format == Format::Github {
        return Err(Refusal::new(
            "`--stats` is a table, and GitHub annotations have no place for one",
            "use `--format json`, whose `stats` field holds the footprint, or run `check --stats` apart",
        )
        .into());
    }
    let repo = Repo::discover()?;
    let workdir = repo.workdir()?.to_path_buf();
    let config = ProjectConfig::load(&workdir)?;
    let mut selected = selection(args, &config);
    if args.no_syntax {
        selected.remove(&FindingId::SyntaxError);
    }
    let skipped: Vec<&str> =
        FindingId::ALL.into_iter().filter(|id| !selected.contains(id)).map(FindingId::as_str).collect();
    if !skipped.is_empty() {
        let configured = !config.select.is_empty() || !config.ignore.is_empty();
        let why = if !args.select.is_empty() {
            "not in `--select`"
        } else if !args.ignore.is_empty() || configured {
            "left out by `select` and `ignore`"
        } else {
            "`--no-syntax`"
        };
        context.printer.verbose(format!("skipping the checks {} ({why})", skipped.join(", ")));
    }
    let prefixes = super::repo_paths(context, &workdir, &args.paths)?;
    let _lock = if args.fix { Some(crate::state::Lock::acquire(repo.git_dir())?) } else { None };
    let index = Index::load(&repo.index_location())?;
    let mut scope = Scope {
        repo: &repo,
        workdir,
        allow: AllowList::new(&config.allow, &[])?,
        location: super::cache_location()?,
        prefixes,
        selected,
        interpreters: Vec::new(),
        stats: args.stats,
        exclude: super::exclude_globs(&config.exclude)?,
        index,
    };
    if scope.wants(FindingId::SyntaxError) || scope.wants(FindingId::StaleBytecode) || args.fix {
        let (found, errors) = super::find_interpreters(context, &repo, &config, &args.python, &scope.index);
        super::refuse_named_interpreters(context, &errors)?;
        for error in errors {
            context.printer.warning(format!("{}; checking without it", super::shown(&error)));
        }
        scope.interpreters = found;
    }
    let mut gathered = gather(&scope, true)?;
    if args.fix {
        let syntax: Vec<Finding> =
            gathered.findings.iter().filter(|f| f.id == FindingId::SyntaxError).cloned().collect();
        apply_fixes(context, &scope, &gathered)?;
        let files_checked = gathered.files_checked;
        let skipped = std::mem::take(&mut gathered.skipped);
        let verdicts = gathered.verdicts.take();
        gathered = gather(&scope, false)?;
        gathered.findings.extend(syntax);
        gathered.files_checked = files_checked;
        gathered.skipped = skipped;
        gathered.verdicts = verdicts;
        sort(&mut gathered.findings);
    }
    let style = context.path_style(&repo)?;
    if args.stats {
        gathered.store = Some(store_line(context, &repo));
    }
    match args.format {
        Format::Human => print_human(context, &style, &gathered, args.stats),
        Format::Json => print_json(context, &scope, &gathered, args.stats)?,
        Format::Github => print_github(context, &scope, &gathered),
    }
    for line in gathered.verdicts.iter().flat_map(VerdictReport::lines).chain(gathered.fresh.iter().cloned()) {
        context.printer.verbose(crate::display::sanitize_text(&line));
    }
    for (path, message) in &gathered.skipped {
        context.printer.warning(format!("{}: {}", style.show_absolute(path), crate::display::sanitize_text(message)));
    }
    for (path, message) in &gathered.failures {
        context.printer.error(format!("{}: {}", style.show_absolute(path), crate::display::sanitize_text(message)));
    }
    Ok(if !gathered.failures.is_empty() {
        ExitStatus::Failure
    } else {
        ExitStatus::findings_if(gathered.findings.iter().any(|f| f.severity == Severity::Error))
    })
}

/// One pass over the repository.
fn gather(scope: &Scope<'_>, syntax: bool) -> Result<Gathered> {
    let mut out = Gathered::default();
    if scope.wants(FindingId::TrackedBytecode) {
        out.findings
            .extend(check::tracked_bytecode(&scope.index, &scope.allow, &scope.workdir, &|path| scope.within(path)));
    }
    // The ignore rules are judged against what git shows. A check of the
    // whole tree learns that from its own walk and asks git only about what
    // it found; a check of some paths (whose walk sees only them) lets git
    // list the files on its own while the disk is walked below.
    let visible = scope.wants(FindingId::GitignoreMissing).then(|| {
        if scope.prefixes.is_empty() {
            Visible::AfterWalk
        } else {
            Visible::Listing(scope.repo.visible_files_started())
        }
    });
    // Where git runs hooks from is git's answer, asked while the disk is walked.
    let hooks = scope.wants(FindingId::HooksMissing).then(|| scope.repo.hooks_facts_started());
    // The syntax check (one `lstat` per tracked source when its verdicts are
    // cached) runs beside the walk for caches: each alone is about half of
    // what `git status` costs on a large tree.
    let syntax_job = (syntax && scope.wants(FindingId::SyntaxError)).then(|| {
        let sources: Vec<BString> = crate::rebuild::tracked_sources(&scope.index)
            .filter(|source| scope.within(source) && !scope.exclude.is_match(source.to_path_lossy()))
            .collect();
        let context = crate::verdict::context(check::syntax_target(&scope.interpreters), &scope.interpreters);
        (sources, context, scope.repo.git_dir().to_path_buf())
    });
    let (workdir, interpreters) = (&scope.workdir, &scope.interpreters);
    let disk_ids = [FindingId::ShadowingBytecode, FindingId::OrphanBytecode, FindingId::StaleBytecode];
    let (syntax_done, walked) = std::thread::scope(|threads| {
        let syntax = syntax_job.map(|(sources, context, git_dir)| {
            threads.spawn(move || {
                let cache = crate::verdict::Cache::load(&git_dir, context);
                let learned = crate::verdict::Learned::default();
                let settings = (threads_available(), std::time::Duration::from_secs(60));
                let run = check::check_syntax(workdir, &sources, interpreters, settings, Some(&cache), &learned);
                let saved = cache.save(&git_dir, learned);
                let report = VerdictReport { cost: run.cost, found: cache.found.clone(), saved };
                (run, report)
            })
        });
        let judge = disk_ids.into_iter().any(|id| scope.wants(id)) || scope.stats;
        let walked =
            (judge || matches!(visible, Some(Visible::AfterWalk))).then(|| gather_disk(scope, judge, &mut out));
        (syntax.map(|syntax| syntax.join()), walked)
    });
    if let Some(done) = syntax_done {
        let (run, report) = done.map_err(|_| anyhow::anyhow!("the syntax check stopped on an internal error"))?;
        out.verdicts = Some(report);
        out.files_checked = run.checked;
        out.findings.extend(run.findings);
        out.failures.extend(run.failures);
        out.skipped.extend(run.skipped);
    }
    let visible = match (visible, walked) {
        (Some(Visible::Listing(listing)), _) => Some(listing.wait()?),
        (Some(Visible::AfterWalk), Some(inventory)) => Some(visible_after_walk(scope, inventory)?),
        (Some(Visible::AfterWalk), None) | (None, _) => None,
    };
    if let Some(visible) = visible {
        out.findings.extend(gitignore_findings(scope, visible)?);
    }
    if let Some(hooks) = hooks {
        let facts = hooks.wait().map_err(anyhow::Error::from);
        match facts.and_then(|facts| super::install::hooks_dir_of(facts, &scope.workdir)) {
            Ok(hooks) => out.findings.extend(check::hooks_missing(&scope.workdir, &hooks)),
            // A `core.hooksPath` git runs no hook from: whatever is installed, none runs.
            Err(error) => {
                if let Some(refusal) = error.downcast_ref::<Refusal>() {
                    out.findings.push(Finding {
                        id: FindingId::HooksMissing,
                        severity: Severity::Info,
                        path: None,
                        line: None,
                        column: None,
                        message: format!("no pycache-guard hook runs: {}", refusal.message),
                        hint: refusal.hint.clone(),
                    });
                }
            }
        }
    }
    sort(&mut out.findings);
    Ok(out)
}

/// Where the files git shows come from, for the ignore-rule check.
enum Visible {
    /// `git ls-files`, running while the disk is walked.
    Listing(crate::git::PendingFiles),
    /// The walk for caches, and git's verdict on what it found.
    AfterWalk,
}

/// The most folder names git's listing of what the walk did not enter takes
/// on its command line; more, and git lists the whole tree instead.
const UNENTERED_ARGUMENT_BYTES: usize = 64 * 1024;

/// The files git shows that the ignore-rule check reads, from what the walk met.
fn visible_after_walk(scope: &Scope<'_>, inventory: check::Inventory) -> Result<Vec<Vec<u8>>> {
    let relative = |path: &Path| -> Option<Vec<u8>> {
        path.strip_prefix(&scope.workdir).ok().map(|relative| relative.as_os_str().as_bytes().to_vec())
    };
    let unentered: Vec<Vec<u8>> = inventory.unentered.iter().filter_map(|path| relative(path)).collect();
    // git's own listing where the walk's view is not git's: names compared
    // without case (`.GIT` is git's folder then, `A.pyc` tracks `a.pyc`), or
    // more folders than a command line holds.
    let listing_needed = scope.repo.config_bool("core.ignoreCase") == Some(true)
        || unentered.iter().map(|folder| folder.len() + 1).sum::<usize>() > UNENTERED_ARGUMENT_BYTES;
    if listing_needed {
        return Ok(scope.repo.visible_files()?);
    }
    // git lists regular files and links, never a FIFO, a socket or a device.
    let listable = |path: &PathBuf| {
        fs_err::symlink_metadata(path).is_ok_and(|meta| meta.is_file() || meta.file_type().is_symlink())
    };
    let mut found: Vec<Vec<u8>> = Vec::new();
    for (source_dir, entries) in &inventory.pycache {
        let dir = source_dir.join(crate::artifact::PYCACHE);
        // A repository named `__pycache__` shows as that folder, with a slash, as any nested repository.
        if entries.iter().any(|entry| entry.is_dir && entry.name == ".git")
            && let Some(mut folder) = relative(&dir)
        {
            folder.push(b'/');
            found.push(folder);
            continue;
        }
        let files = entries.iter().filter(|entry| entry.is_file || entry.is_link);
        found.extend(files.filter_map(|entry| relative(&dir.join(&entry.name))));
    }
    let loose = inventory.legacy.iter().map(|(path, _)| path).chain(&inventory.listed).filter(|path| listable(path));
    found.extend(loose.filter_map(|path| relative(path)));
    Ok(crate::ignore_survey::visible_after_walk(scope.repo, &scope.index, found, unentered)?)
}

/// One finding per missing bytecode rule. Severity follows harm: it is an
/// error only when untracked bytecode that the rule would ignore exists in
/// the work tree and is let through now; otherwise a note naming the rule.
fn gitignore_findings(scope: &Scope<'_>, visible: Vec<Vec<u8>>) -> Result<Vec<Finding>> {
    // Untracked bytecode that git shows: what a missing rule lets through.
    let mut let_through: Vec<Vec<u8>> = visible
        .iter()
        .filter(|path| crate::artifact::is_bytecode_path(path) && !scope.index.contains(path))
        .cloned()
        .collect();
    let_through.sort();
    let survey = crate::ignore_survey::survey_of(scope.repo, visible)?;
    let mut findings = Vec::new();
    for rule in survey.coverage.iter().filter(|rule| rule.missing()) {
        let caught: Vec<&Vec<u8>> = let_through.iter().filter(|path| rule.rule.would_ignore(path)).collect();
        let line = rule.rule.line;
        let finding = if caught.is_empty() {
            Finding {
                id: FindingId::GitignoreMissing,
                severity: Severity::Info,
                path: Some(scope.workdir.join(".gitignore")),
                line: None,
                column: None,
                message: format!("ignore rule `{line}` is not in effect; no bytecode it would ignore exists yet"),
                hint: "add the missing rules with `pycache-guard gitignore`".into(),
            }
        } else {
            let shown: Vec<String> = caught.iter().take(3).map(|path| format!("`{}`", path.to_str_lossy())).collect();
            let more = if caught.len() > 3 { format!(" and {} more", caught.len() - 3) } else { String::new() };
            Finding {
                id: FindingId::GitignoreMissing,
                severity: Severity::Error,
                path: Some(scope.workdir.join(".gitignore")),
                line: None,
                column: None,
                message: format!(
                    "ignore rule `{line}` is missing, so untracked bytecode can be committed: {}{more}",
                    shown.join(", ")
                ),
                hint: "add the missing rules with `pycache-guard gitignore`".into(),
            }
        };
        findings.push(finding);
    }
    Ok(findings)
}

/// Walks the work tree for bytecode and, when `judge`, judges what it
/// finds. Gives back what the walk met, for the ignore-rule check.
fn gather_disk(scope: &Scope<'_>, judge: bool, out: &mut Gathered) -> check::Inventory {
    let began = crate::record::file_clock_nanos();
    let roots: Vec<PathBuf> = if scope.prefixes.is_empty() {
        vec![scope.workdir.clone()]
    } else {
        scope
            .prefixes
            .iter()
            .map(|prefix| crate::paths::in_workdir(&scope.workdir, prefix))
            // Reached from the work tree without a link on the way, as the whole-tree walk reaches it.
            .filter(|path| path.is_dir() && crate::safe_fs::Dir::open_beneath(&scope.workdir, path).is_ok())
            .collect()
    };
    let options = crate::walk::Options { roots, include_venvs: false, threads: threads_available() };
    let mut inventory = check::inventory(&options, &scope.workdir, &scope.location);
    out.failures.append(&mut inventory.errors);
    if judge {
        let tags: Vec<String> =
            scope.interpreters.iter().map(|interpreter| interpreter.info.cache_tag.clone()).collect();
        // What a cache's verdict depends on is all in the files' stamps: an
        // earlier run's verdict is reused for a cache and source that did not change.
        let git_dir = scope.repo.git_dir();
        let fresh = scope.wants(FindingId::StaleBytecode).then(|| crate::freshness::Fresh::load(git_dir, began));
        let staleness = check::Staleness { tags: &tags, fresh: fresh.as_ref() };
        let disk = check::judge_disk(&inventory, &scope.workdir, &scope.index, &staleness);
        if let Some(fresh) = fresh {
            out.fresh.push(fresh.summary());
            if let Err(error) = fresh.save(git_dir, scope.prefixes.is_empty()) {
                out.fresh.push(format!("current caches not remembered: {error}"));
            }
        }
        out.findings.extend(
            disk.findings.into_iter().filter(|finding| scope.wants(finding.id) && finding_within(scope, finding)),
        );
        out.stats = disk.stats;
        if scope.wants(FindingId::StaleBytecode) {
            out.stale_sources = disk.stale_sources;
        }
    }
    inventory
}

fn finding_within(scope: &Scope<'_>, finding: &Finding) -> bool {
    match finding.path.as_ref().and_then(|path| path.strip_prefix(&scope.workdir).ok()) {
        Some(relative) => scope.within(relative.as_os_str().as_bytes()),
        None => true,
    }
}

fn threads_available() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn sort(findings: &mut [Finding]) {
    // Within one id, errors come first: the group is labelled by its first finding.
    findings.sort_by(|a, b| {
        (a.id, a.severity, &a.path, a.line, a.column).cmp(&(b.id, b.severity, &b.path, b.line, b.column))
    });
}

/// `--fix`: ignore rules, untracked orphans and shadowing files, stale caches.
fn apply_fixes(context: &Context, scope: &Scope<'_>, gathered: &Gathered) -> Result<()> {
    let style = context.path_style(scope.repo)?;
    let has = |id: FindingId| gathered.findings.iter().any(|finding| finding.id == id);
    if has(FindingId::GitignoreMissing)
        && let Err(error) = super::gitignore::fix(context, scope.repo)
    {
        // One fix that cannot be applied (a symbolic-link .gitignore, say) does not stop the others.
        let causes = crate::display::sanitize_text(&crate::display::causes(&error));
        context.printer.warning(format!("ignore rules not added: {causes}"));
    }
    let removals = check::removals(&gathered.findings, &scope.workdir, &scope.index);
    if !removals.is_empty() {
        let roots = crate::safe_fs::Roots::new(&scope.workdir, &scope.location);
        let keep = |path: &Path| crate::sweep::is_tracked(&scope.index, &scope.workdir, path);
        let removed = crate::sweep::remove(removals, &roots, &keep);
        context.printer.info(format!("removed {} orphaned or shadowing bytecode files", removed.files.len()));
        for (path, message) in removed.errors {
            let message = crate::display::sanitize_text(&message);
            context.printer.warning(format!("{}: {message}", style.show_absolute(&path)));
        }
    }
    if !gathered.stale_sources.is_empty() {
        rebuild_stale(context, scope, &gathered.stale_sources);
    }
    let tracked: Vec<String> = gathered
        .findings
        .iter()
        .filter(|finding| finding.id == FindingId::TrackedBytecode)
        .filter_map(|finding| finding.path.as_ref())
        .map(|path| style.argument(path.strip_prefix(&scope.workdir).unwrap_or(path).as_os_str().as_bytes()))
        .collect();
    if !tracked.is_empty() {
        context.printer.hint(format!(
            "tracked bytecode is never untracked by `--fix`; untrack it yourself, keeping the files:\n    {}",
            crate::git::untrack_command(&tracked)
        ));
    }
    Ok(())
}

/// Recompiles stale caches at the level each was written at.
fn rebuild_stale(context: &Context, scope: &Scope<'_>, stale: &[(BString, u8)]) {
    if scope.interpreters.is_empty() {
        context.printer.warning("no Python interpreter to rebuild stale caches with");
        return;
    }
    let mut settings = crate::rebuild::Settings::new(scope.workdir.clone(), scope.location.clone(), &[]);
    settings.interpreters = scope.interpreters.clone();
    settings.git_dir = Some(scope.repo.git_dir().to_path_buf());
    let compiled = crate::rebuild::recompile_stale(&mut settings, &scope.index, stale);
    context.printer.info(format!("rebuilt {compiled} stale caches"));
}

fn label(severity: Severity, color: bool) -> String {
    match severity {
        Severity::Error => paint("error", Tone::Error, color),
        Severity::Warning => paint("warning", Tone::Warning, color),
        Severity::Info => paint("info", Tone::Note, color),
    }
}

fn location(style: &PathStyle, finding: &Finding) -> String {
    let mut text = finding.path.as_deref().map(|path| style.show_absolute(path)).unwrap_or_default();
    if finding.path.as_ref().is_some_and(|path| path.is_dir()) {
        text.push('/');
    }
    if let Some(line) = finding.line {
        text.push_str(&format!(":{line}"));
        if let Some(column) = finding.column {
            text.push_str(&format!(":{column}"));
        }
    }
    text
}

/// The word for a severity in counts and in a mixed group.
fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn print_human(context: &Context, style: &PathStyle, gathered: &Gathered, stats: bool) {
    let color = context.printer.stdout_color();
    // `-q` prints only errors: the error-severity findings, with their hints, and no summary.
    let quiet = context.printer.verbosity() == Verbosity::Quiet;
    let shown = |finding: &&Finding| !quiet || finding.severity == Severity::Error;
    let mut lines = Vec::new();
    for id in FindingId::ALL {
        let group: Vec<&Finding> = gathered.findings.iter().filter(|finding| finding.id == id).filter(shown).collect();
        let Some(first) = group.first() else { continue };
        // A group of mixed severities (a missing ignore rule that lets
        // bytecode through, and one that is only a note) says so, and each
        // line below the first names its own.
        let mixed = group.iter().any(|finding| finding.severity != first.severity);
        let mut header = crate::display::count(group.len(), "finding", "findings");
        if mixed {
            let parts: Vec<String> = [Severity::Error, Severity::Warning, Severity::Info]
                .into_iter()
                .filter_map(|severity| {
                    let n = group.iter().filter(|finding| finding.severity == severity).count();
                    (n > 0).then(|| {
                        crate::display::count(n, severity_word(severity), &format!("{}s", severity_word(severity)))
                    })
                })
                .collect();
            header.push_str(&format!(" ({})", parts.join(", ")));
        }
        lines.push(format!("{}[{id}]: {header}", label(first.severity, color)));
        for finding in &group {
            let place = location(style, finding);
            let message = crate::display::sanitize_text(&finding.message);
            let message = if mixed && finding.severity != first.severity {
                format!("{}: {message}", severity_word(finding.severity))
            } else {
                message
            };
            lines.push(if place.is_empty() { format!("  {message}") } else { format!("  {place}: {message}") });
        }
        for hint in group_hints(style, id, &group) {
            lines.push(format!("  {} {hint}", paint("hint:", Tone::Note, color)));
        }
        lines.push(String::new());
    }
    if quiet {
        if !lines.is_empty() {
            context.printer.data(lines.join("\n").trim_end());
        }
        return;
    }
    if stats {
        lines.extend(stats_table(&gathered.stats, color));
        if let Some(store) = gathered.store {
            let limit = if store.limit == 0 {
                "off".to_string()
            } else {
                format!("limit {}", crate::display::human_bytes(store.limit))
            };
            lines.push(format!(
                "{}: {} {}, {} ({limit}; `pycache-guard clean --store` empties it)",
                paint("store of compiled code", Tone::Heading, color),
                store.entries,
                if store.entries == 1 { "entry" } else { "entries" },
                crate::display::human_bytes(store.bytes),
            ));
            lines.push(String::new());
        }
    }
    let count = |severity| gathered.findings.iter().filter(|finding| finding.severity == severity).count();
    let (errors, warnings, infos) = (count(Severity::Error), count(Severity::Warning), count(Severity::Info));
    let plural = |n: usize, word: &str| crate::display::count(n, word, &format!("{word}s"));
    lines.push(format!(
        "{}: {}, {}, {} ({} checked for syntax)",
        if errors > 0 {
            paint("check failed", Tone::Error, color)
        } else {
            paint("check passed", Tone::Success, color)
        },
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(infos, "note"),
        plural(gathered.files_checked, "file"),
    ));
    context.printer.data(lines.join("\n"));
}

/// The hints of a group, once each; tracked files get one command for all of them.
fn group_hints(style: &PathStyle, id: FindingId, group: &[&Finding]) -> Vec<String> {
    if id == FindingId::TrackedBytecode && group.len() > 1 {
        let paths: Vec<String> = group
            .iter()
            .filter_map(|finding| finding.path.as_deref())
            .map(|path| style.argument_absolute(path))
            .collect();
        return vec![format!(
            "untrack them, keeping the files: `{}`; or allow them in `[tool.pycache-guard] allow`",
            crate::git::untrack_command(&paths)
        )];
    }
    let unique: BTreeSet<&str> = group.iter().map(|finding| finding.hint.as_str()).collect();
    unique.into_iter().map(str::to_string).collect()
}

fn stats_table(stats: &Stats, color: bool) -> Vec<String> {
    let mut lines = vec![paint("bytecode footprint", Tone::Heading, color)];
    let width = stats.by_folder.keys().chain(stats.by_tag.keys()).map(|key| key.chars().count()).max().unwrap_or(0);
    let width = width.max(28);
    for (title, table) in [("folder", &stats.by_folder), ("cache tag", &stats.by_tag)] {
        lines.push(format!("  {title:<width$} {:>8} {:>12}", "files", "bytes"));
        for (key, footprint) in table {
            lines.push(format!(
                "  {:<width$} {:>8} {:>12}",
                crate::display::sanitize_text(key),
                footprint.files,
                crate::display::human_bytes(footprint.bytes)
            ));
        }
        if table.is_empty() {
            lines.push("  (no bytecode)".into());
        }
    }
    lines.push(String::new());
    lines
}

/// The JSON document: `version`, `findings`, `summary` and, with `--stats`, `stats`.
#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: Vec<JsonFinding>,
    summary: JsonSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<&'a Stats>,
    /// With `--stats`: the store of compiled code.
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<StoreStats>,
}

#[derive(Serialize)]
struct JsonFinding {
    id: FindingId,
    severity: Severity,
    /// Relative to the work tree with `/` separators; absolute outside it (a prefix tree).
    path: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
    message: String,
    hint: String,
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
    infos: usize,
    files_checked: usize,
    interpreters: Vec<String>,
}

fn report_path(scope: &Scope<'_>, path: &Path) -> String {
    match path.strip_prefix(&scope.workdir) {
        Ok(relative) => relative.as_os_str().as_bytes().to_str_lossy().into_owned(),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

fn print_json(context: &Context, scope: &Scope<'_>, gathered: &Gathered, stats: bool) -> Result<()> {
    let count = |severity| gathered.findings.iter().filter(|finding| finding.severity == severity).count();
    let report = JsonReport {
        version: JSON_VERSION,
        findings: gathered
            .findings
            .iter()
            .map(|finding| JsonFinding {
                id: finding.id,
                severity: finding.severity,
                path: finding.path.as_deref().map(|path| report_path(scope, path)),
                line: finding.line,
                column: finding.column,
                // Escaped as the human report escapes them: a compiler message is the interpreter's text.
                message: crate::display::sanitize_text(&finding.message),
                hint: crate::display::sanitize_text(&finding.hint),
            })
            .collect(),
        summary: JsonSummary {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            files_checked: gathered.files_checked,
            interpreters: scope.interpreters.iter().map(|interpreter| interpreter.info.cache_tag.clone()).collect(),
        },
        stats: stats.then_some(&gathered.stats),
        store: gathered.store.filter(|_| stats),
    };
    context.printer.data(crate::display::json_terminal_safe(&serde_json::to_string_pretty(&report)?));
    Ok(())
}

/// Escapes a workflow command's message (`%`, CR, LF) or property (also `:`
/// and `,`); other control characters are shown escaped, never raw.
fn escape_github(text: &str, property: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut plain = String::new();
    let flush = |plain: &mut String, out: &mut String| {
        out.push_str(&crate::display::sanitize_text(plain));
        plain.clear();
    };
    for c in text.chars() {
        let encoded = match c {
            '%' => "%25",
            '\r' => "%0D",
            '\n' => "%0A",
            ':' if property => "%3A",
            ',' if property => "%2C",
            c => {
                plain.push(c);
                continue;
            }
        };
        flush(&mut plain, &mut out);
        out.push_str(encoded);
    }
    flush(&mut plain, &mut out);
    out
}

#[cfg(test)]
#[test]
fn github_escapes_follow_the_workflow_command_rules() {
    assert_eq!(escape_github("a%b\rc\nd", false), "a%25b%0Dc%0Ad");
    assert_eq!(escape_github("x:y,z", true), "x%3Ay%2Cz");
    assert_eq!(escape_github("x:y,z", false), "x:y,z");
    assert_eq!(escape_github("esc\u{1b}[2J", false), "esc\\x1b[2J");
}

fn print_github(context: &Context, scope: &Scope<'_>, gathered: &Gathered) {
    for finding in &gathered.findings {
        let command = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut properties = Vec::new();
        if let Some(path) = &finding.path {
            properties.push(format!("file={}", escape_github(&report_path(scope, path), true)));
        }
        if let Some(line) = finding.line {
            properties.push(format!("line={line}"));
        }
        if let Some(column) = finding.column {
            properties.push(format!("col={column}"));
        }
        properties.push(format!("title={}", escape_github(finding.id.as_str(), true)));
        let message = escape_github(&format!("{} ({})", finding.message, finding.hint), false);
        context.printer.data(format!("::{command} {}::{message}", properties.join(",")));
    }
}
