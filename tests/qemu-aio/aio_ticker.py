# An asyncio board (armv6m): the loop runs a 10 ms ticker while another task
# imports the package from flash (the dynamic module _azure and azure/*.mpy
# into the heap) and signs tokens; the ticker keeps ticking throughout.
import asyncio
import sys
import time

gaps = []


async def ticker(stop):
    last = time.ticks_ms()
    while not stop.is_set():
        await asyncio.sleep_ms(10)
        now = time.ticks_ms()
        gaps.append(time.ticks_diff(now, last))
        last = now


async def work(stop):
    await asyncio.sleep_ms(50)
    import azure

    print("azure from", azure.__file__)
    print("_azure is a dynamic module:", sys.modules["_azure"].__file__)
    for i in range(20):
        t = azure.sas_token("sb://ns.servicebus.windows.net/hub", "a2V5", "Send", expiry=1700000000 + i)
        await asyncio.sleep_ms(5)
    print(t)
    stop.set()


async def main():
    stop = asyncio.Event()
    await asyncio.gather(ticker(stop), work(stop))


asyncio.run(main())
print("ticks", len(gaps) >= 10, "the ticker ran at 10 ms:", min(gaps) >= 10)
