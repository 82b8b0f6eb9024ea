/* analyse.c - the analogue analysis of a query (docs/analogues.md, "Analysis").
 *
 * npsw_analyse() runs the identity search and the hybrid search for all queries, then
 * npsw_analyse_decide() per query (in parallel, one FFT scratch per thread):
 *   1. mass shifts: cross-correlation of the query with its best identity neighbours; a strong
 *      nonzero shift d against a neighbour of mass M proposes the query mass M + d, which adds
 *      that neighbour as a hybrid candidate at delta d (EI spectra often lack M+.);
 *   2. the analogue: the best hybrid candidate whose mass differs from the query's;
 *   3. substituent hypotheses for its mass difference, re-ranked by spectral evidence;
 *   4. the drug class: votes of the neighbours (identity and hybrid) and of diagnostic ions;
 *   5. the verdict from calibrated probabilities (core/src/calibration.c).
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration.h"
#include "library_internal.h"
#include "npsw/analyse.h"

const char *npsw_verdict_name(npsw_verdict v)
{
    switch (v) {
    case NPSW_VERDICT_IN_LIBRARY: return "in_library";
    case NPSW_VERDICT_ANALOGUE: return "analogue";
    default: return "unknown";
    }
}

npsw_analyse_opts npsw_analyse_opts_default(void)
{
    npsw_analyse_opts o;
    memset(&o, 0, sizeof o);
    o.k = 5;
    o.search = npsw_search_opts_default();
    o.analogue = npsw_analogue_opts_default();
    o.diag_min_rel = 0.05;
    return o;
}

/* ---- context ------------------------------------------------------------------------------ */

struct npsw_analyser {
    const npsw_lib *lib;
    int nominal;
    npsw_shift_finder *fft; /* nominal libraries only */
    double *norm2;          /* per spectrum: sum of (sqrt(I) mz)^2 */
    double *sqrt_in;        /* per posting of the nominal index: sqrt of its intensity (the
                               table-shift sums read each posting up to 65 times) */
};

struct npsw_analyse_scratch {
    npsw_shift_scratch *fft;
    double *acc0, *accd;    /* per spectrum: direct and shifted sqrt(I) products */
    uint32_t *t0, *td;      /* touched spectra */
    unsigned char *seen0, *seend;
};

uint32_t npsw_analyser_max_mz(const npsw_lib *lib)
{
    uint32_t max_mz = 0;
    for (uint64_t i = 0; i < npsw_lib_size(lib); i++) {
        npsw_peaks lp = npsw_lib_peaks(lib, i);
        if (lp.n && lp.mz[lp.n - 1] > max_mz) max_mz = (uint32_t)fmin(lp.mz[lp.n - 1], 100000);
    }
    return max_mz;
}

npsw_analyser *npsw_analyser_new_part(const npsw_lib *lib, uint32_t whole_max_mz, int fft,
                                      npsw_err *err)
{
    npsw_analyser *an = calloc(1, sizeof *an);
    uint64_t n = npsw_lib_size(lib);
    if (!an || !(an->norm2 = calloc(n ? n : 1, sizeof *an->norm2))) goto nomem;
    an->lib = lib;
    an->nominal = npsw_lib_get_info(lib)->clean.nominal;
    for (uint64_t i = 0; i < n; i++) {
        npsw_peaks lp = npsw_lib_peaks(lib, i);
        for (uint32_t j = 0; j < lp.n; j++) an->norm2[i] += lp.in[j] * lp.mz[j] * lp.mz[j];
    }
    const npsw_nominal_index *ix = &lib->idx;
    if (an->nominal && ix->bin_start) {
        uint64_t np = ix->bin_start[ix->max_mz + 1];
        if (!(an->sqrt_in = malloc((np ? np : 1) * sizeof *an->sqrt_in))) goto nomem;
        for (uint64_t p = 0; p < np; p++) an->sqrt_in[p] = sqrt(ix->in[p]);
    }
    if (an->nominal && fft) {
        /* query peaks above this are left out of the correlation only */
        uint32_t max_mz = whole_max_mz < 1000 ? 1000 : whole_max_mz;
        if (!(an->fft = npsw_shift_finder_new(max_mz + 200, err))) {
            npsw_analyser_free(an);
            return NULL;
        }
    }
    return an;
nomem:
    npsw_analyser_free(an);
    npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for the analogue analysis");
    return NULL;
}

npsw_analyser *npsw_analyser_new(const npsw_lib *lib, npsw_err *err)
{
    return npsw_analyser_new_part(lib, npsw_analyser_max_mz(lib), 1, err);
}

