# upy-azure: every build, test, demo and benchmark entry point.
#   make demo    build the unix interpreter and run the demo
#   make test    everything CI checks
# MICROPY_DIR=/path/to/micropython-v1.25.0 builds against your own clone
# instead of the Debian source package fetched into build/micropython.

SHELL := /bin/bash
ROOT := $(CURDIR)
MICROPY_DIR ?= $(ROOT)/build/micropython
MICROPY_DIR := $(abspath $(MICROPY_DIR))
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
CARGO ?= cargo
CBINDGEN ?= $(shell command -v cbindgen 2>/dev/null || echo $(HOME)/.cargo/bin/cbindgen)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

UNIX_BUILD := $(ROOT)/build/unix
MICROPYTHON := $(UNIX_BUILD)/micropython
HOST_LIB := $(ROOT)/target/release/libupy_azure.a
RUST_SRC := Cargo.toml Cargo.lock $(wildcard src/*.rs src/*/*.rs)
GLUE_SRC := $(wildcard micropython-glue/*.c micropython-glue/*.h micropython-glue/*.mk micropython-glue/azure/*.py) micropython-glue/manifest.py

.PHONY: all deps micropython lib unix header check-header rust-test lint upy-test stubs-test oracle-test stubs-test wipy-compat-test endpoint-test e2e-test test demo demo-seed device-tokens clean

all: unix

# ---- Setup -----------------------------------------------------------------

deps: $(ROOT)/build/.deps-ok
$(ROOT)/build/.deps-ok: tools/deps.sh tools/requirements.txt
	tools/deps.sh
	@mkdir -p $(@D) && touch $@

micropython: $(MICROPY_DIR)/py/mpconfig.h
$(MICROPY_DIR)/py/mpconfig.h:
	@if [ "$(MICROPY_DIR)" != "$(ROOT)/build/micropython" ]; then \
		echo "MICROPY_DIR=$(MICROPY_DIR) has no MicroPython source tree" >&2; exit 1; fi
	tools/fetch-micropython.sh $(MICROPY_DIR)

# ---- Rust library ------------------------------------------------------------

lib: $(HOST_LIB)
$(HOST_LIB): $(RUST_SRC) | deps
	$(CARGO) build --release --locked

header: | deps
	$(CBINDGEN) --config cbindgen.toml --crate upy-azure --output include/upy_azure.h -q

check-header: | deps
	@$(CBINDGEN) --config cbindgen.toml --crate upy-azure --output build/upy_azure.h.fresh -q
	@diff -u include/upy_azure.h build/upy_azure.h.fresh || \
		{ echo "include/upy_azure.h is stale: run 'make header' and commit it" >&2; exit 1; }
	@echo "header: include/upy_azure.h matches cbindgen"

# ---- MicroPython unix port -----------------------------------------------------

MPY_CROSS := $(MICROPY_DIR)/mpy-cross/build/mpy-cross
$(MPY_CROSS): | micropython deps
	$(MAKE) -C $(MICROPY_DIR)/mpy-cross -j$(JOBS) >/dev/null

# The full build freezes what a stock unix build of this MicroPython tree
# freezes (asyncio, mip, ...) and the azure package. Upstream's standard
# variant manifest needs micropython-lib (mip-cmdline, ssl); the Debian source
# carries only mip 0.3.0 and requests, and Debian's own build freezes
# debian/config/manifest.py (asyncio and mip) instead: that one, then.
# (Recursive: evaluated once the tree is there.)
UNIX_STOCK_MANIFEST = $(if $(wildcard $(MICROPY_DIR)/lib/micropython-lib/micropython/mip-cmdline/manifest.py),\
	$(MICROPY_DIR)/ports/unix/variants/standard/manifest.py,\
	$(firstword $(wildcard $(MICROPY_DIR)/debian/config/manifest.py) $(MICROPY_DIR)/extmod/asyncio/manifest.py))
# A manifest snippet (not a file name): makemanifest.py runs it.
# (The port's recipe passes it to the shell unquoted: it carries its quotes.)
UNIX_FULL_MANIFEST = '"include(\"$(strip $(UNIX_STOCK_MANIFEST))\"); include(\"$(ROOT)/micropython-glue/manifest.py\")"'

unix: $(MICROPYTHON)
$(MICROPYTHON): $(HOST_LIB) $(GLUE_SRC) include/upy_azure.h $(MPY_CROSS) | micropython
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j$(JOBS) BUILD=$(UNIX_BUILD) \
		USER_C_MODULES=$(ROOT) UPY_AZURE_LIB=$(HOST_LIB) \
		FROZEN_MANIFEST=$(UNIX_FULL_MANIFEST) MICROPY_PY_BTREE=0
	@touch $@

# ---- Tests -------------------------------------------------------------------

rust-test: | deps
	$(CARGO) test --release --locked

lint: | deps
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

# MicroPython-level tests through MicroPython's own runner.
# tests/lib holds the test harnesses the test files import (on the qemu
# twins they are in /flash/lib); .frozen keeps the frozen azure package.
TEST_LIB := $(ROOT)/tests/lib
upy-test: $(MICROPYTHON)
	cd $(MICROPY_DIR)/tests && MICROPY_MICROPYTHON=$(MICROPYTHON) MICROPYPATH=$(TEST_LIB):.frozen $(PY) ./run-tests.py --keep-path \
		-r $(ROOT)/build/test-results/unix -d $(ROOT)/tests/micropython

# Generated cases compared byte for byte with the official Azure SDKs.
oracle-test: $(MICROPYTHON)
	$(PY) tests/oracle/test_sas_oracle.py --micropython $(MICROPYTHON) --cases 1200
	$(PY) tests/oracle/test_dps_oracle.py --micropython $(MICROPYTHON) --cases 1000
	$(PY) tests/oracle/test_device_tokens.py --micropython $(MICROPYTHON)
	$(PY) tests/oracle/generated_exp.py --check

# Firmware for the WiPy (cc3200) and the Cortex-M4 qemu board: targets
# wipy, qemu, and FIRMWARE_TESTS (footprint, panic-free, qemu tests).
-include mk/firmware.mk
# make fuzz / fuzz-smoke (cargo-fuzz, nightly): see docs/fuzzing.md
-include mk/fuzz.mk
# make bench: bench/results.json and bench/RESULTS.md
-include mk/bench.mk
# Hostile input and memory stability (HARDENING_TESTS)
-include mk/hardening.mk
# The WiPy's configuration as shipped: unix-wipy and the qemu-wipy twin (WIPY_TWIN_TESTS)
-include mk/wipy-twins.mk
# Store and forward, azure.Outbox (OUTBOX_TESTS; outbox-crash: 1,000 kills)
-include mk/outbox.mk
# _azure as a dynamic native module per architecture: natmod, natmod-test, dist (NATMOD_TESTS)
-include mk/natmod.mk
# asyncio: unix-stock, mip-test (the user's install path), qemu-aio (AIO_TESTS)
-include mk/aio.mk
# IoT Hub over MQTT end to end: mqtt-e2e, unix-wipy-mqtt (MQTT_TESTS)
-include mk/mqtt.mk
# make mutants: cargo-mutants over the Rust crate (docs/mutants.md); not part of make test
-include mk/mutants.mk

# The editor stubs (stubs/*.pyi) list exactly what the module has.
stubs-test: $(MICROPYTHON)
	$(PY) tests/stubs/test_stubs.py $(MICROPYTHON)

# The Python layer and examples use nothing the WiPy's firmware lacks.
wipy-compat-test: | deps
	$(PY) tests/wipy/test_core_features.py

# The local endpoint's own tests (its SAS checks against the SDKs' tokens;
# DPS, cloud-to-device, Service Bus receive and IoT Hub over MQTT, the last
# checked with azure-iot-device itself, in tools/test_endpoint_*.py).
endpoint-test: | deps
	$(PY) -m unittest tools/test_azure_endpoint.py $(wildcard tools/test_endpoint_*.py)

# MicroPython -> TLS -> local endpoint -> SQLite, with fault injection.
e2e-test: $(MICROPYTHON)
	MICROPYTHON=$(MICROPYTHON) $(PY) -m unittest -v tests/e2e/test_send_e2e.py tests/e2e/test_receive_e2e.py tests/e2e/test_token_e2e.py \
		tests/e2e/test_revocation_e2e.py

test: lint rust-test check-header upy-test stubs-test wipy-compat-test oracle-test endpoint-test e2e-test example-test $(HARDENING_TESTS) $(OUTBOX_TESTS) $(FIRMWARE_TESTS) $(WIPY_TWIN_TESTS) $(NATMOD_TESTS) $(AIO_TESTS) $(MQTT_TESTS)
	@echo "make test: all passed"

# ---- Demo ----------------------------------------------------------------------

# The main job: examples/send_telemetry.py to the local endpoint over TLS.
demo: $(MICROPYTHON)
	MICROPYTHON=$(MICROPYTHON) PY=$(PY) tools/demo.sh

# The post's credential model: tokens made on the host for three devices
# (tools/device_tokens.py), all three send with a token and no key, one is
# revoked (endpoint CLI) and refused while the other two go on, then restored.
demo-seed: $(MICROPYTHON)
	MICROPYTHON=$(MICROPYTHON) PY=$(PY) tools/demo_seed.sh

# Connection string -> per-device token, printed with its expiry.
demo-token: $(MICROPYTHON)
	$(MICROPYTHON) examples/device_token.py

# Per-device connection strings (tokens, no key) from the owner's connection
# string, signed by the crate's signer (tools/device_tokens.py; --help there):
#   make device-tokens CONN='Endpoint=sb://...;SharedAccessKeyName=..;SharedAccessKey=..;EntityPath=hub' \
#        DEVICES='wipy-01 wipy-02' DAYS=365        (or HOURS=N, EXPIRY=UNIX; ENTITY=, JSON=1)
# DEVICES are Event Hubs publishers, or IoT Hub device ids for a HostName= string;
# without DEVICES: one Service Bus entity token. CONN reaches the tool through
# the environment, not its command line (CONN may be left out when
# AZURE_CONNECTION_STRING is set).
device-tokens: $(MICROPYTHON)
	@test -n "$${CONN:-$$AZURE_CONNECTION_STRING}" || { echo "make device-tokens: set CONN='<the owner's connection string>' (or AZURE_CONNECTION_STRING)" >&2; exit 2; }
	@AZURE_CONNECTION_STRING="$${CONN:-$$AZURE_CONNECTION_STRING}" $(MICROPYTHON) tools/device_tokens.py \
		$(if $(EXPIRY),--expiry $(EXPIRY),$(if $(HOURS),--hours $(HOURS),--days $(or $(DAYS),365))) \
		$(if $(ENTITY),--entity $(ENTITY)) $(if $(JSON),--json) \
		$(if $(DEVICES),$(if $(findstring HostName=,$(or $(CONN),$(AZURE_CONNECTION_STRING))),--device,--publisher) $(DEVICES))

clean:
	rm -rf build/unix build/test-results target
