"""Reads a deltasim trace with numpy only and checks it against expectations written by the test.

usage: read_trace.py TRACE EXPECTATIONS.json
Checks the container rules huggingface's safetensors loader enforces (header, contiguous
data_offsets), our alignment rule, every expected tensor's dtype, shape and stored values
(recomputed here with numpy from the original float32 values), CRC-32s, and that every mask equals
numpy.packbits(x != 0, bitorder='little') and unpacks to x != 0. Prints one line; exit 1 on failure.
"""
import base64
import json
import sys
import zlib

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "I8": np.dtype("i1"), "U8": np.dtype("u1")}


def fail(message):
    print(f"read_trace.py: {message}")
    sys.exit(1)


def main(trace_path, expectations_path):
    with open(expectations_path) as f:
        expect = json.load(f)
    with open(trace_path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    raw_header = blob[8 : 8 + n]
    if not raw_header.startswith(b"{"):
        fail("header does not start with {")
    if raw_header.rstrip(b" ") != raw_header.strip():
        fail("header padding is not trailing spaces")
    if (8 + n) % 8 != 0:
        fail(f"data starts at {8 + n}, not a multiple of 8")
    header = json.loads(raw_header)
    metadata = header.pop("__metadata__")
    data = memoryview(blob)[8 + n :]

    # huggingface safetensors: sorted by offset, entries tile the data exactly.
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])
    cursor = 0
    for name, e in entries:
        begin, end = e["data_offsets"]
        if begin != cursor:
            fail(f"{name}: hole or overlap at {begin} (expected {cursor})")
        size = int(np.prod(e["shape"], dtype=np.int64)) * DTYPES[e["dtype"]].itemsize
        if end - begin != size:
            fail(f"{name}: {end - begin} bytes, dtype x shape needs {size}")
        if not name.endswith("#pad") and (8 + n + begin) % 8 != 0:
            fail(f"{name}: starts at file offset {8 + n + begin}, not 8-byte aligned")
        cursor = end
    if cursor != len(data):
        fail(f"tensors cover {cursor} of {len(data)} data bytes")

    manifest = json.loads(metadata["deltasim.manifest"])
    table = json.loads(metadata.get("deltasim.tensors", "{}"))
    if [layer["name"] for layer in manifest["layers"]] != expect["layers"]:
        fail("layer names differ")
    if len(manifest["steps"]) != expect["steps"]:
        fail("step count differs")

    def tensor(name):
        e = header[name]
        begin, end = e["data_offsets"]
        return np.frombuffer(data[begin:end], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])

    for name, e in header.items():
        crc = table.get(name, {}).get("crc32")
        if crc is not None:
            begin, end = e["data_offsets"]
            if zlib.crc32(data[begin:end]) != crc:
                fail(f"{name}: CRC-32 mismatch")

    for t in expect["tensors"]:
        name = t["name"]
        original = np.frombuffer(base64.b64decode(t["f32"]), dtype="<f4").reshape(t["shape"])
        stored = tensor(name)
        if header[name]["dtype"] != t["dtype"] or list(stored.shape) != t["shape"]:
            fail(f"{name}: {header[name]['dtype']} {list(stored.shape)}, expected {t['dtype']} {t['shape']}")
        if t["dtype"] == "F32":
            ok = np.array_equal(stored.view("<u4"), original.view("<u4"))
            decoded = stored
        elif t["dtype"] == "F16":
            ok = np.array_equal(stored.view("<u2"), original.astype(np.float16).view("<u2"))
            decoded = stored.astype(np.float32)
        else:
            scale = table[name]["scale"]
            wide = original.astype(np.float64)
            if scale != np.max(np.abs(wide), initial=0.0) / 127:
                fail(f"{name}: scale {scale} is not max|x|/127")
            v = wide / scale if scale > 0 else np.zeros_like(wide)
            q = np.sign(v) * np.minimum(127, np.floor(np.abs(v) + 0.5))
            ok = np.array_equal(stored.astype(np.float64), q)
            decoded = (stored.astype(np.float64) * scale).astype(np.float32)
        if not ok:
            fail(f"{name}: stored values differ from numpy's encoding of the originals")
        mask = tensor(name + "#mask")
        if not np.array_equal(mask, np.packbits(decoded.reshape(-1) != 0, bitorder="little")):
            fail(f"{name}#mask: differs from numpy.packbits(x != 0, bitorder='little')")
        unpacked = np.unpackbits(mask, count=decoded.size, bitorder="little").reshape(decoded.shape)
        if not np.array_equal(unpacked.astype(bool), decoded != 0):
            fail(f"{name}#mask: unpackbits does not give x != 0")
    print(f"ok {len(expect['tensors'])} tensors, {len(manifest['layers'])} layers, {len(manifest['steps'])} steps")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
