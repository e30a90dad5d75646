#!/usr/bin/env python3
"""The anchor: the same evaluation queries through nomenklatura 4.17.4's matcher against
the same list, as yente would screen them: candidates from nomenklatura's blocking index
(DuckDB, its default options: up to 75 candidates a query), each scored by the LogicV2
algorithm (name matching with rigour's cross-script name handling), and a match reported
at yente's default threshold, 0.70.

Run by hand (CI does not need nomenklatura), in a virtual environment of its own:

    python3 -m venv /tmp/anchor-venv
    /tmp/anchor-venv/bin/pip install nomenklatura==4.17.4
    /tmp/anchor-venv/bin/python bench/screening/anchor.py

It writes anchor-results.jsonl (one line a query: the target entity's best score among
the candidates, the best score of any other entity, and the target's score when it is
compared directly, without blocking) and anchor-speed.json (screenings per second on one
core: the DuckDB index limited to one thread, medians of --runs runs over a fixed sample,
by the wall clock and by the process's CPU time). --speed-only measures the speed again
and keeps the quality results.
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from followthemoney import Dataset, StatementEntity
from nomenklatura.blocker import Index
from nomenklatura.matching import LogicV2, ScoringConfig
from nomenklatura.resolver import Linker
from nomenklatura.store import MemoryStore

HERE = Path(__file__).resolve().parent
THRESHOLD = 0.70


def load_list(path, ds):
    store = MemoryStore(ds, Linker({}))
    with store.writer() as w, open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            d["datasets"] = [ds.name]
            w.add_entity(StatementEntity.from_data(ds, d))
    return store


def query_entity(ds, q):
    schema = "Person" if q["kind"] == "person" else "Organization"
    data = {"id": q["id"], "schema": schema, "properties": {"name": [q["name"]]}, "datasets": [ds.name]}
    return StatementEntity.from_data(ds, data)


def build_index(view, one_core):
    d = tempfile.mkdtemp(prefix="anchor-index-")
    idx = Index(view, Path(d))
    if one_core:
        idx.con.execute("SET threads TO 1")
    idx.build()
    return idx, d


def screen(idx, view, entities, config):
    """Blocking for all queries at once (as the index is made to be used), then LogicV2
    on every candidate. Returns {query id: [(entity id, score)]}, the two wall-clock
    times and the process's CPU time (the machine may be shared: CPU time is what one
    core spent)."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    blocked = {qid.id: [c.id for c, _ in cands] for qid, cands in idx.match_entities(entities)}
    t1 = time.perf_counter()
    scores = {}
    for e in entities:
        out = []
        for cid in blocked.get(e.id, []):
            cand = view.get_entity(cid)
            if cand is None:
                continue
            out.append((cid, LogicV2.compare(e, cand, config).score))
        scores[e.id] = out
    t2 = time.perf_counter()
    return scores, t1 - t0, t2 - t1, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", default=str(HERE / "list.ftm.json"))
    ap.add_argument("--queries", default=str(HERE / "queries.jsonl"))
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--speed-sample", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--speed-only", action="store_true", help="measure the speed again and keep the results")
    args = ap.parse_args()

    ds = Dataset.make({"name": "evaluation", "title": "evaluation"})
    t = time.perf_counter()
    store = load_list(args.list, ds)
    view = store.view(ds)
    print(f"list loaded in {time.perf_counter() - t:.1f}s", flush=True)
    queries = [json.loads(line) for line in open(args.queries, encoding="utf-8")]
    entities = [query_entity(ds, q) for q in queries]
    config = ScoringConfig.defaults()

    t = time.perf_counter()
    idx, idx_dir = build_index(view, one_core=True)
    build_s = time.perf_counter() - t
    print(f"index built in {build_s:.1f}s (one thread)", flush=True)

    # Speed: a fixed sample (the first N queries), several runs, on one core.
    sample = entities[: args.speed_sample]
    runs = []
    for r in range(args.runs):
        _, block_s, compare_s, cpu_s = screen(idx, view, sample, config)
        runs.append({
            "blocking_s": block_s,
            "scoring_s": compare_s,
            "per_s": len(sample) / (block_s + compare_s),
            "cpu_s": cpu_s,
            "per_cpu_s": len(sample) / cpu_s,
            "load_average": os.getloadavg()[0],
        })
        print(f"speed run {r + 1}: {runs[-1]}", flush=True)
    per_s = statistics.median(r["per_s"] for r in runs)
    per_cpu_s = statistics.median(r["per_cpu_s"] for r in runs)
    speed_path = os.path.join(args.out, "anchor-speed.json")
    if args.speed_only:
        with open(speed_path, encoding="utf-8") as f:
            summary = json.load(f)
        summary.update({
            "index_build_s": round(build_s, 2),
            "speed_sample": len(sample),
            "runs": runs,
            "screenings_per_s_median": round(per_s, 2),
            "screenings_per_cpu_s_median": round(per_cpu_s, 2),
        })
        with open(speed_path, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        print(json.dumps(summary))
        return

    # Quality: every query.
    scores, block_s, compare_s, _ = screen(idx, view, entities, config)
    print(f"all {len(entities)} queries in {block_s + compare_s:.1f}s", flush=True)
    with open(os.path.join(args.out, "anchor-results.jsonl"), "w", encoding="utf-8") as f:
        for q, e in zip(queries, entities):
            target = q.get("target")
            found = scores.get(q["id"], [])
            target_score = max((s for c, s in found if c == target), default=0.0)
            others = [(s, c) for c, s in found if c != target]
            best_other, best_other_id = max(others, default=(0.0, None))
            oracle = None
            if target is not None:
                cand = view.get_entity(target)
                if cand is not None:
                    oracle = LogicV2.compare(e, cand, config).score
            f.write(json.dumps({
                "id": q["id"],
                "target_score": round(target_score, 4),
                "best_other": round(best_other, 4),
                "best_other_id": best_other_id,
                "oracle": None if oracle is None else round(oracle, 4),
                "candidates": len(found),
            }) + "\n")
    summary = {
        "algorithm": "nomenklatura 4.17.4 LogicV2 after its blocking index",
        "threshold": THRESHOLD,
        "list": os.path.basename(args.list),
        "queries": len(queries),
        "index_build_s": round(build_s, 2),
        "speed_sample": len(sample),
        "runs": runs,
        "screenings_per_s_median": round(per_s, 2),
        "screenings_per_cpu_s_median": round(per_cpu_s, 2),
        "all_queries_s": round(block_s + compare_s, 2),
    }
    with open(speed_path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(json.dumps(summary))
    idx.close()
    shutil.rmtree(idx_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
