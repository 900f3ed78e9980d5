# Mutation testing of the Rust crate with cargo-mutants: see docs/mutants.md.
# Included by the top Makefile; NOT part of `make test` (a full run takes
# hours on 2 cores: every mutant is a rebuild plus the whole test suite).
#
#   make mutants                          every mutant of the crate
#   make mutants MUTANTS_FILES="src/backoff.rs src/response.rs"
#                                         only the mutants in those files
#   make mutants-list                     list the mutants, run nothing
#
# cargo-mutants works in a copy of the tree (never in place: others edit
# this one), niced, one job at a time, each mutant's build and test bounded
# by MUTANTS_TIMEOUT seconds. Results go to build/mutants/mutants.out
# (caught.txt, missed.txt, timeout.txt, unviable.txt, outcomes.json) and a
# summary to build/mutants/summary.md; docs/mutants.md is the curated report
# (score, and every surviving mutant killed by a test or explained).
# src/ffi is left out: the C ABI is exercised from MicroPython
# (tests/micropython), which cargo test does not run.

MUTANTS_JOBS ?= 1
MUTANTS_TIMEOUT ?= 180
MUTANTS_FILES ?=
MUTANTS_ARGS ?=
MUTANTS_DIR := $(ROOT)/build/mutants
MUTANTS_CMD = nice -n 19 $(CARGO) mutants --jobs $(MUTANTS_JOBS) --timeout $(MUTANTS_TIMEOUT) \
	--exclude 'src/ffi/**' $(foreach f,$(MUTANTS_FILES),--file $(f)) $(MUTANTS_ARGS)

.PHONY: mutants mutants-tools mutants-list

mutants-tools:
	@CARGO=$(CARGO) tools/install-mutants.sh

mutants-list: mutants-tools
	@$(MUTANTS_CMD) --list

# cargo-mutants exits 2 when a mutant survived, 3 on timeouts: the summary
# is written anyway, then make fails with that status.
mutants: mutants-tools
	@mkdir -p $(MUTANTS_DIR)
	@set +e; $(MUTANTS_CMD) --output $(MUTANTS_DIR); rc=$$?; \
	o=$(MUTANTS_DIR)/mutants.out; n() { cat $$o/$$1.txt 2>/dev/null | wc -l; }; \
	{ echo "# cargo-mutants summary ($$(date -u +%F), files: $(or $(MUTANTS_FILES),all but src/ffi))"; echo; \
	  echo "caught $$(n caught), missed $$(n missed), timeout $$(n timeout), unviable $$(n unviable)"; \
	  echo; echo "## missed"; echo; sed 's/^/- /' $$o/missed.txt 2>/dev/null; \
	  echo; echo "## timeout"; echo; sed 's/^/- /' $$o/timeout.txt 2>/dev/null; } > $(MUTANTS_DIR)/summary.md; \
	cat $(MUTANTS_DIR)/summary.md; exit $$rc

# The Python layer: one-line mutations of azure/client.py and response.py in
# turn, the client tests run for each (docs/mutants-python.md). ~2 minutes.
.PHONY: mutants-python
mutants-python: $(MICROPYTHON) | deps
	$(PY) tools/mutants_python.py --micropython $(MICROPYTHON)
