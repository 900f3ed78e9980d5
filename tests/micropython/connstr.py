# parse_connection_string: both kinds of portal strings, and clear errors.
# The parser is Python (azure/_connstr.py), loaded only while it parses.
import sys
import azure


def show(s):
    try:
        d = azure.parse_connection_string(s)
        print(sorted(d.items()))
    except (TypeError, ValueError) as e:
        print(type(e).__name__, e.args[0] if isinstance(e, ValueError) else "")


show("Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abc+/de==;EntityPath=hub")
show("Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=k=;")
show("HostName=h.azure-devices.net;DeviceId=dev-1;SharedAccessKey=a2V5a2V5")
show("HostName=h.azure-devices.net;DeviceId=dev-1;ModuleId=m;SharedAccessKey=a2V5")
show("HostName=h.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5")
show("")
show(";")
show("Endpoint")
show("=value")
show("SharedAccessKey=k")
show("Endpoint=https://x/;SharedAccessKeyName=n;SharedAccessKey=k")
show("Endpoint=sb://;SharedAccessKeyName=n;SharedAccessKey=k")
show("Endpoint=sb://x/;SharedAccessKey=k")
show("Endpoint=sb://x/;SharedAccessKeyName=n")
show("Endpoint=sb://x/;SharedAccessKeyName=n;SharedAccessKey=")
show("HostName=h;SharedAccessKey=k")
show("HostName=h;DeviceId=d")
show("HostName=bad host;DeviceId=d;SharedAccessKey=k")
show("HostName=h;DeviceId=d;DeviceId=e;SharedAccessKey=k")
show(b"HostName=h;DeviceId=d;SharedAccessKey=k")
show(None)

# Not resident after use.
print("azure._connstr" in sys.modules, "_connstr" in dir(azure))
# Host names by the native framer's rule (the clients' check: hostile_client.py).
show("HostName=bad host;DeviceId=d;SharedAccessKey=a2V5")
show("Endpoint=sb://a b/;SharedAccessKeyName=n;SharedAccessKey=k;EntityPath=h")
# A token in place of the key (the Azure SDKs' SharedAccessSignature=): kept as given.
show("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=https%3a%2f%2fns.servicebus.windows.net%2fhub&sig=a%2bb&se=1827000000&skn=send;EntityPath=hub")
show("HostName=h.azure-devices.net;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=h.azure-devices.net%2Fdevices%2Fd&sig=x&se=4294967296")
show("Endpoint=sb://ns/;SharedAccessSignature=sr=a&sig=b&se=1")
show("Endpoint=sb://ns/;SharedAccessSignature=SharedAccessSignature sr=a&sig=b")
show("Endpoint=sb://ns/;SharedAccessSignature=SharedAccessSignature se=1&sig=b")
show("Endpoint=sb://ns/;SharedAccessKey=k;SharedAccessSignature=SharedAccessSignature sr=a&sig=b&se=1")
show("endpoint=sb://ns/;sharedaccesssignature=SharedAccessSignature sr=a&sig=b&se=1;entitypath=hub")
