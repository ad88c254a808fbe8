//! What the person sees on stderr: colour resolution and the printer.
//!
//! Colour is decided once, against stderr, and everything reads correctly
//! without it. Diagnostics use lowercase `error:`, `warning:` and `hint:`
//! prefixes; a hint follows a blank line. Data for scripts goes to stdout
//! through [`Printer::data`] and is never coloured.
//!
//! Every diagnostic passes through [`crate::display::terminal_safe`] on its
//! way out, so text from a repository that a message forgot to escape still
//! cannot reach the terminal as a control sequence.

use std::fmt::Display;
use std::io::{IsTerminal, Write};

use colored::Colorize;

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

/// The user's `--color` setting, before resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorSetting {
    /// Colour when stderr is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Decides colour once. `CLICOLOR_FORCE` forces it in auto mode.
pub fn resolve_color(setting: ColorSetting) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    match setting {
        ColorSetting::Always => true,
        ColorSetting::Never => false,
        ColorSetting::Auto => {
            if std::env::var_os("CLICOLOR_FORCE").is_some_and(|value| !value.is_empty() && value != "0") {
                return true;
            }
            !set("NO_COLOR")
                && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
                && std::io::stderr().is_terminal()
        }
    }
}

/// Applies the colour decision to the `colored` crate for the whole process.
pub fn apply_color(enabled: bool) {
    colored::control::set_override(enabled);
}

/// Writes diagnostics to stderr and data to stdout.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    verbosity: Verbosity,
}

impl Printer {
    /// A printer at the given level.
    pub fn new(verbosity: Verbosity) -> Self {
        Printer { verbosity }
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
        self.emit(&format!("{} ", "error:".red().bold()), message);
    }

    /// `warning: ...`.
    pub fn warning(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            self.emit(&format!("{} ", "warning:".yellow().bold()), message);
        }
    }

    /// A blank line, then `hint: ...`.
    pub fn hint(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            self.emit(&format!("\n{} ", "hint:".cyan().bold()), message);
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
}

/// Backticks for a command or path in a message; dimmed when colour is on.
pub fn code(text: impl Display) -> String {
    format!("`{text}`")
}
