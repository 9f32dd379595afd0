// hnswlib_bench: native hnswlib (Debian's libhnswlib-dev headers) on the
// prefix vectors main.go writes, for bench/index/run.sh, which compiles it
// with g++ -O3 -march=native -fopenmp.
//
//   hnswlib_bench DIR N P NQ K M EFC BUILD_THREADS MINTIME EF[,EF...]
//
// DIR/xp.f32 holds N rows of P floats (the graph-dim prefixes, each
// L2-normalised, so inner product is the cosine our index ranks by),
// DIR/qp.f32 NQ queries the same way, DIR/gtp.i32 the exact top-K of each
// query at P (our Flat). It builds with M and efConstruction EFC on
// BUILD_THREADS OpenMP threads, then for each ef searches the queries one at
// a time on one thread, cycling through them for at least MINTIME seconds,
// and prints JSON lines: build seconds and resident memory growth per
// vector, then QPS and recall@K per ef.
//
// HNSWLIB_INDEX=FILE saves the built index to FILE after the sweep (the
// first run of a set); with HNSW_AB_ROUND=R (> 0) as well, it loads FILE
// instead of building and labels its rows method "hnsw-ab", round R: the
// processes run.sh alternates with ours, one process's QPS varying with
// where its memory lands on the VM.
#include <hnswlib/hnswlib.h>
#include <sched.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

template <typename T>
static std::vector<T> readRaw(const std::string& path, size_t count) {
	std::vector<T> v(count);
	std::ifstream f(path, std::ios::binary);
	if (!f) {
		fprintf(stderr, "hnswlib_bench: cannot open %s\n", path.c_str());
		exit(1);
	}
	f.read(reinterpret_cast<char*>(v.data()), count * sizeof(T));
	if (size_t(f.gcount()) != count * sizeof(T)) {
		fprintf(stderr, "hnswlib_bench: %s: want %zu bytes, read %zu\n", path.c_str(), count * sizeof(T), size_t(f.gcount()));
		exit(1);
	}
	return v;
}

static long rssKB() {
	std::ifstream f("/proc/self/status");
	std::string line;
	while (std::getline(f, line)) {
		if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
	}
	return 0;
}

