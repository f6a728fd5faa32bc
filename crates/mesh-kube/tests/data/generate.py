#!/usr/bin/env python3
"""Writes the test dumps: kubectl's own objects (`kubectl create ... --dry-run=client -o json`,
`kubectl run ... --dry-run=client`) completed by hand with what a live cluster adds (status,
node podCIDR, EndpointSlices, load-balancer ingress), in the shapes `kubectl get -A -o json|yaml`
prints. CA bundles come from `meshspan certs init` (seeded).

Run from the repository root: python3 crates/mesh-kube/tests/data/generate.py
Every Secret value holds a canary (LEAKCANARY-...) the secret-leak test looks for in all output.
"""
import base64, json, os, subprocess, sys, tempfile

import yaml

OUT = os.path.dirname(os.path.abspath(__file__))
MESHSPAN = os.environ.get("MESHSPAN", "target/debug/meshspan")


def kubectl(*args):
    out = subprocess.run(["kubectl", *args, "--dry-run=client", "-o", "json"],
                         check=True, capture_output=True, text=True).stdout
    obj = json.loads(out)
    obj["metadata"].pop("creationTimestamp", None)
    return obj


def b64(s):
    return base64.b64encode(s.encode()).decode()


def namespace(name, network=None):
    ns = kubectl("create", "namespace", name)
    if network:
        ns["metadata"]["labels"] = {"kubernetes.io/metadata.name": name,
                                    "topology.istio.io/network": network}
    return ns


def node(name, pod_cidr, region, zone, external_ip=None):
    addrs = [{"type": "InternalIP", "address": "192.168.0.%d" % (sum(name.encode()) % 200 + 10)}]
    if external_ip:
        addrs.append({"type": "ExternalIP", "address": external_ip})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name,
                "topology.kubernetes.io/region": region,
                "topology.kubernetes.io/zone": zone}},
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
            "status": {"addresses": addrs}}


def pod(name, ns, ip, node_name, labels, sa="default", sidecar=True, env=None, network=None):
    # `kubectl run` needs a server even with --dry-run=client: take a Deployment's pod template
    # (what the ReplicaSet controller stamps pods from) and complete it as the API server would.
    app = labels.get("app", name)
    d = kubectl("create", "deployment", app, "-n", ns, "--image=docker.io/istio/examples-bookinfo-%s:1.20" % app)
    t = d["spec"]["template"]
    t["metadata"].pop("creationTimestamp", None)
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": ns, "labels": dict(labels)}, "spec": t["spec"]}
    if env:
        p["spec"]["containers"][0]["name"] = "discovery"
        p["spec"]["containers"][0]["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if sidecar:
        p["metadata"]["labels"]["security.istio.io/tlsMode"] = "istio"
        p["metadata"]["labels"]["service.istio.io/canonical-name"] = labels.get("app", name)
    if network:
        p["metadata"]["labels"]["topology.istio.io/network"] = network
    p["spec"]["nodeName"] = node_name
    p["spec"]["serviceAccountName"] = sa
    p["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                   "conditions": [{"type": "Ready", "status": "True"}]}
    return p


def service(name, ns, port, target, kind="clusterip", labels=None, lb=None):
    s = kubectl("create", "service", kind, name, "-n", ns, "--tcp=%d:%d" % (port, target))
    s["spec"]["ports"][0]["name"] = "tls" if port == 15443 else "http"
    if labels:
        s["metadata"].setdefault("labels", {}).update(labels)
    if lb:
        s["status"] = {"loadBalancer": {"ingress": [{"ip": lb}]}}
    return s


def slice_for(svc, ns, port, pods):
    eps = []
    for p, ready in pods:
        cond = {"ready": ready, "serving": ready, "terminating": False}
        eps.append({"addresses": [p["status"]["podIP"]], "conditions": cond,
                    "nodeName": p["spec"]["nodeName"],
                    "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"]}})
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": svc + "-abc12", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc,
                                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}]}


def kubeconfig(cluster, server):
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": cluster, "cluster": {
            "certificate-authority-data": b64("LEAKCANARY-CA-DATA-" + cluster),
            "server": server}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "current-context": cluster,
        "users": [{"name": cluster, "user": {
            "token": "LEAKCANARY-TOKEN-" + cluster,
            "client-key-data": b64("LEAKCANARY-CLIENT-KEY-" + cluster)}}]})


def remote_secret(cluster, server):
    s = kubectl("create", "secret", "generic", "istio-remote-secret-" + cluster, "-n", "istio-system",
                "--from-literal=%s=%s" % (cluster, kubeconfig(cluster, server)))
    s["metadata"]["labels"] = {"istio/multiCluster": "true"}
    s["metadata"]["annotations"] = {"networking.istio.io/cluster": cluster}
    return s


def cacerts(bundle_dir):
    files = {}
    for f in ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"]:
        files[f] = open(os.path.join(bundle_dir, f)).read()
    args = ["create", "secret", "generic", "cacerts", "-n", "istio-system"]
    with tempfile.TemporaryDirectory() as d:
        for f, text in files.items():
            path = os.path.join(d, f)
            open(path, "w").write(text)
            args.append("--from-file=%s=%s" % (f, path))
        return kubectl(*args)


def istio_configmap(mesh_networks=None):
    data = {"mesh": "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n"
                    "  meshId: mesh1\ntrustDomain: cluster.local\n"}
    if mesh_networks is not None:
        data["meshNetworks"] = yaml.safe_dump({"networks": mesh_networks})
    args = ["create", "configmap", "istio", "-n", "istio-system"]
    for k, v in data.items():
        args.append("--from-literal=%s=%s" % (k, v))
    return kubectl(*args)


