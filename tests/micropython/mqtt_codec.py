# The MQTT 3.1.1 codec of _azure (mqtt_*: /work/coord/mqtt-ffi-spec.md):
# every function with the worked examples of azure-mqtt.md §4/§5/§7, and
# hostile input (malformed remaining length, topic longer than the packet,
# unexpected packet types, string lengths past the end, bad UTF-8, bad %
# escapes, wrong types, out-of-range integers) -> TypeError/ValueError,
# never a crash. Same output on unix, the 32-bit qemu boards, the WiPy
# twin and every natmod: dicts are printed sorted, no large allocations.
import gc
import _azure as a


def check(f, *args):
    try:
        r = f(*args)
    except (TypeError, ValueError) as e:
        print(type(e).__name__, "" if isinstance(e, TypeError) else e.args[0])
        return None
    if isinstance(r, tuple) and len(r) == 4 and isinstance(r[3], dict):
        print("ok", r[:3], sorted(r[3].items()))
    else:
        print("ok", r)
    return r


def lstr(s):
    return bytes((len(s) >> 8, len(s) & 255)) + s


print("-- mqtt_connect: worked example 1 (272 bytes, RL 269)")
USER = "iot-hub-for-test.azure-devices.net/iot-device-for-test/?api-version=2021-04-12"
TOKEN = ("SharedAccessSignature sr=iot-hub-for-test.azure-devices.net%2Fdevices%2Fiot-device-for-test"
         "&sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363")
p = a.mqtt_connect("iot-device-for-test", USER, TOKEN, 240, False)
want = (b"\x10\x8d\x02\x00\x04MQTT\x04\xc0\x00\xf0" + lstr(b"iot-device-for-test") + lstr(USER.encode())
        + lstr(TOKEN.encode()))
print(len(p), p == want)
check(a.mqtt_connect, "d", "u", None, 0, True)
check(a.mqtt_connect, "d", "u", "p", 65535, 1)
check(a.mqtt_connect, "d", "u", None, 65536, True)
check(a.mqtt_connect, "d", "u", None, -1, True)
check(a.mqtt_connect, "d", "u", None, "60", True)
check(a.mqtt_connect, "d\x00", "u", None, 60, True)
check(a.mqtt_connect, b"d", "u", None, 60, True)
check(a.mqtt_connect, "d", None, None, 60, True)
check(a.mqtt_connect, "d", "u", 5, 60, True)
check(a.mqtt_connect, "d", "u", None, 60)

print("-- mqtt_publish: worked example 2, twin and method topics")
h = a.mqtt_publish("devices/dev-1/messages/events/", {"level": "warn"}, 1, 10, False)
print(h + b'{"t":21.5}' == b'\x32\x36\x00\x28devices/dev-1/messages/events/level=warn\x00\x01{"t":21.5}')
check(a.mqtt_publish, "$iothub/twin/GET/?$rid=1", None, 0, 0, False)
check(a.mqtt_publish, "$iothub/methods/res/200/?$rid=ab", {}, 0, 11, False)
check(a.mqtt_publish, "devices/d/messages/events/", {"$.ct": "application/json"}, 65535, 0, True)
check(a.mqtt_publish, "t/", {"a b": "é&=+"}, 7, 0, False)
print(len(a.mqtt_publish("devices/dev-1/messages/events/", None, 1, 48, False)) + 48)
print(a.mqtt_publish("t", None, 0, 127, False)[:3], a.mqtt_publish("t", None, 0, 128 - 3, False)[:3])
print(a.mqtt_publish("t", None, 0, 268435455 - 3, False)[:5])
check(a.mqtt_publish, "t", None, 0, 268435455 - 2, False)
check(a.mqtt_publish, "t", None, 1, 268435455 - 4, False)
check(a.mqtt_publish, "t", None, 0, 2 ** 64, False)
check(a.mqtt_publish, "t", None, 0, -1, False)
check(a.mqtt_publish, "t", None, 0, 0, True)
check(a.mqtt_publish, "t", None, 65536, 0, False)
check(a.mqtt_publish, "t", None, -1, 0, False)
check(a.mqtt_publish, "", None, 0, 0, False)
check(a.mqtt_publish, "a/+/b", None, 0, 0, False)
check(a.mqtt_publish, "a/#", None, 0, 0, False)
check(a.mqtt_publish, "a\x00", None, 0, 0, False)
check(a.mqtt_publish, b"t", None, 0, 0, False)
check(a.mqtt_publish, "t", {"k": 1}, 0, 0, False)
check(a.mqtt_publish, "t", [("k", "v")], 0, 0, False)
check(a.mqtt_publish, "t", dict(("k%d" % i, "v") for i in range(17)), 0, 0, False)
print(len(a.mqtt_publish("t", dict(("k%d" % i, "v") for i in range(16)), 0, 0, False)))
# The topic with its bag over 65,535 bytes (each "/" is 3 bytes encoded).
SLASHES = "/" * 1366
check(a.mqtt_publish, "t", dict(("k%d" % i, SLASHES) for i in range(16)), 1, 0, False)
print(len(a.mqtt_publish("t", {"k": SLASHES}, 1, 0, False)))

