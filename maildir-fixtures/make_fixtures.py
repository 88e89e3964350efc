#!/usr/bin/env python3
"""Writes the fixture Maildirs of sercom (see make-fixtures.sh and README).

Every mail is written byte by byte from explicit strings (fixed dates,
boundaries, Message-IDs) and every archive is built with fixed timestamps,
so two runs give identical files and `git diff` shows only real changes."""

import base64
import io
import os
import quopri
import shutil
import sys
import tarfile
import zipfile

TOP = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
EPOCH = 1767261600          # 2026-01-01 10:00 UTC: the fixtures' clock
ZIP_DATE = (2026, 3, 1, 12, 0, 0)

# --------------------------------------------------------------------------
# Sources the students send
TP_C = b"""/* tp1: suma de dos enteros */
#include <stdio.h>

int main(void)
{
\tlong a, b;
\tif (scanf("%ld %ld", &a, &b) != 2) {
\t\tfprintf(stderr, "entrada invalida\\n");
\t\treturn 1;
\t}
\tprintf("%ld\\n", a + b);
\treturn 0;
}
"""

TP_C_MODULAR = b"""#include <stdio.h>
#include "aux.h"

int main(void)
{
\tlong a, b;
\tif (scanf("%ld %ld", &a, &b) != 2)
\t\treturn 1;
\tprintf("%ld\\n", suma(a, b));
\treturn 0;
}
"""

AUX_H = b"""#ifndef AUX_H
#define AUX_H
long suma(long a, long b);
#endif
"""

AUX_C = b"""#include "aux.h"

long suma(long a, long b)
{
\treturn a + b;
}
"""

# Long lines, '=' signs, trailing blanks and non-ASCII comments: what
# quoted-printable exists for.
TP_C_QP = ("""/* TP1 \u2014 Carla N\u00fa\u00f1ez: suma de dos enteros le\u00eddos de la entrada est\u00e1ndar; este comentario es deliberadamente largo para que el cliente de correo lo corte con saltos suaves */
#include <stdio.h>

int main(void)   
{
\tlong a = 0, b = 0, suma = 0;
\tif (scanf("%ld %ld", &a, &b) != 2)
\t\treturn 1;
\tsuma = a + b; /* a=b? no: a+b */
\tprintf("%ld\\n", suma);
\treturn 0;
}
""").encode("utf-8")

FUNCION_C = ("""/* funci\u00f3n auxiliar */
long doble(long x) { return 2 * x; }
""").encode("utf-8")

ANIO_H = ("""/* a\u00f1o */
#define ANIO 2026
""").encode("utf-8")

TP_WRONG = b"""#include <stdio.h>

int main(void)
{
\tlong a, b;
\tif (scanf("%ld %ld", &a, &b) != 2)
\t\treturn 1;
\tprintf("%ld\\n", a - b);   /* resta en vez de suma */
\treturn 0;
}
"""

TP_NOCOMPILE = b"""#include <stdio.h>

int main(void)
{
\tlong a, b
\tscanf("%ld %ld", &a, &b);
\tprintf("%ld\\n", a + b)
\treturn 0;
}
"""

TP_CRASH = b"""#include <stdio.h>

int main(void)
{
\tlong a, b;
\tlong *p = NULL;
\tif (scanf("%ld %ld", &a, &b) != 2)
\t\treturn 1;
\t*p = a + b;            /* SIGSEGV */
\tprintf("%ld\\n", *p);
\treturn 0;
}
"""

README_TXT = b"Compilar con make. Ejecutar ./tp < entrada.txt\n"


