# User C module `_azure` for MicroPython's make-based ports (unix, qemu, cc3200).
# Build with USER_C_MODULES=<this repository's root>. The Rust archive is
# built by the repository's Makefile for the port's target triple and passed
# in UPY_AZURE_LIB (default: the host build in target/release).

UPY_AZURE_MOD_DIR := $(USERMOD_DIR)
UPY_AZURE_ROOT := $(abspath $(UPY_AZURE_MOD_DIR)/..)
UPY_AZURE_LIB ?= $(UPY_AZURE_ROOT)/target/release/libupy_azure.a

SRC_USERMOD_C += $(UPY_AZURE_MOD_DIR)/modazure.c $(UPY_AZURE_MOD_DIR)/modazure_http.c $(UPY_AZURE_MOD_DIR)/modazure_mqtt.c
# ARM only (empty on the host): __aeabi_mem* forwarded to the port's memcpy/memset.
SRC_USERMOD_C += $(UPY_AZURE_MOD_DIR)/aeabi_shims.c
CFLAGS_USERMOD += -I$(UPY_AZURE_MOD_DIR) -I$(UPY_AZURE_ROOT)/include

# Ports such as cc3200 and qemu put LDFLAGS before their object files, so a
# plain archive would be scanned before anything needs it: mark the entry
# points undefined first so the linker pulls them from the archive.
UPY_AZURE_COMMA := ,
UPY_AZURE_SYMBOLS := upy_azure_sas_token upy_azure_sas_token_max_len \
	upy_azure_unix_time upy_azure_expiry upy_azure_crc32 upy_azure_derive_device_key
UPY_AZURE_SYMBOLS += upy_azure_head upy_azure_batch_add upy_azure_batch_finish upy_azure_backoff_ms
UPY_AZURE_SYMBOLS += upy_azure_mqtt_frame upy_azure_mqtt_header upy_azure_mqtt_parse upy_azure_mqtt_topic
LDFLAGS_USERMOD += $(addprefix -Wl$(UPY_AZURE_COMMA)--undefined=,$(UPY_AZURE_SYMBOLS)) $(UPY_AZURE_LIB)

# Relink (through the glue object) whenever the archive changes.
$(BUILD)/micropython-glue/modazure.o $(BUILD)/micropython-glue/modazure_http.o $(BUILD)/micropython-glue/modazure_mqtt.o: $(UPY_AZURE_LIB)
