# The durable outbox, azure.Outbox (issue 10). Included by the top Makefile;
# uses its ROOT, PY, MICROPY_DIR and MICROPYTHON.
#
#   make outbox-test    (in make test, ~1 min) tests/micropython/outbox_*.py
#                       (API, policies, failing client, every truncation and
#                       flipped byte of a log), a power cut at every sector
#                       write on FAT, a 100-kill crash test against the TLS
#                       endpoint, offline/503/online with 2,000 events, and
#                       the heap with 10,000 queued at 48 KB
#   make outbox-crash   the 1,000-kill crash test (~4 min):
#                       build/test-results/outbox-crash.json, figures in docs/outbox.md
#   make outbox-bench   bench/outbox_bench.py: put rate, bytes written per event
#
# The outbox_*.py tests also run under qemu with qemu-test (tests/micropython).

OUTBOX_TESTS := outbox-test
OUTBOX_KILLS ?= 100
OUTBOX_RESULTS := $(ROOT)/build/test-results

.PHONY: outbox-test outbox-unit-test outbox-crash outbox-bench

outbox-unit-test: $(MICROPYTHON) | deps
	cd $(MICROPY_DIR)/tests && MICROPY_MICROPYTHON=$(MICROPYTHON) $(PY) ./run-tests.py \
		-r $(OUTBOX_RESULTS)/outbox-unix $(wildcard $(ROOT)/tests/micropython/outbox_*.py)

outbox-test: outbox-unit-test $(MICROPYTHON) | deps
	$(MICROPYTHON) $(ROOT)/tests/outbox/powercut.py 150
	MICROPYTHON=$(MICROPYTHON) $(PY) $(ROOT)/tests/outbox/crash_test.py --kills $(OUTBOX_KILLS) \
		--json $(OUTBOX_RESULTS)/outbox-crash-short.json
	MICROPYTHON=$(MICROPYTHON) $(PY) $(ROOT)/tests/outbox/offline_test.py
	@rm -rf $(ROOT)/build/outbox-mem && mkdir -p $(OUTBOX_RESULTS)
	set -o pipefail; $(MICROPYTHON) -X heapsize=48k $(ROOT)/tests/outbox/mem_outbox.py \
		$(ROOT)/build/outbox-mem 10000 | tee $(OUTBOX_RESULTS)/outbox-memory.txt
	@rm -rf $(ROOT)/build/outbox-mem

outbox-crash: $(MICROPYTHON) | deps
	MICROPYTHON=$(MICROPYTHON) $(PY) $(ROOT)/tests/outbox/crash_test.py --kills 1000 \
		--json $(OUTBOX_RESULTS)/outbox-crash.json

outbox-bench: $(MICROPYTHON)
	$(MICROPYTHON) $(ROOT)/bench/outbox_bench.py $(ROOT)/build/outbox-bench 2000
	@rm -rf $(ROOT)/build/outbox-bench
