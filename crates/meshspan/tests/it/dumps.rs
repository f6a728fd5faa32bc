//! `--cluster NAME=DUMP` on every command that reads a mesh: the same answer as on the document
//! `meshspan import` writes from the same dumps, clear errors for bad `--cluster` values, and no
//! Secret value in any output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn meshspan(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshspan"))
        .args(args)
        .output()
        .expect("run meshspan")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|&a| a.to_owned()).collect()
}

fn data(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mesh-kube/tests/data")
        .join(file)
        .display()
        .to_string()
}

/// A mesh of kubectl dumps: `(cluster, dump file)` each, and a service of it.
struct Mesh {
    name: &'static str,
    dumps: [(&'static str, &'static str); 2],
    service: &'static str,
}

const MESHES: [Mesh; 3] = [
    Mesh {
        name: "multi-primary",
        dumps: [
            ("cluster1", "multi-primary-cluster1.json"),
            ("cluster2", "multi-primary-cluster2.yaml"),
        ],
        service: "reviews.bookinfo",
    },
    Mesh {
        name: "primary-remote",
        dumps: [
            ("cluster1", "primary-remote-cluster1.yaml"),
            ("cluster2", "primary-remote-cluster2.json"),
        ],
        service: "reviews.bookinfo",
    },
    Mesh {
        name: "vpn",
        dumps: [
            ("cluster1", "vpn-cluster1.yaml"),
            ("cluster3", "vpn-cluster3.yaml"),
        ],
        service: "reviews.bookinfo",
    },
];

impl Mesh {
    /// `--cluster NAME=DUMP` for each dump.
    fn cluster_args(&self) -> Vec<String> {
        self.dumps
            .iter()
            .flat_map(|(n, f)| ["--cluster".to_owned(), format!("{n}={}", data(f))])
            .collect()
    }

