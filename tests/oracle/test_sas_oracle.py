"""Oracle test: SAS tokens from the MicroPython build vs the official Azure SDKs.

Generates cases (URIs with reserved, unreserved and non-ASCII characters,
keys of 1 to 200 bytes, key names, expiries including 2**31, 2**32 and
larger, both key modes), runs them all through `_azure.sas_token` in one
MicroPython process, and compares every token byte for byte with
 - azure-iot-device's token builder (SasToken), for every case, and
 - azure-eventhub's generate_sas_token, for raw-key cases without spaces.

Usage: python tests/oracle/test_sas_oracle.py --micropython build/unix/micropython [--cases N] [--seed S]
"""

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile

from azure.eventhub._pyamqp.utils import generate_sas_token as eh_generate_sas_token
from azure.iot.device.common.auth import sastoken, signing_mechanism

RESERVED = ":/?#[]@!$&'()*+,;= %\"<>\\^`{|}"
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
NON_ASCII = "éüßø€中文🙂\u00a0"
# Azure policy names: letters, digits, '.', '-', '_'.
KEY_NAME_CHARS = UNRESERVED.replace("~", "")
EXPIRIES = [0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**53, 2**63, 2**64 - 1]

MP_SCRIPT = r"""
import json, sys, _azure, binascii
with open(sys.argv[1]) as f:
    cases = json.load(f)
out = []
for c in cases:
    key = binascii.unhexlify(c["key_hex"]) if c["key_hex"] is not None else c["key"]
    out.append(_azure.sas_token(c["uri"], key, c["key_name"], expiry=c["expiry"],
                                key_is_base64=c["b64"]))
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
"""


class RawKeySigning(signing_mechanism.SymmetricKeySigningMechanism):
    """The IoT SDK's HMAC-SHA256 signer, given the raw key bytes (Event Hubs mode)."""

    def __init__(self, raw_key):  # pylint: disable=super-init-not-called
        self._signing_key = raw_key


def iot_sdk_token(uri, key_bytes, key_text, key_name, expiry, b64):
    mech = (signing_mechanism.SymmetricKeySigningMechanism(key_text) if b64
            else RawKeySigning(key_bytes))
    tok = sastoken.RenewableSasToken(uri, mech, key_name=key_name)
    tok._expiry_time = expiry  # the SDK takes ttl from now; pin the expiry
    return tok._build_token()


def random_uri(rng):
    alphabet = rng.choice([UNRESERVED, UNRESERVED + RESERVED, UNRESERVED + NON_ASCII,
                           UNRESERVED + RESERVED + NON_ASCII])
    host = rng.choice(["https://", "sb://", ""]) + "".join(
        rng.choice("abcdefghij-") for _ in range(rng.randint(1, 20))) + rng.choice(
        [".servicebus.windows.net", ".azure-devices.net", ""])
    parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
             for _ in range(rng.randint(0, 4))]
    return "/".join([host] + parts) if parts else host


def make_cases(n, seed):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        b64 = i % 2 == 1
        key_len = 1 + (i * 7919) % 200 if i < 400 else rng.randint(1, 200)
        raw = bytes(rng.getrandbits(8) for _ in range(key_len))
        if b64:
            key_text, key_hex = base64.b64encode(raw).decode(), None
            key_bytes = raw
        elif rng.random() < 0.5:
            # Event Hubs keys are text: printable ASCII of the given length.
            key_text = "".join(rng.choice(UNRESERVED + "+/=") for _ in range(key_len))
            key_hex, key_bytes = None, key_text.encode()
        else:
            key_text, key_hex, key_bytes = None, raw.hex(), raw
        key_name = None if (b64 and rng.random() < 0.7) or rng.random() < 0.2 else "".join(
            rng.choice(KEY_NAME_CHARS) for _ in range(rng.randint(1, 40)))
        expiry = EXPIRIES[i % len(EXPIRIES)] if i < 3 * len(EXPIRIES) else rng.randint(0, 2**64 - 1)
        cases.append({"uri": random_uri(rng), "key": key_text, "key_hex": key_hex,
                      "key_bytes": key_bytes.hex(), "key_name": key_name,
                      "expiry": expiry, "b64": b64})
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--micropython", required=True)
    ap.add_argument("--cases", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=20261126)
    args = ap.parse_args()

    cases = make_cases(args.cases, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        inp, outp, script = (os.path.join(tmp, n) for n in ("in.json", "out.json", "run.py"))
        # ensure_ascii=False: MicroPython's json decodes a \ud83d\ude42 escape pair
        # as two lone surrogates, so astral characters go in as raw UTF-8.
        with open(inp, "w", encoding="utf-8") as f:
            json.dump([{k: c[k] for k in ("uri", "key", "key_hex", "key_name", "expiry", "b64")}
                       for c in cases], f, ensure_ascii=False)
        with open(script, "w") as f:
            f.write(MP_SCRIPT)
        subprocess.run([args.micropython, "-X", "heapsize=8m", script, inp, outp], check=True)
        with open(outp) as f:
            got = json.load(f)

    assert len(got) == len(cases), (len(got), len(cases))
    failures, eh_compared = 0, 0
    for i, (c, token) in enumerate(zip(cases, got)):
        key_bytes = bytes.fromhex(c["key_bytes"])
        want = iot_sdk_token(c["uri"], key_bytes, c["key"], c["key_name"], c["expiry"], c["b64"])
        if token != want:
            failures += 1
            print("MISMATCH (azure-iot-device) case %d: %r\n  got  %s\n  want %s"
                  % (i, {k: c[k] for k in ("uri", "key_name", "expiry", "b64")}, token, want))
        # azure-eventhub treats expiry 0 as "now + 1 h", so it is not an oracle for 0.
        if not c["b64"] and c["key"] is not None and " " not in c["uri"] and c["expiry"]:
            eh = eh_generate_sas_token(c["uri"], c["key_name"] or "", c["key"], c["expiry"])
            eh_compared += 1
            if token != eh:
                failures += 1
                print("MISMATCH (azure-eventhub) case %d:\n  got  %s\n  want %s" % (i, token, eh))
    print("oracle: %d cases, %d also against azure-eventhub, %d base64-key cases, %d mismatches"
          % (len(cases), eh_compared, sum(c["b64"] for c in cases), failures))
    return 1 if failures or eh_compared < 100 else 0


if __name__ == "__main__":
    sys.exit(main())
