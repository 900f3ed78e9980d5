# make qemu-aio: what an asyncio board's firmware freezes (a Pico W's has
# asyncio frozen in); the azure package is loaded from its flash, not frozen.
include("$(MPY_DIR)/extmod/asyncio")
