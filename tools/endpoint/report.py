"""Read-only views of the database: ``dump`` (events), ``count``, and the
receive queues ``c2d-list`` / ``sb-list``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

def _open_db_readonly(path: Path) -> sqlite3.Connection:
    if not Path(path).exists():
        raise SystemExit(f"azure_endpoint: no database at {path}")
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10)
    return conn


def _preview(data: bytes, width: int) -> str:
    text = bytes(data).decode("utf-8", errors="backslashreplace")
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def cmd_dump(args) -> int:
    conn = _open_db_readonly(args.db)
    sql = ("SELECT id, service, entity, publisher, partition_id, partition_key, device_id, body,"
           " properties, broker_properties, request_id, batch_index FROM events ORDER BY id")
    rows = conn.execute(sql).fetchall()
    if args.limit:
        rows = rows[-args.limit:]
    header = ("id", "service", "entity/device", "publisher", "part", "pkey", "body", "properties")
    table = []
    for (rid, service, entity, publisher, pid, pkey, device, body, props, broker, _req, _idx) in rows:
        if service == "iothub":
            try:
                module = json.loads(broker or "{}").get("iothub-connection-module-id")
            except (json.JSONDecodeError, AttributeError):
                module = None
            where = f"{device}/{module}" if module else str(device)
        else:
            where = str(entity)
        try:
            pj = json.loads(props or "{}")
            ptxt = "" if not pj else json.dumps(pj, ensure_ascii=False, separators=(",", ":"))
        except json.JSONDecodeError:
            ptxt = props or ""
        table.append((str(rid), service or "", where, publisher or "", pid or "", pkey or "",
                      _preview(body or b"", args.width),
                      ptxt if len(ptxt) <= args.width else ptxt[: args.width - 3] + "..."))
    widths = [max([len(h)] + [len(r[i]) for r in table]) for i, h in enumerate(header)]
    fmt = "  ".join("{:<%d}" % w for w in widths[:-1]) + "  {}"
    print(fmt.format(*header))
    print(fmt.format(*["-" * w for w in widths]))
    for r in table:
        print(fmt.format(*r))
    total = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    print(f"({len(table)} of {total} events)")
    return 0


def count_summary(db: Path) -> dict:
    conn = _open_db_readonly(db)
    total = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    requests = conn.execute("SELECT COUNT(DISTINCT request_id) FROM events").fetchone()[0]
    by = conn.execute(
        "SELECT service, CASE WHEN service='iothub' THEN device_id ELSE entity END, COUNT(*)"
        " FROM events GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    dups = conn.execute(
        "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM events GROUP BY service,"
        " entity, publisher, partition_id, partition_key, device_id, body, properties)"
    ).fetchone()[0]
    conn.close()
    return {"events": total, "requests": requests,
            "by_entity": [{"service": s, "entity": e, "events": n} for s, e, n in by],
            "duplicates": dups}


def cmd_count(args) -> int:
    summary = count_summary(args.db)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"events {summary['events']}")
    print(f"requests {summary['requests']}")
    for row in summary["by_entity"]:
        print(f"{row['service']} {row['entity']} {row['events']}")
    print(f"duplicates {summary['duplicates']}")
    return 0


def _table(header: tuple, table: list) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in table]) for i, h in enumerate(header)]
    fmt = "  ".join("{:<%d}" % w for w in widths[:-1]) + "  {}"
    print(fmt.format(*header))
    print(fmt.format(*["-" * w for w in widths]))
    for r in table:
        print(fmt.format(*r))


def cmd_c2d_list(args) -> int:
    conn = _open_db_readonly(args.db)
    sql = ("SELECT id, device_id, state, delivery_count, message_id, correlation_id, body,"
           " properties FROM c2d_messages")
    params: tuple = ()
    if args.device:
        sql += " WHERE device_id=?"
        params = (args.device,)
    rows = conn.execute(sql + " ORDER BY id", params).fetchall()
    if args.json:
        print(json.dumps([{"id": i, "device": d, "state": s, "delivery_count": n,
                           "message_id": m, "correlation_id": c,
                           "body": bytes(b).decode("utf-8", "backslashreplace"),
                           "properties": json.loads(p or "{}")}
                          for i, d, s, n, m, c, b, p in rows]))
        return 0
    _table(("id", "device", "state", "deliveries", "message-id", "body"),
           [(str(i), d, s, str(n), m or "", _preview(b or b"", args.width))
            for i, d, s, n, m, _c, b, _p in rows])
    return 0


def cmd_sb_list(args) -> int:
    conn = _open_db_readonly(args.db)
    sql = "SELECT seq, entity, state, delivery_count, message_id, body FROM sb_messages"
    params: tuple = ()
    if args.entity:
        sql += " WHERE entity=?"
        params = (args.entity.lower(),)
    rows = conn.execute(sql + " ORDER BY seq", params).fetchall()
    if args.json:
        print(json.dumps([{"seq": q, "entity": e, "state": s, "delivery_count": n,
                           "message_id": m, "body": bytes(b).decode("utf-8", "backslashreplace")}
                          for q, e, s, n, m, b in rows]))
        return 0
    _table(("seq", "entity", "state", "deliveries", "message-id", "body"),
           [(str(q), e, s, str(n), m or "", _preview(b or b"", args.width))
            for q, e, s, n, m, b in rows])
    return 0
