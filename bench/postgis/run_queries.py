#!/usr/bin/env python3
"""Run every query of the loaded workload against PostGIS, one at a time
(one backend = one core), write {"id", "sites", "zones", "actives"} lines."""
import json
import sys
import time

import psycopg2

dsn, out_path = sys.argv[1], sys.argv[2]
conn = psycopg2.connect(dsn)
conn.autocommit = True
cur = conn.cursor()
cur.execute("SELECT coalesce(max(radius), 0) FROM gb_sites")
max_radius = cur.fetchone()[0]
cur.execute("SELECT coalesce(max(buf), 0) FROM gb_actives")
max_buf = cur.fetchone()[0]
cur.execute("SELECT id FROM gb_queries ORDER BY id")
ids = [r[0] for r in cur.fetchall()]

# Index-assisted prefilter with the largest per-row buffer, then the exact
# per-row threshold (ST_DWithin on geography, use_spheroid = true by default).
SQL = """
SELECT
 (SELECT coalesce(array_agg(s.id ORDER BY s.id), '{}') FROM gb_sites s
   WHERE ST_DWithin(s.g, q.g, %(maxr)s + q.buf) AND ST_DWithin(s.g, q.g, s.radius + q.buf)),
 (SELECT coalesce(array_agg(z.id ORDER BY z.id), '{}') FROM gb_zones z
   WHERE ST_DWithin(z.g, q.g, q.buf)),
 (SELECT coalesce(array_agg(a.id ORDER BY a.id), '{}') FROM gb_actives a
   WHERE a.party <> q.party AND a.t0 < q.t1 AND q.t0 < a.t1 AND a.a0 <= q.a1 AND q.a0 <= a.a1
     AND ST_DWithin(a.g, q.g, %(maxb)s + q.buf) AND ST_DWithin(a.g, q.g, a.buf + q.buf))
FROM gb_queries q WHERE q.id = %(id)s
"""
lines = []
t = time.perf_counter()
for qid in ids:
    cur.execute(SQL, {"id": qid, "maxr": max_radius, "maxb": max_buf})
    s, z, a = cur.fetchone()
    lines.append(json.dumps({"id": qid, "sites": list(s), "zones": list(z), "actives": list(a)}, separators=(",", ":")))
secs = time.perf_counter() - t
with open(out_path, "w") as f:
    f.write("\n".join(lines) + ("\n" if lines else ""))
print(json.dumps({"queries": len(ids), "seconds": round(secs, 3), "checks_per_second": round(len(ids) / secs, 2) if secs else 0}))