void npsw_analyser_free(npsw_analyser *an)
{
    if (!an) return;
    npsw_shift_finder_free(an->fft);
    free(an->norm2);
    free(an->sqrt_in);
    free(an);
}

npsw_analyse_scratch *npsw_analyse_scratch_new(const npsw_analyser *an)
{
    npsw_analyse_scratch *s = calloc(1, sizeof *s);
    size_t n = npsw_lib_size(an->lib) + 1;
    if (!s) return NULL;
    s->acc0 = calloc(n, sizeof *s->acc0);
    s->accd = calloc(n, sizeof *s->accd);
    s->t0 = malloc(n * sizeof *s->t0);
    s->td = malloc(n * sizeof *s->td);
    s->seen0 = calloc(n, 1);
    s->seend = calloc(n, 1);
    if (an->fft) s->fft = npsw_shift_scratch_new(an->fft);
    if (!s->acc0 || !s->accd || !s->t0 || !s->td || !s->seen0 || !s->seend ||
        (an->fft && !s->fft)) {
        npsw_analyse_scratch_free(s);
        return NULL;
    }
    return s;
}

void npsw_analyse_scratch_free(npsw_analyse_scratch *s)
{
    if (!s) return;
    npsw_shift_scratch_free(s->fft);
    free(s->acc0);
    free(s->accd);
    free(s->t0);
    free(s->td);
    free(s->seen0);
    free(s->seend);
    free(s);
}

/* ---- small helpers ------------------------------------------------------------------------ */

static double lib_mass(const npsw_lib *lib, uint64_t i, int nominal)
{
    double pm = npsw_lib_precursor_mz(lib, i);
    double m = pm > 0 && !nominal ? pm : npsw_lib_mw(lib, i);
    if (!(m > 0)) return 0;
    return nominal ? floor(m + 0.5) : m;
}

static int cand_before(const npsw_analogue_hit *a, const npsw_analogue_hit *b)
{
    return a->hybrid.score > b->hybrid.score ||
           (a->hybrid.score == b->hybrid.score && a->index < b->index);
}

/* Offer h to the ranked candidate list (one entry per library spectrum, at most max). */
static void offer_cand(npsw_analysis *a, uint32_t max, const npsw_analogue_hit *h)
{
    for (uint32_t i = 0; i < a->n_cands; i++)
        if (a->cands[i].index == h->index) {
            if (!cand_before(h, &a->cands[i])) return;
            memmove(a->cands + i, a->cands + i + 1, (a->n_cands - i - 1) * sizeof *a->cands);
            a->n_cands--;
            break;
        }
    uint32_t i = a->n_cands < max ? a->n_cands++ : max;
    if (i == max) {
        if (!cand_before(h, &a->cands[max - 1])) return;
        i = max - 1;
    }
    while (i > 0 && cand_before(h, &a->cands[i - 1])) {
        a->cands[i] = a->cands[i - 1];
        i--;
    }
    a->cands[i] = *h;
}

static double peak_at(const npsw_peaks *p, double mz)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (fabs(p->mz[i] - mz) < 0.5) return p->in[i];
    return 0;
}

/* An analogue differs in mass by at least this (Da): differences of 1-2 Da are not told apart
 * from a misread molecular ion (M+1 isotope, M-H, M-2H), and at least this many of its fragment
 * peaks must carry the difference (else the hybrid score is the plain similarity). */
#define ANALOGUE_MIN_DELTA 2.5
#define ANALOGUE_MIN_SHIFTED 2
#define ANALOGUE_SINGLE_MARGIN 0.05

/* The fewest table changes that explain a mass difference: 1, 2, or 0 when none does. */
static int changes_explaining(double delta, int nominal)
{
    npsw_delta_hypothesis h;
    return npsw_explain_delta(delta, 0.01, nominal, &h, 1) == 1 ? h.n_terms : 0;
}

/* ---- 1. candidates from shifts ------------------------------------------------------------ */

#define SHIFT_MIN_CORR 0.10   /* a cross-correlation shift must align this share of the signal */
#define SHIFT_NEIGHBOURS 3    /* identity neighbours correlated with the query */
#define TABLE_MIN_MZ 80       /* table shifts: query fragments from this m/z on may carry them */

typedef struct excl {
    int (*fn)(uint64_t, void *);
    void *user;
} excl;

static int is_excluded(const excl *x, uint64_t i) { return x->fn && x->fn(i, x->user); }

