"""Drives Liaison's TAXII 2.1 server with the ecosystem's own clients: taxii2-client for
every endpoint and stix2-validator for every object served. Exits non-zero on failure.

Environment: LIAISON_URL, and tokens TOKEN_IL, TOKEN_SY, TOKEN_US, TOKEN_UNDOF."""

import json
import os
import sys
import uuid

import requests
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages
from taxii2client.exceptions import TAXIIServiceException

URL = os.environ["LIAISON_URL"]
TOK = {p: os.environ["TOKEN_" + p.upper()] for p in ["il", "sy", "us", "undof"]}
USER = {"il": "il-liaison", "sy": "sy-liaison", "us": "us-supervisor", "undof": "undof-observer"}
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


# Over HTTPS the cell's certificate is pinned (LIAISON_CA, a PEM file): taxii2-client
# is given it as verify=, and requests (whose sessions taxii2-client uses) finds it in
# REQUESTS_CA_BUNDLE. A client without it must refuse the server.
CA = os.environ.get("LIAISON_CA")
VERIFY = CA if CA else True
if CA:
    os.environ["REQUESTS_CA_BUNDLE"] = CA
    bare = requests.Session()
    bare.trust_env = False
    try:
        bare.get(URL + "/healthz")
        refused = False
    except requests.exceptions.SSLError:
        refused = True
    check(refused, "a client without the cell's certificate refuses the server")
    check(requests.get(URL + "/healthz", verify=CA).status_code == 200, "the pinned certificate is trusted")


def ts(i):
    return "2026-01-10T08:%02d:00.000Z" % i


def indicator(i, name):
    return {
        "type": "indicator", "spec_version": "2.1", "id": "indicator--" + str(uuid.uuid4()),
        "created": ts(i), "modified": ts(i), "name": name,
        "pattern": "[ipv4-addr:value = '10.0.0.%d']" % i, "pattern_type": "stix", "valid_from": "2026-01-10T08:00:00Z",
        "object_marking_refs": [GREEN],
    }


def root(party):
    server = Server(URL + "/taxii2/", user=USER[party], password=TOK[party], verify=VERIFY)
    check(len(server.api_roots) == 1, f"{party}: discovery lists its own API root")
    return server.api_roots[0]


def coll(party, alias):
    r = root(party)
    for c in r.collections:
        if c.alias == alias:
            return c
    raise SystemExit(f"{party} has no collection {alias}")


def validate(obj, where):
    res = validate_instance(obj, ValidationOptions(version="2.1"))
    check(res.is_valid, f"stix2-validator accepts {obj['id']} from {where}")


# Submit as Israel: five indicators, TLP:GREEN.
objs = [indicator(i, f"Launch site {i}") for i in range(1, 6)]
sub = coll("il", "submissions")
check(sub.can_write and sub.can_read, "il: submissions is readable and writable")
status = sub.add_objects(json.dumps({"objects": objs}))
check(status.status == "complete" and status.success_count == 5, "il: POST answers a complete status")
sid = status.id
st2 = ApiRoot(URL + "/taxii2/il/", user=USER["il"], password=TOK["il"], verify=VERIFY).get_status(sid)
check(st2.status == "complete", "status is reachable with and without the trailing slash")

# The submitter reads back every object, byte for byte.
raw = requests.get(sub.url + "objects/", auth=(USER["il"], TOK["il"]), headers={"Accept": "application/taxii+json;version=2.1"})
check(raw.headers["Content-Type"].startswith("application/taxii+json"), "media type is application/taxii+json")
for o in objs:
    check(json.dumps(o) in raw.text, f"il reads back {o['id']} byte for byte")
check("X-TAXII-Date-Added-First" in raw.headers, "X-TAXII-Date-Added-First is sent")

