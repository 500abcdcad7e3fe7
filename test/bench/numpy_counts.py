"""Per-PE executed-MAC counts of a deltasim trace with numpy alone (the baseline of replay.bench.ts).

usage: numpy_counts.py TRACE
For every MAC layer (conv2d, dense) and step: the 0/1 masks im2col'd into A (M x K) and B (K x N),
then one float32 matmul A @ B gives each output-stationary PE's executed MACs (both operands
non-zero, padding skipped). Prints one JSON line: the executed total, the seconds spent in the
matmuls alone, and the whole script's seconds after the imports.
"""
import json
import sys
import time

import numpy as np

START = time.perf_counter()


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    manifest = json.loads(header["__metadata__"]["deltasim.manifest"])

    def mask(name, shape):
        begin, end = header[name + "#mask"]["data_offsets"]
        n = int(np.prod(shape))
        packed = np.frombuffer(data, np.uint8, end - begin, base + begin)
        return np.unpackbits(packed, count=n, bitorder="little").reshape(shape).astype(np.float32)

    executed = 0
    matmul_s = 0.0
    for layer in manifest["layers"]:
        op = layer["op"]
        if op not in ("conv2d", "dense"):
            continue
        b = mask(f"L/{layer['name']}/weight", layer["operandShape"])
        for step in manifest["steps"]:
            x = mask(f"S{step['index']}/{layer['name']}/input", layer["inputShape"])
            if op == "dense":
                a, bk = x, b
            else:
                fh, fw = layer["kernel"]
                sh, sw = layer["stride"]
                pt, pb, pl, pr = layer["padding"]
                assert layer.get("dilation", [1, 1]) == [1, 1]
                padded = np.pad(x, ((pt, pb), (pl, pr), (0, 0)))
                win = np.lib.stride_tricks.sliding_window_view(padded, (fh, fw), axis=(0, 1))[::sh, ::sw]
                ho, wo, c = win.shape[:3]
                a = np.ascontiguousarray(win.transpose(0, 1, 3, 4, 2)).reshape(ho * wo, fh * fw * c)
                bk = b.reshape(fh * fw * c, -1)
            t = time.perf_counter()
            per_pe = a @ bk
            matmul_s += time.perf_counter() - t
            executed += int(per_pe.sum(dtype=np.float64))
    print(json.dumps({"executed": executed, "matmulSeconds": matmul_s, "scriptSeconds": time.perf_counter() - START}))


if __name__ == "__main__":
    main(sys.argv[1])
