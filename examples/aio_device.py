# An IoT Hub device written around asyncio (a Pico W class board): a sensor
# task takes a reading every `interval` seconds and puts it in an outbox on
# flash (nothing lost while the network is down), then drains the outbox
# through azure.aio.IoTHubMQTTClient without blocking the loop. The interval
# comes from the device twin's desired properties (read at start, changed
# live by a desired patch) and is reported back; a `reboot` direct method is
# answered, then the app stops and resets the board; cloud-to-device messages
# are printed as they arrive. The client runs its own task (keep-alive,
# reconnects, handlers): there is no poll() to call, and other tasks (a
# display, a button, a web page) keep running while it waits on the network.
#
# The blocking sibling is examples/iot_mqtt_device.py (same configuration,
# same behaviour). On a board: set the configuration below (and connect the
# WLAN and set the clock first, e.g. in boot.py). On the unix build, the
# environment points it at the local endpoint (tests/e2e/test_aio_example.py
# runs it so).
try:
    import asyncio
except ImportError:  # (the WiPy has no asyncio: run examples/iot_mqtt_device.py there)
    raise SystemExit("examples/aio_device.py needs asyncio; without it: examples/iot_mqtt_device.py")

import azure
from azure.aio import IoTHubMQTTClient

# ---- Configuration -----------------------------------------------------------
CONNECTION_STRING = "HostName=<hub>.azure-devices.net;DeviceId=<device>;SharedAccessKey=<key>"
CA_CERTS = "/cert/ca.pem"  # root CA of IoT Hub (PEM or DER)
ENDPOINT = None  # "host:port" to connect elsewhere (local endpoint); IoT Hub: port 8883
READINGS = 0  # stop after this many readings (0: run forever)
INTERVAL = 60  # seconds between readings until the twin says otherwise
OUTBOX = "/outbox"  # readings not sent yet wait here (a directory)
# -------------------------------------------------------------------------------

try:
    import os

    CONNECTION_STRING = os.getenv("AZURE_CONNECTION_STRING") or CONNECTION_STRING
    CA_CERTS = os.getenv("AZURE_CA_CERTS") or CA_CERTS
    ENDPOINT = os.getenv("AZURE_ENDPOINT") or ENDPOINT
    READINGS = int(os.getenv("AZURE_READINGS") or READINGS)
    OUTBOX = os.getenv("AZURE_OUTBOX") or "/tmp/aio_device-outbox"  # (getenv: not a board)
except (ImportError, AttributeError):
    pass

client = IoTHubMQTTClient.from_connection_string(CONNECTION_STRING, ca_certs=CA_CERTS, endpoint=ENDPOINT)
box = azure.Outbox(OUTBOX, max_bytes=32768)  # when full, the oldest readings go first
state = {"interval": INTERVAL, "reboot": False}
wake = asyncio.Event()  # set when the interval changes or a reboot is asked: the sensor stops waiting


async def apply_desired(desired):
    # The twin's desired "interval" (whole seconds, 1..3600): used and reported back.
    v = desired.get("interval")
    if isinstance(v, int) and 0 < v <= 3600 and v != state["interval"]:
        state["interval"] = v
        wake.set()
        print("interval: %d s (desired $version %s)" % (v, desired.get("$version")))
        try:
            await client.patch_twin_reported({"interval": v})
        except azure.SendError as e:
            print("  reporting the interval failed: %s" % e)


async def on_twin_patch(patch):  # (handlers may be coroutines: each runs in its own task)
    await apply_desired(patch)


def on_method(name, payload):
    if name == "reboot":
        print("method reboot %s: rebooting after this answer" % (payload,))
        state["reboot"] = True
        wake.set()
        return 200, {"rebooting": True}
    return 404, {"error": "no method " + name}


def on_message(msg):
    print("message %s: %s %s" % (msg.message_id, msg.body, msg.properties))


client.on_twin_patch = on_twin_patch
client.on_method = on_method
client.on_message = on_message


def read_sensor(i):
    # Stand-in for a real sensor, in hundredths of a degree.
    c = 2150 + (i * 37) % 400 - 200
    return '{"seq":%d,"ts":%d,"temp_c":%d.%02d}' % (i, azure.unix_time(), c // 100, c % 100)


async def sensor(counts):
    # A reading every interval into the outbox, then the outbox drained.
    while not state["reboot"] and (not READINGS or counts["readings"] < READINGS):
        wake.clear()  # (a change from now on ends the wait below at once)
        box.put(read_sensor(counts["readings"]), {"kind": "reading"})  # (a short flash write)
        counts["readings"] += 1
        try:
            counts["sent"] += await box.flush(client, batch=16)
        except azure.SendError as e:  # offline or refused: the client reconnects, the readings wait
            print("  sending failed (%s): %d readings wait in the outbox" % (e, len(box)))
        # Until the next reading, or sooner when the interval changes or a reboot is asked.
        try:
            await asyncio.wait_for(wake.wait(), state["interval"])
        except asyncio.TimeoutError:
            pass


async def main():
    try:
        await client.connect()
        twin = await client.get_twin()
        print("connected to %s as %s; twin desired %s" % (client.host, client.device_id, twin["desired"]))
        await client.patch_twin_reported({"fw": "upy-azure", "interval": state["interval"]})
        await apply_desired(twin["desired"])
        n = await box.flush(client, batch=16)  # readings kept from before a reset go first
        if n:
            print("sent %d readings kept in the outbox" % n)
    except azure.SendError as e:  # offline: readings wait in the outbox, the client keeps trying
        print("not connected (%s): readings go to the outbox" % e)
    counts = {"readings": 0, "sent": 0}
    await sensor(counts)  # (start other tasks with asyncio.create_task before this)
    s = client.stats
    print("done: %d readings, %d sent, %d in the outbox; %d connection(s), %d ping(s)"
          % (counts["readings"], counts["sent"], len(box), s["connects"], s["pings"]))
    await client.close()


asyncio.run(main())
if state["reboot"]:
    try:
        import machine

        machine.reset()
    except (ImportError, AttributeError):
        print("reboot requested (no machine.reset here)")
