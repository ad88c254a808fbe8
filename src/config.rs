//! Project configuration: `[tool.pycache-guard]` in the root `pyproject.toml`.
//!
//! The file is read from the work tree, once per run. Unknown keys are refused
//! so that a typo in `allow` does not silently let bytecode through. The
//! file is committed: every value and key that an error quotes is escaped
//! when the error is made, so no message can carry it raw to a terminal.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// Problems with the configuration, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is invalid or `[tool.pycache-guard]` has unexpected content.
    #[error("invalid `[tool.pycache-guard]` in `{path}`{place}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// ` at line 3, column 12` where the parser knows the place, else empty.
        place: String,
        /// The parser's explanation.
        message: String,
    },
    /// An allow-list entry is not a valid glob.
    #[error("invalid glob `{glob}` in {origin}: {message}")]
    Glob {
        /// The glob as written.
        glob: String,
        /// Where it came from (`pyproject.toml` or `--allow`).
        origin: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The `[tool.pycache-guard]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectConfig {
    /// Bytecode paths that may be committed on purpose (globs from the repository root).
    pub allow: Vec<String>,
    /// Interpreters to compile with: bare names, resolved on `PATH`.
    pub python: Vec<String>,
    /// Sources that are never compiled (globs from the repository root).
    pub exclude: Vec<String>,
    /// Optimisation levels to compile at: 0, 1 or 2, refused otherwise when the file is read.
    #[serde(deserialize_with = "optimize_levels")]
    pub optimize: Vec<u8>,
    /// When a hook's compiling goes to a detached rebuild (`"auto"`, `true`, `false`).
    pub background: Background,
    /// The findings `check` reports (empty: all of them).
    pub select: Vec<crate::finding::FindingId>,
    /// The findings `check` leaves out.
    pub ignore: Vec<crate::finding::FindingId>,
}

/// When a hook hands its compiling to a detached background rebuild. What
/// would lie is removed before the hook returns in every mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Background {
    /// Compile in the background when the compiling would cost the git
    /// command more than its budget ([`crate::commands`]' rebuild docs say
    /// how the budget was chosen).
    #[default]
    Auto,
    /// Every compile a hook starts goes to the background.
    Always,
    /// Hooks compile before git returns.
    Never,
}

impl Background {
    /// `auto`, or a git boolean (`true`, `yes`, `on`, `1`, `false`, ...).
    pub fn parse(text: &str) -> Option<Background> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Some(Background::Auto),
            "true" | "yes" | "on" | "1" | "" => Some(Background::Always),
            "false" | "no" | "off" | "0" => Some(Background::Never),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Background {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Background, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Word(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Flag(true) => Ok(Background::Always),
            Raw::Flag(false) => Ok(Background::Never),
            Raw::Word(word) if word == "auto" => Ok(Background::Auto),
            Raw::Word(_) => Err(serde::de::Error::custom("`background` is `\"auto\"`, `true` or `false`")),
        }
    }
}

#[derive(Deserialize)]
struct PyProject {
    #[serde(default)]
    tool: Tool,
}

#[derive(Default, Deserialize)]
struct Tool {
    // Deserialised in place, not through a `toml::Value`, so that an error in
    // our table keeps its place in the file.
    #[serde(rename = "pycache-guard", default)]
    pycache_guard: Option<ProjectConfig>,
}

/// `optimize`: the levels of `python -O` and `-OO`, refused when the file is
/// read rather than failing the compile of every file later.
fn optimize_levels<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let refuse = |what: String| {
        serde::de::Error::custom(format!(
            "`optimize` takes a list of the levels 0, 1 and 2 (as `python -O` and `-OO`), such as `[0, 2]`, not {what}"
        ))
    };
    let toml::Value::Array(levels) = toml::Value::deserialize(deserializer)? else {
        return Err(refuse("a single value".into()));
    };
    levels
        .into_iter()
        .map(|level| match level.as_integer().map(u8::try_from) {
            Some(Ok(level @ 0..=2)) => Ok(level),
            _ => Err(refuse(format!("`{level}`"))),
        })
        .collect()
}