    /// The document `meshspan import` writes from the dumps, in a file.
    fn imported(&self) -> PathBuf {
        let mut args = strings(&["import"]);
        args.extend(self.cluster_args());
        let out = meshspan(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dumps-{}.yaml", self.name));
        std::fs::write(&file, &out.stdout).expect("write the imported document");
        file
    }

    /// Every command reading a mesh, in its mesh-independent arguments: what each runs on the
    /// dumps and on the imported document.
    fn commands(&self) -> Vec<Vec<String>> {
        let [(c1, _), (c2, _)] = self.dumps;
        let s = self.service;
        let mut list = vec![
            strings(&["check"]),
            strings(&["check", "-o", "json"]),
            strings(&["graph"]),
            strings(&["what-if", "--fail", &format!("cluster:{c2}")]),
            strings(&[
                "what-if",
                "--fail",
                &format!("api-server:{c2}"),
                "-o",
                "json",
            ]),
            strings(&["what-if", "--event", &format!("secret-deleted:{c2}")]),
        ];
        for c in [c1, c2] {
            list.push(strings(&["eds", "--cluster", c]));
            list.push(strings(&["eds", "--cluster", c, "-o", "istioctl"]));
            list.push(strings(&["explain", "--cluster", c, "--service", s]));
            list.push(strings(&["explain", "--cluster", c, "-o", "json"]));
        }
        list.push(strings(&[
            "explain",
            "--cluster",
            c1,
            "--service",
            s,
            "--event",
            &format!("secret-rotated:{c2}"),
        ]));
        list
    }
}

/// The stdout and exit code of a run (the import report on stderr is the only addition dumps
/// make).
fn answer(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_command_on_dumps_answers_as_on_the_imported_document() {
    for mesh in &MESHES {
        let file = mesh.imported();
        let file = file.display().to_string();
        let mut compared = 0;
        for command in mesh.commands() {
            // On the document: the command, then its file.
            let mut on_doc = vec![command[0].clone(), file.clone()];
            on_doc.extend(command[1..].iter().cloned());
            // On the dumps: the dumps' `--cluster NAME=DUMP` in place of the file.
            let mut on_dumps = vec![command[0].clone()];
            on_dumps.extend(mesh.cluster_args());
            on_dumps.extend(command[1..].iter().cloned());
            let (doc, dumps) = (meshspan(&on_doc), meshspan(&on_dumps));
            let doc_answer = answer(&doc);
            assert!(
                matches!(doc_answer.0, Some(0 | 1)) && !doc_answer.1.is_empty(),
                "{} on the document: {doc_answer:?}\n{}",
                mesh.name,
                String::from_utf8_lossy(&doc.stderr)
            );
            // `check`'s first line names the origin: the file, or the dumps.
            let strip_origin = |(code, text): (Option<i32>, String)| {
                let text = text.replace(&file, "ORIGIN").replace(
                    &format!("imported from {}", mesh.dumps.map(|(n, _)| n).join(", ")),
                    "ORIGIN",
                );
                (code, text)
            };
            assert_eq!(
                strip_origin(answer(&dumps)),
                strip_origin(doc_answer),
                "{}: meshspan {}",
                mesh.name,
                on_dumps.join(" ")
            );
            // The import's report goes to standard error, as with `check --cluster`.
            let stderr = String::from_utf8_lossy(&dumps.stderr);
            assert!(
                stderr.contains(&format!("read {}: ", mesh.dumps[0].0)),
                "{}: meshspan {}: no import report on stderr:\n{stderr}",
                mesh.name,
                on_dumps.join(" ")
            );
            compared += 1;
        }
        assert!(compared >= 10, "{compared}");
    }
}

#[test]
fn bad_cluster_values_are_usage_errors_naming_the_value() {
    let mesh = &MESHES[0];
    let dumps = mesh.cluster_args();
    let with_dumps = |rest: &[&str]| {
        let mut a = vec![rest[0].to_owned()];
        a.extend(dumps.iter().cloned());
        a.extend(strings(&rest[1..]));
        a
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        // Two bare names: which proxies?
        (
            with_dumps(&["eds", "--cluster", "cluster1", "--cluster", "cluster2"]),
            "--cluster cluster1, --cluster cluster2: one bare NAME picks the proxies' cluster",
        ),
        // A bare name no dump imports.
        (
            with_dumps(&["explain", "--cluster", "cluster9"]),
            "imported from cluster1, cluster2: no cluster named cluster9; its clusters: cluster1, cluster2",
        ),
        // Both a bare name and --network.
        (
            with_dumps(&["eds", "--cluster", "cluster1", "--network", "network1"]),
            "--cluster cluster1 and --network network1: give one of them",
        ),
        // Dumps but no proxies.
        (with_dumps(&["eds"]), "give --network or --cluster"),
        // Dumps and a document.
        (
            {
                let mut a = with_dumps(&["eds", "--cluster", "cluster1"]);
                a.push("--example".into());
                a
            },
            "give --example or --cluster NAME=DUMP dumps, not both",
        ),
        // An empty name or dump.
        (
            strings(&["eds", "--cluster", "=x.yaml", "--cluster", "c"]),
            "--cluster \"=x.yaml\": expected NAME=VALUE",
        ),
        (
            strings(&["explain", "--cluster", "c=", "--cluster", "c"]),
            "--cluster \"c=\": expected NAME=VALUE",
        ),
        // A dump that is not there.
        (
            strings(&[
                "eds",
                "--cluster",
                "c=/nonexistent/dump.yaml",
                "--cluster",
                "c",
            ]),
            "/nonexistent/dump.yaml: cannot read",
        ),
        // No mesh at all.
        (
            strings(&["eds", "--cluster", "c"]),
            "no mesh document: give FILE, `-`, --example or --cluster NAME=DUMP",
        ),
    ];
    for (args, message) in cases {
        let out = meshspan(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "meshspan {}: {stderr}",
            args.join(" ")
        );
        assert!(
            stderr.contains(message),
            "meshspan {}: expected {message:?} in:\n{stderr}",
            args.join(" ")
        );
        assert!(out.stdout.is_empty(), "meshspan {}", args.join(" "));
    }
}

#[test]
fn no_secret_value_in_any_command_output_on_dumps() {
    let texts: Vec<String> = MESHES
        .iter()
        .flat_map(|m| {
            m.dumps
                .map(|(_, f)| std::fs::read_to_string(data(f)).expect("dump"))
        })
        .collect();
    let canaries =
        test_support::secret_canaries(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        canaries.len() > 10,
        "the dumps hold secrets: {}",
        canaries.len()
    );
    let mut runs = 0;
    for mesh in &MESHES {
        let mut commands = mesh.commands();
        commands.push(strings(&["import"]));
        commands.push(strings(&["import", "-o", "json"]));
        for command in commands {
            let mut args = vec![command[0].clone()];
            args.extend(mesh.cluster_args());
            args.extend(command[1..].iter().cloned());
            let out = meshspan(&args);
            assert!(!out.stdout.is_empty(), "meshspan {}", args.join(" "));
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            for c in &canaries {
                assert!(
                    !text.contains(c.as_str()),
                    "meshspan {}: secret value {c} in:\n{text}",
                    args.join(" ")
                );
            }
            runs += 1;
        }
    }
    assert!(runs > 30, "{runs}");
}
