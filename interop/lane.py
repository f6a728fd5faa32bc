"""The interop lane: meshspan's ClusterLoadAssignments against a real Envoy and a real gRPC xDS client.

For every example mesh (its addresses moved into 127.0.0.0/8) and for seeded generated meshes, for
every proxy class (one per cluster) and profile: the bytes of `meshspan eds -o pb` are served over
ADS to a fresh Envoy and a fresh gRPC client; each must ACK; what Envoy holds (/clusters, and the
assignments in /config_dump?include_eds) must equal what meshspan computed, and `meshspan diff`
must find no difference in those dumps; then real requests through Envoy and through gRPC reach
loopback backends standing for pods and east-west gateways, in the proportions of the weights.
Loopback only: every address served or dialled is in 127.0.0.0/8 (or ::1).

Ends with 'N passed, N failed'; exit 1 on any failure.
"""

import argparse
import concurrent.futures
import ipaddress
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import grpc
import yaml
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc

import ads

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLES = ["split-horizon", "mixed", "vpn", "replicated-control-planes", "broken", "failover"]
LEGACY = ["istio-1.1.0", "istio-1.1.3", "istio-1.5"]


class Lane:
    def __init__(self, args):
        self.args = args
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.start = time.monotonic()
        self.procs = []
        self.backends = {}
        self.out = args.out
        os.makedirs(self.out, exist_ok=True)

    # ----- results -----
    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if self.args.verbose:
                print(f"PASS {name}")
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL {name}: {detail}")
        return ok

    def time_left(self):
        return self.args.deadline - (time.monotonic() - self.start)

    # ----- meshspan -----
    def meshspan(self, *argv, binary=False, ok_codes=(0,)):
        p = subprocess.run([self.args.meshspan, *argv], capture_output=True, timeout=60)
        if p.returncode == 1 and argv[0] == "eds":
            raise NotComputable(p.stderr.decode())
        if p.returncode not in ok_codes:
            raise RuntimeError(f"meshspan {' '.join(argv)}: exit {p.returncode}: {p.stderr.decode()}")
        return p.stdout if binary else p.stdout.decode()

    # ----- processes -----
    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)
        for server in self.backends.values():
            server.stop(0)
        self.backends.clear()

    # ----- backends: one gRPC server per address:port, answering its own address -----
    def backend(self, address, port):
        key = (address, port)
        if key in self.backends:
            return
        assert is_loopback(address), f"refusing to serve a non-loopback address {address}"
        ident = f"{address}:{port}".encode()
        server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
        handler = grpc.method_handlers_generic_handler(
            "meshspan.Who", {"Ask": grpc.unary_unary_rpc_method_handler(lambda _req, _ctx, i=ident: i)}
        )
        server.add_generic_rpc_handlers((handler,))
        host = f"[{address}]" if ":" in address else address
        server.add_insecure_port(f"{host}:{port}")
        server.start()
        self.backends[key] = server


class NotComputable(Exception):
    """`meshspan eds` exit 1: the profile's Istio cannot compute the assignment (it crashes)."""


def envoy_rejects(cla):
    """Envoy's proto validation, restated: an endpoint or locality weight of 0, a port above 65535,
    or an address that is not an IP makes Envoy reject the whole assignment (NACK)."""
    for group in cla.get("endpoints", []):
        if group.get("loadBalancingWeight") == 0:
            return "locality weight 0"
        for lb in group.get("lbEndpoints", []):
            if lb.get("loadBalancingWeight", 1) == 0:
                return "endpoint weight 0"
            sa = lb["endpoint"]["address"].get("socketAddress", {})
            if sa.get("portValue", 0) > 65535:
                return "port above 65535"
            try:
                ipaddress.ip_address(sa.get("address", "0.0.0.0"))
            except ValueError:
                return "hostname in a socket address"
    return None


def is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----- meshes -----
IPV4 = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.(\d+)((?:/\d+)|(?::\d+))?$")