/* Cross-correlation of the query with its best identity neighbours: a strong nonzero shift d
 * against a neighbour of mass M proposes the query mass M + d. */
static void shift_candidates(const npsw_analyser *an, npsw_analyse_scratch *s,
                             const npsw_spectrum *q, const npsw_analyse_opts *o, const excl *x,
                             uint32_t k, npsw_analysis *a)
{
    a->n_shifts = 0;
    if (!an->nominal || !s || !s->fft || !a->n_hits) return;
    npsw_peaks qp = {q->mz, q->intensity, q->n};
    npsw_score_params p = o->analogue.params;
    p.nominal = 1;
    int maxd = (int)o->analogue.max_delta;
    for (uint32_t h = 0; h < a->n_hits && h < SHIFT_NEIGHBOURS; h++) {
        uint64_t li = a->hits[h].index;
        npsw_peaks lp = npsw_lib_peaks(an->lib, li);
        npsw_shift best[NPSW_ANALYSE_MAX_SHIFT + 1];
        int nb = npsw_shift_find(an->fft, s->fft, &qp, &lp, maxd, best, NPSW_ANALYSE_MAX_SHIFT + 1);
        if (h == 0)
            for (int i = 0; i < nb && a->n_shifts < NPSW_ANALYSE_MAX_SHIFT; i++)
                a->shifts[a->n_shifts++] = best[i];
        double lm = lib_mass(an->lib, li, 1);
        if (!(lm > 0) || is_excluded(x, li)) continue;
        for (int i = 0; i < nb; i++) {
            if (best[i].shift == 0 || best[i].score < SHIFT_MIN_CORR) continue;
            npsw_analogue_hit c = {li, lm + best[i].shift, (double)best[i].shift, {0, 0, 0}};
            npsw_hybrid_score(&qp, &lp, c.delta, &p, &c.hybrid);
            if (c.hybrid.score > 0) offer_cand(a, k, &c);
        }
    }
}

int npsw_table_pair_before(const npsw_table_pair *a, const npsw_table_pair *b)
{
    return a->score > b->score || (a->score == b->score && a->index < b->index);
}

/* EI spectra of many drugs lack the molecular ion, and then the hybrid search has no query mass
 * to work with. Table shifts: for every nominal mass change d of the substituent table (each
 * added or removed), the library spectra whose fragments line up with the query's when shifted
 * by d, found through the inverted index: score(l, d) = (sum over same-m/z pairs + sum over
 * pairs at query m/z - d, for query fragments >= TABLE_MIN_MZ) of sqrt(I_q I_l), over the norms.
 * Each spectrum keeps its best shift (equal scores: the shift generated first); the best
 * NPSW_ANALYSE_TABLE_KEEP spectra are returned (table_candidates scores them exactly). Every
 * spectrum's score depends on the query and that spectrum only, so the scan of a library split
 * into parts, merged by npsw_table_pair_before, returns the scan of the whole. */
