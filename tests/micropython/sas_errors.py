# Bad input to sas_token: a clear exception for every argument, never a crash.
import gc
import _azure
# Float literals are a SyntaxError on float-less ports (the WiPy): a float
# that stands for "a wrong type" is made at run time, or is another non-int.
try:
    F15, F10 = eval("1.5"), eval("1.0")
except SyntaxError:
    F15 = F10 = object()



def check(f, *args, **kw):
    try:
        r = f(*args, **kw)
        print("ok", r)
    except (TypeError, ValueError, OSError) as e:
        # Messages from MicroPython's own argument parser depend on the
        # port's error reporting level: print only their type.
        msg = e.args[0] if e.args and "clock" not in str(e.args[0]) else ""
        print(type(e).__name__, msg if isinstance(e, ValueError) else "")


tok = _azure.sas_token
# uri
check(tok, b"a", "k", expiry=1)
check(tok, None, "k", expiry=1)
check(tok, 5, "k", expiry=1)
check(tok, "", "k", expiry=1)
# key
check(tok, "a", None, expiry=1)
check(tok, "a", 12, expiry=1)
check(tok, "a", "", expiry=1)
check(tok, "a", b"", expiry=1)
check(tok, "a", "not base64!", expiry=1, key_is_base64=True)
check(tok, "a", "QUJD=", expiry=1, key_is_base64=True)
check(tok, "a", "=", expiry=1, key_is_base64=True)
check(tok, "a", "A" * 348, expiry=1, key_is_base64=True)
# key_name
check(tok, "a", "k", b"name", expiry=1)
check(tok, "a", "k", 3, expiry=1)
check(tok, "a", "k", "", expiry=1)
# expiry
check(tok, "a", "k", expiry=-1)
check(tok, "a", "k", expiry=-(2**70))
check(tok, "a", "k", expiry=2**64)
check(tok, "a", "k", expiry=2**100)
check(tok, "a", "k", expiry="1")
check(tok, "a", "k", expiry=F15)
# ttl
check(tok, "a", "k", expiry=1, ttl=-5)
check(tok, "a", "k", ttl=0)
check(tok, "a", "k", ttl=-1)
check(tok, "a", "k", ttl="60")
check(tok, "a", "k", ttl=2**64)
# argument count and unknown keywords
check(tok, "a")
check(tok, "a", "k", "n", 5)
check(tok, "a", "k", bogus=1)
# Embedded NUL, CR and LF are encoded, never passed through.
print(tok("a\x00\r\nb", "k\x00", "n", expiry=1))
# The interpreter and its heap survive: a correct call still works.
gc.collect()
print(tok("endpoint/hub", "keyVal", "keyName", expiry=1))
