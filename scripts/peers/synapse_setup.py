#!/usr/bin/env python3
"""Prepares a fresh test Synapse: a bot (admin) and a recipient, registered with the shared-secret
admin API, and a private room the bot created and the recipient joined. Prints peer.env lines.

usage: synapse_setup.py URL SHARED_SECRET      (used by scripts/peers/synapse.sh; stdlib only)
"""

import hashlib
import hmac
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

URL, SECRET = sys.argv[1].rstrip("/"), sys.argv[2]
# Loopback only: never go through a proxy from the environment.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(method, path, body=None, token=None):
    request = urllib.request.Request(URL + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with opener.open(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: HTTP {e.code} {e.read().decode(errors='replace')}")
    except urllib.error.URLError as e:
        sys.exit(f"{method} {URL}{path}: {e.reason}")


def register(user, password, admin):
    nonce = call("GET", "/_synapse/admin/v1/register")["nonce"]
    mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
    mac.update(b"\0".join([nonce.encode(), user.encode(), password.encode(),
                           b"admin" if admin else b"notadmin"]))
    answer = call("POST", "/_synapse/admin/v1/register", {
        "nonce": nonce, "username": user, "password": password, "admin": admin, "mac": mac.hexdigest()})
    return answer["user_id"], answer["access_token"]


bot, bot_token = register("chapar-bot", "chapar-bot-password", True)
recipient, recipient_token = register("recipient", "recipient-password", False)
room = call("POST", "/_matrix/client/v3/createRoom",
            {"name": "chapar alerts", "preset": "private_chat", "invite": [recipient]}, bot_token)["room_id"]
call("POST", "/_matrix/client/v3/join/" + urllib.parse.quote(room, safe=""), {}, recipient_token)

for name, value in [("MATRIX_URL", URL), ("MATRIX_BOT_USER", bot), ("MATRIX_BOT_TOKEN", bot_token),
                    ("MATRIX_ROOM_ID", room), ("MATRIX_RECIPIENT", recipient),
                    ("MATRIX_RECIPIENT_TOKEN", recipient_token)]:
    print(f"{name}='{value}'")
