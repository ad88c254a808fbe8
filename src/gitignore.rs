//! Ignore rules: which bytecode git ignores, and adding the rules that are missing.
//!
//! Coverage is decided the way git decides it, by asking whether
//! representative paths are ignored, over every source git reads
//! (`gitignore(5)`): `.gitignore` files from the path's folder up to the root
//! (deeper files win), then `$GIT_COMMON_DIR/info/exclude`, then
//! `core.excludesFile`. Within a file the last matching pattern wins, and a
//! path inside an ignored folder cannot be re-included. Patterns are compiled
//! by the `ignore` crate; `tests/gitignore.rs` checks every verdict against
//! `git check-ignore`.
//!
//! Edits keep every existing byte: a BOM, the line-ending style, a missing
//! final newline. The block goes before the file's first negation, so that the
//! user's own `!` exceptions still come last and win, and the result is
//! simulated before anything is written.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// One bytecode rule of the Python `.gitignore` template, with the paths that
/// show whether it is in effect (`true` marks a folder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The line as it is written.
    pub line: &'static str,
    /// Representative paths it must ignore.
    pub probes: &'static [(&'static str, bool)],
}

impl Rule {
    /// Whether this rule, on its own at the root, would ignore `path`: a
    /// `__pycache__` component for the folder rule, the file name's ending for
    /// the others.
    pub fn would_ignore(&self, path: &[u8]) -> bool {
        let name = path.rsplit(|&byte| byte == b'/').next().unwrap_or(path);
        match self.line {
            "__pycache__/" => path.split(|&byte| byte == b'/').rev().skip(1).any(|part| part == b"__pycache__"),
            "*.py[cod]" => [&b".pyc"[..], b".pyo", b".pyd"].iter().any(|suffix| name.ends_with(suffix)),
            _ => name.ends_with(b"$py.class"),
        }
    }
}

/// The bytecode lines of the widely used Python `.gitignore` template.
pub const RULES: [Rule; 3] = [
    Rule {
        line: "__pycache__/",
        probes: &[
            ("__pycache__", true),
            ("__pycache__/m.cpython-312.pyc", false),
            ("pkg/sub/__pycache__", true),
            ("pkg/sub/__pycache__/m.cpython-312.opt-1.pyc", false),
        ],
    },
    Rule { line: "*.py[cod]", probes: &[("m.pyc", false), ("pkg/m.pyo", false), ("pkg/m.pyc", false)] },
    Rule { line: "*$py.class", probes: &[("pkg/m$py.class", false), ("m$py.class", false)] },
];

/// The comment line above the block we add.
pub const BLOCK_COMMENT: &str = "# Python bytecode (added by pycache-guard)";

/// Failures that leave every file as it was.
#[derive(Debug, thiserror::Error)]
pub enum GitignoreError {
    /// An ignore file exists but cannot be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Writing the new content failed.
    #[error("cannot write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Which of git's sources a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A `.gitignore` in the work tree.
    PerDirectory,
    /// `info/exclude` in the repository folder.
    InfoExclude,
    /// `core.excludesFile`.
    ExcludesFile,
}

/// Where a verdict came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The ignore file.
    pub file: PathBuf,
    /// 1-based line of the pattern (0 when unknown).
    pub line: usize,
    /// The pattern as written (with its `!`).
    pub pattern: String,
}

/// Git's answer for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ignored, by this pattern (possibly on a parent folder).
    Ignored(Origin),
    /// A negation matched last: the user un-ignored it on purpose.
    Unignored(Origin),
    /// No pattern matched.
    Unmatched,
}

impl Verdict {
    /// True when git ignores the path.
    pub fn is_ignored(&self) -> bool {
        matches!(self, Verdict::Ignored(_))
    }
}

/// One ignore file, compiled.
#[derive(Clone, Debug)]
struct IgnoreFile {
    path: PathBuf,
    /// Repository-relative folder the patterns are relative to (`""` for the root and global files).
    dir: Vec<u8>,
    kind: SourceKind,
    matcher: Gitignore,
    /// `(line number, pattern as written)` for every pattern line.
    lines: Vec<(usize, String)>,
}

