# unix_time() and the ttl path: tokens expire relative to the port's clock.
try:
    import time
except ImportError:
    print("SKIP")
    raise SystemExit
import _azure

now = _azure.unix_time()
print(type(now) is int, now > 1577836800)
t = _azure.sas_token("a/b", "k")
se = int(t.split("&se=")[1])
print(0 <= se - (now + 3600) <= 5)
t = _azure.sas_token("a/b", "k", ttl=60)
se = int(t.split("&se=")[1])
print(0 <= se - (now + 60) <= 5)
t = _azure.sas_token("a/b", "k", ttl=2**40)
print(int(t.split("&se=")[1]) > 2**40)
