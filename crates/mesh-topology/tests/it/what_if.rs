//! What-if.

use super::*;

fn lost(w: &mesh_topology::WhatIf, net: &str, svc: &str) -> Vec<String> {
    w.impacts
        .iter()
        .find(|i| i.client_network == net && i.service == svc)
        .map(|i| {
            i.lost
                .iter()
                .flat_map(|l| {
                    l.addresses
                        .iter()
                        .map(move |a| format!("{a}@{}", l.cluster))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn what_if_gateway_down() {
    let doc = mesh(SPLIT);
    let w = simulate(&doc, &"gateway:n2/192.0.2.2".parse().unwrap()).unwrap();
    // n1 reached foo's sidecar endpoint through n2's only gateway; the no-sidecar one never.
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r"]);
    let i = &w.impacts[0];
    assert!(i.unreachable && i.remaining == 0);
    assert_eq!(w.impacts.len(), 1, "{w}");
    let new: Vec<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(new, [Code::NetworkWithoutGateway]);
    // The gateway of the other network does not matter to foo... but exposes istiod to r.
    let w = simulate(&doc, &"gateway:n1/192.0.2.1".parse().unwrap()).unwrap();
    let new: Vec<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(new, [Code::ControlPlaneUnreachable]);
    // r's workloads lose their control plane and keep their last config: foo's endpoints are
    // on their own network, reached by IP, so nothing is lost.
    assert_eq!(lost(&w, "n2", "foo.ns"), Vec::<String>::new(), "{w}");
    assert!(w.impacts.is_empty() && !w.any_unreachable(), "{w}");
    assert_eq!(w.last_config.len(), 1, "{w}");
    assert_eq!(w.last_config[0].client_network, "n2");
    assert!(
        w.last_config[0].why[0]
            .starts_with("workloads of cluster r (network n2) -> istiod of cluster p"),
        "{w}"
    );
    // A gateway that does not exist is an error that lists the network's gateways.
    assert_eq!(
        simulate(&doc, &"gateway:n2/192.0.2.99".parse().unwrap()).unwrap_err(),
        WhatIfError::NoSuchGateway {
            failure: "gateway:n2/192.0.2.99".into(),
            network: "n2".into(),
            address: "192.0.2.99".into(),
            known: vec!["192.0.2.2".into()],
        }
    );
}

#[test]
fn what_if_names_must_exist_and_hostnames_take_all_their_addresses() {
    let doc = mesh(SPLIT);
    let err = |f: &str| simulate(&doc, &f.parse().unwrap()).unwrap_err().to_string();
    assert_eq!(
        err("cluster:zz"),
        "cluster:zz: there is no cluster zz in this mesh"
    );
    assert_eq!(
        err("api-server:zz"),
        "api-server:zz: there is no cluster zz in this mesh"
    );
    assert_eq!(
        err("partition:n1,n9"),
        "partition:n1,n9: there is no network n9 in this mesh"
    );
    assert_eq!(
        err("link:n1,n2"),
        "link:n1,n2: no link joins n1 and n2 directly"
    );
    assert_eq!(
        err("gateway:n2/gw.example.com"),
        "gateway:n2/gw.example.com: network n2 has no gateway gw.example.com (its gateways: 192.0.2.2)"
    );
    // A hostname gateway resolving to two addresses: one address down loses nothing, the
    // hostname takes both.
    let doc = mesh(&format!(
        "{}  dns: {{gw.example.com: [192.0.2.7, 192.0.2.8]}}\n",
        SPLIT.replace(
            "{address: 192.0.2.2, port: 15443}",
            "{address: gw.example.com, port: 15443}"
        )
    ));
    let one = simulate(&doc, &"gateway:n2/192.0.2.7".parse().unwrap()).unwrap();
    assert!(one.impacts.is_empty(), "{one}");
    let both = simulate(&doc, &"gateway:n2/gw.example.com".parse().unwrap()).unwrap();
    assert_eq!(lost(&both, "n1", "foo.ns"), ["10.2.0.5@r"]);
}

#[test]
fn what_if_link_cut_and_partition() {
    let doc = mesh(&format!(
        "{}  links: [{{networks: [n1, n2]}}]\n",
        SPLIT.replace(
            "gateways: [{address: 192.0.2.2, port: 15443}]",
            "gateways: []"
        )
    ));
    assert!(!check(&doc).has_errors());
    let w = simulate(&doc, &"link:n2,n1".parse().unwrap()).unwrap();
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    assert!(w.any_unreachable());
    let new: BTreeSet<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        new,
        BTreeSet::from([
            Code::NetworkWithoutGateway,
            Code::RemoteEndpointWithoutSidecar
        ])
    );
    // A partition breaks gateway paths too: with n2's gateway back, a cut link still leaves
    // the sidecar endpoint reachable, a partition does not.
    let doc = mesh(&format!("{SPLIT}  links: [{{networks: [n1, n2]}}]\n"));
    let cut = simulate(&doc, &"link:n1,n2".parse().unwrap()).unwrap();
    assert_eq!(lost(&cut, "n1", "foo.ns"), ["10.2.0.6@r"]);
    let part = simulate(&doc, &"partition:n1,n2".parse().unwrap()).unwrap();
    assert_eq!(lost(&part, "n1", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    assert!(
        part.new_diagnostics
            .iter()
            .any(|d| d.code == Code::ControlPlaneUnreachable)
    );
}

#[test]
fn what_if_api_server_unreachable_and_cluster_removed() {
    let doc = mesh(SPLIT);
    let w = simulate(&doc, &"api-server:r".parse().unwrap()).unwrap();
    let d: Vec<&Diagnostic> = w.new_diagnostics.iter().collect();
    assert_eq!(d.len(), 1, "{w}");
    assert_eq!(d[0].code, Code::ApiServerUnreachable);
    assert_eq!(d[0].subjects, [cluster("p"), cluster("r")]);
    // istiod no longer sees r's endpoints: every client still served loses them.
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r"]);
    assert_eq!(lost(&w, "n2", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    assert!(w.last_config.is_empty());
    assert!(
        w.impacts.iter().flat_map(|i| &i.lost).all(|l| l.reason
            == LossReason::NotPublished {
                cluster: "r".into()
            }),
        "{w}"
    );

    let w = simulate(&doc, &"cluster:p".parse().unwrap()).unwrap();
    let d: Vec<&Diagnostic> = w.new_diagnostics.iter().collect();
    assert_eq!(d.len(), 1, "{w}");
    assert_eq!(d[0].code, Code::ControlPlaneUnreachable);
    assert!(
        d[0].explanation
            .contains("cluster p, which runs the control plane of r, is gone")
    );
    // n1's only cluster is gone: no clients there to report on; n2 lost its control plane and
    // keeps its last config, whose endpoints are all on n2 and still there.
    assert!(w.impacts.is_empty(), "{w}");
    assert_eq!(
        w.last_config,
        [LastConfig {
            client_network: "n2".into(),
            why: vec!["cluster p, which runs the control plane of r, is gone (failure)".into()],
        }]
    );
}

#[test]
fn what_if_on_the_broken_example_is_deterministic() {
    let doc = MeshDocument::parse(BROKEN).unwrap();
    let f: Failure = "cluster:east".parse().unwrap();
    assert_eq!(simulate(&doc, &f), simulate(&doc, &f));
    let w = simulate(&doc, &f).unwrap();
    // east-vpn's control plane is gone.
    assert!(
        w.new_diagnostics
            .iter()
            .any(|d| d.code == Code::ControlPlaneUnreachable
                && d.subjects.contains(&cluster("east-vpn")))
    );
}

#[test]
fn what_if_states_its_model_and_a_reason_per_line() {
    // foo has 12 endpoints on p (n1) and one on r (n2); r's istiod is exposed by n1's gateway.
    let many: String = (1..=12)
        .map(|i| format!("    - {{cluster: p, address: 10.1.0.{i}}}\n"))
        .collect();
    let doc = mesh(&SPLIT.replace(
        "    - {cluster: r, address: 10.2.0.5}\n",
        &format!("    - {{cluster: r, address: 10.2.0.5}}\n{many}"),
    ));
    let w = simulate(&doc, &"gateway:n1/192.0.2.1".parse().unwrap()).unwrap();
    // n2 keeps its last config: its own endpoint (by IP) stays, n1's twelve (through n1's only
    // gateway, now down) are lost, with that reason.
    let i = w
        .impacts
        .iter()
        .find(|i| i.client_network == "n2")
        .unwrap_or_else(|| panic!("{w}"));
    assert!(i.last_config && !i.unreachable, "{w}");
    assert_eq!(i.remaining, 2, "{w}"); // 10.2.0.5 and the sidecar-less 10.2.0.6, by IP
    assert_eq!(i.lost.len(), 1, "{w}");
    assert_eq!(i.lost[0].cluster, "p");
    assert_eq!(
        i.lost[0].reason,
        LossReason::NoGateway {
            network: "n1".into()
        }
    );
    // JSON keeps the full list.
    let json = serde_json::to_value(&w).unwrap();
    let addresses = &json["impacts"][0]["lost"][0]["addresses"];
    assert_eq!(addresses.as_array().map(Vec::len), Some(12), "{json}");
    assert_eq!(json["impacts"][0]["lastConfig"], true);
    assert_eq!(json["lastConfig"][0]["clientNetwork"], "n2");
    // Text states the model, says why per line, and shortens the list.
    let text = w.to_string();
    for line in mesh_topology::WHAT_IF_MODEL {
        assert!(text.contains(line), "{text}");
    }
    assert!(
        text.contains("clients on network n2 lose their control plane and keep their last config:"),
        "{text}"
    );
    assert!(
        text.contains("clients on network n2 -> foo.ns: lose 12 endpoints, 2 left (last config)\n"),
        "{text}"
    );
    let first_ten: Vec<String> = (1..=10).map(|i| format!("10.1.0.{i}")).collect();
    assert!(
        text.contains(&format!(
            "    {}, … and 2 more (p): no gateway of network n1 is usable any more (down or partitioned)\n",
            first_ten.join(", ")
        )),
        "{text}"
    );
    assert!(!text.contains("10.1.0.11"), "{text}");
}

#[test]
fn kept_configs_do_not_reroute_and_lose_what_is_gone() {
    // p and r are linked; r reaches istiod by IP until the link is cut. n2's proxies keep
    // their config: p's endpoints were reached by IP, so cutting the link loses them although
    // n1 has a gateway (a kept config does not reroute).
    let doc = mesh(&format!(
        "{}  links: [{{networks: [n1, n2]}}]\n",
        SPLIT.replace(
            "    - {cluster: r, address: 10.2.0.5}\n",
            "    - {cluster: r, address: 10.2.0.5}\n    - {cluster: p, address: 10.1.0.9}\n",
        )
        .replace(
            "n1: {endpoints: [{fromRegistry: p}], gateways: [{address: 192.0.2.1, port: 15443}]}",
            "n1: {endpoints: [{fromRegistry: p}], gateways: []}"
        )
    ));
    let w = simulate(&doc, &"link:n1,n2".parse().unwrap()).unwrap();
    assert_eq!(w.last_config.len(), 1, "{w}");
    let i = w
        .impacts
        .iter()
        .find(|i| i.client_network == "n2")
        .unwrap_or_else(|| panic!("{w}"));
    assert!(i.last_config, "{w}");
    assert_eq!(
        (i.lost[0].cluster.as_str(), &i.lost[0].reason),
        (
            "p",
            &LossReason::NotByIp {
                network: "n1".into()
            }
        ),
        "{w}"
    );
    // Clients still served are rerouted: n1 reaches r's sidecar endpoint through n2's gateway
    // and loses only the one without a sidecar.
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.6@r"], "{w}");
    assert!(
        w.impacts
            .iter()
            .filter(|i| i.client_network == "n1")
            .all(|i| !i.last_config)
    );
}