/// Splits ignore-file content into lines the way git does: on `\n`, dropping
/// one `\r` before it and a UTF-8 BOM at the start.
pub fn split_lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
    let trimmed = content.strip_suffix(b"\n").unwrap_or(content);
    let empty = content.is_empty();
    trimmed.split(|&byte| byte == b'\n').filter(move |_| !empty).map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

impl IgnoreFile {
    fn compile(path: &Path, root: &Path, dir: Vec<u8>, kind: SourceKind, content: &[u8]) -> IgnoreFile {
        let mut builder = GitignoreBuilder::new(root);
        let mut lines = Vec::new();
        for (number, line) in split_lines(content).enumerate() {
            let text = String::from_utf8_lossy(line);
            // A pattern git would reject is skipped by git too; so is it here.
            if builder.add_line(Some(path.to_path_buf()), &text).is_ok() && !text.starts_with('#') {
                lines.push((number + 1, text.into_owned()));
            }
        }
        let matcher = builder.build().unwrap_or_else(|_| Gitignore::empty());
        IgnoreFile { path: path.to_path_buf(), dir, kind, matcher, lines }
    }

    fn origin(&self, original: &str) -> Origin {
        // The matcher knows the pattern text, not its line: the last line with that text is the one that won.
        let line =
            self.lines.iter().rev().find(|(_, text)| text.trim_end() == original.trim_end()).map_or(0, |(n, _)| *n);
        Origin { file: self.path.clone(), line, pattern: original.to_string() }
    }

    /// True when this file's patterns can apply to `path`.
    fn applies_to(&self, path: &[u8]) -> bool {
        self.dir.is_empty() || (path.starts_with(&self.dir) && path.get(self.dir.len()) == Some(&b'/'))
    }

    fn matched(&self, path: &[u8], is_dir: bool) -> Option<Verdict> {
        let relative = if self.dir.is_empty() { path } else { &path[self.dir.len() + 1..] };
        match self.matcher.matched(Path::new(std::ffi::OsStr::from_bytes(relative)), is_dir) {
            Match::None => None,
            Match::Ignore(glob) => Some(Verdict::Ignored(self.origin(glob.original()))),
            Match::Whitelist(glob) => Some(Verdict::Unignored(self.origin(glob.original()))),
        }
    }
}

/// Every ignore source of a repository, compiled.
#[derive(Clone, Debug)]
pub struct Sources {
    workdir: PathBuf,
    files: Vec<IgnoreFile>,
}

/// Where git's ignore sources are.
#[derive(Clone, Debug)]
pub struct SourcePaths {
    /// The work tree.
    pub workdir: PathBuf,
    /// `info/exclude` of the common repository folder.
    pub info_exclude: PathBuf,
    /// `core.excludesFile`, or its default.
    pub excludes_file: Option<PathBuf>,
    /// Every `.gitignore` in the work tree that git reads (root included).
    pub per_directory: Vec<PathBuf>,
}

/// The most an ignore file may hold: far more than any real one, and a
/// bound on what a committed one can make us allocate.
pub const IGNORE_FILE_LIMIT: u64 = 64 << 20;

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, GitignoreError> {
    match crate::safe_fs::read_small(path, IGNORE_FILE_LIMIT) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // A folder, a FIFO or a device named like the file is no ignore file
        // for git either, and reading it could block or never end.
        Err(error) if matches!(error.kind(), std::io::ErrorKind::IsADirectory | std::io::ErrorKind::InvalidInput) => {
            Ok(None)
        }
        Err(source) => Err(GitignoreError::Read { path: path.to_path_buf(), source }),
    }
}

