#!/usr/bin/python3
"""FAISS IndexFlatIP and IndexHNSWFlat on the vectors main.go writes, for bench/index/run.sh.

Run with Debian's interpreter (/usr/bin/python3) and python3-faiss, whose
batched flat search goes through whatever libblas.so.3 is selected (run.sh
makes that the OpenMP OpenBLAS). DIR holds meta.json and raw little-endian
files: x.f32/q.f32 (rows and queries L2-normalised at D, so inner product
is the cosine our index ranks by), xp.f32/qp.f32 (the graph-dim prefixes,
re-normalised), gt.i32/gtp.i32 (our exact top-k at D and at the prefix).

Prints JSON lines: what was loaded (faiss version, BLAS mapped into the
process), then
  - Flat at D: one query at a time (1 thread, cycling for at least
    -mintime) and batched (batch_nq queries at each thread count), with
    recall@k against our exact ids;
  - HNSWFlat on the prefix with our M and efConstruction, built on
    -build-threads OpenMP threads (build seconds, resident memory growth
    per vector), then for each ef of the sweep: QPS of all queries searched
    sequentially on 1 thread in one call (no Python overhead per query) and
    recall@k against our exact ids at the prefix.
"""

import argparse
import contextlib
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from faissenv import blas_info, faiss, limit_threads  # noqa: E402


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def pinned(cpu):
    """Binds the calling thread to one CPU (cpu < 0: as is) for a
    single-query loop, as bench/index/main.go and hnswlib_bench.cpp do."""
    if cpu < 0:
        yield
        return
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, old)


def recall(got, want):
    hits = total = 0
    for g, w in zip(got, want):
        w = set(int(i) for i in w if i >= 0)
        hits += len(w & set(int(i) for i in g))
        total += len(w)
    return hits / max(total, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("-threads", "--threads", default="1,2", help="thread counts of the batched flat search")
    ap.add_argument("-build-threads", "--build-threads", type=int, default=2, help="OpenMP threads of the HNSW build")
    ap.add_argument("-mintime", "--mintime", type=float, default=1.0, help="seconds of each single-query loop")
    ap.add_argument("-efs", "--efs", default="", help="ef sweep (default: meta.json's)")
    ap.add_argument("-pin-cpu", "--pin-cpu", type=int, default=-1,
                    help="bind the thread of single-query loops to this CPU (-1: no binding)")
    ap.add_argument("-skip-hnsw", "--skip-hnsw", action="store_true")
    ap.add_argument("-info", "--info", action="store_true")
    a = ap.parse_args()

    meta = json.load(open(os.path.join(a.dir, "meta.json")))
    n, d, nq, p, k = meta["n"], meta["d"], meta["nq"], meta["p"], meta["k"]
    name = meta["set"]
    threads = [int(t) for t in a.threads.split(",")]
    efs = [int(e) for e in a.efs.split(",")] if a.efs else meta["efs"]

    def load(fn, cols, dtype=np.float32, rows=None):
        arr = np.fromfile(os.path.join(a.dir, fn), dtype=dtype)
        return arr.reshape(-1, cols)

    q = load("q.f32", d)
    gt = load("gt.i32", k, np.int32)
    x = load("x.f32", d)
    assert x.shape == (n, d) and q.shape == (nq, d), (x.shape, q.shape)

    flat = faiss.IndexFlatIP(d)
    flat.add(x)
    del x
    limit_threads(threads[0])
    flat.search(q[:64], k)  # loads the BLAS
    if a.info:
        info = blas_info()
        if not any("openblas" in s for s in info["paths"]):
            print(f"faiss_index.py: warning: OpenBLAS is not loaded: {info['paths']}", file=sys.stderr)
        print(json.dumps({"impl": "faiss", "info": True, "blas": info}), flush=True)
    base = {"impl": "faiss", "set": name, "n": n, "d": d}

    # Flat, one query at a time on 1 thread.
    limit_threads(1)
    with pinned(a.pin_cpu):
        calls, t0, got = 0, time.perf_counter(), {}
        while calls == 0 or time.perf_counter() - t0 < a.mintime:
            i = calls % nq
            _, I = flat.search(q[i:i + 1], k)
            got[i] = I[0]
            calls += 1
        qps = calls / (time.perf_counter() - t0)
    rows = sorted(got)
    print(json.dumps(dict(base, method="flat", dim=d, threads=1, qps=qps,
                          recall=recall([got[i] for i in rows], gt[rows]), queries=calls)), flush=True)

    # Flat, batched.
    bq = min(meta.get("batch_nq", 1000), nq)
    for t in threads:
        limit_threads(t)
        qps = 0.0
        for _ in range(3):  # the best of 3 calls, as bench/index/main.go times ours
            t0 = time.perf_counter()
            _, I = flat.search(q[:bq], k)
            qps = max(qps, bq / (time.perf_counter() - t0))
        print(json.dumps(dict(base, method="flat-batch", dim=d, threads=t, nq=bq, qps=qps, reps=3,
                              recall=recall(I, gt[:bq]))), flush=True)
    del flat
    if a.skip_hnsw:
        return

    # HNSW on the prefix.
    qp = load("qp.f32", p)
    gtp = load("gtp.i32", k, np.int32)
    xp = load("xp.f32", p)
    rss0 = rss_bytes()
    limit_threads(a.build_threads)
    t0 = time.perf_counter()
    h = faiss.IndexHNSWFlat(p, meta["m"], faiss.METRIC_INNER_PRODUCT)
    h.hnsw.efConstruction = meta["ef_construction"]
    h.add(xp)
    build = time.perf_counter() - t0
    del xp
    grow = (rss_bytes() - rss0) / n
    print(json.dumps(dict(base, method="hnsw", graph_dim=p, m=meta["m"], ef_construction=meta["ef_construction"],
                          build_threads=a.build_threads, build_s=build, bytes_per_vec=grow)), flush=True)
    limit_threads(1)
    for ef in efs:
        h.hnsw.efSearch = ef
        _, I = h.search(qp, k)
        r = recall(I, gtp)
        with pinned(a.pin_cpu):
            reps, t0 = 0, time.perf_counter()
            while reps == 0 or time.perf_counter() - t0 < a.mintime:
                h.search(qp, k)
                reps += 1
            qps = reps * nq / (time.perf_counter() - t0)
        print(json.dumps(dict(base, method="hnsw", graph_dim=p, dim=p, ef=ef, qps=qps, recall_prefix=r)), flush=True)


if __name__ == "__main__":
    main()
