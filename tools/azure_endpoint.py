#!/usr/bin/env python3
"""A local HTTPS endpoint that behaves like Azure's REST endpoints for devices.

For development, the demo and end-to-end tests of the MicroPython Azure module.
It speaks the same wire protocol as

* Event Hubs   ``POST /{hub}/messages``
               ``POST /{hub}/publishers/{publisher}/messages``
               ``POST /{hub}/partitions/{partitionId}/messages``   -> 201 Created
* Service Bus  ``POST /{queue-or-topic}/messages``                   -> 201 Created
* IoT Hub      ``POST /devices/{deviceId}/messages/events``
               ``POST /devices/{deviceId}/modules/{moduleId}/messages/events`` -> 204

with single events (body as is, user properties as extra headers,
``BrokerProperties`` JSON header, ``iothub-app-*`` headers) and batches
(``application/vnd.microsoft.servicebus.json`` / ``application/vnd.microsoft.iothub.json``).
To receive and provision (see tools/endpoint/servicebus.py, c2d.py, dps.py):

* Service Bus  ``POST   /{queue}/messages/head?timeout=N`` (also
               ``/{topic}/subscriptions/{sub}/messages/head``) peek-lock -> 201 / 204
               ``DELETE /{queue}/messages/head?timeout=N`` receive-and-delete -> 200 / 204
               ``DELETE /{queue}/messages/{sequenceNumber}/{lockToken}`` complete -> 200
               ``PUT    /{queue}/messages/{sequenceNumber}/{lockToken}`` unlock -> 200
* IoT Hub C2D  ``GET    /devices/{id}/messages/deviceBound`` -> 200 (ETag = lock) / 204
               ``DELETE /devices/{id}/messages/deviceBound/{lockToken}[?reject]`` -> 204
               ``POST   /devices/{id}/messages/deviceBound/{lockToken}/abandon`` -> 204
* Event Hubs   ``PUT    /{hub}/revokedpublishers/{publisher}`` revoke -> 201 / 409
  revocation   ``DELETE /{hub}/revokedpublishers/{publisher}`` restore -> 200 / 404
               ``GET    /{hub}/revokedpublishers`` -> 200 (Atom feed); these need a
               token of the Manage policy (``--manage-policy``, key in
               AZURE_ENDPOINT_MANAGE_KEY); a revoked publisher's sends get 401
               PublisherRevoked (tools/endpoint/revocation.py)
* DPS          ``PUT    /{idScope}/registrations/{registrationId}/register`` -> 202
               ``GET    /{idScope}/registrations/{registrationId}/operations/{operationId}``

Requests whose ``Host`` (port stripped) equals ``--namespace-host`` go to the
Event Hubs / Service Bus logic, those matching ``--iothub-host`` to IoT Hub,
``--dps-host`` (global.azure-devices-provisioning.net) to DPS; anything else
is 404.  Wrong method on a known path: 405 with ``Allow``.

Every request is authenticated with a Shared Access Signature, validated
independently of the project's code (hmac/hashlib/base64/urllib only):
signature over ``<sr exactly as sent>\\n<se>``; the HMAC key is the key text's
bytes for Event Hubs/Service Bus and the base64-DECODED key for IoT Hub; the
token must not be expired (``se`` > now + ``--clock-offset``); the decoded
``sr`` must be a path-segment prefix of the requested resource (scheme
optional); ``skn`` must name the configured policy (EH/SB) and must be absent
for IoT Hub device/module keys (unless it names an ``--iothub-policy``).
Failures give 401 with an Azure-like body whose detail says which check failed
(MissingToken, MalformedToken, MissingKeyName, UnknownKeyName, UnknownDevice,
InvalidSignature, ExpiredToken, InvalidAudience).

DPS tokens: ``sr={idScope}/registrations/{registrationId}`` (percent-encoded
as sent, either hex case), ``skn=registration``, signed with the decoded
device key (the individual enrollment's, or derived from the group's).

Accepted events are stored in SQLite (``--db``), one row per event, a batch in
one transaction, committed before the success response is sent::

    events(id INTEGER PRIMARY KEY, service TEXT, entity TEXT, publisher TEXT,
           partition_id TEXT, partition_key TEXT, device_id TEXT, body BLOB,
           properties TEXT /*JSON*/, broker_properties TEXT /*JSON*/,
           arrived REAL, request_id INTEGER, batch_index INTEGER)

``service`` is ``eventhub``, ``servicebus`` or ``iothub``.  For IoT Hub
``entity`` is the hub name (first label of the host), ``device_id`` the device,
``properties`` the application properties (``iothub-app-`` stripped) and
``broker_properties`` the system properties (``iothub-messageid``, ...,
``iothub-connection-device-id``, ``iothub-connection-module-id``).

The same database holds the receive side (schema in tools/endpoint/store.py):
``sb_messages`` (a message sent to a queue, or copied to each ``--subscription``
of a topic, with its lock and DeliveryCount), ``c2d_messages`` (per-device
cloud-to-device queues), ``dps_operations`` and ``devices`` (identities DPS
assigned to the local hub, usable at once for sending and C2D).  Locks expire
after ``--sb-lock-seconds`` / ``--c2d-lock-seconds`` (60) and the message is
delivered again with its count + 1; after ``--sb-max-delivery`` /
``--c2d-max-delivery`` (10) deliveries it is dead-lettered.  At most 50
cloud-to-device messages wait per device.

TLS: ``--certs DIR`` holds ``ca.pem``, ``ca.der`` (the form the WiPy wants at
/flash/cert/ca.pem), ``ca.key``, ``server.pem``, ``server.key``; created on
first use (RSA 2048, SHA-256, notBefore 2000-01-01 so boards with an unset
clock still accept it; SAN = namespace host, IoT hub host, localhost,
127.0.0.1, ::1 and any ``--san``) and reused while still valid.  A second,
unrelated CA (for "a server certificate from another CA must be refused"
tests) is simply another directory::

    python tools/azure_endpoint.py --gen-certs-only --certs build/certs-other --ca-name "Other CA"

and a client given ``build/certs-other/ca.der`` must refuse a server started
with ``--certs build/certs``.

Output: stdout carries exactly ``READY port=<port>`` once listening, then one
line per stored request (``accepted eventhub hub=telemetry publisher=dev1
events=50 bytes=2300 request=7``), ``rejected <status> ...`` and ``fault ...``
lines, and for the receive side ``locked``/``received-and-deleted``/``empty``/
``completed``/``abandoned``/``dead-lettered``/``delivered c2d`` and
``registering``/``assigning``/``assigned``/``failed``/``disabled`` lines;
everything is flushed at once.  Human-oriented notes go to stderr.
Keys are never printed; pass them through the environment (AZURE_ENDPOINT_KEY,
AZURE_ENDPOINT_SECONDARY_KEY, AZURE_ENDPOINT_MANAGE_KEY, AZURE_ENDPOINT_DEVICES, AZURE_ENDPOINT_IOTHUB_POLICIES,
AZURE_ENDPOINT_DPS_ENROLLMENTS ``regid=KEY``, AZURE_ENDPOINT_DPS_GROUPS ``group=KEY``)
so they do not show in ``ps``.

Typical use (demo / end-to-end tests)::

    export AZURE_ENDPOINT_KEY='<policy key>' AZURE_ENDPOINT_DEVICES='dev1=<base64 key>'
    .venv/bin/python tools/azure_endpoint.py --eventhub telemetry --queue orders \
        --db build/endpoint.sqlite3 --certs build/certs --reset-db
    # -> READY port=NNNNN ; clients connect to 127.0.0.1:NNNNN with SNI/Host
    #    demo-ns.servicebus.windows.net (or demo-hub.azure-devices.net) and
    #    trust build/certs/ca.pem (ca.der on the board)

Subcommands (the default is ``serve``)::

    azure_endpoint.py [serve] [options]     run the server (see --help)
    azure_endpoint.py dump  --db PATH       print stored events as a table
    azure_endpoint.py count --db PATH       print counts (and duplicates)
    azure_endpoint.py c2d-send --db PATH --device ID --body TEXT [--property K=V]
                      [--message-id X] [--correlation-id Y]   queue a C2D message
    azure_endpoint.py c2d-list --db PATH [--device ID] [--json]
    azure_endpoint.py sb-list  --db PATH [--entity NAME] [--json]
    azure_endpoint.py revoke-publisher  --db PATH --hub HUB --publisher NAME
    azure_endpoint.py restore-publisher --db PATH --hub HUB --publisher NAME
    azure_endpoint.py revoked-publishers --db PATH [--hub HUB] [--json]
    azure_endpoint.py twin-desired  --db PATH --device ID --json '{...}'   desired patch
    azure_endpoint.py twin-get      --db PATH --device ID
    azure_endpoint.py method-invoke --db PATH --device ID --name NAME [--payload JSON]
                      [--timeout S]   prints {"status": .., "payload": ..}
    azure_endpoint.py mqtt-drop     --db PATH [--device ID] [--refuse-seconds S]

IoT Hub over MQTT 3.1.1 (``--mqtt`` on 8883, or ``--mqtt-port N``, 0 = a free
port; stdout then says ``MQTT-READY port=N`` before ``READY``): same TLS
certificates, devices, tokens and SQLite file as HTTPS; telemetry into
``events``, twins (table ``twins``), direct methods and desired patches from
the subcommands above (through the table ``mqtt_requests``, which the server
polls), cloud-to-device from the same queue as HTTPS.  Faults:
``--mqtt-drop-publish N``, ``--mqtt-drop-puback N``, ``--mqtt-delay-puback MS``,
``--mqtt-refuse-connect``, ``--mqtt-refuse-seconds S``,
``--mqtt-token-expiry-disconnect``, ``--mqtt-twin-fail N``
[``--mqtt-twin-fail-status 429``].  Details: tools/endpoint/mqtt.py.

Faults are injected deterministically from ``--seed``, on every route (send,
receive, settle, DPS): every request draws the same number of random values in
the same order, so a given sequence of requests on one connection always meets
the same faults.  503/429 change nothing; drop-response happens after the
change (a lock taken, a message deleted, an operation created).

The code lives in the package tools/endpoint/ (one concern per module); this
file is its launcher, with the same command line as ever.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Re-exported for tests and scripts that import this file as a module.
from endpoint.auth import (AuthError, SigningKey, audience_matches, decoded_key,  # noqa: E402,F401
                           derive_device_key, parse_sas_token, raw_key, verify_sas)
from endpoint.certs import ensure_certs, make_ssl_context  # noqa: E402,F401
from endpoint.cli import build_serve_parser, main  # noqa: E402,F401
from endpoint.config import Config  # noqa: E402,F401
from endpoint.store import EventRow, EventStore, Store  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
