//! api-server-unreachable.

use super::*;

fn remote_with_api(api: &str, links: &str) -> MeshDocument {
    mesh(&format!(
        "  clusters:
  - {{name: p, network: n1}}
  - {{name: r, network: n2, controlPlane: p, apiServer: {api}}}
  meshNetworks:
    networks:
      n1: {{gateways: [{{address: 192.0.2.1, port: 15443}}]}}
      n2: {{gateways: [{{address: 192.0.2.2, port: 15443}}]}}
      n3: {{}}
{links}"
    ))
}

#[test]
fn api_server_unreachable_shows_the_path_tried() {
    let r = check(&remote_with_api("{address: 10.2.0.1:6443}", ""));
    let d = of(&r, Code::ApiServerUnreachable);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [cluster("p"), cluster("r"), network("n1"), network("n2")]
    );
    assert!(
        d[0].explanation.starts_with(
            "istiod in cluster p (network n1) -> API server of cluster r at 10.2.0.1:6443 (network n2, exposure private): broke at the network boundary"
        ),
        "{}",
        d[0]
    );
}

#[test]
fn api_server_reachable_by_link_exposure_or_reachable_from() {
    for (api, links) in [
        ("{address: 10.2.0.1:6443, exposure: public}", ""),
        ("{address: 10.2.0.1:6443, reachableFrom: [n1]}", ""),
        (
            "{address: 10.2.0.1:6443}",
            "  links: [{networks: [n1, n2]}]\n",
        ),
    ] {
        let r = check(&remote_with_api(api, links));
        assert!(
            of(&r, Code::ApiServerUnreachable).is_empty(),
            "{api} {links}\n{r}"
        );
    }
    // reachableFrom must name the control plane's network, not another.
    let r = check(&remote_with_api(
        "{address: 10.2.0.1:6443, reachableFrom: [n3]}",
        "",
    ));
    assert_eq!(of(&r, Code::ApiServerUnreachable).len(), 1, "{r}");
}
