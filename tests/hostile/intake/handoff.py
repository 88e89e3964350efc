#!/usr/bin/env python3
"""A hostile client of the intake's socket (var/intake.sock, see
src/handoff.h): sends one request packet and prints the answer, its NUL
shown as '|', or 'no answer'.

    handoff.py SOCKET spool NAME [KEY VALUE ...]   a well-formed request
    handoff.py SOCKET --raw TEXT                   any bytes ('\\0' for NUL)
"""
import socket
import sys

path, args = sys.argv[1], sys.argv[2:]
if args[0] == "--raw":
    packet = args[1].encode().replace(b"\\0", b"\0")
else:
    packet = b"sercom-handoff-1\0" + b"".join(a.encode() + b"\0" for a in args)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(path)
except OSError as e:
    print("connect: %s" % e.strerror)
    sys.exit(0)
s.settimeout(10)
try:
    s.send(packet)
    answer = s.recv(4096)
except OSError as e:
    answer = b""
print(answer.replace(b"\0", b"|").decode(errors="replace") if answer else "no answer")
