#!/usr/bin/python3
"""SGEMM GFLOP/s of numpy (float32 matmul, i.e. OpenBLAS sgemm) on the shapes of main.go.

Run with Debian's interpreter (/usr/bin/python3) and python3-numpy, which
uses whatever libblas.so.3 is selected; run.sh makes that OpenBLAS. A
transposed operand is a transposed view of a contiguous array, which numpy
hands to sgemm as a transpose flag, without a copy. The thread count is set
through threadpoolctl when it is installed, and run.sh also sets
OMP_NUM_THREADS/OPENBLAS_NUM_THREADS for the command. Each result is checked
against a float64 product on a few rows, so a misbehaving kernel is caught.

Prints JSON lines: first what was loaded, then one per shape, with the
fields of main.go's lines and "impl": "numpy".
"""

import argparse
import contextlib
import io
import json
import os
import sys
import time

import numpy as np

# Same list as main.go: name, m, n, k, transA, transB.
SHAPES = [
    ("sq256", 256, 256, 256, False, False),
    ("sq512", 512, 512, 512, False, False),
    ("sq1024", 1024, 1024, 1024, False, False),
    ("sq2048", 2048, 2048, 2048, False, False),
    ("fc1_fwd", 256, 1024, 784, False, True),
    ("fc2_fwd", 256, 2048, 1024, False, True),
    ("fc1_dW", 1024, 784, 256, True, False),
    ("fc2_dX", 256, 1024, 2048, False, False),
    ("conv_fwd", 50176, 32, 144, False, True),
]


def blas_info():
    info = {"numpy": np.__version__}
    paths = []
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if ("blas" in os.path.basename(p) or "openblas" in p) and p not in paths:
                paths.append(p)
    info["paths"] = paths
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        np.show_config()
    info["show_config"] = sorted({l.strip() for l in buf.getvalue().splitlines() if "libraries" in l})
    try:
        import threadpoolctl
        info["threadpoolctl"] = [
            {k: d.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "num_threads", "filepath")}
            for d in threadpoolctl.threadpool_info() if d.get("user_api") == "blas"
        ]
    except ImportError:
        info["threadpoolctl"] = None
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    info["OPENBLAS_L2_SIZE"] = os.environ.get("OPENBLAS_L2_SIZE")
    return info


def measure(m, n, k, ta, tb, min_time, reps, rng):
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
    A = a.T if ta else a
    B = b.T if tb else b
    c = np.empty((m, n), np.float32)
    np.matmul(A, B, out=c)  # warm-up
    rows = [0, m // 2, m - 1]
    want = A[rows].astype(np.float64) @ B.astype(np.float64)
    err = np.abs(c[rows] - want).max() / max(1.0, np.abs(want).max())
    if not err < 1e-4:
        sys.exit(f"numpy_gemm.py: wrong result for m={m} n={n} k={k}: relative error {err}")
    flops = 2.0 * m * n * k
    best = 0.0
    mean = 0.0
    for _ in range(reps):
        calls, t0 = 0, time.perf_counter()
        while calls == 0 or time.perf_counter() - t0 < min_time:
            t1 = time.perf_counter()
            np.matmul(A, B, out=c)
            best = max(best, flops / (time.perf_counter() - t1) / 1e9)
            calls += 1
        mean = max(mean, flops * calls / (time.perf_counter() - t0) / 1e9)
    return best, mean


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-threads", "--threads", type=int, default=1)
    ap.add_argument("-shapes", "--shapes", default="", help="comma-separated names (default all)")
    ap.add_argument("-mintime", "--mintime", type=float, default=0.3, help="seconds per repetition")
    ap.add_argument("-reps", "--reps", type=int, default=5)
    a = ap.parse_args()

    sel = SHAPES
    if a.shapes:
        want = [s.strip() for s in a.shapes.split(",")]
        unknown = set(want) - {s[0] for s in SHAPES}
        if unknown:
            sys.exit(f"numpy_gemm.py: unknown shapes {sorted(unknown)}")
        sel = [s for s in SHAPES if s[0] in want]

    limiter = contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(limits=a.threads, user_api="blas")
    except ImportError:
        pass  # OMP_NUM_THREADS / OPENBLAS_NUM_THREADS from the environment
    rng = np.random.default_rng(1)
    with limiter:
        np.matmul(np.ones((8, 8), np.float32), np.ones((8, 8), np.float32))  # load the BLAS
        info = blas_info()
        if not any("openblas" in p for p in info["paths"]):
            print(f"numpy_gemm.py: warning: OpenBLAS is not loaded: {info['paths']}", file=sys.stderr)
        print(json.dumps({"impl": "numpy", "threads": a.threads, "blas": info}))
        for name, m, n, k, ta, tb in sel:
            g, gm = measure(m, n, k, ta, tb, a.mintime, a.reps, rng)
            print(json.dumps({"impl": "numpy", "shape": name, "m": m, "n": n, "k": k, "ta": ta, "tb": tb,
                              "threads": a.threads, "gflops": g, "gflops_mean": gm}), flush=True)


if __name__ == "__main__":
    main()
