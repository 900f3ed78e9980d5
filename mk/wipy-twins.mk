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
#                        options (no re, no help(), no floats, 1-byte qstr
#                        hashes), nothing frozen; the .mpy layer in a ROMFS image
#                        that the tests see at /flash/lib, copied into the heap on
#                        import as from the board's FAT (tools/qemu_wipy.py --copy);
#                        the cc3200's socket, ssl and time modules played by
#                        scripted fakes (tests/qemu-wipy/lib)
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
	$(UNIX_WIPY_ENV) $(PY) -m unittest -v tests/e2e/test_send_e2e.py tests/e2e/test_receive_e2e.py tests/e2e/test_token_e2e.py \
		tests/e2e/test_revocation_e2e.py
unix-wipy-hostile: unix-wipy | deps
	$(UNIX_WIPY_ENV) $(PY) -W ignore::ResourceWarning -m unittest -v tests/e2e/test_hostile_client.py
unix-wipy-memory: unix-wipy | deps
	$(UNIX_WIPY_ENV) MEM_SMALL_HEAP=72k MEMORY_RESULTS=build/test-results/memory-unix-wipy.json $(PY) tests/memory/run_memory.py
unix-wipy-example: unix-wipy | deps
	$(UNIX_WIPY_ENV) $(PY) -m unittest -v tests/e2e/test_example.py

unix-wipy-test: unix-wipy-e2e unix-wipy-hostile unix-wipy-memory unix-wipy-example

# examples/send_telemetry.py (the demo's flow) on the full unix build.
example-test: $(MICROPYTHON) | deps
	MICROPYTHON=$(MICROPYTHON) $(PY) -m unittest -v tests/e2e/test_example.py
WIPY_TWIN_TESTS := unix-wipy-test

QEMU_WIPY_DIR := $(ROOT)/build/qemu-wipy
QEMU_WIPY_ELF := $(QEMU_WIPY_DIR)/firmware.elf
QEMU_WIPY_ROMFS := $(QEMU_WIPY_DIR)/flash.romfs
QEMU_WIPY_FAKES := $(wildcard $(ROOT)/tests/qemu-wipy/lib/*.py)
QEMU_WIPY_TOOL = $(PY) $(ROOT)/tools/qemu_wipy.py

qemu-wipy: $(ARM_LIB) firmware-patches wipy-lib | $(MPY_CROSS)
	$(call port_build,qemu $(QEMU_BOARD) WiPy twin,$(QEMU_WIPY_DIR),$(MICROPY_DIR) $(WIPY_TWIN_CFLAGS),\
		$(QEMU_MAKE) BUILD=$(QEMU_WIPY_DIR)/obj USER_C_MODULES=$(ROOT) UPY_AZURE_LIB=$(ARM_LIB) \
		FROZEN_MANIFEST= CFLAGS_EXTRA="$(WIPY_TWIN_CFLAGS)",\
		obj/firmware.elf:firmware.elf obj/firmware.map:firmware.map)
	@$(QEMU_WIPY_TOOL) romfs $(QEMU_WIPY_ROMFS) --lib $(WIPY_LIB) --fakes $(ROOT)/tests/qemu-wipy/lib $(foreach f,$(wildcard $(ROOT)/tests/lib/*.py),--add $(f)) \
		--add $(ROOT)/examples/send_telemetry.py --micropy-dir $(MICROPY_DIR)

# The module's tests and the clients (through the cc3200-style scripted
# socket) on the float-less twin, the package loaded from /flash/lib into
# the heap, as on the board.
qemu-wipy-test: qemu-wipy | deps
	$(QEMU_WIPY_TOOL) test --copy --elf $(QEMU_WIPY_ELF) --romfs $(QEMU_WIPY_ROMFS) --micropy-dir $(MICROPY_DIR) \
		--results $(ROOT)/build/test-results/qemu-wipy $(ROOT)/tests/micropython $(ROOT)/tests/qemu-wipy

WIPY_TWIN_TESTS += qemu-wipy-test
