# Firmware builds: the WiPy (cc3200 port) and a Cortex-M4 qemu board.
# Included by the top Makefile; uses its ROOT, MICROPY_DIR, PY, CARGO, JOBS,
# MPY_CROSS and the deps/micropython targets.
#
#   make wipy            WiPy firmware with _azure + the stock firmware from the
#                        same source; fails if mcuimg.bin > 196,608 bytes.
#                        -> build/wipy/{mcuimg.bin,firmware.zip,application.map,
#                           footprint.json,lib/azure/*.mpy}, build/wipy-stock/
#   make wipy-footprint  fails if _azure adds more than WIPY_MODULE_BUDGET bytes
#   make panic-free      no Rust panic machinery in the linked firmware
#   make qemu            build/qemu/firmware.elf (MPS2_AN386: Cortex-M4, soft float)
#   make qemu-test       tests/micropython (+ tests/qemu) under qemu-system-arm
#   make wipy-certs      build/wipy/cert/: the Azure root CAs as DER for /flash/cert
#   make firmware-clean  remove the firmware build directories
#
# ARM_CARGO_FLAGS passes extra flags to cargo for experiments, e.g.
#   make wipy ARM_CARGO_FLAGS='--config profile.release.opt-level="z"'

ARM_TARGET := thumbv7em-none-eabi
ARM_CARGO_FLAGS ?=
# What cargo writes, and the copy the ports link (see the recipe below).
ARM_LIB_RAW := $(ROOT)/target/$(ARM_TARGET)/release/libupy_azure.a
ARM_LIB := $(ROOT)/build/arm/libupy_azure.a
ARM_CC ?= arm-none-eabi-gcc
ARM_NM ?= arm-none-eabi-nm
ARM_OBJCOPY ?= arm-none-eabi-objcopy

WIPY_DIR := $(ROOT)/build/wipy
WIPY_STOCK_DIR := $(ROOT)/build/wipy-stock
QEMU_DIR := $(ROOT)/build/qemu
QEMU_BOARD := MPS2_AN386
QEMU_MACHINE := mps2-an386
QEMU_ELF := $(QEMU_DIR)/firmware.elf

# The WiPy runs its firmware from SRAM: bootmgr/flc.h IMG_SIZE (192 * 1024).
WIPY_IMAGE_LIMIT := 196608
# Goal: the module adds at most 5,120 bytes. Not reached (docs/wipy.md,
# "Footprint"): the gate is the size measured with the send path linked
# (17,952 bytes) plus a small margin, so that any growth is noticed. Lower
# it as the module shrinks; the goal stays the target.
WIPY_MODULE_GOAL := 5120
WIPY_MODULE_BUDGET ?= 18432

CC3200_MAKE = $(MAKE) -C $(MICROPY_DIR)/ports/cc3200 -j$(JOBS) \
	BTARGET=application BTYPE=release BOARD=WIPY
QEMU_MAKE = $(MAKE) -C $(MICROPY_DIR)/ports/qemu -j$(JOBS) BOARD=$(QEMU_BOARD)

# Quiet sub-builds: the log is kept, its tail shown on failure.
define run_logged
	@mkdir -p $(dir $(2))
	@echo "  $(1) (log: $(patsubst $(ROOT)/%,%,$(2)))"
	@$(3) >$(2) 2>&1 || { tail -40 $(2); echo "$(1) failed: see $(2)" >&2; exit 1; }
endef

# In this order so that a plain `make test` reports the qemu tests before a
# size failure (make -k test runs all of them regardless).
FIRMWARE_TESTS := qemu-test wipy wipy-footprint panic-free

.PHONY: firmware firmware-patches arm-lib wipy wipy-build wipy-stock wipy-lib wipy-certs \
	wipy-footprint panic-free qemu qemu-test firmware-clean FORCE

firmware: wipy qemu

# ---- MicroPython source: our patches, applied idempotently --------------------

firmware-patches: | deps micropython
	@tools/apply-patches.sh $(MICROPY_DIR)

# ---- The Rust archive for Cortex-M4, soft float -----------------------------------
# `cargo rustc --crate-type staticlib` instead of `cargo build`: with
# crate-type = ["staticlib", "rlib"] in Cargo.toml, Cargo does not apply
# `lto = true` (no -C lto on the rustc command line) and the archive holds
# un-optimised objects of every crate; building the staticlib alone gets LTO.
# cargo runs every time (it is incremental and rewrites nothing when fresh).
$(ARM_LIB_RAW): FORCE | deps
	$(CARGO) rustc --release --locked --target $(ARM_TARGET) --lib --crate-type staticlib $(ARM_CARGO_FLAGS)

