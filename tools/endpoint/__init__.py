"""The local Azure-like HTTPS endpoint, one concern per module.

``tools/azure_endpoint.py`` is the launcher (same command line as ever); see
its docstring for what the endpoint does.  Modules:

    common      constants, stdout protocol, errors, small helpers
    auth        Shared Access Signature checks (hmac/hashlib/base64 only)
    config      the server's settings
    faults      seeded fault injection
    store       SQLite: schema, events, devices
    certs       development CA and server certificate
    ingest      the send routes (Event Hubs, Service Bus, IoT Hub D2C)
    servicebus  Service Bus peek-lock / receive-and-delete
    c2d         IoT Hub cloud-to-device queues
    dps         Device Provisioning Service over HTTPS
    server      HTTP handler, routing, response framing
    report      dump / count / c2d-list / sb-list
    cli         argument parsing, serve and the subcommands
    mqtt        IoT Hub over MQTT 3.1.1/TLS (asyncio, its own thread)
    mqtt_codec  MQTT packets, read and written by amqtt's classes, checked strictly
    mqtt_cli    the MQTT flags and twin-desired / twin-get / method-invoke / mqtt-drop
    iothub_topics  IoT Hub topics and property bags
    twin        device twins (SQLite, versions that only grow)
    mailbox     the CLI -> server table for methods, desired patches, drops
"""
