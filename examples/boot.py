# boot.py for the WiPy (MicroPython v1.25, cc3200 port): join a Wi-Fi network
# as a station, then set the clock, which SAS tokens need (they carry an
# expiry; the RTC restarts at 2015-01-01 on every reset).
#
# Copy to /flash/boot.py. Put the credentials in /flash/config.py:
#     WIFI_SSID = "my-network"
#     WIFI_PASSWORD = "my-password"
# or edit the constants below. Note: in station mode the WiPy's own access
# point is gone; reach the board through the new network's address (printed
# below) for telnet/FTP, or through the serial REPL.
#
# The clock: NTP over raw UDP first (the cc3200 port has no ntptime module),
# else the Date header of a plain-HTTP HEAD request. The WiPy counts seconds
# from 2000-01-01 and has no floats; _azure.unix_time() converts to Unix time.
import machine
import network
import socket
import time

WIFI_SSID = "my-network"
WIFI_PASSWORD = "my-password"
NTP_HOST = "pool.ntp.org"
HTTP_HOST = "www.microsoft.com"  # any plain-HTTP server: only its Date header is read

try:
    from config import WIFI_SSID, WIFI_PASSWORD
except ImportError:
    pass

NTP_TO_2000 = 3155673600  # seconds from 1900-01-01 (NTP era 0) to 2000-01-01
MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec"


def wifi_connect(timeout_ms=20000):
    wlan = network.WLAN(mode=network.WLAN.STA)
    if not wlan.isconnected():
        # Blocks until associated and addressed, or raises OSError(ETIMEDOUT).
        wlan.connect(WIFI_SSID, auth=(network.WLAN.WPA2, WIFI_PASSWORD), timeout=timeout_ms)
        t0 = time.ticks_ms()
        while not wlan.isconnected():
            if time.ticks_diff(time.ticks_ms(), t0) > timeout_ms:
                raise OSError("Wi-Fi: no connection to " + WIFI_SSID)
            time.sleep_ms(100)
    return wlan


def ntp_time():
    """Seconds since 2000-01-01 UTC from an SNTP server."""
    addr = socket.getaddrinfo(NTP_HOST, 123)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(3)
        query = bytearray(48)
        query[0] = 0x1B  # LI 0, version 3, mode 3 (client)
        s.sendto(query, addr)
        reply = s.recv(48)
    finally:
        s.close()
    if len(reply) < 48 or reply[1] == 0:  # stratum 0: kiss-o'-death
        raise OSError("NTP: bad reply")
    # Transmit timestamp, seconds part (big endian); a long int on the WiPy.
    ntp = (reply[40] << 24) | (reply[41] << 16) | (reply[42] << 8) | reply[43]
    return ntp - NTP_TO_2000


def http_date():
    """(year, month, day, hour, minute, second) UTC from an HTTP Date header."""
    addr = socket.getaddrinfo(HTTP_HOST, 80)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    head = b""
    try:
        s.settimeout(5)
        s.connect(addr)
        s.send(b"HEAD / HTTP/1.0\r\nHost: " + HTTP_HOST.encode() + b"\r\n\r\n")
        while b"\r\n\r\n" not in head and len(head) < 4096:
            chunk = s.recv(512)
            if not chunk:
                break
            head += chunk
    finally:
        s.close()
    for line in head.decode().split("\r\n"):
        if line[:5].lower() == "date:":
            # Date: Tue, 15 Nov 1994 08:12:31 GMT  (RFC 9110 IMF-fixdate)
            f = line[5:].split()
            hms = f[4].split(":")
            return (int(f[3]), MONTHS.index(f[2]) // 3 + 1, int(f[1]), int(hms[0]), int(hms[1]), int(hms[2]))
    raise OSError("HTTP: no Date header")


def set_clock():
    try:
        tm = time.gmtime(ntp_time())[:6]
        source = "NTP"
    except Exception as e:  # UDP blocked, DNS failure, timeout...
        print("NTP failed:", e)
        tm = http_date()
        source = "HTTP Date"
    if tm[0] < 2024:
        raise OSError("implausible time %r from %s" % (tm, source))
    machine.RTC().init(tm)
    print("clock set from %s: %04d-%02d-%02d %02d:%02d:%02d UTC" % ((source,) + tm))


try:
    wlan = wifi_connect()
    print("Wi-Fi:", wlan.ifconfig()[0])
    set_clock()
except Exception as e:
    # Keep booting (REPL, FTP, telnet stay usable); _azure then refuses to
    # sign with ttl= until the clock is set ("clock is not set ...").
    print("boot.py:", e)