# The copy that the ports link:
#  - .ARM.exidx/.ARM.extab removed: nothing unwinds (panic=abort), and the
#    cc3200 linker script would put them in the image;
#  - compiler_builtins' copies of what libgcc also provides made local, so
#    that __aeabi_uldivmod & co. come from the libgcc the port links anyway
#    (C code shares them) instead of a second, Rust copy (~450 bytes);
#  - debug info dropped (not in the image; smaller, faster links).
# The __aeabi_mem* helpers come from micropython-glue/aeabi_shims.c.
ARM_LIBGCC = $(sort $(shell $(ARM_CC) -print-libgcc-file-name) \
	$(shell $(ARM_CC) -mthumb -mcpu=cortex-m4 -mfloat-abi=soft -print-libgcc-file-name))
$(ARM_LIB): $(ARM_LIB_RAW)
	@mkdir -p $(@D)
	@$(ARM_NM) -g --defined-only $(ARM_LIBGCC) 2>/dev/null | awk 'NF == 3 { print $$3 }' | sort -u >$(@D)/libgcc-symbols.txt
	$(ARM_OBJCOPY) --strip-debug -R '.ARM.exidx*' -R '.rel.ARM.exidx*' -R '.ARM.extab*' -R '.rel.ARM.extab*' \
		--localize-symbols=$(@D)/libgcc-symbols.txt $< $@.tmp
	@mv $@.tmp $@

arm-lib: $(ARM_LIB)

# ---- WiPy (cc3200) ---------------------------------------------------------------
# Two builds from the same source, each with its own BUILD directory (qstr
# generation is incremental). The stock one first: both run the port's
# appsign.sh, which writes a temporary file in the port directory.

wipy-stock: firmware-patches
	$(call run_logged,cc3200 WIPY stock,$(WIPY_STOCK_DIR)/build.log,\
		$(CC3200_MAKE) BUILD=$(WIPY_STOCK_DIR)/obj USER_C_MODULES=)
	@cp $(WIPY_STOCK_DIR)/obj/mcuimg.bin $(WIPY_STOCK_DIR)/obj/firmware.zip $(WIPY_STOCK_DIR)/
	@cp $(WIPY_STOCK_DIR)/obj/application.axf.map $(WIPY_STOCK_DIR)/application.map
	@cp $(WIPY_STOCK_DIR)/obj/application.axf $(WIPY_STOCK_DIR)/application.elf

wipy-build: $(ARM_LIB) firmware-patches | wipy-stock
	$(call run_logged,cc3200 WIPY with _azure,$(WIPY_DIR)/build.log,\
		$(CC3200_MAKE) BUILD=$(WIPY_DIR)/obj USER_C_MODULES=$(ROOT) UPY_AZURE_LIB=$(ARM_LIB))
	@cp $(WIPY_DIR)/obj/mcuimg.bin $(WIPY_DIR)/obj/firmware.zip $(WIPY_DIR)/
	@cp $(WIPY_DIR)/obj/application.axf.map $(WIPY_DIR)/application.map
	@cp $(WIPY_DIR)/obj/application.axf $(WIPY_DIR)/application.elf

FOOTPRINT = $(PY) tools/footprint.py \
	--map $(WIPY_DIR)/application.map --elf $(WIPY_DIR)/application.elf --image $(WIPY_DIR)/mcuimg.bin \
	--stock-map $(WIPY_STOCK_DIR)/application.map --stock-elf $(WIPY_STOCK_DIR)/application.elf \
	--stock-image $(WIPY_STOCK_DIR)/mcuimg.bin --archive-name $(notdir $(ARM_LIB)) \
	--heap-start _boot --heap-end _eheap --json $(WIPY_DIR)/footprint.json

# Sizes, heap and breakdown; fails when the image is over the board's limit.
wipy: wipy-build wipy-stock wipy-lib
	@$(FOOTPRINT) --max-image-bytes $(WIPY_IMAGE_LIMIT)

wipy-footprint: wipy-build wipy-stock
	@$(FOOTPRINT) --max-module-bytes $(WIPY_MODULE_BUDGET) >/dev/null
	@$(PY) -c 'import json,sys; d=json.load(open(sys.argv[1])); \
		print("footprint: _azure adds %d bytes to mcuimg.bin (budget %s, goal %s), heap %d -> %d bytes" % \
		(d["module_bytes"], sys.argv[2], sys.argv[3], d["stock_heap_bytes"], d["heap_bytes"]))' \
		$(WIPY_DIR)/footprint.json $(WIPY_MODULE_BUDGET) $(WIPY_MODULE_GOAL)

