#!/bin/sh
# Measures a sanctions list load through the real binary (the CLI's upload, the parse,
# the files stored, the re-screen in the writer, the commit): the seeded 52,904-name
# FtM list of bench/screening loaded with no proposal open, then loaded again (a new
# file: one entry more) with PROPOSALS open proposals of 50 counterparties each
# (10,000 counterparties at the default 200) that the load re-screens.
# Usage: bench/cooperation/rescreen.sh [PROPOSALS]   (run from the repository root,
# after `cargo build --release --bin liaison`). Prints one JSON line.
set -eu
N=${1:-200}
export N
BIN=${LIAISON_BIN:-./target/release/liaison}
DIR=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
"$BIN" init --data "$DIR/data" --charter examples/demo.toml >/dev/null
python3 - "$DIR" <<'PY'
import json, sys, os
d = sys.argv[1]
c = json.load(open(os.path.join(d, "data", "credentials.json")))
for o in c["operators"]:
    open(os.path.join(d, o["name"] + ".token"), "w").write(o["token"])
    if o.get("key"):
        p = os.path.join(d, o["name"] + ".pem")
        open(p, "w").write(o["key"]); os.chmod(p, 0o600)
    os.chmod(os.path.join(d, o["name"] + ".token"), 0o600)
words = ["Golan", "Hermon", "Banias", "Quneitra", "Yarmouk", "Jordan", "Tiberias", "Daraa",
         "Suwayda", "Safed", "Katzrin", "Mas'ade", "Hasbaya", "Rafid", "Nawa", "Hamat"]
forms = ["Water", "Pipe", "Engineering", "Trading", "Construction", "Agri", "Energy", "Transport"]
suffix = ["Ltd", "LLC", "S.A.L.", "Co.", "Group", "Holdings"]
for i in range(int(os.environ.get("N", "200"))):
    cps = []
    for k in range(50):
        j = i * 50 + k
        cps.append({"kind": "organisation",
                    "name": f"{words[j % 16]} {forms[(j // 16) % 8]} {words[(j // 128) % 16]} {suffix[j % 6]} {j}",
                    "country": "SY" if j % 2 else "IL"})
    p = {"title": f"Project {i}", "sector": "trade_and_crossings", "parties": ["il", "sy"],
         "counterparties": cps}
    json.dump(p, open(os.path.join(d, f"p{i}.json"), "w"))
PY
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --data "$DIR/data" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
SERVER=$!
URL="http://127.0.0.1:$PORT"
while ! "$BIN" --server "$URL" healthcheck >/dev/null 2>&1; do sleep 0.1; done
as() { who=$1; shift; "$BIN" --server "$URL" --token-file "$DIR/$who.token" --key "$DIR/$who.pem" "$@"; }
as us-supervisor cell approve >/dev/null
now() { python3 -c 'import time; print(time.monotonic())'; }
LIST=bench/screening/list.ftm.json
mkdir -p "$DIR/v2"
cp "$LIST" "$DIR/v2/list.ftm.json"
echo '{"id": "SYN-EXTRA", "schema": "Company", "properties": {"name": ["Hermon Pipe Works LLC"]}, "datasets": ["synthetic"]}' >> "$DIR/v2/list.ftm.json"
t0=$(now); as us-supervisor screening load --format ftm-json "$LIST" >/dev/null; t1=$(now)
i=0; while [ "$i" -lt "$N" ]; do as il-liaison coop propose "$DIR/p$i.json" >/dev/null; i=$((i+1)); done
t2=$(now); as us-supervisor screening load --format ftm-json "$DIR/v2/list.ftm.json" >/dev/null; t3=$(now)
python3 -c "import json; print(json.dumps({'proposals': $N, 'counterparties': $N*50, 'list_names': 52904, 'load_without_proposals_s': round($t1-$t0,3), 'load_rescreening_s': round($t3-$t2,3)}))"
