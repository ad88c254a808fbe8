//! `pycache-guard hook <name>`: what the installed shims call.
//!
//! `pre-commit` and `pre-merge-commit` run the commit guard; `post-checkout`,
//! `post-merge`, `post-rewrite`, `post-commit`, `post-applypatch` and
//! `post-index-change` reconcile the caches and always exit 0, as does
//! `reference-transaction`, which no install sets up any more but an older
//! install's shim still calls. `PYCACHE_GUARD_SKIP=1` makes every hook a
//! no-op. Unknown hook names do nothing, so a newer shim
//! never breaks git with an older binary.

use anyhow::Result;

use crate::cli::HookArgs;
use crate::exit::ExitStatus;
use crate::hook_type::HookType;

use super::{Context, forbid, rebuild};

/// True when the user asked every hook to stand aside.
pub fn skip_requested() -> bool {
    crate::env::skip_hooks()
}

/// Runs the named hook.
pub fn run(context: &Context, args: &HookArgs) -> Result<ExitStatus> {
    if skip_requested() {
        context.printer.verbose("PYCACHE_GUARD_SKIP is set; hook skipped");
        return Ok(ExitStatus::Success);
    }
    let Some(hook) = HookType::parse(&args.name) else {
        let other = crate::display::sanitize_text(&args.name);
        context.printer.verbose(format!("pycache-guard has nothing to do in the `{other}` hook"));
        return Ok(ExitStatus::Success);
    };
    if hook.guards_commits() {
        let options = forbid::Options { paths: Vec::new(), allow: Vec::new(), fix: false };
        return forbid::run(context, &options).map_err(|error| {
            error.context(super::Refusal::new(
                "pycache-guard could not check the staged files",
                "fix the cause above, or skip the check once with `PYCACHE_GUARD_SKIP=1 git commit ...`",
            ))
        });
    }
    let arguments: Vec<String> = args.args.iter().map(|arg| arg.to_string_lossy().into_owned()).collect();
    // git writes the rewritten commits (post-rewrite) or the ref updates on stdin.
    let mut stdin = String::new();
    if hook.reads_stdin() && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin);
    }
    rebuild::run_hook(context, hook, &arguments, &stdin)
}
