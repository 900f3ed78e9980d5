"""Command line: ``serve`` (the default) and the subcommands ``dump``,
``count``, ``c2d-send``, ``c2d-list``, ``sb-list``, ``revoke-publisher``,
``restore-publisher``, ``revoked-publishers``."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

from . import c2d, mqtt_cli, report
from .auth import decoded_key, raw_key
from .certs import ensure_certs, make_ssl_context
from .common import (DEFAULT_CA_NAME, DEFAULT_CERTS, DEFAULT_DB, DEFAULT_DPS_HOST,
                     DEFAULT_ID_SCOPE, DEFAULT_IOTHUB_HOST, DEFAULT_MANAGE_POLICY, DEFAULT_MAX_SIZE,
                     DEFAULT_NAMESPACE_HOST, DEFAULT_POLICY, MAX_MAX_SIZE, Output, iso, note)
from .config import Config
from .faults import Faults
from .mqtt import MqttServer
from .server import EndpointServer
from .store import Store

def _probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError("a probability must be between 0 and 1")
    return p


def _max_size(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= n <= MAX_MAX_SIZE:
        raise argparse.ArgumentTypeError(f"--max-size must be 1..{MAX_MAX_SIZE}")
    return n


def _named_key(text: str) -> tuple:
    """NAME=BASE64KEY; errors never echo the key."""
    name, eq, key = text.partition("=")
    name = name.strip()
    if not eq or not name or not key.strip():
        raise argparse.ArgumentTypeError("expected NAME=BASE64KEY")
    try:
        return name, decoded_key(key)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"key for {name!r}: {e}") from None


def _env_named_keys(var: str) -> list:
    text = os.environ.get(var, "")
    out = []
    for item in re.split(r"[\s,;]+", text.strip()):
        if item:
            try:
                out.append(_named_key(item))
            except argparse.ArgumentTypeError as e:
                raise SystemExit(f"azure_endpoint: {var}: {e}")
    return out



def _named_key_text(text: str) -> tuple:
    """NAME=BASE64KEY kept as text (DPS derives from it); errors never echo the key."""
    name, key = _named_key(text)
    return name, text.partition("=")[2].strip()


def _env_named_key_texts(var: str) -> list:
    out = []
    for item in re.split(r"[\s,;]+", os.environ.get(var, "").strip()):
        if item:
            try:
                out.append(_named_key_text(item))
            except argparse.ArgumentTypeError as e:
                raise SystemExit(f"azure_endpoint: {var}: {e}")
    return out


def _subscription(text: str) -> tuple:
    topic, slash, sub = text.strip().lower().partition("/")
    if not slash or not topic or not sub or "/" in sub:
        raise argparse.ArgumentTypeError("expected TOPIC/SUBSCRIPTION")
    return topic, sub


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError("must be more than 0")
        return value
    return parse

def build_serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="azure_endpoint.py",
        description="Local HTTPS endpoint that behaves like Azure Event Hubs, Service Bus "
                    "(send, peek-lock receive), IoT Hub (device-to-cloud, cloud-to-device) and "
                    "the Device Provisioning Service over REST (SAS-authenticated, all state in "
                    "SQLite).",
        epilog="Other subcommands: 'dump --db PATH' (table of stored events), 'count --db PATH "
               "[--json]' (counts, duplicates), 'c2d-send --db PATH --device ID --body TEXT "
               "[--property K=V] [--message-id X] [--correlation-id Y]' (queue a cloud-to-device "
               "message for the running server), 'c2d-list --db PATH [--device ID] [--json]', "
               "'sb-list --db PATH [--entity QUEUE|TOPIC/subscriptions/SUB] [--json]', "
               "'revoke-publisher --db PATH --hub HUB --publisher NAME' and 'restore-publisher' "
               "(the same), 'revoked-publishers --db PATH [--hub HUB] [--json]'. "
               "Keys: prefer the environment variables "
               "AZURE_ENDPOINT_KEY, AZURE_ENDPOINT_SECONDARY_KEY, AZURE_ENDPOINT_MANAGE_KEY, "
               "AZURE_ENDPOINT_DEVICES "
               "('dev1=KEY dev2/mod=KEY'), AZURE_ENDPOINT_IOTHUB_POLICIES ('name=KEY'), "
               "AZURE_ENDPOINT_DPS_ENROLLMENTS ('regid=KEY'), AZURE_ENDPOINT_DPS_GROUPS "
               "('group=KEY') so keys do not show in ps. A second, unrelated CA: "
               "--gen-certs-only --certs OTHER_DIR --ca-name 'Other CA'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    net = p.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on")
    net.add_argument("--port", type=int, default=0, help="port (0 = pick a free one)")
    net.add_argument("--idle-timeout", type=float, default=240.0,
                     help="close idle keep-alive connections after this many seconds")
    net.add_argument("--ciphers", default="DEFAULT",
                     help="OpenSSL cipher list (DEFAULT keeps the CBC suites the CC3200 needs)")

    eh = p.add_argument_group("Event Hubs / Service Bus")
    eh.add_argument("--namespace-host", default=DEFAULT_NAMESPACE_HOST,
                    help="Host header that selects the EH/SB logic ('' disables)")
    eh.add_argument("--policy", default=DEFAULT_POLICY, help="shared access policy name (skn)")
    eh.add_argument("--key", default=None,
                    help="the policy's key text, signed as is (visible in ps: prefer $AZURE_ENDPOINT_KEY)")
    eh.add_argument("--secondary-key", default=None,
                    help="also accept this key (or $AZURE_ENDPOINT_SECONDARY_KEY)")
    eh.add_argument("--manage-policy", default=DEFAULT_MANAGE_POLICY,
                    help="the policy with Manage rights (revokedpublishers needs it; its tokens "
                         "may also send and receive); the same name as --policy gives that "
                         "policy Manage rights")
    eh.add_argument("--manage-key", default=None,
                    help="the Manage policy's key text (visible in ps: prefer "
                         "$AZURE_ENDPOINT_MANAGE_KEY)")
    eh.add_argument("--eventhub", action="append", default=[], metavar="NAME",
                    help="declare an event hub (repeatable); if no entity is declared "
                         "at all, any name is accepted as an event hub")
    eh.add_argument("--queue", action="append", default=[], metavar="NAME",
                    help="declare a Service Bus queue (repeatable)")
    eh.add_argument("--topic", action="append", default=[], metavar="NAME",
                    help="declare a Service Bus topic (repeatable)")
    eh.add_argument("--partitions", type=int, default=4, help="partitions per event hub")
    eh.add_argument("--subscription", action="append", default=[], type=_subscription,
                    metavar="TOPIC/SUB",
                    help="declare a topic subscription (repeatable; declares the topic too): "
                         "messages sent to the topic are copied to each of its subscriptions")
    eh.add_argument("--sb-lock-seconds", type=_positive(float), default=60.0, metavar="S",
                    help="peek-lock duration; an expired lock redelivers with DeliveryCount+1")
    eh.add_argument("--sb-max-delivery", type=_positive(int), default=10, metavar="N",
                    help="deliveries before a message is dead-lettered")
    eh.add_argument("--sb-max-wait", type=float, default=60.0, metavar="S",
                    help="longest wait of POST/DELETE .../messages/head (its ?timeout= is capped "
                         "to this; also the wait without ?timeout=)")

    iot = p.add_argument_group("IoT Hub")
    iot.add_argument("--iothub-host", default=DEFAULT_IOTHUB_HOST,
                     help="Host header that selects the IoT Hub logic ('' disables)")
    iot.add_argument("--device", action="append", default=[], type=_named_key,
                     metavar="DEVICEID=BASE64KEY",
                     help="register a device (or DEVICEID/MODULEID) and its key (repeatable; "
                          "also $AZURE_ENDPOINT_DEVICES)")
    iot.add_argument("--iothub-policy", action="append", default=[], type=_named_key,
                     metavar="NAME=BASE64KEY",
                     help="hub-level policy (tokens with skn=NAME); also "
                          "$AZURE_ENDPOINT_IOTHUB_POLICIES")
    iot.add_argument("--c2d-lock-seconds", type=_positive(float), default=60.0, metavar="S",
                     help="how long a received cloud-to-device message stays locked")
    iot.add_argument("--c2d-max-delivery", type=_positive(int), default=10, metavar="N",
                     help="deliveries (abandons, expired locks) before dead-lettering")

    prov = p.add_argument_group("Device Provisioning Service")
    prov.add_argument("--dps-host", default=DEFAULT_DPS_HOST,
                      help="Host header that selects the DPS logic ('' disables)")
    prov.add_argument("--id-scope", default=DEFAULT_ID_SCOPE, help="the service's ID scope")
    prov.add_argument("--dps-enrollment", action="append", default=[], type=_named_key_text,
                      metavar="REGID=BASE64KEY",
                      help="individual enrollment (repeatable; also $AZURE_ENDPOINT_DPS_ENROLLMENTS)")
    prov.add_argument("--dps-group", action="append", default=[], type=_named_key_text,
                      metavar="NAME=BASE64KEY",
                      help="symmetric-key enrollment group (repeatable; also "
                           "$AZURE_ENDPOINT_DPS_GROUPS); device key = base64(HMAC-SHA256("
                           "base64decode(group key), registration id))")
    prov.add_argument("--dps-disabled", action="append", default=[], metavar="REGID_OR_GROUP",
                      help="this enrollment's registrations end with status 'disabled'")
    prov.add_argument("--dps-failed", action="append", default=[], metavar="REGID_OR_GROUP",
                      help="this enrollment's registrations end with status 'failed'")
    prov.add_argument("--dps-never-assign", action="append", default=[], metavar="REGID_OR_GROUP",
                      help="this enrollment's operations stay 'assigning' forever (202 on every poll)")
    prov.add_argument("--dps-polls", type=int, default=1, metavar="N",
                      help="operation GETs answered 'assigning' before the outcome")
    prov.add_argument("--dps-retry-after", type=int, default=1, metavar="S",
                      help="Retry-After seconds on DPS 202 answers")

    gen = p.add_argument_group("behaviour")
    gen.add_argument("--clock-offset", type=float, default=0.0,
                     help="seconds added to the server clock (token expiry tests)")
    gen.add_argument("--max-size", type=_max_size, default=DEFAULT_MAX_SIZE,
                     help=f"largest accepted body in bytes (at most {MAX_MAX_SIZE}); larger -> 413")
    gen.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database")
    gen.add_argument("--reset-db", action="store_true", help="delete everything stored (events, receive queues, DPS state and the devices DPS assigned) at startup")
    gen.add_argument("--verbose", action="store_true", help="log every request on stderr")

    tls = p.add_argument_group("certificates")
    tls.add_argument("--certs", type=Path, default=DEFAULT_CERTS,
                     help="directory with ca.pem, ca.der, ca.key, server.pem, server.key "
                          "(created or refreshed as needed)")
    tls.add_argument("--ca-name", default=DEFAULT_CA_NAME,
                     help="CA common name; a different name in an existing dir makes a new CA")
    tls.add_argument("--san", action="append", default=[], metavar="NAME_OR_IP",
                     help="extra server certificate name (repeatable), e.g. the PC's LAN IP")
    tls.add_argument("--gen-certs-only", action="store_true",
                     help="write the certificates and exit")

    fl = p.add_argument_group("fault injection (deterministic for a given --seed)")
    fl.add_argument("--seed", type=int, default=0, help="random seed")
    fl.add_argument("--fail-503", type=_probability, default=0.0, metavar="P",
                    help="answer 503 Server Busy (SubCode 50002) with Retry-After, store nothing")
    fl.add_argument("--fail-429", type=_probability, default=0.0, metavar="P",
                    help="answer 429 Too Many Requests with Retry-After, store nothing")
    fl.add_argument("--retry-after", type=int, default=1, metavar="N",
                    help="Retry-After seconds sent with 503/429")
    fl.add_argument("--drop-request", type=_probability, default=0.0, metavar="P",
                    help="read part of the request, then close (nothing stored)")
    fl.add_argument("--drop-response", type=_probability, default=0.0, metavar="P",
                    help="store, then close after part of the status line (or nothing)")
    fl.add_argument("--slow", type=float, default=0.0, metavar="S",
                    help="sleep S seconds before responding")
    fl.add_argument("--slow-p", type=_probability, default=1.0, metavar="P",
                    help="probability of --slow")
    fl.add_argument("--chunked", action="store_true",
                    help="send responses with Transfer-Encoding: chunked (not 204s, per RFC 9112)")
    fl.add_argument("--chunk-size", type=int, default=64,
                    help="chunk size for --chunked (the first chunk is at most 7 bytes)")
    mqtt_cli.add_serve_arguments(p)
    return p

def _cert_names(args) -> list:
    return [n for n in (args.namespace_host, args.iothub_host, args.dps_host, "localhost",
                        "127.0.0.1", "::1", *args.san) if n]


def cmd_serve(argv: Sequence[str]) -> int:
    parser = build_serve_parser()
    args = parser.parse_args(argv)
    if args.partitions < 1:
        parser.error("--partitions must be at least 1")
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")

    files, actions = ensure_certs(args.certs, _cert_names(args), args.ca_name)
    for a in actions:
        note(f"{a} in {files.dir}")
    if args.gen_certs_only:
        note(f"certificates ready: {files.ca_pem}, {files.ca_der}, {files.server_pem}")
        return 0

    key = args.key if args.key is not None else os.environ.get("AZURE_ENDPOINT_KEY")
    key2 = (args.secondary_key if args.secondary_key is not None
            else os.environ.get("AZURE_ENDPOINT_SECONDARY_KEY"))
    manage_key = (args.manage_key if args.manage_key is not None
                  else os.environ.get("AZURE_ENDPOINT_MANAGE_KEY"))
    devices = dict(_env_named_keys("AZURE_ENDPOINT_DEVICES"))
    devices.update(dict(args.device))
    policies = dict(_env_named_keys("AZURE_ENDPOINT_IOTHUB_POLICIES"))
    policies.update(dict(args.iothub_policy))
    enrollments = dict(_env_named_key_texts("AZURE_ENDPOINT_DPS_ENROLLMENTS"))
    enrollments.update(dict(args.dps_enrollment))
    groups = dict(_env_named_key_texts("AZURE_ENDPOINT_DPS_GROUPS"))
    groups.update(dict(args.dps_group))
    topics = {n.lower() for n in args.topic} | {t for t, _ in args.subscription}
    subscriptions: dict = {}
    for topic, sub in args.subscription:
        subscriptions.setdefault(topic, []).append(sub)

    cfg = Config(
        namespace_host=args.namespace_host.strip().lower().rstrip("."),
        policy=args.policy,
        eh_keys=[raw_key(k) for k in (key, key2) if k],
        manage_policy=args.manage_policy,
        manage_keys=[raw_key(manage_key)] if manage_key else [],
        eventhubs={n.lower() for n in args.eventhub},
        queues={n.lower() for n in args.queue},
        topics=topics,
        subscriptions=subscriptions,
        partitions=args.partitions,
        iothub_host=args.iothub_host.strip().lower().rstrip("."),
        devices=devices,
        iothub_policies=policies,
        clock_offset=args.clock_offset,
        max_size=args.max_size,
        idle_timeout=args.idle_timeout,
        chunked=args.chunked,
        chunk_size=args.chunk_size,
        retry_after=args.retry_after,
        verbose=args.verbose,
        sb_lock_seconds=args.sb_lock_seconds,
        sb_max_delivery=args.sb_max_delivery,
        sb_max_wait=args.sb_max_wait,
        c2d_lock_seconds=args.c2d_lock_seconds,
        c2d_max_delivery=args.c2d_max_delivery,
        dps_host=args.dps_host.strip().lower().rstrip("."),
        id_scope=args.id_scope,
        dps_enrollments=enrollments,
        dps_groups=groups,
        dps_disabled=set(args.dps_disabled),
        dps_failed=set(args.dps_failed),
        dps_never_assign=set(args.dps_never_assign),
        dps_polls=max(args.dps_polls, 0),
        dps_retry_after=args.dps_retry_after,
    )
    if cfg.namespace_host and not cfg.namespace_keys():
        note("warning: no Event Hubs/Service Bus key (--key or AZURE_ENDPOINT_KEY): "
             "every EH/SB request will get 401")
    faults = Faults(seed=args.seed, drop_request=args.drop_request, fail_503=args.fail_503,
                    fail_429=args.fail_429, slow=args.slow,
                    slow_p=args.slow_p if args.slow > 0 else 0.0,
                    drop_response=args.drop_response)
    store = Store(args.db, reset=args.reset_db)
    ssl_ctx = make_ssl_context(files.server_pem, files.server_key, args.ciphers)
    out = Output()
    server = EndpointServer((args.host, args.port), cfg, ssl_ctx, store, faults, out)
    mqtt_server = None
    mqtt_opts = mqtt_cli.options_from_args(args)
    if mqtt_opts.port is not None:
        mqtt_server = MqttServer(cfg, mqtt_opts, ssl_ctx, store, out, host=args.host)
        try:
            mqtt_port = mqtt_server.start()
        except OSError as e:
            note(f"cannot listen for MQTT on {args.host}:{mqtt_opts.port}: {e}")
            server.server_close()
            store.close()
            return 1
        note(f"MQTT (IoT Hub) listening on {args.host}:{mqtt_port}")
        out.line(f"MQTT-READY port={mqtt_port}")

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="serve", daemon=True)
    thread.start()
    port = server.server_address[1]
    note(f"listening on {args.host}:{port}; eventhub/servicebus host "
         f"{cfg.namespace_host or '(off)'} policy {cfg.policy} "
         f"({len(cfg.eh_keys)} key(s)), manage policy {cfg.manage_policy} "
         f"({'a key' if cfg.manage_keys else 'no key'}); iothub host {cfg.iothub_host or '(off)'} "
         f"devices [{', '.join(sorted(cfg.devices)) or '-'}]; dps host {cfg.dps_host or '(off)'} "
         f"scope {cfg.id_scope} ({len(cfg.dps_enrollments)} enrollment(s), "
         f"{len(cfg.dps_groups)} group(s)); db {args.db}; ca {files.ca_pem}")
    out.line(f"READY port={port}")
    try:
        while not stop.wait(0.1):
            pass
    finally:
        server.shutdown()
        server.server_close()
        if mqtt_server is not None:
            mqtt_server.stop()
        store.close()
        note("stopped")
    return 0


def cmd_c2d_send(args) -> int:
    props = {}
    for item in args.property:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise SystemExit(f"azure_endpoint: --property {item!r}: expected NAME=VALUE")
        props[name] = value
    body = Path(args.body_file).read_bytes() if args.body_file else args.body.encode("utf-8")
    try:
        sent = c2d.enqueue(args.db, args.device, body, properties=props,
                           message_id=args.message_id, correlation_id=args.correlation_id,
                           content_type=args.content_type,
                           content_encoding=args.content_encoding, ttl=args.ttl,
                           max_queued=args.max_queued)
    except (c2d.QueueFull, ValueError) as e:
        print(f"azure_endpoint: c2d-send refused: {e}", file=sys.stderr)
        return 1
    print(f"enqueued c2d device={args.device} id={sent['id']} message-id={sent['message_id']}")
    return 0


def cmd_revocation(command: str, args) -> int:
    """revoke-publisher / restore-publisher / revoked-publishers on the
    database a running server uses (it sees the change on its next request)."""
    store = Store(args.db)
    try:
        if command == "revoked-publishers":
            rows = store.revoked_publishers(args.hub)
            if args.json:
                print(json.dumps([{"hub": h, "publisher": p, "revoked": t} for h, p, t in rows]))
            else:
                for hub, name, ts in rows:
                    print(f"revoked hub={hub} publisher={name} since={iso(ts)}")
                if not rows:
                    print("no revoked publishers" + (f" on {args.hub}" if args.hub else ""))
            return 0
        status = 0
        for name in args.publisher:
            if command == "revoke-publisher":
                if store.revoke_publisher(args.hub, name, time.time()):
                    print(f"revoked publisher hub={args.hub.lower()} publisher={name}")
                else:
                    print(f"azure_endpoint: publisher {name!r} of {args.hub!r} is already revoked",
                          file=sys.stderr)
                    status = 1
            elif store.restore_publisher(args.hub, name):
                print(f"restored publisher hub={args.hub.lower()} publisher={name}")
            else:
                print(f"azure_endpoint: publisher {name!r} of {args.hub!r} is not revoked",
                      file=sys.stderr)
                status = 1
        return status
    finally:
        store.close()


def _subcommand_parser(name: str) -> argparse.ArgumentParser:
    sub = argparse.ArgumentParser(prog=f"azure_endpoint.py {name}")
    sub.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database")
    return sub


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else ""
    if command in ("dump", "count"):
        sub = _subcommand_parser(command)
        if command == "dump":
            sub.add_argument("--limit", type=int, default=0, help="only the last N events")
            sub.add_argument("--width", type=int, default=40, help="preview width")
            return report.cmd_dump(sub.parse_args(argv[1:]))
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        return report.cmd_count(sub.parse_args(argv[1:]))
    if command == "c2d-send":
        sub = _subcommand_parser(command)
        sub.add_argument("--device", required=True, help="device id")
        body = sub.add_mutually_exclusive_group(required=True)
        body.add_argument("--body", help="message body (UTF-8 text)")
        body.add_argument("--body-file", help="message body from a file (bytes as they are)")
        sub.add_argument("--property", action="append", default=[], metavar="NAME=VALUE",
                         help="application property, sent as iothub-app-NAME (repeatable)")
        sub.add_argument("--message-id", help="default: a new UUID")
        sub.add_argument("--correlation-id")
        sub.add_argument("--content-type")
        sub.add_argument("--content-encoding")
        sub.add_argument("--ttl", type=float, default=c2d.DEFAULT_TTL,
                         help="seconds until the message expires (0 = never)")
        sub.add_argument("--max-queued", type=int, default=c2d.DEFAULT_MAX_QUEUED,
                         help="refuse when the device has this many messages waiting")
        return cmd_c2d_send(sub.parse_args(argv[1:]))
    if command in ("c2d-list", "sb-list"):
        sub = _subcommand_parser(command)
        if command == "c2d-list":
            sub.add_argument("--device", help="only this device")
        else:
            sub.add_argument("--entity", help="queue or TOPIC/subscriptions/SUB")
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.add_argument("--width", type=int, default=40, help="preview width")
        args = sub.parse_args(argv[1:])
        return report.cmd_c2d_list(args) if command == "c2d-list" else report.cmd_sb_list(args)
    if command in ("revoke-publisher", "restore-publisher", "revoked-publishers"):
        sub = _subcommand_parser(command)
        if command == "revoked-publishers":
            sub.add_argument("--hub", help="only this event hub")
            sub.add_argument("--json", action="store_true", help="print JSON")
        else:
            sub.add_argument("--hub", required=True, help="the event hub")
            sub.add_argument("--publisher", required=True, action="append",
                             help="publisher name (repeatable)")
        return cmd_revocation(command, sub.parse_args(argv[1:]))
    if command in mqtt_cli.COMMANDS:
        return mqtt_cli.main(command, argv[1:])
    if command == "serve":
        argv = argv[1:]
    return cmd_serve(argv)
