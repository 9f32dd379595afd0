#!/usr/bin/python3
"""BM25 with the Xapian engine (Debian python3-xapian): the outside anchor
for our BM25 (package bm25, `mrl bm25`).

Reads JSONL pairs ({"query": ..., "doc": ...}, as `mrl bm25 --export`
writes them), indexes the docs in an in-memory Xapian database with
TermGenerator and the "english" Snowball stemmer (STEM_ALL: only stemmed
terms, no Z prefix), ranks the docs for every query with QueryParser
(same stemmer and STEM_ALL, default operator OR, no query syntax flags) and
BM25Weight, and prints one JSON line with recall@1/10/100, MRR@10 and
nDCG@10, where query i's relevant doc is doc i. The metrics are defined as
in eval.MeanPairMetrics.

  xapian_bm25.py PAIRS.jsonl [--k1 1 --b 0.5] [--our-words]

Xapian's BM25Weight defaults are k1=1, k2=0, k3=1, b=0.5, min_normlen=0.5.
With --our-words every character that is not a letter or digit (Python's
\w less the underscore) becomes a space before Xapian sees the text, so
that Xapian's words are those of our analyzer (bm25.Analyzer), not its own
(which keeps "C++", "don't", "x86_64" and "1.2.3" as one term): the
remaining difference is then the weighting and the query parsing.
"""
import argparse
import json
import math
import re
import sys
import time

import xapian


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs")
    ap.add_argument("--k1", type=float, default=1.0)
    ap.add_argument("--b", type=float, default=0.5)
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--our-words", action="store_true", help="split words as our analyzer does")
    args = ap.parse_args()

    queries, docs = [], []
    with open(args.pairs, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            p = json.loads(line)
            queries.append(p["query"])
            docs.append(p["doc"])
    if args.our_words:
        nonword = re.compile(r"[\W_]+")
        queries = [nonword.sub(" ", q) for q in queries]
        docs = [nonword.sub(" ", d) for d in docs]

    t0 = time.time()
    db = xapian.WritableDatabase("", xapian.DB_BACKEND_INMEMORY)
    tg = xapian.TermGenerator()
    tg.set_stemmer(xapian.Stem("english"))
    tg.set_stemming_strategy(xapian.TermGenerator.STEM_ALL)
    for d in docs:
        doc = xapian.Document()
        tg.set_document(doc)
        tg.index_text(d)
        db.add_document(doc)  # docid = row + 1
    db.commit()
    t_index = time.time() - t0

    qp = xapian.QueryParser()
    qp.set_stemmer(xapian.Stem("english"))
    qp.set_stemming_strategy(xapian.QueryParser.STEM_ALL)
    qp.set_default_op(xapian.Query.OP_OR)
    qp.set_database(db)
    enq = xapian.Enquire(db)
    # BM25Weight(k1, k2, k3, b, min_normlen); Xapian's defaults are 1, 0, 1, 0.5, 0.5.
    enq.set_weighting_scheme(xapian.BM25Weight(args.k1, 0, 1, args.b, 0.5))

    sums = dict(recall_at_1=0.0, recall_at_10=0.0, recall_at_100=0.0, mrr_at_10=0.0, ndcg_at_10=0.0)
    t0 = time.time()
    for i, q in enumerate(queries):
        enq.set_query(qp.parse_query(q, 0))
        rank = None
        for r, m in enumerate(enq.get_mset(0, args.depth), 1):
            if m.docid == i + 1:
                rank = r
                break
        if rank is None:
            continue
        sums["recall_at_1"] += rank == 1
        sums["recall_at_10"] += rank <= 10
        sums["recall_at_100"] += rank <= 100
        if rank <= 10:
            sums["mrr_at_10"] += 1 / rank
            sums["ndcg_at_10"] += 1 / math.log2(rank + 1)
    t_search = time.time() - t0
    n = len(queries)
    out = {k: v / n for k, v in sums.items()}
    out.update(engine="xapian " + xapian.version_string() + (", our word split" if args.our_words else ""), queries=n, docs=len(docs),
               terms=db.get_doccount() and sum(1 for _ in db.allterms()), k1=args.k1, b=args.b,
               index_s=round(t_index, 3), search_s=round(t_search, 3))
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
