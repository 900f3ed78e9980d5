# Hardening (issue #6): heap stability and hostile input. Included by the
# top Makefile; uses its ROOT, PY and MICROPYTHON.
#
#   make memory-test        tests/memory: 100,000 tokens, 10,000 framed sends
#                           and 2,000 events over TLS to the local endpoint,
#                           each with a stable heap; tokens, framed sends and
#                           20,000 client sends (fake socket) on a 48 KB heap
#                           (-X heapsize=48k, WiPy-sized). ~15 s.
#                           -> build/test-results/memory.json
#   make hostile-e2e-test   tests/e2e/test_hostile_client.py: odd but legal values
#                           stored exactly by the local endpoint, 401s and other
#                           failures with the key in no message, and a hostile
#                           server (endless lines, MBs of headers, garbage,
#                           stalls) against a 256 KB heap. ~20 s.
#
# The hostile_*.py MicroPython tests live in tests/micropython and run with
# upy-test (unix) and qemu-test (Cortex-M4).

HARDENING_TESTS := memory-test hostile-e2e-test

.PHONY: memory-test hostile-e2e-test

memory-test: $(MICROPYTHON) | deps
	MICROPYTHON=$(MICROPYTHON) $(PY) $(ROOT)/tests/memory/run_memory.py

hostile-e2e-test: $(MICROPYTHON) | deps
	MICROPYTHON=$(MICROPYTHON) $(PY) -W ignore::ResourceWarning -m unittest -v tests/e2e/test_hostile_client.py
