//! The exit status contract shared by every command.
//!
//! `0` means all good, `1` means findings (a blocked commit, a failed check) and
//! `2` means a usage error or that the tool could not do its job. Hooks that run
//! after checkout, merge and rewrite map everything to `0` in the hook layer.

use std::process::ExitCode;

/// What a command tells the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Nothing to report.
    Success,
    /// The command ran and found something: a blocked commit, a failed check.
    Findings,
    /// Usage error, or the tool could not do its job.
    Failure,
}

impl ExitStatus {
    /// The numeric code of the contract.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Failure => 2,
        }
    }

    /// Findings when `found`, success otherwise.
    pub fn findings_if(found: bool) -> Self {
        if found { ExitStatus::Findings } else { ExitStatus::Success }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}
