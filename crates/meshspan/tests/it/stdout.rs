//! Every printing command, its reader gone (`meshspan … | head`): a quiet exit 0, never a panic.

use std::path::Path;
use std::process::{Command, Stdio};

fn example(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    p.to_str().expect("utf-8 path").to_owned()
}

/// Runs meshspan with its standard output a pipe whose read end is closed before it writes (it is
/// closed as soon as the process has started, long before the document is parsed): the first
/// write fails with a broken pipe. The exit status and standard error.
fn with_reader_gone(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshspan"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run meshspan");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for meshspan");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_exits_quietly_when_its_reader_is_gone() {
    let split = example("split-horizon.yaml");
    let replicated = example("replicated-control-planes.yaml");
    let broken = example("broken.yaml");
    let cases = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/istio-eds-cases.json");
    let cases = cases.to_str().expect("utf-8 path");
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["check", "--example"],
        vec!["check", "--example", "-o", "json"],
        vec!["check", &broken],
        vec!["what-if", &split, "--fail", "cluster:cluster2"],
        vec![
            "what-if",
            &split,
            "--fail",
            "cluster:cluster2",
            "-o",
            "json",
        ],
        vec!["graph", "--example"],
        vec!["eds", "--example", "--cluster", "cluster1"],
        vec!["eds", "--example", "--cluster", "cluster1", "-o", "yaml"],
        vec![
            "eds",
            "--example",
            "--cluster",
            "cluster1",
            "--service",
            "reviews.bookinfo",
            "-o",
            "pb",
        ],
        vec![
            "explain",
            "--example",
            "--cluster",
            "cluster1",
            "--service",
            "reviews.bookinfo",
        ],
        vec!["global", &replicated, "--cluster", "east"],
        vec!["global", &replicated, "--cluster", "east", "-o", "json"],
    ];
    if Path::new(cases).exists() {
        commands.push(vec!["conformance", "eval", cases]);
        commands.push(vec!["conformance", "check", cases]);
    }
    for args in commands {
        let (status, stderr) = with_reader_gone(&args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(status, Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
