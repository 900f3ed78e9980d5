"""Installed the way a Pico W user installs it (issue #21, item 8).

`tools/natmod_dist.py` (what `make dist` runs) publishes the x64 package
under a plain HTTP server on loopback; a STOCK unix interpreter (built
without the user module: `_azure` comes from the installed .mpy) installs
it with `mip.install(<url of package.json>)` into a fresh lib directory,
then runs an example from there against the local endpoint over TLS.

Each mip is tried: the one frozen in the stock interpreter (from the
MicroPython tree: 0.3.0 on Debian's source, 0.4.1 on an upstream v1.25
clone) and every package directory in MIP_DIRS (colon-separated; each
holds mip/__init__.py and, beside it, its manifest.py, whose version is
read). package.json with absolute URLs (`make dist BASE_URL=...`) must
install with all of them; with relative URLs (plain `make dist`), mips
before 0.4 must fail the way issue #21 describes ("need more than 1 values
to unpack") and later ones must install.

Environment: MICROPYTHON (default build/unix-stock/micropython), NATMOD
(build/natmod), WIPY_LIB (build/wipy/lib), MICROPY_DIR (build/micropython),
MIP_DIRS, MIP_EXAMPLE: the command run once installed (default
tests/e2e/test_aio_example.py: examples/aio_device.py end to end over MQTT
and TLS, issue #21 item 8); it gets MICROPYTHON and MICROPYPATH (.frozen and
the lib directory) in its environment and must exit 0. The blocking
examples/send_telemetry.py (tools/demo.sh) and the asyncio HTTPS clients
(the end-to-end flows of tests/e2e/test_aio_e2e.py) run from the installed
package too.
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MICROPYTHON = os.path.abspath(os.environ.get("MICROPYTHON") or os.path.join(ROOT, "build", "unix-stock", "micropython"))
NATMOD = os.environ.get("NATMOD") or os.path.join(ROOT, "build", "natmod")
WIPY_LIB = os.environ.get("WIPY_LIB") or os.path.join(ROOT, "build", "wipy", "lib")
MICROPY_DIR = os.environ.get("MICROPY_DIR") or os.path.join(ROOT, "build", "micropython")
AIO_EXAMPLE = "%s -W ignore::ResourceWarning -m unittest tests/e2e/test_aio_example.py" % sys.executable
MIP_EXAMPLE = os.environ.get("MIP_EXAMPLE") or AIO_EXAMPLE
VERSION = "0.0.0-test"


def _manifest_version(path):
    try:
        with open(path) as f:
            m = re.search(r'version="([0-9.]+)"', f.read())
    except OSError:
        return None
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def _frozen_mip_version():
    # The mip the stock interpreter freezes: micropython-lib's in the tree
    # (upstream layout, then the Debian source's).
    lib = os.path.join(MICROPY_DIR, "lib", "micropython-lib")
    for p in ("micropython/mip/manifest.py", "python-ecosys/mip/manifest.py"):
        v = _manifest_version(os.path.join(lib, p))
        if v:
            return v
    raise RuntimeError("no mip manifest under %s" % lib)


def _mips():
    # (label, directory put first on the path or None for the frozen one, version)
    out = [("frozen", None, _frozen_mip_version())]
    for d in filter(None, os.environ.get("MIP_DIRS", "").split(":")):
        v = _manifest_version(os.path.join(d, "manifest.py"))
        if v is None:
            raise RuntimeError("MIP_DIRS: %s has no manifest.py with a version" % d)
        out.append((os.path.basename(d.rstrip("/")), os.path.abspath(d), v))
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


class MipInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mip-test-")
        cls.served = os.path.join(cls.tmp, "www")
        os.makedirs(cls.served)
        handler = functools.partial(_Quiet, directory=cls.served)
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        cls.port = cls.httpd.server_address[1]
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.base = "http://127.0.0.1:%d" % cls.port
        # The two forms of the published package, as `make dist` writes them.
        for form, extra in (("rel", []), ("abs", ["--base-url", cls.base + "/abs"])):
            subprocess.run([sys.executable, os.path.join(ROOT, "tools", "natmod_dist.py"), "--natmod", NATMOD,
                            "--lib", WIPY_LIB, "--out", os.path.join(cls.served, form), "--version", VERSION]
                           + extra + ["x64"], check=True, stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def _install(self, mip_dir, form):
        # A fresh directory as the interpreter's library path; mip.install
        # without a target picks the first sys.path entry ending in /lib,
        # as on a board.
        lib = tempfile.mkdtemp(prefix="lib-", dir=self.tmp) + "/lib"
        os.makedirs(lib)
        path = ([mip_dir] if mip_dir else []) + [".frozen", lib]
        env = dict(os.environ, MICROPYPATH=":".join(path))
        url = "%s/%s/x64/package.json" % (self.base, form)
        r = subprocess.run([MICROPYTHON, "-c", "import mip; print(mip.__file__); mip.install(%r)" % url],
                           cwd=self.tmp, env=env, capture_output=True, text=True, timeout=120)
        return lib, r

    def _check_installed(self, lib, form):
        with open(os.path.join(self.served, form, "x64", "package.json")) as f:
            files = [p for p, _ in json.load(f)["urls"]]
        self.assertIn("_azure.mpy", files)
        self.assertIn("azure/__init__.mpy", files)
        for p in files:
            with open(os.path.join(lib, p), "rb") as a, open(os.path.join(self.served, form, "x64", p), "rb") as b:
                self.assertEqual(a.read(), b.read(), p)
        # The interpreter has no _azure of its own: it is the installed one.
        env = dict(os.environ, MICROPYPATH=".frozen:" + lib)
        r = subprocess.run([MICROPYTHON, "-c", "import _azure, azure; print(_azure.__file__); "
                            "print(azure.sas_token('a/b', 'k', expiry=1))"],
                           cwd=self.tmp, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], lib + "/_azure.mpy")
        self.assertTrue(r.stdout.splitlines()[1].startswith("SharedAccessSignature sr=a%2Fb&sig="))
        return env

    def test_stock_interpreter_has_no_azure(self):
        r = subprocess.run([MICROPYTHON, "-c", "import _azure"], env=dict(os.environ, MICROPYPATH=".frozen"),
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0, "%s has a built-in _azure" % MICROPYTHON)

    def test_absolute_urls_every_mip(self):
        for label, mip_dir, version in _mips():
            with self.subTest(mip=label, version=version):
                lib, r = self._install(mip_dir, "abs")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                if mip_dir:  # that mip, not the frozen one, did the work
                    self.assertTrue(r.stdout.startswith(mip_dir), r.stdout)
                self.assertIn("Done", r.stdout)
                self._check_installed(lib, "abs")

    def test_relative_urls_need_mip_0_4(self):
        # Both kinds are tried: MicroPython 1.25's own mip (0.4.1, tests/mip/mip-0.4.1 by default) and an older one.
        versions = [v for _, _, v in _mips()]
        self.assertTrue(any(v >= (0, 4) for v in versions) and any(v < (0, 4) for v in versions), versions)
        for label, mip_dir, version in _mips():
            with self.subTest(mip=label, version=version):
                lib, r = self._install(mip_dir, "rel")
                if version < (0, 4):
                    self.assertNotEqual(r.returncode, 0, r.stdout)
                    self.assertIn("need more than 1 values to unpack", r.stderr)
                else:
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self._check_installed(lib, "rel")

    def _run_installed(self, command, **extra):
        # The first mip installs, then `command` runs from that directory
        # against the local endpoint (TLS), with nothing else on the path:
        # the example must not be able to reach the repository's package.
        lib, r = self._install(None, "abs")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        env = self._check_installed(lib, "abs")
        env.update(MICROPYTHON=MICROPYTHON, **extra)
        r = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        print("\n  %s from %s: ok" % (command, lib), file=sys.stderr)
        return r

    def test_example_from_the_installed_package(self):
        # MIP_EXAMPLE; by default examples/aio_device.py (asyncio: the stock
        # interpreter freezes it, as a Pico W does) through its e2e test.
        extra = {}
        if MIP_EXAMPLE == "tools/demo.sh":
            extra = dict(AZURE_READINGS=os.environ.get("AZURE_READINGS", "30"),
                         DEMO_DIR=os.path.join(self.tmp, "demo"), AZURE_OUTBOX=os.path.join(self.tmp, "outbox"))
        r = self._run_installed(MIP_EXAMPLE, **extra)
        if MIP_EXAMPLE == "tools/demo.sh":
            self.assertIn("done: %s events" % extra["AZURE_READINGS"], r.stdout)

    def test_blocking_example_from_the_installed_package(self):
        # examples/send_telemetry.py (blocking HTTPS, the outbox) through tools/demo.sh.
        if MIP_EXAMPLE == "tools/demo.sh":
            self.skipTest("MIP_EXAMPLE runs it")
        r = self._run_installed("tools/demo.sh", AZURE_READINGS="30", DEMO_DIR=os.path.join(self.tmp, "demo"),
                                AZURE_OUTBOX=os.path.join(self.tmp, "outbox"))
        self.assertIn("done: 30 events", r.stdout)

    def test_async_clients_from_the_installed_package(self):
        # azure.aio from the installed .mpy files (and _azure.mpy) on the
        # stock interpreter, whose asyncio is frozen: the end-to-end asyncio
        # flows (tests/e2e/test_aio_e2e.py: sends from 4 tasks, receive and
        # settle, the outbox, a 10 ms ticker) against the local endpoint.
        lib, r = self._install(None, "abs")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        env = self._check_installed(lib, "abs")
        env["MICROPYTHON"] = MICROPYTHON
        r = subprocess.run([sys.executable, "-m", "unittest", "tests.e2e.test_aio_e2e.AioTest.test_every_flow_with_a_ticker"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
