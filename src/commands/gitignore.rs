//! `pycache-guard gitignore`: make the repository ignore bytecode.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::GitignoreArgs;
use crate::config::{AllowList, ProjectConfig};
use crate::display::PathStyle;
use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::gitignore::{self, Rule, Sources};
use crate::ignore_survey::{self, Fixed, Plan, Survey, SurveyError};
use crate::index::Index;
use crate::output::code;

use super::{Context, Refusal};

/// Resolves `--file` (or the root `.gitignore`) and refuses files git does not read.
fn target_file(context: &Context, repo: &Repo, sources: &Sources, file: Option<&Path>) -> Result<PathBuf> {
    let workdir = repo.workdir()?;
    let Some(file) = file else { return Ok(workdir.join(".gitignore")) };
    let absolute = crate::paths::normalize(&context.cwd.join(file));
    let info_exclude = crate::paths::normalize(&repo.common_dir().join("info/exclude"));
    let inside = absolute.starts_with(workdir) || absolute.starts_with(repo.common_dir());
    if !inside {
        return Err(Refusal::new(
            format!("`{}` is outside the repository at `{}`", absolute.display(), workdir.display()),
            "name a `.gitignore` in the work tree, or `.git/info/exclude` to keep the rules local",
        )
        .into());
    }
    // The folder is reached the way every write is: no symbolic link below
    // the work tree (a committed `linkdir -> ../outside`), no other repository.
    // `.git/info/exclude` is git's own folder, not the repository's choice.
    if absolute.starts_with(workdir)
        && !absolute.starts_with(repo.common_dir())
        && let Some(parent) = absolute.parent()
        && let Err(error) = crate::safe_fs::Dir::check_creatable(workdir, parent)
    {
        return Err(Refusal::new(
            format!("not writing `{}`: {error}", crate::display::quote_path(absolute.as_os_str().as_encoded_bytes())),
            "name a `.gitignore` in a real folder of the work tree, or `.git/info/exclude` to keep the rules local",
        )
        .into());
    }
    if absolute == info_exclude || sources.is_ignore_file(&absolute) {
        return Ok(absolute);
    }
    Err(Refusal::new(
        format!("git does not read `{}` as an ignore file", absolute.display()),
        "name a `.gitignore` in the work tree, or `.git/info/exclude` to keep the rules local",
    )
    .into())
}

/// The refusal for a symbolic-link target, with the reason git gives and the fix.
fn link_refusal(target: &Path, points_to: &Path, style: &PathStyle) -> Refusal {
    let is_gitignore = target.file_name().is_some_and(|name| name == ".gitignore");
    let why = if is_gitignore {
        "git does not read a `.gitignore` that is a symbolic link, so rules written there would have no effect"
    } else {
        "writing through it could change a file outside the repository"
    };
    Refusal::new(
        format!("{} is a symbolic link to `{}`; {why}", code(style.show_absolute(target)), points_to.display()),
        "replace the link with a regular file, or keep the rules local with `pycache-guard gitignore --file .git/info/exclude`",
    )
}

/// A domain error as the person should read it: a link becomes a refusal with its fix.
fn explain(error: SurveyError, style: &PathStyle) -> anyhow::Error {
    match error {
        SurveyError::Link { path, points_to } => link_refusal(&path, &points_to, style).into(),
        other => other.into(),
    }
}

/// Checks, adds or previews the bytecode rules.
pub fn run(context: &Context, args: &GitignoreArgs) -> Result<ExitStatus> {
    let repo = Repo::discover()?;
    let style = context.path_style(&repo)?;
    let survey = ignore_survey::survey(&repo)?;
    let missing = survey.missing();
    let target = target_file(context, &repo, &survey.sources, args.file.as_deref())?;
    if missing.is_empty() {
        context.printer.info("every bytecode rule is in effect");
        report_tracked(context, &repo, &style, &survey.sources)?;
        return Ok(ExitStatus::Success);
    }
    if args.check {
        for rule in survey.coverage.iter().filter(|rule| rule.missing()) {
            let evidence = match rule.evidence() {
                Some((path, true)) => format!("{}/", style.show(path)),
                Some((path, false)) => style.show(path),
                None => String::new(),
            };
            context
                .printer
                .error(format!("missing ignore rule {} (`{evidence}` is not ignored)", code(rule.rule.line)));
        }
        context.printer.hint("add them with `pycache-guard gitignore`");
        return Ok(ExitStatus::Findings);
    }
    // A preview that would change the file exits 1, like `ruff format --diff`,
    // so that CI can run `--dry-run` and fail on a missing rule.
    match write_rules(context, &repo, &style, &survey, &target, &missing, args.dry_run)? {
        Written::Conflicts | Written::Changed | Written::Previewed => Ok(ExitStatus::Findings),
    }
}

