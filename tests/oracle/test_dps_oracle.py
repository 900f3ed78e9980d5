"""Oracle test: DPS keys and tokens from the MicroPython build vs the Azure
IoT Python SDK (azure-iot-device).

Generates cases (id scopes, registration ids from DPS's character set and
lengths 1 to 128, group and individual keys of 16 to 64 bytes, clock
values), runs every case through `azure.provision_info` in one MicroPython
process (against a scripted DPS that answers "assigned" at once) and
records the device key it used and the Authorization header it sent.
Each is compared byte for byte with:
 - the device key: the SDK's SymmetricKeySigningMechanism(group_key).sign(registration_id)
   (the enrollment-group derivation), the individual key unchanged;
 - the token: the SDK's RenewableSasToken over its own provisioning URI
   (_form_sas_uri: "{idScope}/registrations/{registrationId}"), signed with
   that device key, skn=registration, the same expiry.
Plus the public vector of Microsoft's enrollment-group how-to.

Usage: python tests/oracle/test_dps_oracle.py --micropython build/unix/micropython [--cases N] [--seed S]
"""

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile

from azure.iot.device.common.auth import sastoken, signing_mechanism
from azure.iot.device.provisioning.abstract_provisioning_device_client import _form_sas_uri

PUBLIC = ("8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==",
          "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6", "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc=")
# DPS registration ids: lowercase alphanumerics and - . _ : (up to 128)
REGID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._:"

# Run with tests/lib on the path: receive_harness plays the connection
# (REPLIES answered in order, REQS recorded).
MP_SCRIPT = r"""
import json, sys
import azure
from receive_harness import C, REPLIES, REQS, reply, header

with open(sys.argv[1]) as f:
    cases = json.load(f)
ASSIGNED = b'{"operationId":"op","status":"assigned","registrationState":{"assignedHub":"h.azure-devices.net","deviceId":"d"}}'
out = []
for c in cases:
    C.unix_time = lambda: c["now"]
    del REQS[:]
    REPLIES.append(reply(200, ASSIGNED))
    a = azure.provision_info(c["scope"], c["regid"], c["key"], group_key=c["group"], max_retries=0)
    out.append([a["key"], header(0, b"authorization")])
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
"""


def make_cases(n, seed):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        length = rng.choice([1, 2, 8, 16, 36, 64, 127, 128]) if i % 4 == 0 else rng.randint(1, 40)
        regid = "".join(rng.choice(REGID_CHARS) for _ in range(length))
        scope = "0ne" + "".join(rng.choice("0123456789ABCDEF") for _ in range(8))
        key = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.choice([16, 32, 33, 48, 64])))).decode()
        cases.append({"scope": scope, "regid": regid, "key": key, "group": i % 2 == 0,
                      "now": rng.choice([1700000000, 1764500000, 2**31 - 3601, 4000000000]) + rng.randint(0, 10**6)})
    cases.append({"scope": "0ne00000A0A", "regid": PUBLIC[1], "key": PUBLIC[0], "group": True, "now": 1764500000})
    return cases


def sdk(case):
    if case["group"]:
        device_key = signing_mechanism.SymmetricKeySigningMechanism(case["key"]).sign(case["regid"])
    else:
        device_key = case["key"]
    tok = sastoken.RenewableSasToken(_form_sas_uri(case["scope"], case["regid"]),
                                     signing_mechanism.SymmetricKeySigningMechanism(device_key),
                                     key_name="registration")
    tok._expiry_time = case["now"] + 3600  # the client's default token_ttl
    return device_key, tok._build_token()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--micropython", required=True)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    cases = make_cases(args.cases, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        script, inp, outp = (os.path.join(tmp, n) for n in ("mp.py", "in.json", "out.json"))
        with open(script, "w") as f:
            f.write(MP_SCRIPT)
        with open(inp, "w") as f:
            json.dump(cases, f)
        lib = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
        env = dict(os.environ, MICROPYPATH=lib + ":" + os.environ.get("MICROPYPATH", ".frozen"))
        subprocess.run([args.micropython, "-X", "heapsize=8m", script, inp, outp], check=True, env=env)
        with open(outp) as f:
            got = json.load(f)
    bad = 0
    for case, (key, token) in zip(cases, got):
        want_key, want_token = sdk(case)
        if key != want_key or token != want_token:
            bad += 1
            if bad <= 5:
                print("MISMATCH", case, "\n  got ", key, token, "\n  want", want_key, want_token)
    pub = got[-1][0]
    if pub != PUBLIC[2]:
        bad += 1
        print("public vector: got %s, want %s" % (pub, PUBLIC[2]))
    groups = sum(1 for c in cases if c["group"])
    print("dps oracle: %d cases (%d group enrollments, %d individual), derived keys and tokens %s; "
          "public vector %s" % (len(cases), groups, len(cases) - groups,
                                "byte-identical to azure-iot-device" if not bad else "%d MISMATCHES" % bad,
                                "ok" if pub == PUBLIC[2] else "WRONG"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
