# asyncio builds and the user's install path (issue #21). Included by the
# top Makefile after mk/natmod.mk; uses its UNIX_STOCK_MANIFEST, NATMOD_DIR,
# WIPY_LIB, port_build, firmware-patches.
#
#   make aio-e2e      azure.aio's HTTPS clients over TLS to the local endpoint
#                     with a 10 ms ticker beside them (tests/e2e/test_aio_e2e.py)
#   make unix-stock   build/unix-stock/micropython: the unix port as its
#                     tree builds it by default (the port's stock frozen
#                     modules: asyncio and mip), WITHOUT the user module
#   make mip-test     the x64 package served over HTTP on loopback, installed
#                     with mip.install() into a fresh lib directory of the
#                     stock interpreter (package.json with absolute URLs, as
#                     `make dist BASE_URL=...` writes it, and with relative
#                     ones), then MIP_EXAMPLE, examples/send_telemetry.py
#                     (tools/demo.sh) and the asyncio clients' end-to-end
#                     flows run from there against the local endpoint
#                     (tests/mip/test_mip_install.py)
#                     Two mips: the one the stock interpreter freezes
#                     (Debian's tree: 0.3.0) and MicroPython 1.25's own
#                     (0.4.1, kept in tests/mip/mip-0.4.1: the Debian tree
#                     lacks it and CI has no network to fetch it)
#                     MIP_DIRS=<dir>[:<dir>]: the mips tried beside the frozen
#                     one (each a directory with mip/__init__.py and its
#                     manifest.py; default tests/mip/mip-0.4.1)
#                     MIP_EXAMPLE=<command>: what runs once installed (default
#                     tests/e2e/test_aio_example.py: examples/aio_device.py
#                     end to end over MQTT, issue #21 item 8)

UNIX_STOCK_BUILD := $(ROOT)/build/unix-stock
UNIX_STOCK := $(UNIX_STOCK_BUILD)/micropython
MIP_EXAMPLE ?=
MIP_DIRS ?= $(ROOT)/tests/mip/mip-0.4.1

.PHONY: unix-stock mip-test aio-e2e

unix-stock: $(UNIX_STOCK)
$(UNIX_STOCK): | micropython $(MPY_CROSS)
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j$(JOBS) BUILD=$(UNIX_STOCK_BUILD) \
		FROZEN_MANIFEST=$(strip $(UNIX_STOCK_MANIFEST)) MICROPY_PY_BTREE=0 >/dev/null
	@touch $@

# azure.aio's HTTPS clients end to end: the full unix build over TLS to the
# local endpoint, a 10 ms ticker beside them (tests/e2e/test_aio_e2e.py).
aio-e2e: $(MICROPYTHON) | deps
	MICROPYTHON=$(MICROPYTHON) $(PY) -m unittest -v tests/e2e/test_aio_e2e.py

mip-test: $(UNIX_STOCK) $(NATMOD_DIR)/x64/_azure.mpy wipy-lib | deps
	MICROPYTHON=$(UNIX_STOCK) NATMOD=$(NATMOD_DIR) WIPY_LIB=$(WIPY_LIB) MICROPY_DIR=$(MICROPY_DIR) \
		MIP_DIRS="$(MIP_DIRS)" MIP_EXAMPLE="$(MIP_EXAMPLE)" $(PY) -m unittest -v tests/mip/test_mip_install.py

AIO_TESTS := aio-e2e mip-test