# --------------------------------------------------------------------------
# Archives (deterministic)
def zip_bytes(entries, compress=zipfile.ZIP_DEFLATED, level=9):
    """entries: (name, data, mode) with mode None for a regular file, or a
    full st_mode (e.g. 0o120777 for a symlink whose target is data)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, mode in entries:
            zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            zi.compress_type = compress
            zi.create_system = 3  # unix: external_attr carries st_mode
            zi.external_attr = ((mode if mode is not None else 0o100644) << 16)
            if name.endswith("/"):
                zi.external_attr = (0o40755 << 16) | 0x10
            z.writestr(zi, data, compress_type=compress, compresslevel=level)
    return buf.getvalue()


def tar_bytes(entries, mode="w:gz"):
    """entries: (name, data_or_linkname, type) with type in f d l h."""
    buf = io.BytesIO()
    kwargs = {}
    fileobj = buf
    gz = None
    if mode == "w:gz":
        import gzip
        gz = gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9, filename="")
        fileobj = gz
        mode = "w"
    with tarfile.open(fileobj=fileobj, mode=mode, format=tarfile.USTAR_FORMAT, **kwargs) as t:
        for name, data, typ in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = EPOCH
            ti.uname = ti.gname = "alumno"
            ti.uid = ti.gid = 1000
            if typ == "f":
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
            elif typ == "d":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif typ == "l":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data
                ti.mode = 0o777
                t.addfile(ti)
            elif typ == "h":
                ti.type = tarfile.LNKTYPE
                ti.linkname = data
                ti.mode = 0o644
                t.addfile(ti)
    if gz is not None:
        gz.close()
    return buf.getvalue()


# --------------------------------------------------------------------------
# MIME writing
def b64(data):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def qp(data):
    return quopri.encodestring(data).decode("ascii")


def hdrs(frm, to, subject, date, mid, extra=(), ua="Thunderbird/115.5.0"):
    h = [
        "Return-Path: <%s>" % addr_of(frm),
        "Delivered-To: %s" % addr_of(to),
        "Received: from mail.example.edu (mail.example.edu [192.0.2.25])\n"
        "\tby mx.example.edu (Postfix) with ESMTPS id 4Tq7Lm0x2Zz9sWZ\n"
        "\tfor <%s>; %s" % (addr_of(to), date),
        "Message-ID: <%s>" % mid,
        "Date: %s" % date,
        "MIME-Version: 1.0",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) %s" % ua,
        "Content-Language: es-AR",
        "From: %s" % frm,
        "To: %s" % to,
        "Subject: %s" % subject,
    ]
    h.extend(extra)
    return "\n".join(h) + "\n"


def addr_of(s):
    return s[s.index("<") + 1:s.index(">")] if "<" in s else s


def part(ctype, body, cte="7bit", disp=None, extra=()):
    """body is a str already encoded for cte (ending with a newline)."""
    h = ["Content-Type: %s" % ctype]
    if disp:
        h.append("Content-Disposition: %s" % disp)
    h.append("Content-Transfer-Encoding: %s" % cte)
    h.extend(extra)
    return "\n".join(h) + "\n\n" + body


def multipart(subtype, boundary, parts, preamble="This is a multi-part message in MIME format.\n"):
    out = ["Content-Type: multipart/%s;\n boundary=\"%s\"\n\n" % (subtype, boundary), preamble]
    for p in parts:
        # the newline before a delimiter belongs to the delimiter (RFC 2046)
        out.append("\n--%s\n%s" % (boundary, p))
    out.append("\n--%s--\n" % boundary)
    return "".join(out)


def text_part(text):
    return part("text/plain; charset=UTF-8; format=flowed", text, "8bit")


def file_part(name, data, ctype="text/x-csrc", cte="base64"):
    body = b64(data) if cte == "base64" else qp(data) if cte == "quoted-printable" else data.decode("utf-8")
    return part('%s; charset=UTF-8; name="%s"' % (ctype, name) if ctype.startswith("text/")
                else '%s; name="%s"' % (ctype, name),
                body, cte, 'attachment; filename="%s"' % name)


def simple_mail(frm, to, subject, date, mid, body_parts, boundary, extra=(), ua="Thunderbird/115.5.0"):
    return hdrs(frm, to, subject, date, mid, extra, ua) + multipart("mixed", boundary, body_parts)


def date_n(n):
    # a plausible Date: header, one minute apart per fixture
    return "Thu, 5 Mar 2026 %02d:%02d:00 -0300" % (9 + n // 60, n % 60)


ANA = "Ana Alumna <ana@example.edu>"
ANA2 = "Ana <ana.alumna@gmail.com>"
BETO = "Beto Barrios <beto@example.edu>"
CARLA = "=?UTF-8?Q?Carla_N=C3=BA=C3=B1ez?= <carla@example.edu>"
ROBOT = "entregas+tp1@example.edu"
ROBOT_PLAIN = "entregas@example.edu"

BODY = "Hola, adjunto la entrega.\nSaludos.\n"


# --------------------------------------------------------------------------
# The fixtures: (slug, mail bytes, args, outcome, state, reason, student,
# exercise, expected tree {path: bytes} or None, check, comment)
FIX = []


def fx(slug, mail, outcome, state, reason, student, exercise, tree, comment,
       args="-", check="-"):
    if isinstance(mail, str):
        mail = mail.encode("utf-8")
    FIX.append(dict(slug=slug, mail=mail, args=args, outcome=outcome, state=state,
                    reason=reason, student=student, exercise=exercise, tree=tree,
                    check=check, comment=comment))


def build_submissions():
    n = 0

    def nxt():
        nonlocal n
        n += 1
        return n

    i = nxt()
    fx("single-c", simple_mail(ANA, ROBOT, "Entrega TP1", date_n(i), "fx01.single@example.edu",
                               [text_part(BODY), file_part("tp.c", TP_C, cte="7bit")], "------------fx01"),
       "queued", "QUEUED", "-", "s001", "tp1", {"tp.c": TP_C},
       "one tp.c, 7bit, exercise from the +tag of To:")

    i = nxt()
    fx("several-files", simple_mail(BETO, ROBOT, "TP1 Beto Barrios", date_n(i), "fx02.several@example.edu",
                                    [text_part(BODY), file_part("tp.c", TP_C_MODULAR),
                                     file_part("aux.c", AUX_C), file_part("aux.h", AUX_H, ctype="text/x-chdr"),
                                     file_part("LEEME.txt", README_TXT, ctype="text/plain")],
                                    "------------fx02"),
       "queued", "QUEUED", "-", "s002", "tp1", {"tp.c": TP_C_MODULAR, "aux.c": AUX_C, "aux.h": AUX_H},
       "tp.c, aux.c, aux.h (base64) and LEEME.txt, which files = *.c *.h does not accept (not in submitted/)")

    i = nxt()
    z = zip_bytes([("tp.c", TP_C_MODULAR, None), ("aux.c", AUX_C, None), ("aux.h", AUX_H, None)])
    fx("zip", simple_mail(CARLA, ROBOT, "entrega tp1 (zip)", date_n(i), "fx03.zip@example.edu",
                          [text_part(BODY), file_part("tp1.zip", z, ctype="application/zip")],
                          "------------fx03"),
       "queued", "QUEUED", "-", "s003", "tp1", {"tp.c": TP_C_MODULAR, "aux.c": AUX_C, "aux.h": AUX_H},
       "a zip of tp.c aux.c aux.h (unpacked)")

    i = nxt()
    t = tar_bytes([("tp.c", TP_C_MODULAR, "f"), ("aux.c", AUX_C, "f"), ("aux.h", AUX_H, "f")])
    fx("tar-gz", simple_mail(ANA2, ROBOT, "tp1", date_n(i), "fx04.targz@mail.gmail.com",
                             [text_part(BODY), file_part("tp1.tar.gz", t, ctype="application/gzip")],
                             "000000000000fx04", ua="Gmail"),
       "queued", "QUEUED", "-", "s001", "tp1", {"tp.c": TP_C_MODULAR, "aux.c": AUX_C, "aux.h": AUX_H},
       "a tar.gz, from Ana's second roster address (gmail)")

    i = nxt()
    # RFC 2231 (with a continuation) and RFC 2047 encoded names, as
    # Thunderbird and Outlook write them
    p_tp = file_part("tp.c", TP_C)
    p_fun = part("text/x-csrc; charset=UTF-8;\n name*=UTF-8''funci%C3%B3n.c", b64(FUNCION_C), "base64",
                 "attachment;\n filename*0*=UTF-8''funci%C3%B3;\n filename*1*=n.c")
    p_anio = part('text/x-chdr; charset=UTF-8;\n name="=?UTF-8?B?YcOxby5o?="', b64(ANIO_H), "base64",
                  'attachment;\n filename="=?UTF-8?B?YcOxby5o?="')
    fx("utf8-names", simple_mail(BETO, ROBOT, "TP1 con acentos", date_n(i), "fx05.utf8@example.edu",
                                 [text_part(BODY), p_tp, p_fun, p_anio], "------------fx05"),
       "queued", "QUEUED", "-", "s002", "tp1",
       {"tp.c": TP_C, "funci\u00f3n.c": FUNCION_C, "a\u00f1o.h": ANIO_H},
       "UTF-8 file names: funci\u00f3n.c in RFC 2231 with a continuation, a\u00f1o.h in RFC 2047")

    i = nxt()
    fx("quoted-printable", simple_mail(CARLA, ROBOT, "TP1 quoted-printable", date_n(i), "fx06.qp@example.edu",
                                       [text_part(BODY), file_part("tp.c", TP_C_QP, cte="quoted-printable")],
                                       "------------fx06"),
       "queued", "QUEUED", "-", "s003", "tp1", {"tp.c": TP_C_QP},
       "tp.c in quoted-printable (soft breaks, =3D, =20, UTF-8 comment): decoded byte for byte")

    i = nxt()
    alt = multipart("alternative", "------------fx07alt",
                    [part("text/plain; charset=UTF-8", b64("Hola, va el TP1.\n".encode()), "base64"),
                     part("text/html; charset=UTF-8", b64(b"<p>Hola, va el TP1.</p>\n"), "base64")],
                    preamble="")
    m = (hdrs(ANA, ROBOT, "TP1", date_n(i), "fx07.b64@example.edu", ua="Outlook")
         + multipart("mixed", "------------fx07", [alt, file_part("tp.c", TP_C, ctype="application/octet-stream")]))
    fx("base64-alternative", m,
       "queued", "QUEUED", "-", "s001", "tp1", {"tp.c": TP_C},
       "multipart/alternative body (no file) + tp.c as application/octet-stream base64")

    i = nxt()
    inner = simple_mail(BETO, ROBOT_PLAIN, "tp1", "Wed, 4 Mar 2026 22:10:00 -0300", "fx08.inner@example.edu",
                        [text_part(BODY), file_part("tp.c", TP_C)], "------------fx08in")
    m = (hdrs(BETO, ROBOT, "Fwd: tp1", date_n(i), "fx08.fwd@example.edu")
         + multipart("mixed", "------------fx08",
                     [text_part("Reenv\u00edo la entrega de ayer, que mand\u00e9 a la direcci\u00f3n equivocada.\n"),
                      part("message/rfc822", inner, "7bit", 'attachment; filename="tp1.eml"')]))
    fx("forwarded", m, "queued", "QUEUED", "-", "s002", "tp1", {"tp.c": TP_C},
       "a forwarded message (message/rfc822) that carries tp.c")

    i = nxt()
    m = (hdrs(CARLA, ROBOT, "TP1", date_n(i), "fx09.nofiles@example.edu")
         + "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
         + "Ac\u00e1 va el c\u00f3digo:\n\n" + TP_C.decode())
    fx("no-attachment", m, "rejected", "REJECTED", "no_files", "s003", "tp1", None,
       "code pasted in the body, no attachment")

    i = nxt()
    fx("unknown-sender", simple_mail("Intruso <intruso@evil.example>", ROBOT, "tp1", date_n(i),
                                     "fx10.unknown@evil.example",
                                     [text_part(BODY), file_part("tp.c", TP_C)], "------------fx10"),
       "rejected", "REJECTED", "unknown_sender", "-", "tp1", None,
       "sender not in the roster (unknown_sender = reject)")

    i = nxt()
    fx("closed", simple_mail(ANA, "entregas+tp2@example.edu", "tp2", date_n(i), "fx11.closed@example.edu",
                             [text_part(BODY), file_part("tp.c", TP_C)], "------------fx11"),
       "rejected", "REJECTED", "closed", "s001", "tp2", None,
       "tp2 closed in the past")

    i = nxt()
    fx("not-open", simple_mail(ANA, "entregas+tp3@example.edu", "tp3", date_n(i), "fx12.notopen@example.edu",
                               [text_part(BODY), file_part("tp.c", TP_C)], "------------fx12"),
       "rejected", "REJECTED", "not_open", "s001", "tp3", None,
       "tp3 opens in the future")

    i = nxt()
    z = zip_bytes([("tp.c", TP_C, None),
                   ("../../evil.c", b"/* zip-slip: must not escape */\n", None),
                   ("../../../../../../../../../../tmp/sercom-fixture-zipslip.c", b"/* zip-slip */\n", None),
                   ("/tmp/sercom-fixture-abs.c", b"/* absolute */\n", None),
                   ("ok/../../../evil2.c", b"/* dotdot in the middle */\n", None)])
    fx("zip-slip", simple_mail(BETO, ROBOT, "tp1", date_n(i), "fx13.zipslip@example.edu",
                               [text_part(BODY), file_part("tp1.zip", z, ctype="application/zip")],
                               "------------fx13"),
       "rejected|queued", "REJECTED|QUEUED", "bad_archive|-", "s002", "tp1", None,
       "zip with ../../evil.c, ../..(x10)/tmp/..., /tmp/... entries: rejected bad_archive, or "
       "stored safely; nothing written outside var/attempts/ID/submitted",
       check="zipslip")

    i = nxt()
    t = tar_bytes([("tp.c", TP_C, "f"),
                   ("passwd", "/etc/passwd", "l"),
                   ("dotdot", "../../../../..", "l"),
                   ("tmpdir", "/tmp", "l"),
                   ("tmpdir/sercom-fixture-symlink.c", b"/* through a symlink */\n", "f"),
                   ("hard", "/etc/passwd", "h")])
    fx("symlink-tar", simple_mail(CARLA, ROBOT, "tp1", date_n(i), "fx14.symlinktar@example.edu",
                                  [text_part(BODY), file_part("tp1.tar.gz", t, ctype="application/x-gzip")],
                                  "------------fx14"),
       "rejected|queued", "REJECTED|QUEUED", "bad_archive|-", "s003", "tp1", None,
       "tar.gz with symlinks to /etc/passwd, /tmp and ../.., a file written through the /tmp "
       "symlink, and a hard link to /etc/passwd: no link is ever created",
       check="symlink")

    i = nxt()
    z = zip_bytes([("tp.c", TP_C, None), ("passwd.c", b"/etc/passwd", 0o120777),
                   ("up", b"../../../..", 0o120777)])
    fx("symlink-zip", simple_mail(ANA, ROBOT, "tp1", date_n(i), "fx15.symlinkzip@example.edu",
                                  [text_part(BODY), file_part("tp1.zip", z, ctype="application/zip")],
                                  "------------fx15"),
       "rejected|queued", "REJECTED|QUEUED", "bad_archive|-", "s001", "tp1", None,
       "zip whose entries passwd.c and up are unix symlinks (to /etc/passwd, ../../../..)",
       check="symlink")

    i = nxt()
    z = zip_bytes([("tp.c", TP_C, None), ("datos.h", b"\0" * (100 * 1024 * 1024), None)])
    fx("zip-bomb", simple_mail(BETO, ROBOT, "tp1", date_n(i), "fx16.bomb@example.edu",
                               [text_part(BODY), file_part("tp1.zip", z, ctype="application/zip")],
                               "------------fx16"),
       "rejected", "REJECTED", "too_large", "s002", "tp1", None,
       "zip bomb: 100 MiB of zeros in a 100 KiB zip (unpacked_size = 50M): too_large, quickly, "
       "nothing big left on disk",
       check="bomb")

    i = nxt()
    z = zip_bytes([("f%04d.c" % k, b"int f%d;\n" % k, None) for k in range(1000)] + [("tp.c", TP_C, None)])
    fx("many-files", simple_mail(CARLA, ROBOT, "tp1", date_n(i), "fx17.manyfiles@example.edu",
                                 [text_part(BODY), file_part("tp1.zip", z, ctype="application/zip")],
                                 "------------fx17"),
       "rejected", "REJECTED", "too_large", "s003", "tp1", None,
       "zip of 1001 files (limit files = 200): too_large",
       check="bomb")

    i = nxt()
    fx("subject-word", simple_mail(ANA, ROBOT_PLAIN, "Re: entrega TP1 corregida", date_n(i), "fx18.subject@example.edu",
                                   [text_part(BODY), file_part("tp.c", TP_C)], "------------fx18"),
       "queued", "QUEUED", "-", "s001", "tp1", {"tp.c": TP_C},
       "no +tag: the exercise is the Subject word TP1 (case-insensitive)")

    i = nxt()
    fx("option-e", simple_mail(BETO, ROBOT_PLAIN, "mi entrega", date_n(i), "fx19.opte@example.edu",
                               [text_part(BODY), file_part("tp.c", TP_C)], "------------fx19"),
       "queued", "QUEUED", "-", "s002", "tp1", {"tp.c": TP_C},
       "no +tag, no exercise in the Subject: delivered with -e tp1", args="-e tp1")

    i = nxt()
    fx("unknown-exercise", simple_mail(CARLA, "entregas+tp9@example.edu", "tp9", date_n(i), "fx20.tp9@example.edu",
                                       [text_part(BODY), file_part("tp.c", TP_C)], "------------fx20"),
       "rejected", "REJECTED", "unknown_exercise", "s003", "-", None,
       "+tp9 names no exercise")

    i = nxt()
    fx("missing-required", simple_mail(BETO, ROBOT, "tp1", date_n(i), "fx21.missing@example.edu",
                                       [text_part(BODY), file_part("aux.c", AUX_C), file_part("aux.h", AUX_H)],
                                       "------------fx21"),
       "rejected", "REJECTED", "missing_required", "s002", "tp1", None,
       "aux.c and aux.h but no tp.c (required = tp.c)")

    i = nxt()
    m = (hdrs(ANA, ROBOT, "Respuesta autom\u00e1tica: [algo1] tp1: ACCEPTED", date_n(i), "fx22.vacation@example.edu",
              extra=["Auto-Submitted: auto-replied", "X-Autoreply: yes"])
         + "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
         + "Estoy de vacaciones hasta el lunes.\n")
    fx("auto-submitted", m, "automatic", "-", "-", "-", "-", None,
       "a vacation reply (Auto-Submitted: auto-replied): kept, no attempt")

    i = nxt()
    orig = hdrs(ANA, "grader@example.edu", "[algo1] tp1: ACCEPTED", date_n(i - 1), "fx23.reply@example.edu")
    m = ("Return-Path: <>\nDelivered-To: entregas@example.edu\n"
         "Received: by mx.example.edu (Postfix)\n\tid 4Tq7Lm0x2Zz9sWZ; %s\n"
         "Date: %s\nFrom: MAILER-DAEMON@example.edu (Mail Delivery System)\n"
         "Subject: Undelivered Mail Returned to Sender\nTo: entregas@example.edu\n"
         "Auto-Submitted: auto-replied\nMessage-ID: <fx23.bounce@mx.example.edu>\nMIME-Version: 1.0\n"
         % (date_n(i), date_n(i))
         + multipart("report; report-type=delivery-status", "4Tq7Lm0x2Zz9sWZ.1772712000/mx.example.edu",
                     [part("text/plain; charset=us-ascii", "I'm sorry to have to inform you that your message could not\n"
                           "be delivered to one or more recipients.\n\n<ana@example.edu>: mailbox full\n",
                           "7bit", "notification"),
                      part("message/delivery-status",
                           "Reporting-MTA: dns; mx.example.edu\n\nFinal-Recipient: rfc822; ana@example.edu\n"
                           "Action: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\n"),
                      part("text/rfc822-headers", orig)]))
    fx("bounce", m, "automatic", "-", "-", "-", "-", None,
       "a bounce (multipart/report, null envelope sender): delivered with -f '' ; kept, no attempt",
       args="-f ''")

    i = nxt()
    m = simple_mail("Listas <algo1-list@lists.example.edu>", ROBOT, "[algo1-list] tp1: dudas", date_n(i),
                    "fx24.list@lists.example.edu", [text_part("Consulta sobre el tp1\n")], "------------fx24",
                    extra=["List-Id: Algoritmos I <algo1.lists.example.edu>", "Precedence: list"])
    fx("mailing-list", m, "automatic", "-", "-", "-", "-", None,
       "a mailing list post (List-Id, Precedence: list): kept, no attempt")

    i = nxt()
    dup = simple_mail(CARLA, ROBOT, "tp1", date_n(i), "fx25.dup@example.edu",
                      [text_part(BODY), file_part("tp.c", TP_C)], "------------fx25")
    fx("dup-first", dup, "queued", "QUEUED", "-", "s003", "tp1", {"tp.c": TP_C},
       "first copy of Message-ID fx25.dup@example.edu")
    fx("dup-second", dup, "duplicate", "-", "-", "-", "-", None,
       "the same message again (the MTA retried): duplicate, no second attempt",
       check="dup")

    i = nxt()
    m = ("From beto@example.edu  Thu Mar  5 10:26:00 2026\n"
         + simple_mail(BETO, ROBOT, "tp1 desde mbox", date_n(i), "fx27.mbox@example.edu",
                       [text_part(BODY), file_part("tp.c", TP_C)], "------------fx27"))
    fx("mbox-from-line", m, "queued", "QUEUED", "-", "s002", "tp1", {"tp.c": TP_C},
       "starts with an mbox 'From ' line")

    i = nxt()
    m = simple_mail(ANA, ROBOT, "tp1 desde Windows", date_n(i), "fx28.crlf@example.edu",
                    [text_part(BODY), file_part("tp.c", TP_C)], "------------fx28", ua="Outlook")
    fx("crlf", m.replace("\n", "\r\n"), "queued", "QUEUED", "-", "s001", "tp1", {"tp.c": TP_C},
       "the whole message with CRLF line ends (base64 attachment)")

    i = nxt()
    m = (hdrs(CARLA, ROBOT, "tp1", date_n(i), "fx29.inline@example.edu", ua="Apple Mail")
         + multipart("mixed", "Apple-Mail=_fx29",
                     [text_part(BODY),
                      part('text/x-csrc; name="tp.c"', TP_C.decode(), "7bit", 'inline; filename="tp.c"')]))
    fx("inline-disposition", m, "queued", "QUEUED", "-", "s003", "tp1", {"tp.c": TP_C},
       "tp.c with Content-Disposition: inline (Apple Mail)")

    i = nxt()
    m = (hdrs(BETO, ROBOT, "tp1", date_n(i), "fx30.ctname@example.edu", ua="Eudora")
         + multipart("mixed", "=_fx30",
                     [text_part(BODY),
                      'Content-Type: application/octet-stream; name="tp.c"\nContent-Transfer-Encoding: base64\n\n'
                      + b64(TP_C)]))
    fx("name-in-content-type", m, "queued", "QUEUED", "-", "s002", "tp1", {"tp.c": TP_C},
       "no Content-Disposition, the name only in Content-Type (old clients)")

    i = nxt()
    t = tar_bytes([("tp1/", b"", "d"), ("tp1/tp.c", TP_C_MODULAR, "f"), ("tp1/aux.c", AUX_C, "f"),
                   ("tp1/aux.h", AUX_H, "f")], mode="w:xz")
    fx("tar-xz-folder", simple_mail(ANA, ROBOT, "tp1", date_n(i), "fx31.tarxz@example.edu",
                                    [text_part(BODY), file_part("tp1.tar.xz", t, ctype="application/x-xz")],
                                    "------------fx31"),
       "queued", "QUEUED", "-", "s001", "tp1", None,
       "a tar.xz whose files are in a tp1/ folder (what most students send): tp.c aux.c aux.h "
       "found under submitted/",
       check="folder")

    i = nxt()
    m = ("Return-Path: <beto@example.edu>\nDelivered-To: entregas+tp1@example.edu\n"
         "Message-ID: <fx32.nofrom@example.edu>\nDate: %s\nTo: entregas+tp1@example.edu\nSubject: tp1\n"
         "MIME-Version: 1.0\n" % date_n(i)
         + multipart("mixed", "------------fx32", [text_part(BODY), file_part("tp.c", TP_C)]))
    fx("no-from-envelope", m, "queued", "QUEUED", "-", "s002", "tp1", {"tp.c": TP_C},
       "no From: header: the student is the envelope sender (-f beto@example.edu)",
       args="-f beto@example.edu")

    i = nxt()
    fx("extension-env", simple_mail(CARLA, ROBOT_PLAIN, "entrega", date_n(i), "fx33.ext@example.edu",
                                    [text_part(BODY), file_part("tp.c", TP_C)], "------------fx33"),
       "queued", "QUEUED", "-", "s003", "tp1", {"tp.c": TP_C},
       "exercise from $EXTENSION (postfix local(8)), delivered with EXTENSION=tp1 in the environment",
       args="EXTENSION=tp1")

    i = nxt()
    m = simple_mail(ANA, ROBOT, "=?UTF-8?Q?Entrega_TP1_=E2=80=94_versi=C3=B3n_2?=", date_n(i),
                    "fx34.resend@example.edu", [text_part(BODY), file_part("tp.c", TP_C_MODULAR),
                                                file_part("aux.c", AUX_C), file_part("aux.h", AUX_H)],
                    "------------fx34")
    fx("resubmission", m, "queued", "QUEUED", "-", "s001", "tp1",
       {"tp.c": TP_C_MODULAR, "aux.c": AUX_C, "aux.h": AUX_H},
       "Ana's next tp1 attempt (RFC 2047 Subject): her older QUEUED tp1 attempts become SUPERSEDED",
       check="supersede")
    return FIX


# --------------------------------------------------------------------------
def demo_sources():
    """The demo's programs, made from the example exercise's reference
    solution (conf/exercises/tp1/solution/tp.c: count, sum and average of
    numbers) so that they keep matching it; the small sum program above
    when the checkout has no such file."""
    sol_path = os.path.join(TOP, "..", "conf", "exercises", "tp1", "solution", "tp.c")
    if not os.path.exists(sol_path):
        return TP_C, TP_WRONG, TP_NOCOMPILE, TP_CRASH, (TP_C_MODULAR, AUX_C, AUX_H)
    sol = open(sol_path, "rb").read()

    def sub(old, new, text=sol):
        assert old in text, "demo: %r not in %s" % (old, sol_path)
        return text.replace(old, new)
    # wrong output: the average divides by one more than the count
    wrong = sub(b"sum / count", b"sum / (count + 1)")
    # does not compile: a missing semicolon
    nocompile = sub(b"count++;", b"count++")
    # crashes (SIGSEGV): strlen(NULL) when there is no --label
    crash = sub(b"if (label)", b"if (strlen(label) > 0)")
    # several files: the average in aux.c
    modular = sub(b"sum / count", b"promedio(sum, count)", sub(b"#include <errno.h>\n", b"#include <errno.h>\n#include \"aux.h\"\n"))
    aux_c = b'#include "aux.h"\n\ndouble promedio(double sum, long count)\n{\n\treturn sum / count;\n}\n'
    aux_h = b"#ifndef AUX_H\n#define AUX_H\ndouble promedio(double sum, long count);\n#endif\n"
    return sol, wrong, nocompile, crash, (modular, aux_c, aux_h)


def demo_mails():
    """`make demo`: tp1 submissions from the roster students."""
    out = []
    TP_C, TP_WRONG, TP_NOCOMPILE, TP_CRASH, (TP_C_MODULAR, AUX_C, AUX_H) = demo_sources()

    def add(slug, frm, subject, mid, parts_, n):
        out.append((slug, simple_mail(frm, ROBOT, subject, date_n(n), mid, parts_, "------------demo%02d" % n)))

    add("ana-correct", ANA, "TP1", "demo01@example.edu", [text_part(BODY), file_part("tp.c", TP_C, cte="7bit")], 1)
    add("beto-wrong", BETO, "tp1", "demo02@example.edu", [text_part(BODY), file_part("tp.c", TP_WRONG)], 2)
    add("carla-no-compile", CARLA, "tp1", "demo03@example.edu",
        [text_part(BODY), file_part("tp.c", TP_NOCOMPILE)], 3)
    add("ana-gmail-crash", ANA2, "tp1", "demo04@mail.gmail.com", [text_part(BODY), file_part("tp.c", TP_CRASH)], 4)
    add("beto-zip", BETO, "tp1 corregido", "demo05@example.edu",
        [text_part(BODY), file_part("tp1.zip", zip_bytes([("tp.c", TP_C, None)]), ctype="application/zip")], 5)
    add("unknown-sender", "Alguien <alguien@otro.example>", "tp1", "demo06@otro.example",
        [text_part(BODY), file_part("tp.c", TP_C)], 6)
    add("carla-modular", CARLA, "tp1 otra vez", "demo07@example.edu",
        [text_part(BODY), file_part("tp.c", TP_C_MODULAR), file_part("aux.c", AUX_C), file_part("aux.h", AUX_H)], 7)
    add("carla-no-attachment", CARLA, "tp1", "demo08@example.edu", [text_part("Me olvid\u00e9 el adjunto.\n")], 8)
    return out


def write_maildir(path, mails):
    if os.path.isdir(path):
        shutil.rmtree(path)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub))
        # git keeps no empty directory; Maildir readers skip dot files
        if sub != "new":
            open(os.path.join(path, sub, ".gitkeep"), "w").close()
    names = []
    for k, (slug, data) in enumerate(mails, 1):
        if isinstance(data, str):
            data = data.encode("utf-8")
        name = "%d.F%02d_%s.sercom-fixtures" % (EPOCH + k, k, slug)
        with open(os.path.join(path, "new", name), "wb") as f:
            f.write(data)
        names.append(name)
    return names


README_HEAD = """maildir-fixtures: mails for sercom-deliver (generated: do not edit by hand)

