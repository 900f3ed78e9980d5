# What the azure package holds in the heap of the WiPy's firmware once a
# device is sending: `import azure`, <Client>.from_connection_string, one
# token, one framed and sent single event, one framed and sent 3-event
# batch. SERVICE picks the client (bench/wipy_heap_report.py sets it; the
# issue's figure is Event Hubs; "token" is the same Event Hubs publisher
# holding a token made on the host instead of the key, issue #18). Runs on the qemu twin (make qemu-wipy), the
# package's .mpy files loaded from /flash/lib and copied into the heap as
# from the WiPy's FAT (tools/qemu_wipy.py --copy); the cc3200's
# socket/ssl/time are scripted stand-ins, imported before the baseline (on
# the WiPy they are firmware). Prints "HELD <bytes>" (after gc.collect())
# and the names (qstrs) the package interned: MicroPython allocates them in
# pools of 20, 40, 80, 160, 320... entries, so a count near a pool's end is
# a step of up to 2 KB waiting for the application's own names.
import gc
import micropython
import socket
import ssl
import time

try:
    SERVICE
except NameError:
    SERVICE = "eventhub"

KEY = "SharedAccessKey=c2VjcmV0LWtleS1mb3ItdGhlLWhlYXAtYmVuY2gtMDEyMzQ="
# A publisher token as the host command makes it (the signature's bytes do not matter here).
TOKEN = ("SharedAccessSignature=SharedAccessSignature sr=https%3A%2F%2Fmyns.servicebus.windows.net%2Ftelemetry"
         "%2Fpublishers%2Fwipy-01&sig=0gqZCt1fsfVQMRcC8rhVsVhS1cQ0yLQHhsgnFFt6cLU%3D&se=4102444800&skn=DataProducer")
CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"

micropython.qstr_info()
gc.collect()
base = gc.mem_alloc()
import azure

if SERVICE == "iothub":
    c = azure.IoTHubClient.from_connection_string("HostName=myhub.azure-devices.net;DeviceId=wipy-01;" + KEY,
                                                  ca_certs="/flash/cert/ca.pem")
    socket.answer(NO_CONTENT, NO_CONTENT)
elif SERVICE == "token":
    c = azure.EventHubClient.from_connection_string("Endpoint=sb://myns.servicebus.windows.net/;" + TOKEN
                                                    + ";EntityPath=telemetry", ca_certs="/flash/cert/ca.pem")
    socket.answer(CREATED, CREATED)
else:
    sb = "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=DataProducer;" + KEY
    if SERVICE == "servicebus":
        c = azure.ServiceBusClient.from_connection_string(sb, queue_name="telemetry", ca_certs="/flash/cert/ca.pem")
    else:
        c = azure.EventHubClient.from_connection_string(sb + ";EntityPath=telemetry", publisher="wipy-01",
                                                        ca_certs="/flash/cert/ca.pem")
    socket.answer(CREATED, CREATED)
s1 = c.send('{"seq":1,"temp_c":21,"rh":40}')
s2 = c.send_batch(['{"seq":2,"temp_c":21}', '{"seq":3,"temp_c":22}', '{"seq":4,"temp_c":22}'])
# The stand-ins' own records are not the package's.
del socket.requests[:]
del ssl.wrapped[:]
gc.collect()
print("STATUS", SERVICE, s1, s2)
print("HELD", gc.mem_alloc() - base)
micropython.qstr_info()
