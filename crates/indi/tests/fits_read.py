#!/usr/bin/env python3
"""An independent FITS reader for the driver's tests (standard library only; FITS Standard 4.0
§3.3, §4.1, §5.2.5): checks the block structure and the mandatory keywords, applies BZERO and
BSCALE, and writes the pixel values as little-endian uint16 (BITPIX 16) or bytes (BITPIX 8,
planes in order) to OUT. Prints the header as JSON.

usage: fits_read.py FILE OUT
"""
import array
import json
import sys

data = open(sys.argv[1], "rb").read()
assert len(data) % 2880 == 0, "not whole 2880-byte blocks"
cards, pos = {}, 0
order = []
while True:
    card = data[pos:pos + 80].decode("ascii")
    pos += 80
    key = card[:8].strip()
    if key == "END":
        assert card[3:].strip() == "", "END card not blank"
        break
    order.append(key)
    if card[8:10] != "= ":
        continue
    value = card[10:]
    if value.lstrip().startswith("'"):
        v = value.lstrip()[1:]
        text, i = "", 0
        while True:
            j = v.index("'", i)
            if v[j:j + 2] == "''":
                text += v[i:j] + "'"
                i = j + 2
                continue
            text += v[i:j]
            break
        cards[key] = text.rstrip()
    else:
        v = value.split("/")[0].strip()
        if v in ("T", "F"):
            cards[key] = v == "T"
        else:
            cards[key] = float(v) if any(c in v for c in ".EeDd") else int(v)
header_end = (pos + 2879) // 2880 * 2880
assert data[pos:header_end].strip(b" ") == b"", "header padding is not spaces"
naxis = cards["NAXIS"]
assert order[:3 + naxis] == ["SIMPLE", "BITPIX", "NAXIS"] + [f"NAXIS{i + 1}" for i in range(naxis)]
assert cards["SIMPLE"] is True
dims = [cards[f"NAXIS{i + 1}"] for i in range(naxis)]
count = 1
for d in dims:
    count *= d
bitpix = cards["BITPIX"]
nbytes = count * abs(bitpix) // 8
body = data[header_end:header_end + nbytes]
assert len(body) == nbytes, "data truncated"
assert data[header_end + nbytes:].strip(b"\0") == b"", "data padding is not zeros"
assert len(data) == header_end + (nbytes + 2879) // 2880 * 2880, "extra blocks"
bzero, bscale = cards.get("BZERO", 0), cards.get("BSCALE", 1)
with open(sys.argv[2], "wb") as f:
    if bitpix == 16:
        stored = array.array("h")
        stored.frombytes(body)
        if sys.byteorder == "little":
            stored.byteswap()  # FITS is big-endian
        assert bscale == 1
        values = array.array("H", (int(bzero) + v for v in stored))
        if sys.byteorder == "big":
            values.byteswap()
        f.write(values.tobytes())
    elif bitpix == 8:
        f.write(body)
    else:
        raise SystemExit(f"BITPIX {bitpix} not expected")
print(json.dumps(cards))
