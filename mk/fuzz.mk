# Fuzzing with cargo-fuzz (libFuzzer) on the nightly toolchain: see
# docs/fuzzing.md. Included by the top Makefile; not part of `make test`.
#
#   make fuzz          every target for FUZZ_SECONDS (default 600) each, one
#                      after the other, starting from fuzz/corpus/<target>
#   make fuzz-smoke    every target for FUZZ_SMOKE_SECONDS (default 20) each
#   make fuzz-build    build the fuzz binaries only
#   make fuzz-cmin     minimize the committed corpora (cargo fuzz cmin)
#
# FUZZ_TARGETS=request make fuzz    runs only the listed targets.
# fuzz/dict/<target>.dict, when there is one, is passed as -dict.
# FUZZ_ARGS passes extra libFuzzer flags, e.g. FUZZ_ARGS=-max_len=8192.
# One process, one job per target (the machine has 2 cores).
# A crash stops the run; the reproducer is in fuzz/artifacts/<target>/.
# New inputs go to fuzz/target/corpus/<target> (not committed), so the
# committed corpus stays small: refresh it with `make fuzz-cmin`.

FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_TARGETS ?= sas device_key request batch json crypto crc32 backoff mqtt
FUZZ_ARGS ?=
FUZZ_TOOLCHAIN ?= +nightly
FUZZ_DIR := $(ROOT)/fuzz
FUZZ_WORK := $(FUZZ_DIR)/target/corpus
CARGO_FUZZ = cd $(FUZZ_DIR) && $(CARGO) $(FUZZ_TOOLCHAIN) fuzz

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-cmin fuzz-tools

fuzz-tools:
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

fuzz-build: fuzz-tools
	$(CARGO_FUZZ) build

# $(1): seconds per target. The first corpus directory receives new inputs,
# the second (the committed one) is only read.
define fuzz_run
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t for $(1) s"; \
		mkdir -p $(FUZZ_WORK)/$$t $(FUZZ_DIR)/corpus/$$t; \
		dict=; [ ! -f $(FUZZ_DIR)/dict/$$t.dict ] || dict=-dict=$(FUZZ_DIR)/dict/$$t.dict; \
		$(CARGO_FUZZ) run $$t $(FUZZ_WORK)/$$t $(FUZZ_DIR)/corpus/$$t -- \
			-max_total_time=$(1) -print_final_stats=1 $$dict $(FUZZ_ARGS); \
	done
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

# Minimizes what the runs found (cargo fuzz cmin) and rebuilds the small
# committed corpus from it: see fuzz/cmin.sh.
fuzz-cmin: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		FUZZ_TOOLCHAIN=$(FUZZ_TOOLCHAIN) CARGO=$(CARGO) $(FUZZ_DIR)/cmin.sh $$t; \
	done
