/* analogue.c - analogue candidates by hybrid search (docs/analogues.md, "Analogue candidates"
 * and "Fast hybrid search"): the exhaustive reference npsw_analogue_candidates_brute(), and
 * the exact fast search (npsw_analogue_search(), hybrid_index.c) that returns the same hits. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "hybrid_internal.h"
#include "library_internal.h"
#include "npsw/analogue.h"

npsw_analogue_opts npsw_analogue_opts_default(void)
{
    npsw_analogue_opts o;
    memset(&o, 0, sizeof o);
    o.k = 5;
    o.max_delta = 150;
    o.n_mion = 2;
    o.params = npsw_score_params_default();
    return o;
}

int npsw_hyb_hit_before(const npsw_analogue_hit *a, const npsw_analogue_hit *b)
{
    return a->hybrid.score > b->hybrid.score ||
           (a->hybrid.score == b->hybrid.score && a->index < b->index);
}

int npsw_analogue_hit_before(const npsw_analogue_hit *a, const npsw_analogue_hit *b)
{
    return npsw_hyb_hit_before(a, b);
}

/* Insert into the sorted list hits[0..*n) of at most k. */
void npsw_hyb_keep(npsw_analogue_hit *hits, uint32_t *n, uint32_t k, const npsw_analogue_hit *h)
{
    uint32_t i = *n < k ? (*n)++ : k;
    if (i == k && !npsw_hyb_hit_before(h, &hits[k - 1])) return;
    if (i == k) i = k - 1;
    while (i > 0 && npsw_hyb_hit_before(h, &hits[i - 1])) {
        hits[i] = hits[i - 1];
        i--;
    }
    hits[i] = *h;
}

int npsw_hyb_query_masses(const npsw_spectrum *query, const npsw_analogue_opts *o, int nominal,
                          double *qmass)
{
    npsw_peaks qp = {query->mz, query->intensity, query->n};
    int nm = 0;
    if (query->precursor_mz > 0) {
        qmass[nm++] = nominal ? floor(query->precursor_mz + 0.5) : query->precursor_mz;
    } else {
        npsw_mion c[NPSW_HYB_MAX_MASSES];
        int want = o->n_mion < 1 ? 1 : o->n_mion > NPSW_HYB_MAX_MASSES ? NPSW_HYB_MAX_MASSES : o->n_mion;
        int k = npsw_molecular_ion(&qp, c, want);
        for (int i = 0; i < k; i++) qmass[nm++] = c[i].mz;
    }
    return nm;
}

double npsw_hyb_lib_mass(const npsw_lib *lib, uint64_t s, int nominal)
{
    double lm = lib->precursor_mz[s] > 0 && !nominal ? lib->precursor_mz[s] : lib->mw[s];
    if (!(lm > 0)) return NAN;
    if (nominal) lm = floor(lm + 0.5);
    return lm;
}

/* ---- the reference: every library spectrum, every query mass ----------------------------- */

int npsw_analogue_candidates_brute(const npsw_lib *lib, const npsw_spectrum *query,
                                   const npsw_analogue_opts *o, npsw_analogue_hit *hits)
{
    if (!o->k || !query->n) return 0;
    npsw_score_params p = o->params;
    p.nominal = lib->info.clean.nominal;
    npsw_peaks qp = {query->mz, query->intensity, query->n};
    double qmass[NPSW_HYB_MAX_MASSES];
    int nm = npsw_hyb_query_masses(query, o, p.nominal, qmass);
    uint32_t n = 0;
    for (uint64_t s = 0; s < lib->n; s++) {
        double lm = npsw_hyb_lib_mass(lib, s, p.nominal);
        if (isnan(lm)) continue;
        npsw_peaks lp = npsw_lib_peaks(lib, s);
        npsw_analogue_hit best;
        int have = 0;
        for (int m = 0; m < nm; m++) {
            double delta = qmass[m] - lm;
            if (fabs(delta) > o->max_delta) continue;
            npsw_analogue_hit h = {s, qmass[m], delta, {0, 0, 0}};
            npsw_hybrid_score(&qp, &lp, delta, &p, &h.hybrid);
            if (!have || h.hybrid.score > best.hybrid.score) best = h, have = 1;
        }
        if (have && best.hybrid.score > 0) npsw_hyb_keep(hits, &n, o->k, &best);
    }
    return (int)n;
}

