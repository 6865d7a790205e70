#!/usr/bin/env python3
"""A minimal INDI client for the driver's tests (standard library only, independent of the
driver's code): connects to indiserver, asks for BLOBs, prints "ready" once the device's
definitions come back (the BLOBs asked for are then on), then records every
CCD_EXPOSURE update and saves the first CCD1 BLOB (base64 decoded, line breaks skipped).

usage: indi_client.py PORT DEVICE OUT_FILE TIMEOUT_S
Prints one JSON line at the end: {"blob": {"format", "size"}, "exposure": [[state, value]…],
"after_blob": [...], "defined": ["BLOB:CCD1", …], "messages": [...], "iso": {"ISO0": label…},
"props": {NAME: "Kind perm rule"…}}.
"""
import base64
import json
import socket
import sys
import time
import xml.etree.ElementTree as ET

port, device, out, timeout = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
# indiserver handles a client's messages in order: once a definition comes back, the
# enableBLOB before the getProperties is in force, and the client says "ready".
s.sendall(f'<enableBLOB device="{device}">Also</enableBLOB><getProperties version="1.7"/>'.encode())
# The stream has no root element: an incremental parser under a made-up one reads it as it
# comes (any split between reads, each byte once).
parser = ET.XMLPullParser(events=("start", "end"))
parser.feed(b"<stream>")
depth = 0
ready = False
exposure, after_blob, blob, defined, iso, props = [], [], None, [], {}, {}
deadline = time.time() + timeout
s.settimeout(1.0)
messages = []
while time.time() < deadline:
    try:
        data = s.recv(1 << 20)
    except socket.timeout:
        continue
    if not data:
        break
    parser.feed(data)
    for event, e in parser.read_events():
        if event == "start":
            depth += 1
            if depth == 2 and e.tag.startswith("def") and e.tag.endswith("Vector"):
                defined.append(e.tag[3:-6] + ":" + (e.get("name") or ""))
                if e.get("device") == device:
                    props[e.get("name")] = " ".join(
                        [e.tag[3:-6], e.get("perm") or "-", e.get("rule") or "-"])
                if not ready and e.get("device") == device:
                    ready = True
                    print("ready", flush=True)
            continue
        depth -= 1
        if depth != 1:
            continue
        if e.get("device") == device:
            if e.tag == "defSwitchVector" and e.get("name") == "CCD_ISO":
                iso = {m.get("name"): m.get("label") for m in e}
            elif e.tag == "setNumberVector" and e.get("name") == "CCD_EXPOSURE":
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
        e.clear()
    if blob and after_blob and after_blob[-1][0] in ("Ok", "Alert"):
        break
    if exposure and exposure[-1][0] == "Alert":
        break
if not ready:
    print("ready", flush=True)
print(json.dumps({"blob": blob, "exposure": exposure, "after_blob": after_blob,
                  "defined": defined, "messages": messages, "iso": iso,
                  "props": props}), flush=True)
