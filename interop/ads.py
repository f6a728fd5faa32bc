"""A small state-of-the-world ADS server for the interop lane, and the xDS resources it serves.

Each client (Envoy or gRPC, told apart by node id) gets a fixed set of resources chosen before it
starts. Listener and Cluster responses carry the whole set; RouteConfiguration and
ClusterLoadAssignment responses carry one resource each, and the next one is sent only after the
client answered the previous one, so every ACK or NACK belongs to exactly one resource. The
ClusterLoadAssignment bytes are the bytes `meshspan eds -o pb` wrote, unchanged.
"""

import queue
import threading

from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import any_pb2, json_format

# Registers the message types that Any fields below name.
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2  # noqa: F401
from envoy.extensions.filters.network.http_connection_manager.v3 import (  # noqa: F401
    http_connection_manager_pb2,
)
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2  # noqa: F401

LDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
ONE_PER_RESPONSE = (RDS, EDS)

ADS_SOURCE = {"ads": {}, "resource_api_version": "V3"}
ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def envoy_cluster(name):
    """An EDS cluster over ADS, HTTP/2 upstream, locality-weighted round robin."""
    return json_format.ParseDict(
        {
            "name": name,
            "type": "EDS",
            "eds_cluster_config": {"eds_config": ADS_SOURCE},
            "connect_timeout": "1s",
            "lb_policy": "ROUND_ROBIN",
            "common_lb_config": {"locality_weighted_lb_config": {}},
            "typed_extension_protocol_options": {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http2_protocol_options": {}},
                }
            },
        },
        cluster_pb2.Cluster(),
    ).SerializeToString()


def envoy_listener(port):
    """One HTTP listener on 127.0.0.1 that routes each request to the cluster its
    `x-meshspan-cluster` header names."""
    return json_format.ParseDict(
        {
            "name": "traffic",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [
                {
                    "filters": [
                        {
                            "name": "envoy.filters.network.http_connection_manager",
                            "typed_config": {
                                "@type": HCM,
                                "stat_prefix": "traffic",
                                "route_config": {
                                    "name": "traffic",
                                    "virtual_hosts": [
                                        {
                                            "name": "all",
                                            "domains": ["*"],
                                            "routes": [
                                                {
                                                    "match": {"prefix": "/"},
                                                    "route": {
                                                        "cluster_header": "x-meshspan-cluster",
                                                        "timeout": "2s",
                                                    },
                                                }
                                            ],
                                        }
                                    ],
                                },
                                "http_filters": [ROUTER],
                            },
                        }
                    ]
                }
            ],
        },
        listener_pb2.Listener(),
    ).SerializeToString()


def grpc_listener(name, route):
    """gRPC's xDS client needs an api_listener: an HttpConnectionManager with RDS over ADS."""
    return json_format.ParseDict(
        {
            "name": name,
            "api_listener": {
                "api_listener": {
                    "@type": HCM,
                    "stat_prefix": name,
                    "rds": {"config_source": ADS_SOURCE, "route_config_name": route},
                    "http_filters": [ROUTER],
                }
            },
        },
        listener_pb2.Listener(),
    ).SerializeToString()


def grpc_route(name, cluster):
    """A route configuration sending everything to one cluster."""
    return json_format.ParseDict(
        {
            "name": name,
            "virtual_hosts": [
                {"name": name, "domains": ["*"], "routes": [{"match": {"prefix": ""}, "route": {"cluster": cluster}}]}
            ],
        },
        route_pb2.RouteConfiguration(),
    ).SerializeToString()


def grpc_cluster(name):
    """An EDS cluster over ADS for gRPC (round robin)."""
    return json_format.ParseDict(
        {"name": name, "type": "EDS", "eds_cluster_config": {"eds_config": ADS_SOURCE}, "lb_policy": "ROUND_ROBIN"},
        cluster_pb2.Cluster(),
    ).SerializeToString()


class AdsServer(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    """Serves `resources[node][type_url][name] = bytes` and records each resource's ACK or NACK."""

    def __init__(self):
        self.cond = threading.Condition()
        self.resources = {}
        self.results = {}
        self.counter = 0

    def serve(self, node, by_type):
        with self.cond:
            self.resources[node] = by_type
            self.results[node] = {}

    def result(self, node, type_url, name):
        with self.cond:
            return self.results.get(node, {}).get((type_url, name))

    def wait(self, node, keys, timeout):
        """Waits until every (type_url, name) in keys has an ACK or NACK; returns the results."""
        with self.cond:
            self.cond.wait_for(lambda: all(k in self.results.get(node, {}) for k in keys), timeout)
            return {k: self.results.get(node, {}).get(k) for k in keys}

    def _next(self):
        self.counter += 1
        return str(self.counter)

    def StreamAggregatedResources(self, request_iterator, context):
        inbox = queue.Queue()

        def read():
            try:
                for req in request_iterator:
                    inbox.put(req)
            except Exception:  # the stream ended: the client went away
                pass
            inbox.put(None)

        threading.Thread(target=read, daemon=True).start()
        node = None
        subscribed, pending, inflight, sent = {}, {}, {}, {}
        while True:
            try:
                req = inbox.get(timeout=1)
            except queue.Empty:
                if not context.is_active():
                    return
                continue
            if req is None:
                return
            if req.node.id:
                node = req.node.id
            t = req.type_url
            with self.cond:
                if req.response_nonce and t in inflight and inflight[t] and inflight[t][0] == req.response_nonce:
                    err = req.error_detail
                    nack = req.HasField("error_detail") and (err.code != 0 or err.message)
                    for n in inflight[t][1]:
                        self.results.setdefault(node, {})[(t, n)] = ("NACK", err.message) if nack else ("ACK", "")
                    inflight[t] = None
                    self.cond.notify_all()
                names = set(req.resource_names)
                available = self.resources.get(node, {}).get(t, {})
                if subscribed.get(t) != names:
                    subscribed[t] = names
                    wanted = sorted(n for n in (names or available) if n in available)
                    if t in ONE_PER_RESPONSE:
                        done = sent.setdefault(t, set())
                        pending.setdefault(t, []).extend([n] for n in wanted if n not in done)
                        done.update(wanted)
                    else:
                        pending[t] = [wanted]
                if not inflight.get(t) and pending.get(t):
                    batch = pending[t].pop(0)
                    nonce = self._next()
                    inflight[t] = (nonce, batch)
                    resp = discovery_pb2.DiscoveryResponse(
                        version_info=nonce,
                        type_url=t,
                        nonce=nonce,
                        resources=[any_pb2.Any(type_url=t, value=available[n]) for n in batch],
                    )
                else:
                    resp = None
            if resp is not None:
                yield resp
