"""The same workload as `liaison bench taxii`, run against the OASIS reference TAXII
server medallion (memory backend), for a side-by-side comparison on one machine.

Usage: python medallion_bench.py N [--timeout SECONDS]
Needs `pip install medallion==3.0.0 requests`. Prints one JSON line of figures."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import requests

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
TIMEOUT = float(sys.argv[sys.argv.index("--timeout") + 1]) if "--timeout" in sys.argv else 600.0
MEDIA = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
COLL = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


port = free_port()
base = f"http://127.0.0.1:{port}"
tmp = tempfile.mkdtemp()
data = {
    "/discovery": {"title": "bench", "api_roots": [f"{base}/api1/"]},
    "api1": {
        "information": {"title": "api1", "versions": [MEDIA], "max_content_length": 104857600},
        "status": [],
        "collections": [{"id": COLL, "title": "bench", "can_read": True, "can_write": True,
                          "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}],
    },
}
with open(os.path.join(tmp, "data.json"), "w") as f:
    json.dump(data, f)
with open(os.path.join(tmp, "config.json"), "w") as f:
    json.dump({"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": os.path.join(tmp, "data.json")},
               "users": {"u": "p"}, "taxii": {"max_page_size": 100}}, f)
exe = os.path.join(os.path.dirname(sys.executable), "medallion")
proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", str(port), "--log-level", "ERROR", os.path.join(tmp, "config.json")],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
H = {"Accept": MEDIA, "Content-Type": MEDIA}
A = ("u", "p")
try:
    for _ in range(100):
        try:
            if requests.get(f"{base}/taxii2/", auth=A, headers=H, timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    coll = f"{base}/api1/collections/{COLL}/"
    ids = []
    t0 = time.time()
    for b in range(0, N, 1000):
        objs = []
        for i in range(b, min(N, b + 1000)):
            oid = "indicator--%08x-0000-4000-8000-%012x" % (i, i)
            ids.append(oid)
            objs.append({"type": "indicator", "spec_version": "2.1", "id": oid, "created": "2026-01-10T08:00:00.000Z",
                         "modified": "2026-01-10T08:00:00.000Z", "pattern": "[ipv4-addr:value = '10.0.%d.%d']" % (i // 256 % 256, i % 256),
                         "pattern_type": "stix", "valid_from": "2026-01-10T08:00:00Z", "object_marking_refs": [GREEN]})
        r = requests.post(coll + "objects/", auth=A, headers=H, data=json.dumps({"objects": objs}), timeout=TIMEOUT)
        assert r.status_code == 202, r.text
    ingest = time.time() - t0
    pages = []
    deadline = time.time() + TIMEOUT
    complete = True
    for what in ["objects", "manifest"]:
        nxt = None
        while True:
            u = coll + what + "/?limit=100" + (f"&next={nxt}" if nxt else "")
            t = time.time()
            v = requests.get(u, auth=A, headers=H, timeout=TIMEOUT).json()
            pages.append(time.time() - t)
            if not v.get("more") or time.time() > deadline:
                complete = complete and not v.get("more")
                break
            nxt = v.get("next")
    gets = []
    for i in range(min(1000, N)):
        if time.time() > deadline:
            complete = False
            break
        t = time.time()
        requests.get(coll + f"objects/{ids[(i * 7919) % N]}/", auth=A, headers=H, timeout=TIMEOUT)
        gets.append(time.time() - t)
    total = ingest + sum(pages) + sum(gets)
    pages.sort()
    gets.sort()
    pct = lambda v, p: (v[min(len(v) - 1, max(0, int(len(v) * p / 100 + 0.999) - 1))] * 1000) if v else 0
    print(json.dumps({"server": "medallion", "objects": N, "ingest_s": ingest, "pages": len(pages), "pages_s": sum(pages),
                      "page_p50_ms": pct(pages, 50), "page_p99_ms": pct(pages, 99), "gets": len(gets), "gets_s": sum(gets),
                      "total_s": total, "complete": complete}))
finally:
    proc.kill()