def to_loopback(doc):
    """Moves every IP address of a mesh document into loopback: a.b.c.d -> 127.b.c.d (prefixes of
    /8 and longer keep their meaning), IPv6 -> ::1. Returns the new document and the address map."""
    mapping = {}

    def move(s):
        m = IPV4.match(s)
        if m:
            new = f"127.{m.group(2)}.{m.group(3)}.{m.group(4)}"
            old = ".".join(m.group(i) for i in range(1, 5))
            if mapping.setdefault(old, new) != new or list(mapping.values()).count(new) > 1:
                raise ValueError(f"two addresses move to {new}")
            return new + (m.group(5) or "")
        try:
            ip = ipaddress.ip_address(s)
        except ValueError:
            return s
        if ip.version == 6:
            if any(v == "::1" and k != s for k, v in mapping.items()):
                raise ValueError("two IPv6 addresses would move to ::1")
            mapping[s] = "::1"
            return "::1"
        return s

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str):
            return move(v)
        return v

    return walk(doc), mapping


def generated_mesh(seed):
    """A valid mesh with several networks, gateways (some networks without), localities and weights,
    every address already in 127.0.0.0/8."""
    rng = random.Random(seed)
    networks = [f"net{i}" for i in range(rng.randint(2, 4))]
    clusters, mesh_networks = [], {}
    for ni, net in enumerate(networks):
        regs = []
        for ci in range(rng.randint(1, 2)):
            name = f"c{ni}{ci}"
            cluster = {"name": name, "network": net, "podCidrs": [f"127.{10 + ni * 2 + ci}.0.0/16"]}
            if clusters:
                cluster["controlPlane"] = clusters[0]["name"]
            if rng.random() < 0.8:
                cluster["locality"] = f"region{ni % 2}/zone{ci}" + ("/sub" if rng.random() < 0.3 else "")
            clusters.append(cluster)
            regs.append({"fromRegistry": name})
        gateways = [
            {"address": f"127.{100 + ni}.0.{10 + g}", "port": 15443}
            for g in range(0 if (ni > 0 and rng.random() < 0.2) else rng.randint(1, 3))
        ]
        mesh_networks[net] = {"endpoints": regs, "gateways": gateways}
    services = []
    for si in range(rng.randint(2, 3)):
        port = 7000 + si
        endpoints = []
        for ei in range(rng.randint(2, 7)):
            c = rng.choice(clusters)
            ep = {
                "cluster": c["name"],
                "address": c["podCidrs"][0].replace("0.0/16", f"{si + 1}.{ei + 1}"),
                "serviceAccount": f"svc{si}",
            }
            if rng.random() < 0.6:
                ep["weight"] = rng.randint(1, 5)
            if rng.random() < 0.2:
                ep["locality"] = f"region{rng.randint(0, 1)}/zone{rng.randint(0, 2)}"
            endpoints.append(ep)
        services.append(
            {"name": f"svc{si}", "namespace": "gen", "ports": [{"name": "grpc", "port": port, "protocol": "GRPC"}],
             "endpoints": endpoints}
        )
    return {
        "apiVersion": "meshspan/v1alpha1",
        "kind": "Mesh",
        "metadata": {"name": f"generated-{seed}"},
        "spec": {"clusters": clusters, "meshNetworks": {"networks": mesh_networks}, "services": services},
    }


def service_of(cluster_name):
    """`outbound|7000|v1|svc0.gen.svc.cluster.local` -> ("svc0.gen", 7000, "v1")."""
    parts = cluster_name.split("|")
    host = parts[3].split(".")
    return f"{host[0]}.{host[1]}", int(parts[1]), parts[2]


# ----- what a consumer makes of meshspan's JSON -----
def locality_label(loc):
    parts = [loc.get("region", ""), loc.get("zone", ""), loc.get("subZone", loc.get("sub_zone", ""))]
    while parts and not parts[-1]:
        parts.pop()
    return "/".join(parts)