int npsw_analyse_table_scan(const npsw_analyser *an, npsw_analyse_scratch *s,
                            const npsw_spectrum *q, const npsw_analyse_opts *o,
                            int (*exclude)(uint64_t index, void *xu), void *xu,
                            npsw_table_pair *best)
{
    const npsw_lib *lib = an->lib;
    const npsw_nominal_index *ix = &lib->idx;
    excl xx = {exclude, xu}, *x = &xx;
    if (!an->nominal || !s || !ix->bin_start || !an->sqrt_in || !q->n || q->precursor_mz > 0)
        return 0;
    const double *sq = an->sqrt_in;
    /* distinct nominal changes, |d| >= 3 */
    int ds[64], nd = 0;
    const npsw_substituent *t;
    size_t nt = npsw_substituents(&t);
    for (size_t i = 0; i < nt; i++)
        for (int sg = -1; sg <= 1; sg += 2) {
            int d = sg * (int)lround(t[i].delta), dup = 0;
            for (int j = 0; j < nd; j++) dup |= ds[j] == d;
            if (!dup && abs(d) >= 3 && abs(d) <= o->analogue.max_delta && nd < 64) ds[nd++] = d;
        }
    double qn2 = 0;
    for (uint32_t i = 0; i < q->n; i++) qn2 += q->intensity[i] * q->mz[i] * q->mz[i];
    if (!(qn2 > 0)) return 0;
    /* direct products */
    uint32_t n0 = 0;
    for (uint32_t i = 0; i < q->n; i++) {
        long m = lround(q->mz[i]);
        if (m < 1 || m > (long)ix->max_mz) continue;
        double w = sqrt(q->intensity[i]) * q->mz[i] * (double)m;
        for (uint64_t p = ix->bin_start[m]; p < ix->bin_start[m + 1]; p++) {
            uint32_t l = ix->spec[p];
            if (!s->seen0[l]) s->seen0[l] = 1, s->t0[n0++] = l;
            s->acc0[l] += w * sq[p];
        }
    }
    int nb = 0;
    for (int di = 0; di < nd; di++) {
        int d = ds[di];
        uint32_t nt2 = 0;
        for (uint32_t i = 0; i < q->n; i++) {
            long m = lround(q->mz[i]) - d;
            if (q->mz[i] < TABLE_MIN_MZ || m < 1 || m > (long)ix->max_mz) continue;
            double w = sqrt(q->intensity[i]) * q->mz[i] * (double)m;
            for (uint64_t p = ix->bin_start[m]; p < ix->bin_start[m + 1]; p++) {
                uint32_t l = ix->spec[p];
                if (!s->seend[l]) s->seend[l] = 1, s->td[nt2++] = l;
                s->accd[l] += w * sq[p];
            }
        }
        for (uint32_t j = 0; j < nt2; j++) {
            uint32_t l = s->td[j];
            double sc = (s->acc0[l] + s->accd[l]) / sqrt(qn2 * an->norm2[l]);
            s->accd[l] = 0;
            s->seend[l] = 0;
            if (!(lib_mass(lib, l, 1) > 0) || is_excluded(x, l)) continue;
            /* keep the best NPSW_ANALYSE_TABLE_KEEP spectra, each with its best shift (score
             * desc, then index; equal scores keep the shift generated first) */
            npsw_table_pair c = {l, d, sc};
            int have = -1;
            for (int b = 0; b < nb; b++)
                if (best[b].index == l) have = b;
            if (have >= 0) {
                if (!(sc > best[have].score)) continue;
                memmove(best + have, best + have + 1, (size_t)(nb - have - 1) * sizeof *best);
                nb--;
            }
            int pos = nb < NPSW_ANALYSE_TABLE_KEEP ? nb++ : NPSW_ANALYSE_TABLE_KEEP;
            if (pos == NPSW_ANALYSE_TABLE_KEEP) {
                if (!npsw_table_pair_before(&c, &best[NPSW_ANALYSE_TABLE_KEEP - 1])) continue;
                pos = NPSW_ANALYSE_TABLE_KEEP - 1;
            }
            while (pos > 0 && npsw_table_pair_before(&c, &best[pos - 1])) {
                best[pos] = best[pos - 1];
                pos--;
            }
            best[pos] = c;
        }
    }
    for (uint32_t j = 0; j < n0; j++) s->acc0[s->t0[j]] = 0, s->seen0[s->t0[j]] = 0;
    return nb;
}

/* The table-shift pairs scored exactly: hybrid score at delta d, query mass M_l + d. */
static void table_candidates(const npsw_analyser *an, const npsw_spectrum *q,
                             const npsw_analyse_opts *o, const npsw_table_pair *best, int nb,
                             uint32_t k, npsw_analysis *a)
{
    const npsw_lib *lib = an->lib;
    npsw_peaks qp = {q->mz, q->intensity, q->n};
    npsw_score_params p = o->analogue.params;
    p.nominal = 1;
    for (int i = 0; i < nb; i++) {
        npsw_peaks lp = npsw_lib_peaks(lib, best[i].index);
        double lm = lib_mass(lib, best[i].index, 1);
        npsw_analogue_hit c = {best[i].index, lm + best[i].shift, (double)best[i].shift, {0, 0, 0}};
        npsw_hybrid_score(&qp, &lp, c.delta, &p, &c.hybrid);
        if (c.hybrid.score > 0) offer_cand(a, k, &c);
    }
}

/* ---- 3. substituent evidence -------------------------------------------------------------- */

static int has_term(const char *label, const char *term)
{
    /* terms are "+X" or "-X" separated by spaces */
    size_t n = strlen(term);
    for (const char *p = label; (p = strstr(p, term)) != NULL; p += n)
        if (p[n] == '\0' || p[n] == ' ') return 1;
    return 0;
}

/* Re-rank the mass-difference explanations by what the spectra say:
 *  - an added Cl (Br) must show its isotope: M+2 at >= 25 % (>= 70 %) of M when M is seen;
 *  - +beta-keto is preferred over +CH2 when the query looks like a cathinone and the parent
 *    like a phenethylamine (the beta-keto analogue of an amphetamine is a cathinone), and the
 *    other way round otherwise;
 *  - one change is preferred over two (already the order of npsw_explain_delta). */
