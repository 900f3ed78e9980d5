#!/bin/bash
# `make demo`: a generated namespace, key and CA; the local endpoint standing
# in for Azure; examples/send_telemetry.py on the MicroPython unix build; then
# what the endpoint stored.
set -euo pipefail
cd "$(dirname "$0")/.."
MICROPYTHON=${MICROPYTHON:-build/unix/micropython}
PY=${PY:-.venv/bin/python}
DIR=${DEMO_DIR:-build/demo}
mkdir -p "$DIR"

NS=demo-ns.servicebus.windows.net
# A fresh random key for this run: never printed.
export AZURE_ENDPOINT_KEY=$($PY -c "import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())")

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
export AZURE_CONNECTION_STRING="Endpoint=sb://$NS/;SharedAccessKeyName=DataProducer;SharedAccessKey=$AZURE_ENDPOINT_KEY;EntityPath=telemetry"
export AZURE_ENDPOINT="127.0.0.1:$PORT" AZURE_CA_CERTS="$DIR/certs/ca.der" AZURE_DEVICE=wipy-kitchen-01
export AZURE_READINGS=${AZURE_READINGS:-200}
echo "== examples/send_telemetry.py on $MICROPYTHON"
"$MICROPYTHON" examples/send_telemetry.py
echo "== the endpoint's log"
grep '^accepted' "$DIR/endpoint.log" | tail -5
echo "== what the endpoint stored ($DIR/events.sqlite3)"
$PY tools/azure_endpoint.py count --db "$DIR/events.sqlite3"
$PY tools/azure_endpoint.py dump --db "$DIR/events.sqlite3" --limit 8
