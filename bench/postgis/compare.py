#!/usr/bin/env python3
"""Compare two result files (ours vs PostGIS). Each difference is measured in
PostGIS (ST_Distance on geography vs the threshold); a difference is acceptable
only when the distance is within 1 m of the threshold."""
import json
import sys

import psycopg2

dsn, ours_path, theirs_path = sys.argv[1], sys.argv[2], sys.argv[3]


def read(p):
    with open(p) as f:
        return {r["id"]: r for r in (json.loads(l) for l in f if l.strip())}


ours, theirs = read(ours_path), read(theirs_path)
conn = psycopg2.connect(dsn)
cur = conn.cursor()
THR = {
    "sites": "SELECT ST_Distance(x.g, q.g), x.radius + q.buf FROM gb_sites x, gb_queries q WHERE x.id = %s AND q.id = %s",
    "zones": "SELECT ST_Distance(x.g, q.g), q.buf FROM gb_zones x, gb_queries q WHERE x.id = %s AND q.id = %s",
    "actives": "SELECT ST_Distance(x.g, q.g), x.buf + q.buf FROM gb_actives x, gb_queries q WHERE x.id = %s AND q.id = %s",
}
totals = {k: 0 for k in THR}
diffs, bad = [], []
missing = sorted(set(theirs) ^ set(ours))
for qid in sorted(set(ours) & set(theirs)):
    for cat in THR:
        a, b = set(ours[qid][cat]), set(theirs[qid][cat])
        totals[cat] += len(b)
        for xid in sorted(a ^ b):
            cur.execute(THR[cat], (xid, qid))
            d, thr = cur.fetchone()
            rec = {"query": qid, "category": cat, "id": xid, "only_in": "ours" if xid in a else "postgis",
                   "distance_m": round(d, 4), "threshold_m": thr, "margin_m": round(d - thr, 4)}
            diffs.append(rec)
            if abs(d - thr) > 1.0:
                bad.append(rec)
summary = {
    "queries_compared": len(set(ours) & set(theirs)),
    "queries_missing": len(missing),
    "postgis_hits": totals,
    "differences": len(diffs),
    "differences_beyond_1m": len(bad),
    "agreement": "OK" if not bad and not missing else "MISMATCH",
}
print(json.dumps(summary))
for r in diffs[:50]:
    print(json.dumps(r))
sys.exit(0 if not bad and not missing else 1)
