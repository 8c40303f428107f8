#!/usr/bin/python3
"""Prints every message of a Maildir as one JSON line, decoded by Python's own email package (an
independent reader of what Chapar wrote): usage: maildir_dump.py MAILDIR [ATTACHMENT_DIR]
With ATTACHMENT_DIR, every attachment is also written there (as <message file>-<filename>) and its
path given as "saved".

    {"file":..,"mail_from":..,"rcpt_to":[..],"subject":"<decoded>","from":"<decoded>","to":..,
     "message_id":..,"date":..,"headers":{"lower-case name":"<decoded value>",..},
     "structure":["multipart/alternative","text/plain","text/html"],
     "text":"<decoded text/plain>","html":"<decoded text/html>",
     "attachments":[{"filename":..,"type":..,"size":..}],"max_line":<longest raw line in bytes>}
"""
import email, email.policy, json, os, sys

root = sys.argv[1]
save = sys.argv[2] if len(sys.argv) > 2 else None
for sub in ("new", "cur"):
    folder = os.path.join(root, sub)
    if not os.path.isdir(folder):
        continue
    for name in sorted(os.listdir(folder)):
        raw = open(os.path.join(folder, name), "rb").read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        out = {"file": name, "mail_from": str(msg["X-Peer-Mail-From"] or ""),
               "rcpt_to": [a.strip() for a in str(msg["X-Peer-Rcpt-To"] or "").split(",") if a.strip()],
               "subject": str(msg["Subject"] or ""), "from": str(msg["From"] or ""), "to": str(msg["To"] or ""),
               "message_id": str(msg["Message-ID"] or ""), "date": str(msg["Date"] or ""),
               "headers": {k.lower(): str(v) for k, v in msg.items()},
               "structure": [part.get_content_type() for part in msg.walk()],
               "text": "", "html": "", "attachments": [],
               "max_line": max(len(line) for line in raw.split(b"\r\n"))}
        for part in msg.walk():
            if part.is_multipart():
                continue
            if part.get_filename():
                data = part.get_payload(decode=True)
                attachment = {"filename": part.get_filename(), "type": part.get_content_type(), "size": len(data), "saved": ""}
                if save:
                    attachment["saved"] = os.path.join(save, name + "-" + os.path.basename(part.get_filename()))
                    with open(attachment["saved"], "wb") as f:
                        f.write(data)
                out["attachments"].append(attachment)
            elif part.get_content_type() == "text/plain":
                out["text"] = part.get_content()
            elif part.get_content_type() == "text/html":
                out["html"] = part.get_content()
        print(json.dumps(out, ensure_ascii=False))
