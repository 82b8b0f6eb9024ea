/* analogue.c - analogue candidates by exhaustive hybrid search (docs/analogues.md,
 * "Analogue candidates"). */
#include <math.h>
#include <string.h>

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

static int hit_before(const npsw_analogue_hit *a, const npsw_analogue_hit *b)
{
    return a->hybrid.score > b->hybrid.score ||
           (a->hybrid.score == b->hybrid.score && a->index < b->index);
}

/* Insert into the sorted list hits[0..*n) of at most k. */
static void keep(npsw_analogue_hit *hits, uint32_t *n, uint32_t k, const npsw_analogue_hit *h)
{
    uint32_t i = *n < k ? (*n)++ : k;
    if (i == k && !hit_before(h, &hits[k - 1])) return;
    if (i == k) i = k - 1;
    while (i > 0 && hit_before(h, &hits[i - 1])) {
        hits[i] = hits[i - 1];
        i--;
    }
    hits[i] = *h;
}

int npsw_analogue_candidates(const npsw_lib *lib, const npsw_spectrum *query,
                             const npsw_analogue_opts *o, npsw_analogue_hit *hits)
{
    if (!o->k || !query->n) return 0;
    npsw_score_params p = o->params;
    p.nominal = lib->info.clean.nominal;
    npsw_peaks qp = {query->mz, query->intensity, query->n};
    double qmass[8];
    int nm = 0;
    if (query->precursor_mz > 0) {
        qmass[nm++] = p.nominal ? floor(query->precursor_mz + 0.5) : query->precursor_mz;
    } else {
        npsw_mion c[8];
        int want = o->n_mion < 1 ? 1 : o->n_mion > 8 ? 8 : o->n_mion;
        int k = npsw_molecular_ion(&qp, c, want);
        for (int i = 0; i < k; i++) qmass[nm++] = c[i].mz;
    }
    uint32_t n = 0;
    for (uint64_t s = 0; s < lib->n; s++) {
        double lm = lib->precursor_mz[s] > 0 && !p.nominal ? lib->precursor_mz[s] : lib->mw[s];
        if (!(lm > 0)) continue;
        if (p.nominal) lm = floor(lm + 0.5);
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
        if (have && best.hybrid.score > 0) keep(hits, &n, o->k, &best);
    }
    return (int)n;
}
