"""The Python layer and the examples must run on the WiPy, whose firmware is
built at MicroPython's CORE feature level without floats. No emulator runs
that configuration with sockets, so this checks the source for what it lacks:
f-strings, str.partition/rpartition/center/count, float literals and true
division, and modules the cc3200 port does not have.

Usage: python tests/wipy/test_core_features.py
"""

import ast
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = sorted(glob.glob(os.path.join(ROOT, "micropython-glue", "azure", "*.py"))
               + glob.glob(os.path.join(ROOT, "examples", "*.py")))
# splitlines: turned off by the WiPy's options (WIPY_CFLAGS in mk/firmware.mk,
# firmware-patches 0008), like select, frozenset, execfile and OrderedDict below.
MISSING_METHODS = {"partition", "rpartition", "center", "splitlines", "format_map", "casefold",
                   "removeprefix", "removesuffix", "isascii"}
# Modules the cc3200 port lacks (hashlib: MICROPY_PY_HASHLIB 0) or that the
# WiPy's options turn off (re, select), unless imported under try.
MISSING_MODULES = {"hashlib", "random", "re", "asyncio", "tls", "struct", "select"}
# Builtins and names the WiPy's options turn off (NameError/ImportError there).
MISSING_NAMES = {"frozenset", "execfile", "OrderedDict"}


class Checker(ast.NodeVisitor):
    def __init__(self, path):
        self.path = path
        self.problems = []
        self.in_try = 0

    def bad(self, node, what):
        self.problems.append("%s:%d: %s" % (os.path.relpath(self.path, ROOT), node.lineno, what))

    def visit_Try(self, node):
        self.in_try += 1
        for n in node.body:
            self.visit(n)
        self.in_try -= 1
        for n in node.handlers + node.orelse + node.finalbody:
            self.visit(n)

    def visit_Name(self, node):
        # Also inside isinstance(v, (int, float)): the name itself is the NameError.
        if node.id in ("float", "complex") and not self.in_try:
            self.bad(node, "name %r outside try (no floats on the WiPy: NameError)" % node.id)
        if node.id in MISSING_NAMES:
            self.bad(node, "%s is turned off in the WiPy's firmware (WIPY_CFLAGS)" % node.id)

    def visit_Attribute(self, node):
        if node.attr in MISSING_NAMES:
            self.bad(node, "%s is turned off in the WiPy's firmware (WIPY_CFLAGS)" % node.attr)
        self.generic_visit(node)

    def visit_JoinedStr(self, node):
        self.bad(node, "f-string (MICROPY_PY_FSTRINGS is off)")

    def visit_Constant(self, node):
        if isinstance(node.value, float):
            self.bad(node, "float literal (no floats on the WiPy)")

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Div):
            self.bad(node, "true division '/' (no floats on the WiPy): use //")
        self.generic_visit(node)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Attribute) and node.func.attr in MISSING_METHODS:
            self.bad(node, ".%s() is not in the WiPy's core-feature firmware" % node.func.attr)
        self.generic_visit(node)

    def _module(self, node, name):
        if name.split(".")[0] in MISSING_MODULES and not self.in_try:
            self.bad(node, "import %s outside try: the cc3200 port has no such module" % name)

    def visit_Import(self, node):
        for a in node.names:
            self._module(node, a.name)

    def visit_ImportFrom(self, node):
        if node.module and node.level == 0:
            self._module(node, node.module)
        for a in node.names:
            if a.name in MISSING_NAMES:
                self.bad(node, "%s is turned off in the WiPy's firmware (WIPY_CFLAGS)" % a.name)


def main():
    problems = []
    for path in FILES:
        c = Checker(path)
        c.visit(ast.parse(open(path).read(), path))
        problems += c.problems
    for p in problems:
        print(p)
    print("wipy core features: %d files checked, %d problems" % (len(FILES), len(problems)))
    return 1 if problems or len(FILES) < 6 else 0


if __name__ == "__main__":
    sys.exit(main())