def istiod(cluster_id, ip, node_name, network):
    env = {"CLUSTER_ID": cluster_id} if cluster_id else {}
    return pod("istiod-7d4f9b8c5-x2x9q", "istio-system", ip, node_name,
               {"app": "istiod", "istio": "pilot"}, sa="istiod", sidecar=False, env=env)


def eastwest(network, lb):
    return service("istio-eastwestgateway", "istio-system", 15443, 15443, kind="loadbalancer",
                   labels={"topology.istio.io/network": network, "istio": "eastwestgateway"}, lb=lb)


def bookinfo(prefix, node_name, network, versions):
    objs = [namespace("bookinfo")]
    pods = []
    for i, (v, ready) in enumerate(versions):
        p = pod("reviews-%s-5c5d9f7b4-%d" % (v, i), "bookinfo", "%s.%d" % (prefix, 5 + i), node_name,
                {"app": "reviews", "version": v}, sa="bookinfo-reviews", network=network)
        pods.append((p, ready))
        objs.append(p)
    objs.append(service("reviews", "bookinfo", 9080, 9080))
    objs.append(slice_for("reviews", "bookinfo", 9080, pods))
    return objs


def as_list(objs):
    return {"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}}


def write_json(name, objs):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(as_list(objs), f, indent=4)
        f.write("\n")


def write_yaml(name, objs):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(yaml.safe_dump_all(objs, sort_keys=False))


def main():
    with tempfile.TemporaryDirectory() as certs:
        subprocess.run([MESHSPAN, "certs", "init", "--clusters", "cluster1,cluster2,cluster3",
                        "--out", certs, "--seed", "7", "--now", "1767225600"],
                       check=True, capture_output=True)
        ca = {c: cacerts(os.path.join(certs, c)) for c in ["cluster1", "cluster2", "cluster3"]}

    # Multi-primary on different networks (Istio's "Install Multi-Primary on different networks").
    # Planted: cluster1 reads cluster2's API server at a private address.
    net1 = {"network1": {"endpoints": [{"fromRegistry": "cluster1"}],
                         "gateways": [{"registryServiceName": "istio-eastwestgateway.istio-system.svc.cluster.local", "port": 15443}]},
            "network2": {"endpoints": [{"fromRegistry": "cluster2"}],
                         "gateways": [{"registryServiceName": "istio-eastwestgateway.istio-system.svc.cluster.local", "port": 15443}]}}
    c1 = [namespace("istio-system", "network1"),
          node("gke-c1-pool-1", "10.10.0.0/24", "us-east1", "us-east1-b"),
          node("gke-c1-pool-2", "10.10.1.0/24", "us-east1", "us-east1-c"),
          istiod("cluster1", "10.10.0.3", "gke-c1-pool-1", "network1"),
          istio_configmap(net1), eastwest("network1", "198.51.100.10"),
          remote_secret("cluster2", "https://10.20.255.1:6443"), ca["cluster1"]]
    c1 += bookinfo("10.10.0", "gke-c1-pool-1", "network1", [("v1", True), ("v2", False)])
    c1.append({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "reviews-v1", "namespace": "bookinfo"}, "spec": {}})
    c2 = [namespace("istio-system", "network2"),
          node("gke-c2-pool-1", "10.20.0.0/24", "us-west1", "us-west1-a"),
          istiod("cluster2", "10.20.0.3", "gke-c2-pool-1", "network2"),
          istio_configmap(net1), eastwest("network2", "198.51.100.20"),
          remote_secret("cluster1", "https://203.0.113.1:6443"), ca["cluster2"]]
    c2 += bookinfo("10.20.0", "gke-c2-pool-1", "network2", [("v3", True)])
    write_json("multi-primary-cluster1.json", c1)
    write_yaml("multi-primary-cluster2.yaml", c2)

    # Primary-remote on different networks ("Install Primary-Remote on different networks").
    # Planted: network2 (the remote's) has no east-west gateway.
    p1 = [namespace("istio-system", "network1"),
          node("eks-p1-a", "10.30.0.0/24", "eu-west-1", "eu-west-1a"),
          istiod("cluster1", "10.30.0.3", "eks-p1-a", "network1"),
          istio_configmap(), eastwest("network1", "198.51.100.30"),
          remote_secret("cluster2", "https://203.0.113.2:6443")]
    p1 += bookinfo("10.30.0", "eks-p1-a", "network1", [("v1", True)])
    p2 = [namespace("istio-system", "network2"),
          node("eks-p2-a", "10.40.0.0/24", "eu-west-1", "eu-west-1b")]
    p2 += bookinfo("10.40.0", "eks-p2-a", "network2", [("v2", True)])
    write_yaml("primary-remote-cluster1.yaml", p1)
    write_json("primary-remote-cluster2.json", p2)

    # One network over a VPN: a primary and a remote in one flat address space.
    # Planted: the remote's pod CIDR overlaps the primary's.
    v1 = [namespace("istio-system", "vpn"),
          node("node-a", "10.50.0.0/23", "dc1", "rack1"),
          istiod("cluster1", "10.50.0.3", "node-a", "vpn"), istio_configmap(),
          remote_secret("cluster3", "https://10.60.255.1:6443"), ca["cluster1"]]
    v1 += bookinfo("10.50.0", "node-a", None, [("v1", True)])
    v3 = [namespace("istio-system", "vpn"), node("node-b", "10.50.1.0/24", "dc2", "rack1")]
    v3 += bookinfo("10.50.1", "node-b", None, [("v2", True)])
    write_yaml("vpn-cluster1.yaml", v1)
    write_yaml("vpn-cluster3.yaml", v3)


if __name__ == "__main__":
    sys.exit(main())
