"""Just enough PNG decoding (zlib and struct, no imaging package) to look at a screenshot's top rows."""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # RGB, RGBA: what Chromium writes


def chunks(data):
    assert data[:8] == SIGNATURE, "not a PNG file"
    offset = 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])[0]
        yield kind, body
        offset += 12 + length


def top_rows(data, rows):
    """(width, height, [row of (r, g, b) pixels]) for the first ``rows`` rows of an 8-bit RGB(A) PNG."""
    header, compressed = None, []
    for kind, body in chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed.append(body)
    width, height, depth, colour, _compression, _filter, interlace = header
    assert depth == 8 and colour in CHANNELS and interlace == 0, header
    channels = CHANNELS[colour]
    stride = width * channels
    raw = zlib.decompressobj().decompress(b"".join(compressed), (stride + 1) * rows)
    previous, decoded = bytearray(stride), []
    for row in range(min(rows, height)):
        line = raw[row * (stride + 1):(row + 1) * (stride + 1)]
        current = _unfiltered(line[0], bytearray(line[1:]), previous, channels)
        decoded.append([tuple(current[i:i + 3]) for i in range(0, stride, channels)])
        previous = current
    return width, height, decoded


def _unfiltered(kind, line, above, bpp):
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = above[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            upper_left = above[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _paeth(left, up, upper_left)) & 0xFF
    return line


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
