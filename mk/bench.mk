# make bench: speed, heap and footprint of _azure against the alternatives
# (issue #5), in one report: bench/results.json, bench/RESULTS.md and
# bench/results.png. Included by the top Makefile; uses its ROOT, PY,
# MICROPY_DIR, MICROPYTHON and mk/firmware.mk's qemu, wipy-build, wipy-stock,
# QEMU_ELF and FOOTPRINT.
#
#   make bench                       the full run (about 2 minutes when the builds are fresh),
#                                    then the WiPy heap figures (bench/wipy_heap_report.py, with
#                                    the MQTT device's wipy_heap_free_mqtt), then IoT Hub over
#                                    MQTT against HTTPS and azure-iot-device (bench/mqtt_bench.py,
#                                    issue #19) and the asyncio client against the blocking one
#                                    (bench/aio_bench.py, issue #21: events/s, wire bytes, a 10 ms
#                                    ticker's gaps, heap on the armv6m qemu-aio board); each of
#                                    these merges its keys into bench/results.json and writes its
#                                    own section at the end of bench/RESULTS.md
#   make bench BENCH_FLAGS=--quick   fewer repetitions: a smoke test

BENCH_FLAGS ?=
BENCH_FOOTPRINT := $(ROOT)/build/wipy/footprint.json
BENCH_NATIVE := $(ROOT)/build/bench/sas_native

.PHONY: bench bench-deps bench-footprint

# matplotlib for the plot (tools/requirements.txt), if the venv predates it.
bench-deps: | deps
	@$(PY) -c 'import matplotlib, serial' 2>/dev/null || $(PY) -m pip install -q -r tools/requirements.txt

# build/wipy/footprint.json as `make wipy` writes it, but without its
# image-size gate: the report gives the size even when it is over the limit.
bench-footprint: wipy-build wipy-stock
	@$(FOOTPRINT) >/dev/null

# The Rust core alone: the C ABI on the host, without MicroPython around it.
$(BENCH_NATIVE): bench/sas_native.c $(HOST_LIB) include/upy_azure.h
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Iinclude -o $@ $< $(HOST_LIB) -lpthread -ldl

bench: $(MICROPYTHON) qemu bench-footprint bench-deps $(BENCH_NATIVE) qemu-wipy natmod-test qemu-aio
	$(PY) bench/natmod_bench.py
	$(PY) bench/run.py --micropython $(MICROPYTHON) --micropy-dir $(MICROPY_DIR) \
		--qemu-elf $(QEMU_ELF) --footprint $(BENCH_FOOTPRINT) --native $(BENCH_NATIVE) $(BENCH_FLAGS)
	$(PY) bench/wipy_heap_report.py --footprint $(BENCH_FOOTPRINT) --elf $(QEMU_WIPY_ELF) \
		--romfs $(QEMU_WIPY_ROMFS) --micropy-dir $(MICROPY_DIR)
	$(PY) bench/mqtt_bench.py --micropython $(MICROPYTHON) $(filter --quick,$(BENCH_FLAGS))
	$(PY) bench/aio_bench.py --micropython $(MICROPYTHON) --aio-elf $(QEMU_AIO_ELF) --aio-romfs $(QEMU_AIO_ROMFS) \
		--micropy-dir $(MICROPY_DIR) $(filter --quick,$(BENCH_FLAGS))
	$(PY) bench/aio_report.py --micropython $(MICROPYTHON) --elf $(QEMU_AIO_ELF) --romfs $(QEMU_AIO_ROMFS) \
		--micropy-dir $(MICROPY_DIR)
