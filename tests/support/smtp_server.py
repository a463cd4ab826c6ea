#!/usr/bin/env python3
"""A real SMTP server for onboard's mail tests: aiosmtpd, with a handler that keeps
what it receives and can misbehave on request.

Prints "PORT <n>" once it listens, serves until SIGTERM, exits 0.

Each accepted mail is written to MAILDIR/NNNNNN.eml (via a temporary name): lines
X-Envelope-From, X-Envelope-To (one a recipient), X-Peer (the client's ip:port, so a
test can count connections), X-TLS (yes/no) and X-Auth-User, then the mail as it came.
Events (auth tries, refusals, drops) go to MAILDIR/events.log, one line each.

  --host H --port P          where to listen (port 0: any free one)
  --tls-cert F --tls-key F   offer STARTTLS (required before MAIL unless --starttls-optional)
  --implicit-tls             TLS from the first byte instead (smtps)
  --auth USER:PASS           offer AUTH PLAIN/LOGIN (also without TLS) and require it
  --reject ADDR              RCPT TO ADDR gets 550 (repeatable)
  --tempfail ADDR:N          the first N RCPT TO ADDR get 451, later ones 250 (repeatable)
  --drop-on-message K        the K-th DATA of the server's life: connection closed, no
                             reply, nothing kept
"""
import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.controller import UnthreadedController
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keeper:
    def __init__(self, args):
        self.maildir = args.maildir
        self.reject = {a.lower() for a in args.reject}
        self.tempfail = {}
        for spec in args.tempfail:
            addr, _, n = spec.rpartition(":")
            self.tempfail[addr.lower()] = int(n)
        self.drop_on = args.drop_on_message
        self.datas = 0
        self.kept = 0

    def event(self, text):
        with open(os.path.join(self.maildir, "events.log"), "a") as f:
            f.write(text + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        a = address.lower()
        if a in self.reject:
            self.event("refused %s" % address)
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        if self.tempfail.get(a, 0) > 0:
            self.tempfail[a] -= 1
            self.event("tempfail %s" % address)
            return "451 4.3.0 <%s>: Temporary failure, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.datas += 1
        if self.datas == self.drop_on:
            self.event("dropped %s" % ",".join(envelope.rcpt_tos))
            server.transport.close()
            return "421 4.3.0 closing"
        self.kept += 1
        user = "-"
        if isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode("utf-8", "replace")
        head = ["X-Envelope-From: %s" % envelope.mail_from]
        head += ["X-Envelope-To: %s" % r for r in envelope.rcpt_tos]
        head += [
            "X-Peer: %s:%s" % tuple(session.peer[:2]),
            "X-TLS: %s" % ("yes" if session.ssl else "no"),
            "X-Auth-User: %s" % user,
        ]
        name = os.path.join(self.maildir, "%06d.eml" % self.kept)
        with open(name + ".tmp", "wb") as f:
            f.write(("\r\n".join(head) + "\r\n").encode() + envelope.content)
        os.replace(name + ".tmp", name)
        return "250 2.0.0 OK queued as %06d" % self.kept


def authenticator(keeper, user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        keeper.event("auth %s %s tls=%s" % (mechanism, "ok" if ok else "bad", bool(session.ssl)))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    return check


class Server(UnthreadedController):
    """Remembers its sessions, so stopping can close them."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sessions = []

    def factory(self):
        smtp = super().factory()
        self.sessions.append(smtp)
        return smtp


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--maildir", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--starttls-optional", action="store_true")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth")
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--tempfail", action="append", default=[])
    p.add_argument("--drop-on-message", type=int, default=0)
    args = p.parse_args()
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    os.makedirs(args.maildir, exist_ok=True)
    keeper = Keeper(args)
    options = dict(hostname=args.host, port=args.port, server_hostname="localhost")
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.implicit_tls:
            options["ssl_context"] = context
        else:
            options["tls_context"] = context
            options["require_starttls"] = not args.starttls_optional
    if args.auth:
        user, _, password = args.auth.partition(":")
        options["authenticator"] = authenticator(keeper, user, password)
        options["auth_required"] = True
        options["auth_require_tls"] = False
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = Server(keeper, loop=loop, **options)
    server.begin()
    print("PORT %d" % server.server.sockets[0].getsockname()[1], flush=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        for smtp in server.sessions:
            if smtp.transport is not None:
                smtp.transport.close()
        try:
            loop.run_until_complete(asyncio.wait_for(server.finalize(), 5))
        except Exception:
            pass
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
