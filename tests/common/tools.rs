//! Test-only Python tools (pre-commit, prek, lefthook, maturin, uv, pyclean) in a throwaway
//! virtualenv under cargo's target folder, created on first use. `.ci/run`
//! creates the same venv ahead of time; either way nothing is installed into
//! the system.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Pinned versions of the tools the tests drive.
/// uv sits beside prek so that prek's `language: python` finds it instead of downloading one.
pub const REQUIREMENTS: [&str; 6] =
    ["pre-commit==4.7.0", "prek==0.5.11", "pyclean==3.7.0", "lefthook==2.2.2", "maturin==1.16.0", "uv==0.13.7"];

/// The virtualenv's `bin` folder, created (once per machine) if missing.
pub fn venv_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(target_tmp).unwrap();
        let venv = target_tmp.join("tools-venv");
        let stamp = venv.join(format!("installed-{}", REQUIREMENTS.join("+")));
        // Test binaries may run in parallel processes: one builds, the others wait.
        let lock = std::fs::File::create(target_tmp.join("tools-venv.lock")).unwrap();
        lock.lock().unwrap();
        if !stamp.exists() {
            let _ = std::fs::remove_dir_all(&venv);
            let status = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 runs");
            assert!(status.success(), "python3 -m venv failed");
            let status = Command::new(venv.join("bin/python"))
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                .args(REQUIREMENTS)
                .status()
                .expect("pip runs");
            assert!(status.success(), "pip install {REQUIREMENTS:?} failed");
            std::fs::write(&stamp, "").unwrap();
        }
        lock.unlock().unwrap();
        venv.join("bin")
    })
}
