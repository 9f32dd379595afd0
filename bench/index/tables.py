#!/usr/bin/python3
"""Markdown tables of bench/index/run.sh from the JSON lines of main.go, faiss_index.py and hnswlib_bench.

Usage: tables.py RESULTS.jsonl LOAD_BEFORE LOAD_AFTER SECONDS
"""

import datetime
import json
import math
import os
import subprocess
import sys


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def f(x, fmt="{:.1f}"):
    return "n/a" if x is None else fmt.format(x)


def smallest_ef(rows, key, target):
    """The row of smallest ef whose key reaches target (None if none does)."""
    ok = sorted((r for r in rows if r.get(key) is not None and r[key] >= target), key=lambda r: r["ef"])
    return ok[0] if ok else None


def qps_at(rows, key, target):
    """QPS at recall exactly target, interpolated linearly in log QPS between
    the sweep points (by ef) on either side of it; None if the sweep does not
    reach it. A sweep that starts above target gives its first point's QPS."""
    pts = sorted((r for r in rows if r.get(key) is not None), key=lambda r: r["ef"])
    prev = None
    for r in pts:
        if r[key] >= target:
            if prev is None or prev[key] >= r[key]:
                return r["qps"]
            t = (target - prev[key]) / (r[key] - prev[key])
            return math.exp(math.log(prev["qps"]) + t * (math.log(r["qps"]) - math.log(prev["qps"])))
        prev = r
    return None


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def ab_table(go_rows, hn, target):
    """The HNSW rounds run.sh alternates across processes (HNSW_AB_ROUNDS):
    per engine and ef, the median QPS over the processes and its range."""
    ours = [r for r in go_rows if r["method"] == "hnsw-ab"]
    theirs = [r for r in hn if r.get("method") == "hnsw-ab"]
    if not ours or not theirs:
        return
    rounds = sorted({r["round"] for r in ours} | {r["round"] for r in theirs})

    def sweep(rows):
        out = {}
        for e in sorted({r["ef"] for r in rows}):
            at = [r for r in rows if r["ef"] == e]
            q = [r["qps"] for r in at]
            out[e] = {"ef": e, "qps": median(q), "lo": min(q), "hi": max(q), "n": len(q), "recall_prefix": at[0]["recall_prefix"]}
        return out

    so, st = sweep(ours), sweep(theirs)
    gd = ours[0].get("graph_dim")
    print(f"HNSW on the {gd}-dim prefix across {len(rounds)} rounds of separate processes: each round runs one search process "
          "of ours and one of hnswlib on the graphs the run above built and saved (ours first in odd rounds); a process's QPS "
          "varies with where its memory lands on this VM, so the ratio compares the medians over processes")
    print()
    print("| ef | ours QPS, median (min–max) | ours recall@10 | hnswlib QPS, median (min–max) | hnswlib recall@10 | ours/hnswlib (medians) |")
    print("|---|---|---|---|---|---|")
    for e in sorted(set(so) | set(st)):
        o, t = so.get(e), st.get(e)
        cell = lambda x: f"{x['qps']:.0f} ({x['lo']:.0f}–{x['hi']:.0f})" if x else "n/a"
        print(f"| {e} | {cell(o)} | {f(o and o['recall_prefix'], '{:.4f}')} | {cell(t)} | {f(t and t['recall_prefix'], '{:.4f}')} | "
              f"{f(o and t and o['qps'] / t['qps'], '{:.2f}')} |")
    bo = smallest_ef(list(so.values()), "recall_prefix", target)
    bt = smallest_ef(list(st.values()), "recall_prefix", target)
    print()
    if bo and bt:
        print(f"At the smallest ef reaching recall@10 {target} (ours {bo['ef']}, hnswlib {bt['ef']}): ours/hnswlib "
              f"{bo['qps'] / bt['qps']:.2f}× (medians), {bo['lo'] / bt['hi']:.2f}× (ours slowest vs hnswlib fastest process) to "
              f"{bo['hi'] / bt['lo']:.2f}× (ours fastest vs hnswlib slowest)")
    else:
        print(f"Recall@10 {target} is not reached by both sweeps (HNSW_AB_EFS)")
    print()


