// Package weaviate keeps Matryoshka collections on a Weaviate cluster, for
// collections that outgrow one machine: sharded, replicated, searched by
// our funnel plans run as stage queries on the cluster.
//
// Conventions:
//
//   - A collection is a Weaviate class (ClassName: the name with its first
//     letter upper-cased) laid out by a [Layout]: one named vector per plan
//     stage, "p<m>" for the dim-m prefix and "full" for the whole
//     embedding. The first prefix has an HNSW index (the shortlist), the
//     later ones and the full vector a flat index (exact, on disk) unless
//     Layout.Full is HNSW. Cosine prefixes are stored re-normalised, as
//     package index scores them. The layout is recorded in the class
//     description and checked when a collection is opened ([ErrLayout]).
//   - Point ids are integers or UUIDs (api.PointID), each stored as one
//     object id (ObjectID, PointIDOf): an integer n as UUID(n), in the
//     namespace 6d726c00-0000-0000-… whose order is the integers' order,
//     with the integer property mrl_id repeating it (exact below 2^53); a
//     UUID as itself. A UUID id inside that namespace (version 0, which
//     no generator makes) is refused with ErrPayload. Scroll follows the
//     object ids' order.
//   - A funnel plan runs in one round trip: the first stage's HNSW query
//     returns the shortlist with its full vectors, and the later stages
//     rerank them in this process with package index's scores (exact);
//     SearchOptions.ClusterRerank runs them as filtered queries on the
//     cluster instead. Collection.Tune picks a plan for a target recall
//     against the cluster and records it on the class.
//   - Errors of the cluster's state that pass when it settles (a replica
//     down or rejoining, a shard loading) are ErrTransient.
//   - Payloads are JSON objects of scalars (string, number, boolean), as
//     the server takes them. A key k is the property "p_" + escape(k)
//     (PropertyName); strings are text properties with whole-field
//     tokenization, numbers number, booleans boolean. Limits: a field
//     keeps one type across the collection (Weaviate's schema), a key's
//     property name is at most 230 bytes, and properties are added as
//     points bring new fields (one schema change each).
//   - Scores are package index's (higher is better): cosine 1-d,
//     inner product -d, l2 -d, from Weaviate's distance d.
//   - Reads and writes take a consistency level (ONE, QUORUM, ALL;
//     default QUORUM). Replicated collections are created with async
//     replication on, so that a replica that was down is repaired.
//   - Every call takes a context; a cluster none of whose addresses
//     answers gives [ErrUnreachable], naming each address's error.
//
// Payload filters use the server's grammar and semantics; see filter.go
// for the mapping to Weaviate's filters.
package weaviate
