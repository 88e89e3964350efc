#!/usr/bin/env python3
# Writes the names-*.eml hostile mails of this directory (see README):
# file names that a shell or make would run or misread, as attachments and
# as archive entries (tar.gz, zip). Byte for byte the same at every run.
import base64, io, os, tarfile, urllib.parse, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TP = b'#include <stdio.h>\nint main(void){long a,b;if(scanf("%ld %ld",&a,&b)!=2)return 1;printf("%ld\\n",a+b);return 0;}\n'
SH = b'touch /tmp/sercom-pwned-by-a-name\n'
# (name, content): what the build's shell would run is in e.h and w.h
FILES = [
    ('tp.c', TP),
    ('a`sh<e.h`.c', b'/* a backtick runs sh < e.h */\n'),
    ('e.h', SH),
    ('@x.c', b'/* gcc reads x.c as options */\n'),  # a gcc response file
    ('x.c', b'-wrapper /bin/sh,w.h\n'),
    ('w.h', SH),
    ('-o.c', b'/* an option */\n'),
    ('$(id).c', b'/* a command substitution */\n'),
    ('x;y|z&.c', b'/* a list */\n'),
    ('"q\'.c', b'/* quotes */\n'),
    ('mi tp.c', b'/* two words */\n'),
    ('%:*?[]{}()!#~=^.c', b'/* make patterns */\n'),
    ('ni\u00f1o.c', b'/* UTF-8 stays */\n'),
    ('ejercicio_\u00f1.c', b'/* UTF-8 stays */\n'),
    ('a b.c', b'/* first a_b.c */\n'),
    ('a_b.c', b'/* second a_b.c */\n'),
]

def header(mid, subject):
    return ('From: Ana Alumna <ana@example.edu>\nTo: entregas+tp1@example.edu\n'
            'Subject: %s\nMessage-ID: <%s@example.edu>\nDate: Thu, 01 Jan 2026 10:00:00 +0000\n'
            'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="nn"\n\n'
            '--nn\nContent-Type: text/plain; charset=utf-8\n\n%s\n' % (subject, mid, subject))

def part(name, data, ctype='application/octet-stream'):
    # RFC 2231: any byte of the name survives the header
    enc = urllib.parse.quote(name.encode(), safe='')
    b64 = base64.encodebytes(data).decode()
    return ('--nn\nContent-Type: %s\nContent-Disposition: attachment; filename*=UTF-8\'\'%s\n'
            'Content-Transfer-Encoding: base64\n\n%s' % (ctype, enc, b64))

def write(fname, body):
    with open(os.path.join(HERE, fname), 'w') as f:
        f.write(body + '--nn--\n')

# the archives: the same names under tp1/ (a folder, flattened), a
# directory with a space, one named by a command, and ".." components
ENTRIES = [('tp1/' + n, d) for n, d in FILES if n not in ('mi tp.c', '-o.c', '$(id).c')]
ENTRIES += [('tp1/sub dir/-o.c', b'/* an option in a folder */\n'),
            ('tp1/$(id)/x.c', b'/* a folder named by a command */\n'),
            ('tp1/ok/../../evil.c', b'/* zip-slip */\n'),
            ('tp1/../evil2.c', b'/* zip-slip */\n')]

def tgz():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz', format=tarfile.PAX_FORMAT) as t:
        for n, d in ENTRIES:
            i = tarfile.TarInfo(n)
            i.size, i.mtime, i.mode = len(d), 1767261600, 0o644
            t.addfile(i, io.BytesIO(d))
    raw = buf.getvalue()
    return raw[:4] + b'\0\0\0\0' + raw[8:]  # gzip mtime: reproducible

def zipped():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        for n, d in ENTRIES:
            z.writestr(zipfile.ZipInfo(n, (2026, 1, 1, 10, 0, 0)), d)
    return buf.getvalue()

write('names-injection.eml', header('names-injection', 'tp1 names that are code') +
      ''.join(part(n, d) for n, d in FILES))
write('names-archive-tgz.eml', header('names-archive-tgz', 'tp1 names that are code, in a tar.gz') +
      part('tp1.tar.gz', tgz(), 'application/gzip'))
write('names-archive-zip.eml', header('names-archive-zip', 'tp1 names that are code, in a zip') +
      part('tp1.zip', zipped(), 'application/zip'))