static void rank_substituents(const npsw_lib *lib, const npsw_spectrum *q, int nominal,
                              npsw_analysis *a)
{
    a->n_subst = 0;
    if (!a->has_analogue) return;
    npsw_delta_hypothesis h[16];
    int n = npsw_explain_delta(a->analogue.delta, 0.01, nominal, h, 16);
    npsw_subst_hyp c[16];
    npsw_peaks qp = {q->mz, q->intensity, q->n};
    double base = 0;
    for (uint32_t i = 0; i < qp.n; i++)
        if (qp.in[i] > base) base = qp.in[i];
    double m = a->analogue.query_mass, im = peak_at(&qp, m), im2 = peak_at(&qp, m + 2);
    int m_seen = base > 0 && im >= 0.05 * base;
    const char *pcls = npsw_lib_meta(lib, a->analogue.index, NPSW_META_CLASS);
    int parent_pea = strcmp(pcls, "phenethylamine") == 0;
    int query_cath = strcmp(a->predicted_class, "cathinone") == 0;
    for (int i = 0; i < n; i++) {
        c[i].h = h[i];
        c[i].evidence = -0.25 * (h[i].n_terms - 1) - 0.001 * i; /* keep the mass order */
        c[i].why[0] = '\0';
        if (m_seen && (has_term(h[i].label, "+Cl-for-H") || has_term(h[i].label, "+Br-for-H"))) {
            int br = has_term(h[i].label, "+Br-for-H");
            double need = br ? 0.70 : 0.25, r = im2 / im;
            if (r >= need) {
                c[i].evidence += 1;
                snprintf(c[i].why, sizeof c[i].why, "M+2/M = %.2f fits %s", r, br ? "Br" : "Cl");
            } else {
                c[i].evidence -= 1;
                snprintf(c[i].why, sizeof c[i].why, "M+2/M = %.2f too low for %s", r,
                         br ? "Br" : "Cl");
            }
        }
        if (has_term(h[i].label, "+beta-keto") && parent_pea && query_cath) {
            c[i].evidence += 0.5;
            snprintf(c[i].why, sizeof c[i].why, "phenethylamine parent, cathinone-like query");
        }
    }
    /* insertion sort by evidence (stable) */
    for (int i = 1; i < n; i++) {
        npsw_subst_hyp t = c[i];
        int j = i;
        while (j > 0 && c[j - 1].evidence < t.evidence) c[j] = c[j - 1], j--;
        c[j] = t;
    }
    for (int i = 0; i < n && i < NPSW_ANALYSE_MAX_SUBST; i++) a->subst[a->n_subst++] = c[i];
}

/* ---- 4. class ----------------------------------------------------------------------------- */

#define MAX_VOTE_CLASSES 24
#define DIAG_VOTE 0.15 /* weight of each class ion beyond the first */

typedef struct vote {
    char cls[NPSW_CLASS_LEN];
    double w;
} vote;

static void add_vote(vote *v, int *n, const char *cls, double w)
{
    if (!cls[0] || !(w > 0)) return;
    for (int i = 0; i < *n; i++)
        if (!strcmp(v[i].cls, cls)) {
            v[i].w += w;
            return;
        }
    if (*n == MAX_VOTE_CLASSES) return;
    snprintf(v[*n].cls, sizeof v[*n].cls, "%s", cls);
    v[(*n)++].w = w;
}

