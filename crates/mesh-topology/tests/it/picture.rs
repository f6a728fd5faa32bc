//! The picture (DOT).

use super::*;

#[test]
fn dot_groups_by_network_and_marks_problems_red() {
    let doc = MeshDocument::parse(BROKEN).unwrap();
    let dot = to_dot(&doc, &check(&doc));
    assert!(dot.starts_with("digraph mesh {\n"));
    assert!(dot.ends_with("}\n"));
    assert!(dot.contains("label=\"network net-a\"; color=red;"), "{dot}");
    assert!(dot.contains("\"cluster:west-remote\" -> \"cluster:west\" [style=dashed, label=\"control plane\", color=red];"), "{dot}");
    assert!(dot.contains("\"cluster:east-vpn\" -> \"cluster:east\" [style=dashed, label=\"control plane\", color=black];"), "{dot}");
    assert!(dot.contains(
        "\"network:net-a\" -> \"network:net-b\" [dir=none, style=bold, label=\"link\"];"
    ));
    assert!(dot.contains("\"unresolved:net-a/eastwest.east.example.com\""));
    assert!(dot.contains("label=\"API server unreachable\", color=red"));
    // A valid mesh has no red at all.
    let ok = MeshDocument::parse(test_support::EXAMPLE_SPLIT_HORIZON).unwrap();
    let dot = to_dot(&ok, &check(&ok));
    assert!(!dot.contains("red"), "{dot}");
    assert!(dot.contains("\"cluster:cluster2\" -> \"cluster:cluster1\""));
}
