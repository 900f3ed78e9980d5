"""The .pyi stubs match the built module: every public name of `_azure` and
`azure` (and every method of the clients) is in the stubs, and nothing in
the stubs is missing from the module. The stubs also parse as Python.

Usage: python tests/stubs/test_stubs.py build/unix/micropython
"""

import ast
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LIST = """
import _azure, azure, sys
def pub(o):
    return sorted(n for n in dir(o) if not n.startswith('_'))
print('_azure', ' '.join(pub(_azure)))
import azure.response
# The package's own names and those it defines on first use (azure._LAZY);
# not dir(azure), which would import every lazy module through __getattr__.
d = azure.__dict__
print('azure', ' '.join(sorted(set(n for n in d if n[0] != '_' and type(d[n]) is not type(sys)) | set(azure._LAZY))))
# (const: MicroPython's compile-time helper, imported by the module)
print('response', ' '.join(n for n in pub(azure.response) if n != 'const'))
print('Response', ' '.join(pub(azure.response.Response())))
print('Client', ' '.join(n for n in pub(azure.EventHubClient) if n != 'from_connection_string'))
"""


def stub_names(path, cls=None):
    tree = ast.parse(open(path).read())
    body = tree.body
    if cls:
        body = next(n.body for n in body if isinstance(n, ast.ClassDef) and n.name == cls)
    names = set()
    for n in body:
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, ast.AnnAssign) and cls != "_Client":
            # Instance attributes of the clients are not in dir(class).
            names.add(n.target.id)
        elif isinstance(n, ast.ImportFrom) and n.module != "typing":
            names.update(a.asname or a.name for a in n.names)
    return {x for x in names if not x.startswith("_")}


def main():
    out = subprocess.run([sys.argv[1], "-c", LIST], capture_output=True, text=True, check=True).stdout
    got = dict(line.split(" ", 1) for line in out.strip().splitlines())
    got = {k: set(v.split()) for k, v in got.items()}
    want = {
        "_azure": stub_names(os.path.join(ROOT, "stubs", "_azure.pyi")),
        "azure": stub_names(os.path.join(ROOT, "stubs", "azure", "__init__.pyi")) - {"_Client"},
        "response": stub_names(os.path.join(ROOT, "stubs", "azure", "response.pyi")),
        "Response": stub_names(os.path.join(ROOT, "stubs", "azure", "response.pyi"), "Response"),
        "Client": stub_names(os.path.join(ROOT, "stubs", "azure", "__init__.pyi"), "_Client"),
    }
    bad = 0
    for k in want:
        if got[k] != want[k]:
            bad += 1
            print("stubs out of date for %s: missing %s, extra %s"
                  % (k, sorted(got[k] - want[k]), sorted(want[k] - got[k])))
    print("stubs: %s" % ("ok" if not bad else "%d mismatches" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
