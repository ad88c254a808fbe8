//! What the person sees: colour resolution and the printer, the only code
//! that writes to stdout or stderr (clippy's `print_stdout` and
//! `print_stderr` lints hold the rest of the crate to it).
//!
//! Colour is decided once per run for each stream on its own ([`Colors`]:
//! `--color`, `CLICOLOR_FORCE`, `NO_COLOR`, `TERM` and whether that stream
//! is a terminal), and everything reads correctly without it. Diagnostics
//! go to stderr with lowercase `error:`, `warning:` and `hint:` prefixes; a
//! hint follows a blank line. Data goes to stdout through [`Printer::data`]:
//! lists of paths and scripts are never coloured, and the human `check`
//! report is coloured only when stdout's own decision allows it.
//!
//! Every diagnostic passes through [`crate::display::terminal_safe`] on its
//! way out, so text from a repository that a message forgot to escape still
//! cannot reach the terminal as a control sequence.

use std::fmt::Display;
use std::io::{IsTerminal, Write};

use colored::Colorize;

use crate::env::ColorRequest;

/// How chatty the printer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// The default.
    Normal,
    /// `-v`: also explain what is being done.
    Verbose,
}

/// `--color`: the user's colour setting, before it is resolved for each stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour a stream when it is a terminal, NO_COLOR is unset and TERM is not `dumb`.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The colour decision for each stream, made once at start-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Colors {
    /// Diagnostics on stderr.
    pub stderr: bool,
    /// Reports on stdout.
    pub stdout: bool,
}

impl Colors {
    /// Resolves `choice` for stderr and stdout alike: `--color always` and
    /// `CLICOLOR_FORCE` colour both, `--color never` and `NO_COLOR` neither,
    /// and otherwise each stream is coloured when it is a terminal.
    pub fn resolve(choice: ColorChoice) -> Colors {
        let decide = |is_terminal: bool| resolve_color(choice, is_terminal);
        Colors { stderr: decide(std::io::stderr().is_terminal()), stdout: decide(std::io::stdout().is_terminal()) }
    }
}

/// Decides colour for one stream. `CLICOLOR_FORCE` forces it in auto mode.
pub fn resolve_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => match crate::env::color_request() {
            ColorRequest::Forced => true,
            ColorRequest::Refused => false,
            ColorRequest::Unspecified => is_terminal,
        },
    }
}

/// The colours a message uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// `error`, `check failed`.
    Error,
    /// `warning`.
    Warning,
    /// `info`, `hint:`.
    Note,
    /// `check passed`.
    Success,
    /// A heading.
    Heading,
}

/// `text` in `tone` when `enabled`, else as it is. The `colored` crate's own
/// switch is left on (see [`Printer::new`]); each stream decides here.
pub fn paint(text: &str, tone: Tone, enabled: bool) -> String {
    if !enabled {
        return text.to_string();
    }
    match tone {
        Tone::Error => text.red().bold().to_string(),
        Tone::Warning => text.yellow().bold().to_string(),
        Tone::Note => text.cyan().bold().to_string(),
        Tone::Success => text.green().bold().to_string(),
        Tone::Heading => text.bold().to_string(),
    }
}

/// Writes diagnostics to stderr and data to stdout.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    verbosity: Verbosity,
    colors: Colors,
}

impl Printer {
    /// A printer at the given level, colouring each stream as `colors` says.
    pub fn new(verbosity: Verbosity, colors: Colors) -> Self {
        // Colour is decided per stream by [`paint`]; the crate's global switch
        // (which would follow stderr only, or a stale `CLICOLOR` guess) stays on.
        colored::control::set_override(true);
        Printer { verbosity, colors }
    }

    /// Whether a report written to stdout may be coloured.
    pub fn stdout_color(&self) -> bool {
        self.colors.stdout
    }

    /// The level this printer was made with.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Writes one diagnostic. The message is made terminal-safe here, before
    /// the coloured prefix is added, so no message can carry a raw escape.
    fn emit(&self, prefix: &str, message: impl Display) {
        let message = crate::display::terminal_safe(&message.to_string());
        let mut stderr = std::io::stderr().lock();
        // A closed stderr must not turn into a panic inside a git hook.
        let _ = writeln!(stderr, "{prefix}{message}");
    }

    /// `error: ...`, shown even with `-q`.
    pub fn error(&self, message: impl Display) {
        self.emit(&format!("{} ", paint("error:", Tone::Error, self.colors.stderr)), message);
    }

    /// `warning: ...`.
    pub fn warning(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            self.emit(&format!("{} ", paint("warning:", Tone::Warning, self.colors.stderr)), message);
        }
    }

    /// A blank line, then `hint: ...`.
    pub fn hint(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            self.emit(&format!("\n{} ", paint("hint:", Tone::Note, self.colors.stderr)), message);
        }
    }

    /// A plain line on stderr at the normal level.
    pub fn info(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            self.emit("", message);
        }
    }

    /// A plain line on stderr that belongs to an error already printed, shown even with `-q`.
    pub fn detail(&self, message: impl Display) {
        self.emit("", message);
    }

    /// A line on stderr with `-v` only.
    pub fn verbose(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Verbose {
            self.emit("", message);
        }
    }

    /// One line of data on stdout.
    pub fn data(&self, line: impl Display) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
    }

    /// Writes generated bytes (a script, a manual page) to stdout as they are.
    pub fn data_bytes(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()
    }
}

/// Backticks for a command or path in a message; dimmed when colour is on.
pub fn code(text: impl Display) -> String {
    format!("`{text}`")
}