print("-- mqtt_subscribe")
s = a.mqtt_subscribe(2, [("$iothub/twin/res/#", 0), ("$iothub/twin/PATCH/properties/desired/#", 0)])
print(len(s), s[:6])
check(a.mqtt_subscribe, 3, ("devices/d/messages/devicebound/#", "$iothub/methods/POST/#"))
check(a.mqtt_subscribe, 1, ["a"] * 8)
check(a.mqtt_subscribe, 1, ["a"] * 9)
check(a.mqtt_subscribe, 1, [])
check(a.mqtt_subscribe, 0, ["a"])
check(a.mqtt_subscribe, 65536, ["a"])
check(a.mqtt_subscribe, 1, [("a", 2)])
check(a.mqtt_subscribe, 1, [("a", -1)])
check(a.mqtt_subscribe, 1, [("a",)])
check(a.mqtt_subscribe, 1, [""])
check(a.mqtt_subscribe, 1, [b"a"])
check(a.mqtt_subscribe, 1, "a")
check(a.mqtt_subscribe, 1, None)

print("-- mqtt_packet")
check(a.mqtt_packet, 4, 1)
check(a.mqtt_packet, 4, 65535)
check(a.mqtt_packet, 12, 0)
check(a.mqtt_packet, 14, 0)
check(a.mqtt_packet, 4, 0)
check(a.mqtt_packet, 4, 65536)
for k in (0, 1, 2, 3, 8, 13, 15, 260, 2 ** 40):
    check(a.mqtt_packet, k, 1)
check(a.mqtt_packet, -4, 1)
check(a.mqtt_packet, None, 1)

print("-- mqtt_header: boundaries, need more, malformed")
for rl in (0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455):
    b = a.mqtt_publish("t", None, 0, max(rl - 3, 0), False) if rl >= 3 else bytes((0xd0, rl))
    h = a.mqtt_header(b)
    print(rl, h, [a.mqtt_header(b[:i]) for i in range(h[2])])
check(a.mqtt_header, b"")
check(a.mqtt_header, bytearray(b"\x40\x02\x00\x01"))
check(a.mqtt_header, memoryview(b"xx\x90\x03")[2:])
check(a.mqtt_header, b"\xd0\x80\x00")
check(a.mqtt_header, b"\x30\xff\xff\xff\xff")
check(a.mqtt_header, b"\x30\x80\x80\x80\x80\x01")
check(a.mqtt_header, b"\x00\x00")
check(a.mqtt_header, b"\xf0")
check(a.mqtt_header, b"\x36\x00")
check(a.mqtt_header, b"\x38\x00")
check(a.mqtt_header, b"\x21\x00")
check(a.mqtt_header, b"\x80\x00")
check(a.mqtt_header, "\x30\x00")
check(a.mqtt_header, None)