# Nothing reaches Syria before the supervisor decides; Syria cannot use Israel's root.
inbox = coll("sy", "inbox")
check(not inbox.can_write, "sy: inbox is read-only")
check(inbox.get_objects().get("objects", []) == [], "sy: nothing released yet")
r = requests.get(URL + "/taxii2/il/collections/", auth=(USER["sy"], TOK["sy"]))
check(r.status_code == 403, "sy: another party's root is forbidden")
r = requests.get(URL + "/taxii2/sy/collections/", auth=(USER["sy"], "wrong"))
check(r.status_code == 401 and "WWW-Authenticate" in r.headers, "bad credentials get 401 with WWW-Authenticate")
r = requests.get(URL + "/taxii2/sy/collections/", auth=(USER["sy"], TOK["sy"]), headers={"Accept": "text/html"})
check(r.status_code == 406, "a wrong Accept gets 406")
r = requests.post(sub.url + "objects/", auth=(USER["il"], TOK["il"]), data="{}", headers={"Content-Type": "application/json"})
check(r.status_code == 415, "a wrong Content-Type gets 415")
bad = dict(objs[0]); bad["id"] = "indicator--not-a-uuid"
r = requests.post(sub.url + "objects/", auth=(USER["il"], TOK["il"]), data=json.dumps({"objects": [bad]}), headers={"Content-Type": "application/taxii+json;version=2.1"})
check(r.status_code == 422, "invalid STIX is refused")

# The supervisor sees it for review and approves.
review = coll("us", "review")
check(len(review.get_objects().get("objects", [])) == 5, "us: review holds the submission")
r = requests.post(URL + f"/api/v1/intel/submissions/{sid}/decision", headers={"Authorization": "Bearer " + TOK["us"]}, json={"decision": "approve"})
check(r.status_code == 200, "us: approves the release")

# Released: Syria and UNDOF read it, with pagination, filters, versions and manifest.
got = []
for page in as_pages(inbox.get_objects, per_request=2):
    got.extend(page.get("objects", []))
check(sorted(o["id"] for o in got) == sorted(o["id"] for o in objs), "sy: paging with limit=2 returns every object once")
for o in got:
    validate(o, "sy inbox")
one = inbox.get_object(objs[2]["id"])
check(one["objects"][0]["id"] == objs[2]["id"], "object by id")
check(len(inbox.get_objects(type="indicator")["objects"]) == 5, "match[type]")
check(len(inbox.get_objects(id=objs[0]["id"])["objects"]) == 1, "match[id]")
check(len(inbox.get_objects(version="all")["objects"]) == 5, "match[version]=all")
check(len(inbox.get_objects(spec_version="2.1")["objects"]) == 5, "match[spec_version]")
vers = inbox.object_versions(objs[1]["id"])
check(vers["versions"] == [objs[1]["modified"]], "object versions")
man = inbox.get_manifest()
check(len(man["objects"]) == 5 and all(m["media_type"].startswith("application/stix+json") for m in man["objects"]), "manifest")
last = requests.get(inbox.url + "objects/", auth=(USER["sy"], TOK["sy"]), headers={"Accept": "application/taxii+json;version=2.1"}).headers["X-TAXII-Date-Added-Last"]
check(inbox.get_objects(added_after=last).get("objects", []) == [], "added_after past the last date returns nothing")
r = requests.get(inbox.url + "objects/?next=forged", auth=(USER["sy"], TOK["sy"]))
check(r.status_code == 400, "a forged next gets 400")
r = requests.get(inbox.url + "objects/?limit=abc", auth=(USER["sy"], TOK["sy"]))
check(r.status_code == 400, "a bad limit gets 400")
undof = coll("undof", "inbox")
check(len(undof.get_objects().get("objects", [])) == 5, "undof: a GREEN release reaches the observer")

# Syria acknowledges with a STIX note posted to its submissions.
note = {"type": "note", "spec_version": "2.1", "id": "note--" + str(uuid.uuid4()), "created": ts(30), "modified": ts(30),
        "content": "Received and under assessment.", "object_refs": [objs[0]["id"]]}
coll("sy", "submissions").add_objects(json.dumps({"objects": [note]}))
s = requests.get(URL + f"/api/v1/intel/submissions/{sid}", headers={"Authorization": "Bearer " + TOK["il"]}).json()
check("sy" in s.get("acknowledged", {}), "a STIX note referring to the release acknowledges it")

# Israel deletes an object from its submissions collection (can_write).
before = len(sub.get_objects()["objects"])
sub.delete_object(objs[4]["id"])
check(len(sub.get_objects()["objects"]) == before - 1, "DELETE removes the object from the collection")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
