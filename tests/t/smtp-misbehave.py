#!/usr/bin/env python3
"""smtp-misbehave.py MODE DIR: a small SMTP server on 127.0.0.1 that
misbehaves on purpose, for tests/t/54-smtp-robust.t (a real postfix
cannot be made to). It writes its port to DIR/port, every command line
it reads to DIR/log (one per line, "CONNECT" per connection), and each
message it accepts to DIR/msg.N.

MODE:
  plain     ESMTP without STARTTLS; accepts everything
  silent    accepts the connection and never greets
  gate      like plain, but the 250 after the message waits until
            DIR/gate exists (a send held in progress, as long as the test
            wants it, never a fixed time)
  auth530   530 5.7.0 Authentication required to MAIL FROM
  ehlo502   502 to EHLO; HELO works
  helo502   502 to EHLO and to HELO
"""
import os
import socketserver
import sys
import threading
import time

MODE, DIR = sys.argv[1], sys.argv[2]
lock = threading.Lock()


def log(line):
    with lock, open(os.path.join(DIR, "log"), "a") as f:
        f.write(line + "\n")


def save(data):
    with lock:
        n = len([x for x in os.listdir(DIR) if x.startswith("msg.")])
        with open(os.path.join(DIR, "msg.%d" % n), "wb") as f:
            f.write(data)


class Handler(socketserver.StreamRequestHandler):
    def say(self, text):
        self.wfile.write((text + "\r\n").encode())
        self.wfile.flush()

    def wait_gate(self):
        # a hang guard, not a timing: the test creates the gate
        end = time.time() + 120
        while not os.path.exists(os.path.join(DIR, "gate")) and time.time() < end:
            time.sleep(0.05)

    def data(self):
        self.say("354 go ahead")
        body = b""
        for raw in self.rfile:
            if raw in (b".\r\n", b".\n"):
                break
            body += raw
        log("DATA-END")
        if MODE == "gate":
            self.wait_gate()
        save(body)
        self.say("250 2.0.0 queued")

    def handle(self):
        log("CONNECT")
        if MODE == "silent":
            # read until the client gives up; never a greeting
            for raw in self.rfile:
                log(raw.decode(errors="replace").strip())
            return
        self.say("220 fake.test ESMTP")
        for raw in self.rfile:
            line = raw.decode(errors="replace").strip()
            log(line)
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                if MODE in ("ehlo502", "helo502"):
                    self.say("502 5.5.1 EHLO not implemented")
                else:
                    self.say("250-fake.test\r\n250-8BITMIME\r\n250 SIZE 10000000")
            elif verb == "HELO":
                self.say("502 5.5.1 no" if MODE == "helo502" else "250 fake.test")
            elif verb == "MAIL":
                if MODE == "auth530":
                    self.say("530 5.7.0 Authentication required")
                else:
                    self.say("250 2.1.0 ok")
            elif verb == "RCPT":
                self.say("250 2.1.5 ok")
            elif verb == "DATA":
                self.data()
            elif verb == "QUIT":
                self.say("221 2.0.0 bye")
                return
            elif verb == "RSET" or verb == "NOOP":
                self.say("250 ok")
            else:
                self.say("502 5.5.2 unknown")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
srv.serve_forever()