def envoy_expected_hosts(cla):
    """Envoy's host set for an assignment: every endpoint, except that a second copy of an address
    (in another locality group) is dropped, the first kept (envoy#23445)."""
    seen, hosts = set(), []
    for group in cla.get("endpoints", []):
        label = locality_label(group.get("locality", {}))
        for lb in group.get("lbEndpoints", []):
            sa = lb["endpoint"]["address"].get("socketAddress")
            if sa is None:
                continue
            key = (sa["address"], sa.get("portValue", 0))
            if key in seen:
                continue
            seen.add(key)
            hosts.append((key[0], key[1], lb.get("loadBalancingWeight", 1), label, group.get("priority", 0)))
    return sorted(hosts)


def has_duplicate_address(cla):
    seen = set()
    for group in cla.get("endpoints", []):
        for lb in group.get("lbEndpoints", []):
            sa = lb["endpoint"]["address"].get("socketAddress", {})
            key = (sa.get("address"), sa.get("portValue"))
            if key in seen:
                return True
            seen.add(key)
    return False


def has_duplicate_gateway(cla):
    """A gateway endpoint (Istio's `;;;;<cluster>` workload metadata) whose address is in the
    assignment twice: what `--gateway-in-first-group` must never leave (a direct endpoint listed
    twice in the mesh is the mesh's own duplicate, which `check` reports)."""
    seen, gateways = set(), set()
    for group in cla.get("endpoints", []):
        for lb in group.get("lbEndpoints", []):
            sa = lb["endpoint"]["address"].get("socketAddress", {})
            key = (sa.get("address"), sa.get("portValue"))
            workload = (lb.get("metadata", {}).get("filterMetadata", {})
                        .get("istio", {}).get("workload", ""))
            if workload.startswith(";;;;"):
                if key in seen:
                    return True
                gateways.add(key)
            elif key in gateways:
                return True
            seen.add(key)
    return False


def envoy_shares(cla):
    """The share of requests Envoy's locality-weighted round robin gives each host."""
    groups = []
    seen = set()
    for group in cla.get("endpoints", []):
        hosts = []
        for lb in group.get("lbEndpoints", []):
            sa = lb["endpoint"]["address"].get("socketAddress")
            if sa is None:
                continue
            key = f"{sa['address']}:{sa.get('portValue', 0)}"
            if key in seen:
                continue
            seen.add(key)
            hosts.append((key, lb.get("loadBalancingWeight", 1)))
        if hosts and group.get("loadBalancingWeight"):
            groups.append((group.get("priority", 0), group["loadBalancingWeight"], hosts))
    # All hosts healthy: the first priority with hosts takes all the traffic (L32).
    first = min((p for p, _, _ in groups), default=0)
    groups = [(w, hosts) for p, w, hosts in groups if p == first]
    total = sum(w for w, _ in groups)
    shares = {}
    for w, hosts in groups:
        hw = sum(x for _, x in hosts)
        for key, x in hosts:
            shares[key] = shares.get(key, 0) + w / total * x / hw
    return shares


def grpc_shares(cla):
    """gRPC's default xDS policy: locality weights (weighted_target), then plain round robin within
    a locality, which ignores endpoint weights."""
    groups = [
        (g.get("priority", 0), g["loadBalancingWeight"], [
            f"{lb['endpoint']['address']['socketAddress']['address']}:{lb['endpoint']['address']['socketAddress'].get('portValue', 0)}"
            for lb in g.get("lbEndpoints", [])
        ])
        for g in cla.get("endpoints", [])
        if g.get("loadBalancingWeight") and g.get("lbEndpoints")
    ]
    # gRPC's priority policy: the first priority with endpoints (all are reachable here).
    first = min((p for p, _, _ in groups), default=0)
    groups = [(w, hosts) for p, w, hosts in groups if p == first]
    total = sum(w for w, _ in groups)
    shares = {}
    for w, hosts in groups:
        for key in hosts:
            shares[key] = shares.get(key, 0) + w / total / len(hosts)
    return shares


def proportions_ok(counts, shares, n):
    """Each backend's count within 4 standard deviations (+2) of n x its share; nothing else reached."""
    problems = []
    for key in counts:
        if key not in shares:
            problems.append(f"{key} answered but is not in the assignment")
    for key, p in shares.items():
        got = counts.get(key, 0)
        sigma = math.sqrt(n * p * (1 - p))
        if abs(got - n * p) > 4 * sigma + 2:
            problems.append(f"{key}: {got} of {n}, expected {n * p:.1f}")
    return problems


