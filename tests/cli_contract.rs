//! The command-line contract that is not tied to one command: shell
//! completions, the manual page, the `--help` layout and option spellings.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use common::TestEnv;
const SUBCOMMANDS: [&str; 9] =
    ["install", "uninstall", "forbid", "gitignore", "rebuild", "wait", "check", "clean", "completions"];

/// What bash's own completion machinery offers for the words typed so far,
/// using the script the binary generated.
fn bash_complete(env: &TestEnv, script: &str, words: &[&str]) -> Vec<String> {
    let script_path = env.write("completion.bash", script);
    let line = words.join(" ");
    let program = format!(
        "source '{}'\nCOMP_WORDS=({line})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _pycache__guard pycache-guard '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script_path.display(),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let run = common::Run::from(
        std::process::Command::new("bash").args(["--norc", "--noprofile", "-c", &program]).output().expect("bash runs"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completion_completes_subcommands_and_their_options() {
    let env = TestEnv::new();
    let script = env.run(&["completions", "bash"]).expect_code(0).stdout;
    assert_eq!(bash_complete(&env, &script, &["pycache-guard", "reb"]), ["rebuild"]);
    let offered = bash_complete(&env, &script, &["pycache-guard", "check", "--for"]);
    assert_eq!(offered, ["--format"], "check's own option is offered");
    let offered = bash_complete(&env, &script, &["pycache-guard", "check", "--format", ""]);
    assert_eq!(offered, ["human", "json", "github"], "the format values are offered");
}

#[test]
fn every_shell_gets_a_script_naming_every_subcommand() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = env.run(&["completions", shell]).expect_code(0).stdout;
        for subcommand in SUBCOMMANDS {
            assert!(script.contains(subcommand), "the {shell} script lacks `{subcommand}`");
        }
    }
    let run = env.run(&["completions", "tcsh"]).expect_code(2);
    assert!(run.stderr.contains("invalid value 'tcsh'"), "{}", run.stderr);
}

#[test]
fn the_manual_page_is_roff_from_the_same_definitions_as_help() {
    let env = TestEnv::new();
    let page = env.run(&["man"]).expect_code(0).stdout;
    assert!(page.contains(".TH pycache-guard 1"), "not a section-1 man page:\n{page}");
    for subcommand in SUBCOMMANDS {
        assert!(
            page.contains(&format!("\npycache\\-guard\\-{subcommand}(1)\n")),
            "{subcommand} is not listed:\n{page}"
        );
    }
    // The exit status table of `--help` is in the page too.
    assert!(page.contains("usage error, or the tool could not do its job"), "{page}");

    // With --dir, the pages it lists exist, each for its own command.
    let dir = env.root().join("man1");
    std::fs::create_dir(&dir).expect("mkdir");
    env.run(&["man", "--dir", dir.to_str().expect("utf-8")]).expect_code(0);
    for subcommand in SUBCOMMANDS {
        let sub_page = std::fs::read_to_string(dir.join(format!("pycache-guard-{subcommand}.1"))).expect("a page");
        assert!(sub_page.contains(&format!(".TH pycache-guard-{subcommand} 1")), "{sub_page}");
    }
    let run = env.run(&["man", "--dir", "does/not/exist"]).expect_code(2);
    assert!(run.stderr.contains("cannot write the manual pages into `does/not/exist`"), "{}", run.stderr);
}

#[test]
fn help_lists_global_options_apart_from_a_commands_own() {
    let env = TestEnv::new();
    let help = env.run(&["check", "--help"]).expect_code(0).stdout;
    let own = help.find("Options:").expect("an Options heading");
    let global = help.find("Global options:").expect("a Global options heading");
    let format = help.find("--format").expect("check's --format");
    let color = help.find("--color").expect("the global --color");
    assert!(own < format && format < global && global < color, "{help}");
}

#[test]
fn output_format_is_an_alias_of_format() {
    let env = TestEnv::new();
    env.write("m.py", "x = 1\n");
    env.commit_all("m");
    let spelled = env.run(&["check", "--no-syntax", "--output-format", "json"]);
    let plain = env.run(&["check", "--no-syntax", "--format", "json"]);
    assert_eq!(spelled.code, plain.code);
    let document: serde_json::Value = serde_json::from_str(&spelled.stdout).expect("JSON on stdout");
    assert!(document.get("version").is_some(), "{}", spelled.stdout);
    assert_eq!(spelled.stdout, plain.stdout);
}

#[test]
fn a_path_that_does_not_exist_is_an_error_in_every_command() {
    let env = TestEnv::new();
    env.write("m.py", "x = 1\n");
    env.commit_all("m");
    for args in [
        &["check", "nope.py"][..],
        &["rebuild", "nope.py"],
        &["clean", "nope"],
        &["forbid", "nope.pyc"],
        &["check", "m.py", "nope.py"],
    ] {
        let run = env.run(args).expect_code(2);
        assert!(run.stderr.contains("error: `nope"), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("does not exist"), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("git rm"), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn forbid_still_judges_a_staged_path_deleted_from_the_work_tree() {
    let env = TestEnv::new();
    env.write(".gitignore", "");
    env.write("m.pyc", "bytecode");
    env.git(&["add", "-f", "m.pyc"]);
    std::fs::remove_file(env.repo.join("m.pyc")).expect("rm");
    let run = env.run(&["forbid", "m.pyc"]).expect_code(1);
    assert!(run.stderr.contains("commit blocked"), "{}", run.stderr);
}

#[test]
fn forbid_suggests_gitignore_only_when_a_rule_is_missing() {
    let env = TestEnv::new();
    env.write("m.pyc", "bytecode");
    env.git(&["add", "-f", "m.pyc"]);
    let run = env.run(&["forbid"]).expect_code(1);
    assert!(run.stderr.contains("pycache-guard gitignore"), "no rules, so the hint names the fix: {}", run.stderr);

    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    let run = env.run(&["forbid"]).expect_code(1);
    assert!(run.stderr.contains("git rm -r --cached -- m.pyc"), "{}", run.stderr);
    assert!(!run.stderr.contains("pycache-guard gitignore"), "every rule is in effect: {}", run.stderr);
}

/// Runs `git args...` in the work tree on a pseudo-terminal (util-linux
/// `script`), as a person at a terminal would, and returns what appeared there.
fn git_on_a_terminal(env: &TestEnv, args: &str) -> String {
    let run = common::Run::from(
        env.command_in("script", &env.repo)
            .args(["-qec", &format!("git {args}"), "/dev/null"])
            .output()
            .expect("script runs"),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.stdout
}

#[test]
fn a_hook_that_succeeds_is_quiet_even_on_a_terminal() {
    let mut env = TestEnv::new();
    env.use_python(&common::python::default().path);
    env.write("m.py", "x = 1\n");
    env.commit_all("one");
    env.git(&["checkout", "-q", "-b", "other"]);
    env.write("m.py", "x = 22\n");
    env.commit_all("two");
    env.install_hooks();
    let run = env.python(common::python::default(), &["-c", "import m"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let shown = git_on_a_terminal(&env, "checkout -q main");
    assert!(!shown.contains("compile"), "a successful hook spoke on the terminal: {shown:?}");
    env.wait_in(&env.repo);
    let log = String::from_utf8(env.read(".git/pycache-guard/rebuild.log")).expect("utf-8");
    assert!(log.contains(": compiled 1 file"), "the hooks did their work: {log}");

    env.git(&["config", "pycache-guard.hookSummary", "true"]);
    let shown = git_on_a_terminal(&env, "checkout -q other");
    assert!(shown.contains("1 source to compile in the background"), "asked for, the summary shows: {shown:?}");
    env.wait_in(&env.repo);
}

#[test]
fn color_always_and_clicolor_force_colour_stdout_and_stderr_alike() {
    let env = TestEnv::new();
    env.write("m.pyc", "bytecode");
    env.git(&["add", "-f", "m.pyc"]);
    let colored = |run: &common::Run| (run.stdout.contains("\u{1b}["), run.stderr.contains("\u{1b}["));
    let report = |extra: &[(&str, &str)], args: &[&str]| {
        let mut check = env.command_in(common::binary(), &env.repo);
        check.args(args).args(["check", "--no-syntax", "--select", "tracked-bytecode"]);
        let mut forbid = env.command_in(common::binary(), &env.repo);
        forbid.args(args).arg("forbid");
        for (key, value) in extra {
            check.env(key, value);
            forbid.env(key, value);
        }
        let check = common::Run::from(check.output().expect("check runs"));
        let forbid = common::Run::from(forbid.output().expect("forbid runs"));
        (colored(&check).0, colored(&forbid).1)
    };
    // Neither stream is a terminal here, and NO_COLOR is set by the harness.
    assert_eq!(report(&[], &[]), (false, false), "no colour by default off a terminal");
    assert_eq!(report(&[], &["--color", "always"]), (true, true), "--color always colours both streams");
    assert_eq!(report(&[("CLICOLOR_FORCE", "1")], &[]), (true, true), "CLICOLOR_FORCE colours both streams");
    assert_eq!(report(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]), (false, false), "--color never wins");
}

#[test]
fn syntax_errors_have_a_real_line_and_column_and_the_label_of_the_exit_status() {
    let mut env = TestEnv::new();
    let python = common::require_python!();
    env.use_python(&python.path);
    // CPython places a BOM that contradicts the cookie at line 0; the cookie's line is shown.
    env.write("bom_first_line.py", b"\xef\xbb\xbf# coding: latin-1\nX = 1\n");
    env.write("bom_second_line.py", b"\xef\xbb\xbf#!/usr/bin/env python\n# coding: latin-1\nX = 1\n");
    env.write("broken.py", "X = (\n");
    env.commit_all("sources");
    let expected = [("bom_first_line.py", 1), ("bom_second_line.py", 2), ("broken.py", 1)];

    let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]).expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    for (name, line) in expected {
        let finding = report["findings"].as_array().unwrap().iter().find(|f| f["path"] == name).expect(name);
        assert_eq!(finding["line"], line, "{name}: {finding}");
        assert!(finding["column"].as_u64().is_some_and(|column| column >= 1), "{name}: {finding}");
        assert_eq!(finding["severity"], "error", "exit 1 goes with the label error: {finding}");
    }
    let human = env.run(&["check", "--select", "syntax-error"]).expect_code(1).stdout;
    assert!(human.contains("bom_second_line.py:2:1: encoding problem"), "{human}");
    assert!(!human.contains(":0:"), "{human}");

    // An explicit rebuild exits 1 for them, so it labels them errors, each at its place.
    let run = env.run(&["rebuild", "--all"]).expect_code(1);
    for (name, line) in expected {
        assert!(run.stderr.contains(&format!("error: {name}:{line}:")), "{name}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("warning: bom") && !run.stderr.contains(":0:"), "{}", run.stderr);
    // A hook exits 0 whatever happened, so the same problems are warnings there:
    // in the foreground, and from the background rebuild (shown by the `wait` the harness runs).
    env.git(&["config", "pycache-guard.background", "false"]);
    let run = env.run(&["rebuild", "--hook", "--all"]).expect_code(0);
    assert!(run.stderr.contains("warning: bom_first_line.py:1:1: encoding problem"), "{}", run.stderr);
    assert!(!run.stderr.contains("error:"), "{}", run.stderr);
    env.git(&["config", "pycache-guard.background", "true"]);
    let run = env.run(&["rebuild", "--hook", "--all"]).expect_code(0);
    assert!(run.stderr.contains("warning: bom_first_line.py:1:1: encoding problem"), "{}", run.stderr);
    assert!(!run.stderr.contains("error:"), "{}", run.stderr);
}

#[test]
fn stats_group_by_package_folder_at_any_depth_and_count_pytest_caches_apart() {
    let env = TestEnv::new();
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    for source in ["src/pkg/__init__.py", "src/pkg/sub/deep.py", "src/pkg/sub/test_deep.py", "top.py"] {
        env.write(source, "X = 1\n");
    }
    env.commit_all("sources");
    env.write("src/pkg/__pycache__/__init__.cpython-312.pyc", [0u8; 100]);
    env.write("src/pkg/sub/__pycache__/deep.cpython-312.pyc", [0u8; 200]);
    env.write("src/pkg/sub/__pycache__/deep.cpython-313.pyc", [0u8; 300]);
    env.write("src/pkg/sub/__pycache__/test_deep.cpython-312-pytest-8.3.2.pyc", [0u8; 400]);
    env.write("__pycache__/top.cpython-312.pyc", [0u8; 50]);
    let run = env.run(&["check", "--no-syntax", "--stats", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let table = |name: &str| -> Vec<(String, u64, u64)> {
        let mut rows: Vec<(String, u64, u64)> = report["stats"][name]
            .as_object()
            .unwrap_or_else(|| panic!("no stats.{name}: {}", run.stdout))
            .iter()
            .map(|(key, value)| (key.clone(), value["files"].as_u64().unwrap(), value["bytes"].as_u64().unwrap()))
            .collect();
        rows.sort();
        rows
    };
    let row = |key: &str, files: u64, bytes: u64| (key.to_string(), files, bytes);
    assert_eq!(table("by_folder"), [row(".", 1, 50), row("src/pkg", 1, 100), row("src/pkg/sub", 3, 900)]);
    assert_eq!(table("by_tag"), [row("cpython-312", 3, 350), row("cpython-313", 1, 300), row("pytest", 1, 400)]);
    let human = env.run(&["check", "--no-syntax", "--stats"]).stdout;
    assert!(human.contains("  src/pkg/sub   "), "{human}");
    assert!(human.contains("  pytest   "), "{human}");
}

#[test]
fn stats_with_github_annotations_is_refused_not_dropped() {
    let env = TestEnv::new();
    env.write("m.py", "x = 1\n");
    env.commit_all("m");
    let run = env.run(&["check", "--stats", "--format", "github"]).expect_code(2);
    assert!(
        run.stderr.contains("error: `--stats` is a table, and GitHub annotations have no place for one"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--format json"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing half-done on stdout: {}", run.stdout);
    env.run(&["check", "--stats", "--format", "json"]).expect_code(0);
}

#[test]
fn a_bad_optimize_level_is_refused_when_the_config_is_read_not_per_file() {
    let mut env = TestEnv::new();
    let python = common::require_python!();
    env.use_python(&python.path);
    env.write("a.py", "A = 1\n");
    env.write("b.py", "B = 1\n");
    env.write("pyproject.toml", "[project]\nname = 'x'\n\n[tool.pycache-guard]\noptimize = [0, 3]\n");
    env.commit_all("sources");
    for args in [&["rebuild", "--all"][..], &["rebuild", "a.py"], &["check"]] {
        let run = env.run(args).expect_code(2);
        let errors: Vec<&str> = run.stderr.lines().filter(|line| line.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: one refusal, not one per file: {}", run.stderr);
        assert!(errors[0].contains("pyproject.toml` at line 5, column 12"), "{args:?}: {}", errors[0]);
        assert!(errors[0].contains("`optimize` takes a list of the levels 0, 1 and 2"), "{args:?}: {}", errors[0]);
        assert!(errors[0].ends_with("not `3`"), "{args:?}: {}", errors[0]);
    }
    assert!(!env.repo.join("__pycache__").exists(), "nothing was compiled with a config that was refused");
}

#[test]
fn toml_errors_give_the_line_and_column() {
    let env = TestEnv::new();
    env.write("m.py", "x = 1\n");
    env.write("pyproject.toml", "[project]\nname = 'x'\n[tool.pycache-guard]\nallow = ['a.pyc'\n");
    env.commit_all("m");
    let run = env.run(&["check", "--no-syntax"]).expect_code(2);
    assert!(run.stderr.contains("pyproject.toml` at line 4, column 17: "), "{}", run.stderr);
    env.write("pyproject.toml", "[tool.pycache-guard]\nallow = []\nbackground = 'yes'\n");
    let run = env.run(&["check", "--no-syntax"]).expect_code(2);
    assert!(run.stderr.contains("pyproject.toml` at line 3, column 14: "), "{}", run.stderr);
}

#[test]
fn quiet_prints_only_errors() {
    let mut env = TestEnv::new();
    let python = common::require_python!();
    env.use_python(&python.path);
    env.extra_env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
    env.write("m.py", "x = 1\n");
    env.write("bad.py", "def f(:\n");
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    env.commit_all("sources");
    env.write("gone/__pycache__/g.cpython-312.pyc", "an orphan: a warning");

    // check: the error findings with their hints; no warning, note or summary.
    let run = env.run(&["-q", "check"]).expect_code(1);
    assert!(run.stdout.starts_with("error[syntax-error]: 1 finding\n  bad.py:1:"), "{}", run.stdout);
    for absent in ["warning[", "info[", "check failed", "orphan"] {
        assert!(!run.stdout.contains(absent), "-q check printed {absent:?}:\n{}", run.stdout);
    }
    assert_eq!(run.stderr, "");
    // Without -q the same run shows the rest, so the test above can fail.
    let loud = env.run(&["check"]).expect_code(1);
    assert!(
        loud.stdout.contains("warning[orphan-bytecode]") && loud.stdout.contains("check failed"),
        "{}",
        loud.stdout
    );

    // rebuild: the syntax error, not the PYTHONDONTWRITEBYTECODE warning.
    let run = env.run(&["-q", "rebuild", "--all"]).expect_code(1);
    assert_eq!(run.stderr.lines().collect::<Vec<_>>().len(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: bad.py:1:"), "{}", run.stderr);
    assert!(env.run(&["rebuild", "--all"]).stderr.contains("warning: PYTHONDONTWRITEBYTECODE"));

    // Commands that succeed say nothing at all.
    for args in [&["-q", "install"][..], &["-q", "gitignore"], &["-q", "clean"], &["-q", "uninstall"]] {
        let run = env.run(args);
        assert!(run.code <= 1, "{args:?}: {}", run.stderr);
        assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""), "{args:?}");
    }
}

#[test]
fn verbose_explains_the_interpreter_the_changed_set_and_what_was_skipped() {
    let mut env = TestEnv::new();
    let python = common::require_python!();
    env.use_python(&python.path);
    env.write("pyproject.toml", "[tool.pycache-guard]\nexclude = [\"generated/*\"]\n");
    env.write("a.py", "A = 1\n");
    env.write("generated/g.py", "G = 1\n");
    env.commit_all("one");
    env.write("a.py", "A = 2\n");
    env.commit_all("two");

    let run = env.run(&["-v", "rebuild", "--all"]).expect_code(0);
    let why_interpreter = format!("(Python {}.{}", python.version.0, python.version.1);
    assert!(
        run.stderr.contains(&why_interpreter) && run.stderr.contains("from `PYCACHE_GUARD_PYTHON`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("what to rebuild: every tracked source (`--all`"), "{}", run.stderr);
    assert!(run.stderr.contains("2 sources selected, 1 to compile"), "{}", run.stderr);
    assert!(run.stderr.contains("skipped generated/g.py: matches `exclude`"), "{}", run.stderr);

    let run = env.run(&["-v", "rebuild", "--since", "HEAD~1", "--dry-run"]).expect_code(0);
    assert!(run.stderr.contains("what to rebuild: the files git changed between "), "{}", run.stderr);
    assert!(run.stderr.contains("1 source selected, 1 to compile"), "{}", run.stderr);
    let run = env.run(&["-v", "rebuild", "a.py", "--dry-run"]).expect_code(0);
    assert!(run.stderr.contains("what to rebuild: the tracked sources under the path named"), "{}", run.stderr);
    let run = env.run(&["-v", "rebuild"]).expect_code(0);
    assert!(run.stderr.contains("every cache in that selection is current"), "{}", run.stderr);

    // Without -v, none of it.
    let run = env.run(&["rebuild", "--all"]).expect_code(0);
    assert!(!run.stderr.contains("what to rebuild") && !run.stderr.contains("skipped"), "{}", run.stderr);
    let run = env.run(&["-v", "check", "--no-syntax"]);
    assert!(run.stderr.contains("skipping the checks syntax-error (`--no-syntax`)"), "{}", run.stderr);
}

#[test]
fn color_always_and_clicolor_force_also_agree_for_help_and_usage_errors() {
    let env = TestEnv::new();
    let colored = |extra: &[(&str, &str)], args: &[&str]| {
        let mut command = env.command_in(common::binary(), &env.repo);
        command.args(args);
        for (key, value) in extra {
            command.env(key, value);
        }
        let run = common::Run::from(command.output().expect("runs"));
        (run.stdout.contains("\u{1b}["), run.stderr.contains("\u{1b}["))
    };
    let help = ["--help"];
    let usage_error = ["check", "--no-such-option"];
    assert_eq!(colored(&[], &help), (false, false));
    assert_eq!(colored(&[("CLICOLOR_FORCE", "1")], &help), (true, false), "CLICOLOR_FORCE colours help");
    assert_eq!(colored(&[], &["--color", "always", "--help"]), (true, false), "--color always colours help");
    assert_eq!(colored(&[], &["--color=always", "check", "--help"]), (true, false));
    assert_eq!(colored(&[("CLICOLOR_FORCE", "1")], &usage_error), (false, true), "CLICOLOR_FORCE colours errors");
    let always_error = ["--color", "always", "check", "--no-such-option"];
    assert_eq!(colored(&[], &always_error), (false, true), "--color always colours errors");
    let never = ["--color", "never", "--help"];
    assert_eq!(colored(&[("CLICOLOR_FORCE", "1")], &never), (false, false), "--color never wins");
}

#[test]
fn unconfirmed_syntax_errors_without_an_interpreter_still_have_a_place() {
    let mut env = TestEnv::new();
    env.without_python();
    env.write("bom.py", b"\xef\xbb\xbf#!/usr/bin/env python\n# coding: latin-1\nX = 1\n");
    env.write("parens.py", format!("x = {}1{}\n", "(".repeat(300), ")".repeat(300)));
    env.commit_all("sources");
    let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]).expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{}", run.stdout);
    for finding in findings {
        let line = finding["line"].as_u64().unwrap_or_else(|| panic!("no line: {finding}"));
        let column = finding["column"].as_u64().unwrap_or_else(|| panic!("no column: {finding}"));
        assert!(line >= 1 && column >= 1, "{finding}");
        assert!(finding["message"].as_str().unwrap().contains("unconfirmed"), "{finding}");
    }
    let bom = findings.iter().find(|finding| finding["path"] == "bom.py").unwrap();
    assert_eq!((bom["line"].as_u64(), bom["column"].as_u64()), (Some(2), Some(1)), "the cookie's line: {bom}");
}
