"""Writes a deltasim trace following only docs/trace-format.md, with numpy and the standard library.

usage: write_trace.py OUT.safetensors EXPECTATIONS.json SEED
Two layers (conv2d stored as F32, dense stored as F16) and one attention layer stored as I8, three
steps. Writes the expected decoded float32 values (base64) and masks for the test to compare.
"""
import base64
import json
import sys
import zlib

import numpy as np


def main(out_path, expectations_path, seed):
    rng = np.random.default_rng(seed)
    layers = [
        {"name": "conv", "op": "conv2d", "inputShape": [4, 4, 3], "outputShape": [4, 4, 2],
         "operandShape": [3, 3, 3, 2], "kernel": [3, 3], "stride": [1, 1], "padding": [1, 1, 1, 1],
         "dilation": [1, 1], "gemm": {"m": 16, "n": 2, "k": 27}, "gemmCount": 1,
         "roles": ["input", "delta", "weight"]},
        {"name": "fc", "op": "dense", "inputShape": [1, 32], "outputShape": [1, 3], "operandShape": [32, 3],
         "gemm": {"m": 1, "n": 3, "k": 32}, "gemmCount": 1, "roles": ["input", "weight"]},
        {"name": "scores", "op": "attention-scores", "inputShape": [5, 4], "outputShape": [5, 5],
         "operandShape": [4, 5], "gemm": {"m": 5, "n": 5, "k": 4}, "gemmCount": 1,
         "structural": "causal", "roles": ["input", "rhs"]},
    ]
    dtype_of = {"conv": "F32", "fc": "F16", "scores": "I8"}
    steps = [{"index": i, "sequence": 0, "position": i, "keyFrame": i == 0} for i in range(3)]
    manifest = {"format": "deltasim-trace", "version": 1, "producer": "numpy-example",
                "model": {"name": "numpy-example", "family": "example"}, "seed": seed,
                "layers": layers, "steps": steps}

    def sparse(shape, zero_fraction):
        x = rng.standard_normal(shape).astype(np.float32)
        x[rng.random(shape) < zero_fraction] = 0
        return x

    tensors = []  # (name, float32 values, layer)
    for layer in layers:
        if "weight" in layer["roles"]:
            tensors.append((f"L/{layer['name']}/weight", sparse(layer["operandShape"], 0.2), layer["name"]))
    for step in steps:
        i = step["index"]
        for layer in layers:
            x = sparse(layer["inputShape"], 0.5)
            tensors.append((f"S{i}/{layer['name']}/input", x, layer["name"]))
            if "delta" in layer["roles"]:
                tensors.append((f"S{i}/{layer['name']}/delta", sparse(layer["inputShape"], 0.8), layer["name"]))
            if "rhs" in layer["roles"]:
                tensors.append((f"S{i}/{layer['name']}/rhs", sparse(layer["operandShape"], 0.3), layer["name"]))

    header, chunks, table, expected = {}, [], {}, []
    offset = 0

    def add(name, dtype, shape, payload):
        nonlocal offset
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(payload)]}
        chunks.append(payload)
        offset += len(payload)
        pad = -offset % 8  # the alignment rule: a U8 "<name>#pad" tensor fills up to the next multiple of 8
        if pad:
            header[name + "#pad"] = {"dtype": "U8", "shape": [pad], "data_offsets": [offset, offset + pad]}
            chunks.append(bytes(pad))
            offset += pad

    for name, x, layer in tensors:
        dtype = dtype_of[layer]
        record = {}
        if dtype == "F32":
            stored, decoded = x.astype("<f4"), x
        elif dtype == "F16":
            stored = x.astype("<f2")
            decoded = stored.astype(np.float32)
        else:
            scale = float(np.max(np.abs(x.astype(np.float64)), initial=0.0) / 127)
            v = x.astype(np.float64) / scale if scale > 0 else np.zeros(x.shape)
            stored = (np.sign(v) * np.minimum(127, np.floor(np.abs(v) + 0.5))).astype(np.int8)
            decoded = (stored.astype(np.float64) * scale).astype(np.float32)
            record["scale"] = scale
        payload = stored.tobytes()
        record["crc32"] = zlib.crc32(payload)
        table[name] = record
        add(name, dtype, x.shape, payload)
        mask = np.packbits(decoded.reshape(-1) != 0, bitorder="little")
        add(name + "#mask", "U8", mask.shape, mask.tobytes())
        expected.append({"name": name, "shape": list(x.shape),
                         "values": base64.b64encode(decoded.astype("<f4").tobytes()).decode(),
                         "mask": base64.b64encode(mask.tobytes()).decode()})

    metadata = {"deltasim.manifest": json.dumps(manifest), "deltasim.tensors": json.dumps(table)}
    header = {"__metadata__": metadata, **header}
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)  # data starts at a multiple of 8
    with open(out_path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
    with open(expectations_path, "w") as f:
        json.dump({"tensors": expected, "layers": [layer["name"] for layer in layers], "steps": len(steps)}, f)
    print(f"wrote {len(tensors)} tensors")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
