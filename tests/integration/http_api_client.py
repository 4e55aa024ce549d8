#!/usr/bin/env python3
"""A small client of RingKV's HTTP/JSON API in Python's standard library only, and a test of it.

    http_api_client.py http://127.0.0.1:<admin port> [http://<another node> ...]

Runs each check against the first node (and, with more nodes, writes through one and reads
through another: any node answers any key). Prints one line per check; exits 0 when all pass.
"""
import base64
import http.client
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


class RingKV:
    """The API's resources as methods; bytes in, bytes out."""

    def __init__(self, base):
        self.base = base.rstrip("/")

    def _call(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    @staticmethod
    def _path(key):
        return urllib.parse.quote(key, safe="")

    @staticmethod
    def bytes_of(obj, name):
        if name in obj:
            return obj[name].encode()
        return base64.b64decode(obj[name + "_b64"])

    def put(self, key, value, if_match=None, lease=None):
        headers = {"Content-Type": "application/octet-stream"}
        if if_match is not None:
            headers["If-Match"] = str(if_match)
        q = "?lease=" + lease if lease else ""
        return self._call("PUT", "/v1/kv/" + self._path(key) + q, value, headers)

    def get(self, key):
        return self._call("GET", "/v1/kv/" + self._path(key))

    def get_prefix(self, prefix, limit=None):
        q = "?prefix" + ("&limit=%d" % limit if limit else "")
        return self._call("GET", "/v1/kv/" + self._path(prefix) + q)

    def delete(self, key):
        return self._call("DELETE", "/v1/kv/" + self._path(key))

    def txn(self, body):
        return self._call("POST", "/v1/txn", json.dumps(body).encode(),
                          {"Content-Type": "application/json"})

    def lease_grant(self, ttl_ms, shard_key=""):
        return self._call("POST", "/v1/lease",
                          json.dumps({"ttl_ms": ttl_ms, "shard_key": shard_key}).encode())

    def lease_ttl(self, lease):
        return self._call("GET", "/v1/lease/%s?keys" % lease)

    def lease_revoke(self, lease):
        return self._call("DELETE", "/v1/lease/%s" % lease)

    def watch(self, key, from_version, count, prefix=False):
        """Reads `count` put/delete events of a watch (Server-Sent Events)."""
        u = urllib.parse.urlparse(self.base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        q = "?from_version=%d" % from_version + ("&prefix" if prefix else "")
        conn.request("GET", "/v1/watch/" + self._path(key) + q)
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        assert resp.getheader("Content-Type").startswith("text/event-stream")
        events, event, data = [], None, None
        while len(events) < count:
            line = resp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and event:
                if event in ("put", "delete"):
                    events.append(data)
                elif event == "error":
                    raise RuntimeError("watch ended: %r" % data)
                event, data = None, None
        conn.close()
        return events


FAILED = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
    if not cond:
        FAILED.append(name)


def main():
    nodes = [RingKV(b) for b in sys.argv[1:]]
    kv = nodes[0]
    other = nodes[-1]

    status, _, body = kv.put("py/greeting", "héllo".encode())
    check("put", status == 200, body)
    v1 = json.loads(body)["version"]
    status, _, body = other.get("py/greeting")
    check("get through another node", status == 200 and
          RingKV.bytes_of(json.loads(body), "value") == "héllo".encode(), body)

    binary = bytes([0, 255, 10, 128])
    kv.put("py/bin", binary)
    status, _, body = kv.get("py/bin")
    obj = json.loads(body)
    check("binary value comes back as value_b64", "value_b64" in obj and
          RingKV.bytes_of(obj, "value") == binary, body)

    status, _, body = kv.get("py/missing")
    check("missing key is 404", status == 404, status)

    status, _, body = kv.put("py/greeting", b"x", if_match=v1 + 1000)
    check("CAS with a stale If-Match is 409 with the current value",
          status == 409 and json.loads(body)["current"]["version"] == v1, body)
    status, _, body = kv.put("py/greeting", b"bonjour", if_match=v1)
    check("CAS with the current version", status == 200, body)

    for i in range(5):
        kv.put("py/list/%d" % i, b"x")
    status, _, body = kv.get_prefix("py/list/", limit=3)
    obj = json.loads(body)
    check("prefix with limit", status == 200 and obj["count"] == 3 and obj["more"], body)

    status, _, body = kv.txn({
        "compare": [{"key": "{py}/a", "target": "version", "op": "=", "version": 0}],
        "success": [{"put": {"key": "{py}/a", "value": "1"}},
                    {"put": {"key": "{py}/b", "value": "2"}}],
        "failure": [{"get": {"key": "{py}/a"}}]})
    obj = json.loads(body)
    check("txn", status == 200 and obj["succeeded"], body)
    # Eight keys without a hash tag: on more than one shard of any ring with many shards.
    status, _, body = kv.txn({"success": [{"put": {"key": "spread%d" % i, "value": "x"}}
                                          for i in range(8)]})
    check("txn across shards is 400 naming the shards",
          status == 400 and "spans shards" in json.loads(body)["message"], body)

    status, _, body = kv.lease_grant(5000, "{svc}/")
    lease = json.loads(body)["id"]
    check("lease grant", status == 200, body)
    kv.put("{svc}/n1", b"up", lease=lease)
    status, _, body = kv.lease_ttl(lease)
    obj = json.loads(body)
    check("lease time-to-live lists the key", status == 200 and obj["keys"][0]["key"] == "{svc}/n1",
          body)
    status, _, body = kv.lease_revoke(lease)
    check("lease revoke deletes the key", status == 200 and json.loads(body)["deleted_keys"] == 1
          and kv.get("{svc}/n1")[0] == 404, body)
    check("revoked lease is 404", kv.lease_ttl(lease)[0] == 404)

    status, _, body = kv.put("py/w", b"1")
    start = json.loads(body)["version"]
    kv.put("py/w", b"2")
    kv.delete("py/w")
    events = other.watch("py/w", start, 3)
    check("watch replays the changes in order",
          [e["type"] for e in events] == ["PUT", "PUT", "DELETE"] and
          events[1]["prev_version"] == events[0]["version"], events)

    status, _, body = kv.delete("py/w")
    check("delete of an absent key", status == 200 and json.loads(body)["deleted"] is False, body)
    print("%d checks failed" % len(FAILED) if FAILED else "all checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
