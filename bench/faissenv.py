"""What bench/scan/faiss_scan.py and bench/index/faiss_index.py share: the
faiss import, the report of what the process loaded, and the thread limit.
Both run with Debian's /usr/bin/python3 and python3-faiss."""

import os
import sys

try:
    import faiss
except ImportError:
    sys.exit(f"{os.path.basename(sys.argv[0])}: cannot import faiss: install python3-faiss (apt-get install -y python3-faiss)")


def blas_info(extra=()):
    """faiss's version, the BLAS/LAPACK/OpenMP libraries mapped into the
    process (and those whose names contain one of extra), threadpoolctl's
    view of them, and OPENBLAS_CORETYPE."""
    names = ("blas", "lapack", "gomp") + tuple(extra)
    paths = []
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            b = os.path.basename(p)
            if any(n in b for n in names) and p not in paths:
                paths.append(p)
    info = {"faiss": getattr(faiss, "__version__", "?"), "paths": paths,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    try:
        import threadpoolctl
        info["threadpoolctl"] = [
            {k: d.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "num_threads", "filepath")}
            for d in threadpoolctl.threadpool_info()]
    except ImportError:
        info["threadpoolctl"] = None
    return info


def limit_threads(t):
    """Sets FAISS's OpenMP threads and OpenBLAS's threads to t."""
    faiss.omp_set_num_threads(t)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=t, user_api="blas")
    except ImportError:
        pass  # OMP_NUM_THREADS / OPENBLAS_NUM_THREADS from run.sh
