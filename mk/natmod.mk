# _azure as a dynamic native module (.mpy with machine code) per
# architecture, for boards whose stock firmware can load one (issue #11).
# Included by the top Makefile; uses its ROOT, MICROPY_DIR, PY, CARGO,
# MPY_CROSS, the deps/micropython targets, mk/firmware.mk's port_build,
# firmware-patches and WIPY_DIR, and mk/wipy-twins.mk's WIPY_LIB.
#
#   make natmod        build/natmod/<arch>/_azure.mpy for x64, armv6m, armv7m,
#                      armv7emsp and rv32imc: the same Rust crate and the same
#                      glue (modazure.c, modazure_http.c, modazure_mqtt.c; natmod.c/natmod.h map
#                      what py/dynruntime.h lacks) as the firmware module
#   make natmod-test   tests/micropython against each .mpy: x64 on a unix
#                      interpreter built WITHOUT _azure (and the e2e suite
#                      there); armv7m and armv6m on qemu MPS2_AN385,
#                      armv7emsp on MPS2_AN386 built hard-float (patch 0006),
#                      rv32imc on VIRT_RV32, all firmware without _azure, the
#                      .mpy files loaded from a ROMFS image in RAM
#   make dist          build/dist/<arch>/: _azure.mpy, azure/*.mpy and a mip
#                      package.json (relative URLs; BASE_URL=<where build/dist/
#                      is published> writes absolute ones, for mip 0.3.0)
#
# How one architecture is built: cargo compiles the crate for the Rust target
# with -C relocation-model=pic (mpy_ld.py rejects the static model's
# relocations); the crate's single object (fat LTO: core and sha2 inside) is
# taken out of the archive, without compiler_builtins (its memcpy & co.
# collide with the module's, which forward to the firmware's through
# mp_fun_table); py/dynruntime.mk compiles the glue with
# MICROPY_ENABLE_DYNRUNTIME and mpy_ld.py links them. libgcc is linked
# (LINK_RUNTIME=1) where the Rust code needs its helpers.

