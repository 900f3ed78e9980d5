# Hardening (issue #6): heap stability and hostile input. Included by the
# top Makefile; uses its ROOT, PY and MICROPYTHON.
#
#   make memory-test        tests/memory: 100,000 tokens, 10,000 framed sends
#                           and 2,000 events over TLS to the local endpoint,
#                           each with a stable heap; tokens, framed sends and
#                           20,000 client sends (fake socket) on a 48 KB heap
#                           (-X heapsize=48k, WiPy-sized). ~15 s.
#                           -> build/test-results/memory.json
#
# The hostile_*.py MicroPython tests live in tests/micropython and run with
# upy-test (unix) and qemu-test (Cortex-M4).

HARDENING_TESTS := memory-test

.PHONY: memory-test

memory-test: $(MICROPYTHON) | deps
	MICROPYTHON=$(MICROPYTHON) $(PY) $(ROOT)/tests/memory/run_memory.py

