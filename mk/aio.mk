# asyncio builds and the user's install path (issue #21). Included by the
# top Makefile after mk/natmod.mk; uses its UNIX_STOCK_MANIFEST, NATMOD_DIR,
# WIPY_LIB, port_build, firmware-patches.
#
#   make unix-stock   build/unix-stock/micropython: the unix port as its
#                     tree builds it by default (the port's stock frozen
#                     modules: asyncio and mip), WITHOUT the user module
#   make mip-test     the x64 package served over HTTP on loopback, installed
#                     with mip.install() into a fresh lib directory of the
#                     stock interpreter (package.json with absolute URLs, as
#                     `make dist BASE_URL=...` writes it, and with relative
#                     ones), then MIP_EXAMPLE run from there against the local
#                     endpoint (tests/mip/test_mip_install.py)
#                     MIP_DIRS=<dir>[:<dir>]: more mips to try (each a
#                     directory with mip/__init__.py and its manifest.py)
#                     MIP_EXAMPLE=<command>: what runs once installed (default
#                     tools/demo.sh: examples/send_telemetry.py)

UNIX_STOCK_BUILD := $(ROOT)/build/unix-stock
UNIX_STOCK := $(UNIX_STOCK_BUILD)/micropython
MIP_EXAMPLE ?= tools/demo.sh
MIP_DIRS ?=

.PHONY: unix-stock mip-test

unix-stock: $(UNIX_STOCK)
$(UNIX_STOCK): | micropython $(MPY_CROSS)
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j$(JOBS) BUILD=$(UNIX_STOCK_BUILD) \
		FROZEN_MANIFEST=$(strip $(UNIX_STOCK_MANIFEST)) MICROPY_PY_BTREE=0 >/dev/null
	@touch $@

mip-test: $(UNIX_STOCK) $(NATMOD_DIR)/x64/_azure.mpy wipy-lib | deps
	MICROPYTHON=$(UNIX_STOCK) NATMOD=$(NATMOD_DIR) WIPY_LIB=$(WIPY_LIB) MICROPY_DIR=$(MICROPY_DIR) \
		MIP_DIRS="$(MIP_DIRS)" MIP_EXAMPLE="$(MIP_EXAMPLE)" $(PY) -m unittest -v tests/mip/test_mip_install.py

AIO_TESTS := mip-test