/// ` at line L, column C` (1-based, in characters) of a byte offset in `text`.
fn place_of(text: &str, offset: usize) -> String {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    format!(" at line {line}, column {column}")
}

impl ProjectConfig {
    /// Reads `pyproject.toml` at the work-tree root; a missing file or table is the default.
    pub fn load(workdir: &Path) -> Result<ProjectConfig, ConfigError> {
        let path = workdir.join("pyproject.toml");
        let text = match crate::safe_fs::read_small(&path, crate::safe_fs::CONFIG_LIMIT) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(ProjectConfig::default()),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::parse(&text, &path)
    }

    /// Parses the content of a `pyproject.toml`.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<ProjectConfig, ConfigError> {
        let parse_error = |place: String, message: &str| ConfigError::Parse {
            path: path.to_path_buf(),
            place,
            message: crate::display::sanitize_text(message.trim_end()),
        };
        let text = std::str::from_utf8(bytes).map_err(|error| {
            let valid = &bytes[..error.valid_up_to()];
            let text = std::str::from_utf8(valid).unwrap_or_default();
            parse_error(place_of(text, text.len()), &format!("not UTF-8: {error}"))
        })?;
        // Only our table must be valid; the rest of the file belongs to other tools,
        // but TOML has to parse as a whole for us to find the table at all.
        let project: PyProject = toml::from_str(text).map_err(|error| {
            let place = error.span().map(|span| place_of(text, span.start)).unwrap_or_default();
            parse_error(place, error.message())
        })?;
        Ok(project.tool.pycache_guard.unwrap_or_default())
    }
}

/// Paths exempt from the commit guard.
#[derive(Clone, Debug)]
pub struct AllowList {
    globs: GlobSet,
    empty: bool,
}

impl AllowList {
    /// Builds the list from `pyproject.toml` globs and `--allow` globs.
    pub fn new(from_config: &[String], from_command_line: &[String]) -> Result<AllowList, ConfigError> {
        let mut builder = GlobSetBuilder::new();
        let sources = [(from_config, "`pyproject.toml`"), (from_command_line, "`--allow`")];
        for (globs, origin) in sources {
            for glob in globs {
                let pattern = glob.trim_start_matches("./").trim_start_matches('/');
                let compiled =
                    GlobBuilder::new(pattern).literal_separator(true).build().map_err(|error| ConfigError::Glob {
                        glob: crate::display::sanitize_text(glob),
                        origin: origin.to_string(),
                        message: error.kind().to_string(),
                    })?;
                builder.add(compiled);
            }
        }
        let globs = builder.build().map_err(|error| ConfigError::Glob {
            glob: String::new(),
            origin: "the allow-list".to_string(),
            message: error.to_string(),
        })?;
        Ok(AllowList { empty: globs.is_empty(), globs })
    }

