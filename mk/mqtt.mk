# IoT Hub over MQTT (issues #19, #21): azure.IoTHubMQTTClient and
# azure.aio.IoTHubMQTTClient end to end. Included by the top Makefile after
# mk/wipy-twins.mk (uses UNIX_WIPY_ENV). The scripted suites
# (tests/micropython/mqtt_client.py, mqtt_aio.py) run in upy-test and, on the
# float-less WiPy twin, in qemu-wipy-test with the rest.
#
#   make mqtt-e2e        the full unix build over TLS against the local
#                        endpoint's MQTT (every flow and fault, the asyncio
#                        client too), a stock mosquitto (plain MQTT 3.1.1), and
#                        examples/iot_mqtt_device.py and its asyncio sibling
#                        examples/aio_device.py (tests/e2e/test_aio_example.py)
#   make unix-wipy-mqtt  the same on unix-wipy (the WiPy's build, the package
#                        from its .mpy files; no asyncio there)

MQTT_E2E := tests/e2e/test_mqtt_e2e.py tests/e2e/test_mqtt_mosquitto.py tests/e2e/test_mqtt_example.py
MQTT_E2E_AIO := tests/e2e/test_aio_example.py

.PHONY: mqtt-e2e unix-wipy-mqtt

mqtt-e2e: $(MICROPYTHON) | deps
	MICROPYTHON=$(MICROPYTHON) $(PY) -W ignore::ResourceWarning -m unittest -v $(MQTT_E2E) $(MQTT_E2E_AIO)

unix-wipy-mqtt: unix-wipy | deps
	$(UNIX_WIPY_ENV) $(PY) -W ignore::ResourceWarning -m unittest -v $(MQTT_E2E)

MQTT_TESTS := mqtt-e2e unix-wipy-mqtt
