//! Making untrusted text safe to show, and paths easy to act on.
//!
//! File names come from repositories we do not control and compiler messages
//! quote source lines. Neither may reach a terminal raw: control characters,
//! invalid UTF-8 and bidirectional overrides are escaped, and a name that needed
//! escaping is shown in double quotes the way git's `core.quotePath` does. Paths
//! are shown relative to the directory the user started in, and commands we
//! print are shell-quoted so they can be pasted as they are.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Characters that reorder or hide text on a terminal although they are printable.
fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || is_deceptive(c)
}

/// Appends the escaped form of one character.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// Escapes what must not reach a terminal, leaving ordinary text alone.
///
/// Invalid UTF-8 bytes become `\xNN`. Returns the text and whether anything was
/// escaped.
fn escape_bytes(bytes: &[u8], escape_quotes: bool) -> (String, bool) {
    let mut out = String::with_capacity(bytes.len());
    let mut escaped = false;
    for chunk in bstr::ByteSlice::utf8_chunks(bytes) {
        for c in chunk.valid().chars() {
            if is_unsafe(c) {
                push_escaped(&mut out, c);
                escaped = true;
            } else if escape_quotes && (c == '"' || c == '\\') {
                out.push('\\');
                out.push(c);
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
            escaped = true;
        }
    }
    (out, escaped)
}

/// A file name as it may be shown on a terminal: unchanged when harmless,
/// otherwise escaped and put in double quotes.
pub fn quote_path(bytes: &[u8]) -> String {
    let (plain, needs_quotes) = escape_bytes(bytes, false);
    if !needs_quotes {
        return plain;
    }
    let (quoted, _) = escape_bytes(bytes, true);
    format!("\"{quoted}\"")
}

/// The word for `count` things: `one` for 1, `many` otherwise.
pub fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

/// `1 file`, `3 files`: a count with the word for it.
pub fn count(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", plural(count, one, many))
}

/// An error and its causes on one line, `error: cause: cause`, for a
/// warning that stands in for an error (the printer escapes it).
pub fn causes(error: &anyhow::Error) -> String {
    error.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ")
}

/// Free text (compiler messages, configuration values) made terminal-safe.
pub fn sanitize_text(text: &str) -> String {
    escape_bytes(text.as_bytes(), false).0
}

/// A whole message made safe for a terminal, keeping its line breaks.
///
/// The printer passes every diagnostic through this, so a repository string
/// that a message forgot to escape still cannot move the cursor, retitle the
/// window, ring the bell or reorder text. Line breaks stay because messages
/// are built with them; repository strings escape their own with
/// [`sanitize_text`] or [`quote_path`], so they cannot forge a line.
pub fn terminal_safe(text: &str) -> String {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c != '\n' && is_unsafe(c) { push_escaped(&mut out, c) } else { out.push(c) }
    }
    out
}