static void predict_class(const npsw_lib *lib, const npsw_spectrum *q, const npsw_analyse_opts *o,
                          npsw_analysis *a)
{
    vote v[MAX_VOTE_CLASSES];
    int nv = 0;
    /* neighbours: weight = similarity^4, so the close ones dominate; the hybrid candidates
     * count as much as the identity hits (an analogue's relatives share its class) */
    for (uint32_t i = 0; i < a->n_hits; i++) {
        double s = a->hits[i].all.cosine;
        add_vote(v, &nv, npsw_lib_meta(lib, a->hits[i].index, NPSW_META_CLASS), s * s * s * s);
    }
    for (uint32_t i = 0; i < a->n_cands; i++) {
        double s = a->cands[i].hybrid.score;
        add_vote(v, &nv, npsw_lib_meta(lib, a->cands[i].index, NPSW_META_CLASS), s * s * s * s);
    }
    /* diagnostic ions: a class with two or more of its ions present */
    npsw_peaks qp = {q->mz, q->intensity, q->n};
    a->n_diag = npsw_diagnostic_ions(&qp, o->diag_min_rel, a->diag, NPSW_ANALYSE_MAX_DIAG);
    for (int i = 0; i < a->n_diag; i++) {
        int same = 0;
        for (int j = 0; j < a->n_diag; j++) same += !strcmp(a->diag[j]->cls, a->diag[i]->cls);
        if (same >= 2) add_vote(v, &nv, a->diag[i]->cls, DIAG_VOTE * (same - 1) / same);
    }
    double total = 0;
    int best = -1;
    for (int i = 0; i < nv; i++) {
        total += v[i].w;
        if (best < 0 || v[i].w > v[best].w) best = i;
    }
    if (best < 0) {
        snprintf(a->predicted_class, sizeof a->predicted_class, "other");
        a->class_share = 0;
    } else {
        snprintf(a->predicted_class, sizeof a->predicted_class, "%s", v[best].cls);
        a->class_share = v[best].w / total;
    }
}

/* ---- features and verdict ----------------------------------------------------------------- */

void npsw_analysis_features_get(const npsw_analysis *a, npsw_analysis_features *f)
{
    memset(f, 0, sizeof *f);
    if (a->n_hits) {
        f->id_score = a->hits[0].score;
        f->id_mf = a->hits[0].all.mf;
        f->id_rmf = a->hits[0].all.rmf;
        f->class_top = a->hits[0].all.cosine;
    }
    if (a->has_analogue) {
        const npsw_hybrid *h = &a->analogue.hybrid;
        f->an_score = h->score;
        f->an_gain = h->score - a->analogue_cosine;
        /* 1: one table change explains the difference, 0.5: two, 0: none */
        f->an_explained = a->n_subst == 0 ? 0 : a->subst[0].h.n_terms == 1 ? 1 : 0.5;
        f->an_shift = a->shift_support;
        uint32_t np = h->n_direct + h->n_shifted;
        f->an_shifted_share = np ? (double)h->n_shifted / np : 0;
        if (h->score > f->class_top) f->class_top = h->score;
    }
    f->class_share = a->class_share;
    f->class_drug = strcmp(a->predicted_class, "other") != 0 && a->predicted_class[0];
    f->class_drug_share = f->class_drug * a->class_share;
}

void npsw_analyse_decide(const npsw_analyser *an, npsw_analyse_scratch *s,
                         const npsw_spectrum *q, const npsw_analyse_opts *o,
                         int (*exclude)(uint64_t index, void *xu), void *xu, npsw_analysis *a)
{
    npsw_table_pair table[NPSW_ANALYSE_TABLE_KEEP];
    int nt = npsw_analyse_table_scan(an, s, q, o, exclude, xu, table);
    npsw_analyse_decide_table(an, s, q, o, exclude, xu, table, nt, a);
}