# The Python layer as bytecode for /flash/lib. The WiPy has no native
# emitter (MICROPY_EMIT_THUMB 0), so plain bytecode: no -march; the default
# 31-bit small ints match the board.
WIPY_PY_SRC := $(wildcard $(ROOT)/micropython-glue/azure/*.py)
WIPY_MPY := $(patsubst $(ROOT)/micropython-glue/azure/%.py,$(WIPY_DIR)/lib/azure/%.mpy,$(WIPY_PY_SRC))
wipy-lib: $(WIPY_MPY)
$(WIPY_DIR)/lib/azure/%.mpy: $(ROOT)/micropython-glue/azure/%.py | $(MPY_CROSS)
	@mkdir -p $(@D)
	$(MPY_CROSS) -o $@ -s azure/$*.py $<

# The CC3200 verifies servers against ONE root CA, a DER file of at most
# 4 KB uploaded as /flash/cert/ca.pem. Azure's TLS roots: DigiCert Global
# Root G2 (current) and Baltimore CyberTrust Root (previous, expired
# 2025-05-12); both from the system's ca-certificates (docs/wipy.md).
WIPY_CA_DIR ?= /usr/share/ca-certificates/mozilla
wipy-certs:
	@mkdir -p $(WIPY_DIR)/cert
	openssl x509 -in $(WIPY_CA_DIR)/DigiCert_Global_Root_G2.crt -outform der -out $(WIPY_DIR)/cert/ca.pem
	@if [ -f $(WIPY_CA_DIR)/Baltimore_CyberTrust_Root.crt ]; then \
		openssl x509 -in $(WIPY_CA_DIR)/Baltimore_CyberTrust_Root.crt -outform der -out $(WIPY_DIR)/cert/baltimore.der; fi
	@for f in $(WIPY_DIR)/cert/*; do n=$$(wc -c <$$f); \
		[ $$n -le 4096 ] || { echo "$$f: $$n bytes, over the CC3200's 4 KB" >&2; exit 1; }; \
		echo "  $${f#$(ROOT)/}: $$n bytes DER"; done

# ---- Panic-free check ----------------------------------------------------------
# Self-test of the checker, the stock firmware as a negative control (no
# false positives), then the firmware with _azure (and the qemu one if built).
panic-free: wipy-build wipy-stock
	@$(PY) tools/check_panic_free.py --self-test >/dev/null || $(PY) tools/check_panic_free.py --self-test
	@$(PY) tools/check_panic_free.py $(WIPY_STOCK_DIR)/application.map --elf $(WIPY_STOCK_DIR)/application.elf >/dev/null
	@$(PY) tools/check_panic_free.py $(WIPY_DIR)/application.map --elf $(WIPY_DIR)/application.elf
	@if [ -f $(QEMU_DIR)/firmware.map ]; then \
		$(PY) tools/check_panic_free.py $(QEMU_DIR)/firmware.map --elf $(QEMU_ELF); fi

# ---- qemu: MPS2_AN386 (Cortex-M4, -mfloat-abi=soft, like the WiPy) ----------------
# The azure package is frozen in, as in the unix build.
qemu: $(ARM_LIB) firmware-patches | $(MPY_CROSS)
	$(call run_logged,qemu $(QEMU_BOARD) with _azure,$(QEMU_DIR)/build.log,\
		$(QEMU_MAKE) BUILD=$(QEMU_DIR)/obj USER_C_MODULES=$(ROOT) UPY_AZURE_LIB=$(ARM_LIB) \
		FROZEN_MANIFEST=$(ROOT)/micropython-glue/manifest.py)
	@cp $(QEMU_DIR)/obj/firmware.elf $(QEMU_ELF)
	@cp $(QEMU_DIR)/obj/firmware.map $(QEMU_DIR)/firmware.map
	@echo "  $(patsubst $(ROOT)/%,%,$(QEMU_ELF)): $$(arm-none-eabi-size $(QEMU_ELF) | awk 'NR==2 {print $$1 " bytes text"}')"

# The module's tests with the same .exp files as on unix; tests that need
# the network or a clock print SKIP (the qemu firmware has no time module).
QEMU_RUN := qemu-system-arm -machine $(QEMU_MACHINE) -nographic -monitor null -semihosting -serial pty -kernel $(QEMU_ELF)
QEMU_TEST_DIRS := $(ROOT)/tests/micropython $(wildcard $(ROOT)/tests/qemu)
qemu-test: qemu
	cd $(MICROPY_DIR)/tests && $(PY) ./run-tests.py -t execpty:"$(QEMU_RUN)" \
		-r $(ROOT)/build/test-results/qemu -d $(QEMU_TEST_DIRS)

firmware-clean:
	rm -rf $(WIPY_DIR) $(WIPY_STOCK_DIR) $(QEMU_DIR) $(ROOT)/build/arm $(ROOT)/build/test-results/qemu

FORCE:
