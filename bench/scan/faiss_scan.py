#!/usr/bin/python3
"""Exact scan QPS of FAISS IndexFlatIP on the files main.go writes, one query at a time and batched.

Run with Debian's interpreter (/usr/bin/python3) and python3-faiss, which
uses whatever libblas.so.3 is selected for its batched path (run.sh makes
that the OpenMP OpenBLAS). DIR holds x.npy (N×D float32), q.npy (nq×D) and
ids.npy (nq×k int32, our batched top-k); for a cosine size (DIR ends in
_cosine) the rows and queries are L2-normalised once, before timing, and
searched with IndexFlatIP, the usual FAISS recipe for cosine.

Prints JSON lines: what was loaded (faiss version, BLAS libraries mapped
into the process, threadpoolctl's view of OpenBLAS), then one line for the
single-query loop and one per thread count for the batched search, each
with recall@k of FAISS's ids against ours.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from faissenv import blas_info, faiss, limit_threads  # noqa: E402


def recall(got, want, k):
    hits = 0
    for g, w in zip(got, want):
        hits += len(set(g[:k].tolist()) & set(w[:k].tolist()))
    return hits / (len(want) * k)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("-threads", "--threads", default="1,2", help="comma-separated thread counts of the batched search")
    ap.add_argument("-single-time", "--single-time", type=float, default=2.0, help="seconds per repetition of the single-query loop")
    ap.add_argument("-reps", "--reps", type=int, default=3)
    ap.add_argument("-batch-reps", "--batch-reps", type=int, default=2)
    ap.add_argument("-info", "--info", action="store_true", help="print what was loaded first")
    a = ap.parse_args()

    x = np.load(os.path.join(a.dir, "x.npy"))
    q = np.load(os.path.join(a.dir, "q.npy"))
    ours = np.load(os.path.join(a.dir, "ids.npy"))
    n, d = x.shape
    nq, k = ours.shape
    metric = "cosine" if a.dir.rstrip("/").endswith("_cosine") else "ip"
    if metric == "cosine":
        faiss.normalize_L2(x)
        faiss.normalize_L2(q)
    index = faiss.IndexFlatIP(d)
    index.add(x)
    del x
    threads = [int(t) for t in a.threads.split(",")]

    index.search(q[:2], k)  # loads the BLAS (the batched path) and warms up
    limit_threads(threads[0])
    index.search(q[:64], k)
    if a.info:
        info = blas_info(("faiss",))
        if not any("openblas" in p for p in info["paths"]):
            print(f"faiss_scan.py: warning: OpenBLAS is not loaded: {info['paths']}", file=sys.stderr)
        print(json.dumps({"impl": "faiss", "blas": info}), flush=True)

    base = {"impl": "faiss", "n": n, "d": d, "metric": metric, "k": k}

    # One query at a time (the peer's thread count does not matter much
    # here; it is set to the first, normally 1).
    limit_threads(threads[0])
    best, done, nxt = 0.0, 0, 0
    single_ids = {}
    for _ in range(a.reps):
        calls, t0 = 0, time.perf_counter()
        while calls == 0 or time.perf_counter() - t0 < a.single_time:
            _, I = index.search(q[nxt:nxt + 1], k)
            single_ids[nxt] = I[0]
            nxt = (nxt + 1) % nq
            calls += 1
        done += calls
        best = max(best, calls / (time.perf_counter() - t0))
    rows = sorted(single_ids)
    r1 = recall(np.array([single_ids[i] for i in rows]), ours[rows], k)
    print(json.dumps(dict(base, mode="single", threads=threads[0], qps=best, gbs=best * n * d * 4 / 1e9,
                          queries=done, recall_vs_ours=r1)), flush=True)

    for t in threads:
        limit_threads(t)
        best = 0.0
        for _ in range(a.batch_reps):
            t0 = time.perf_counter()
            _, I = index.search(q, k)
            best = max(best, nq / (time.perf_counter() - t0))
        print(json.dumps(dict(base, mode="batch", threads=t, nq=nq, qps=best, gflops=best * 2 * n * d / 1e9,
                              recall_vs_ours=recall(I, ours, k))), flush=True)


if __name__ == "__main__":
    main()
