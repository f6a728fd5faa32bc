//! The README's commands run as written: every `meshspan …` (or `cargo run … --bin meshspan -- …`)
//! line of its `sh` blocks, from the project directory (`console` blocks need the reader's own
//! clusters and are not run).

use std::path::{Path, PathBuf};
use std::process::Command;

fn project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The argument lists of the README's meshspan command lines: comments, pipes and redirections cut
/// off.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(project_dir().join("README.md")).expect("README.md");
    let mut in_sh = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = line.split(" #").next().unwrap_or_default();
        let line = line.split(" |").next().unwrap_or_default();
        let line = line.split(" >").next().unwrap_or_default().trim();
        let rest = line
            .strip_prefix("cargo run --release --bin meshspan -- ")
            .or_else(|| line.strip_prefix("meshspan "));
        if let Some(rest) = rest {
            commands.push(rest.split_whitespace().map(str::to_owned).collect());
        }
    }
    commands
}

#[test]
fn readme_commands_run_as_written() {
    let commands = readme_commands();
    assert!(commands.len() >= 10, "{commands:?}");
    // The README's run command: the main job, on the built-in example, succeeds.
    assert_eq!(commands[0], ["check", "--example"]);
    // `certs init` never overwrites: start from no tree.
    let _ = std::fs::remove_dir_all(project_dir().join("target/readme-certs"));
    for args in &commands {
        let out = Command::new(env!("CARGO_BIN_EXE_meshspan"))
            .args(args)
            .current_dir(project_dir())
            .output()
            .expect("run meshspan");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let allowed: &[i32] = if args == &commands[0] { &[0] } else { &[0, 1] };
        assert!(
            out.status.code().is_some_and(|c| allowed.contains(&c)),
            "meshspan {}: {:?}\n{stderr}",
            args.join(" "),
            out.status.code()
        );
    }
}
