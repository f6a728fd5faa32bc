//! The picture (DOT).

use super::*;

#[test]
fn dot_groups_by_network_and_marks_problems_red() {
    let doc = MeshDocument::parse(BROKEN).unwrap();
    let report = check(&doc);
    let dot = to_dot(&doc, &report);
    // Problems are numbered in report order, errors and warnings only.
    let number = |code: Code| {
        1 + report
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Info)
            .position(|d| d.code == code)
            .unwrap()
    };
    assert!(dot.starts_with("digraph mesh {\n"));
    assert!(dot.ends_with("}\n"));
    assert!(dot.contains("label=\"network net-a\"; color=red;"), "{dot}");
    let unreachable = number(Code::ControlPlaneUnreachable);
    assert!(dot.contains(&format!("\"cluster:west-remote\" -> \"cluster:west\" [style=dashed, label=\"control plane\\nproblem {unreachable}\", color=red];")), "{dot}");
    assert!(dot.contains("\"cluster:east-vpn\" -> \"cluster:east\" [style=dashed, label=\"control plane\", color=black];"), "{dot}");
    assert!(dot.contains(
        "\"network:net-a\" -> \"network:net-b\" [dir=none, style=bold, label=\"link\"];"
    ));
    assert!(dot.contains("\"unresolved:net-a/eastwest.east.example.com\""));
    let api = number(Code::ApiServerUnreachable);
    assert!(dot.contains(&format!(
        "label=\"API server unreachable\\nproblem {api}\", color=red"
    )));
    // A valid mesh has no red at all.
    let ok = MeshDocument::parse(test_support::EXAMPLE_SPLIT_HORIZON).unwrap();
    let dot = to_dot(&ok, &check(&ok));
    assert!(!dot.contains("red"), "{dot}");
    assert!(dot.contains("\"cluster:cluster2\" -> \"cluster:cluster1\""));
}

#[test]
fn every_problem_is_drawn_and_numbered_in_a_legend() {
    let doc = MeshDocument::parse(BROKEN).unwrap();
    let report = check(&doc);
    let dot = to_dot(&doc, &report);
    let problems: Vec<&Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .collect();
    let number = |code: Code| problems.iter().position(|d| d.code == code).unwrap() + 1;
    // Every error and warning is in the legend, numbered in report order.
    for (i, d) in problems.iter().enumerate() {
        let entry = format!("{} {}[{}]: ", i + 1, d.severity, d.code);
        assert!(dot.contains(&entry), "{entry} missing:\n{dot}");
    }
    // The control-plane edge of control-plane-not-primary is drawn, red, with its number.
    let not_primary = number(Code::ControlPlaneNotPrimary);
    let edge = format!(
        "\"cluster:chained\" -> \"cluster:west-remote\" [style=dashed, label=\"control plane\\nproblem {not_primary}\", color=red];"
    );
    assert!(dot.contains(&edge), "{edge}\n{dot}");
    // Both edges of a controlPlane cycle.
    let cycle = number(Code::ControlPlaneCycle);
    for (a, b) in [("loop-a", "loop-b"), ("loop-b", "loop-a")] {
        let edge = format!(
            "\"cluster:{a}\" -> \"cluster:{b}\" [style=dashed, label=\"control plane\\nproblem {cycle}\", color=red];"
        );
        assert!(dot.contains(&edge), "{edge}\n{dot}");
    }
    // The cluster whose controlPlane names no cluster is red, and points at the missing name.
    let unknown = number(Code::UnknownCluster);
    assert!(
        dot.contains(&format!(
            "\"cluster:ghost\" [shape=box, label=\"ghost\\nremote\\nproblem {unknown}\", color=red];"
        )),
        "{dot}"
    );
    assert!(
        dot.contains("\"cluster:ghost\" -> \"missing:nowhere\""),
        "{dot}"
    );
    // Nothing is red without saying which problems make it so.
    for line in dot
        .lines()
        .filter(|l| l.contains("color=red") && l.contains("label="))
    {
        if line.contains("subgraph") || line.trim_start().starts_with("label=") {
            continue;
        }
        assert!(line.contains("problem"), "red without a reason: {line}");
    }
}
