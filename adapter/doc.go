// Package adapter learns a Matryoshka adapter: a small map f on top of
// frozen embeddings (a provider's, or a model's not trained with MRL) so
// that the prefixes f(e)[:m] keep the full embedding's neighbourhoods, after
// Yoon et al. 2024, "Matryoshka-Adaptor: Unsupervised and Supervised Tuning
// for Smaller Embedding Dimensions" (EMNLP 2024).
//
// # The map
//
// For an input embedding e of size D (In) the adapter computes
//
//	f(e) = R·(e − μ) + b + g(e − μ)
//
// with μ the training mean (fixed), R an Out×In matrix (Out = D' ≤ D) and b
// its bias, and g an optional residual MLP Linear(D, H) → ReLU →
// Linear(H, D') whose last layer starts at zero (Options.ResidualDims
// keeps its output to the leading dims, the later ones R's alone). [New] sets μ and R from
// the PCA of the training embeddings (eval.FitPCA: the rows of R are the
// principal directions by decreasing variance) and b = 0, so before
// training f(e) is exactly eval.PCA.Project(e), bit for bit, and the
// adapter's prefixes start as the PCA baseline's.
//
// # Unsupervised losses
//
// A training step draws A anchor rows and, for each, S of its K nearest
// neighbours in the full input space (cosine; found once with index.Flat),
// B = A·(1+S) rows in all. With s_ij = cos(e_i, e_j) the full-space
// similarities and s^m_ij = cos(f(e_i)[:m], f(e_j)[:m]) those of the
// re-normalised m-prefixes, for every m of the nesting with weight c_m:
//
//	pairwise  L_pair = Σ_m c_m · mean_{i≠j in batch} (s^m_ij − s_ij)²
//	top-k     L_topk = Σ_m c_m · mean_{(i,j): j a sampled neighbour of anchor i} (s^m_ij − s_ij)²
//	listwise  L_rank = Σ_m c_m · mean_i KL(P_i ‖ Q^m_i)
//	isometry  L_iso  = mean_{i≠j} (‖f_i − f_j‖² − ‖e_i − e_j‖²)² / σ⁴
//
// where P_i and Q^m_i are the softmaxes over the batch's other rows j of
// s_ij/τ and s^m_ij/τ, σ² is the mean squared distance of the batch's input
// pairs, and the step minimises w_pair·L_pair + w_topk·L_topk +
// w_rank·L_rank + w_iso·L_iso (defaults 1, 1, 1, 0.1; τ = 0.05).
//
// Why the listwise term: recall@k asks for the ranking of a row's nearest
// neighbours, and squared errors of similarity values do not see it. PCA
// already keeps the similarity values as well as a linear map of its size
// can in the mean (it keeps the most variance), so on our data the two
// paper terms alone barely move the adapter from PCA: on the synthetic set
// (Synthetic, 10000 × 128, 10 epochs) the validation recall@10 at dims 8
// and 16 (held-out rows among themselves, the validation before
// Options.ValDB) went from 0.154 and 0.444 (PCA) to 0.160 and 0.446
// without the listwise term, and to 0.406 and 0.544 with it. The pairwise and top-k
// terms keep the similarity values honest; the isometry term and the
// orthonormal R (Options.OrthoEvery) keep the full dims' neighbours. The
// weights were chosen on the synthetic set (see the README's adapter
// section for the figures).
//
// Where this differs from Matryoshka-Adaptor: (1) the paper takes absolute
// differences of similarities; we take squares, which are smooth at 0 and
// weigh large errors more; (2) the paper's adapter maps into the input
// space (f(e) = e + g(e)) and its reconstruction term is ‖f(e) − e‖; ours
// starts from a rotation (PCA) and may be narrower than the input, so its
// analogue of "stay close to the input" is that pairwise Euclidean
// distances are kept (an isometry on the data), which PCA satisfies exactly
// at D' = D and best in the mean at D' < D; (3) the paper sums the top-k
// term over all k neighbours of every row; we sample S of the K per anchor
// per step and put the neighbours in the batch, so that one batch serves
// both terms and an epoch costs a fixed multiple of the data; (4) the
// listwise term is ours.
//
// # Terms aimed at recall@k
//
// With Options.HardNegatives = H, each anchor also brings H rows sampled
// from its full-space ranks K+1..HardRank into the batch (the rows a
// prefix most often swaps into the top K, which the batch otherwise never
// holds), and a boundary term ranks the anchor's sampled top-K rows P_i
// above its hard negatives H_i at every prefix:
//
//	boundary  L_bnd = Σ_m c_m · mean_{(i,p), p∈P_i} −log( e^{s^m_ip/τ_b} / (e^{s^m_ip/τ_b} + Σ_{h∈H_i} e^{s^m_ih/τ_b}) )
//
// weighted by Options.BoundaryWeight.
//
// The recall term (Options.RecallWeight) is the loss of
// bench/adapter/ceiling: it ranks all K full-space neighbours P_i of each
// anchor i (a training row or a query anchor) above every other training
// row N_i, not only above the rows of the batch:
//
//	recall    L_rec = Σ_m c_m · mean_{(i,p), p∈P_i} −log( e^{s^m_ip/τ_r} / (e^{s^m_ip/τ_r} + w_i·Σ_{j∈N_i} e^{s^m_ij/τ_r}) )
//
// with w_i = 1; with Options.RecallNegatives = R, N_i is a uniform draw of
// R training rows each step (less P_i and i) and w_i the number of i's
// negatives among all training rows over |N_i|, so that w_i·Σ_{N_i}
// estimates the full sum without bias. Each step maps every candidate
// (all training rows, or the draw and the anchors' positives) through f,
// forward and backward, so that the term's gradient reaches the
// negatives' side as in the ceiling's fit. With Options.QueryAnchors,
// unlabelled queries of the kind the index serves join the anchors, with
// their full-space neighbours among the training rows, and the validation
// holds out queries. None of the three is on by default: on our sets the
// validation did not pick them over the dims ≤ D/8 (the README's fourth-
// and fifth-round tables; the linear adapter's recall term came within
// 0.4 points of the defaults' validation recall at dims 8 and 16 on the
// synthetic set, and on the text set cost the full dims for no gain at 8
// and 16). With a residual MLP under "adamw" the recall term lifts dim 16
// 2.9 to 10 points above PCA on held-out queries, but costs the full
// dim 13 to 23 points: a setting for the first stage of a funnel, not a
// default.
//
// # Searching adapted prefixes
//
// Searcher maps a query with the adapter and searches adapted rows; with
// Searcher.Dims = m it searches a copy of the adapted m-prefixes (a flat
// scan or an index.HNSW graph on them) and maps the query to m dims only
// (Adapter.ApplyPrefix): the first stage of an index.Funnel whose later
// stages rerank with the original embeddings.
//
// # Supervised training
//
// With labels, Options.Labels adds the classification heads of package
// matryoshka (MRL: one linear classifier per nesting dim) on f(x)/σ of the
// frozen embeddings, with the Matryoshka cross-entropy averaged over the
// dims and weighted by Options.SupervisedWeight, together with the
// unsupervised terms (set their weights to 0 for a purely supervised
// adapter).
//
// With (query, document) pairs, Options.PairQueries (one query embedding
// per row, aligned: row i's query has row i as its relevant document) adds
// the contrastive Matryoshka loss of package matryoshka
// (matryoshka.Contrastive: InfoNCE over in-batch negatives at every
// nesting dim, query → document) on f of both sides: each step's anchors
// are the documents, their queries join the same forward and backward
// pass, and the neighbours sampled for the top-k term are further
// negatives. The queries are mapped by the same f as the documents, as a
// search maps them.
//
// Other terms plug in through Options.Extra: a function that is given the
// batch's adapted embeddings and row numbers each step and adds its
// gradient.
//
// # Units
//
// Train works on the rows divided by σ, their RMS norm about the mean, and
// returns the adapter in the input's units (its outputs are σ times the
// trained map's, with the same cosines): the learning rate then means the
// same for embeddings of norm 0.5 or 50. The output bias b trains, which
// lets the adapter learn back the mean the PCA start removes (cosines are
// of the uncentred embeddings); with pairs it stays 0 (see trainable).
//
// # Conventions
//
// Embeddings are row-major []float32, n rows of stride In (inputs) or Out
// (adapted), so the m-prefix of adapted row i is z[i*Out : i*Out+m].
// Similarity is the cosine of re-normalised prefixes throughout, as in
// packages eval and index. Errors wrap ErrDim, ErrInput, ErrOptions or
// ErrFormat.
package adapter