def main():
    path, load_before, load_after, secs = sys.argv[1:5]
    runs = [json.loads(l) for l in open(path) if l.strip()]
    cpu = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1")
    go = next((r for r in runs if r.get("impl") == "go" and r.get("info")), {})
    fi = next((r["blas"] for r in runs if r.get("impl") == "faiss" and r.get("info")), None)
    hl = next((r for r in runs if r.get("impl") == "hnswlib" and "build_s" in r), None)
    trained = next((r for r in runs if "trained" in r), None)
    target = 0.95

    print("Index engines on real MRL embeddings and synthetic Matryoshka-like vectors; k = 10")
    print()
    print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; whole run {int(secs) // 60} min {int(secs) % 60} s")
    print(f"- CPU: {cpu}; load average before: {load_before}; after: {load_after}")
    pin_cpu = os.environ.get("PIN_CPU", "-1")
    pin = f", the thread bound to CPU {pin_cpu}" if pin_cpu.lstrip("-").isdigit() and int(pin_cpu) >= 0 else ""
    print(f"- Go: {go.get('go', '?')}; kernels (MRL_KERNEL) {go.get('kernels', '?')}; GEMM {go.get('gemm', '?')}; GOMAXPROCS {go.get('gomaxprocs', '?')}. "
          f"QPS is one query at a time on one thread for every engine{pin} (ours and hnswlib: the median of 5 rounds of MINTIME/5 s, the same queries each round); recall and mAP use all queries; "
          f"batched searches and ground truth use {go.get('threads', '?')} threads")
    if fi:
        tpc = [d for d in (fi.get("threadpoolctl") or []) if d.get("internal_api") == "openblas"]
        ob = tpc[0] if tpc else {}
        blas = [p for p in fi.get("paths", []) if "blas" in p]
        print(f"- FAISS {fi.get('faiss', '?')} (Debian python3-faiss): BLAS loaded {', '.join(blas) or 'none found'}; "
              f"OpenBLAS {ob.get('version', '?')} {ob.get('threading_layer', '')}, core {ob.get('architecture', '?')}; "
              f"OPENBLAS_CORETYPE={fi.get('OPENBLAS_CORETYPE')}; OMP_WAIT_POLICY=PASSIVE. "
              "Its HNSW QPS is all queries in one search call on 1 OpenMP thread (no Python overhead per query)")
    if hl:
        print(f"- hnswlib: Debian libhnswlib-dev headers, {hl.get('compiler')} -O3 -march=native -fopenmp (hnswlib/hnswlib_bench.cpp); "
              f"built on {hl.get('build_threads')} threads, searched one query at a time on 1 thread")
    rss = [r["peak_rss_mib"] for r in runs if "peak_rss_mib" in r]
    if rss:
        print(f"- peak resident memory of our program, per set run: {', '.join(f'{x:.0f}' for x in rss)} MiB")
    if trained:
        print(f"- trained {trained['trained']} for this run in {trained['train_s']} s")
    print("- Metric: cosine everywhere. Peers get the rows L2-normalised (at D for Flat, each prefix re-normalised for HNSW) and use inner product, "
          "which is the cosine our index computes from the raw rows and cached prefix norms.")
    print("- Synthetic rows: indextest.MatryoshkaLike, a seeded mixture of 16 Gaussian clusters whose dim j has scale 1/sqrt(1+j), "
          "so a row's energy is concentrated in its leading dims, as in a Matryoshka embedding, and a prefix ranks roughly as the full "
          "vector does (the first 64 of 256 dims carry ~77% of the variance); queries are drawn in the same call.")
    print("- Memory per vector: 4·D bytes of vectors plus 4 for the norm at D (cosine), plus the index's own structure "
          "(HNSW graph with its prefix copy: HNSW.MemBytes; IVF lists and centroids, prefix norms: from the layouts documented in package index; the JSON lines also carry the measured heap growth of each build). Peers: resident-memory growth of the build / N, "
          "which includes their own copy of the prefix vectors.")
    print()

    sets = list(dict.fromkeys(r["set"] for r in runs if r.get("impl") == "go" and r.get("setup")))
    for s in sets:
        rows = [r for r in runs if r.get("set") == s]
        setup = next(r for r in rows if r.get("setup") and r.get("impl") == "go")
        go_rows = [r for r in rows if r.get("impl") == "go" and "method" in r]
        exact = next((r for r in go_rows if r["method"] == "flat"), None)
        if exact is None:
            continue
        real = "map" in exact
        src = f"checkpoint {setup.get('ckpt')} ({setup.get('arch')}, {setup.get('heads')} heads), embedded in {setup.get('embed_s', 0):.0f} s" \
            if real else "synthetic (indextest.MatryoshkaLike)"
        print(f"## {s}: {setup['n']} rows × {setup['d']}, {setup['nq']} queries; {src}")
        print()
        if real:
            print(f"Exact full-dim Flat: mAP@10 = {exact['map']:.4f} (labels as relevance, eval.MeanMetrics: AP divided by min(10, #relevant)), "
                  f"{exact['qps']:.1f} QPS.")
            print()
        hdr = "| method | parameters | dim searched | QPS | speed-up vs exact Flat | recall@10 vs exact at D | recall@10 vs exact at graph dim |"
        sep = "|---|---|---|---|---|---|---|"
        if real:
            hdr += " mAP@10 | ΔmAP vs exact |"
            sep += "---|---|"
        hdr += " FLOPs/query | build s | bytes/vector |"
        sep += "---|---|---|"
        print(hdr)
        print(sep)
        for r in go_rows:
            m = r["method"]
            if m in ("flat-batch", "tune", "hnsw-ab"):
                continue
            if m == "flat":
                params = "exact"
            elif m.startswith("funnel"):
                params = r["plan"] + (" (Flat first stage)" if m == "funnel-flat" else
                                      f" (HNSW first stage: graph on the {r['graph_dim']}-prefix, M={r['m']}, efC={r['ef_construction']}, beam = keep)"
                                      if m == "funnel-hnsw" else
                                      f" (tuner's choice for recall {r['target']}: {r['calib_recall']:.4f} on {r['calib_queries']} calibration queries, "
                                      f"{r['heldout_recall']:.4f} on {r['heldout_queries']} held-out; tuning took {r['tune_s']:.0f} s, {r['evaluated']} plans)")
            elif m == "hnsw":
                params = f"graph dim {r['graph_dim']}, M={r['m']}, efC={r['ef_construction']}, ef={r['ef']}" + \
                    (f" (funnel: rerank max(ef,10) at {r['dim']})" if r["dim"] != r["graph_dim"] else "")
            elif m == "ivf":
                params = f"{r['lists']} lists on dim {r['cluster_dim']} ({r['iters']} iters), probe {r['probe']}"
            else:
                params = ""
            line = f"| {m} | {params} | {r['dim']} | {r['qps']:.1f} | {r['speedup']:.1f}× | {r['recall']:.4f} | {f(r.get('recall_prefix'), '{:.4f}')} |"
            if real:
                line += f" {r['map']:.4f} | {r.get('map_diff', 0):+.4f} |"
            fl = r.get("flops")
            line += f" {f(fl, '{:.3g}')} | {f(r.get('build_s'), '{:.2f}')} | {f(r.get('bytes_per_vec'), '{:.0f}')} |"
            print(line)
        tune = next((r for r in go_rows if r["method"] == "tune"), None)
        if tune:
            print()
            print(f"Tuner: {tune.get('error', 'no plan')} ({tune.get('tune_s', 0):.0f} s)")
        print()

        # Peers.
        fa = [r for r in rows if r.get("impl") == "faiss"]
        hn = [r for r in rows if r.get("impl") == "hnswlib"]
        ob = {r["threads"]: r for r in go_rows if r["method"] == "flat-batch"}
        fb = {r["threads"]: r for r in fa if r.get("method") == "flat-batch"}
        fs = next((r for r in fa if r.get("method") == "flat"), None)
        if fa or hn:
            print("Exact Flat at D against FAISS IndexFlatIP")
            print()
            print("| search | threads | ours QPS | FAISS QPS | ours/FAISS | FAISS recall@10 vs ours |")
            print("|---|---|---|---|---|---|")
            if fs:
                print(f"| one query at a time | 1 | {exact['qps']:.1f} | {fs['qps']:.1f} | {exact['qps'] / fs['qps']:.2f} | {fs['recall']:.4f} |")
            for t in sorted(ob):
                o, p = ob[t], fb.get(t)
                print(f"| batched, {o['nq']} queries (best of {o.get('reps', 1)} calls) | {t} | {o['qps']:.1f} | {f(p and p['qps'])} | "
                      f"{f(p and o['qps'] / p['qps'], '{:.2f}')} | {f(p and p['recall'], '{:.4f}')} |")
            print()

            oh = [r for r in go_rows if r["method"] == "hnsw" and r["graph_dim"] == r["dim"] and r["graph_dim"] < r["d"]]
            if not oh:
                oh = [r for r in go_rows if r["method"] == "hnsw" and r["graph_dim"] == r["dim"]]
            gd = oh[0]["graph_dim"] if oh else None
            ofun = {r["ef"]: r for r in go_rows if r["method"] == "hnsw" and r["graph_dim"] == gd and r["dim"] != gd}
            fh = [r for r in fa if r.get("method") == "hnsw" and "ef" in r]
            hh = [r for r in hn if "ef" in r and r.get("method") == "hnsw"]
            fbuild = next((r for r in fa if r.get("method") == "hnsw" and "build_s" in r), {})
            hbuild = next((r for r in hn if "build_s" in r), {})
            obuild = oh[0] if oh else {}
            print(f"HNSW on the {gd}-dim prefix (M={obuild.get('m')}, efConstruction={obuild.get('ef_construction')}); "
                  f"recall@10 against exact search at dim {gd}; ours also as a funnel first stage reranked at {setup['d']} (recall vs exact at {setup['d']})")
            print()
            print(f"| engine | build s | build threads | index bytes/vector | smallest ef with recall >= {target} | its QPS | its recall | ours/peer QPS there | "
                  f"QPS at recall {target} (interpolated) | ours/peer there |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            iq_o = qps_at(oh, "recall_prefix", target)
            best_o = smallest_ef(oh, "recall_prefix", target)
            for name, sweep, b, th in [("ours", oh, obuild, obuild.get("build_threads", 1)), ("FAISS IndexHNSWFlat", fh, fbuild, fbuild.get("build_threads")),
                                       ("hnswlib (native)", hh, hbuild, hbuild.get("build_threads"))]:
                if not sweep and name != "ours":
                    continue
                best = smallest_ef(sweep, "recall_prefix", target)
                ratio = f"{best_o['qps'] / best['qps']:.2f}" if best and best_o and name != "ours" else ("—" if name == "ours" else "n/a")
                mem = b.get("graph_bytes_per_vec") if name == "ours" else b.get("bytes_per_vec")
                iq = qps_at(sweep, "recall_prefix", target)
                iratio = "—" if name == "ours" else (f"{iq_o / iq:.2f}" if iq and iq_o else "n/a")
                print(f"| {name} | {f(b.get('build_s'), '{:.1f}')} | {th} | {f(mem, '{:.0f}')} | "
                      f"{best['ef'] if best else 'none'} | {f(best and best['qps'])} | {f(best and best['recall_prefix'], '{:.4f}')} | {ratio} | "
                      f"{f(iq)} | {iratio} |")
            print()
            print(f"Index bytes/vector: ours, HNSW.MemBytes / N: the graph with its own copy of the {gd}-dim prefixes ({4 * gd} bytes/vector), "
                  f"beside the {setup['d']}-dim rows the funnel reranks ({4 * setup['d'] + 4} bytes/vector); peers, resident-memory growth of the build / N, "
                  f"which includes their own copy of the {gd}-dim prefixes.")
            print()
            print(f"| ef | ours QPS | ours recall@10 (dim {gd}) | ours funnel → {setup['d']} QPS | its recall@10 vs exact at {setup['d']} | "
                  "FAISS QPS | FAISS recall@10 | hnswlib QPS | hnswlib recall@10 |")
            print("|---|---|---|---|---|---|---|---|---|")
            fmap = {r["ef"]: r for r in fh}
            hmap = {r["ef"]: r for r in hh}
            for r in oh:
                e = r["ef"]
                fu, fr, hr = ofun.get(e), fmap.get(e), hmap.get(e)
                print(f"| {e} | {r['qps']:.0f} | {r['recall_prefix']:.4f} | {f(fu and fu['qps'], '{:.0f}')} | {f(fu and fu['recall'], '{:.4f}')} | "
                      f"{f(fr and fr['qps'], '{:.0f}')} | {f(fr and fr['recall_prefix'], '{:.4f}')} | "
                      f"{f(hr and hr['qps'], '{:.0f}')} | {f(hr and hr['recall_prefix'], '{:.4f}')} |")
            print()

        ab_table(go_rows, hn, target)

        # Targets of issue 5.
        print("Targets (issue 5):")
        print()
        if ob and fb:
            t = max(ob)
            if t in fb:
                print(f"- batched exact Flat >= 1.0× FAISS: {ob[t]['qps'] / fb[t]['qps']:.2f}× at {t} threads"
                      + (f", {ob[1]['qps'] / fb[1]['qps']:.2f}× at 1" if 1 in ob and 1 in fb and t != 1 else ""))
        if real:
            # Funnels: Flat-first plans, the tuner's, and HNSW on a prefix
            # reranked at D (an HNSW-first funnel).
            cands = [r for r in go_rows if "qps" in r and r.get("dim") == r.get("d")
                     and (r["method"] in ("funnel-flat", "funnel-tuned", "funnel-hnsw") or r["method"] == "hnsw" and r["graph_dim"] < r["dim"])
                     and abs(r.get("map_diff", 1)) <= 0.005 * exact["map"]]
            if cands:
                b = max(cands, key=lambda r: r["speedup"])
                what = b.get("plan") or f"HNSW on the {b.get('graph_dim')}-prefix, ef {b.get('ef')}, reranked at {b['dim']}"
                print(f"- funnel within 0.5% (relative) of exact mAP@10 at >= 100× lower wall-clock: fastest such plan {b['method']} {what}: "
                      f"{b['speedup']:.1f}× (ΔmAP {b['map_diff']:+.4f}) — {'met' if b['speedup'] >= 100 else 'not met'}")
        if fa or hn:
            bo = smallest_ef([r for r in go_rows if r["method"] == "hnsw" and r["dim"] == r["graph_dim"] and r["graph_dim"] < r["d"]],
                             "recall_prefix", target)
            bh = smallest_ef([r for r in hn if "ef" in r and r.get("method") == "hnsw"], "recall_prefix", target)
            if bo and bh:
                io = qps_at([r for r in go_rows if r["method"] == "hnsw" and r["dim"] == r["graph_dim"] and r["graph_dim"] < r["d"]],
                            "recall_prefix", target)
                ih = qps_at([r for r in hn if "ef" in r and r.get("method") == "hnsw"], "recall_prefix", target)
                print(f"- HNSW on a prefix >= 1.0× native hnswlib QPS at recall@10 {target}: {bo['qps'] / bh['qps']:.2f}× "
                      f"at the smallest ef reaching it (ours ef {bo['ef']}, hnswlib ef {bh['ef']}); "
                      f"{f(io and ih and io / ih, '{:.2f}')}× interpolated at exactly {target}")
        fun = smallest_ef([r for r in go_rows if r["method"] == "hnsw" and r["graph_dim"] < r["dim"]], "recall", target)
        if fun:
            print(f"- HNSW on the {fun['graph_dim']}-prefix as a funnel first stage reaches recall@10 {target} against exact search at "
                  f"{fun['dim']} at ef {fun['ef']}: {fun['qps']:.0f} QPS, {fun['speedup']:.1f}× exact Flat (recall {fun['recall']:.4f})")
        tuned = next((r for r in go_rows if r["method"] == "funnel-tuned"), None)
        if tuned:
            print(f"- tuner's plan meets its target on held-out queries: {tuned['heldout_recall']:.4f} vs {tuned['target']} — "
                  f"{'met' if tuned['heldout_recall'] >= tuned['target'] else 'not met'}")
        print("- Flat single query >= 90% of memory bandwidth: see bench/scan (it measures the bandwidth in the same program)")
        print()


if __name__ == "__main__":
    main()