# ---- An armv6m qemu board with asyncio (issue #21) ---------------------------
#   make qemu-aio       build/qemu-aio/firmware.elf: the qemu port's MICROBIT
#                       board (Cortex-M0, armv6m like the Pico W's M0+), 256 KB
#                       of RAM and a 140 KB heap, built with time, select and
#                       asyncio (patch 0007; asyncio frozen, as on a Pico W)
#                       and the native emitter (to load .mpy machine code),
#                       WITHOUT _azure: the board loads build/natmod/armv6m/
#                       _azure.mpy and the package's .mpy from its flash into
#                       the heap (a ROMFS image in the board's flash, read
#                       through plain streams: tools/qemu_wipy.py --copy)
#   make qemu-aio-test  tests/qemu-aio, tests/micropython/aio_http.py and
#                       mqtt_aio.py there (asyncio with a 10 ms ticker; the
#                       async HTTPS and MQTT clients over scripted streams).
#                       mqtt_aio.py runs the package in place from the flash
#                       (no --copy): its scripted broker keeps every message
#                       and, with the package copied in too, fragments the
#                       140 KB heap until a 1 KB write buffer fails
#   make qemu-aio-heap  what the package holds in that heap once sending,
#                       blocking and azure.aio (bench/aio_heap.py)
# The WiPy's builds and twin are untouched (their options are WIPY_CFLAGS).
QEMU_AIO_BOARD := MICROBIT
QEMU_AIO_DIR := $(ROOT)/build/qemu-aio
QEMU_AIO_ELF := $(QEMU_AIO_DIR)/firmware.elf
QEMU_AIO_ROMFS := $(QEMU_AIO_DIR)/flash.romfs
QEMU_AIO_CFLAGS := -DMICROPY_PY_TIME=1 -DMICROPY_PY_SELECT=1 -DMICROPY_PY_ASYNCIO=1 \
	-DMICROPY_EMIT_THUMB=1 -DMICROPY_EMIT_THUMB_ARMV7M=0
QEMU_AIO_TOOL = $(PY) $(ROOT)/tools/qemu_wipy.py

.PHONY: qemu-aio qemu-aio-test qemu-aio-heap

qemu-aio: firmware-patches $(NATMOD_DIR)/armv6m/_azure.mpy wipy-lib | $(MPY_CROSS)
	$(call port_build,qemu $(QEMU_AIO_BOARD) with asyncio,$(QEMU_AIO_DIR),$(MICROPY_DIR) $(QEMU_AIO_CFLAGS),\
		$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j$(JOBS) BOARD=$(QEMU_AIO_BOARD) BUILD=$(QEMU_AIO_DIR)/obj \
		FROZEN_MANIFEST=$(ROOT)/mk/qemu-aio-manifest.py CFLAGS_EXTRA="$(QEMU_AIO_CFLAGS)",\
		obj/firmware.elf:firmware.elf obj/firmware.map:firmware.map)
	@$(QEMU_AIO_TOOL) romfs $(QEMU_AIO_ROMFS) --lib $(WIPY_LIB) --fakes $(ROOT)/tests/lib \
		--add $(NATMOD_DIR)/armv6m/_azure.mpy --add $(ROOT)/tests/qemu-wipy/lib/socket.py --add $(ROOT)/tests/qemu-wipy/lib/ssl.py \
		--micropy-dir $(MICROPY_DIR) --compile-fakes

qemu-aio-test: qemu-aio | deps
	$(QEMU_AIO_TOOL) test --copy --board $(QEMU_AIO_BOARD) --elf $(QEMU_AIO_ELF) --romfs $(QEMU_AIO_ROMFS) \
		--micropy-dir $(MICROPY_DIR) --results $(ROOT)/build/test-results/qemu-aio $(ROOT)/tests/qemu-aio \
		$(ROOT)/tests/micropython/aio_http.py
	$(QEMU_AIO_TOOL) test --board $(QEMU_AIO_BOARD) --elf $(QEMU_AIO_ELF) --romfs $(QEMU_AIO_ROMFS) \
		--micropy-dir $(MICROPY_DIR) --results $(ROOT)/build/test-results/qemu-aio-mqtt $(ROOT)/tests/micropython/mqtt_aio.py

qemu-aio-heap: qemu-aio | deps
	$(PY) bench/aio_report.py --heap-only --elf $(QEMU_AIO_ELF) --romfs $(QEMU_AIO_ROMFS) --micropy-dir $(MICROPY_DIR)

AIO_TESTS += qemu-aio-test