ifeq ($(NATMOD_INNER),1)
# ---- Inner: one architecture, run by the rule below in build/natmod/<arch>
# (ARCH, ROOT, MPY_DIR, RUST_OBJ given on the command line).
GLUE := $(ROOT)/micropython-glue
MOD := _azure
BUILD := obj
SRC := natmod.c modazure.c modazure_http.c modazure_mqtt.c
vpath %.c $(GLUE)
CFLAGS += -I$(GLUE) -I$(ROOT)/include
include $(MPY_DIR)/py/dynruntime.mk
# libgcc alone (dynruntime.mk's LINK_RUNTIME=1 also brings a libc, whose
# memcpy collides with the module's): soft-float and 64-bit helpers.
ifeq ($(NATMOD_LIBGCC),1)
MPY_LD_FLAGS += -l$(realpath $(shell $(CROSS)gcc $(CFLAGS_ARCH) --print-libgcc-file-name))
endif
$(SRC_O): $(wildcard $(GLUE)/*.h) $(ROOT)/include/upy_azure.h
# The qstrs are collected from these files' text: natmod.h's macros too.
$(CONFIG_H): $(GLUE)/natmod.h
$(BUILD)/$(MOD).native.mpy: $(RUST_OBJ)
else

NATMOD_ARCHS := x64 armv6m armv7m armv7emsp rv32imc
NATMOD_DIR := $(ROOT)/build/natmod
NATMOD_TARGET_DIR := $(ROOT)/target/natmod
natmod_rust_target = $(word 2,$(subst :, ,$(filter $(1):%,\
	x64:x86_64-unknown-none armv6m:thumbv6m-none-eabi armv7m:thumbv7m-none-eabi \
	armv7emsp:thumbv7em-none-eabihf rv32imc:riscv32imc-unknown-none-elf)))
natmod_cross = $(if $(filter x64,$(1)),,$(if $(filter rv32imc,$(1)),riscv64-unknown-elf-,arm-none-eabi-))
# libgcc: armv6m's division and 64-bit helpers, armv7emsp's float conversions.
natmod_libgcc = $(if $(filter x64,$(1)),0,1)
# Code generation like the firmware's archives: the crate at "z" and sha2 at
# "s" on the boards; x64 keeps Cargo.toml's profile, that of the unix build
# it is compared with (bench: natmod_sas_ratio).
natmod_profile = $(if $(filter x64,$(1)),,$(ARM_PROFILE_FLAGS))
NATMOD_MPY := $(foreach a,$(NATMOD_ARCHS),$(NATMOD_DIR)/$(a)/_azure.mpy)

.PHONY: natmod natmod-test natmod-negative natmod-unix-check natmod-unix-test natmod-unix-e2e natmod-qemu-test dist \
	$(addprefix natmod-fw-,MPS2_AN385 MPS2_AN386_HF VIRT_RV32) \
	$(addprefix natmod-,$(NATMOD_ARCHS)) $(addprefix natmod-qemu-,$(NATMOD_ARCHS))

natmod: $(NATMOD_MPY)
	@for a in $(NATMOD_ARCHS); do printf '  build/natmod/%s/_azure.mpy: %d bytes\n' $$a $$(stat -c %s $(NATMOD_DIR)/$$a/_azure.mpy); done

$(addprefix natmod-,$(NATMOD_ARCHS)): natmod-%: $(NATMOD_DIR)/%/_azure.mpy

# cargo runs every time (incremental, under a lock); the object is replaced
# only when it changes, and the inner make relinks only then.
$(NATMOD_DIR)/%/_azure.mpy: FORCE | deps micropython $(MPY_CROSS)
	@mkdir -p $(@D) $(NATMOD_TARGET_DIR)
	@echo "  natmod $*: cargo rustc --target $(call natmod_rust_target,$*) -C relocation-model=pic"
	@flock $(NATMOD_TARGET_DIR)/.upy-azure.lock $(SHELL) -ec ' \
		$(CARGO) rustc --quiet --release --locked --target $(call natmod_rust_target,$*) --target-dir $(NATMOD_TARGET_DIR) \
			--lib --crate-type staticlib $(call natmod_profile,$*) -- -C relocation-model=pic; \
		rm -rf $(@D)/ar; mkdir -p $(@D)/ar; cd $(@D)/ar; \
		obj=$$(ar t $(NATMOD_TARGET_DIR)/$(call natmod_rust_target,$*)/release/libupy_azure.a | grep "^upy_azure-.*\.o$$"); \
		[ $$(echo "$$obj" | wc -l) = 1 ] || { echo "natmod $*: expected one upy_azure object in the archive, got: $$obj" >&2; exit 1; }; \
		ar x $(NATMOD_TARGET_DIR)/$(call natmod_rust_target,$*)/release/libupy_azure.a "$$obj"; \
		$(call natmod_cross,$*)objcopy --strip-debug -R ".ARM.exidx*" -R ".rel.ARM.exidx*" -R ".ARM.extab*" -R ".rel.ARM.extab*" \
			-R ".eh_frame" -R ".rela.eh_frame" "$$obj" ../upy_azure.o.tmp; \
		cd ..; rm -rf ar; \
		if cmp -s upy_azure.o.tmp upy_azure.o; then rm upy_azure.o.tmp; else mv upy_azure.o.tmp upy_azure.o; fi'
	@bad=$$(readelf -SW $(@D)/upy_azure.o | grep -oE ' \.(s?data|s?bss|tdata|tbss)[^ ]*' | grep -v '^ \.data\.rel\.ro' || true); \
		[ -z "$$bad" ] || { echo "natmod $*: the Rust object has writable data ($$bad): a dynamic module cannot hold it" >&2; exit 1; }
	@printf 'include $(ROOT)/mk/natmod.mk\n' >$(@D)/Makefile
	@PATH=$(dir $(PY)):$$PATH $(MAKE) --no-print-directory -C $(@D) NATMOD_INNER=1 ROOT=$(ROOT) MPY_DIR=$(MICROPY_DIR) \
		ARCH=$* RUST_OBJ=$(@D)/upy_azure.o NATMOD_LIBGCC=$(call natmod_libgcc,$*) PYTHON=$(PY) >$(@D)/build.log 2>&1 \
		|| { tail -30 $(@D)/build.log; echo "natmod $*: failed, see $(patsubst $(ROOT)/%,%,$(@D))/build.log" >&2; exit 1; }

# ---- Distribution: build/dist/<arch>/{_azure.mpy,azure/*.mpy,package.json}

NATMOD_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' $(ROOT)/Cargo.toml | head -1)
dist: $(NATMOD_MPY) wipy-lib | deps
	@$(PY) tools/natmod_dist.py --natmod $(NATMOD_DIR) --lib $(WIPY_LIB) --out $(ROOT)/build/dist \
		--version $(NATMOD_VERSION) $(if $(BASE_URL),--base-url $(BASE_URL)) $(NATMOD_ARCHS)

# ---- Tests -------------------------------------------------------------------

# (a) x64: a unix interpreter built WITHOUT the user module (nothing frozen);
# _azure comes from the .mpy, the azure package from build/wipy/lib.
UNIX_PLAIN_BUILD := $(ROOT)/build/unix-plain
UNIX_PLAIN := $(UNIX_PLAIN_BUILD)/micropython
NATMOD_UNIX_ENV := MICROPYTHON=$(UNIX_PLAIN) MICROPYPATH=$(NATMOD_DIR)/x64:$(WIPY_LIB):$(ROOT)/tests/lib

$(UNIX_PLAIN): | micropython $(MPY_CROSS)
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j$(JOBS) BUILD=$(UNIX_PLAIN_BUILD) \
		FROZEN_MANIFEST= MICROPY_PY_BTREE=0 >/dev/null
	@touch $@

# The interpreter must not have _azure of its own, and must load the .mpy.
natmod-unix-check: $(UNIX_PLAIN) $(NATMOD_DIR)/x64/_azure.mpy wipy-lib
	@! MICROPYPATH= $(UNIX_PLAIN) -c 'import _azure' 2>/dev/null || \
		{ echo "natmod: $(UNIX_PLAIN) has a built-in _azure" >&2; exit 1; }
	@$(NATMOD_UNIX_ENV) $(UNIX_PLAIN) -c 'import _azure, azure; assert _azure.__file__.endswith("natmod/x64/_azure.mpy"), _azure.__file__'

natmod-unix-test: natmod-unix-check | deps
	cd $(MICROPY_DIR)/tests && MICROPY_MICROPYTHON=$(UNIX_PLAIN) MICROPYPATH=$(NATMOD_DIR)/x64:$(WIPY_LIB):$(ROOT)/tests/lib \
		$(PY) ./run-tests.py --keep-path -r $(ROOT)/build/test-results/natmod-x64 -d $(ROOT)/tests/micropython

# The end-to-end client suite once against the x64 .mpy.
natmod-unix-e2e: natmod-unix-check | deps
	$(NATMOD_UNIX_ENV) $(PY) -m unittest tests/e2e/test_send_e2e.py

# (b) qemu, firmware without _azure (nothing frozen): the module's .mpy, the
# package's .mpy files and the twin's scripted socket/ssl/time in a ROMFS
# image in RAM, imported through plain file streams so that the code is
# loaded into the heap as from a board's flash (tools/qemu_wipy.py --copy;
# its fake time gets a gmtime from tools/natmod-overlay). armv6m runs on the Cortex-M3 board, which accepts
# armv6m and armv7m code.
natmod_board = $(if $(filter armv7m armv6m,$(1)),MPS2_AN385,$(if $(filter armv7emsp,$(1)),MPS2_AN386_HF,VIRT_RV32))
# GCC 12 with rv32imac_zicsr picks 64-bit multilibs: the ISA spec of GCC 10.
NATMOD_RV32_FLAGS := RV32_ARCH=rv32imac CFLAGS_EXTRA=-misa-spec=2.2 \
	AFLAGS="-mabi=ilp32 -march=rv32imac -misa-spec=2.2"
# A larger heap than the stock 140 KB: dynruntime.h cannot hand a buffer to a
# str/bytes, so the module copies each result once and needs twice its size
# at the peak (the hostile tests' 48 KB tokens).
NATMOD_HEAP_SIZE := 524288
natmod_fw_flags = MICROPY_HEAP_SIZE=$(NATMOD_HEAP_SIZE) $(if $(filter VIRT_RV32,$(1)),$(NATMOD_RV32_FLAGS))
NATMOD_BOARDS := MPS2_AN385 MPS2_AN386_HF VIRT_RV32

$(addprefix natmod-fw-,$(NATMOD_BOARDS)): natmod-fw-%: firmware-patches | $(MPY_CROSS)
	$(call port_build,qemu $* without _azure,$(NATMOD_DIR)/qemu-$*,$(MICROPY_DIR) plain heap $(NATMOD_HEAP_SIZE),\
		$(MAKE) -C $(MICROPY_DIR)/ports/qemu -j$(JOBS) BOARD=$* BUILD=$(NATMOD_DIR)/qemu-$*/obj FROZEN_MANIFEST= \
		$(call natmod_fw_flags,$*),obj/firmware.elf:firmware.elf)

