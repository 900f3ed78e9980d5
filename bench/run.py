"""`make bench`: runs every benchmark and writes bench/results.json,
bench/RESULTS.md and bench/results.png.

  1. SAS tokens on the unix build: _azure vs pure MicroPython (sas_bench.py),
     and azure-eventhub on CPython (sas_cpython.py)
  2. SAS tokens on the Cortex-M4 under qemu -icount (m4_bench.py)
  3. Sending to the local endpoint over TLS (send_bench.py), bytes on the
     wire through a counting relay (byte_relay.py)
  4. The WiPy footprint (build/wipy/footprint.json from `make wipy`)

Usage: python bench/run.py --micropython build/unix/micropython --micropy-dir build/micropython
           --qemu-elf build/qemu/firmware.elf --footprint build/wipy/footprint.json [--quick]
"""

import argparse
import base64
import datetime
import json
import os
import platform
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from byte_relay import Relay  # noqa: E402

NAMESPACE = "demo-ns.servicebus.windows.net"
HUB = "telemetry"

GOALS = {
    "sas_speed": 10,  # (a) at least 10x faster than (b) on unix
    "sas_heap": 10,  # and 10x fewer heap bytes per token
    "m4": 30,  # (a) 30x fewer Cortex-M4 instructions than (b)
    "keepalive": 5,  # send (b) >= 5x (a)
    "batch50": 50,  # send (c) >= 50x (a)
}


def log(msg):
    print("bench: " + msg, flush=True)


def run_json(cmd, cwd=None, env=None, timeout=300):
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit("bench: %s failed (exit %d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        sys.exit("bench: no JSON from %s:\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return json.loads(lines[-1])


# ---- 1. SAS tokens on unix and CPython --------------------------------------------

def bench_sas(args):
    log("1. SAS tokens on the unix build: _azure vs pure MicroPython")
    r = run_json([args.micropython, "sas_bench.py", str(3 if args.quick else 31)], cwd=HERE)
    log("   CPython + azure-eventhub generate_sas_token")
    c = run_json([sys.executable, os.path.join(HERE, "sas_cpython.py"), r["token"], str(3 if args.quick else 9)])
    r.update(c)
    if args.native:
        log("   the Rust core alone (C harness, host archive)")
        n = run_json([args.native])
        if n["token"] != r["token"]:
            sys.exit("bench: the C harness made a different token: %s" % n["token"])
        r["sas_us_rust_core"] = n["sas_us_rust_core"]
        r["sas_us_rust_core_min"] = n["sas_us_rust_core_min"]
    return r


# ---- 2. Cortex-M4 ---------------------------------------------------------------

def bench_m4(args):
    log("2. SAS tokens on the Cortex-M4 (qemu mps2-an386, -icount shift=0)")
    return run_json([sys.executable, os.path.join(HERE, "m4_bench.py"), "--micropy-dir", args.micropy_dir,
                     "--elf", args.qemu_elf, "--reps", str(3 if args.quick else 9)])


# ---- 3. Sending -------------------------------------------------------------------

class Endpoint:
    """tools/azure_endpoint.py on a free port, its database on a tmpfs when
    there is one (one SQLite commit per request: keeps the disk out of it)."""

    def __init__(self, certs):
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.dir = tempfile.mkdtemp(prefix="upy-azure-bench-", dir=shm)
        self.db = os.path.join(self.dir, "events.sqlite3")
        self.key = base64.b64encode(secrets.token_bytes(32)).decode()
        env = dict(os.environ, AZURE_ENDPOINT_KEY=self.key)
        self.logf = open(os.path.join(self.dir, "endpoint.log"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tools", "azure_endpoint.py"), "--port", "0",
             "--db", self.db, "--reset-db", "--certs", certs, "--namespace-host", NAMESPACE,
             "--policy", "DataProducer", "--eventhub", HUB],
            stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        self.port = None
        for _ in range(300):
            self.logf.seek(0)
            for line in self.logf.read().splitlines():
                if line.startswith("READY port="):
                    self.port = int(line.split("=", 1)[1])
            if self.port or self.proc.poll() is not None:
                break
            time.sleep(0.1)
        if not self.port:
            self.logf.seek(0)
            self.close()
            sys.exit("bench: the endpoint did not start:\n" + self.logf.read())
        self.ca = os.path.join(certs, "ca.der")
        self.conn_str = ("Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=%s"
                         % (NAMESPACE, self.key, HUB))

    def count(self):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "azure_endpoint.py"), "count",
                            "--db", self.db, "--json"], capture_output=True, text=True)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return {"raw": p.stdout}

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def send_run(args, ep, port, modes, events, reps, count=False, seq0=0):
    env = dict(os.environ, BENCH_CONNECTION_STRING=ep.conn_str, BENCH_ENDPOINT="127.0.0.1:%d" % port,
               BENCH_CA=ep.ca, BENCH_MODES=",".join(modes), BENCH_EVENTS=",".join(map(str, events)),
               BENCH_REPS=str(reps), BENCH_COUNT="1" if count else "0", BENCH_SEQ0=str(seq0))
    return run_json([args.micropython, "send_bench.py"], cwd=HERE, env=env)


SEND_MODES = ["conn", "keepalive", "batch50", "conn_nodelay", "keepalive_1w", "batch50_1w"]


def bench_send(args):
    log("3. sending to the local endpoint over TLS (loopback)")
    certs = os.path.join(ROOT, "build", "bench", "certs")
    ep = Endpoint(certs)
    try:
        events = [20, 100, 250, 40, 100, 1000] if args.quick else [50, 300, 500, 100, 300, 2500]
        reps = 2 if args.quick else 5
        log("   events/s: %s, %d repetitions" % (", ".join("%s %d" % me for me in zip(SEND_MODES, events)), reps))
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.time()
        timing = send_run(args, ep, ep.port, SEND_MODES, events, reps, seq0=0)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        timing["wall_seconds"] = time.time() - w0
        timing["client_cpu_seconds"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        sent_total = sum(timing["sent"].values())

        log("   bytes on the wire through a counting relay")
        relay = Relay(("127.0.0.1", ep.port))
        wire = {}
        seq = 10_000_000
        try:
            # conn: every event is a connection of its own.
            # Client modes: two runs (n1 and n2 timed events, each after one
            # warm-up event); the difference is the steady state per event,
            # the rest the connection (handshake, warm-up event, close).
            plan = {"conn": (10, None), "keepalive": (1, 11), "batch50": (50, 150),
                    "keepalive_1w": (1, 11), "batch50_1w": (50, 150)}
            for mode, (n1, n2) in plan.items():
                got = []
                for n in (n1, n2) if n2 else (n1,):
                    relay.reset()
                    r = send_run(args, ep, relay.port, [mode], [n], 1, count=True, seq0=seq)
                    seq += 1_000_000
                    sent_total += r["sent"][mode]
                    up, down, conns = relay.counts()
                    got.append((n, up, down, conns, r["http_bytes"][mode]))
                if n2 is None:
                    n, up, down, conns, http = got[0]
                    wire[mode] = {"wire_bytes_per_event": (up + down) / n, "up_per_event": up / n,
                                  "down_per_event": down / n, "http_bytes_per_event": http / n,
                                  "connections": conns, "events": n}
                else:
                    (na, ua, da, ca, ha), (nb, ub, db, cb, hb) = got
                    per = ((ub + db) - (ua + da)) / (nb - na)
                    http_per = (hb - ha) / (nb - na)
                    wire[mode] = {
                        "wire_bytes_per_event": per,
                        "up_per_event": (ub - ua) / (nb - na), "down_per_event": (db - da) / (nb - na),
                        "connection_bytes": (ua + da) - per * na,
                        "connection_http_bytes": ha - http_per * na,
                        "http_bytes_per_event": http_per,
                        "connections": [ca, cb], "events": [na, nb],
                    }
        finally:
            relay.close()
        stored = ep.count()
    finally:
        ep.close()
    if stored.get("events") != sent_total or stored.get("duplicates"):
        sys.exit("bench: %d events acknowledged, but the endpoint stored %s" % (sent_total, stored))
    return {"timing": timing, "wire": wire, "stored": stored, "sent_total": sent_total,
            "events": dict(zip(SEND_MODES, events)), "reps": reps}


# ---- 4. Footprint -------------------------------------------------------------------

def footprint(args):
    log("4. WiPy footprint from %s" % os.path.relpath(args.footprint, ROOT))
    with open(args.footprint) as f:
        return json.load(f)


# ---- Report -------------------------------------------------------------------------

def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""


def dirty_files():
    """Uncommitted changes to what the benchmarks build (other work in the tree)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "src", "micropython-glue", "Cargo.toml",
                              "Cargo.lock", "include", "firmware-patches"], cwd=ROOT, capture_output=True,
                             text=True).stdout
    except OSError:
        return []
    return [ln[3:] for ln in out.splitlines() if ln.strip()]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def build_results(sas, m4, send, fp):
    t = send["timing"]["eps"]
    w = send["wire"]
    res = {
        # The keys asked for in issue #5.
        "sas_us_rust": sas["sas_us_rust"],
        "sas_us_pure": sas["sas_us_pure"],
        "sas_us_cpython_sdk": sas["sas_us_cpython_sdk"],
        "sas_heap_rust": sas["sas_heap_rust"],
        "sas_heap_pure": sas["sas_heap_pure"],
        "m4_instr_rust": m4["m4_instr_rust"],
        "m4_instr_pure": m4["m4_instr_pure"],
        "m4_instr_sha256_block": m4["m4_instr_sha256_block"],
        "send_eps_per_connection": t["conn"],
        "send_eps_keepalive": t["keepalive"],
        "send_eps_batch50": t["batch50"],
        "wipy_module_bytes": fp["module_bytes"],
        "wipy_image_bytes": fp["image_bytes"],
        # Ratios, each from runs side by side in one process.
        "sas_us_ratio_pure_over_rust": sas["sas_us_ratio"],
        "sas_heap_ratio_pure_over_rust": sas["sas_heap_ratio"],
        "sas_us_ratio_cpython_over_rust": sas["sas_us_cpython_sdk"] / sas["sas_us_rust"],
        "sas_us_ratio_q1": sas["sas_us_ratio_quartiles"][0],
        "sas_us_ratio_q3": sas["sas_us_ratio_quartiles"][1],
        "m4_instr_ratio_pure_over_rust": m4["m4_instr_ratio"],
        "m4_instr_lower_bound": m4["m4_instr_lower_bound"],
        "m4_sha256_blocks_per_token": m4["m4_sha256_blocks_per_token"],
        "m4_rust_over_lower_bound": m4["m4_rust_over_lower_bound"],
        "m4_pure_over_lower_bound": m4["m4_pure_over_lower_bound"],
        "m4_instr_rust_sha256_block": m4["m4_instr_rust_sha256_block"],
        "m4_instr_rust_per_extra_block": m4["m4_instr_rust_per_extra_block"],
        "m4_instr_rust_per_64_encoded": m4["m4_instr_rust_per_64_encoded"],
        "m4_instr_hashlib_1block_call": m4["m4_instr_hashlib_1block_call"],
        "m4_heap_rust": m4["m4_heap_rust"],
        "m4_heap_pure": m4["m4_heap_pure"],
        "send_ratio_keepalive_over_conn": t["keepalive"] / t["conn"],
        "send_ratio_batch50_over_conn": t["batch50"] / t["conn"],
        # Diagnostics: the same client with each request in one write, and
        # the per-connection baseline with TCP_NODELAY.
        "send_eps_per_connection_nodelay": t["conn_nodelay"],
        "send_eps_keepalive_one_write": t["keepalive_1w"],
        "send_eps_batch50_one_write": t["batch50_1w"],
        "send_ratio_keepalive_one_write_over_conn": t["keepalive_1w"] / t["conn"],
        "send_ratio_batch50_one_write_over_conn": t["batch50_1w"] / t["conn"],
        "send_ratio_keepalive_one_write_over_conn_nodelay": t["keepalive_1w"] / t["conn_nodelay"],
        "send_ratio_batch50_one_write_over_conn_nodelay": t["batch50_1w"] / t["conn_nodelay"],
        "send_wire_bytes_per_event_per_connection": w["conn"]["wire_bytes_per_event"],
        "send_wire_bytes_per_event_keepalive": w["keepalive"]["wire_bytes_per_event"],
        "send_wire_bytes_per_event_batch50": w["batch50"]["wire_bytes_per_event"],
        "send_http_bytes_per_event_per_connection": w["conn"]["http_bytes_per_event"],
        "send_http_bytes_per_event_keepalive": w["keepalive"]["http_bytes_per_event"],
        "send_http_bytes_per_event_batch50": w["batch50"]["http_bytes_per_event"],
        "send_connection_bytes_keepalive": w["keepalive"]["connection_bytes"]
        - w["keepalive"]["connection_http_bytes"],
        "wipy_stock_image_bytes": fp["stock_image_bytes"],
        "wipy_image_limit_bytes": (fp.get("limits") or {}).get("max_image_bytes") or 196608,
        "wipy_heap_bytes": fp["heap_bytes"],
        "wipy_stock_heap_bytes": fp["stock_heap_bytes"],
    }
    if sas.get("sas_us_rust_core") is not None:
        res["sas_us_rust_core"] = sas["sas_us_rust_core"]
        res["sas_us_rust_core_min"] = sas["sas_us_rust_core_min"]
    for k, v in fp.get("components", {}).items():
        if isinstance(v, (int, float)):
            res["wipy_component_%s_bytes" % k] = v
    res["goals"] = {
        "sas_speed_10x": res["sas_us_ratio_pure_over_rust"] >= GOALS["sas_speed"],
        "sas_heap_10x": res["sas_heap_ratio_pure_over_rust"] >= GOALS["sas_heap"],
        "m4_instr_30x": res["m4_instr_ratio_pure_over_rust"] >= GOALS["m4"],
        "send_keepalive_5x": res["send_ratio_keepalive_over_conn"] >= GOALS["keepalive"],
        "send_batch50_50x": res["send_ratio_batch50_over_conn"] >= GOALS["batch50"],
    }
    res["details"] = {
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "uncommitted": dirty_files(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "load_average_at_start": LOAD0,
        "cpython": sas.get("cpython"),
        "token": sas["token"],
        "sas_unix": {k: v for k, v in sas.items() if k != "token"},
        "m4": m4,
        "send": send,
        "footprint": fp,
    }
    return res


def fmt(x, nd=0):
    if isinstance(x, float) and nd:
        return "{:,.{}f}".format(x, nd)
    return "{:,}".format(round(x))


def plot(res, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plot (pip install -r tools/requirements.txt)")
        return False
    fig, axs = plt.subplots(2, 2, figsize=(12, 8.5))
    blue, grey, orange, light = "#1f77b4", "#7f7f7f", "#ff7f0e", "#9ecae1"

    def bars(ax, labels, values, colors, title, ylabel, log=True, notes=None):
        b = ax.bar(labels, values, color=colors)
        ax.set_title(title, fontsize=11)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        for rect, v, n in zip(b, values, notes or [None] * len(values)):
            ax.annotate(n or fmt(v), (rect.get_x() + rect.get_width() / 2, v), ha="center", va="bottom",
                        fontsize=8.5, xytext=(0, 2), textcoords="offset points")
        ax.margins(y=0.25)
        ax.tick_params(axis="x", labelsize=8.5)

    bars(axs[0][0], ["_azure\n(Rust)", "pure\nMicroPython", "CPython\nazure-eventhub"],
         [res["sas_us_rust"], res["sas_us_pure"], res["sas_us_cpython_sdk"]], [blue, grey, orange],
         "1. SAS token, unix build (x86-64): CPU µs per token", "µs per token (log)",
         notes=["%.1f µs\n%d B heap" % (res["sas_us_rust"], res["sas_heap_rust"]),
                "%.0f µs\n%d B heap" % (res["sas_us_pure"], res["sas_heap_pure"]),
                "%.0f µs" % res["sas_us_cpython_sdk"]])
    bars(axs[0][1], ["lower bound\n(%d SHA-256 blocks)" % res["m4_sha256_blocks_per_token"], "_azure\n(Rust)",
                     "pure\nMicroPython"],
         [res["m4_instr_lower_bound"], res["m4_instr_rust"], res["m4_instr_pure"]], [light, blue, grey],
         "2. SAS token, Cortex-M4 (qemu -icount): instructions", "instructions per token (log)")
    t_labels = ["new TLS\nper event", "keep-alive", "batch 50", "new TLS\nTCP_NODELAY", "keep-alive\n1 write",
                "batch 50\n1 write"]
    t_vals = [res["send_eps_per_connection"], res["send_eps_keepalive"], res["send_eps_batch50"],
              res["send_eps_per_connection_nodelay"], res["send_eps_keepalive_one_write"],
              res["send_eps_batch50_one_write"]]
    bars(axs[1][0], t_labels, t_vals, [grey, blue, blue, light, orange, orange],
         "3. Events/s to the local endpoint over TLS (loopback)", "events per second (log)")
    axs[1][0].text(0.01, 0.97, "blue: client as it is; orange: each request in one write\n"
                   "(diagnostic); grey/light: per-connection baselines",
                   transform=axs[1][0].transAxes, fontsize=7.5, va="top")
    fp = res["details"]["footprint"]
    comps = fp.get("components", {})
    items = [("Rust", comps.get("rust", 0)), ("C glue", comps.get("glue_c", 0)),
             ("qstrs", comps.get("qstr_pool", 0)), ("other\n(libgcc...)", comps.get("firmware_other", 0))]
    ax = axs[1][1]
    left = 0
    cols = [blue, orange, "#2ca02c", grey]
    for (name, v), c in zip(items, cols):
        ax.barh(["_azure in\nmcuimg.bin"], [v], left=left, color=c, label="%s %s B" % (name.replace("\n", " "), fmt(v)))
        left += v
    ax.barh(["room in\nstock image"], [res["wipy_image_limit_bytes"] - res["wipy_stock_image_bytes"]], color=light,
            label="room: %s B" % fmt(res["wipy_image_limit_bytes"] - res["wipy_stock_image_bytes"]))
    ax.set_title("4. WiPy: bytes _azure adds to mcuimg.bin (%s B)" % fmt(res["wipy_module_bytes"]), fontsize=11)
    ax.set_xlabel("bytes")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_xlim(0, max(left, res["wipy_image_limit_bytes"] - res["wipy_stock_image_bytes"]) * 1.05)
    fig.suptitle("upy-azure benchmarks (%s, commit %s)" % (res["details"]["when"], res["details"]["commit"]),
                 fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write_report(res, path, png):
    d = res["details"]
    g = res["goals"]
    m4 = d["m4"]
    send = d["send"]
    w = send["wire"]
    fp = d["footprint"]

    def ok(flag):
        return "**met**" if flag else "**missed**"

    L = []
    a = L.append
    a("# upy-azure benchmarks")
    a("")
    a("Written by `make bench` (bench/run.py) on %s, commit `%s`%s: %s, %d CPUs, load average %.2f at "
      "the start (other work on the machine makes wall-clock figures noisy: the token timings are CPU "
      "time, the Cortex-M4 figures exact instruction counts, the sending figures wall time). Each figure is the median of repeated runs; each ratio comes from "
      "runs side by side in one process. The figures are in `bench/results.json`; every repetition "
      "and the environment in `bench/results-raw.json`." % (
          d["when"], d["commit"],
          " with uncommitted changes to %s" % ", ".join("`%s`" % f for f in d["uncommitted"]) if d["uncommitted"] else "",
          d["cpu"], d["cpus"], d["load_average_at_start"]))
    a("")
    a("| # | what | _azure (Rust) | baseline | ratio | goal |")
    a("|---|---|---:|---:|---:|---|")
    a("| 1 | SAS token on unix, µs (CPU) per token | %s | %s (pure MicroPython); %s (CPython, azure-eventhub) | %.1fx; %.1fx | ≥ 10x: %s |"
      % (fmt(res["sas_us_rust"], 2), fmt(res["sas_us_pure"], 1), fmt(res["sas_us_cpython_sdk"], 1),
         res["sas_us_ratio_pure_over_rust"], res["sas_us_ratio_cpython_over_rust"], ok(g["sas_speed_10x"])))
    a("| 1 | SAS token on unix, GC heap bytes per token | %s | %s | %.1fx | ≥ 10x: %s |"
      % (fmt(res["sas_heap_rust"]), fmt(res["sas_heap_pure"]), res["sas_heap_ratio_pure_over_rust"],
         ok(g["sas_heap_10x"])))
    a("| 2 | SAS token on the Cortex-M4, instructions per token | %s | %s | %.1fx | ≥ 30x: %s |"
      % (fmt(res["m4_instr_rust"]), fmt(res["m4_instr_pure"]), res["m4_instr_ratio_pure_over_rust"],
         ok(g["m4_instr_30x"])))
    a("| 2 | lower bound: %d SHA-256 compressions × %s instructions | %s | | _azure at %.2fx the bound | |"
      % (res["m4_sha256_blocks_per_token"],
         fmt(min(res["m4_instr_sha256_block"], res["m4_instr_rust_sha256_block"])),
         fmt(res["m4_instr_lower_bound"]), res["m4_rust_over_lower_bound"]))
    a("| 2 | Cortex-M4 GC heap bytes per token (32-bit, like the WiPy) | %s | %s | %.1fx | |"
      % (fmt(res["m4_heap_rust"]), fmt(res["m4_heap_pure"]), res["m4_heap_pure"] / res["m4_heap_rust"]))
    a("| 3 | events/s, client keep-alive, one `send` per event | %s | %s (new TLS connection per event) | %.1fx | ≥ 5x: %s |"
      % (fmt(res["send_eps_keepalive"], 1), fmt(res["send_eps_per_connection"], 1),
         res["send_ratio_keepalive_over_conn"], ok(g["send_keepalive_5x"])))
    a("| 3 | events/s, client `send_batch` of 50 | %s | %s | %.1fx | ≥ 50x: %s |"
      % (fmt(res["send_eps_batch50"]), fmt(res["send_eps_per_connection"], 1),
         res["send_ratio_batch50_over_conn"], ok(g["send_batch50_50x"])))
    a("| 3 | *diagnostic:* the same client, each request in one write: keep-alive / batch 50 | %s / %s | %s (new TLS per event), %s (the same with TCP_NODELAY) | %.0fx / %.0fx; %.0fx / %.0fx | |"
      % (fmt(res["send_eps_keepalive_one_write"]), fmt(res["send_eps_batch50_one_write"]),
         fmt(res["send_eps_per_connection"], 1), fmt(res["send_eps_per_connection_nodelay"], 1),
         res["send_ratio_keepalive_one_write_over_conn"], res["send_ratio_batch50_one_write_over_conn"],
         res["send_ratio_keepalive_one_write_over_conn_nodelay"],
         res["send_ratio_batch50_one_write_over_conn_nodelay"]))
    a("| 3 | bytes on the wire per event (TLS, both ways): keep-alive / batch 50 | %s / %s | %s | %.1fx / %.1fx fewer | |"
      % (fmt(res["send_wire_bytes_per_event_keepalive"]), fmt(res["send_wire_bytes_per_event_batch50"]),
         fmt(res["send_wire_bytes_per_event_per_connection"]),
         res["send_wire_bytes_per_event_per_connection"] / res["send_wire_bytes_per_event_keepalive"],
         res["send_wire_bytes_per_event_per_connection"] / res["send_wire_bytes_per_event_batch50"]))
    a("| 4 | bytes _azure adds to the WiPy mcuimg.bin | %s | image %s with, %s without (limit %s) | | |"
      % (fmt(res["wipy_module_bytes"]), fmt(res["wipy_image_bytes"]), fmt(res["wipy_stock_image_bytes"]),
         fmt(res["wipy_image_limit_bytes"])))
    a("| 4 | WiPy MicroPython heap | %s | %s (stock) | | |"
      % (fmt(res["wipy_heap_bytes"]), fmt(res["wipy_stock_heap_bytes"])))
    a("")
    if png:
        a("![benchmarks](%s)" % os.path.basename(png))
        a("")
    L.extend(METHOD_TEXT.format(
        token=d["token"], sts=m4["m4_string_to_sign_len"], blocks=res["m4_sha256_blocks_per_token"],
        block=fmt(res["m4_instr_sha256_block"]),
        lb_block=fmt(min(res["m4_instr_sha256_block"], res["m4_instr_rust_sha256_block"])),
        rust_over_lb=res["m4_rust_over_lower_bound"],
        need_block=fmt(res["m4_instr_pure"] / 30 / res["m4_sha256_blocks_per_token"]),
        need_pct=100 * res["m4_instr_pure"] / 30 / res["m4_instr_lower_bound"],
        rust_block=fmt(res["m4_instr_rust_per_extra_block"]), enc64=fmt(res["m4_instr_rust_per_64_encoded"]),
        lb=fmt(res["m4_instr_lower_bound"]), pure=fmt(res["m4_instr_pure"]), rust=fmt(res["m4_instr_rust"]),
        pure_over_lb=res["m4_pure_over_lower_bound"], need=fmt(res["m4_instr_pure"] / 30),
        comp=fmt(res["m4_sha256_blocks_per_token"] * res["m4_instr_rust_sha256_block"]),
        rust_comp_block=fmt(res["m4_instr_rust_sha256_block"]),
        rust_vs_c=("%.0f%% more than" % (100 * (res["m4_instr_rust_sha256_block"] / res["m4_instr_sha256_block"] - 1))
                   if res["m4_instr_rust_sha256_block"] > 1.05 * res["m4_instr_sha256_block"] else
                   "%.0f%% less than" % (100 * (1 - res["m4_instr_rust_sha256_block"] / res["m4_instr_sha256_block"]))
                   if res["m4_instr_rust_sha256_block"] < 0.95 * res["m4_instr_sha256_block"] else "about"),
        enc_tok=fmt(res["m4_instr_rust_per_64_encoded"] / 64 * ENCODED_CHARS),
        rest=fmt(res["m4_instr_rust"] - res["m4_sha256_blocks_per_token"] * res["m4_instr_rust_sha256_block"]
                 - res["m4_instr_rust_per_64_encoded"] / 64 * ENCODED_CHARS),
        enc_chars=ENCODED_CHARS, rust_nc=fmt(m4["m4_instr_rust_heap_not_collected"]),
        kwcall=fmt(m4["m4_instr_native_kw_call"]),
        cpu=send["timing"]["client_cpu_seconds"], wall=send["timing"]["wall_seconds"], loop=fmt(m4["m4_loop_instr"]), m4reps=m4["m4_reps"],
        heap_rust=fmt(res["sas_heap_rust"]), token_len=len(d["token"]),
        sas_reps=d["sas_unix"]["reps"], rust_us=res["sas_us_rust"], pure_us=res["sas_us_pure"],
        core_us=("%.2f" % res["sas_us_rust_core"]) if res.get("sas_us_rust_core") else "(not measured)",
        hl_block=d["sas_unix"]["sha256_block_us_hashlib"],
        hl_total=d["sas_unix"]["sha256_block_us_hashlib"] * res["m4_sha256_blocks_per_token"],
        unix_miss=unix_miss_text(res), q1=d["sas_unix"]["sas_us_ratio_quartiles"][0],
        q3=d["sas_unix"]["sas_us_ratio_quartiles"][1],
        m4_heap_rust=fmt(res["m4_heap_rust"]), m4_heap_pure=fmt(res["m4_heap_pure"]),
        conn=fmt(res["send_eps_per_connection"], 1), keep=fmt(res["send_eps_keepalive"], 1),
        batch=fmt(res["send_eps_batch50"]), keep1=fmt(res["send_eps_keepalive_one_write"]),
        batch1=fmt(res["send_eps_batch50_one_write"]), connnd=fmt(res["send_eps_per_connection_nodelay"], 1),
        ms_keep=1000 / res["send_eps_keepalive"], ms_conn=1000 / res["send_eps_per_connection"],
        ms_connnd=1000 / res["send_eps_per_connection_nodelay"],
        ms_batch=50000 / res["send_eps_batch50"],
        events=", ".join("%s %d" % kv for kv in send["events"].items()), reps=send["reps"],
        stored_events=fmt(send["stored"]["events"]), stored_requests=fmt(send["stored"]["requests"]),
    ).splitlines())
    L.extend(send_text(res, send).splitlines())
    a("")
    a("### Bytes on the wire per event")
    a("")
    a("Counted by bench/byte_relay.py, a TCP relay between the client and the endpoint: TCP payload "
      "(TLS records, handshakes and alerts included; TCP/IP headers not). HTTP bytes: what the client "
      "wrote and read through the TLS socket. For the client modes, two runs with different event "
      "counts give the steady state per event (the difference) and the one-off cost of a connection "
      "(TLS handshake, close; the first event's HTTP bytes are subtracted).")
    a("")
    a("| mode | wire bytes/event | client → server | server → client | HTTP bytes/event | TLS overhead/event | once per connection |")
    a("|---|---:|---:|---:|---:|---:|---:|")
    names = {"conn": "new TLS connection per event", "keepalive": "keep-alive, `send`",
             "batch50": "keep-alive, `send_batch` of 50", "keepalive_1w": "keep-alive, one write per request",
             "batch50_1w": "batch 50, one write per request"}
    for mode, v in w.items():
        a("| %s | %s | %s | %s | %s | %s | %s |" % (
            names.get(mode, mode), fmt(v["wire_bytes_per_event"]), fmt(v["up_per_event"]),
            fmt(v["down_per_event"]), fmt(v["http_bytes_per_event"]),
            fmt(v["wire_bytes_per_event"] - v["http_bytes_per_event"]),
            fmt(v["connection_bytes"] - v["connection_http_bytes"]) if "connection_bytes" in v
            else "(every event)"))
    a("")
    a("### 4. WiPy footprint, by component")
    a("")
    a("From `build/wipy/footprint.json` (`make wipy`: the WiPy firmware built with and without _azure "
      "from the same source; tools/footprint.py attributes the difference using the map files).")
    a("")
    a("| component | bytes |")
    a("|---|---:|")
    comps = fp.get("components", {})
    for k, v in comps.items():
        if isinstance(v, (int, float)):
            a("| %s | %s |" % (k, fmt(v)))
        if isinstance(v, dict) and k in ("rust_by_crate", "glue_by_file"):
            for kk, vv in sorted(v.items(), key=lambda kv: -abs(kv[1])):
                a("| &nbsp;&nbsp;%s: %s | %s |" % (k.split("_by_")[0], kk.replace("|", "\\|"), fmt(vv)))
    a("| **total added to mcuimg.bin** | **%s** |" % fmt(fp["module_bytes"]))
    a("")
    over = res["wipy_image_bytes"] - res["wipy_image_limit_bytes"]
    a("The image is %s bytes %s the %s-byte limit of the WiPy bootloader (`IMG_SIZE`); the stock "
      "image leaves %s bytes of room. Every byte of code also comes out of the heap, which the "
      "CC3200 carves from the same 256 KB of SRAM: %s bytes with _azure, %s stock."
      % (fmt(abs(over)), "over" if over > 0 else "under", fmt(res["wipy_image_limit_bytes"]),
         fmt(res["wipy_image_limit_bytes"] - res["wipy_stock_image_bytes"]), fmt(res["wipy_heap_bytes"]),
         fmt(res["wipy_stock_heap_bytes"])))
    a("")
    L.extend(FILES_TEXT.splitlines())
    with open(path, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")


# Characters percent-encoded for the benchmark token: the uri (75), the
# base64 signature (44), the key name (12).
ENCODED_CHARS = 75 + 44 + 12

METHOD_TEXT = """
## Method and findings

### 1. SAS token generation on the unix build

Input: an Event Hubs publisher token, `uri = https://demo-ns.servicebus.windows.net/telemetry/publishers/wipy-kitchen-01`,
a 44-character key text, key name `DataProducer`, `expiry = 1800000000`:

    {token}

- (a) `_azure.sas_token(uri, key, "DataProducer", expiry=1800000000)`.
- (b) `bench/sas_pure.py`: the same algorithm in pure MicroPython over the port's `hashlib.sha256`
  and `binascii.b2a_base64`, percent-encoding in Python (a 256-entry table built once).
  **The HMAC is written in bench/, not taken from PyPI:** `micropython-hmac` on PyPI
  (3.4.2.post3, its newest) imports `warnings`, and once that is stubbed it fails with
  `AttributeError: 'sha256' object has no attribute 'digest_size'`: it expects a hash object
  with `digest_size`, `block_size` and `copy()`, which MicroPython 1.25's built-in hashlib does
  not have. bench/sas_pure.py computes RFC 2104 the way micropython-lib's current `hmac` does
  over the built-in hashlib (two hash objects, key zero-padded to the 64-byte block, pads made
  by a byte-wise XOR generator, inner digest fed to the outer hash) and checks itself against
  RFC 4231 test cases 1 and 6.
- (c) CPython {cpython_hint}with azure-eventhub's `azure.eventhub._pyamqp.utils.generate_sas_token`.
- Before timing, (a) and (b) must produce the same token, and (c) must produce it too.
- Time: CPU time of the process (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, through the unix
  port's `ffi` module; CPython: `time.process_time()`), because wall time on this shared
  machine swings with other processes. 2,000 (a) / 200 (b) calls per repetition, in 10
  alternating slices of 200 / 20, one `gc.collect()` per repetition (the garbage (b) makes is
  collected on its time), {sas_reps} repetitions; figures are medians, the ratio is the median of
  the per-repetition ratios (quartiles {q1:.1f}x to {q3:.1f}x in this run).
- Where (a)'s {rust_us:.2f} µs go: the Rust core alone, `upy_azure_sas_token` called from C
  (bench/sas_native.c, same input, host archive, its own process, so less comparable than
  the side-by-side figures), takes {core_us} µs; the rest is MicroPython's side: the call with
  a keyword argument, the result's allocation, its UTF-8 check and qstr lookup. (b)'s {pure_us:.1f} µs include its {blocks} SHA-256 compressions in C
  (the port's hashlib: {hl_block:.2f} µs per block, {hl_total:.1f} µs), the rest is Python.
{unix_miss}- (a) allocates only its result: on the Cortex-M4 the {token_len}-character str is {m4_heap_rust} bytes
  (16-byte header + text + NUL, rounded to 16-byte blocks); the pure version allocates
  {m4_heap_pure} bytes per token.
""".replace("{cpython_hint}", "") + """
### 2. Instructions per token on the Cortex-M4 (qemu)

**Method.** The qemu firmware (`build/qemu/firmware.elf`, board MPS2_AN386: Cortex-M4,
soft float, the WiPy's CPU) runs under `qemu-system-arm -icount shift=0`: the emulated
clock advances exactly 1 ns per executed instruction. The port has no `time` module, so
bench/m4_target.py reads the board's CMSDK APB timer 0 (0x40000000, counting down at
the 25 MHz system clock) through `machine.mem32`: one tick = 40 instructions. Every run
checks that factor with an inline-assembler loop of known length (`@micropython.asm_thumb`,
2 instructions per iteration) and fails if it is off. (This qemu has no TCG plugins such as
libinsn installed, and counting the whole process would include the REPL's busy-wait for
input.) The script is sent to the raw REPL by MicroPython's tools/pyboard.py, as
run-tests.py does; {m4reps} repetitions, all variants interleaved, `gc.collect()` before
each; the loop's own cost ({loop} instructions per iteration) is subtracted. Under icount
the counts are deterministic for a given firmware and script; they depend a little on the
GC heap's state (allocation scans the block table): the same 50 tokens run again straight
after, without a collection, take {rust_nc} instructions each instead of {rust}.

**Lower bound.** A token is one HMAC-SHA256 with a key of at most 64 bytes:
compressions = 1 (ipad block) + ceil((L + 9) / 64) (the message, L = len(string_to_sign),
plus SHA-256 padding) + 2 (opad block, then the 32-byte inner digest with padding)
= **3 + ceil((L + 9) / 64)** (a key longer than 64 bytes adds ceil((K + 9) / 64) to hash it).
Here string_to_sign = ENC(uri) + "\\n" + "1800000000", L = {sts}: **{blocks} compressions**.

One compression on this firmware, measured two ways:
- through its own hashlib (MicroPython's C SHA-256): (sha256(567 bytes) − sha256(55 bytes)) / 8,
  i.e. 8 more blocks: **{block}** instructions (byte-wise buffering included; this is
  `m4_instr_sha256_block`);
- inside _azure: 64 more bytes of uri (one more compression, 64 more characters
  percent-encoded) cost {rust_block} instructions, 64 more characters of key name (encoded,
  not signed) cost {enc64}: the Rust compression, with the buffering around it, costs about
  **{rust_comp_block}**, {rust_vs_c} the C hashlib's.

Lower bound: {blocks} × {lb_block} (the cheaper) = **{lb}** instructions; _azure's {rust} is
**{rust_over_lb:.2f}x** that.

**Where (a)'s {rust} instructions go:** about {comp} in the {blocks} compressions;
about {enc_tok} percent-encoding the {enc_chars} encoded characters of the token (about {enc64}
per 64 characters: the encoder itself, the 3-bytes-per-character output allowance, which
the allocator zeroes, and MicroPython's UTF-8 check and qstr lookup of the result string);
the remaining ~{rest} are the call (a native call with keyword arguments costs about {kwcall},
measured with `_azure.backoff_ms`), the HMAC key setup, base64, the expiry's digits and
the allocation.

**Why 30x is out of reach.** The pure-MicroPython baseline does not run SHA-256 in Python:
it calls the same C hashlib, so its {pure} instructions already include {blocks}
compressions. Even an (a) that did nothing but the compressions would be only
{pure} / {lb} = **{pure_over_lb:.1f}x** better. 30x means signing a token in {need}
instructions, {need_block} per compression with nothing else done: {need_pct:.0f}% of the
cheaper of the two compressions measured above. The goal could only be met against a baseline
that also hashes in Python (and on the WiPy itself, which has no hashlib, the native
module is the only way to sign on the board at all).

"""


def unix_miss_text(res):
    if res["goals"]["sas_speed_10x"]:
        return ""
    r = res["sas_us_ratio_pure_over_rust"]
    core = res.get("sas_us_rust_core")
    t = ("- **10x missed ({:.1f}x).** (b) is not SHA-256 in Python: its hashing is the port's C, "
         "so (b) is mostly interpreter work of ~{:.0f} µs. For 10x, (a) must take at most {:.2f} µs"
         .format(r, res["sas_us_pure"], res["sas_us_pure"] / 10))
    if core:
        t += ("; the Rust core alone takes {:.2f} µs (median of its own run; fastest repetition {:.2f} µs)."
              .format(core, res.get("sas_us_rust_core_min") or core))
    else:
        t += "."
    t += (" The core's SHA-256 buffering is the first place to look: the M4 figures below show "
          "its compression at {:,} instructions per block against {:,} for the C hashlib."
          .format(res["m4_instr_rust_sha256_block"], res["m4_instr_sha256_block"]))
    return t + "\n"


def send_text(res, send):
    """Section 3's prose, from the measurements (which modes stall is measured,
    not assumed: the client's write path may change)."""
    t = send["timing"]["eps"]
    w = send["wire"]
    ev = send["events"]
    L = []
    a = L.append
    a("### 3. Sending to the local endpoint over TLS")
    a("")
    a("tools/azure_endpoint.py on 127.0.0.1 (CPython, TLS 1.2 with its development CA, one SQLite commit "
      "per request, database on a tmpfs), bench/send_bench.py on the unix build (mbedTLS 2.28; the server "
      "certificate is verified in every mode). Events: send_telemetry.py-style JSON readings of about 55 "
      "bytes. Per repetition: %s events; %d repetitions, modes interleaved, median events/s; the "
      "keep-alive modes send one event before the clock starts (steady state: the TLS handshake is "
      "what (a) measures). Every acknowledged event was checked to "
      "be stored exactly once: %s events in %s requests, no duplicates. The MicroPython process used "
      "%.1f s of CPU in the %.0f s timing run."
      % (", ".join("%s %d" % kv for kv in ev.items()), send["reps"], fmt(send["stored"]["events"]),
         fmt(send["stored"]["requests"]), send["timing"]["client_cpu_seconds"], send["timing"]["wall_seconds"]))
    a("")
    a("| mode | events/s | ms per request | vs (a) |")
    a("|---|---:|---:|---:|")
    rows = [("(a) new TLS connection per event, hand-written POST in one write, `Connection: close`", "conn", 1),
            ("(b) `EventHubClient.send` per event, kept alive", "keepalive", 1),
            ("(c) `EventHubClient.send_batch` of 50, kept alive", "batch50", 50),
            ("*diagnostic:* (a) with TCP_NODELAY", "conn_nodelay", 1),
            ("*diagnostic:* (b), each request forced into one write", "keepalive_1w", 1),
            ("*diagnostic:* (c), each request forced into one write", "batch50_1w", 50)]
    for label, m, per in rows:
        a("| %s | %s | %.1f | %.1fx |" % (label, fmt(t[m], 1) if t[m] < 100 else fmt(t[m]), 1000 * per / t[m],
                                          t[m] / t["conn"]))
    a("")
    a("**Nagle's algorithm meets delayed ACK.** A request written as two writes, head then body, "
      "goes out as two TLS records in two TCP segments. Nagle's algorithm holds the second segment "
      "until the first is acknowledged, and the server, still waiting for the rest of the request, "
      "delays that ACK (Linux: up to 40 ms). The request then waits ~40 ms whatever its size, with "
      "the client's CPU idle. The diagnostic rows measure it: the same client, its socket wrapped so "
      "that a head written on its own is held and sent together with the body "
      "(bench/send_bench.py `OneWrite`; the client's code is untouched).")
    a("")
    for name, m in (("(b) keep-alive", "keepalive"), ("(c) batches of 50", "batch50")):
        r = t[m + "_1w"] / t[m]
        per = 50 if m == "batch50" else 1
        if r > 2:
            a("- %s: **stalls**: %.1f ms per request as the client writes it, %.1f ms in one write "
              "(%.0fx the events/s): its requests (HTTP %s bytes each) leave the client in more than one write."
              % (name, 1000 * per / t[m], 1000 * per / t[m + "_1w"], r, fmt(w[m]["http_bytes_per_event"] * per)))
        else:
            a("- %s: no stall: %.1f ms per request as the client writes it, %.1f ms in one write."
              % (name, 1000 * per / t[m], 1000 * per / t[m + "_1w"]))
    a("- (a) the per-connection baseline meets the same effect inside mbedTLS's handshake, whose "
      "flights are several writes: %.1f ms per event, %.1f ms with TCP_NODELAY."
      % (1000 / t["conn"], 1000 / t["conn_nodelay"]))
    a("")
    a("The goals are judged against (a) as a script would naturally write it (no TCP_NODELAY: "
      "MicroPython's unix `socket` module does not even name the constant). Against the faster "
      "(a) with TCP_NODELAY: (b) %.1fx, (c) %.1fx; the one-write variants %.1fx and %.1fx."
      % (t["keepalive"] / t["conn_nodelay"], t["batch50"] / t["conn_nodelay"],
         t["keepalive_1w"] / t["conn_nodelay"], t["batch50_1w"] / t["conn_nodelay"]))
    if t["batch50_1w"] / t["batch50"] > 2 or t["keepalive_1w"] / t["keepalive"] > 2:
        a("")
        a("Suspected fix (micropython-glue/azure/client.py, not changed here): send every request "
          "in one write, whatever the body's size (head and body in one buffer, e.g. a bytearray "
          "sized once and reused), or set TCP_NODELAY where the port allows (unix: "
          "`setsockopt(6, 1, 1)`; the WiPy's sockets are run by the CC3200's network processor, "
          "whose Nagle behaviour is not known here).")
    return "\n".join(L) + "\n"


FILES_TEXT = """
## Files

| file | what |
|---|---|
| `mk/bench.mk` | `make bench`: builds the unix interpreter, the qemu firmware and the WiPy footprint, then runs bench/run.py |
| `bench/run.py` | runs everything, writes results.json (numbers), results-raw.json (every repetition), RESULTS.md, results.png |
| `bench/sas_native.c` | benchmark 1, the Rust core alone through its C ABI (built by mk/bench.mk) |
| `bench/sas_pure.py` | the pure-MicroPython HMAC-SHA256 and SAS token (baseline b) |
| `bench/sas_bench.py` | benchmark 1 on the unix build |
| `bench/sas_cpython.py` | benchmark 1 (c), CPython + azure-eventhub |
| `bench/m4_bench.py`, `bench/m4_target.py` | benchmark 2: host driver and the script run on the qemu Cortex-M4 |
| `bench/send_bench.py` | benchmark 3, run by the unix build |
| `bench/byte_relay.py` | the byte-counting TCP relay |

`make bench BENCH_FLAGS=--quick` runs fewer repetitions (a smoke test).
"""


LOAD0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--micropython", default=os.path.join(ROOT, "build", "unix", "micropython"))
    ap.add_argument("--micropy-dir", default=os.path.join(ROOT, "build", "micropython"))
    ap.add_argument("--qemu-elf", default=os.path.join(ROOT, "build", "qemu", "firmware.elf"))
    ap.add_argument("--footprint", default=os.path.join(ROOT, "build", "wipy", "footprint.json"))
    ap.add_argument("--native", help="bench/sas_native.c built against the host archive")
    ap.add_argument("--out", default=HERE, help="directory for results.json, RESULTS.md, results.png")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    args = ap.parse_args()
    for k in ("micropython", "micropy_dir", "qemu_elf", "footprint", "out"):
        setattr(args, k, os.path.abspath(getattr(args, k)))
    # Private copies: other builds in the same tree must not swap the
    # binaries in the middle of a run.
    snap = tempfile.mkdtemp(prefix="upy-azure-bench-bin-")
    try:
        for k in ("micropython", "qemu_elf"):
            dst = os.path.join(snap, os.path.basename(getattr(args, k)))
            shutil.copy2(getattr(args, k), dst)
            setattr(args, k, dst)
        t0 = time.time()
        run_all(args, t0)
    finally:
        shutil.rmtree(snap, ignore_errors=True)


def run_all(args, t0):
    sas = bench_sas(args)
    m4 = bench_m4(args)
    send = bench_send(args)
    fp = footprint(args)
    res = build_results(sas, m4, send, fp)
    res["details"]["seconds"] = round(time.time() - t0, 1)
    os.makedirs(args.out, exist_ok=True)
    # results.json: numbers only (goals as 1/0); results-raw.json: every
    # repetition, the environment, the footprint JSON.
    flat = {k: v for k, v in res.items() if k not in ("goals", "details")}
    flat.update({"goal_" + k: int(v) for k, v in res["goals"].items()})
    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat.values()), flat
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(flat, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "results-raw.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    png = os.path.join(args.out, "results.png")
    if not plot(res, png):
        png = None
    write_report(res, os.path.join(args.out, "RESULTS.md"), png)
    g = res["goals"]
    log("done in %.0f s: bench/results.json, bench/RESULTS.md%s" % (time.time() - t0, ", bench/results.png" if png else ""))
    for k, v in g.items():
        log("  goal %-20s %s" % (k, "met" if v else "MISSED (see RESULTS.md)"))


if __name__ == "__main__":
    main()