/// What [`write_rules`] did.
pub enum Written {
    /// A user exception would be overridden; nothing was written.
    Conflicts,
    /// `--dry-run`: the diff was printed.
    Previewed,
    /// The file was written.
    Changed,
}

/// Adds `missing` to `target` as one block, after checking by simulation
/// that no user exception is overridden, and reports what it did.
fn write_rules(
    context: &Context,
    repo: &Repo,
    style: &PathStyle,
    survey: &Survey,
    target: &Path,
    missing: &[Rule],
    dry_run: bool,
) -> Result<Written> {
    ignore_survey::refuse_link(target).map_err(|error| explain(error, style))?;
    let (edit, after) = match survey.plan(target, missing)? {
        Plan::Conflicts(conflicts) => {
            report_conflicts(context, style, &conflicts);
            return Ok(Written::Conflicts);
        }
        Plan::Edit { edit, after } => (edit, after),
    };
    let workdir = repo.workdir()?;
    if dry_run {
        let label = match target.strip_prefix(workdir) {
            Ok(relative) => relative.display().to_string(),
            Err(_) => target.display().to_string(),
        };
        // The file's own lines may hold anything: each line of the diff is escaped.
        let diff = gitignore::unified_diff(&label, &edit);
        let shown: Vec<String> = diff.trim_end().split('\n').map(crate::display::sanitize_text).collect();
        context.printer.data(shown.join("\n"));
        return Ok(Written::Previewed);
    }
    ignore_survey::apply(target, &edit)?;
    report_added(context, repo, style, target, &edit.added, &after)?;
    Ok(Written::Changed)
}

fn report_added(
    context: &Context,
    repo: &Repo,
    style: &PathStyle,
    target: &Path,
    added: &[&str],
    after: &Sources,
) -> Result<()> {
    let added: Vec<String> = added.iter().map(code).collect();
    let shown_target = code(style.show_absolute(target));
    context.printer.info(format!(
        "added {} to {shown_target}: {}",
        crate::display::count(added.len(), "rule", "rules"),
        added.join(", ")
    ));
    report_tracked(context, repo, style, after)
}

/// `check --fix`: adds the missing rules to the root `.gitignore` and
/// reports what was done. Returns whether the file changed.
pub fn fix(context: &Context, repo: &Repo) -> Result<bool> {
    let style = context.path_style(repo)?;
    match ignore_survey::fix(repo).map_err(|error| explain(error, &style))? {
        Fixed::InEffect => Ok(false),
        Fixed::Conflicts(conflicts) => {
            report_conflicts(context, &style, &conflicts);
            Ok(false)
        }
        Fixed::Added { target, added, after } => {
            report_added(context, repo, &style, &target, &added, &after)?;
            Ok(true)
        }
    }
}

fn report_conflicts(context: &Context, style: &PathStyle, conflicts: &[gitignore::Conflict]) {
    context.printer.error(format!(
        "adding the bytecode rules would ignore {} that you un-ignored on purpose; nothing was written",
        crate::display::count(conflicts.len(), "path", "paths")
    ));
    for conflict in conflicts {
        context.printer.detail(format!(
            "  {}: un-ignored by `{}` ({}:{}), would be ignored by `{}`",
            style.show(&conflict.path),
            crate::display::sanitize_text(&conflict.negation.pattern),
            style.show_absolute(&conflict.negation.file),
            conflict.negation.line,
            crate::display::sanitize_text(&conflict.ignored_by.pattern),
        ));
    }
    context.printer.hint(
        "git cannot re-include a file inside an ignored folder, and a deeper or earlier ignore file overrides a later one; \
         add the rules by hand where your exceptions still win (for `__pycache__/`, `**/__pycache__/*` keeps the folder itself un-ignored), \
         or write them to the file that holds the exception with `--file`",
    );
}

/// Lists tracked bytecode that the rules now ignore: ignore rules do not untrack files.
fn report_tracked(context: &Context, repo: &Repo, style: &PathStyle, sources: &Sources) -> Result<()> {
    let config = ProjectConfig::load(repo.workdir()?)?;
    let allow = AllowList::new(&config.allow, &[])?;
    let index = Index::load(&repo.index_location())?;
    let tracked = ignore_survey::tracked_and_ignored(&index, &allow, sources);
    if tracked.is_empty() {
        return Ok(());
    }
    context.printer.warning(format!(
        "{} tracked bytecode {} ignored now, but ignore rules do not untrack files:",
        tracked.len(),
        crate::display::plural(tracked.len(), "file is", "files are")
    ));
    for path in tracked.iter().take(10) {
        context.printer.info(format!("  {}", style.show(path)));
    }
    if tracked.len() > 10 {
        context.printer.info(format!("  ... and {} more", tracked.len() - 10));
    }
    let arguments: Vec<String> = tracked.iter().map(|path| style.argument(path)).collect();
    context
        .printer
        .hint(format!("untrack them, keeping the files on disk:\n    {}", crate::git::untrack_command(&arguments)));
    Ok(())
}
