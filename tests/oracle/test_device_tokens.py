"""Oracle test for the host command tools/device_tokens.py (issue #18, item 3).

The command runs on the MicroPython unix build (the crate's signer, the
package's connection-string parser). For generated inputs (namespaces, hubs,
publisher names with reserved and non-ASCII characters, keys of 1 to 200
bytes, policy names, expiries up to 2**64-1, --days/--hours from the host
clock) every line it prints must be byte for byte the connection string the
Azure SDKs give for the same inputs:

 - Event Hubs publishers: azure-eventhub's generate_sas_token over
   https://{ns}/{hub}/publishers/{pub}, in
   Endpoint=sb://{ns}/;SharedAccessSignature=<token>;EntityPath={hub}
 - Service Bus entities: azure-servicebus's generate_sas_token over https://{ns}/{entity}
 - IoT Hub devices/modules: azure-iot-device's SasToken (base64-decoded key;
   skn for a hub policy, none for a device key), in
   HostName={hub};DeviceId={id}[;ModuleId={m}];SharedAccessSignature=<token>

and the SDKs must take what it prints: azure.eventhub.parse_connection_string
and EventHubProducerClient.from_connection_string, azure.servicebus's
parse_connection_string and ServiceBusClient.from_connection_string (their
credential hands out exactly the token), azure-iot-device's
IoTHubDeviceClient/IoTHubModuleClient.create_from_sastoken (host, device and
module taken from the token's sr match the line's HostName/DeviceId/ModuleId;
azure-iot-device's own connection-string parser takes no SharedAccessSignature
with a DeviceId, so its token entry point is the one to check). Bad input:
exit status 2, a message, nothing on stdout; the key is never printed.

Usage: python tests/oracle/test_device_tokens.py --micropython build/unix/micropython [--cases N]
"""

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest

from azure.eventhub import EventHubProducerClient
from azure.eventhub import parse_connection_string as eh_parse
from azure.eventhub._pyamqp.utils import generate_sas_token as eh_generate_sas_token
from azure.iot.device import IoTHubDeviceClient, IoTHubModuleClient
from azure.iot.device.common.auth import sastoken, signing_mechanism
from azure.servicebus import ServiceBusClient
from azure.servicebus import parse_connection_string as sb_parse
from azure.servicebus._pyamqp.utils import generate_sas_token as sb_generate_sas_token

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "device_tokens.py")
MICROPYTHON = os.environ.get("MICROPYTHON", os.path.join(ROOT, "build", "unix", "micropython"))
CASES = 40

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
# Publisher names: anything but space, control characters, '/' and ';'.
RESERVED = ":?#[]@!$&'()*+,=%\"<>\\^`{|}"
NON_ASCII = "éüßø€中文🙂"
KEY_NAME_CHARS = UNRESERVED.replace("~", "")
ID_CHARS = UNRESERVED.replace("~", "") + "+%#*?!(),:=@$'"
FUTURE = [2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**53, 2**63, 2**64 - 1]


def run(args, env=None, conn=None):
    full_env = dict(os.environ)
    full_env.pop("AZURE_CONNECTION_STRING", None)
    if conn is not None:
        full_env["AZURE_CONNECTION_STRING"] = conn
    full_env.update(env or {})
    return subprocess.run([MICROPYTHON, TOOL] + list(args), capture_output=True, text=True,
                          env=full_env, timeout=60, cwd=ROOT)


def word(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def eh_key(rng):
    # Event Hubs/Service Bus keys are text, signed as their own bytes.
    return word(rng, UNRESERVED + "+/=", 1, 200)


def iot_key(rng):
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))).decode()


def iot_sdk_token(uri, key, key_name, expiry):
    tok = sastoken.RenewableSasToken(uri, signing_mechanism.SymmetricKeySigningMechanism(key),
                                     key_name=key_name)
    tok._expiry_time = expiry  # the SDK takes ttl from now; pin the expiry
    return tok._build_token()


