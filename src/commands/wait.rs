//! `pycache-guard wait`: blocks until no rebuild is running or pending.
//!
//! A detached rebuild holds a ticket in the queue ([`state::Ticket`]) from
//! its start to its exit, a rebuild runs while it holds the rebuild lock,
//! and work is pending while its targets are in the journal
//! (`.git/pycache-guard/pending`). "No ticket, lock free, journal empty" is
//! the moment the caches are written. A journal left non-empty with the lock free is the
//! work of a rebuild that was killed: `wait` finishes it in the foreground
//! rather than waiting for a process that will never come. Then it shows
//! what the background rebuilds warned about (syntax errors, a missing
//! interpreter), which git's terminal never saw.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::WaitArgs;
use crate::exit::ExitStatus;
use crate::git::Repo;
use crate::state;

use super::{Context, Refusal};

/// How often a `wait` with a timeout looks at the lock again.
const POLL: Duration = Duration::from_millis(20);

/// Rounds of finishing killed work before `wait` gives up: each round
/// clears what it was given, so a journal still full after them is one the
/// rebuild cannot clear (a read-only `.git`).
const ROUNDS: usize = 3;

/// `pycache-guard wait`.
pub fn run(context: &Context, args: &WaitArgs) -> Result<ExitStatus> {
    let repo = Repo::discover()?;
    if repo.is_bare() {
        return Ok(ExitStatus::Success);
    }
    let deadline = args.timeout.map(|seconds| Instant::now() + Duration::from_secs(seconds));
    for _ in 0..ROUNDS {
        // Every detached rebuild, running or queued behind the lock, holds a ticket.
        if !state::Ticket::wait_for_none(repo.git_dir(), deadline)? {
            return Err(still_running(args.timeout).into());
        }
        let lock = lock_before(&repo, deadline, args.timeout)?;
        if state::Journal::pending(repo.git_dir()).is_none() {
            // What the background rebuilds warned about, said once, here.
            for line in state::take_background_warnings(repo.git_dir()).lines() {
                let message = line.strip_prefix("warning: ").unwrap_or(line);
                context.printer.warning(crate::display::sanitize_text(message));
            }
            return Ok(ExitStatus::Success);
        }
        // Nobody holds the lock, yet work is pending: a rebuild was killed.
        drop(lock);
        context.printer.verbose("a rebuild was interrupted; finishing its work");
        super::rebuild::finish_pending(context, &repo)?;
    }
    Err(Refusal::new(
        "the pending rebuild in `.git/pycache-guard/pending` could not be finished",
        "see `.git/pycache-guard/rebuild.log`, and run `pycache-guard rebuild -v` to see why",
    )
    .into())
}

/// The rebuild lock, once every running rebuild has let it go.
fn lock_before(repo: &Repo, deadline: Option<Instant>, timeout: Option<u64>) -> Result<state::Lock> {
    let Some(deadline) = deadline else { return Ok(state::Lock::acquire(repo.git_dir())?) };
    loop {
        if let Some(lock) = state::Lock::try_acquire(repo.git_dir())? {
            return Ok(lock);
        }
        if Instant::now() >= deadline {
            return Err(still_running(timeout).into());
        }
        std::thread::sleep(POLL);
    }
}

fn still_running(timeout: Option<u64>) -> Refusal {
    Refusal::new(
        format!("a rebuild is still running after {} s", timeout.unwrap_or_default()),
        "see `.git/pycache-guard/rebuild.log`; wait longer with a larger `--timeout`, or without one",
    )
}
