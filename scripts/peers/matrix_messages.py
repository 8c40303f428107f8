#!/usr/bin/env python3
"""Prints a Matrix room's m.room.message events, oldest first, one JSON object a line:
    {"sender":..,"body":..,"msgtype":..,"event_id":..,"txn_id":..|null,"origin_server_ts":..}
txn_id (the sender's transaction id) is visible only when TOKEN belongs to the device that sent.

usage: matrix_messages.py URL TOKEN ROOM      (stdlib only; for tests against scripts/peers/synapse.sh)
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request

url, token, room = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
base = f"{url}/_matrix/client/v3/rooms/{urllib.parse.quote(room, safe='')}/messages"
start = None
while True:
    query = {"dir": "f", "limit": "1000"}
    if start:
        query["from"] = start
    request = urllib.request.Request(base + "?" + urllib.parse.urlencode(query))
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with opener.open(request, timeout=30) as response:
            page = json.load(response)
    except urllib.error.HTTPError as e:
        sys.exit(f"GET {base}: HTTP {e.code} {e.read().decode(errors='replace')}")
    except urllib.error.URLError as e:
        sys.exit(f"GET {base}: {e.reason}")
    for event in page.get("chunk", []):
        if event.get("type") != "m.room.message":
            continue
        content = event.get("content", {})
        print(json.dumps({
            "sender": event.get("sender"),
            "body": content.get("body"),
            "msgtype": content.get("msgtype"),
            "event_id": event.get("event_id"),
            "txn_id": event.get("unsigned", {}).get("transaction_id"),
            "origin_server_ts": event.get("origin_server_ts"),
        }, ensure_ascii=False), flush=True)
    if not page.get("chunk") or not page.get("end") or page.get("end") == start:
        break
    start = page["end"]
