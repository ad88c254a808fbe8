//! The hook input parsers: post-rewrite's stdin, hook arguments and the
//! `PRE_COMMIT_*` variables never panic and never let anything but object
//! ids through as commits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pycache_guard::hook_event::{self, Event};
use pycache_guard::hook_type::HookType;

fn is_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fuzz_target!(|input: (String, Vec<String>, Vec<(String, String)>)| {
    let (stdin, args, variables) = input;
    for (old, new) in hook_event::parse_rewrite_pairs(&stdin) {
        assert!(is_id(&old) && is_id(&new));
    }
    for hook in HookType::ALL {
        if let Ok(Some(Event::Checkout { previous, new, .. })) = hook_event::parse_hook(hook, &args, &stdin) {
            assert!(is_id(&previous) && is_id(&new));
        }
    }
    let event = hook_event::from_pre_commit_env(|name| {
        variables.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
    });
    if let Some(Event::Checkout { previous, new, .. }) = event {
        assert!(is_id(&previous) && is_id(&new));
    }
});
