# _azure as a dynamic native module (.mpy with machine code) per
# architecture, for boards whose stock firmware can load one (issue #11).
# Included by the top Makefile; uses its ROOT, MICROPY_DIR, PY, CARGO,
# MPY_CROSS, the deps/micropython targets, mk/firmware.mk's port_build,
# firmware-patches and WIPY_DIR, and mk/wipy-twins.mk's WIPY_LIB.
#
#   make natmod        build/natmod/<arch>/_azure.mpy for x64, armv6m, armv7m,
#                      armv7emsp and rv32imc: the same Rust crate and the same
#                      glue (modazure.c, modazure_http.c; natmod.c/natmod.h map
#                      what py/dynruntime.h lacks) as the firmware module
#   make natmod-test   tests/micropython against each .mpy: x64 on a unix
#                      interpreter built WITHOUT _azure (and the e2e suite
#                      there); armv7m and armv6m on qemu MPS2_AN385,
#                      armv7emsp on MPS2_AN386 built hard-float (patch 0006),
#                      rv32imc on VIRT_RV32, all firmware without _azure, the
#                      .mpy files loaded from a ROMFS image in RAM
#   make dist          build/dist/<arch>/: _azure.mpy, azure/*.mpy and a mip
#                      package.json
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
SRC := natmod.c modazure.c modazure_http.c
vpath %.c $(GLUE)
CFLAGS += -I$(GLUE) -I$(ROOT)/include
include $(MPY_DIR)/py/dynruntime.mk
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
# libgcc for the Rust code's helpers (armv6m: division and 64-bit multiply).
natmod_cross = $(if $(filter x64,$(1)),,$(if $(filter rv32imc,$(1)),riscv64-unknown-elf-,arm-none-eabi-))
natmod_link_runtime = $(if $(filter armv6m armv7emsp,$(1)),1,0)
# Code generation like the firmware's archives: the crate at "z" and sha2 at
# "s" on the boards; x64 keeps Cargo.toml's profile, that of the unix build
# it is compared with (bench: natmod_sas_ratio).
natmod_profile = $(if $(filter x64,$(1)),,$(ARM_PROFILE_FLAGS))
NATMOD_MPY := $(foreach a,$(NATMOD_ARCHS),$(NATMOD_DIR)/$(a)/_azure.mpy)

.PHONY: natmod natmod-test natmod-unix-test natmod-unix-e2e natmod-qemu-test dist \
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
		ARCH=$* RUST_OBJ=$(@D)/upy_azure.o LINK_RUNTIME=$(call natmod_link_runtime,$*) PYTHON=$(PY) >$(@D)/build.log 2>&1 \
		|| { tail -30 $(@D)/build.log; echo "natmod $*: failed, see $(patsubst $(ROOT)/%,%,$(@D))/build.log" >&2; exit 1; }

endif
