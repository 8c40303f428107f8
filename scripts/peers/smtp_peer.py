#!/usr/bin/python3
"""A real SMTP server for Chapar's email tests: aiosmtpd (Debian's python3-aiosmtpd, so run it with
/usr/bin/python3) writing every accepted message into a Maildir, with optional AUTH and faults chosen
by the recipient, so one server serves every test.

usage: smtp_peer.py --port PORT --maildir DIR [--auth USER:PASSWORD] [--no-store]
                    [--tls starttls|smtps --cert CERT.pem --key KEY.pem]

Binds 127.0.0.1 only; prints `ready <port>` (flushed) once it listens; SIGTERM/SIGINT stop it.
Each EHLO prints `ehlo NAME` (one per connection). Each stored message gets two headers in front: `X-Peer-Mail-From: <sender>` and
`X-Peer-Rcpt-To: <recipients, comma separated>` (the SMTP envelope as the server saw it).
--no-store counts messages without writing them (benchmarks); `GET`-free: the count is printed on exit.

--tls starttls offers STARTTLS and refuses MAIL before it (530); --tls smtps is TLS from the first
byte. Either way with the given certificate.

--auth USER:PASSWORD requires AUTH PLAIN or LOGIN (over plain TCP: this is a loopback test peer)
before MAIL; a wrong password gets 535.

Faults, by the recipient's local part (anything else is accepted):
    reject550@…     550 at RCPT TO (mailbox unavailable)
    busy421@…       421 at RCPT TO (service not available, closing)
    temp451@…       451 at DATA's end (local error in processing)
    flaky451@…      451 for the first DATA of each Message-ID, then accepted
    drop@…          the connection is closed in the middle of DATA (after the body arrived, before any reply)
    silent@…        DATA's end is never answered (the client's timeout must end it)
"""
import argparse, asyncio, mailbox, os, signal, ssl, sys, warnings
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--maildir", required=True)
parser.add_argument("--auth")
parser.add_argument("--no-store", action="store_true")
parser.add_argument("--tls", choices=["starttls", "smtps"])
parser.add_argument("--cert")
parser.add_argument("--key")
args = parser.parse_args()

box = mailbox.Maildir(args.maildir, create=True)
seen_message_ids = set()
count = 0


def local(address):
    return address.split("@")[0].lower()


def message_id(content):
    for line in content.split(b"\r\n"):
        if not line:
            break
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip()
    return None


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # One line per SMTP connection: the tests count them to see connections reused.
        print("ehlo %s" % hostname, flush=True)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        who = local(address)
        if who == "reject550":
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if who == "busy421":
            return "421 4.3.2 service not available, closing channel"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        global count
        who = {local(a) for a in envelope.rcpt_tos}
        content = envelope.original_content or envelope.content
        if "temp451" in who:
            return "451 4.3.0 local error in processing, try again later"
        if "flaky451" in who:
            mid = message_id(content)
            if mid not in seen_message_ids:
                seen_message_ids.add(mid)
                return "451 4.3.0 greylisted, try again later"
        if "drop" in who:
            server.transport.close()
            return "250 never sent"
        if "silent" in who:
            await asyncio.sleep(3600)
        count += 1
        if not args.no_store:
            head = b"X-Peer-Mail-From: %s\r\nX-Peer-Rcpt-To: %s\r\n" % (
                envelope.mail_from.encode(), ", ".join(envelope.rcpt_tos).encode())
            key = box.add(head + content)
            return "250 2.0.0 OK: queued as %s" % key.split(".")[0][-12:]
        return "250 2.0.0 OK: queued as N%d" % count


def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = args.auth.split(":", 1)
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


options = dict(hostname="127.0.0.1", port=args.port)
if args.auth:
    options.update(authenticator=authenticator, auth_required=True, auth_require_tls=(args.tls == "starttls"))  # aiosmtpd counts only STARTTLS as TLS
if args.tls:
    # One context for both sides: aiosmtpd's own readiness check connects through it as a client.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(args.cert, args.key)
    if args.tls == "starttls":
        options.update(tls_context=context, require_starttls=True)
    else:
        options.update(ssl_context=context)
# Large enough for fax attachments; aiosmtpd's default (32 MiB) is fine, but say it.
controller = Controller(Handler(), data_size_limit=32 << 20, **options)
controller.start()
print("ready %d" % args.port, flush=True)
signal.sigwait({signal.SIGINT, signal.SIGTERM})
controller.stop()
print("stored %d messages" % count, flush=True)