Everything here is written by make-fixtures.sh (make_fixtures.py), byte for
byte the same at every run; edit the generator and run it again, then
commit the result.

submissions/   a Maildir (new/) of realistic and hostile submissions, one
               case per mail. tests/t/10-deliver-fixtures.t delivers them
               in name order into one instance whose exercises are made by
               tests/t/deliver-lib.sh (make_exercises):
                 tp1 open, files = *.c *.h, required = tp.c
                 tp2 closed yesterday, tp3 opens next year,
                 tp4 max_attempts = 2, tp5 no rules
               and the roster of tests/t/lib.sh (s001 ana@example.edu and
               ana.alumna@gmail.com, s002 beto@example.edu, s003
               carla@example.edu), unknown_sender = reject.
expected.tsv   per mail: the extra sercom-deliver arguments (NAME=VALUE is
               an environment variable), the messages.outcome, the
               attempts.state and .reason ("-": no attempt / NULL; "a|b":
               either), the student and exercise, and a named extra check
               (zipslip, symlink, bomb, dup, folder, supersede: see the test).
expected/MAIL/ the exact tree var/attempts/ID/submitted must hold (files
               that the exercise does not accept are not in it).
demo/          a Maildir for `make demo`: tp1 submissions from the roster
               (correct, wrong output, not compiling, crashing, a zip, an
               unknown sender, several files, no attachment), made from
               conf/exercises/tp1/solution/tp.c: run the generator again
               when that solution changes.