    /// True when `path` (repository-relative) or one of its folders matches.
    pub fn allows(&self, path: &[u8]) -> bool {
        if self.empty {
            return false;
        }
        let mut candidate = Path::new(OsStr::from_bytes(path));
        loop {
            if self.globs.is_match(candidate) {
                return true;
            }
            match candidate.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => candidate = parent,
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ProjectConfig, ConfigError> {
        ProjectConfig::parse(text.as_bytes(), Path::new("pyproject.toml"))
    }

    #[test]
    fn reads_the_table_and_ignores_other_tools() {
        let config = parse(
            "[project]\nname = 'x'\n[tool.black]\nline-length = 1\n[tool.pycache-guard]\nallow = ['tests/**/*.pyc']\npython = ['python3.12']\n",
        )
        .unwrap();
        assert_eq!(config.allow, ["tests/**/*.pyc"]);
        assert_eq!(config.python, ["python3.12"]);
        assert!(parse("[project]\nname = 'x'\n").unwrap().allow.is_empty());
    }

    #[test]
    fn background_is_auto_true_or_false() {
        assert_eq!(parse("").unwrap().background, Background::Auto);
        assert_eq!(parse("[tool.pycache-guard]\nbackground = 'auto'\n").unwrap().background, Background::Auto);
        assert_eq!(parse("[tool.pycache-guard]\nbackground = true\n").unwrap().background, Background::Always);
        assert_eq!(parse("[tool.pycache-guard]\nbackground = false\n").unwrap().background, Background::Never);
        let error = parse("[tool.pycache-guard]\nbackground = 'sometimes'\n").unwrap_err().to_string();
        assert!(error.contains("auto"), "{error}");
        assert_eq!(Background::parse("Auto"), Some(Background::Auto));
        assert_eq!(Background::parse("off"), Some(Background::Never));
        assert_eq!(Background::parse("maybe"), None);
    }

    #[test]
    fn refuses_unknown_keys_and_bad_toml() {
        let error = parse("[tool.pycache-guard]\nalow = []\n").unwrap_err().to_string();
        assert!(error.contains("alow"), "{error}");
        let error = parse("[tool.pycache-guard]\n\"a\\u001b]0;x\\u0007\\u202e\" = 1\n").unwrap_err().to_string();
        assert!(!error.contains(['\u{1b}', '\u{7}', '\u{202e}']), "{error:?}");
        assert!(parse("[tool.pycache-guard\n").is_err());
    }

    #[test]
    fn errors_give_the_line_and_column() {
        let cases = [
            // TOML syntax, anywhere in the file.
            ("[project]\nname = 'x\n", " at line 2, column 10"),
            ("[tool.pycache-guard\n", " at line 1, column 20"),
            // Our table's content.
            ("[project]\n[tool.pycache-guard]\nalow = []\n", " at line 3, column 1"),
            ("[tool.pycache-guard]\nbackground = 'yes'\n", " at line 2, column 14"),
            ("[tool.pycache-guard]\noptimize = [0, 3]\n", " at line 2, column 12"),
        ];
        for (text, place) in cases {
            let error = parse(text).unwrap_err();
            let ConfigError::Parse { place: found, .. } = &error else { panic!("{error}") };
            assert_eq!(found, place, "{text:?}: {error}");
        }
    }

    #[test]
    fn optimize_takes_only_the_levels_python_has() {
        assert_eq!(parse("[tool.pycache-guard]\noptimize = [0, 1, 2]\n").unwrap().optimize, [0, 1, 2]);
        for bad in ["[3]", "[-1]", "[256]", "['2']", "2"] {
            let error = parse(&format!("[tool.pycache-guard]\noptimize = {bad}\n")).unwrap_err().to_string();
            assert!(
                error.starts_with("invalid `[tool.pycache-guard]` in `pyproject.toml` at line 2"),
                "{bad}: {error}"
            );
            assert!(error.contains("`optimize` takes a list of the levels 0, 1 and 2"), "{bad}: {error}");
        }
    }

    #[test]
    fn allow_list_matches_paths_and_folders() {
        let allow =
            AllowList::new(&["tests/fixtures/*.pyc".into(), "vendor/**".into()], &["x/__pycache__".into()]).unwrap();
        let cases: &[(&[u8], bool)] = &[
            (b"tests/fixtures/a.pyc", true),
            (b"tests/fixtures/sub/a.pyc", false),
            (b"vendor/lib/__pycache__/m.cpython-312.pyc", true),
            (b"x/__pycache__/m.cpython-312.pyc", true),
            (b"m.pyc", false),
        ];
        for (path, expected) in cases {
            assert_eq!(allow.allows(path), *expected, "{}", String::from_utf8_lossy(path));
        }
        assert!(AllowList::new(&["a[".into()], &[]).is_err());
    }
}