def mutate(cla_bytes, kind):
    """A deliberately wrong assignment (for proving the lane fails): the first endpoint's weight
    changed, or the first gateway (an endpoint with workload ';;;;…') dropped. None if not applicable."""
    cla = endpoint_pb2.ClusterLoadAssignment()
    cla.ParseFromString(cla_bytes)
    for group in cla.endpoints:
        for i, lb in enumerate(group.lb_endpoints):
            if kind == "weight":
                lb.load_balancing_weight.value += 1
                return cla.SerializeToString()
            workload = lb.metadata.filter_metadata["istio"].fields["workload"].string_value
            if kind == "drop-gateway" and workload.startswith(";;;;"):
                del group.lb_endpoints[i]
                return cla.SerializeToString()
    return None


# ----- one proxy class -----
class ClassRun:
    def __init__(self, lane, ads_server, ads_port, mesh_name, mesh_file, doc, cluster, profile, flags):
        self.lane, self.ads, self.ads_port = lane, ads_server, ads_port
        self.mesh_name, self.mesh_file, self.doc = mesh_name, mesh_file, doc
        self.cluster, self.profile, self.flags = cluster, profile, flags
        c = next(x for x in doc["spec"]["clusters"] if x["name"] == cluster)
        self.network = c.get("network", "")
        self.locality = c.get("locality", "")
        tag = "+".join([profile] + [f.strip("-") for f in flags])
        self.tag = f"{mesh_name}/{cluster}/{tag}"
        self.dir = os.path.join(lane.out, mesh_name, cluster, tag)
        os.makedirs(self.dir, exist_ok=True)

    def eds_args(self):
        return [self.mesh_file, "--cluster", self.cluster, "--profile", self.profile, *self.flags]

    def assignments(self):
        """meshspan's JSON per cluster name, and the bytes to serve (mutated when asked)."""
        p = subprocess.run([self.lane.args.meshspan, "eds", *self.eds_args(), "-o", "json"], capture_output=True,
                           timeout=60)
        if p.returncode == 1:
            raise NotComputable(p.stderr.decode())
        listed = json.loads(p.stdout)
        # meshspan's consumer lints (stderr): which clusters it warns about.
        self.warnings = p.stderr.decode()
        result = []
        for cla in listed:
            service, port, subset = service_of(cla["clusterName"])
            pb = self.lane.meshspan("eds", *self.eds_args(), "--service", service, "--port", str(port),
                                    "--subset", subset, "-o", "pb",
                                    binary=True)
            result.append((cla, pb))
        return result

    def node(self, kind):
        region, zone, sub = (self.locality.split("/") + ["", "", ""])[:3]
        return {
            "id": f"{kind}~{self.tag}",
            "cluster": "meshspan-interop",
            "locality": {"region": region, "zone": zone, "sub_zone": sub},
            "metadata": {"NETWORK": self.network, "CLUSTER_ID": self.cluster},
        }

    def run(self, mutation):
        lane = self.lane
        try:
            items = self.assignments()
        except NotComputable as e:
            # That Istio version crashes on this mesh (meshspan exits 1 saying so): nothing to serve.
            lane.check(f"{self.tag} not computable, as in Istio", "istiod panics" in str(e), str(e))
            return
        served = []
        mutated = False
        for cla, pb in items:
            if mutation and not mutated:
                changed = mutate(pb, mutation)
                if changed is not None:
                    pb, mutated = changed, True
            served.append((cla, pb))
        self.envoy(served)
        self.grpc(served)

    # ----- Envoy -----
    def envoy(self, served):
        lane = self.lane
        node = self.node("envoy")
        listen = free_port()
        eds = {cla["clusterName"]: pb for cla, pb in served}
        self.ads.serve(node["id"], {
            ads.CDS: {name: ads.envoy_cluster(name) for name in eds},
            ads.EDS: eds,
            ads.LDS: {"traffic": ads.envoy_listener(listen)},
        })
        bootstrap = {
            "node": node,
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
            "dynamic_resources": {
                "ads_config": {"api_type": "GRPC", "transport_api_version": "V3",
                               "grpc_services": [{"envoy_grpc": {"cluster_name": "xds"}}]},
                "cds_config": {"ads": {}, "resource_api_version": "V3"},
                "lds_config": {"ads": {}, "resource_api_version": "V3"},
            },
            "static_resources": {"clusters": [{
                "name": "xds", "type": "STATIC", "connect_timeout": "1s",
                "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http2_protocol_options": {}}}},
                "load_assignment": {"cluster_name": "xds", "endpoints": [{"lb_endpoints": [{"endpoint": {
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": self.ads_port}}}}]}]},
            }]},
        }
        path = os.path.join(self.dir, "envoy-bootstrap.json")
        with open(path, "w") as f:
            json.dump(bootstrap, f, indent=1)
        admin_file = os.path.join(self.dir, "envoy-admin-address")
        if os.path.exists(admin_file):
            os.remove(admin_file)
        log = open(os.path.join(self.dir, "envoy.log"), "w")
        proc = lane.spawn([lane.args.envoy, "-c", path, "--concurrency", "1", "--disable-hot-restart",
                           "--admin-address-path", admin_file, "-l", "warning", "--base-id",
                           str(random.randint(1, 10**6))], stdout=log, stderr=log)
        try:
            self.envoy_checks(node["id"], served, admin_file, listen, proc)
        finally:
            lane.stop(proc)
            log.close()

    def envoy_checks(self, node_id, served, admin_file, listen, proc):
        lane = self.lane
        t0 = time.monotonic()
        while not os.path.exists(admin_file) and time.monotonic() - t0 < 15 and proc.poll() is None:
            time.sleep(0.05)
        if not lane.check(f"{self.tag} envoy starts", os.path.exists(admin_file), "no admin address"):
            return
        admin = open(admin_file).read().strip()
        keys = [(ads.EDS, cla["clusterName"]) for cla, _ in served] + [(ads.LDS, "traffic")]
        results = self.ads.wait(node_id, keys, 20)
        accepted = []
        for cla, pb in served:
            r = results[(ads.EDS, cla["clusterName"])]
            why = envoy_rejects(cla)
            if why:
                lane.check(f"{self.tag} envoy NACK ({why}) {cla['clusterName']}", r and r[0] == "NACK", r)
                lane.check(f"{self.tag} meshspan warns ({why}) {cla['clusterName']}",
                           cla["clusterName"] in self.warnings, self.warnings)
                continue
            if lane.check(f"{self.tag} envoy ACK {cla['clusterName']}", r and r[0] == "ACK", r):
                accepted.append((cla, pb))
        lane.check(f"{self.tag} envoy ACK listener", (results[(ads.LDS, "traffic")] or ("",))[0] == "ACK",
                   results[(ads.LDS, "traffic")])
        clusters = json.loads(get(f"http://{admin}/clusters?format=json"))
        dump = get(f"http://{admin}/config_dump?include_eds")
        with open(os.path.join(self.dir, "clusters.json"), "w") as f:
            json.dump(clusters, f, indent=1)
        with open(os.path.join(self.dir, "config_dump.json"), "w") as f:
            f.write(dump)
        held = {c["name"]: c for c in clusters.get("cluster_statuses", [])}
        stored = {}
        for cfg in json.loads(dump)["configs"]:
            for e in cfg.get("dynamic_endpoint_configs", []):
                stored[e["endpoint_config"]["cluster_name"]] = e["endpoint_config"]
        for cla, _ in accepted:
            name = cla["clusterName"]
            hosts = sorted(
                (h["address"]["socket_address"]["address"], h["address"]["socket_address"].get("port_value", 0),
                 h.get("weight", 1), locality_label(h.get("locality", {})), h.get("priority", 0))
                for h in held.get(name, {}).get("host_statuses", [])
            )
            want = envoy_expected_hosts(cla)
            lane.check(f"{self.tag} envoy holds {name}", hosts == want, f"envoy {hosts} != meshspan {want}")
            got_lw = [(locality_label(g.get("locality", {})), g.get("load_balancing_weight"))
                      for g in stored.get(name, {}).get("endpoints", [])]
            # Envoy's dump is its host set: a group left without hosts (emptied, or whose only
            # endpoint repeats an earlier address) is not there. Compare meaning, not bytes.
            kept = {h[3] for h in want}
            want_lw = [(locality_label(g.get("locality", {})), g.get("loadBalancingWeight"))
                       for g in cla.get("endpoints", []) if locality_label(g.get("locality", {})) in kept]
            lane.check(f"{self.tag} envoy locality weights {name}", sorted(map(str, got_lw)) == sorted(map(str, want_lw)),
                       f"envoy {got_lw} != meshspan {want_lw}")
        if lane.args.diff:
            for fmt, path in (("config_dump", "config_dump.json"), ("clusters", "clusters.json")):
                argv = ["diff", self.mesh_file, os.path.join(self.dir, path), "--profile", self.profile, *self.flags]
                if fmt == "clusters":
                    argv += ["--cluster", self.cluster]
                p = subprocess.run([lane.args.meshspan, *argv], capture_output=True, timeout=60)
                # What Envoy rejected it does not hold: diff must name exactly those clusters.
                rejected = [cla["clusterName"] for cla, _ in served if (cla, _) not in accepted]
                text = p.stdout.decode()
                named = [line.split(":")[0] for line in text.splitlines() if re.search(r": \d+ differences?$", line)]
                ok = p.returncode == (1 if rejected else 0) and sorted(named) == sorted(rejected)
                lane.check(f"{self.tag} meshspan diff {fmt}", ok,
                           f"exit {p.returncode}, rejected {rejected}: {text[-1500:]}{p.stderr.decode()[-500:]}")
        self.traffic("envoy", accepted, lambda cla, n: envoy_traffic(listen, cla["clusterName"], n), envoy_shares)

    # ----- gRPC -----
    def grpc(self, served):
        lane = self.lane
        node = self.node("grpc")
        listeners = {f"l{i}": cla["clusterName"] for i, (cla, _) in enumerate(served)}
        self.ads.serve(node["id"], {
            ads.LDS: {l: ads.grpc_listener(l, f"r{l}") for l in listeners},
            ads.RDS: {f"r{l}": ads.grpc_route(f"r{l}", c) for l, c in listeners.items()},
            ads.CDS: {c: ads.grpc_cluster(c) for c in listeners.values()},
            ads.EDS: {cla["clusterName"]: pb for cla, pb in served},
        })
        bootstrap = {
            "xds_servers": [{"server_uri": f"127.0.0.1:{self.ads_port}", "channel_creds": [{"type": "insecure"}],
                             "server_features": ["xds_v3"]}],
            "node": node,
        }
        path = os.path.join(self.dir, "grpc-bootstrap.json")
        with open(path, "w") as f:
            json.dump(bootstrap, f)
        env = dict(os.environ, GRPC_XDS_BOOTSTRAP=path)
        err = open(os.path.join(self.dir, "grpc.log"), "w")
        proc = lane.spawn([sys.executable, os.path.join(HERE, "grpc_client.py")], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=err, env=env, text=True)

        def ask(cmd):
            proc.stdin.write(json.dumps(cmd) + "\n")
            proc.stdin.flush()
            return json.loads(proc.stdout.readline() or "null")

        try:
            ask({"cmd": "warm", "targets": list(listeners)})
            keys = [(ads.EDS, c) for c in listeners.values()]
            results = self.ads.wait(node["id"], keys, 20)
            accepted = []
            for (l, c), (cla, pb) in zip(listeners.items(), served):
                r = results[(ads.EDS, c)]
                if "--gateway-in-first-group" in self.flags and self.profile == "istio-modern":
                    lane.check(f"{self.tag} no duplicate gateway {c}", not has_duplicate_gateway(cla))
                if has_duplicate_address(cla):
                    # gRFC A27: a duplicate endpoint address makes gRPC reject the whole resource.
                    lane.check(f"{self.tag} grpc NACK (duplicate address) {c}", r and r[0] == "NACK", r)
                    continue
                if lane.check(f"{self.tag} grpc ACK {c}", r and r[0] == "ACK", r):
                    accepted.append((dict(cla, _listener=l), pb))
            if lane.args.grpc_traffic:
                self.traffic("grpc", accepted,
                             lambda cla, n: ask({"cmd": "traffic", "target": cla["_listener"], "n": n, "deadline": 20}),
                             grpc_shares)
            ask({"cmd": "quit"})
        finally:
            lane.stop(proc)
            err.close()

    # ----- traffic -----
    def traffic(self, who, accepted, send, shares_of):
        lane = self.lane
        for cla, _ in accepted:
            shares = shares_of(cla)
            if not shares:
                continue
            if lane.time_left() < 30:
                lane.check(f"{self.tag} {who} traffic {cla['clusterName']}", False, "lane deadline reached")
                continue
            for key in shares:
                address, port = key.rsplit(":", 1)
                lane.backend(address, int(port))
            n = lane.args.requests if len(shares) > 1 else 10
            answer = send(cla, n) or {}
            counts = answer.get("counts", {})
            problems = proportions_ok(counts, shares, sum(counts.values()) or n)
            if answer.get("errors"):
                problems.append(f"errors {answer['errors']}")
            if sum(counts.values()) < n:
                problems.append(f"only {sum(counts.values())} of {n} answered")
            problems += self.split_horizon(counts)
            lane.check(f"{self.tag} {who} traffic {cla['clusterName']}", not problems, "; ".join(problems))

    def split_horizon(self, counts):
        """The rule, independently of meshspan: a reached pod is on the proxy's network or on a network
        without gateways; a gateway of the proxy's own network is never reached."""
        spec = self.doc["spec"]
        if "MeshNetworks is invalid" in self.warnings:
            return []  # istiod ignores MeshNetworks as a whole: no gateways, everything direct (M5)
        networks = spec.get("meshNetworks", {}).get("networks", {})
        net_of_cluster = {c["name"]: c.get("network", "") for c in spec["clusters"]}
        pods = {}
        for s in spec.get("services", []):
            for e in s.get("endpoints", []):
                pods[e.get("address")] = e.get("network", net_of_cluster.get(e.get("cluster"), ""))
        own_gateways = {g.get("address") for g in networks.get(self.network, {}).get("gateways", [])}
        problems = []
        for key in counts:
            address = key.rsplit(":", 1)[0]
            if address in pods and pods[address] not in ("", self.network) and usable_gateway(spec, pods[address]):
                problems.append(f"pod {key} of network {pods[address]} reached directly, not through its gateway")
            if address in own_gateways and self.profile == "istio-modern":
                problems.append(f"gateway {key} of the proxy's own network reached")
        return problems


def usable_gateway(spec, network):
    """Whether a network has a gateway with an address: an IP, a hostname the document's dns answers,
    or a registry service with external addresses (G1-G4, restated loosely)."""
    dns = spec.get("dns", {})
    for g in spec.get("meshNetworks", {}).get("networks", {}).get(network, {}).get("gateways", []):
        if "registryServiceName" in g:
            return True
        try:
            ipaddress.ip_address(g.get("address", ""))
            return True
        except ValueError:
            if dns.get(g.get("address")):
                return True
    return False


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def envoy_traffic(listen, cluster, n):
    counts, errors = {}, {}
    with grpc.insecure_channel(f"127.0.0.1:{listen}") as ch:
        ask = ch.unary_unary("/meshspan.Who/Ask")
        end = time.monotonic() + 20
        for _ in range(n):
            if time.monotonic() > end:
                break
            try:
                who = ask(b"", metadata=(("x-meshspan-cluster", cluster),), timeout=3).decode()
                counts[who] = counts.get(who, 0) + 1
            except grpc.RpcError as e:
                errors[str(e.code())] = errors.get(str(e.code()), 0) + 1
                if sum(errors.values()) >= 3:
                    break
    return {"counts": counts, "errors": errors}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meshspan", required=True)
    parser.add_argument("--envoy", required=True)
    parser.add_argument("--out", default=os.path.join(HERE, "out"))
    parser.add_argument("--mutate", choices=["weight", "drop-gateway"], help="serve a deliberately wrong assignment")
    parser.add_argument("--only", help="run only meshes whose name contains this")
    parser.add_argument("--seeds", type=int, default=4, help="how many generated meshes")
    parser.add_argument("--requests", type=int, default=120, help="requests per cluster and consumer")
    parser.add_argument("--deadline", type=float, default=480, help="seconds for the whole lane")
    parser.add_argument("--no-diff", dest="diff", action="store_false")
    parser.add_argument("--no-grpc-traffic", dest="grpc_traffic", action="store_false")
    parser.add_argument("--flag", action="append", default=None,
                        help="extra meshspan eds flag, run in addition (default: --gateway-in-first-group)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.flag is None:
        # Both ways: Istio's output, and the proposed fix of one gateway in two locality groups.
        args.flag = ["--gateway-in-first-group"]
    lane = Lane(args)

    def on_signal(_sig, _frm):
        lane.stop_all()
        sys.exit(1)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ads_server = ads.AdsServer()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=8))
    ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(ads_server, server)
    ads_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        meshes = []
        for name in EXAMPLES:
            with open(os.path.join(ROOT, "examples", f"{name}.yaml")) as f:
                original = yaml.safe_load(f)
            meshes.append((name, original, True, ["istio-modern"] if name != "split-horizon" else ["istio-modern", *LEGACY]))
        for seed in range(args.seeds):
            meshes.append((f"generated-{seed}", generated_mesh(seed), False, ["istio-modern", *LEGACY]))
        variants = [[]] + [[flag] for flag in args.flag]
        for name, original, is_example, profiles in meshes:
            if args.only and args.only not in name:
                continue
            doc, mapping = to_loopback(original) if is_example else (original, {})
            mesh_file = os.path.join(args.out, f"{name}.yaml")
            with open(mesh_file, "w") as f:
                yaml.safe_dump(doc, f, sort_keys=False)
            if is_example:
                check_rewrite(lane, name, original, doc, mapping)
            for cluster in [c["name"] for c in doc["spec"]["clusters"]]:
                for profile in profiles:
                    for flags in variants:
                        if lane.time_left() < 30:
                            lane.check(f"{name}/{cluster}/{profile} run", False, "lane deadline reached")
                            continue
                        run = ClassRun(lane, ads_server, ads_port, name, mesh_file, doc, cluster, profile, flags)
                        try:
                            run.run(args.mutate)
                        except Exception as e:  # a crash of one class is one failure, not the lane's end
                            lane.check(f"{run.tag} run", False, repr(e))
    finally:
        lane.stop_all()
        server.stop(0)
    took = time.monotonic() - lane.start
    print(f"interop lane: {took:.0f}s")
    if lane.failures:
        print("failed: " + ", ".join(lane.failures[:20]) + (" …" if len(lane.failures) > 20 else ""))
    print(f"{lane.passed} passed, {lane.failed} failed")
    return 1 if lane.failed else 0


def check_rewrite(lane, name, original, doc, mapping):
    """Moving a mesh into loopback must not change what meshspan computes, only the addresses."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "orig.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(original, f, sort_keys=False)
        for c in original["spec"]["clusters"]:
            before = lane.meshspan("eds", path, "--cluster", c["name"], "-o", "json")
            after = lane.meshspan("eds", os.path.join(lane.out, f"{name}.yaml"), "--cluster", c["name"], "-o", "json")
            moved = re.sub(r'"address": "([^"]+)"', lambda m: f'"address": "{mapping.get(m.group(1), m.group(1))}"', before)
            lane.check(f"{name}/{c['name']} loopback rewrite keeps meaning", moved == after, "outputs differ")


if __name__ == "__main__":
    sys.exit(main())
