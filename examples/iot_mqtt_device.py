# An IoT Hub device over MQTT: one TLS connection kept open, telemetry through
# an outbox on flash (nothing lost while the network is down), its reporting
# interval taken from the device twin's desired properties (and reported
# back), a `reboot` direct method, and cloud-to-device messages printed as
# they arrive. No threads: the main loop calls client.poll() between readings.
#
# On a board: set the configuration below (and run boot.py first: WLAN and
# the clock). On the unix build, the environment points it at the local
# endpoint (tools/azure_endpoint.py; tests/e2e/test_mqtt_e2e.py runs it).
import azure

# ---- Configuration -----------------------------------------------------------
CONNECTION_STRING = "HostName=<hub>.azure-devices.net;DeviceId=<device>;SharedAccessKey=<key>"
CA_CERTS = "/flash/cert/ca.pem"  # DER root CA of IoT Hub
ENDPOINT = None  # "host:port" to connect elsewhere (local endpoint); IoT Hub: port 8883
READINGS = 0  # stop after this many readings (0: run forever)
INTERVAL = 60  # seconds between readings until the twin says otherwise
OUTBOX = "/flash/outbox"  # readings not sent yet wait here (a directory)
# -------------------------------------------------------------------------------

try:
    import os

    CONNECTION_STRING = os.getenv("AZURE_CONNECTION_STRING") or CONNECTION_STRING
    CA_CERTS = os.getenv("AZURE_CA_CERTS") or CA_CERTS
    ENDPOINT = os.getenv("AZURE_ENDPOINT") or ENDPOINT
    READINGS = int(os.getenv("AZURE_READINGS") or READINGS)
    try:
        os.stat("/flash")
    except OSError:  # not a board: the host's /tmp
        OUTBOX = "/tmp/iot_mqtt_device-outbox"
    OUTBOX = os.getenv("AZURE_OUTBOX") or OUTBOX
except (ImportError, AttributeError):
    pass

try:
    from time import ticks_ms, ticks_diff
except ImportError:
    from utime import ticks_ms, ticks_diff

client = azure.IoTHubMQTTClient.from_connection_string(CONNECTION_STRING, ca_certs=CA_CERTS, endpoint=ENDPOINT)
box = azure.Outbox(OUTBOX, max_bytes=32768)  # when full, the oldest readings go first
state = {"interval": INTERVAL, "reboot": False}


def apply_desired(desired):
    # The twin's desired "interval" (whole seconds, 1..3600): used and reported back.
    v = desired.get("interval")
    if isinstance(v, int) and 0 < v <= 3600 and v != state["interval"]:
        state["interval"] = v
        print("interval: %d s (desired $version %s)" % (v, desired.get("$version")))
        try:
            client.patch_twin_reported({"interval": v})
        except azure.SendError as e:
            print("  reporting the interval failed: %s" % e)


def on_twin_patch(patch):
    apply_desired(patch)


def on_method(name, payload):
    if name == "reboot":
        print("method reboot %s: rebooting after this answer" % (payload,))
        state["reboot"] = True
        return 200, {"rebooting": True}
    return 404, {"error": "no method " + name}


def on_message(msg):
    print("message %s: %s %s" % (msg.message_id, msg.body, msg.properties))


client.on_twin_patch = on_twin_patch
client.on_method = on_method
client.on_message = on_message


def read_sensor(i):
    # Stand-in for a real sensor, in hundredths of a degree (no floats on the WiPy).
    c = 2150 + (i * 37) % 400 - 200
    return '{"seq":%d,"ts":%d,"temp_c":%d.%02d}' % (i, azure.unix_time(), c // 100, c % 100)


try:
    client.connect()
    twin = client.get_twin()
    print("connected to %s as %s; twin desired %s" % (client.host, client.device_id, twin["desired"]))
    client.patch_twin_reported({"fw": "upy-azure", "interval": state["interval"]})
    apply_desired(twin["desired"])
except azure.SendError as e:  # offline: readings wait in the outbox
    print("not connected (%s): readings go to the outbox" % e)

i = 0
sent = 0
while not state["reboot"] and (not READINGS or i < READINGS):
    box.put(read_sensor(i), {"kind": "reading"})
    i += 1
    try:
        sent += box.flush(client, batch=16)
    except azure.SendError as e:
        print("  sending failed (%s): %d readings wait in the outbox" % (e, len(box)))
    # Until the next reading: handle what arrives (twin patches, methods, messages).
    start = ticks_ms()
    while not state["reboot"]:
        left = state["interval"] * 1000 - ticks_diff(ticks_ms(), start)
        if left <= 0:
            break
        try:
            client.poll(min(left, 1000))
        except azure.SendError as e:  # refused for good (bad key, expired token): say so, keep the readings
            print("  connection refused: %s" % e)
            break

s = client.stats
print("done: %d readings, %d sent, %d in the outbox; %d connection(s), %d ping(s)"
      % (i, sent, len(box), s["connects"], s["pings"]))
client.close()
if state["reboot"]:
    try:
        import machine

        machine.reset()
    except (ImportError, AttributeError):
        print("reboot requested (no machine.reset here)")
