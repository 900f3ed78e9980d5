"""Shared by the IoT Hub benchmarks (bench/mqtt_bench.py, bench/aio_bench.py):
the local endpoint with its MQTT listener, a private copy of a binary,
merging keys into bench/results.json and a section of bench/RESULTS.md.

bench/run.py writes results.json and RESULTS.md whole; `make bench` runs
these benchmarks after it, so each merges its keys into results.json and
replaces (or appends) its own section of RESULTS.md, between
<!-- bench:NAME --> and <!-- /bench:NAME --> markers.
"""

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENDPOINT = os.path.join(ROOT, "tools", "azure_endpoint.py")
HUB = "demo-hub.azure-devices.net"
DEVICE = "bench-dev"
# A fixed benchmark key (loopback only; never a real one).
DEV_KEY = base64.b64encode(b"upy-azure-bench-device-key-32-b!").decode()

# Every client sends this body (48 bytes): a reading with a unique sequence
# number, so the endpoint's table tells whether each acknowledged event is there.
BODY_FMT = '{"seq":%09d,"temp_c":21.5,"rh":40.5,"ok":1}'
assert len(BODY_FMT % 0) == 48


def log(msg):
    print("bench: " + msg, flush=True)


class Endpoint:
    """tools/azure_endpoint.py with HTTPS and MQTT on free ports, one device
    (DEVICE, DEV_KEY), its database on a tmpfs when there is one."""

    def __init__(self, *extra):
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.dir = tempfile.mkdtemp(prefix="upy-azure-iotbench-", dir=shm)
        self.db = os.path.join(self.dir, "events.sqlite3")
        self.certs = os.path.join(ROOT, "build", "bench", "certs")
        env = dict(os.environ, AZURE_ENDPOINT_DEVICES="%s=%s" % (DEVICE, DEV_KEY))
        self.log_path = os.path.join(self.dir, "endpoint.log")
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, ENDPOINT, "--port", "0", "--mqtt-port", "0", "--db", self.db, "--reset-db",
             "--certs", self.certs, "--iothub-host", HUB] + list(extra),
            stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        self.port = self.mqtt_port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log_path) as f:
                for line in f:
                    if line.startswith("READY port="):
                        self.port = int(line.split("=", 1)[1])
                    elif line.startswith("MQTT-READY port="):
                        self.mqtt_port = int(line.split("=", 1)[1])
            if self.port and self.mqtt_port:
                break
            time.sleep(0.05)
        if not (self.port and self.mqtt_port):
            self.close()
            sys.exit("bench: the endpoint did not start:\n" + open(self.log_path).read())
        self.ca_der = os.path.join(self.certs, "ca.der")
        self.ca_pem = os.path.join(self.certs, "ca.pem")
        self.conn_str = "HostName=%s;DeviceId=%s;SharedAccessKey=%s" % (HUB, DEVICE, DEV_KEY)

    def cli(self, *args, timeout=60):
        return subprocess.run([sys.executable, ENDPOINT, args[0], "--db", self.db] + list(args[1:]),
                              capture_output=True, text=True, timeout=timeout)

    def stored(self):
        """(rows, distinct bodies) in the events table."""
        con = sqlite3.connect(self.db, timeout=30)
        try:
            return con.execute("SELECT COUNT(*), COUNT(DISTINCT body) FROM events").fetchone()
        finally:
            con.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def snapshot(path, into):
    """A private copy of a binary: other builds in the same tree must not
    swap it in the middle of a run."""
    dst = os.path.join(into, os.path.basename(path))
    shutil.copy2(path, dst)
    return dst


def run_json(cmd, env=None, timeout=120, cwd=HERE):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        sys.exit("bench: %s failed (exit %d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-4000:],
                                                        p.stderr[-4000:]))
    return json.loads(lines[-1])


def median(xs):
    xs = sorted(xs)
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def merge_results(keys, path=os.path.join(HERE, "results.json")):
    res = json.load(open(path)) if os.path.exists(path) else {}
    res.update(keys)
    with open(path, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")


def write_section(name, text, path=os.path.join(HERE, "RESULTS.md")):
    """Replaces this benchmark's section of RESULTS.md, or appends it."""
    start, end = "<!-- bench:%s -->" % name, "<!-- /bench:%s -->" % name
    block = "%s\n%s\n%s\n" % (start, text.rstrip("\n"), end)
    md = open(path).read() if os.path.exists(path) else "# upy-azure benchmarks\n"
    i, j = md.find(start), md.find(end)
    if i >= 0 and j > i:
        md = md[:i] + block + md[j + len(end):].lstrip("\n")
    else:
        md = md.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(md)


def fmt(x, nd=0):
    if x is None:
        return "–"
    return ("{:,.%df}" % nd).format(x)


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return "?"


def run_mp_send(micropython, ep, mode, n, seq0, mqtt_port, https_port, timeout=120):
    """bench/iot_send_mp.py on a MicroPython build: one client, n events."""
    env = dict(os.environ, BENCH_MODE=mode, BENCH_N=str(n), BENCH_SEQ0=str(seq0), BENCH_CS=ep.conn_str,
               BENCH_CA=ep.ca_der, BENCH_MQTT="127.0.0.1:%d" % mqtt_port, BENCH_HTTPS="127.0.0.1:%d" % https_port)
    return run_json([micropython, os.path.join(HERE, "iot_send_mp.py")], env=env, timeout=timeout)
