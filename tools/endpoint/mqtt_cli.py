"""The MQTT side's command line: the serve flags and the subcommands that talk
to a running server through the database (mailbox.py)::

    twin-desired  --db PATH --device ID --json '{"interval":60}'
                  merge into the desired document ($version + 1); a connected,
                  subscribed device gets the patch pushed
    twin-get      --db PATH --device ID       print the twin (both documents)
    method-invoke --db PATH --device ID --name NAME [--payload JSON] [--timeout S]
                  call a direct method; prints {"status": S, "payload": P} (exit 0),
                  or "error 404 DeviceNotOnline ..." / "error 504 GatewayTimeout ..."
                  on stderr (exit 1)
    mqtt-drop     --db PATH [--device ID] [--refuse-seconds S]
                  close the MQTT connections now (no DISCONNECT, as a network
                  drop) and refuse CONNECT with CONNACK 3 for S seconds"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import mailbox, twin
from .common import DEFAULT_DB
from .mqtt import DEFAULT_PORT, MqttOptions
from .store import Store

COMMANDS = ("twin-desired", "twin-get", "method-invoke", "mqtt-drop")


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return n


def _port(text: str) -> int:
    n = _count(text)
    if n > 65535:
        raise argparse.ArgumentTypeError("a port is 0..65535")
    return n


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = (p.epilog or "") + (
        " MQTT subcommands (the server must run with --mqtt/--mqtt-port on the same --db): "
        "'twin-desired --db PATH --device ID --json OBJECT', 'twin-get --db PATH --device ID', "
        "'method-invoke --db PATH --device ID --name NAME [--payload JSON] [--timeout S]', "
        "'mqtt-drop --db PATH [--device ID] [--refuse-seconds S]'.")
    g = p.add_argument_group("IoT Hub over MQTT (TLS, same certificates, devices and database)")
    g.add_argument("--mqtt", action="store_true",
                   help=f"listen for MQTT on port {DEFAULT_PORT} (or --mqtt-port)")
    g.add_argument("--mqtt-port", type=_port, default=None, metavar="PORT",
                   help="listen for MQTT on PORT (0 = pick a free one); stdout then carries "
                        "'MQTT-READY port=N' before 'READY port=M'")
    g.add_argument("--mqtt-drop-publish", type=_count, default=0, metavar="N",
                   help="every Nth telemetry PUBLISH: close the connection without storing it")
    g.add_argument("--mqtt-drop-puback", type=_count, default=0, metavar="N",
                   help="every Nth telemetry PUBLISH: store it, then close before the PUBACK")
    g.add_argument("--mqtt-delay-puback", type=_count, default=0, metavar="MS",
                   help="send telemetry PUBACKs MS milliseconds late (reading goes on)")
    g.add_argument("--mqtt-refuse-connect", action="store_true",
                   help="answer every CONNECT with CONNACK 3 (server unavailable)")
    g.add_argument("--mqtt-refuse-seconds", type=float, default=0.0, metavar="S",
                   help="after each drop the endpoint makes (--mqtt-drop-*, token expiry, "
                        "mqtt-drop), answer CONNECT with CONNACK 3 for S seconds")
    g.add_argument("--mqtt-token-expiry-disconnect", action="store_true",
                   help="close a connection when its SAS token's se passes, as IoT Hub does")
    g.add_argument("--mqtt-twin-fail", type=_count, default=0, metavar="N",
                   help="answer every Nth twin request (GET or reported PATCH) with "
                        "--mqtt-twin-fail-status, changing nothing")
    g.add_argument("--mqtt-twin-fail-status", type=int, default=429, metavar="STATUS",
                   help="the status of --mqtt-twin-fail answers (429, 500, 503...)")


def options_from_args(args) -> MqttOptions:
    port = args.mqtt_port if args.mqtt_port is not None else (DEFAULT_PORT if args.mqtt else None)
    return MqttOptions(port=port, drop_publish=args.mqtt_drop_publish,
                       drop_puback=args.mqtt_drop_puback, delay_puback_ms=args.mqtt_delay_puback,
                       refuse_connect=args.mqtt_refuse_connect,
                       refuse_seconds=max(args.mqtt_refuse_seconds, 0.0),
                       token_expiry_disconnect=args.mqtt_token_expiry_disconnect,
                       twin_fail=args.mqtt_twin_fail, twin_fail_status=args.mqtt_twin_fail_status)


def _error(text: str) -> int:
    print(f"azure_endpoint: {text}", file=sys.stderr)
    return 1


def cmd_twin_desired(args) -> int:
    try:
        changes = json.loads(args.json)
    except json.JSONDecodeError as e:
        return _error(f"twin-desired: --json is not JSON: {e}")
    if not isinstance(changes, dict):
        return _error("twin-desired: --json must be a JSON object")
    try:
        twin._check(changes)
    except twin.TwinError as e:
        return _error(f"twin-desired: {e}")
    store = Store(args.db)
    try:
        version, _rid = mailbox.post_desired(store, args.device, changes)
    except twin.TwinError as e:
        return _error(f"twin-desired: {e}")
    finally:
        store.close()
    print(f"desired device={args.device} version={version}")
    return 0


def cmd_twin_get(args) -> int:
    store = Store(args.db)
    try:
        print(json.dumps(twin.get(store, args.device)))
    finally:
        store.close()
    return 0


def cmd_method_invoke(args) -> int:
    try:
        json.loads(args.payload)
    except json.JSONDecodeError as e:
        return _error(f"method-invoke: --payload is not JSON: {e}")
    if not args.name or not 0 < args.timeout <= 300:
        return _error("method-invoke: --name must not be empty and --timeout be 0 < S <= 300")
    store = Store(args.db)
    try:
        deadline = time.time() + args.timeout
        rid = mailbox.post(store, "method", args.device, name=args.name,
                           payload=args.payload.encode("utf-8"), deadline=deadline)
        row = mailbox.wait(store, rid, deadline + 1.0)
    finally:
        store.close()
    if row["state"] == "done":
        raw = bytes(row["response"] or b"")
        try:
            payload = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error("error 502 InvalidResponseWhileProxying: the device answered status "
                          f"{row['status']} with a payload that is not JSON ({len(raw)} bytes)")
        print(json.dumps({"status": row["status"], "payload": payload}))
        return 0
    if row["state"] == "failed" and row["status"] == 404:
        return _error(f"error 404 {row['error']}")
    if row["state"] == "timeout":
        return _error(f"error 504 GatewayTimeout: device {args.device!r} did not answer method "
                      f"{args.name!r} within {args.timeout:g} s")
    return _error(f"error {row['status'] or 503} {row['error'] or row['state']}")


def cmd_mqtt_drop(args) -> int:
    store = Store(args.db)
    try:
        rid = mailbox.post(store, "drop", args.device, number=max(args.refuse_seconds, 0.0))
        row = mailbox.wait(store, rid, time.time() + args.wait)
    finally:
        store.close()
    if row["state"] != "done":
        return _error(f"mqtt-drop: {row['error'] or row['state']}")
    dropped = json.loads(bytes(row["response"]).decode())["dropped"]
    print(f"dropped mqtt connections={dropped} refuse-seconds={args.refuse_seconds:g}")
    return 0


def main(command: str, argv) -> int:
    sub = argparse.ArgumentParser(prog=f"azure_endpoint.py {command}")
    sub.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database")
    if command == "mqtt-drop":
        sub.add_argument("--device", help="only this device's connection (default: all)")
        sub.add_argument("--refuse-seconds", type=float, default=0.0, metavar="S",
                         help="then answer CONNECT with CONNACK 3 for S seconds")
        sub.add_argument("--wait", type=float, default=10.0, metavar="S",
                         help="how long to wait for the server to act")
        return cmd_mqtt_drop(sub.parse_args(argv))
    sub.add_argument("--device", required=True, help="device id (or DEVICE/MODULE)")
    if command == "twin-desired":
        sub.add_argument("--json", required=True, help="the desired-properties patch (object)")
        return cmd_twin_desired(sub.parse_args(argv))
    if command == "twin-get":
        return cmd_twin_get(sub.parse_args(argv))
    sub.add_argument("--name", required=True, help="method name")
    sub.add_argument("--payload", default="null", help="JSON payload (default null)")
    sub.add_argument("--timeout", type=float, default=30.0,
                     help="seconds to wait for the device's answer (responseTimeoutInSeconds)")
    return cmd_method_invoke(sub.parse_args(argv))
