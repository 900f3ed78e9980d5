"""examples/aio_device.py (issue #21 item 7) as a user runs it, against the
local endpoint's MQTT over TLS: the same run as its blocking sibling's
(tests/e2e/test_mqtt_example.py): the reporting interval from the twin's
desired properties, set before the device starts and changed while it runs,
reported back; readings through the outbox into the events table, all of
them and in order; a cloud-to-device message printed; the `reboot` direct
method answered (200) and the app ends its loop and exits 0.

Run: python -m unittest tests/e2e/test_aio_example.py
     (MICROPYTHON=..., and MICROPYPATH for an interpreter with nothing
     frozen: `make mip-test` runs it from the mip-installed package)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mqtt_example as blocking  # noqa: E402  (a module: its own test is not collected here)

EXAMPLE = os.path.join(blocking.ROOT, "examples", "aio_device.py")


class AioDeviceExample(blocking.IotMqttDeviceExample):
    example = EXAMPLE


if __name__ == "__main__":
    unittest.main()
