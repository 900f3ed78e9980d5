# Per-device connection strings from the owner's connection string: each
# device gets a SAS token that lets it send as itself only, until it expires,
# and never the key (the post's credential model; issue #18). Runs on the
# project's unix MicroPython build, so the tokens are signed by the crate's
# own signer (_azure.sas_token) and the connection string is read by the
# package's own parser (azure.parse_connection_string):
#
#   export AZURE_CONNECTION_STRING='Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=DataProducer;SharedAccessKey=...;EntityPath=telemetry'
#   build/unix/micropython tools/device_tokens.py --days 365 --publisher wipy-kitchen-01 wipy-kitchen-02
#
# or `make device-tokens CONN='...' DEVICES='a b c' DAYS=365`. One connection
# string per line on stdout, in the form the Azure SDKs read, ready for the
# board's /flash. The key is never printed. Bad input: a message on stderr
# and exit status 2.
import sys

import azure

USAGE = """usage: micropython tools/device_tokens.py [CONNECTION_STRING] LIFETIME TARGETS [--json]

CONNECTION_STRING  the owner's connection string with the key (default: the
                   environment variable AZURE_CONNECTION_STRING, which keeps
                   the key out of the process list):
                   Event Hubs / Service Bus  Endpoint=sb://..;SharedAccessKeyName=..;SharedAccessKey=..[;EntityPath=..]
                   IoT Hub policy            HostName=..;SharedAccessKeyName=..;SharedAccessKey=..
                   IoT Hub device            HostName=..;DeviceId=..[;ModuleId=..];SharedAccessKey=..
LIFETIME           --days N | --hours N | --expiry UNIX_SECONDS (up to 2**64-1)
TARGETS            --publisher NAME [NAME ...]  Event Hubs publisher tokens, one per device
                   --publishers-file FILE       the same, names one per line (# comments)
                   --entity NAME                the event hub / queue / topic (default EntityPath);
                                                without publishers: one entity send token (Service Bus)
                   --device ID [ID ...]         IoT Hub device tokens (a hub policy signs any
                                                device; a device connection string only its own)
--json             one JSON object per line (name, audience, expiry, connection_string)

Output: one connection string per device and line:
  Endpoint=sb://NS/;SharedAccessSignature=SharedAccessSignature sr=..&sig=..&se=..&skn=..;EntityPath=HUB
  HostName=HUB;DeviceId=ID;SharedAccessSignature=SharedAccessSignature sr=..&sig=..&se=..[&skn=..]"""

MAX_SE = 2**64 - 1
# IoT Hub device and module ids: up to 128 ASCII letters, digits and these.
ID_CHARS = "-.+%_#*?!(),:=@$'"


class Usage(Exception):
    pass


def _number(opt, text):
    if not text or not all("0" <= c <= "9" for c in text):
        raise Usage("%s takes a whole number, not %r" % (opt, text))
    return int(text)


def _check_name(what, name):
    # A name that goes into a URI path segment (percent-encoded by the
    # signer) and, for entities, raw into the connection string.
    if not name:
        raise Usage("an empty %s name" % what)
    for c in name:
        if ord(c) < 0x21 or c in "/;" or ord(c) == 0x7F:
            raise Usage("%s name %r: no spaces, control characters, '/' or ';'" % (what, name))
    if len(name) > 256:
        raise Usage("%s name %r is longer than 256 characters" % (what, name))


def _check_id(what, ident):
    if not 0 < len(ident) <= 128 or not all(
            ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or c in ID_CHARS
            for c in ident):
        raise Usage("%s %r: IoT Hub ids are 1 to 128 ASCII letters, digits and %s"
                    % (what, ident, ID_CHARS))