/// A JSON document made safe to print to a terminal without changing its
/// data: the characters serde leaves raw inside strings (DEL, C1 controls,
/// bidirectional overrides) become `\uXXXX` escapes, which every JSON
/// reader decodes back to the same text.
pub fn json_terminal_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) && c != '\n' {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Quotes one word for a POSIX shell, using `$'...'` only when the word holds
/// bytes that cannot be written inside single quotes.
pub fn shell_quote(bytes: &[u8]) -> String {
    let is_plain = |b: &u8| b.is_ascii_alphanumeric() || b"_./-+,:@%=".contains(b);
    if !bytes.is_empty() && bytes.iter().all(is_plain) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let (_, needs_escapes) = escape_bytes(bytes, false);
    if !needs_escapes {
        let text = String::from_utf8_lossy(bytes);
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for chunk in bstr::ByteSlice::utf8_chunks(bytes) {
        for c in chunk.valid().chars() {
            match c {
                '\'' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if is_unsafe(c) => {
                    // `$'...'` understands `\xNN` only for single bytes.
                    let mut buffer = [0; 4];
                    for byte in c.encode_utf8(&mut buffer).bytes() {
                        out.push_str(&format!("\\x{byte:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('\'');
    out
}

/// A size for people: `512 B`, `12.3 KiB`, `4.5 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// `target` expressed relative to `base`. Both must be absolute and
/// normalised the same way (canonical paths).
pub fn relative_path(target: &Path, base: &Path) -> PathBuf {
    let target: Vec<Component> = target.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for component in &target[common..] {
        out.push(component.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Turns repository-relative paths into what the user should see: relative to
/// the directory they started in, escaped for the terminal or quoted for a shell.
#[derive(Clone, Debug)]
pub struct PathStyle {
    workdir: PathBuf,
    user_dir: PathBuf,
}

impl PathStyle {
    /// `workdir` is the repository's work tree and `user_dir` the directory the
    /// person started in; both canonical.
    pub fn new(workdir: PathBuf, user_dir: PathBuf) -> Self {
        PathStyle { workdir, user_dir }
    }

    /// The path, as bytes, relative to the user's directory.
    pub fn relative(&self, repo_path: &[u8]) -> Vec<u8> {
        let absolute =
            if repo_path.is_empty() { self.workdir.clone() } else { self.workdir.join(OsStr::from_bytes(repo_path)) };
        relative_path(&absolute, &self.user_dir).as_os_str().as_bytes().to_vec()
    }

    /// For the terminal.
    pub fn show(&self, repo_path: &[u8]) -> String {
        quote_path(&self.relative(repo_path))
    }

    /// For a command line the user can paste.
    pub fn argument(&self, repo_path: &[u8]) -> String {
        shell_quote(&self.relative(repo_path))
    }

    /// An absolute path, relative to the user's directory, for a command line.
    pub fn argument_absolute(&self, path: &Path) -> String {
        shell_quote(relative_path(path, &self.user_dir).as_os_str().as_bytes())
    }

    /// An absolute path (outside the repository, say) for the terminal.
    pub fn show_absolute(&self, path: &Path) -> String {
        let shown =
            if path.starts_with(&self.workdir) { relative_path(path, &self.user_dir) } else { path.to_path_buf() };
        quote_path(shown.as_os_str().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_path_escapes_only_what_is_unsafe() {
        let cases: &[(&[u8], &str)] = &[
            (b"pkg/m.pyc", "pkg/m.pyc"),
            (b"with space.pyc", "with space.pyc"),
            ("caf\u{e9}.pyc".as_bytes(), "caf\u{e9}.pyc"),
            (b"new\nline.pyc", "\"new\\nline.pyc\""),
            (b"esc\x1b[31m.pyc", "\"esc\\x1b[31m.pyc\""),
            (b"bad\xff.pyc", "\"bad\\xff.pyc\""),
            (b"q\"\\\n", "\"q\\\"\\\\\\n\""),
            ("rtl\u{202e}cyp.py".as_bytes(), "\"rtl\\u{202e}cyp.py\""),
        ];
        for (input, expected) in cases {
            assert_eq!(quote_path(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn shell_quote_produces_pasteable_words() {
        let cases: &[(&[u8], &str)] = &[
            (b"pkg/m.pyc", "pkg/m.pyc"),
            (b"a b.pyc", "'a b.pyc'"),
            (b"it's.pyc", r"'it'\''s.pyc'"),
            (b"a\nb", r"$'a\x0ab'"),
            (b"x\xffy'", r"$'x\xffy\''"),
            (b"", "''"),
        ];
        for (input, expected) in cases {
            assert_eq!(shell_quote(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn relative_path_walks_up_and_down() {
        let cases = [
            ("/r/a/b.pyc", "/r", "a/b.pyc"),
            ("/r/a/b.pyc", "/r/a", "b.pyc"),
            ("/r/a/b.pyc", "/r/c/d", "../../a/b.pyc"),
            ("/r", "/r", "."),
        ];
        for (target, base, expected) in cases {
            assert_eq!(relative_path(Path::new(target), Path::new(base)), Path::new(expected));
        }
    }

    #[test]
    fn terminal_safe_keeps_line_breaks_and_escapes_the_rest() {
        let cases = [
            ("plain\nsecond line", "plain\nsecond line"),
            ("esc\u{1b}[2J osc\u{1b}]0;t\u{7} bidi\u{202e}x", "esc\\x1b[2J osc\\x1b]0;t\\x07 bidi\\u{202e}x"),
            ("cr\rtab\t", "cr\\rtab\\t"),
            ("c1 \u{9b}31m", "c1 \\x9b31m"),
        ];
        for (input, expected) in cases {
            assert_eq!(terminal_safe(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn json_stays_the_same_data_without_raw_controls() {
        let json = serde_json::to_string(&"a\u{202e}b\u{9b}c\u{7f}\u{1b}").unwrap();
        let safe = json_terminal_safe(&json);
        assert!(!safe.contains(['\u{202e}', '\u{9b}', '\u{7f}', '\u{1b}']), "{safe}");
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "a\u{202e}b\u{9b}c\u{7f}\u{1b}");
    }

    #[test]
    fn sanitize_text_keeps_unicode_and_escapes_controls() {
        assert_eq!(sanitize_text("invalid syntax \u{1b}[2J here"), "invalid syntax \\x1b[2J here");
        assert_eq!(sanitize_text("ünïcode"), "ünïcode");
    }
}
