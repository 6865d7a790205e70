#!/usr/bin/env python3
"""A minimal INDI client for the driver's tests (standard library only, independent of the
driver's code): connects to indiserver, asks for BLOBs, prints "ready", then records every
CCD_EXPOSURE update and saves the first CCD1 BLOB (base64 decoded, line breaks skipped).

usage: indi_client.py PORT DEVICE OUT_FILE TIMEOUT_S
Prints one JSON line at the end: {"blob": {"format", "size"}, "exposure": [[state, value]…],
"after_blob": [...], "defined": ["BLOB:CCD1", …]}.
"""
import base64
import json
import re
import socket
import sys
import time
import xml.etree.ElementTree as ET

port, device, out, timeout = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(f'<getProperties version="1.7"/><enableBLOB device="{device}">Also</enableBLOB>'.encode())
print("ready", flush=True)
buf = b""
exposure, after_blob, blob, defined = [], [], None, []
deadline = time.time() + timeout
s.settimeout(1.0)
element = re.compile(rb"<(setNumberVector|setBLOBVector)\b.*?</\1>", re.S)
messages = []
while time.time() < deadline:
    try:
        data = s.recv(1 << 20)
    except socket.timeout:
        continue
    if not data:
        break
    buf += data
    for m in re.finditer(rb"<def(Text|Number|Switch|Light|BLOB)Vector[^>]*>", data):
        name = re.search(rb"\bname=[\"']([^\"']*)", m.group(0))
        if name:
            defined.append(m.group(1).decode() + ":" + name.group(1).decode())
    while True:
        m = element.search(buf)
        if not m:
            break
        buf = buf[m.end():]
        e = ET.fromstring(m.group(0))
        if e.get("device") != device:
            continue
        if e.tag == "setNumberVector" and e.get("name") == "CCD_EXPOSURE":
            value = float(e.find("oneNumber").text.strip())
            (after_blob if blob else exposure).append([e.get("state"), value])
            if e.get("message"):
                messages.append(e.get("message"))
        elif e.tag == "setBLOBVector" and e.get("name") == "CCD1" and blob is None:
            one = e.find("oneBLOB")
            data64 = "".join(one.text.split())
            assert len(data64) == int(one.get("enclen")), "enclen"
            raw = base64.b64decode(data64, validate=True)
            assert len(raw) == int(one.get("size")), "size"
            with open(out, "wb") as f:
                f.write(raw)
            blob = {"format": one.get("format"), "size": len(raw)}
    if blob and after_blob and after_blob[-1][0] in ("Ok", "Alert"):
        break
    if exposure and exposure[-1][0] == "Alert":
        break
print(json.dumps({"blob": blob, "exposure": exposure, "after_blob": after_blob,
                  "defined": defined, "messages": messages}), flush=True)