NATMOD_QEMU_TOOL = $(PY) $(ROOT)/tools/qemu_wipy.py
$(addprefix natmod-qemu-,$(filter-out x64,$(NATMOD_ARCHS))): natmod-qemu-%: $(NATMOD_DIR)/%/_azure.mpy wipy-lib | deps
	@$(MAKE) --no-print-directory natmod-fw-$(call natmod_board,$*)
	@mkdir -p $(NATMOD_DIR)/$*/qemu
	@$(NATMOD_QEMU_TOOL) romfs $(NATMOD_DIR)/$*/qemu/flash.romfs --lib $(WIPY_LIB) --fakes $(ROOT)/tests/qemu-wipy/lib $(foreach f,$(wildcard $(ROOT)/tests/lib/*.py),--add $(f)) \
		--add $(NATMOD_DIR)/$*/_azure.mpy --overlay $(ROOT)/tools/natmod-overlay --micropy-dir $(MICROPY_DIR)
	$(NATMOD_QEMU_TOOL) test --copy --board $(call natmod_board,$*) --elf $(NATMOD_DIR)/qemu-$(call natmod_board,$*)/firmware.elf \
		--romfs $(NATMOD_DIR)/$*/qemu/flash.romfs --micropy-dir $(MICROPY_DIR) \
		--results $(ROOT)/build/test-results/natmod-$* $(ROOT)/tests/micropython

natmod-qemu-test: $(addprefix natmod-qemu-,$(filter-out x64,$(NATMOD_ARCHS)))

# Negative control: a .mpy that loads and runs but signs wrong
# (tools/natmod_break.py) must fail the SAS vectors, on unix and on qemu.
NATMOD_BROKEN := $(NATMOD_DIR)/broken
NATMOD_SIGN := import _azure; print(_azure.sas_token("a/b", "k", expiry=1))
natmod-negative: natmod-unix-check $(NATMOD_DIR)/armv7m/_azure.mpy | deps
	@mkdir -p $(NATMOD_BROKEN)/x64 $(NATMOD_BROKEN)/armv7m
	@$(PY) tools/natmod_break.py $(NATMOD_DIR)/x64/_azure.mpy $(NATMOD_BROKEN)/x64/_azure.mpy
	@$(PY) tools/natmod_break.py $(NATMOD_DIR)/armv7m/_azure.mpy $(NATMOD_BROKEN)/armv7m/_azure.mpy
	@good=$$(MICROPYPATH=$(NATMOD_DIR)/x64 $(UNIX_PLAIN) -c '$(NATMOD_SIGN)'); 		bad=$$(MICROPYPATH=$(NATMOD_BROKEN)/x64 $(UNIX_PLAIN) -c '$(NATMOD_SIGN)'); 		case "$$bad" in "SharedAccessSignature sr="*) ;; *) echo "natmod-negative: the broken .mpy does not load: $$bad" >&2; exit 1;; esac; 		[ "$$good" != "$$bad" ] || { echo "natmod-negative: the broken .mpy signs like the good one" >&2; exit 1; }
	@if (cd $(MICROPY_DIR)/tests && MICROPY_MICROPYTHON=$(UNIX_PLAIN) MICROPYPATH=$(NATMOD_BROKEN)/x64:$(WIPY_LIB):$(ROOT)/tests/lib \
		$(PY) ./run-tests.py --keep-path -r $(ROOT)/build/test-results/natmod-broken-x64 \
		$(ROOT)/tests/micropython/sas_vectors.py >/dev/null 2>&1); then \
		echo "natmod-negative: sas_vectors PASSED with a .mpy that signs wrong (x64)" >&2; exit 1; fi
	@$(MAKE) --no-print-directory natmod-fw-MPS2_AN385
	@$(NATMOD_QEMU_TOOL) romfs $(NATMOD_BROKEN)/armv7m/flash.romfs --lib $(WIPY_LIB) --fakes $(ROOT)/tests/qemu-wipy/lib $(foreach f,$(wildcard $(ROOT)/tests/lib/*.py),--add $(f)) \
		--add $(NATMOD_BROKEN)/armv7m/_azure.mpy --overlay $(ROOT)/tools/natmod-overlay --micropy-dir $(MICROPY_DIR) >/dev/null
	@if $(NATMOD_QEMU_TOOL) test --board MPS2_AN385 --elf $(NATMOD_DIR)/qemu-MPS2_AN385/firmware.elf \
		--romfs $(NATMOD_BROKEN)/armv7m/flash.romfs --micropy-dir $(MICROPY_DIR) \
		--results $(ROOT)/build/test-results/natmod-broken-armv7m $(ROOT)/tests/micropython/sas_vectors.py >/dev/null 2>&1; then \
		echo "natmod-negative: sas_vectors PASSED with a .mpy that signs wrong (armv7m, qemu)" >&2; exit 1; fi
	@echo "natmod-negative: a .mpy that signs wrong fails sas_vectors on x64 and on qemu armv7m, as it must"

natmod-test: natmod-negative natmod-unix-test natmod-unix-e2e natmod-qemu-test
	@echo "natmod-test: _azure.mpy passed on $(NATMOD_ARCHS)"
NATMOD_TESTS := natmod-test

endif