impl Sources {
    /// Reads and compiles every source.
    pub fn load(paths: &SourcePaths) -> Result<Sources, GitignoreError> {
        let mut sources = Sources { workdir: paths.workdir.clone(), files: Vec::new() };
        for path in &paths.per_directory {
            // Since 2.32 git does not follow a `.gitignore` that is a symbolic link.
            if fs_err::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()) {
                continue;
            }
            if let Some(content) = read_optional(path)? {
                sources.set(path, &content);
            }
        }
        for (path, kind) in [
            (Some(&paths.info_exclude), SourceKind::InfoExclude),
            (paths.excludes_file.as_ref(), SourceKind::ExcludesFile),
        ] {
            if let Some(path) = path
                && let Some(content) = read_optional(path)?
            {
                sources.files.push(IgnoreFile::compile(path, &paths.workdir, Vec::new(), kind, &content));
            }
        }
        Ok(sources)
    }

    /// The kind of source `path` would be, if git reads it.
    fn kind_of(&self, path: &Path) -> Option<(SourceKind, Vec<u8>)> {
        if let Some(existing) = self.files.iter().find(|file| file.path == path) {
            return Some((existing.kind, existing.dir.clone()));
        }
        let relative = path.strip_prefix(&self.workdir).ok()?;
        if relative.file_name()? != ".gitignore" || relative.starts_with(".git") {
            return None;
        }
        let dir = relative.parent().map(|dir| dir.as_os_str().as_bytes().to_vec()).unwrap_or_default();
        Some((SourceKind::PerDirectory, dir))
    }

    /// Replaces (or adds) the content of one ignore file, as if it were written.
    pub fn set(&mut self, path: &Path, content: &[u8]) {
        let Some((kind, dir)) = self.kind_of(path) else { return };
        let root = if kind == SourceKind::PerDirectory {
            self.workdir.join(std::ffi::OsStr::from_bytes(&dir))
        } else {
            self.workdir.clone()
        };
        let compiled = IgnoreFile::compile(path, &root, dir, kind, content);
        match self.files.iter_mut().find(|file| file.path == path) {
            Some(file) => *file = compiled,
            None => self.files.push(compiled),
        }
        // Deeper per-directory files first, then info/exclude, then the global file.
        self.files.sort_by_key(|file| match file.kind {
            SourceKind::PerDirectory => (0, usize::MAX - file.dir.len()),
            SourceKind::InfoExclude => (1, 0),
            SourceKind::ExcludesFile => (2, 0),
        });
    }

    /// True when git would read `path` as an ignore file of this repository.
    pub fn is_ignore_file(&self, path: &Path) -> bool {
        self.kind_of(path).is_some()
    }

    /// The verdict of the pattern lists on one path, without looking at parents.
    fn matched(&self, path: &[u8], is_dir: bool) -> Verdict {
        self.files
            .iter()
            .filter(|file| file.applies_to(path))
            .find_map(|file| file.matched(path, is_dir))
            .unwrap_or(Verdict::Unmatched)
    }

    /// Git's verdict on a repository-relative path: an ignored parent folder
    /// decides for everything inside it.
    pub fn verdict(&self, path: &[u8], is_dir: bool) -> Verdict {
        for (at, _) in path.iter().enumerate().filter(|(_, byte)| **byte == b'/') {
            if let verdict @ Verdict::Ignored(_) = self.matched(&path[..at], true) {
                return verdict;
            }
        }
        self.matched(path, is_dir)
    }

    /// Like [`Sources::verdict`], but a path no pattern matches whose folder a
    /// negation un-ignored counts as un-ignored: `!_*` un-ignores `__pycache__`,
    /// and the files inside then match nothing. The user chose that, so the
    /// rule is not missing, and adding it again would never help.
    pub fn deliberate_verdict(&self, path: &[u8], is_dir: bool) -> Verdict {
        let verdict = self.verdict(path, is_dir);
        if verdict != Verdict::Unmatched {
            return verdict;
        }
        for (at, _) in path.iter().enumerate().filter(|(_, byte)| **byte == b'/') {
            if let negation @ Verdict::Unignored(_) = self.matched(&path[..at], true) {
                return negation;
            }
        }
        verdict
    }

    /// Lines of `file` that are negations, 1-based.
    pub fn negation_lines(content: &[u8]) -> Vec<usize> {
        split_lines(content).enumerate().filter(|(_, line)| line.starts_with(b"!")).map(|(n, _)| n + 1).collect()
    }
}

/// How one rule stands.
#[derive(Clone, Debug)]
pub struct RuleCoverage {
    /// The rule.
    pub rule: Rule,
    /// Each probe (repository-relative) with git's verdict.
    pub probes: Vec<(Vec<u8>, bool, Verdict)>,
}

impl RuleCoverage {
    /// A probe no pattern matches: the rule is missing. Probes the user
    /// un-ignored on purpose do not count.
    pub fn missing(&self) -> bool {
        self.probes.iter().any(|(_, _, verdict)| *verdict == Verdict::Unmatched)
    }

    /// The first probe that shows the rule is missing, and whether it is a folder.
    pub fn evidence(&self) -> Option<(&[u8], bool)> {
        let (path, is_dir, _) = self.probes.iter().find(|(_, _, verdict)| *verdict == Verdict::Unmatched)?;
        Some((path, *is_dir))
    }
}

/// Probes every rule at the root and in every folder given (folders with their own `.gitignore`).
pub fn coverage(sources: &Sources, folders: &[Vec<u8>]) -> Vec<RuleCoverage> {
    RULES
        .iter()
        .map(|rule| {
            let mut probes = Vec::new();
            for folder in std::iter::once(&Vec::new()).chain(folders) {
                for (probe, is_dir) in rule.probes {
                    let mut path = folder.clone();
                    if !path.is_empty() {
                        path.push(b'/');
                    }
                    path.extend_from_slice(probe.as_bytes());
                    let verdict = sources.deliberate_verdict(&path, *is_dir);
                    probes.push((path, *is_dir, verdict));
                }
            }
            RuleCoverage { rule: *rule, probes }
        })
        .collect()
}

/// The line ending of an existing file (CRLF or LF), kept by every edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Style {
    crlf: bool,
}

fn style_of(content: &[u8]) -> Style {
    let crlf = content.iter().position(|&b| b == b'\n').is_some_and(|at| at > 0 && content[at - 1] == b'\r');
    Style { crlf }
}

/// A planned change to one ignore file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The content before (`None` when the file does not exist).
    pub before: Option<Vec<u8>>,
    /// The content after.
    pub after: Vec<u8>,
    /// The rule lines added.
    pub added: Vec<&'static str>,
    /// 1-based line the block was inserted before, or `None` when appended.
    pub inserted_before: Option<usize>,
}

/// Adds `rules` as one block under [`BLOCK_COMMENT`], before the first
/// negation of the file, or at the end. Existing bytes are kept as they are.
pub fn plan_edit(before: Option<&[u8]>, rules: &[Rule]) -> Edit {
    let content = before.unwrap_or_default();
    let style = style_of(content);
    let eol: &[u8] = if style.crlf { b"\r\n" } else { b"\n" };
    let mut block = Vec::new();
    for line in std::iter::once(BLOCK_COMMENT).chain(rules.iter().map(|rule| rule.line)) {
        block.extend_from_slice(line.as_bytes());
        block.extend_from_slice(eol);
    }
    let first_negation = Sources::negation_lines(content).first().copied();
    let mut after = Vec::with_capacity(content.len() + block.len() + 2);
    match first_negation {
        Some(line) => {
            // Byte offset of the start of that line (the BOM, if any, stays in front).
            let offset = line_offset(content, line);
            after.extend_from_slice(&content[..offset]);
            after.extend_from_slice(&block);
            after.extend_from_slice(&content[offset..]);
        }
        None => {
            after.extend_from_slice(content);
            let bom_only = content == b"\xef\xbb\xbf";
            if !content.is_empty() && !bom_only {
                if !content.ends_with(b"\n") {
                    after.extend_from_slice(eol);
                }
                // A blank line sets the block apart, unless there already is one.
                if !(content.ends_with(b"\n\n") || content.ends_with(b"\n\r\n")) {
                    after.extend_from_slice(eol);
                }
            }
            after.extend_from_slice(&block);
        }
    }
    Edit {
        before: before.map(<[u8]>::to_vec),
        after,
        added: rules.iter().map(|rule| rule.line).collect(),
        inserted_before: first_negation,
    }
}

/// The byte offset where 1-based `line` starts.
fn line_offset(content: &[u8], line: usize) -> usize {
    let mut offset = if content.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 };
    for _ in 1..line {
        match content[offset..].iter().position(|&b| b == b'\n') {
            Some(at) => offset += at + 1,
            None => return content.len(),
        }
    }
    offset
}

/// A path the user un-ignored on purpose that the edit would ignore again.
#[derive(Clone, Debug)]
pub struct Conflict {
    /// Repository-relative path.
    pub path: Vec<u8>,
    /// The negation that un-ignored it.
    pub negation: Origin,
    /// The pattern that would ignore it after the edit.
    pub ignored_by: Origin,
}

/// Checks an edit by simulation: every path in `protected` that a negation
/// un-ignores now must stay un-ignored.
pub fn conflicts(before: &Sources, after: &Sources, protected: &[(Vec<u8>, bool)]) -> Vec<Conflict> {
    protected
        .iter()
        .filter_map(|(path, is_dir)| match (before.verdict(path, *is_dir), after.verdict(path, *is_dir)) {
            (Verdict::Unignored(negation), Verdict::Ignored(ignored_by)) => {
                Some(Conflict { path: path.clone(), negation, ignored_by })
            }
            _ => None,
        })
        .collect()
}

/// Writes `content` to `path` atomically: a temporary file in the same folder,
/// then a rename, keeping the existing file's mode.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<(), GitignoreError> {
    let failed = |source| GitignoreError::Write { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mode = fs_err::metadata(path).ok().map(|meta| meta.permissions());
    let mut temporary = tempfile::Builder::new().prefix(".pycache-guard-").tempfile_in(dir).map_err(failed)?;
    std::io::Write::write_all(&mut temporary, content).map_err(failed)?;
    temporary.as_file().sync_all().map_err(failed)?;
    let permissions = match mode {
        Some(permissions) => permissions,
        None => std::os::unix::fs::PermissionsExt::from_mode(0o644),
    };
    temporary.as_file().set_permissions(permissions).map_err(failed)?;
    temporary.persist(path).map_err(|error| failed(error.error))?;
    Ok(())
}

/// A unified diff of an edit, for `--dry-run`, with the file's lines as they
/// are: the command escapes each line before it reaches a terminal.
pub fn unified_diff(label: &str, edit: &Edit) -> String {
    let old: Vec<(String, bool)> = edit.before.as_deref().map(diff_lines).unwrap_or_default();
    let new = diff_lines(&edit.after);
    // The edit is one insertion: find the common prefix and suffix.
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let context = 3;
    let start = prefix.saturating_sub(context);
    let old_end = (old.len() - suffix + context).min(old.len());
    let new_end = (new.len() - suffix + context).min(new.len());
    let from = if edit.before.is_some() { format!("a/{label}") } else { "/dev/null".to_string() };
    let mut out = format!("--- {from}\n+++ b/{label}\n");
    let range = |start: usize, end: usize| {
        if end == start { format!("{start},0") } else { format!("{},{}", start + 1, end - start) }
    };
    out.push_str(&format!("@@ -{} +{} @@\n", range(start, old_end), range(start, new_end)));
    let mut emit = |marker: char, (text, terminated): &(String, bool)| {
        out.push_str(&format!("{marker}{text}\n"));
        if !terminated {
            out.push_str("\\ No newline at end of file\n");
        }
    };
    old[start..prefix].iter().for_each(|line| emit(' ', line));
    old[prefix..old.len() - suffix].iter().for_each(|line| emit('-', line));
    new[prefix..new.len() - suffix].iter().for_each(|line| emit('+', line));
    old[old.len() - suffix..old_end].iter().for_each(|line| emit(' ', line));
    out
}