void npsw_analyse_decide_table(const npsw_analyser *an, npsw_analyse_scratch *s,
                               const npsw_spectrum *q, const npsw_analyse_opts *o,
                               int (*exclude)(uint64_t index, void *xu), void *xu,
                               const npsw_table_pair *table, int n_table, npsw_analysis *a)
{
    const npsw_lib *lib = an->lib;
    int nominal = an->nominal;
    uint32_t k = o->k < 1 ? 1 : o->k > NPSW_ANALYSE_MAX_K ? NPSW_ANALYSE_MAX_K : o->k;
    npsw_peaks qp = {q->mz, q->intensity, q->n};
    npsw_score_params p = o->analogue.params;
    p.nominal = nominal;
    excl x = {exclude, xu};

    shift_candidates(an, s, q, o, &x, k, a);
    table_candidates(an, q, o, table, n_table, k, a);

    /* 2. the analogue: the best candidate with a mass difference */
    a->has_analogue = 0;
    a->analogue_cosine = a->shift_support = 0;
    a->analogue_from_shift = 0;
    /* the best eligible candidate, unless one whose difference is a single table change
     * scores within ANALOGUE_SINGLE_MARGIN of it (new substances mostly differ from a known one
     * by one substituent; with two changes almost any nominal difference is explained) */
    for (uint32_t i = 0; i < a->n_cands; i++) {
        const npsw_analogue_hit *c = &a->cands[i];
        if (fabs(c->delta) < ANALOGUE_MIN_DELTA || c->hybrid.n_shifted < ANALOGUE_MIN_SHIFTED)
            continue;
        if (!a->has_analogue) {
            a->analogue = *c;
            a->has_analogue = 1;
            if (changes_explaining(c->delta, nominal) == 1) break;
        } else if (c->hybrid.score < a->analogue.hybrid.score - ANALOGUE_SINGLE_MARGIN) {
            break;
        } else if (changes_explaining(c->delta, nominal) == 1) {
            a->analogue = *c;
            break;
        }
    }
    if (a->has_analogue) {
        npsw_peaks lp = npsw_lib_peaks(lib, a->analogue.index);
        npsw_scores sc;
        npsw_score_pair_want(&qp, &lp, &p, 1u << NPSW_SCORE_COSINE, &sc);
        a->analogue_cosine = sc.cosine;
        if (nominal) {
            int d = (int)lround(a->analogue.delta);
            int maxd = abs(d);
            double *corr = malloc((size_t)(2 * maxd + 1) * sizeof *corr);
            if (corr) {
                if (s && s->fft) npsw_shift_correlation(an->fft, s->fft, &qp, &lp, maxd, corr);
                else npsw_shift_correlation_ref(&qp, &lp, 2000, maxd, corr);
                a->shift_support = corr[d + maxd] > 0 ? corr[d + maxd] : 0;
                free(corr);
            }
        }
        /* did the query mass come from a shift rather than a molecular-ion candidate? */
        npsw_mion mi[8];
        int nm = q->precursor_mz > 0 ? 0 : npsw_molecular_ion(&qp, mi, o->analogue.n_mion);
        a->analogue_from_shift = !(q->precursor_mz > 0);
        for (int i = 0; i < nm; i++)
            if (mi[i].mz == a->analogue.query_mass) a->analogue_from_shift = 0;
    }

    /* 4. class (before 3: the substituent evidence uses it) */
    predict_class(lib, q, o, a);
    rank_substituents(lib, q, nominal, a);

    /* 5. verdict */
    npsw_analysis_features ft;
    npsw_analysis_features_get(a, &ft);
    double pin = a->n_hits ? npsw_cal_p_in_library(&ft) : 0;
    double pan = a->has_analogue ? npsw_cal_p_analogue(&ft) : 0;
    a->p_in_library = pin;
    a->p_analogue = (1 - pin) * pan;
    double punk = (1 - pin) * (1 - pan);
    if (pin >= a->p_analogue && pin >= punk) a->verdict = NPSW_VERDICT_IN_LIBRARY, a->confidence = pin;
    else if (a->p_analogue >= punk) a->verdict = NPSW_VERDICT_ANALOGUE, a->confidence = a->p_analogue;
    else a->verdict = NPSW_VERDICT_UNKNOWN, a->confidence = punk;
    a->class_confidence = npsw_cal_p_class(&ft);
    if (!strcmp(a->predicted_class, "other") && a->class_share == 0) a->class_confidence = 0;
}

/* ---- all queries ---------------------------------------------------------------------------- */

void npsw_analyse_stage_opts(const npsw_analyse_opts *o, npsw_search_opts *so,
                             npsw_analogue_opts *ao)
{
    *so = o->search;
    so->k = o->k;
    so->threads = o->threads;
    *ao = o->analogue;
    ao->k = o->k;
}

/* Everything an analysis of one library with one set of options builds, made once. */
struct npsw_analyse_ctx {
    const npsw_lib *lib;
    npsw_analyse_opts o;         /* k copied into both searches */
    npsw_search_index *search;   /* identity search */
    npsw_analogue_index *hyb;    /* hybrid search */
    npsw_analyser *an;           /* FFTW plans, spectrum norms */
};

static int analyse_ctx_make(const npsw_lib *lib, const npsw_analyse_opts *o, npsw_analyse_ctx **out,
                            npsw_err *err)
{
    *out = NULL;
    if (o->k < 1 || o->k > NPSW_ANALYSE_MAX_K)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "k must be between 1 and %d (got %u)",
                            NPSW_ANALYSE_MAX_K, o->k);
    npsw_err local;
    npsw_err_clear(&local);
    npsw_analyse_ctx *c = calloc(1, sizeof *c);
    if (!c) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for the analysis");
    c->lib = lib;
    c->o = *o;
    npsw_analyse_stage_opts(o, &c->o.search, &c->o.analogue);
    if (!(c->search = npsw_search_index_new(lib, &c->o.search, &local)) ||
        !(c->hyb = npsw_analogue_index_new(lib, &c->o.analogue, o->threads, &local)) ||
        !(c->an = npsw_analyser_new(lib, &local))) {
        npsw_analyse_ctx_free(c);
        if (err) *err = local;
        return local.code < 0 ? local.code : NPSW_ENOMEM;
    }
    *out = c;
    return 0;
}