def lifetime(rng, i):
    """(args, expiry or None when it comes from the clock, seconds)."""
    if i % 5 == 3:
        days = rng.choice([1, 30, 365, 3650, 36500])
        return ["--days", str(days)], None, days * 86400
    if i % 5 == 4:
        hours = rng.choice([1, 12, 24 * 90])
        return ["--hours", str(hours)], None, hours * 3600
    se = FUTURE[i % len(FUTURE)] if i < 2 * len(FUTURE) else rng.randint(2**31, 2**64 - 1)
    return ["--expiry", str(se)], se, None


def read_lines(case, r):
    case.assertEqual(r.returncode, 0, r.stdout + r.stderr)
    return [json.loads(line) for line in r.stdout.splitlines()]


def expiry_of(case, rows, se, seconds, started):
    got = {row["expiry"] for row in rows}
    case.assertEqual(len(got), 1)
    got = got.pop()
    if se is not None:
        case.assertEqual(got, se)
    else:  # from the host clock, between the start and now
        case.assertTrue(started + seconds <= got <= time.time() + seconds + 1, (got, started))
    return got


class EventHubsPublishers(unittest.TestCase):
    def test_generated(self):
        rng = random.Random(20261206)
        lines = 0
        for i in range(CASES):
            ns = word(rng, "abcdefghij0123456789-", 1, 20) + ".servicebus.windows.net"
            hub = word(rng, UNRESERVED.replace("~", ""), 1, 30)
            alphabet = rng.choice([UNRESERVED, UNRESERVED + RESERVED, UNRESERVED + NON_ASCII])
            pubs = list(dict.fromkeys(word(rng, alphabet, 1, 24) for _ in range(rng.randint(1, 4))))
            key, policy = eh_key(rng), word(rng, KEY_NAME_CHARS, 1, 40)
            life, se, seconds = lifetime(rng, i)
            conn = "Endpoint=sb://%s/;SharedAccessKeyName=%s;SharedAccessKey=%s;EntityPath=%s" % (
                ns, policy, key, hub)
            started = int(time.time())
            r = run(life + ["--json", "--publisher"] + pubs, conn=conn)
            rows = read_lines(self, r)
            if len(key) >= 12:
                self.assertNotIn(key, r.stdout + r.stderr)
            expiry = expiry_of(self, rows, se, seconds, started)
            self.assertEqual([row["name"] for row in rows], pubs)
            for pub, row in zip(pubs, rows):
                uri = "https://%s/%s/publishers/%s" % (ns, hub, pub)
                token = eh_generate_sas_token(uri, policy, key, expiry)
                want = "Endpoint=sb://%s/;SharedAccessSignature=%s;EntityPath=%s" % (ns, token, hub)
                self.assertEqual(row["connection_string"], want, (i, pub))
                self.assertEqual(row["audience"], uri)
                props = eh_parse(row["connection_string"])
                self.assertEqual((props.fully_qualified_namespace, props.eventhub_name,
                                  props.shared_access_signature, props.shared_access_key),
                                 (ns, hub, token, None))
                lines += 1
        print("device_tokens oracle: %d Event Hubs publisher lines identical to azure-eventhub's" % lines)

    def test_plain_lines_and_the_sdk_client(self):
        key = "c2VjcmV0LWtleS1mb3ItdGhlLXRlc3Qtb25seS0wMTIzNA=="
        conn = ("Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=DataProducer;"
                "SharedAccessKey=%s;EntityPath=telemetry" % key)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("# the kitchen\nwipy-kitchen-01\n\n  wipy-kitchen-02  # by the window\nwipy-kitchen-03\n")
        try:
            r = run(["--expiry", "1827000000", "--publishers-file", f.name], conn=conn)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(key, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3)
        for n, line in enumerate(lines, 1):
            uri = "https://contoso.servicebus.windows.net/telemetry/publishers/wipy-kitchen-0%d" % n
            token = eh_generate_sas_token(uri, "DataProducer", key, 1827000000)
            self.assertEqual(line, "Endpoint=sb://contoso.servicebus.windows.net/;"
                                   "SharedAccessSignature=%s;EntityPath=telemetry" % token)
            self.assertIn("sr=https%3A%2F%2Fcontoso.servicebus.windows.net%2Ftelemetry%2F"
                          "publishers%2Fwipy-kitchen-0", line)
            client = EventHubProducerClient.from_connection_string(line)
            try:
                self.assertEqual(client.eventhub_name, "telemetry")
                self.assertEqual(client._address.hostname, "contoso.servicebus.windows.net")
                access = client._credential.get_token()
                self.assertEqual((access.token, access.expires_on), (token, 1827000000))
            finally:
                client.close()


