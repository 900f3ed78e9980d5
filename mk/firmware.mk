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
# Experiments without touching Cargo.toml: ARM_OPT_LEVEL (the crate; with
# LTO this is the level of the final code generation) and ARM_DEPS_OPT_LEVEL
# (the dependencies) override profile.release for the firmware archives:
#   make wipy ARM_OPT_LEVEL=z ARM_DEPS_OPT_LEVEL=s
# ARM_CARGO_FLAGS passes anything else to cargo.

ARM_TARGET := thumbv7em-none-eabi
ARM_CARGO_FLAGS ?=
# The crate at "z" and its dependency (sha2) at "s": 416 bytes smaller in
# the WiPy's image than Cargo.toml's "s" for both (measured at the
# one-send-path commit); the host build keeps "s".
ARM_OPT_LEVEL ?= z
ARM_DEPS_OPT_LEVEL ?= s
# (used inside a single-quoted `sh -c`: double quotes only)
arm_opt = $(if $(filter s z,$(1)),\"$(1)\",$(1))
ARM_PROFILE_FLAGS = $(if $(ARM_OPT_LEVEL),--config "profile.release.opt-level=$(call arm_opt,$(ARM_OPT_LEVEL))") \
	$(if $(ARM_DEPS_OPT_LEVEL),--config "profile.release.package.\"*\".opt-level=$(call arm_opt,$(ARM_DEPS_OPT_LEVEL))")
# A target directory of its own: other work building for thumbv7em in
# target/ cannot swap the archive under the firmware build.
ARM_TARGET_DIR := $(ROOT)/target/firmware
ARM_LIB_RAW := $(ARM_TARGET_DIR)/$(ARM_TARGET)/release/libupy_azure.a
# The copy the ports link (see the recipe below). Every Cortex-M4 firmware
# (the WiPy, the qemu boards) links the same archive and the same glue:
# `_azure` is one module, with no options.
ARM_LIB := $(ROOT)/build/arm/libupy_azure.a
ARM_CC ?= arm-none-eabi-gcc
ARM_NM ?= arm-none-eabi-nm
ARM_OBJCOPY ?= arm-none-eabi-objcopy

# ---- The WiPy's firmware options: the one place that `make wipy`, its qemu
# twin (`make qemu-wipy`) and the heap benchmark share. `_azure` is the same
# everywhere; what is particular to the WiPy is the firmware around it:
#  - no `re` module (-2,472 bytes) and no help() text at the REPL (-424):
#    the image limit leaves no room for the native signer and framer next
#    to every stock feature (README, "Does it fit?"); a telemetry device
#    uses neither;
#  - no floats (the cc3200 port's own setting; the twin sets it too);
#  - qstrs with 1-byte hashes (the cc3200's core-features level; the qemu
#    port's extra-features level would use 2, and every name a loaded
#    .mpy interns would cost the twin's heap a byte more than the board's);
#  - no `select`, `frozenset`, `execfile()`, `OrderedDict` or
#    `str.splitlines` (patch 0008): room for the MQTT codec; a telemetry
#    device uses none of them (the package polls with socket timeouts on
#    the WiPy; tests/wipy/test_core_features.py refuses them in the Python
#    layer and the examples); firmware-patches/README.md has each one's bytes;
#  - the Python layer as .mpy files in /flash/lib, nothing frozen.
WIPY_CFLAGS := -DMICROPY_PY_RE=0 -DMICROPY_PY_BUILTINS_HELP=0 \
	-DMICROPY_PY_SELECT=0 -DMICROPY_PY_BUILTINS_FROZENSET=0 -DMICROPY_PY_BUILTINS_EXECFILE=0 \
	-DMICROPY_PY_COLLECTIONS_ORDEREDDICT=0 -DMICROPY_PY_BUILTINS_STR_SPLITLINES=0
WIPY_TWIN_CFLAGS := $(WIPY_CFLAGS) -DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_NONE -DMICROPY_QSTR_BYTES_IN_HASH=1

WIPY_DIR := $(ROOT)/build/wipy
WIPY_STOCK_DIR := $(ROOT)/build/wipy-stock
# The image the WiPy gets is linked with link-time optimisation of the code
# that runs in the MicroPython task (patch 0009; firmware-patches/README.md:
# what is left out and why, the bytes saved). Its map no longer says which
# object each byte comes from, so the footprint's breakdown (and the module
# budget) is measured on the same firmware built without LTO, in
# WIPY_ANALYSED_DIR. WIPY_LTO=0 ships that one.
WIPY_LTO ?= 1
# Part of the WiPy builds' configuration: a changed cc3200 patch (0009 says
# which files LTO compiles) means a fresh BUILD directory.
WIPY_PATCHES_SUM := $(shell cat $(ROOT)/firmware-patches/*cc3200*.patch 2>/dev/null | md5sum | cut -c1-12)
WIPY_ANALYSED_DIR := $(if $(filter 1,$(WIPY_LTO)),$(ROOT)/build/wipy-nolto,$(WIPY_DIR))
QEMU_DIR := $(ROOT)/build/qemu
QEMU_BOARD := MPS2_AN386
QEMU_MACHINE := mps2-an386
QEMU_ELF := $(QEMU_DIR)/firmware.elf

# The WiPy runs its firmware from SRAM: bootmgr/flc.h IMG_SIZE (192 * 1024).
WIPY_IMAGE_LIMIT := 196608
# What _azure may add to mcuimg.bin (the module's own bytes, measured
# without LTO; the features the WiPy's options turn off are counted apart):
# 11,088 at the one-send-path commit; 14,618 with the MQTT codec (issue
# #19: the codec is 5,232 of the image's bytes, firmware-patches/README.md).
# A guard against growth, not a target.
WIPY_MODULE_GOAL := 14848
WIPY_MODULE_BUDGET ?= $(WIPY_MODULE_GOAL)

CC3200_MAKE = $(MAKE) -C $(MICROPY_DIR)/ports/cc3200 -j$(JOBS) \
	BTARGET=application BTYPE=release BOARD=WIPY
QEMU_MAKE = $(MAKE) -C $(MICROPY_DIR)/ports/qemu -j$(JOBS) BOARD=$(QEMU_BOARD)

# One port build: $(1) label, $(2) output directory (BUILD is $(2)/obj),
# $(3) configuration text, $(4) the port's make command, $(5) files to
# publish as `src:dst` pairs relative to $(2).
#  - BUILD is reused only for the same configuration (MicroPython source,
#    module options): qstr generation is incremental and would keep stale
#    entries across configurations;
#  - quiet: the log is kept, its tail shown on failure;
#  - under a lock (flock), and the outputs are published by rename, so that
#    two `make` runs in one checkout do not interleave in one BUILD directory
#    or read half-copied files.
define port_build
	@mkdir -p $(2)
	@echo "  $(1) (log: $(patsubst $(ROOT)/%,%,$(2))/build.log)"
	@flock $(2)/.upy-azure.lock $(SHELL) -c ' \
		if [ "$$(cat $(2)/obj/.upy-azure-config 2>/dev/null)" != "$(strip $(3))" ]; then \
			rm -rf $(2)/obj; mkdir -p $(2)/obj; echo "$(strip $(3))" >$(2)/obj/.upy-azure-config; fi; \
		$(4) >$(2)/build.log 2>&1 || { tail -40 $(2)/build.log; echo "$(1) failed: see $(2)/build.log" >&2; exit 1; }; \
		for p in $(5); do cp $(2)/$${p%%:*} $(2)/$${p#*:}.tmp$$$$ && mv $(2)/$${p#*:}.tmp$$$$ $(2)/$${p#*:} || exit 1; done'
endef

CC3200_OUTPUTS := obj/mcuimg.bin:mcuimg.bin obj/firmware.zip:firmware.zip \
	obj/application.axf.map:application.map obj/application.axf:application.elf

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
#
# The copy that the ports link is post-processed:
#  - .ARM.exidx/.ARM.extab removed: nothing unwinds (panic=abort);
#  - compiler_builtins' copies of what libgcc also provides made local, so
#    that __aeabi_uldivmod & co. come from the libgcc the port links anyway
#    (shared with the C code) instead of a second, Rust copy;
#  - debug info dropped (not in the image; smaller, faster links).
# The __aeabi_mem* helpers come from micropython-glue/aeabi_shims.c.
#
# cargo runs every time (it is incremental). Both configurations share one
# target directory, so building and copying run under a lock (flock), also
# against another `make` in the same checkout. The copy is replaced only
# when its content changes, so the ports relink only then.
ARM_LIBGCC = $(sort $(shell $(ARM_CC) -print-libgcc-file-name) \
	$(shell $(ARM_CC) -mthumb -mcpu=cortex-m4 -mfloat-abi=soft -print-libgcc-file-name))
define arm_lib_recipe
	@mkdir -p $(@D) $(ARM_TARGET_DIR)
	@$(ARM_NM) -g --defined-only $(ARM_LIBGCC) 2>/dev/null | awk 'NF == 3 { print $$3 }' | sort -u >$(@D)/libgcc-symbols.txt
	@echo "  cargo rustc --target $(ARM_TARGET) --crate-type staticlib $(strip $(1) $(ARM_PROFILE_FLAGS) $(ARM_CARGO_FLAGS))"
	@flock $(ARM_TARGET_DIR)/.upy-azure.lock $(SHELL) -ec ' \
		$(CARGO) rustc --quiet --release --locked --target $(ARM_TARGET) --target-dir $(ARM_TARGET_DIR) \
			--lib --crate-type staticlib $(1) $(ARM_PROFILE_FLAGS) $(ARM_CARGO_FLAGS); \
		$(ARM_OBJCOPY) --strip-debug -R ".ARM.exidx*" -R ".rel.ARM.exidx*" -R ".ARM.extab*" -R ".rel.ARM.extab*" \
			--localize-symbols=$(@D)/libgcc-symbols.txt $(ARM_LIB_RAW) $@.tmp$$$$; \
		if cmp -s $@.tmp$$$$ $@; then rm $@.tmp$$$$; \
		else mv $@.tmp$$$$ $@; echo "  $(patsubst $(ROOT)/%,%,$@) updated"; fi'
endef

$(ARM_LIB): FORCE | deps
	$(call arm_lib_recipe,)

arm-lib: $(ARM_LIB)

# ---- WiPy (cc3200) ---------------------------------------------------------------
# Two builds from the same source, each with its own BUILD directory (qstr
# generation is incremental). The stock one first (patch 0003 makes the
# port's appsign.sh safe for parallel builds, but two cc3200 builds on two
# cores gain nothing). The WiPy gets the whole _azure, as every board, and
# the WiPy's firmware options (WIPY_CFLAGS).

wipy-stock: firmware-patches
	$(call port_build,cc3200 WIPY stock,$(WIPY_STOCK_DIR),$(MICROPY_DIR) stock,\
		$(CC3200_MAKE) BUILD=$(WIPY_STOCK_DIR)/obj USER_C_MODULES=,$(CC3200_OUTPUTS))

wipy-build: $(ARM_LIB) firmware-patches | wipy-stock
	$(call port_build,cc3200 WIPY with _azure,$(WIPY_DIR),$(MICROPY_DIR) $(WIPY_CFLAGS) LTO=$(WIPY_LTO) $(WIPY_PATCHES_SUM),\
		$(CC3200_MAKE) BUILD=$(WIPY_DIR)/obj USER_C_MODULES=$(ROOT) UPY_AZURE_LIB=$(ARM_LIB) \
		CFLAGS_EXTRA="$(WIPY_CFLAGS)" LTO=$(WIPY_LTO),$(CC3200_OUTPUTS))
ifeq ($(WIPY_LTO),1)
	$(call port_build,cc3200 WIPY with _azure without LTO (footprint breakdown),$(WIPY_ANALYSED_DIR),$(MICROPY_DIR) $(WIPY_CFLAGS) $(WIPY_PATCHES_SUM),\
		$(CC3200_MAKE) BUILD=$(WIPY_ANALYSED_DIR)/obj USER_C_MODULES=$(ROOT) UPY_AZURE_LIB=$(ARM_LIB) \
		CFLAGS_EXTRA="$(WIPY_CFLAGS)",$(CC3200_OUTPUTS))
endif

FOOTPRINT = $(PY) tools/footprint.py \
	--map $(WIPY_ANALYSED_DIR)/application.map --elf $(WIPY_ANALYSED_DIR)/application.elf \
	--image $(WIPY_ANALYSED_DIR)/mcuimg.bin \
	--shipped-map $(WIPY_DIR)/application.map --shipped-elf $(WIPY_DIR)/application.elf \
	--shipped-image $(WIPY_DIR)/mcuimg.bin \
	--stock-map $(WIPY_STOCK_DIR)/application.map --stock-elf $(WIPY_STOCK_DIR)/application.elf \
	--stock-image $(WIPY_STOCK_DIR)/mcuimg.bin --archive-name $(notdir $(ARM_LIB)) \
	--heap-start _boot --heap-end _eheap --json $(WIPY_DIR)/footprint.json

# Sizes, heap and breakdown; fails when the image is over the board's limit.
wipy: wipy-build wipy-stock wipy-lib
	@$(FOOTPRINT) --max-image-bytes $(WIPY_IMAGE_LIMIT)

wipy-footprint: wipy-build wipy-stock
	@$(FOOTPRINT) --max-module-bytes $(WIPY_MODULE_BUDGET) >/dev/null
	@$(PY) -c 'import json,sys; d=json.load(open(sys.argv[1])); \
		print("footprint: _azure adds %d bytes to mcuimg.bin (budget %s), the WiPy options remove %d, LTO %d; image %d of 196608, heap %d -> %d bytes" % \
		(d["module_own_bytes"], sys.argv[2], -d["trimmed_bytes"], -d["lto_bytes"], d["image_bytes"], d["stock_heap_bytes"], d["heap_bytes"]))' \
		$(WIPY_DIR)/footprint.json $(WIPY_MODULE_BUDGET) $(WIPY_MODULE_GOAL)

# The Python layer as bytecode for /flash/lib. The WiPy has no native
# emitter (MICROPY_EMIT_THUMB 0), so plain bytecode: no -march; the default
# 31-bit small ints match the board.
WIPY_PY_SRC := $(wildcard $(ROOT)/micropython-glue/azure/*.py)
WIPY_MPY := $(patsubst $(ROOT)/micropython-glue/azure/%.py,$(WIPY_DIR)/lib/azure/%.mpy,$(WIPY_PY_SRC))
wipy-lib: $(WIPY_MPY)
	@for f in $(WIPY_DIR)/lib/azure/*.mpy; do [ -f "$(ROOT)/micropython-glue/azure/$$(basename $$f .mpy).py" ] || rm -f "$$f"; done
$(WIPY_DIR)/lib/azure/%.mpy: $(ROOT)/micropython-glue/azure/%.py | $(MPY_CROSS)
	@mkdir -p $(@D)
	$(MPY_CROSS) -o $@ -s azure/$*.py $<

# The CC3200 verifies servers against ONE root CA, a DER file of at most
# 4 KB uploaded as /flash/cert/ca.pem. Azure's TLS roots: DigiCert Global
# Root G2 (current) and Baltimore CyberTrust Root (previous, expired
# 2025-05-12); both from the system's ca-certificates (README, "On a WiPy").
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
	$(call port_build,qemu $(QEMU_BOARD) with _azure,$(QEMU_DIR),$(MICROPY_DIR) frozen,\
		$(QEMU_MAKE) BUILD=$(QEMU_DIR)/obj USER_C_MODULES=$(ROOT) UPY_AZURE_LIB=$(ARM_LIB) \
		FROZEN_MANIFEST=$(ROOT)/micropython-glue/manifest.py,\
		obj/firmware.elf:firmware.elf obj/firmware.map:firmware.map)
	@echo "  $(patsubst $(ROOT)/%,%,$(QEMU_ELF)): $$(arm-none-eabi-size $(QEMU_ELF) | awk 'NR==2 {print $$1 " bytes text"}')"

# The module's tests with the same .exp files as on unix; tests that need
# the network or a clock print SKIP (the qemu firmware has no time module).
QEMU_RUN := qemu-system-arm -machine $(QEMU_MACHINE) -nographic -monitor null -semihosting -serial pty -kernel $(QEMU_ELF)
QEMU_TEST_DIRS := $(ROOT)/tests/micropython $(wildcard $(ROOT)/tests/qemu)
qemu-test: qemu
	cd $(MICROPY_DIR)/tests && $(PY) ./run-tests.py -t execpty:"$(QEMU_RUN)" \
		-r $(ROOT)/build/test-results/qemu -d $(QEMU_TEST_DIRS)

firmware-clean:
	rm -rf $(WIPY_DIR) $(WIPY_STOCK_DIR) $(QEMU_DIR) $(ROOT)/build/arm $(ARM_TARGET_DIR) $(ROOT)/build/test-results/qemu

FORCE:
