#!/usr/bin/env python3
"""Writes the debug outputs of cluster1's istiod in a 2-network multi-primary mesh (cluster1 on
network1, cluster2 on network2, an east-west gateway each), exactly as istiod marshals them with
`?pretty` (Go `json.MarshalIndent(v, "", "    ")`: struct fields in declaration order, map keys
sorted, no omitempty on these types; `/debug/mesh` is protobuf JSON, zero values omitted):

- endpointShardz.json: map[hostname]map[namespace]*EndpointShards (pilot/pkg/model/endpointshards.go),
  IstioEndpoint (pilot/pkg/model/service.go) with Go field names.
- networkz.json: []NetworkGateway (pilot/pkg/model/network.go).
- clusterz.json: []cluster.DebugInfo (pkg/cluster/debug.go).
- mesh.json: MeshConfig (protomarshal, as istiod's default install with meshID mesh1 writes it).

Run from this directory: python3 generate.py
"""
import json

def endpoint(cluster, ip, port_name, port, target, sa, network, locality, labels,
             workload, health=1, tls="istio", node="", weight=0, ns="bookinfo"):
    return {
        "Labels": labels,
        "Addresses": [ip],
        "ServicePortName": port_name,
        "LegacyClusterPortKey": port,
        "ServiceAccount": f"spiffe://cluster.local/ns/{ns}/sa/{sa}",
        "Network": network,
        "Locality": {"Label": locality, "ClusterID": cluster},
        "EndpointPort": target,
        "LbWeight": weight,
        "TLSMode": tls,
        "Namespace": ns,
        "WorkloadName": workload,
        "HostName": "",
        "SubDomain": "",
        "HealthStatus": health,
        "SendUnhealthyEndpoints": False,
        "NodeName": node,
    }

def labels(app, version, cluster, network, region, zone):
    return {
        "app": app,
        "pod-template-hash": "5c8d9f6b7",
        "security.istio.io/tlsMode": "istio",
        "service.istio.io/canonical-name": app,
        "service.istio.io/canonical-revision": version,
        "topology.istio.io/cluster": cluster,
        "topology.istio.io/network": network,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
        "version": version,
    }

c1 = ("cluster1", "network1", "us-east1", "us-east1-b")
c2 = ("cluster2", "network2", "us-west1", "us-west1-a")

def pod(c, ip, app, version, port_name, port, target, health=1, node="node-1"):
    cluster, network, region, zone = c
    return endpoint(cluster, ip, port_name, port, target, f"bookinfo-{app}", network,
                    f"{region}/{zone}/", labels(app, version, cluster, network, region, zone),
                    f"{app}-{version}", health=health, node=node)

reviews = {
    "Shards": {
        "Kubernetes/cluster1": [
            pod(c1, "10.10.0.5", "reviews", "v1", "http", 9080, 9080),
            pod(c1, "10.10.0.6", "reviews", "v2", "http", 9080, 9080, health=2, node="node-2"),
        ],
        "Kubernetes/cluster2": [
            pod(c2, "10.20.0.5", "reviews", "v3", "http", 9080, 9080, node="node-a"),
        ],
    },
    "ServiceAccounts": {"spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews": {}},
}
# Two service ports: istiod holds one IstioEndpoint a port, the document one endpoint.
ratings = {
    "Shards": {
        "Kubernetes/cluster2": [
            pod(c2, "10.20.0.7", "ratings", "v1", "http", 9080, 9080, node="node-a"),
            pod(c2, "10.20.0.7", "ratings", "v1", "grpc", 9090, 19090, node="node-a"),
        ],
    },
    "ServiceAccounts": {"spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings": {}},
}
# A ServiceEntry's endpoints: provider External, not modelled.
external = {
    "Shards": {
        "External/cluster1": [
            endpoint("cluster1", "203.0.113.50", "https", 443, 443, "default", "", "", {},
                     "", tls="disabled", ns="default"),
        ],
    },
    "ServiceAccounts": {},
}
shardz = {
    "ratings.bookinfo.svc.cluster.local": {"bookinfo": ratings},
    "reviews.bookinfo.svc.cluster.local": {"bookinfo": reviews},
    "www.example.com": {"default": external},
}

networkz = [
    {"Network": "network1", "Cluster": "cluster1", "Addr": "198.51.100.10", "Port": 15443,
     "HBONEPort": 15008,
     "ServiceAccount": {"Namespace": "istio-system", "Name": "istio-eastwestgateway-service-account"}},
    {"Network": "network2", "Cluster": "cluster2", "Addr": "198.51.100.20", "Port": 15443,
     "HBONEPort": 0,
     "ServiceAccount": {"Namespace": "istio-system", "Name": "istio-eastwestgateway-service-account"}},
]

clusterz = [
    {"id": "cluster1", "secretName": "", "syncStatus": "synced"},
    {"id": "cluster2", "secretName": "istio-system/istio-remote-secret-cluster2", "syncStatus": "synced"},
]

mesh = {
    "proxyListenPort": 15001,
    "proxyInboundListenPort": 15006,
    "connectTimeout": "10s",
    "protocolDetectionTimeout": "0s",
    "ingressClass": "istio",
    "ingressService": "istio-ingressgateway",
    "ingressControllerMode": "STRICT",
    "enableTracing": True,
    "defaultConfig": {
        "configPath": "./etc/istio/proxy",
        "binaryPath": "/usr/local/bin/envoy",
        "serviceCluster": "istio-proxy",
        "drainDuration": "45s",
        "discoveryAddress": "istiod.istio-system.svc:15012",
        "proxyAdminPort": 15000,
        "controlPlaneAuthPolicy": "MUTUAL_TLS",
        "statNameLength": 189,
        "statusPort": 15020,
        "terminationDrainDuration": "5s",
        "meshId": "mesh1",
        "proxyMetadata": {},
    },
    "outboundTrafficPolicy": {"mode": "ALLOW_ANY"},
    "enableAutoMtls": True,
    "trustDomain": "cluster.local",
    "defaultServiceExportTo": ["*"],
    "defaultVirtualServiceExportTo": ["*"],
    "defaultDestinationRuleExportTo": ["*"],
    "rootNamespace": "istio-system",
    "localityLbSetting": {"enabled": True, "failover": [{"from": "us-east1", "to": "us-west1"}]},
    "dnsRefreshRate": "60s",
    "serviceSettings": [{"settings": {"clusterLocal": True}, "hosts": ["*.infra.svc.cluster.local"]}],
    "enablePrometheusMerge": True,
}

for name, value in [("endpointShardz", shardz), ("networkz", networkz), ("clusterz", clusterz),
                    ("mesh", mesh)]:
    with open(f"{name}.json", "w") as f:
        f.write(json.dumps(value, indent=4) + "\n")