Every delivery must exit 0 and keep the raw mail in var/mail/new (the bytes
fed, or without the mbox From line).

Submissions
-----------
"""


DEMO_VERDICTS = {
    "ana-correct": "ACCEPTED",
    "beto-wrong": "TESTS_FAILED (WRONG_OUTPUT: the average)",
    "carla-no-compile": "BUILD_FAILED",
    "ana-gmail-crash": "TESTS_FAILED (SIGNAL SIGSEGV)",
    "beto-zip": "ACCEPTED (tp.c in a zip)",
    "unknown-sender": "REJECTED unknown_sender",
    "carla-modular": "ACCEPTED (tp.c aux.c aux.h)",
    "carla-no-attachment": "REJECTED no_files",
}


def write_readme(names, fixes, demo):
    out = [README_HEAD]
    for name, f in zip(names, fixes):
        res = f["outcome"]
        if f["state"] != "-":
            res += ", attempt %s%s" % (f["state"], "" if f["reason"] == "-" else " " + f["reason"])
        else:
            res += ", no attempt"
        if f["tree"]:
            res += "; submitted: " + " ".join(sorted(f["tree"]))
        args = "" if f["args"] == "-" else "  [delivered with %s]" % f["args"]
        out.append("%s\n    %s%s\n    -> %s\n" % (name, f["comment"], args, res))
    out.append("\nDemo (all to entregas+tp1@example.edu)\n--------------------------------------\n"
               "Expected verdicts when each mail is graded before the next one is\n"
               "delivered (sercom-runner --once after each): delivered all at once, a\n"
               "student's newer QUEUED attempt supersedes the older one (Ana's crash\n"
               "replaces her correct one, and so on).\n")
    for name in demo:
        out.append("%s\n    -> %s\n" % (name, DEMO_VERDICTS[name.split("_", 1)[1].split(".")[0]]))
    with open(os.path.join(TOP, "README"), "w", encoding="utf-8") as fh:
        fh.write("".join(out))


def main():
    fixes = build_submissions()
    names = write_maildir(os.path.join(TOP, "submissions"), [(f["slug"], f["mail"]) for f in fixes])
    exp = os.path.join(TOP, "expected")
    if os.path.isdir(exp):
        shutil.rmtree(exp)
    os.makedirs(exp)
    rows = ["# file\targs\toutcome\tstate\treason\tstudent\texercise\tcheck\tcomment"]
    for name, f in zip(names, fixes):
        if f["tree"] is not None:
            for p, data in f["tree"].items():
                fp = os.path.join(exp, name, p)
                os.makedirs(os.path.dirname(fp), exist_ok=True)
                with open(fp, "wb") as fh:
                    fh.write(data)
        rows.append("\t".join([name, f["args"], f["outcome"], f["state"], f["reason"], f["student"],
                               f["exercise"], f["check"], f["comment"]]))
    with open(os.path.join(TOP, "expected.tsv"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(rows) + "\n")
    demo = write_maildir(os.path.join(TOP, "demo"), demo_mails())
    write_readme(names, fixes, demo)
    print("wrote %d submissions and %d demo mails under %s" % (len(fixes), len(demo_mails()), TOP))


main()