/// Lines as diff sees them (without `\r\n` or `\n`), each with whether it
/// ended in a newline; as the file holds them (the printer escapes them).
fn diff_lines(content: &[u8]) -> Vec<(String, bool)> {
    let mut lines = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let (line, terminated, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (&rest[..at], true, &rest[at + 1..]),
            None => (rest, false, &rest[rest.len()..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        lines.push((String::from_utf8_lossy(line).into_owned(), terminated));
        rest = next;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(lines: &[&str]) -> Vec<Rule> {
        RULES.iter().copied().filter(|rule| lines.contains(&rule.line)).collect()
    }

    #[test]
    fn edits_keep_every_existing_byte_and_the_file_style() {
        let all = rules(&["__pycache__/", "*.py[cod]", "*$py.class"]);
        let block_lf = format!("{BLOCK_COMMENT}\n__pycache__/\n*.py[cod]\n*$py.class\n");
        let block_crlf = block_lf.replace('\n', "\r\n");
        let cases: Vec<(Option<&[u8]>, String)> = vec![
            (None, block_lf.clone()),
            (Some(b""), block_lf.clone()),
            (Some(b"*.log\n"), format!("*.log\n\n{block_lf}")),
            (Some(b"*.log"), format!("*.log\n\n{block_lf}")),
            (Some(b"*.log\n\n"), format!("*.log\n\n{block_lf}")),
            (Some(b"*.log\r\nbuild/\r\n"), format!("*.log\r\nbuild/\r\n\r\n{block_crlf}")),
            (Some(b"\xef\xbb\xbf*.log\n"), format!("\u{feff}*.log\n\n{block_lf}")),
            (Some(b"*.log\n!keep.pyc\n# end\n"), format!("*.log\n{block_lf}!keep.pyc\n# end\n")),
            (Some(b"\xef\xbb\xbf!keep.pyc\n"), format!("\u{feff}{block_lf}!keep.pyc\n")),
        ];
        for (before, expected) in cases {
            let edit = plan_edit(before, &all);
            assert_eq!(String::from_utf8_lossy(&edit.after), expected, "before: {before:?}");
            let before = before.unwrap_or_default();
            // Removing the inserted bytes gives back the original exactly (apart from a separator).
            assert!(edit.after.len() > before.len());
        }
    }

    #[test]
    fn non_utf8_content_is_kept_byte_for_byte() {
        let before: &[u8] = b"caf\xe9/\n*.tmp\n";
        let edit = plan_edit(Some(before), &rules(&["*.py[cod]"]));
        assert!(edit.after.starts_with(before));
    }

    #[test]
    fn split_lines_follows_git() {
        let lines: Vec<&[u8]> = split_lines(b"\xef\xbb\xbfa\r\nb\n\nc").collect();
        assert_eq!(lines, [&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(split_lines(b"").count(), 0);
    }

    #[test]
    fn a_folder_un_ignored_on_purpose_is_not_a_missing_rule() {
        // Found by the fuzzer: after adding `__pycache__/` before `!_*`, the
        // files inside still matched nothing, so every run added the block again.
        let workdir = PathBuf::from("/nonexistent-root");
        let paths = SourcePaths {
            workdir: workdir.clone(),
            info_exclude: workdir.join(".git/info/exclude"),
            excludes_file: None,
            per_directory: vec![],
        };
        let mut sources = Sources::load(&paths).unwrap();
        sources.set(&workdir.join(".gitignore"), b"!_*");
        let pycache = coverage(&sources, &[]).into_iter().find(|rule| rule.rule.line == "__pycache__/").unwrap();
        assert!(!pycache.missing(), "{:?}", pycache.probes);
    }

    #[test]
    fn diff_shows_one_insertion_with_context() {
        let edit = plan_edit(Some(b"a\nb\n!c.pyc\nd\n"), &rules(&["*.py[cod]"]));
        let diff = unified_diff(".gitignore", &edit);
        let expected = format!(
            "--- a/.gitignore\n+++ b/.gitignore\n@@ -1,4 +1,6 @@\n a\n b\n+{BLOCK_COMMENT}\n+*.py[cod]\n !c.pyc\n d\n"
        );
        assert_eq!(diff, expected);
        let created = unified_diff(".gitignore", &plan_edit(None, &rules(&["*.py[cod]"])));
        assert!(created.starts_with("--- /dev/null\n+++ b/.gitignore\n@@ -0,0 +1,2 @@\n"), "{created}");
        let unterminated = unified_diff(".gitignore", &plan_edit(Some(b"a"), &rules(&["*.py[cod]"])));
        let expected = format!(
            "--- a/.gitignore\n+++ b/.gitignore\n@@ -1 +1,4 @@\n-a\n\\ No newline at end of file\n+a\n+\n+{BLOCK_COMMENT}\n+*.py[cod]\n"
        );
        assert_eq!(unterminated, expected.replace("@@ -1 +1,4 @@", "@@ -1,1 +1,4 @@"));
    }
}