print("-- mqtt_parse: what a broker sends")
check(a.mqtt_parse, b"\x20\x02\x00\x00")
check(a.mqtt_parse, b"\x20\x02\x01\x05")
check(a.mqtt_parse, b"\x90\x04\x00\x02\x00\x00")
check(a.mqtt_parse, b"\x90\x05\x00\x02\x01\x80\x02")
check(a.mqtt_parse, b"\x40\x02\x00\x01")
check(a.mqtt_parse, b"\xb0\x02\x12\x34")
check(a.mqtt_parse, b"\xd0\x00")
body = b'{"desired":{"interval":30,"$version":4},"reported":{"fw":"1.0.2","$version":5}}'
pkt = b"\x30\x6d\x00\x1c$iothub/twin/res/200/?$rid=1" + body
r = check(a.mqtt_parse, pkt)
print(pkt[r[4]:r[5]], pkt[r[6]:] == body, len(pkt))
m = b"\x30\x30\x00\x23$iothub/methods/POST/reboot/?$rid=1" + b'{"delay":5}'
r = check(a.mqtt_parse, memoryview(m))
check(a.mqtt_topic, memoryview(m)[r[4]:r[5]], "dev-1")
check(a.mqtt_parse, bytearray(b"\x3a\x07\x00\x01t\x00\x09xy"))
# A device's own PUBLISH, header and body, read back.
h = a.mqtt_publish("devices/d/messages/devicebound/k=v", None, 5, 3, False)
r = check(a.mqtt_parse, h + b"abc")
print("-- mqtt_parse: hostile")
check(a.mqtt_parse, b"")
check(a.mqtt_parse, b"\x40")
check(a.mqtt_parse, b"\x40\x02\x00")
check(a.mqtt_parse, b"\x40\x02\x00\x01\x00")
check(a.mqtt_parse, b"\x40\x02\x00\x00")
check(a.mqtt_parse, b"\x40\x03\x00\x01\x00")
check(a.mqtt_parse, b"\x40\x00")
check(a.mqtt_parse, b"\x20\x02\x02\x00")
check(a.mqtt_parse, b"\x20\x03\x00\x00\x00")
check(a.mqtt_parse, b"\x90\x03\x00\x02\x03")
check(a.mqtt_parse, b"\x90\x02\x00\x02")
check(a.mqtt_parse, b"\xd0\x01\x00")
check(a.mqtt_parse, b"\x30\xff\xff\xff\xff\x7f")
check(a.mqtt_parse, b"\x30\x05\x00\xff\xffab")
check(a.mqtt_parse, b"\x30\x03\x00\x05t")
check(a.mqtt_parse, b"\x30\x01\x00")
check(a.mqtt_parse, b"\x32\x04\x00\x01t\x00")
check(a.mqtt_parse, b"\x32\x05\x00\x01t\x00\x00")
check(a.mqtt_parse, b"\x30\x02\x00\x00")
check(a.mqtt_parse, b"\x30\x03\x00\x01+")
check(a.mqtt_parse, b"\x30\x04\x00\x02\xc3\x28")
check(a.mqtt_parse, b"\x30\x05\x00\x03\xed\xa0\x80")
check(a.mqtt_parse, b"\x30\x03\x00\x01\x00")
check(a.mqtt_parse, b"\x30\x05\x00\x03\xef\xbb\xbf")
for t in (0x10, 0x50, 0x62, 0x70, 0x82, 0xa2, 0xc0, 0xe0, 0x00, 0xf0):
    check(a.mqtt_parse, bytes((t, 0)))
check(a.mqtt_parse, "\xd0\x00")
check(a.mqtt_parse, 13)