npsw_analyse_ctx *npsw_analyse_ctx_new(const npsw_lib *lib, const npsw_analyse_opts *o,
                                       npsw_err *err)
{
    npsw_analyse_ctx *c;
    return analyse_ctx_make(lib, o, &c, err) < 0 ? NULL : c;
}

void npsw_analyse_ctx_free(npsw_analyse_ctx *c)
{
    if (!c) return;
    npsw_search_index_free(c->search);
    npsw_analogue_index_free(c->hyb);
    npsw_analyser_free(c->an);
    free(c);
}

int npsw_analyse_finish(const npsw_analyser *an, const npsw_spectrum *queries, size_t nq,
                        const npsw_analyse_opts *o, int threads, const npsw_hit *hits,
                        const uint32_t *nh, const npsw_analogue_hit *cands, const uint32_t *nc,
                        const npsw_table_pair *pairs, const uint32_t *npairs, npsw_analysis *out,
                        npsw_err *err)
{
    const uint32_t k = o->k, T = NPSW_ANALYSE_TABLE_KEEP;
    int nthreads = threads > 0 ? threads : omp_get_max_threads();
    int oom = 0;
#pragma omp parallel num_threads(nthreads)
    {
        npsw_analyse_scratch *s = npsw_analyse_scratch_new(an);
        if (!s) {
#pragma omp atomic write
            oom = 1;
        }
#pragma omp for schedule(dynamic, 4)
        for (size_t i = 0; i < nq; i++) {
            if (!s) continue;
            npsw_analysis *a = &out[i];
            memset(a, 0, sizeof *a);
            a->n_hits = nh[i];
            memcpy(a->hits, hits + i * k, nh[i] * sizeof *hits);
            a->n_cands = nc[i];
            memcpy(a->cands, cands + i * k, nc[i] * sizeof *cands);
            if (pairs)
                npsw_analyse_decide_table(an, s, &queries[i], o, NULL, NULL, pairs + i * T,
                                          (int)npairs[i], a);
            else
                npsw_analyse_decide(an, s, &queries[i], o, NULL, NULL, a);
        }
        npsw_analyse_scratch_free(s);
    }
    if (oom) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for analysis buffers");
    return 0;
}

int npsw_analyse(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                 const npsw_analyse_opts *o, npsw_analysis *out, npsw_err *err)
{
    if (o->k < 1 || o->k > NPSW_ANALYSE_MAX_K)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "k must be between 1 and %d (got %u)",
                            NPSW_ANALYSE_MAX_K, o->k);
    if (!nq) return 0;
    npsw_analyse_ctx *c;
    int rc = analyse_ctx_make(lib, o, &c, err);
    if (rc < 0) return rc;
    rc = npsw_analyse_with(c, queries, nq, o->threads, out, err);
    npsw_analyse_ctx_free(c);
    return rc;
}

int npsw_analyse_with(const npsw_analyse_ctx *c, const npsw_spectrum *queries, size_t nq,
                      int threads, npsw_analysis *out, npsw_err *err)
{
    if (threads < 0 || threads > 1024)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "threads must be between 0 and 1024");
    if (!nq) return 0;
    const npsw_analyse_opts *o = &c->o;
    npsw_hit *hits = malloc(nq * o->k * sizeof *hits);
    uint32_t *nh = calloc(nq, sizeof *nh);
    npsw_analogue_hit *cands = malloc(nq * o->k * sizeof *cands);
    uint32_t *nc = calloc(nq, sizeof *nc);
    const npsw_analyser *an = c->an;
    int rc = 0;
    if (!hits || !nh || !cands || !nc) {
        rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for %zu queries", nq);
        goto done;
    }
    if ((rc = npsw_search_with(c->search, queries, nq, threads, NULL, NULL, hits, nh, NULL,
                               err)) < 0)
        goto done;
    if ((rc = npsw_analogue_search_index(c->hyb, queries, nq, &o->analogue, threads, cands, nc,
                                         NULL, err)) < 0)
        goto done;
    rc = npsw_analyse_finish(an, queries, nq, o, threads, hits, nh, cands, nc, NULL, NULL, out, err);
done:
    free(hits);
    free(nh);
    free(cands);
    free(nc);
    return rc;
}