def _read_names(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise Usage("cannot read the publishers file %r" % path)
    names = []
    for line in text.split("\n"):
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    if not names:
        raise Usage("the publishers file %r names no publisher" % path)
    return names


def parse_args(argv):
    opts = {"conn": None, "publishers": [], "devices": [], "entity": None, "json": False,
            "days": None, "hours": None, "expiry": None}
    lists = {"--publisher": "publishers", "--device": "devices"}
    values = ("--days", "--hours", "--expiry", "--entity", "--publishers-file")
    seen = set()
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in ("-h", "--help"):
            print(USAGE)
            sys.exit(0)
        if arg == "--json":
            opts["json"] = True
        elif arg in lists:
            names = []
            while i < len(argv) and not argv[i].startswith("--"):
                names.append(argv[i])
                i += 1
            if not names:
                raise Usage("%s needs at least one name" % arg)
            opts[lists[arg]] += names
        elif arg in values:
            if arg in seen:
                raise Usage("%s given twice" % arg)
            seen.add(arg)
            if i >= len(argv):
                raise Usage("%s needs a value" % arg)
            value = argv[i]
            i += 1
            if arg == "--entity":
                opts["entity"] = value
            elif arg == "--publishers-file":
                opts["publishers"] += _read_names(value)
            else:
                opts[arg[2:]] = _number(arg, value)
        elif arg.startswith("-"):
            raise Usage("unknown option %s" % arg)
        elif opts["conn"] is None:
            opts["conn"] = arg
        else:
            raise Usage("more than one connection string (names go after --publisher or --device)")
    return opts


def expiry_of(opts, now):
    given = [k for k in ("days", "hours", "expiry") if opts[k] is not None]
    if len(given) != 1:
        raise Usage("give the tokens' lifetime once: --days N, --hours N or --expiry UNIX_SECONDS")
    k = given[0]
    if k == "expiry":
        se = opts["expiry"]
    else:
        n = opts[k]
        if n == 0:
            raise Usage("--%s must be more than 0" % k)
        se = now + n * (86400 if k == "days" else 3600)
    if se > MAX_SE:
        raise Usage("the expiry %d is past 2**64-1" % se)
    if se <= now:
        raise Usage("the expiry %d is not in the future (the clock says %d)" % (se, now))
    return se


def _unique(what, names):
    seen = set()
    for n in names:
        if n in seen:
            raise Usage("%s %r is listed twice" % (what, n))
        seen.add(n)


def plan(opts, cs):
    """[(name, audience, head, tail, key_name, iot)]: the token's audience and
    the connection string around it (head + token + tail)."""
    key_name = cs.get("SharedAccessKeyName")
    if "Endpoint" in cs:
        if opts["devices"]:
            raise Usage("--device is for IoT Hub; this is an Event Hubs/Service Bus connection "
                        "string (use --publisher)")
        e = cs["Endpoint"]  # sb://<namespace>/, as the parser checked it
        host = e[5:-1] if e.endswith("/") else e[5:]
        entity = opts["entity"] or cs.get("EntityPath")
        if not entity:
            raise Usage("the connection string has no EntityPath: give --entity NAME")
        _check_name("entity", entity)
        head = "Endpoint=sb://%s/;SharedAccessSignature=" % host
        tail = ";EntityPath=" + entity
        base = "https://%s/%s" % (host, entity)
        if not opts["publishers"]:
            return [(entity, base, head, tail, key_name, False)]
        _unique("publisher", opts["publishers"])
        out = []
        for pub in opts["publishers"]:
            _check_name("publisher", pub)
            out.append((pub, base + "/publishers/" + pub, head, tail, key_name, False))
        return out
    if opts["publishers"] or opts["entity"]:
        raise Usage("--publisher/--entity are for Event Hubs/Service Bus; this is an IoT Hub "
                    "connection string (use --device)")
    host = cs["HostName"]
    module = cs.get("ModuleId")
    if cs.get("DeviceId"):
        own = cs["DeviceId"]
        if any(d != own for d in opts["devices"]):
            raise Usage("a device connection string signs for its own device %r only; use a hub "
                        "policy's connection string (SharedAccessKeyName=) for other devices" % own)
        # The device's own key signs without skn.
        devices, key_name = [own], None
    else:
        if not opts["devices"]:
            raise Usage("an IoT Hub policy connection string: give --device ID ...")
        if module:
            raise Usage("ModuleId= needs DeviceId=")
        devices = opts["devices"]
    _unique("device", devices)
    out = []
    for dev in devices:
        _check_id("device id", dev)
        audience = "%s/devices/%s" % (host, dev)
        head = "HostName=%s;DeviceId=%s;" % (host, dev)
        if module:
            _check_id("module id", module)
            audience += "/modules/" + module
            head += "ModuleId=%s;" % module
        out.append((dev, audience, head + "SharedAccessSignature=", "", key_name, True))
    return out


def main(argv):
    opts = parse_args(argv)
    conn = opts["conn"]
    if conn is None:
        import os

        conn = os.getenv("AZURE_CONNECTION_STRING")
    if not conn:
        raise Usage("no connection string: pass it, or set AZURE_CONNECTION_STRING")
    try:
        cs = azure.parse_connection_string(conn)
    except (ValueError, TypeError) as e:
        raise Usage(str(e))
    if not cs.get("SharedAccessKey"):
        raise Usage("the connection string carries no key (SharedAccessKey=): device tokens are "
                    "made from the owner's connection string, not from a token")
    targets = plan(opts, cs)
    se = expiry_of(opts, azure.unix_time())
    key = cs["SharedAccessKey"]
    lines = []
    for name, audience, head, tail, key_name, iot in targets:
        try:
            token = azure.sas_token(audience, key, key_name, expiry=se, key_is_base64=iot)
        except ValueError as e:  # e.g. an IoT key that is not base64
            raise Usage("cannot sign for %r: %s" % (name, e))
        lines.append((name, audience, head + token + tail))
    for name, audience, line in lines:
        if opts["json"]:
            import json

            print(json.dumps({"name": name, "audience": audience, "expiry": se,
                              "connection_string": line}))
        else:
            print(line)


try:
    main(sys.argv[1:])
except Usage as e:
    sys.stderr.write("device_tokens: %s\n(--help for usage)\n" % e.args[0])
    sys.exit(2)
