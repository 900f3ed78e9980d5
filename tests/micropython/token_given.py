# A device that holds a token made elsewhere, never the key (issue #18): the
# token in the connection string (SharedAccessSignature=) or token=, sent
# byte for byte; a publisher token implies its publisher; expiry checked
# against the device clock before any request; a 401 on it is final;
# set_token hands over the next one; 5xx still retried with the same token.
try:
    import azure

    azure.EventHubClient
    import client_harness as H
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets (no clients) or without the harness (tests/lib)
    raise SystemExit

from client_harness import *  # noqa: F401,F403

SE = T0 + 86400
# As the post's "signature generator" (.NET UrlEncode) writes it: lower-case
# escapes, /messages in sr, skn. The signature is not checked here (the
# endpoint checks it in the end-to-end tests); its bytes must go out as given.
PUB = ("SharedAccessSignature sr=https%3a%2f%2fns.servicebus.windows.net%2fhub%2fpublishers"
       "%2fwipy-kitchen-01%2fmessages&sig=abc%2bdef%3d&se=" + str(SE) + "&skn=DataProducer")
EP = "Endpoint=sb://%s/;" % NS
EH_TOK = EP + "SharedAccessSignature=" + PUB + ";EntityPath=hub"


def sent(tok):
    # Was exactly this Authorization value sent?
    print("  token sent as given:", tok in H.tokens)


def path(c):
    print("  path", "/".join(c._path), "key held:", c._key is not None)


def make(cls=None, cs=EH_TOK, script=(), **kw):
    try:
        return client(cls, cs, script, **kw)
    except Exception as e:
        print("  ->", type(e).__name__, e)


print("-- Event Hubs publisher token in the connection string: publisher implied")
c = make(script=[[ok(), ok()]])
path(c)
print("  token_expires", c.token_expires - T0)
send(c)
batch(c, ["a", "b"])
sent(PUB)
stats(c)
print("  repr", c)

print("-- publisher= the same: fine; another: ValueError; partition_id: ValueError")
path(make(publisher="wipy-kitchen-01"))
make(publisher="wipy-kitchen-02")
make(partition_id="0")

print("-- token= with a connection string that has no credential")
tok = "SharedAccessSignature sr=https%3A%2F%2Fns.servicebus.windows.net%2Fhub&sig=x%2By&se=" + str(SE)
c = make(cs=EP + "EntityPath=hub", script=[[ok()]], token=tok)
path(c)
send(c)
sent(tok)
print("-- token= wins over a key in the connection string (the key is not kept)")
c = make(cs=EH, script=[[ok()]], token=tok)
path(c)
send(c)
sent(tok)
stats(c)

print("-- expired by the device clock: SendError 401 before any request")
c = make(script=[[ok()]])
at(86400)
send(c)
at(86399)
send(c)
stats(c)
print("-- a clock that was never set cannot tell: the service decides")
c = make(script=[[ok()]])
H.T0 = 1000000
send(c)
H.T0 = 1700000000
stats(c)

print("-- 401 on a given token (revoked, expired by the service's clock): final, one request")
c = make(script=[[err(401, b"Publisher wipy-kitchen-01 is revoked")]])
send(c)
stats(c)
print("-- 503 is still retried, with the same token")
c = make(script=[[err(503), ok()]])
send(c)
stats(c)

print("-- set_token: the next request carries the new token; token_expires follows")
c = make(script=[[ok(), ok()]])
send(c)
new = PUB.replace("&se=" + str(SE), "&se=" + str(SE + 86400))
c.set_token(new)
print("  token_expires", c.token_expires - T0)
at(86400 + 10)
send(c)
sent(new)
stats(c)
for bad in (None, b"SharedAccessSignature sr=a&sig=b&se=1", "sr=a&sig=b&se=1",
            "SharedAccessSignature sr=a&sig=b", "SharedAccessSignature sr=a&sig=b&se=x1",
            "SharedAccessSignature sr=a&sig=b&se=-5", "SharedAccessSignature sr=a&sig=b&se=1\r\nX: y"):
    try:
        c.set_token(bad)
        print("  accepted", bad)
    except (TypeError, ValueError) as e:
        print("  ", type(e).__name__, e)
print("  still", c.token_expires - T0)

print("-- a key-holding client: token_expires once signed; set_token drops the key")
c = make(cs=EH, script=[[ok(), ok()]])
print("  before", c.token_expires)
send(c)
print("  after", c.token_expires - T0)
c.set_token(PUB)
path(c)
send(c)
sent(PUB)
stats(c)

print("-- bad connection strings with tokens")
for cs in (EP + "SharedAccessSignature=;EntityPath=hub",
           EP + "SharedAccessSignature=SharedAccessSignature sr=a&sig=b;EntityPath=hub",
           EP + "SharedAccessKeyName=n;SharedAccessKey=k;SharedAccessSignature=" + PUB + ";EntityPath=hub",
           EP + "EntityPath=hub",
           EP + "SharedAccessSignature=" + PUB.replace("%2fmessages", "\u00e9") + ";EntityPath=hub"):
    make(cs=cs)

print("-- Service Bus: Endpoint=...;SharedAccessSignature=...;EntityPath=...")
sbt = "SharedAccessSignature sr=https%3a%2f%2fns.servicebus.windows.net%2fq&sig=s&se=" + str(SE) + "&skn=send"
c = make(azure.ServiceBusClient, EP + "SharedAccessSignature=" + sbt + ";EntityPath=q", [[ok()]])
path(c)
send(c)
sent(sbt)

print("-- IoT Hub: HostName=...;DeviceId=...;SharedAccessSignature=...")
iott = "SharedAccessSignature sr=hub.azure-devices.net%2Fdevices%2Fdev1&sig=s%3D&se=" + str(SE)
c = make(azure.IoTHubClient, "HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessSignature=" + iott,
         [[ok(204)]])
path(c)
send(c)
sent(iott)
print("-- IoT Hub without DeviceId: the token's device (and module)")
c = make(azure.IoTHubClient, "HostName=hub.azure-devices.net;SharedAccessSignature=" + iott)
path(c)
modt = "SharedAccessSignature sr=hub.azure-devices.net%2fdevices%2fdev1%2fmodules%2fm1&sig=s&se=" + str(SE)
c = make(azure.IoTHubClient, "HostName=hub.azure-devices.net;SharedAccessSignature=" + modt)
path(c)
c = make(azure.IoTHubClient, "HostName=hub.azure-devices.net", token=iott)
path(c)