/* ---- the fast search ---------------------------------------------------------------------- */

static int same_weights(const npsw_score_params *a, const npsw_score_params *b)
{
    return a->int_power == b->int_power && a->mz_power == b->mz_power;
}

npsw_analogue_index *npsw_analogue_index_new(const npsw_lib *lib, const npsw_analogue_opts *o,
                                             int threads, npsw_err *err)
{
    if (threads < 0 || threads > 1024) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0, "threads must be between 0 and 1024");
        return NULL;
    }
    npsw_score_params p = o->params;
    p.nominal = lib->info.clean.nominal;
    return npsw_hyb_index_new(lib, &p, threads > 0 ? threads : omp_get_max_threads(), err);
}

void npsw_analogue_index_free(npsw_analogue_index *ix) { npsw_hyb_index_free(ix); }

int npsw_analogue_search_index(const npsw_analogue_index *ix, const npsw_spectrum *queries,
                               size_t nq, const npsw_analogue_opts *o, int threads,
                               npsw_analogue_hit *hits, uint32_t *nhits,
                               npsw_analogue_stats *stats, npsw_err *err)
{
    if (stats) memset(stats, 0, sizeof *stats);
    if (threads < 0 || threads > 1024)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "threads must be between 0 and 1024");
    if (!same_weights(&o->params, npsw_hyb_index_params(ix)))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "the search's peak weights (int_power, mz_power) differ from the "
                            "index's");
    for (size_t i = 0; i < nq; i++) nhits[i] = 0;
    if (stats) stats->n_queries = nq;
    if (!o->k || !nq) return 0;
    uint32_t max_q = 1;
    double max_mz = 0;
    for (size_t i = 0; i < nq; i++) {
        if (queries[i].n > max_q) max_q = queries[i].n;
        for (uint32_t j = 0; j < queries[i].n; j++)
            if (queries[i].mz[j] > max_mz && queries[i].mz[j] <= 65535) max_mz = queries[i].mz[j];
    }
    int nm = o->n_mion < 1 ? 1 : o->n_mion > NPSW_HYB_MAX_MASSES ? NPSW_HYB_MAX_MASSES : o->n_mion;
    int nthreads = threads > 0 ? threads : omp_get_max_threads(), failed = 0;
    uint64_t t_pairs = 0, t_scored = 0, t_post = 0, t_exh = 0;
#pragma omp parallel num_threads(nthreads) reduction(+ : t_pairs, t_scored, t_post, t_exh)
    {
        /* per-thread buffers, made once: nothing is allocated per query */
        npsw_hyb_worker *w = npsw_hyb_worker_new(ix, max_q, nm, max_mz, o->max_delta);
        if (!w) {
#pragma omp atomic write
            failed = 1;
        }
        npsw_analogue_stats st;
        memset(&st, 0, sizeof st);
#pragma omp for schedule(dynamic, 4)
        for (size_t qi = 0; qi < nq; qi++) { /* each query writes its own slots only */
            if (!w) continue;
            if (npsw_hyb_search_one(ix, w, &queries[qi], o, hits + qi * o->k, &nhits[qi], &st) < 0) {
#pragma omp atomic write
                failed = 1;
            }
        }
        t_pairs += st.n_pairs;
        t_scored += st.n_scored;
        t_post += st.n_postings;
        t_exh += st.n_exhaustive;
        npsw_hyb_worker_free(w);
    }
    if (failed) {
        for (size_t i = 0; i < nq; i++) nhits[i] = 0;
        return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for hybrid search buffers");
    }
    if (stats) {
        stats->n_pairs = t_pairs;
        stats->n_scored = t_scored;
        stats->n_postings = t_post;
        stats->n_exhaustive = t_exh;
    }
    return 0;
}

int npsw_analogue_search(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                         const npsw_analogue_opts *o, int threads, npsw_analogue_hit *hits,
                         uint32_t *nhits, npsw_analogue_stats *stats, npsw_err *err)
{
    if (stats) memset(stats, 0, sizeof *stats);
    if (threads < 0 || threads > 1024)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "threads must be between 0 and 1024");
    for (size_t i = 0; i < nq; i++) nhits[i] = 0;
    if (!o->k || !nq) {
        if (stats) stats->n_queries = nq;
        return 0;
    }
    npsw_analogue_index *ix = npsw_analogue_index_new(lib, o, threads, err);
    if (!ix) return NPSW_ENOMEM;
    int rc = npsw_analogue_search_index(ix, queries, nq, o, threads, hits, nhits, stats, err);
    npsw_analogue_index_free(ix);
    return rc;
}

