"""gRPC's own xDS client, driven by the lane over standard input (one JSON command a line).

GRPC_XDS_BOOTSTRAP names the bootstrap (the lane's ADS server on 127.0.0.1). Commands:
  {"cmd": "warm", "targets": ["l0", ...]}   open xds:///l0 ... so gRPC asks for LDS, RDS, CDS, EDS
  {"cmd": "traffic", "target": "l0", "n": 100, "deadline": 20}
                                           n calls to /meshspan.Who/Ask; answers {backend: count}
  {"cmd": "quit"}
"""

import json
import sys
import time

import grpc

channels = {}


def reply(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def main():
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "warm":
            for target in cmd["targets"]:
                ch = grpc.insecure_channel(f"xds:///{target}")
                ch.subscribe(lambda _state: None, try_to_connect=True)
                channels[target] = ch
            reply({"warmed": len(cmd["targets"])})
        elif cmd["cmd"] == "traffic":
            ch = channels[cmd["target"]]
            ask = ch.unary_unary("/meshspan.Who/Ask")
            counts, errors = {}, {}
            end = time.monotonic() + cmd["deadline"]
            for _ in range(cmd["n"]):
                if time.monotonic() > end:
                    errors["deadline"] = errors.get("deadline", 0) + 1
                    break
                try:
                    who = ask(b"", timeout=3, wait_for_ready=True).decode()
                    counts[who] = counts.get(who, 0) + 1
                except grpc.RpcError as e:
                    key = str(e.code())
                    errors[key] = errors.get(key, 0) + 1
                    if len(errors) > 0 and sum(errors.values()) >= 3:
                        break
            reply({"counts": counts, "errors": errors})
        elif cmd["cmd"] == "quit":
            reply({"bye": True})
            return


if __name__ == "__main__":
    main()
