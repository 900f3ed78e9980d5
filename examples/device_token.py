# Turn an Event Hubs connection string into a per-device (publisher) SAS
# token, the credential a device in the field should carry: it can only post
# as its own publisher, and it expires.
#
# Runs on the unix build (`make demo`) and on a board. Set CONNECTION_STRING
# and DEVICE below, or on unix the environment variables AZURE_CONNECTION_STRING
# and AZURE_DEVICE.
# For a fleet (one connection string per device, ready for /flash, Event
# Hubs, Service Bus or IoT Hub, days to years), the host command
# tools/device_tokens.py does the same: `make device-tokens`.
import azure

CONNECTION_STRING = (
    "Endpoint=sb://demo-ns.servicebus.windows.net/;SharedAccessKeyName=DataProducer;"
    "SharedAccessKey=ZGVtby1rZXktbm90LWEtcmVhbC1zZWNyZXQtMDEyMzQ1Ng==;EntityPath=telemetry"
)
DEVICE = "wipy-kitchen-01"
TTL = 3600  # seconds; short-lived tokens limit what a stolen one is worth

try:
    import os

    CONNECTION_STRING = os.getenv("AZURE_CONNECTION_STRING") or CONNECTION_STRING
    DEVICE = os.getenv("AZURE_DEVICE") or DEVICE
except (ImportError, AttributeError):
    pass

cs = azure.parse_connection_string(CONNECTION_STRING)
host = cs["Endpoint"][len("sb://") :].rstrip("/")
uri = "https://%s/%s/publishers/%s" % (host, cs["EntityPath"], DEVICE)

token = azure.sas_token(uri, cs["SharedAccessKey"], cs["SharedAccessKeyName"], ttl=TTL)
expiry = int(token.rsplit("&se=", 1)[1].split("&", 1)[0])

print("namespace :", host)
print("event hub :", cs["EntityPath"])
print("policy    :", cs["SharedAccessKeyName"], "(key not shown)")
print("device    :", DEVICE)
print("audience  :", uri)
print("token     :", token)
try:
    import time

    t = time.gmtime(expiry - azure.unix_time() + int(time.time()))
    print("expires   : %d (%04d-%02d-%02d %02d:%02d:%02d UTC, in %d s)"
          % ((expiry,) + tuple(t[:6]) + (expiry - azure.unix_time(),)))
except (ImportError, AttributeError):
    print("expires   :", expiry)
