# The WiPy's configuration as shipped, on the closest things this machine
# has (issue #9). Included by the top Makefile after mk/firmware.mk; uses its
# WIPY_* settings and wipy-lib.
#
#   make unix-wipy       build/unix-wipy/micropython: the unix interpreter with
#                        the same _azure, NOTHING frozen; the azure package is
#                        loaded from build/wipy/lib (the .mpy files `make wipy`
#                        builds for the board's /flash/lib), through MICROPYPATH
#   make unix-wipy-test  the end-to-end suite (every client target, renewal,
#                        401, faults), the hostile-server and memory tests and
#                        examples/send_telemetry.py, against unix-wipy
#   make qemu-wipy       build/qemu-wipy/firmware.elf: a Cortex-M4 (MPS2_AN386)
#                        twin of the WiPy's firmware: the same _azure and
#                        options (no re, no help(), no floats), nothing frozen;
#                        the .mpy layer in a ROMFS image mounted at /flash, with
#                        /flash/lib on sys.path; the cc3200's socket, ssl and
#                        time modules played by scripted fakes (tests/qemu-wipy/lib)
#   make qemu-wipy-test  tests/micropython and tests/qemu-wipy on that twin

UNIX_WIPY_BUILD := $(ROOT)/build/unix-wipy
UNIX_WIPY := $(UNIX_WIPY_BUILD)/micropython
WIPY_LIB := $(WIPY_DIR)/lib
# How the board finds the package: /flash/lib is on its sys.path.
UNIX_WIPY_ENV := MICROPYTHON=$(UNIX_WIPY) MICROPYPATH=$(WIPY_LIB)

.PHONY: unix-wipy unix-wipy-test unix-wipy-e2e unix-wipy-hostile unix-wipy-memory unix-wipy-example \
	qemu-wipy qemu-wipy-test example-test

unix-wipy: $(UNIX_WIPY) wipy-lib
$(UNIX_WIPY): $(HOST_LIB) $(GLUE_SRC) include/upy_azure.h $(MPY_CROSS) | micropython
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j$(JOBS) BUILD=$(UNIX_WIPY_BUILD) \
		USER_C_MODULES=$(ROOT) UPY_AZURE_LIB=$(HOST_LIB) FROZEN_MANIFEST= MICROPY_PY_BTREE=0 >/dev/null
	@touch $@

unix-wipy-e2e: unix-wipy | deps
	$(UNIX_WIPY_ENV) $(PY) -m unittest -v tests/e2e/test_send_e2e.py
unix-wipy-hostile: unix-wipy | deps
	$(UNIX_WIPY_ENV) $(PY) -W ignore::ResourceWarning -m unittest -v tests/e2e/test_hostile_client.py
unix-wipy-memory: unix-wipy | deps
	$(UNIX_WIPY_ENV) MEMORY_RESULTS=build/test-results/memory-unix-wipy.json $(PY) tests/memory/run_memory.py
unix-wipy-example: unix-wipy | deps
	$(UNIX_WIPY_ENV) $(PY) -m unittest -v tests/e2e/test_example.py

unix-wipy-test: unix-wipy-e2e unix-wipy-hostile unix-wipy-memory unix-wipy-example

# examples/send_telemetry.py (the demo's flow) on the full unix build.
example-test: $(MICROPYTHON) | deps
	MICROPYTHON=$(MICROPYTHON) $(PY) -m unittest -v tests/e2e/test_example.py
WIPY_TWIN_TESTS := unix-wipy-test
