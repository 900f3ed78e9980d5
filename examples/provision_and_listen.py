# A device of a fleet: at first boot it derives its key from the enrollment
# group's, asks the Device Provisioning Service (DPS) which IoT hub it
# belongs to, and stores the answer on flash (a small file); on later boots
# it skips DPS. Then it reports in, listens for a command (cloud-to-device),
# acts on it and completes it (or rejects one it does not understand).
#
# Security: a group key on a device can mint the key of every device in the
# group. Where you can, derive each device's key off the device
# (azure.derive_device_key on your provisioning station) and install only
# that key: set DEVICE_KEY below instead of GROUP_KEY.
#
# On a board: set the configuration below (and run boot.py first: WLAN and
# the clock). On the unix build the environment can set it (tests/e2e).
import json
import os
import time

import azure

# ---- Configuration -----------------------------------------------------------
ID_SCOPE = "0ne00000000"          # the DPS instance's ID scope (portal: Overview)
REGISTRATION_ID = "wipy-kitchen-01"
GROUP_KEY = "<enrollment group primary key>"  # or None, with DEVICE_KEY set
DEVICE_KEY = None                 # this device's own key (individual enrollment or derived off-device)
CA_CERTS = "/flash/cert/ca.pem"   # DER root CA(s)
ENDPOINT = None                   # "host:port": every connection (DPS and the hub) goes there
STATE = "/flash/azure.json"       # the assignment: hub, device id, device key
POLLS = 10                        # how many times to look for a command
POLL_SECONDS = 60                 # HTTPS devices should poll rarely: each GET counts against the hub's quota
# -------------------------------------------------------------------------------

ID_SCOPE = os.getenv("AZURE_ID_SCOPE") or ID_SCOPE
REGISTRATION_ID = os.getenv("AZURE_REGISTRATION_ID") or REGISTRATION_ID
GROUP_KEY = os.getenv("AZURE_GROUP_KEY") or GROUP_KEY
CA_CERTS = os.getenv("AZURE_CA_CERTS") or CA_CERTS
ENDPOINT = os.getenv("AZURE_ENDPOINT") or ENDPOINT
STATE = os.getenv("AZURE_STATE") or STATE
POLLS = int(os.getenv("AZURE_POLLS") or POLLS)
POLL_SECONDS = int(os.getenv("AZURE_POLL_SECONDS") or POLL_SECONDS)


def load_assignment():
    try:
        with open(STATE) as f:
            a = json.load(f)
        if a["hub"] and a["device_id"] and a["key"]:
            return a
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def save_assignment(a):
    # Written to a new file, then renamed over the old one: a reset mid-write
    # leaves the previous assignment (or none), never half a file.
    tmp = STATE + ".new"
    with open(tmp, "w") as f:
        json.dump({"hub": a["hub"], "device_id": a["device_id"], "key": a["key"]}, f)
    os.rename(tmp, STATE)


def forget_assignment():
    try:
        os.remove(STATE)
    except OSError:
        pass


a = load_assignment()
if a is None:
    print("provisioning %s with DPS (scope %s)" % (REGISTRATION_ID, ID_SCOPE))
    try:
        if DEVICE_KEY:
            a = azure.provision_info(ID_SCOPE, REGISTRATION_ID, DEVICE_KEY, ca_certs=CA_CERTS, endpoint=ENDPOINT)
        else:
            # The device key, derived here: base64(HMAC-SHA256(group key, registration id)).
            a = azure.provision_info(ID_SCOPE, REGISTRATION_ID, GROUP_KEY, group_key=True,
                                     ca_certs=CA_CERTS, endpoint=ENDPOINT)
    except azure.ProvisioningError as e:
        # e.status: the HTTP status (None: no connection); e.registration_status: "failed", "disabled", ...
        print("provisioning failed:", e)
        raise SystemExit(1)
    save_assignment(a)
    print("assigned to %s as %s (stored in %s)" % (a["hub"], a["device_id"], STATE))
else:
    print("assignment from %s: %s as %s (DPS skipped)" % (STATE, a["hub"], a["device_id"]))

client = azure.IoTHubClient.from_connection_string(
    "HostName=%s;DeviceId=%s;SharedAccessKey=%s" % (a["hub"], a["device_id"], a["key"]),
    ca_certs=CA_CERTS, endpoint=ENDPOINT)

try:
    client.send('{"event":"boot"}', properties={"kind": "status"})
except azure.SendError as e:
    if e.status in (401, 403, 404):
        # The hub no longer knows this device (deleted, moved to another hub):
        # provision again at the next boot.
        forget_assignment()
    print("send failed:", e)
    raise SystemExit(1)
print("reported in")


def act(msg):
    # The command is the body; its arguments the application properties.
    cmd = str(msg.body, "utf-8")
    if cmd == "blink":
        print("  blinking %s times" % msg.properties.get("times", "3"))
        return True
    if cmd == "report":
        client.send('{"event":"report"}')
        return True
    return False


for i in range(POLLS):
    try:
        msg = client.receive()
    except azure.SendError as e:
        print("receive failed:", e)
        msg = None
    if msg is None:
        time.sleep(POLL_SECONDS)
        continue
    print("command %r (id %s, delivery %s)" % (msg.body, msg.message_id, msg.delivery_count))
    try:
        if act(msg):
            client.complete(msg)   # done: removed from the device's queue
            print("completed")
        else:
            client.reject(msg)     # not for us: dead-lettered, never redelivered
            print("rejected")
    except azure.LockLostError:
        # The lock (1 minute) ran out: the hub will deliver the command again.
        print("lock lost: the command comes back")
    break
client.close()