class ServiceBusEntities(unittest.TestCase):
    def test_generated(self):
        rng = random.Random(4242)
        for i in range(CASES // 2):
            ns = word(rng, "abcdefghij0123456789-", 1, 20) + ".servicebus.windows.net"
            entity = word(rng, UNRESERVED.replace("~", ""), 1, 30)
            key, policy = eh_key(rng), word(rng, KEY_NAME_CHARS, 1, 40)
            life, se, seconds = lifetime(rng, i)
            conn = "Endpoint=sb://%s/;SharedAccessKeyName=%s;SharedAccessKey=%s" % (ns, policy, key)
            args = life + ["--json", "--entity", entity]
            if i % 2:  # the entity from EntityPath instead
                conn += ";EntityPath=" + entity
                args = args[:-2]
            started = int(time.time())
            r = run(args, conn=conn)
            rows = read_lines(self, r)
            expiry = expiry_of(self, rows, se, seconds, started)
            self.assertEqual(len(rows), 1)
            token = sb_generate_sas_token("https://%s/%s" % (ns, entity), policy, key, expiry)
            line = rows[0]["connection_string"]
            self.assertEqual(line, "Endpoint=sb://%s/;SharedAccessSignature=%s;EntityPath=%s"
                             % (ns, token, entity))
            props = sb_parse(line)
            self.assertEqual((props.fully_qualified_namespace, props.entity_path,
                              props.shared_access_signature, props.shared_access_key),
                             (ns, entity, token, None))

    def test_the_sdk_client_takes_it(self):
        key = "U2VydmljZUJ1cy1rZXktZm9yLXRoZS10ZXN0LW9ubHk="
        conn = ("Endpoint=sb://fleet.servicebus.windows.net/;SharedAccessKeyName=Send;"
                "SharedAccessKey=%s" % key)
        r = run(["--days", "365", "--entity", "orders"], conn=conn)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(key, r.stdout)
        line = r.stdout.strip()
        token = line.split(";SharedAccessSignature=", 1)[1].split(";EntityPath=", 1)[0]
        client = ServiceBusClient.from_connection_string(line)
        try:
            self.assertEqual(client.fully_qualified_namespace, "fleet.servicebus.windows.net")
            self.assertEqual(client._credential.get_token().token, token)
            self.assertEqual(client._entity_name, "orders")
        finally:
            client.close()


class IoTHubDevices(unittest.TestCase):
    def test_generated(self):
        rng = random.Random(777)
        for i in range(CASES):
            host = word(rng, "abcdefghij0123456789-", 3, 20) + ".azure-devices.net"
            key = iot_key(rng)
            life, se, seconds = lifetime(rng, i)
            module = None
            if i % 3 == 0:  # a hub policy signs for any device, with skn
                policy = word(rng, KEY_NAME_CHARS, 1, 40)
                devices = list(dict.fromkeys(word(rng, ID_CHARS, 1, 40) for _ in range(rng.randint(1, 3))))
                conn = "HostName=%s;SharedAccessKeyName=%s;SharedAccessKey=%s" % (host, policy, key)
                args = life + ["--json", "--device"] + devices
            else:  # a device's (or module's) own key, without skn
                policy, devices = None, [word(rng, ID_CHARS, 1, 128)]
                conn = "HostName=%s;DeviceId=%s;SharedAccessKey=%s" % (host, devices[0], key)
                if i % 3 == 2:
                    module = word(rng, ID_CHARS, 1, 40)
                    conn = conn.replace(";SharedAccessKey=", ";ModuleId=%s;SharedAccessKey=" % module)
                args = life + ["--json"] + (["--device", devices[0]] if i % 2 else [])
            started = int(time.time())
            r = run(args, conn=conn)
            rows = read_lines(self, r)
            if len(key) >= 12:
                self.assertNotIn(key, r.stdout + r.stderr)
            expiry = expiry_of(self, rows, se, seconds, started)
            self.assertEqual([row["name"] for row in rows], devices)
            for dev, row in zip(devices, rows):
                uri = "%s/devices/%s" % (host, dev) + ("/modules/" + module if module else "")
                token = iot_sdk_token(uri, key, policy, expiry)
                head = "HostName=%s;DeviceId=%s;" % (host, dev)
                if module:
                    head += "ModuleId=%s;" % module
                self.assertEqual(row["connection_string"], head + "SharedAccessSignature=" + token,
                                 (i, dev))
                self.assertEqual(row["audience"], uri)

    def test_the_sdk_client_takes_the_token(self):
        key = base64.b64encode(b"device-key-for-the-test-only-0123").decode()
        cases = [
            ("HostName=hub1.azure-devices.net;SharedAccessKeyName=device;SharedAccessKey=%s" % key,
             ["--device", "wipy-kitchen-01", "wipy-kitchen-02"], None),
            ("HostName=hub1.azure-devices.net;DeviceId=wipy-kitchen-03;SharedAccessKey=%s" % key,
             [], None),
            ("HostName=hub1.azure-devices.net;DeviceId=gw-1;ModuleId=sensor;SharedAccessKey=%s" % key,
             [], "sensor"),
        ]
        for conn, extra, module in cases:
            r = run(["--days", "365"] + extra, conn=conn)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn(key, r.stdout + r.stderr)
            for line in r.stdout.splitlines():
                fields = dict(part.split("=", 1) for part in line.split(";", 3)[:-1])
                token = line.split(";SharedAccessSignature=", 1)[1]
                self.assertTrue(token.startswith("SharedAccessSignature sr=hub1.azure-devices.net%2Fdevices%2F"))
                cls = IoTHubModuleClient if module else IoTHubDeviceClient
                client = cls.create_from_sastoken(token)
                try:
                    cfg = client._mqtt_pipeline.pipeline_configuration
                    self.assertEqual((cfg.hostname, cfg.device_id, cfg.module_id or None),
                                     (fields["HostName"], fields["DeviceId"], fields.get("ModuleId")))
                    self.assertEqual(str(cfg.sastoken), token)
                finally:
                    client.shutdown()


class BadInput(unittest.TestCase):
    KEY = "S2V5LXRoYXQtbXVzdC1uZXZlci1iZS1wcmludGVkLTAxMjM0NQ=="
    EH = ("Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=DataProducer;"
          "SharedAccessKey=%s;EntityPath=telemetry" % KEY)
    IOT = "HostName=hub1.azure-devices.net;SharedAccessKeyName=device;SharedAccessKey=%s" % KEY
    DEV = "HostName=hub1.azure-devices.net;DeviceId=dev-1;SharedAccessKey=%s" % KEY

    def refused(self, args, conn, says, positional=False):
        r = run(([conn] if positional else []) + args, conn=None if positional else conn)
        self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
        self.assertEqual(r.stdout, "", args)
        self.assertTrue(r.stderr.startswith("device_tokens: "), r.stderr)
        self.assertIn(says, r.stderr, args)
        self.assertNotIn(self.KEY, r.stderr)
        self.assertNotIn("S2V5LXRoYXQtbXVzdC1uZXZl", r.stderr)

    def test_refusals(self):
        eh, iot, dev = self.EH, self.IOT, self.DEV
        now = int(time.time())
        cases = [
            ([], None, "no connection string"),
            (["--publisher", "a"], eh, "lifetime"),
            (["--days", "1", "--hours", "2", "--publisher", "a"], eh, "lifetime"),
            (["--days", "0", "--publisher", "a"], eh, "more than 0"),
            (["--days", "-1", "--publisher", "a"], eh, "whole number"),
            (["--days", "x", "--publisher", "a"], eh, "whole number"),
            (["--days", "1", "--days", "2", "--publisher", "a"], eh, "given twice"),
            (["--expiry", str(now - 10), "--publisher", "a"], eh, "not in the future"),
            (["--expiry", str(2**64), "--publisher", "a"], eh, "2**64-1"),
            (["--days", str(2**64 // 86400), "--publisher", "a"], eh, "2**64-1"),
            (["--days", "1", "--publisher"], eh, "at least one name"),
            (["--days", "1", "--publisher", "a/b"], eh, "'/'"),
            (["--days", "1", "--publisher", "a;b"], eh, "';'"),
            (["--days", "1", "--publisher", "a b"], eh, "no spaces"),
            (["--days", "1", "--publisher", "a", "a"], eh, "listed twice"),
            (["--days", "1", "--publishers-file", "/nonexistent/list"], eh, "cannot read"),
            (["--days", "1", "--device", "a"], eh, "--device is for IoT Hub"),
            (["--days", "1", "--publisher", "a", "--entity", "x;y"], eh, "';'"),
            (["--days", "1", "--bogus"], eh, "unknown option --bogus"),
            (["--days", "1"], eh.replace(";EntityPath=telemetry", ""), "EntityPath"),
            (["--days", "1", "--publisher", "a"], iot, "use --device"),
            (["--days", "1"], iot, "give --device"),
            (["--days", "1", "--device", "bad/id"], iot, "IoT Hub ids"),
            (["--days", "1", "--device", "x" * 129], iot, "IoT Hub ids"),
            (["--days", "1", "--device", "other"], dev, "its own device 'dev-1' only"),
            (["--days", "1"], dev.replace(self.KEY, "not*base64*" + self.KEY), "cannot sign"),
            (["--days", "1", "--publisher", "a"], "Endpoint=sb://contoso.servicebus.windows.net/;"
             "SharedAccessKeyName=DataProducer;EntityPath=telemetry", "SharedAccessKey"),
            (["--days", "1"], "SharedAccessKey=%s" % self.KEY, "connection string"),
            (["--days", "1"], "Endpoint=https://x/;SharedAccessKeyName=a;SharedAccessKey=%s" % self.KEY,
             "Endpoint"),
        ]
        for args, conn, says in cases:
            with self.subTest(args=args, says=says):
                self.refused(args, conn, says)
        # Given on the command line instead of the environment: the same.
        self.refused(["--days", "1", "--publisher", "a/b"], eh, "'/'", positional=True)
        self.refused(["--days", "1", "extra"], eh, "more than one connection string", positional=True)

    def test_a_token_connection_string_is_not_a_key(self):
        r = run(["--days", "1", "--publisher", "a"], conn=self.EH)
        self.assertEqual(r.returncode, 0, r.stderr)
        token_line = r.stdout.strip()
        r = run(["--days", "1", "--publisher", "b"], conn=token_line)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertTrue(r.stderr.startswith("device_tokens: "), r.stderr)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--micropython", default=MICROPYTHON)
    ap.add_argument("--cases", type=int, default=CASES)
    args, rest = ap.parse_known_args()
    MICROPYTHON, CASES = os.path.abspath(args.micropython), args.cases
    # (warnings: azure-iot-device builds TLS 1.2 contexts the ssl module calls deprecated)
    unittest.main(argv=[sys.argv[0]] + rest, warnings="ignore")