/* ---- npsw_analogue_candidates: the index of the last library, kept ---------------------- */

/* What identifies a library and the weights its index was made for. Libraries are immutable
 * once built (npsw/library.h); the address, the column addresses, the sizes and the content
 * checksum together tell a freed library from the next one at the same address. */
typedef struct cache_key {
    const npsw_lib *lib;
    const void *mz, *offsets;
    uint64_t n, n_peaks;
    char sha[65];
    double int_power, mz_power;
} cache_key;

typedef struct cache_entry {
    npsw_analogue_index *ix;
    cache_key key;
    int users;                 /* searches using it now */
    struct cache_entry *next;  /* retired entries still in use */
} cache_entry;

static cache_entry *cache_cur, *cache_retired;

static cache_key key_of(const npsw_lib *lib, const npsw_analogue_opts *o)
{
    cache_key k;
    memset(&k, 0, sizeof k);
    k.lib = lib;
    k.mz = lib->mz;
    k.offsets = lib->offsets;
    k.n = lib->n;
    k.n_peaks = lib->n_peaks;
    memcpy(k.sha, lib->info.content_sha256, sizeof k.sha);
    k.int_power = o->params.int_power;
    k.mz_power = o->params.mz_power;
    return k;
}

static int same_key(const cache_key *a, const cache_key *b)
{
    return a->lib == b->lib && a->mz == b->mz && a->offsets == b->offsets && a->n == b->n &&
           a->n_peaks == b->n_peaks && !memcmp(a->sha, b->sha, sizeof a->sha) &&
           a->int_power == b->int_power && a->mz_power == b->mz_power;
}

static void entry_free(cache_entry *e)
{
    if (!e) return;
    npsw_analogue_index_free(e->ix);
    free(e);
}

/* Retire the current entry (caller holds the lock): freed now, or by its last user. */
static void retire_current(void)
{
    if (!cache_cur) return;
    if (cache_cur->users == 0) {
        entry_free(cache_cur);
    } else {
        cache_cur->next = cache_retired;
        cache_retired = cache_cur;
    }
    cache_cur = NULL;
}

/* The index for lib and o's weights, counted as in use; built (under the lock) when it is not
 * the kept one. NULL when out of memory. */
static cache_entry *cache_acquire(const npsw_lib *lib, const npsw_analogue_opts *o)
{
    cache_key k = key_of(lib, o);
    cache_entry *e = NULL;
#pragma omp critical(npsw_analogue_cache)
    {
        if (cache_cur && same_key(&cache_cur->key, &k)) {
            e = cache_cur;
        } else {
            npsw_err err;
            npsw_err_clear(&err);
            cache_entry *c = calloc(1, sizeof *c);
            if (c && (c->ix = npsw_analogue_index_new(lib, o, 0, &err)) != NULL) {
                c->key = k;
                retire_current();
                cache_cur = e = c;
            } else {
                free(c);
            }
        }
        if (e) e->users++;
    }
    return e;
}

static void cache_release(cache_entry *e)
{
#pragma omp critical(npsw_analogue_cache)
    {
        e->users--;
        if (e != cache_cur && e->users == 0) {
            for (cache_entry **p = &cache_retired; *p; p = &(*p)->next)
                if (*p == e) {
                    *p = e->next;
                    break;
                }
            entry_free(e);
        }
    }
}

void npsw_analogue_cache_clear(void)
{
#pragma omp critical(npsw_analogue_cache)
    retire_current();
}

int npsw_analogue_candidates(const npsw_lib *lib, const npsw_spectrum *query,
                             const npsw_analogue_opts *o, npsw_analogue_hit *hits)
{
    if (!o->k || !query->n) return 0;
    cache_entry *e = cache_acquire(lib, o);
    if (!e) return npsw_analogue_candidates_brute(lib, query, o, hits); /* out of memory */
    uint32_t n = 0;
    npsw_err err;
    npsw_err_clear(&err);
    int rc = npsw_analogue_search_index(e->ix, query, 1, o, 1, hits, &n, NULL, &err);
    cache_release(e);
    if (rc < 0) return npsw_analogue_candidates_brute(lib, query, o, hits); /* out of memory */
    return (int)n;
}
