# Send a stream of sensor readings to an Event Hub over HTTPS: the 2015
# "WiPy to Event Hubs" flow done right. The device signs its own short-lived
# publisher token from the connection string (it can only post as itself),
# verifies the server's certificate, keeps one TLS connection alive, batches
# readings, and knows whether every batch was stored. A batch that cannot be
# sent (no network, the service busy) goes into an outbox on flash
# (azure.Outbox) and is sent later, in order, even after a reset.
#
# On a board: set the configuration below (and run boot.py first: WLAN and
# the clock). On the unix build, `make demo` sets it through the environment
# to point at the local endpoint (tools/azure_endpoint.py).
import azure

# ---- Configuration -----------------------------------------------------------
CONNECTION_STRING = (
    "Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=DataProducer;"
    "SharedAccessKey=<key>;EntityPath=<event hub>"
)
DEVICE = "wipy-01"  # the publisher name this device sends as
CA_CERTS = "/flash/cert/ca.pem"  # DER root CA(s) of the service
ENDPOINT = None  # "host:port" to connect elsewhere (local endpoint, proxy)
READINGS = 200
BATCH = 50
OUTBOX = "/flash/outbox"  # readings not sent yet wait here (a directory)
# -------------------------------------------------------------------------------

try:
    import os

    CONNECTION_STRING = os.getenv("AZURE_CONNECTION_STRING") or CONNECTION_STRING
    DEVICE = os.getenv("AZURE_DEVICE") or DEVICE
    CA_CERTS = os.getenv("AZURE_CA_CERTS") or CA_CERTS
    ENDPOINT = os.getenv("AZURE_ENDPOINT") or ENDPOINT
    READINGS = int(os.getenv("AZURE_READINGS") or READINGS)
    try:
        os.stat("/flash")
    except OSError:  # not a board: the host's /tmp
        OUTBOX = "/tmp/send_telemetry-outbox"
    OUTBOX = os.getenv("AZURE_OUTBOX") or OUTBOX
except (ImportError, AttributeError):
    pass

try:
    from time import ticks_ms, ticks_diff
except ImportError:
    from utime import ticks_ms, ticks_diff


def read_sensor(i):
    # Stand-in for a real sensor: a slow wave plus a little noise, in
    # hundredths of a degree (the WiPy's MicroPython has no floats).
    centi_c = 2150 + (i * 37) % 400 - 200 + (azure.unix_time() % 7)
    return {"seq": i, "ts": azure.unix_time(), "centi_c": centi_c, "rh": 40 + i % 20}


def encode(reading):
    # Small, fixed-order JSON without floats or the json module.
    c = reading["centi_c"]
    return '{"seq":%d,"ts":%d,"temp_c":%d.%02d,"rh":%d}' % (
        reading["seq"], reading["ts"], c // 100, c % 100, reading["rh"])


client = azure.EventHubClient.from_connection_string(
    CONNECTION_STRING, publisher=DEVICE, ca_certs=CA_CERTS, endpoint=ENDPOINT)
print("sending %d readings as publisher %r to %s (batches of %d)" % (READINGS, DEVICE, client.host, BATCH))
box = azure.Outbox(OUTBOX, max_bytes=65536)  # when full, the oldest readings go first


def flush_outbox():
    # Sends what waits in the outbox, oldest first; returns how many went out.
    before = len(box)
    try:
        box.flush(client, batch=BATCH)
    except azure.SendError as e:
        print("  outbox: sending failed (HTTP %s): %s; %d readings wait" % (e.status, e.text, len(box)))
    return before - len(box)


if len(box):  # left from an earlier run (no network then, or a reset)
    print("outbox: %d readings from an earlier run" % len(box))
    print("  outbox: %d delivered" % flush_outbox())

# One single event first (with a property), then batches.
start = ticks_ms()
sent = 0
try:
    status = client.send(encode(read_sensor(0)), properties={"kind": "hello", "fw": "upy-azure"})
    print("first event acknowledged: HTTP %d" % status)
    sent = 1
except azure.SendError as e:
    box.put(encode(read_sensor(0)), {"kind": "hello", "fw": "upy-azure"})
    print("first event not sent (HTTP %s): %s; kept in the outbox" % (e.status, e.text))
pending = []
try:
    for i in range(1, READINGS):
        pending.append((encode(read_sensor(i)), {"kind": "reading"}))
        if len(pending) == BATCH or i == READINGS - 1:
            if len(box):
                # Older readings wait: these go behind them, to keep the order.
                for body, props in pending:
                    box.put(body, props)
                sent += flush_outbox()
            else:
                try:
                    client.send_batch(pending)
                    sent += len(pending)
                except azure.SendError as e:
                    # NOT stored: keep the batch on flash, send it later.
                    for body, props in pending:
                        box.put(body, props)
                    print("send failed (HTTP %s): %s; %d readings kept in the outbox"
                          % (e.status, e.text, len(box)))
            pending = []
            ms = ticks_diff(ticks_ms(), start) or 1
            print("  %4d/%d stored  (%d events/s)" % (sent, READINGS, sent * 1000 // ms))
finally:
    client.close()

s = client.stats
print("done: %d events in %d requests over %d connection(s), %d retries, %d token(s) signed; "
      "%d readings wait in the outbox" % (s["sent"], s["requests"], s["connects"], s["retries"],
                                          s["renewals"], len(box)))
