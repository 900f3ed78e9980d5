"""Benchmark 1 (c): azure-eventhub's generate_sas_token on CPython, same input
as bench/sas_bench.py. Prints one JSON line; checks the token is the one
_azure made (passed as argv[1])."""

import json
import statistics
import sys
import time

from azure.eventhub._pyamqp.utils import generate_sas_token

URI = "https://demo-ns.servicebus.windows.net/telemetry/publishers/wipy-kitchen-01"
KEY = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho="
NAME = "DataProducer"
EXPIRY = 1800000000
N = 5000


def main():
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    token = generate_sas_token(URI, NAME, KEY, EXPIRY)
    if len(sys.argv) > 1 and sys.argv[1] and token != sys.argv[1]:
        sys.exit("azure-eventhub token differs from _azure's:\n  %s\n  %s" % (token, sys.argv[1]))
    per = []
    for _ in range(reps):
        t0 = time.process_time()  # CPU time, as bench/sas_bench.py measures
        for _ in range(N):
            generate_sas_token(URI, NAME, KEY, EXPIRY)
        per.append((time.process_time() - t0) / N * 1e6)
    print(json.dumps({"sas_us_cpython_sdk": statistics.median(per), "sas_us_cpython_sdk_all": per,
                      "cpython": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