print("-- mqtt_topic")
check(a.mqtt_topic, "$iothub/twin/res/200/?$rid=1", "d")
check(a.mqtt_topic, "$iothub/twin/res/204/?$rid=2&$version=6", "d")
check(a.mqtt_topic, b"$iothub/twin/res/429/?%24rid=a%2Fb", "d")
check(a.mqtt_topic, "$iothub/twin/PATCH/properties/desired/?$version=7", "d")
check(a.mqtt_topic, "$iothub/twin/PATCH/properties/desired/?$version=4294967295", "d")
check(a.mqtt_topic, "$iothub/methods/POST/reboot/?$rid=1", "d")
C2D = ("devices/dev-1/messages/devicebound/%24.mid=6b822696-f75a-46f5-8b02-0680db65abf5"
       "&%24.to=%2Fdevices%2Fdev-1%2Fmessages%2FdeviceBound&%24.ct=text%2Fplain%3B%20charset%3DUTF-8"
       "&%24.ce=utf-8&iothub-ack=full&prop1&prop2=&prop3=a%20string")
check(a.mqtt_topic, C2D, "dev-1")
check(a.mqtt_topic, C2D, "dev-2")
check(a.mqtt_topic, "devices/d/messages/devicebound/?a+b=%e2%82%AC", "d")
check(a.mqtt_topic, "devices/d/messages/devicebound/", "d")
check(a.mqtt_topic, "devices/d/messages/events/", "d")
check(a.mqtt_topic, "some/other/topic", "d")
check(a.mqtt_topic, "", "d")
print("-- mqtt_topic: hostile")
check(a.mqtt_topic, "$iothub/twin/res/abc/?$rid=1", "d")
check(a.mqtt_topic, "$iothub/twin/res/99999999999/?$rid=1", "d")
check(a.mqtt_topic, "$iothub/twin/res/200/?$version=1", "d")
check(a.mqtt_topic, "$iothub/twin/res/200", "d")
check(a.mqtt_topic, "$iothub/twin/PATCH/properties/desired/?$version=x", "d")
check(a.mqtt_topic, "$iothub/twin/PATCH/properties/desired/?$version=4294967296", "d")
check(a.mqtt_topic, "$iothub/twin/PATCH/properties/desired/", "d")
check(a.mqtt_topic, "$iothub/methods/POST/reboot", "d")
check(a.mqtt_topic, "$iothub/methods/POST//?$rid=1", "d")
check(a.mqtt_topic, b"$iothub/methods/POST/\xff/?$rid=1", "d")
check(a.mqtt_topic, "devices/d/messages/devicebound/a=%4", "d")
check(a.mqtt_topic, "devices/d/messages/devicebound/a=%zz", "d")
check(a.mqtt_topic, "devices/d/messages/devicebound/a%=1", "d")
check(a.mqtt_topic, "devices/d/messages/devicebound/a=%ff", "d")
check(a.mqtt_topic, "devices/d/messages/devicebound/a=%c3", "d")
check(a.mqtt_topic, "devices/d/messages/devicebound/" + "&".join("k%d=v" % i for i in range(16)), "d")
check(a.mqtt_topic, "devices/d/messages/devicebound/" + "&".join("k%d=v" % i for i in range(17)), "d")
check(a.mqtt_topic, None, "d")
check(a.mqtt_topic, "t", b"d")

print("-- heap flat over 300 hostile and valid packets")
gc.collect()
before = gc.mem_free()
for i in range(300):
    for b in (b"\x30\x05\x00\xff\xffab", b"\x30\xff\xff\xff\xff\x7f", b"\x50\x00", b"\x30\x04\x00\x02\xc3\x28"):
        try:
            a.mqtt_parse(b)
        except ValueError:
            pass
    a.mqtt_parse(pkt)
    a.mqtt_topic(C2D, "dev-1")
    a.mqtt_publish("devices/d/messages/events/", {"k": "v"}, 1 + i, 10, False)
gc.collect()
print("flat", before - gc.mem_free() < 512)
