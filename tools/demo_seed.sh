#!/bin/bash
# `make demo-seed`: the seed post's credential model, end to end (issue #18).
# The owner's key stays on the host: tools/device_tokens.py (on the MicroPython
# unix build, the crate's signer) makes one publisher token per device; three
# devices (examples/send_telemetry.py, each given only its token connection
# string) send to the local endpoint over TLS; one device is "stolen" and its
# publisher revoked with the endpoint's CLI: it gets 401 while the other two
# go on; restored, it sends again (and delivers what waited in its outbox).
set -euo pipefail
cd "$(dirname "$0")/.."
MICROPYTHON=${MICROPYTHON:-build/unix/micropython}
PY=${PY:-.venv/bin/python}
DIR=${DEMO_DIR:-build/demo-seed}
READINGS=${AZURE_READINGS:-20}
DEVICES="wipy-kitchen-01 wipy-kitchen-02 wipy-kitchen-03"
STOLEN=${STOLEN:-wipy-kitchen-02}
mkdir -p "$DIR"
rm -rf "$DIR/flash" "$DIR"/outbox-*

NS=demo-ns.servicebus.windows.net
# Fresh random keys for this run (the Send policy's and the namespace's Manage
# policy's): never printed, never on a device.
newkey() { $PY -c "import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())"; }
export AZURE_ENDPOINT_KEY=$(newkey) AZURE_ENDPOINT_MANAGE_KEY=$(newkey)

$PY tools/azure_endpoint.py --port 0 --db "$DIR/events.sqlite3" --reset-db --certs "$DIR/certs" \
    --namespace-host "$NS" --policy DataProducer --eventhub telemetry > "$DIR/endpoint.log" 2>&1 &
EP=$!
trap 'kill $EP 2>/dev/null; wait $EP 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q '^READY port=' "$DIR/endpoint.log" 2>/dev/null && break
    sleep 0.1
done
PORT=$(sed -n 's/^READY port=//p' "$DIR/endpoint.log")
[ -n "$PORT" ] || { cat "$DIR/endpoint.log"; exit 1; }
echo "== local endpoint for $NS on 127.0.0.1:$PORT (CA: $DIR/certs/ca.der)"

echo "== on the host: one token per device from the owner's connection string (tools/device_tokens.py)"
mkdir -p "$DIR/flash"
# shellcheck disable=SC2086
AZURE_CONNECTION_STRING="Endpoint=sb://$NS/;SharedAccessKeyName=DataProducer;SharedAccessKey=$AZURE_ENDPOINT_KEY;EntityPath=telemetry" \
    "$MICROPYTHON" tools/device_tokens.py --days 365 --json --publisher $DEVICES > "$DIR/tokens.jsonl"
$PY - "$DIR" <<'EOF'
import json, sys
d = sys.argv[1]
for line in open(d + "/tokens.jsonl"):
    t = json.loads(line)
    path = "%s/flash/%s.txt" % (d, t["name"])  # what goes to each board's /flash
    with open(path, "w") as f:
        f.write(t["connection_string"] + "\n")
    cs = t["connection_string"]
    print("  %s -> %s (expires se=%d)\n    %s...%s" % (t["name"], path, t["expiry"], cs[:96], cs[-40:]))
EOF
if grep -q -- "$AZURE_ENDPOINT_KEY" "$DIR"/flash/*.txt; then echo "a key reached a device file" >&2; exit 1; fi

export AZURE_ENDPOINT="127.0.0.1:$PORT" AZURE_CA_CERTS="$DIR/certs/ca.der" AZURE_READINGS="$READINGS"
device() {  # one board's run: only its token connection string, its own outbox
    echo "-- $1"
    AZURE_CONNECTION_STRING=$(cat "$DIR/flash/$1.txt") AZURE_DEVICE=$1 AZURE_OUTBOX="$DIR/outbox-$1" \
        "$MICROPYTHON" examples/send_telemetry.py 2>&1 | sed 's/^/   /'
}

echo "== all three devices send (examples/send_telemetry.py with a token, no key)"
for d in $DEVICES; do device "$d"; done

echo "== $STOLEN is stolen: the owner revokes its publisher (endpoint CLI; REST: PUT /telemetry/revokedpublishers/$STOLEN)"
$PY tools/azure_endpoint.py revoke-publisher --db "$DIR/events.sqlite3" --hub telemetry --publisher "$STOLEN"
$PY tools/azure_endpoint.py revoked-publishers --db "$DIR/events.sqlite3" --hub telemetry

echo "== all three send again: $STOLEN is refused (401), the other two go on"
for d in $DEVICES; do device "$d"; done

echo "== $STOLEN recovered: restored, it sends again (what waited in its outbox first)"
$PY tools/azure_endpoint.py restore-publisher --db "$DIR/events.sqlite3" --hub telemetry --publisher "$STOLEN"
device "$STOLEN"

echo "== the endpoint's refusals"
grep '^rejected 401' "$DIR/endpoint.log" | sed 's/ TrackingId.*//' | sort | uniq -c
echo "== what the endpoint stored ($DIR/events.sqlite3), per publisher"
$PY - "$DIR/events.sqlite3" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for pub, n, reqs in db.execute("SELECT publisher, COUNT(*), COUNT(DISTINCT request_id) FROM events"
                               " WHERE entity = 'telemetry' GROUP BY publisher ORDER BY publisher"):
    print("  %-16s %4d events in %d requests" % (pub, n, reqs))
EOF
$PY tools/azure_endpoint.py dump --db "$DIR/events.sqlite3" --limit 4