static double now() {
	return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
	if (argc != 11) {
		fprintf(stderr, "usage: hnswlib_bench DIR N P NQ K M EFC BUILD_THREADS MINTIME EF[,EF...]\n");
		return 2;
	}
	std::string dir = argv[1];
	size_t n = std::atol(argv[2]), p = std::atol(argv[3]), nq = std::atol(argv[4]), k = std::atol(argv[5]);
	int m = std::atoi(argv[6]), efc = std::atoi(argv[7]), bt = std::atoi(argv[8]);
	double minTime = std::atof(argv[9]);
	std::vector<int> efs;
	{
		std::stringstream ss(argv[10]);
		std::string tok;
		while (std::getline(ss, tok, ',')) efs.push_back(std::atoi(tok.c_str()));
	}
	auto q = readRaw<float>(dir + "/qp.f32", nq * p);
	auto gt = readRaw<int32_t>(dir + "/gtp.i32", nq * k);

	std::string set = dir.substr(dir.find_last_of('/') + 1);
	const char* indexPath = std::getenv("HNSWLIB_INDEX");
	int round = 0;
	if (const char* r = std::getenv("HNSW_AB_ROUND")) round = std::atoi(r);
	if (round > 0 && !indexPath) {
		fprintf(stderr, "hnswlib_bench: HNSW_AB_ROUND needs HNSWLIB_INDEX\n");
		return 2;
	}
	hnswlib::InnerProductSpace space(p);
	hnswlib::HierarchicalNSW<float>* alg;
	if (round > 0) {
		double t0 = now();
		alg = new hnswlib::HierarchicalNSW<float>(&space, std::string(indexPath), false, n);
		if (alg->cur_element_count != n) {
			fprintf(stderr, "hnswlib_bench: %s holds %zu rows, want %zu (rebuild it)\n", indexPath, size_t(alg->cur_element_count), n);
			return 1;
		}
		printf("{\"impl\":\"hnswlib\",\"set\":\"%s\",\"round\":%d,\"load_s\":%.3f}\n", set.c_str(), round, now() - t0);
	} else {
		auto x = readRaw<float>(dir + "/xp.f32", n * p); // a loaded index holds its own copy
		long rss0 = rssKB();
		double t0 = now();
		alg = new hnswlib::HierarchicalNSW<float>(&space, n, m, efc, 100);
		alg->addPoint(x.data(), 0);
		omp_set_num_threads(bt);
#pragma omp parallel for schedule(dynamic, 256)
		for (long i = 1; i < long(n); i++) alg->addPoint(x.data() + size_t(i) * p, size_t(i));
		double build = now() - t0;
		long rss1 = rssKB();
		// The index holds its own copy of the vectors (4·P bytes per row) besides the graph.
		printf("{\"impl\":\"hnswlib\",\"set\":\"%s\",\"method\":\"hnsw\",\"n\":%zu,\"graph_dim\":%zu,\"m\":%d,\"ef_construction\":%d,"
		       "\"build_threads\":%d,\"build_s\":%.3f,\"bytes_per_vec\":%.1f,\"compiler\":\"g++ %d.%d\"}\n",
		       set.c_str(), n, p, m, efc, bt, build, double(rss1 - rss0) * 1024 / n,
		       __GNUC__, __GNUC_MINOR__);
	}
	fflush(stdout);

	// PIN_CPU=c binds the searching thread to CPU c, as bench/index/main.go
	// binds ours (a thread moved to the other core finds its caches cold).
	if (const char* pin = std::getenv("PIN_CPU"); pin && std::atoi(pin) >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(std::atoi(pin), &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0) perror("hnswlib_bench: sched_setaffinity");
	}
	for (int ef : efs) {
		alg->setEf(ef);
		size_t hits = 0, total = 0;
		for (size_t i = 0; i < nq; i++) { // recall on every query
			auto res = alg->searchKnn(q.data() + i * p, k);
			std::unordered_set<int32_t> want(gt.begin() + i * k, gt.begin() + (i + 1) * k);
			while (!res.empty()) {
				hits += want.count(int32_t(res.top().second));
				res.pop();
			}
			total += k;
		}
		// The median of 5 rounds of minTime/5, each from the first query,
		// as bench/index/main.go times ours (the shared VM's speed drifts).
		std::vector<double> rounds;
		volatile size_t sink = 0;
		for (int r = 0; r < 5; r++) {
			size_t calls = 0;
			double s0 = now(), el = 0;
			while (calls == 0 || (el = now() - s0) < minTime / 5) {
				auto res = alg->searchKnn(q.data() + (calls % nq) * p, k);
				sink += res.size();
				calls++;
			}
			rounds.push_back(calls / el);
		}
		std::sort(rounds.begin(), rounds.end());
		double qps = rounds[2];
		printf("{\"impl\":\"hnswlib\",\"set\":\"%s\",\"method\":\"%s\",\"round\":%d,\"graph_dim\":%zu,\"dim\":%zu,\"ef\":%d,\"qps\":%.1f,\"recall_prefix\":%.4f}\n",
		       set.c_str(), round > 0 ? "hnsw-ab" : "hnsw", round, p, p, ef, qps, double(hits) / total);
		fflush(stdout);
	}
	if (indexPath && round == 0) {
		double t0 = now();
		alg->saveIndex(indexPath);
		printf("{\"impl\":\"hnswlib\",\"set\":\"%s\",\"saved_index\":\"%s\",\"save_s\":%.3f}\n", set.c_str(), indexPath, now() - t0);
	}
	delete alg;
	return 0;
}
