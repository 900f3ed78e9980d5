#!/usr/bin/env python3
"""make mutants-python: a scripted mutation run over the Python layer.

Each mutation is one edit of one line, the kind of bug a real change makes.
For each, the package is copied to a scratch folder with the edit, the copy
is put ahead of the frozen package (MICROPYPATH=<copy>:.frozen) and the
MicroPython tests that cover the clients run on the unix build; each file's
output is compared with its .exp. A mutation is killed when at least one
test's output differs. Writes docs/mutants-python.md.

  python tools/mutants_python.py [--micropython build/unix/micropython]
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "micropython-glue", "azure")
TESTS = sorted(glob.glob(os.path.join(ROOT, "tests", "micropython", "client_*.py"))) + [
    os.path.join(ROOT, "tests", "micropython", n)
    for n in ("hostile_response.py", "generated_inputs.py", "hostile_client.py", "connstr.py", "token_given.py")]

# (file, text as it is, text mutated, what a real bug would be)
MUTATIONS = [
    ('client.py', 'self._token_ttl * 4 // 5', 'self._token_ttl',
     'token renewed at 100 % of its life instead of 80 %'),
    ('client.py', 'self._token_ttl * 4 // 5', 'self._token_ttl * 7 // 10',
     'token renewed at 70 %'),
    ('client.py', 'now >= self._renew_at', 'now + 1 >= self._renew_at',
     'token renewed one second early'),
    ('client.py', 'if self._token is None or now >= self._renew_at:', 'if self._token is None:',
     'token renewed only on a 401'),
    ('https.py', 'retry_after = r.retry_after if status is not None else None', 'retry_after = None',
     'Retry-After ignored'),
    ('https.py', 'if attempt >= self.max_retries:', 'if attempt > self.max_retries:',
     'one retry too many'),
    ('https.py', 'if attempt >= self.max_retries:', 'if attempt + 1 >= self.max_retries:',
     'one retry too few'),
    ('https.py', 'if verdict == 1 and not renewed and not self._given:', 'if verdict == 1 and not self._given:',
     'a 401 renewed and resent without limit'),
    ('https.py', 'if verdict == 1 and not renewed and not self._given:', 'if False:',
     'a 401 not resent with a fresh token'),
    ('https.py', 'if verdict != 3:', 'if verdict == 2 and status != 404:',
     '404 retried'),
    ('https.py', 'if not (r.keep_alive and self._keep_alive):', 'if not r.keep_alive:',
     'keep_alive=False ignored after the response'),
    ('https.py', 'if not (r.keep_alive and self._keep_alive):', 'if not self._keep_alive:',
     "the server's Connection: close ignored"),
    ('https.py', 'self.stats["sent"] += count', 'self.stats["sent"] += 1',
     'a batch counted as one event'),
    ('https.py', 'self.stats["retries"] += 1', 'pass',
     'retries not counted'),
    ('client.py', 'self.stats["renewals"] += 1', 'pass',
     'renewals not counted'),
    ('https.py', '2000 * self._timeout', '20000 * self._timeout',
     'whole-response deadline 10 times longer'),
    ('https.py', '                    if self._sock is None:\n                        yield _CONNECT, None', '                    if True:\n                        yield _CONNECT, None',
     'a new connection for every request'),
    ('response.py', '            if line:  # chunk data must end with CRLF', '            if False:',
     'chunk data not required to end with CRLF'),
    ('response.py', '_has_token(value, b"close")', '_has_token(value, b"closed")',
     'Connection: close ignored'),
    ('response.py', 'self._http10 = line[7] == 48', 'self._http10 = False',
     'HTTP/1.0 kept alive'),
    ('response.py', '(self._len is not None and self._len != int(value))', 'False',
     'two different Content-Length values accepted'),
    ('response.py', 'if 200 <= status <= 299:', 'if status in (200, 201, 204):',
     'only 200/201/204 taken as success'),
    ('response.py', 'if status == 408 or status == 429 or 500 <= status <= 599:', 'if status == 429 or 500 <= status <= 599:',
     '408 not retried'),
    ('response.py', '        self._st = _FAILED\n        raise OSError(_BAD)\n\n\ndef classify', '        self._done()\n\n\ndef classify',
     'a truncated response accepted at EOF'),
    ('response.py', 'if not k or (line[k] not in b"; \\t" if k < len(line) else cut):', 'if False:',
     'a chunk-size line without digits accepted'),
    ('https.py', 'if verdict == 1 and not renewed and not self._given:', 'if verdict == 1 and not renewed:',
     "a given token's 401 retried (a second request on a revoked token)"),
    ('client.py', 'if now >= self.token_expires:', 'if False:',
     'a given token sent after it expired by the device clock'),
    ('client.py', 'if now >= self.token_expires:', 'if now > self.token_expires:',
     'a given token sent in its expiry second'),
    ('client.py', '        self._key = None  # from now on the device holds no key', '        pass',
     'set_token keeps the key'),
    ('_connstr.py', 'if publisher is not None and publisher != scoped:', 'if False:',
     'a publisher= that contradicts the token accepted'),
    ('_connstr.py', '                publisher = scoped', '                pass',
     "a publisher token's publisher not implied"),
    ('_token.py', 'if b[i] == 37 and len(n) == 2', 'if b[i] == 38 and len(n) == 2',
     'lower/upper-case escapes in sr not decoded'),
]


def run_tests(mp, libdir):
    failed = []
    # The copy first, then the tests' harnesses (tests/lib), then the frozen package.
    env = dict(os.environ, MICROPYPATH=libdir + ":" + os.path.join(ROOT, "tests", "lib") + ":.frozen")
    for t in TESTS:
        exp = open(t + ".exp", "rb").read()
        try:
            out = subprocess.run([mp, t], env=env, capture_output=True, timeout=120, cwd=os.path.dirname(t)).stdout
        except subprocess.TimeoutExpired:
            out = b"TIMEOUT"
        # A SKIP is a failure here: every one of these tests runs on unix.
        if out != exp:
            failed.append(os.path.basename(t)[:-3])
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--micropython", default=os.path.join(ROOT, "build", "unix", "micropython"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "mutants-python.md"))
    a = ap.parse_args()
    rows, survived = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        lib = os.path.join(tmp, "lib")
        shutil.copytree(PKG, os.path.join(lib, "azure"))
        base = run_tests(a.micropython, lib)
        if base:
            print("the unmutated package fails:", base)
            return 1
        for f, old, new, what in MUTATIONS:
            path = os.path.join(lib, "azure", f)
            src = open(os.path.join(PKG, f)).read()
            if src.count(old) < 1:
                rows.append((f, what, "NOT APPLIED: text not found"))
                survived += 1
                continue
            open(path, "w").write(src.replace(old, new, 1))
            failed = run_tests(a.micropython, lib)
            open(path, "w").write(src)
            rows.append((f, what, ", ".join(failed) if failed else "SURVIVED"))
            survived += not failed
            print("%-12s %-55s %s" % (f, what, rows[-1][2]))
    killed = len(MUTATIONS) - survived
    with open(a.out, "w") as o:
        o.write("# Python mutation run (make mutants-python)\n\n")
        o.write("`tools/mutants_python.py`: each one-line mutation applied in turn to a copy of\n"
                "`micropython-glue/azure/`, put ahead of the frozen package; the client, response and\n"
                "generated-input tests run on the unix build and each output is compared with its `.exp`.\n\n")
        o.write("**%d of %d mutations killed.**\n\n" % (killed, len(MUTATIONS)))
        o.write("| file | mutation | killed by |\n|---|---|---|\n")
        for f, what, by in rows:
            o.write("| %s | %s | %s |\n" % (f, what, by))
    print("%d of %d killed: %s" % (killed, len(MUTATIONS), os.path.relpath(a.out)))
    return 0 if not survived else 1


if __name__ == "__main__":
    sys.exit(main())
