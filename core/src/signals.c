/* signals.c - emerging signals: average-linkage clustering of analogue/unknown spectra on a
 * sparse similarity graph, consensus spectra, spread, trend, class and urgency
 * (npsw/signals.h; method and thresholds: docs/signals.md).
 *
 * Clustering: every pair of eligible spectra is scored once (by default the cosine of
 * sqrt(I) * (m/z)^2 weights), in parallel over rows, each row's edges kept in its own list, so the graph does not depend
 * on the thread count); pairs under edge_min are dropped (they count 0). Clusters then merge
 * greedily, the pair with the highest mean cross similarity first (ties: lower cluster index),
 * while that mean is >= link: UPGMA cut at `link`. UPGMA is reducible, so merging the best pair
 * from a heap with lazy invalidation gives the same clusters as the textbook algorithm.
 */
#include "npsw/signals.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

/* ---- options ------------------------------------------------------------------------------ */

npsw_signal_opts npsw_signal_opts_default(void)
{
    npsw_signal_opts o;
    memset(&o, 0, sizeof o);
    o.score = NPSW_SCORE_COSINE;
    o.params = npsw_score_params_default();
    o.params.nominal = 1;
    o.params.int_power = 0.5;
    o.params.mz_power = 2.0;
    o.link = 0.80;
    o.edge_min = 0.50;
    o.min_members = 2;
    o.consensus_share = 0.5;
    o.now = 0;
    o.trend_days = 30;
    o.threads = 0;
    return o;
}

int npsw_signal_opts_check(const npsw_signal_opts *o, npsw_err *err)
{
    if (!o) return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "no signal options");
    if (!(o->link > 0 && o->link <= 1))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "signal link threshold %g: expected a value in (0, 1]", o->link);
    if (!(o->edge_min >= 0 && o->edge_min <= o->link))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "signal edge_min %g: expected 0 <= edge_min <= link (%g)", o->edge_min,
                            o->link);
    if (o->min_members < 1)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "signal min_members must be >= 1");
    if (!(o->consensus_share > 0 && o->consensus_share <= 1))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "consensus share %g: expected a value in (0, 1]", o->consensus_share);
    if (o->trend_days < 1 || o->trend_days > 3650)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "trend window %u days: expected 1 to 3650", o->trend_days);
    if (o->threads < 0) return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "threads must be >= 0");
    if ((unsigned)o->score >= NPSW_SCORE_COUNT || o->score == NPSW_SCORE_RMF)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "signal similarity: expected mf, wmf, cosine or entropy (a symmetric "
                            "score)");
    return npsw_score_params_check(&o->params, err);
}

double npsw_signal_similarity(const npsw_peaks *a, const npsw_peaks *b, const npsw_signal_opts *o)
{
    if (!a->n || !b->n) return 0;
    npsw_scores s;
    npsw_score_pair_want(a, b, &o->params, 1u << o->score, &s);
    return npsw_scores_get(&s, o->score);
}

/* ---- urgency ---------------------------------------------------------------------------- */

static const struct {
    const char *cls;
    double w;
} class_weights[] = {
    {"fentanyl", 3.0},       {"nitazene", 3.0},       {"opioid", 2.0},
    {"benzodiazepine", 1.6}, {"cannabinoid", 1.6},    {"cathinone", 1.3},
    {"phenethylamine", 1.3}, {"arylcyclohexylamine", 1.3}, {"tryptamine", 1.1},
    {"other", 1.0},
};

double npsw_signal_class_weight(const char *cls)
{
    if (!cls) return 1.0;
    if (!strncmp(cls, "precursor:", 10)) {
        double w = 0.5 * npsw_signal_class_weight(cls + 10);
        return w < 1.0 ? 1.0 : w;
    }
    for (size_t i = 0; i < sizeof class_weights / sizeof *class_weights; i++)
        if (!strcmp(cls, class_weights[i].cls)) return class_weights[i].w;
    return 1.0;
}

npsw_signal_urgency npsw_signal_urgency_of(const char *cls, uint32_t n_labs, uint32_t n_countries,
                                           uint32_t n_submissions, uint32_t recent,
                                           uint32_t previous)
{
    npsw_signal_urgency u;
    u.class_weight = npsw_signal_class_weight(cls);
    u.spread = log2(1.0 + n_labs) + log2(n_countries > 1 ? (double)n_countries : 1.0);
    u.volume = 0.25 * log2(1.0 + n_submissions);
    double g = (recent + 1.0) / (previous + 1.0);
    if (g < 0.5) g = 0.5;
    if (g > 4.0) g = 4.0;
    u.growth = sqrt(g);
    u.score = u.class_weight * (u.spread + u.volume) * u.growth;
    return u;
}

/* ---- consensus ---------------------------------------------------------------------------- */

typedef struct cpeak {
    int64_t mz;   /* nominal m/z */
    size_t spec;  /* which spectrum */
    double rel;   /* relative intensity, base peak 999 */
} cpeak;

static int cmp_cpeak(const void *a, const void *b)
{
    const cpeak *x = a, *y = b;
    if (x->mz != y->mz) return x->mz < y->mz ? -1 : 1;
    if (x->spec != y->spec) return x->spec < y->spec ? -1 : 1;
    return x->rel > y->rel ? -1 : x->rel < y->rel; /* largest first */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_sorted(const double *v, size_t n)
{
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int npsw_signal_consensus(const npsw_peaks *spectra, size_t n, double share, double **mz_out,
                          float **in_out, npsw_err *err)
{
    *mz_out = NULL;
    *in_out = NULL;
    size_t total = 0;
    for (size_t s = 0; s < n; s++) total += spectra[s].n;
    cpeak *v = malloc((total ? total : 1) * sizeof *v);
    double *vals = malloc((n ? n : 1) * sizeof *vals);
    double *cm = malloc((total ? total : 1) * sizeof *cm);
    float *ci = malloc((total ? total : 1) * sizeof *ci);
    if (!v || !vals || !cm || !ci) {
        free(v), free(vals), free(cm), free(ci);
        return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory computing a consensus");
    }
    size_t k = 0;
    for (size_t s = 0; s < n; s++) {
        double base = 0;
        for (uint32_t i = 0; i < spectra[s].n; i++)
            if (spectra[s].in[i] > base) base = spectra[s].in[i];
        if (!(base > 0)) continue;
        for (uint32_t i = 0; i < spectra[s].n; i++) {
            if (!(spectra[s].in[i] > 0) || !isfinite(spectra[s].mz[i])) continue;
            v[k].mz = (int64_t)floor(spectra[s].mz[i] + 0.5);
            v[k].spec = s;
            v[k].rel = 999.0 * spectra[s].in[i] / base;
            k++;
        }
    }
    qsort(v, k, sizeof *v, cmp_cpeak);
    size_t nc = 0;
    double top = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i, nv = 0;
        while (j < k && v[j].mz == v[i].mz) {
            /* one value per spectrum and m/z: the largest (sorted first) */
            if (j == i || v[j].spec != v[j - 1].spec) vals[nv++] = v[j].rel;
            j++;
        }
        if ((double)nv >= share * (double)n - 1e-9) {
            qsort(vals, nv, sizeof *vals, cmp_double);
            double m = median_sorted(vals, nv);
            cm[nc] = (double)v[i].mz;
            ci[nc] = (float)m; /* rescaled below */
            if (m > top) top = m;
            nc++;
        }
        i = j;
    }
    size_t no = 0;
    for (size_t i = 0; i < nc; i++) {
        double x = floor(999.0 * ci[i] / top + 0.5);
        if (x < 1) continue;
        cm[no] = cm[i];
        ci[no] = (float)x;
        no++;
    }
    free(v);
    free(vals);
    *mz_out = cm;
    *in_out = ci;
    return (int)no;
}

/* ---- summary ------------------------------------------------------------------------------ */

void npsw_signal_free(npsw_signal *s)
{
    if (!s) return;
    free(s->member_id);
    free(s->member_t);
    free(s->member_sim);
    free(s->consensus_mz);
    free(s->consensus_in);
    memset(s, 0, sizeof *s);
}

void npsw_signals_free(npsw_signal *v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) npsw_signal_free(&v[i]);
    free(v);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t count_distinct(int64_t *v, size_t n)
{
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_i64);
    uint32_t d = 1;
    for (size_t i = 1; i < n; i++) d += v[i] != v[i - 1];
    return d;
}

typedef struct named {
    const char *name;
    double delta;
    uint32_t rank; /* substituents: position in the member's list (0 = first) */
    size_t member;
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    if (x->member != y->member) return x->member < y->member ? -1 : 1;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

typedef struct group {
    const char *name;
    uint32_t count;
    uint32_t rank_sum;
    double median_delta;
} group;

static int cmp_group(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->rank_sum != y->rank_sum) return x->rank_sum < y->rank_sum ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Group names (sorted by name, member, rank), count members per name (one per member), the
 * median delta; sort the groups by count (desc), rank sum, name. Returns the group count. */
static size_t group_names(named *v, size_t n, group *g, double *scratch)
{
    qsort(v, n, sizeof *v, cmp_named);
    size_t ng = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, nd = 0;
        group x = {v[i].name, 0, 0, 0};
        while (j < n && !strcmp(v[j].name, v[i].name)) {
            if (j == i || v[j].member != v[j - 1].member) {
                x.count++;
                x.rank_sum += v[j].rank;
                scratch[nd++] = v[j].delta;
            }
            j++;
        }
        qsort(scratch, nd, sizeof *scratch, cmp_double);
        x.median_delta = median_sorted(scratch, nd);
        g[ng++] = x;
        i = j;
    }
    qsort(g, ng, sizeof *g, cmp_group);
    return ng;
}

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Parse "label (delta);label (delta)" into named entries (labels point into `buf`, a copy). */
static size_t parse_subst(char *buf, size_t member, named *out, size_t max)
{
    size_t n = 0;
    uint32_t rank = 0;
    for (char *p = buf; p && *p && n < max;) {
        char *semi = strchr(p, ';');
        if (semi) *semi = '\0';
        char *open = strrchr(p, '(');
        double d = 0;
        if (open) {
            d = strtod(open + 1, NULL);
            char *e = open;
            while (e > p && e[-1] == ' ') e--;
            *e = '\0';
        }
        while (*p == ' ') p++;
        if (*p) {
            out[n].name = p;
            out[n].delta = d;
            out[n].rank = rank++;
            out[n].member = member;
            n++;
        }
        p = semi ? semi + 1 : NULL;
    }
    return n;
}

static int cmp_idx_by_id(const void *a, const void *b, const npsw_signal_spectrum *in)
{
    int64_t x = in[*(const size_t *)a].id, y = in[*(const size_t *)b].id;
    return x < y ? -1 : x > y;
}

/* insertion-free sort of member indices by id (qsort has no user pointer in C17) */
static void sort_by_id(size_t *idx, size_t n, const npsw_signal_spectrum *in)
{
    /* shell sort: members are few compared with the pairwise scoring */
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++) {
            size_t t = idx[i], j = i;
            while (j >= gap && cmp_idx_by_id(&idx[j - gap], &t, in) > 0) {
                idx[j] = idx[j - gap];
                j -= gap;
            }
            idx[j] = t;
        }
}

/* The summary of the members in[idx[0..m)] (idx sorted by id). cohesion < 0: compute it. */
static int summarise(const npsw_signal_spectrum *in, const size_t *idx, size_t m,
                     const npsw_signal_opts *o, double cohesion, npsw_signal *out, npsw_err *err)
{
    memset(out, 0, sizeof *out);
    if (m == 0) return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "a signal needs a member");
    int rc = 0;
    npsw_peaks *pk = calloc(m, sizeof *pk);
    int64_t *tmp = malloc(m * sizeof *tmp);
    named *nm = NULL;
    group *gr = NULL;
    double *scratch = malloc(m * sizeof *scratch);
    char **subst_copy = calloc(m, sizeof *subst_copy);
    size_t max_subst = 8 * m;
    nm = malloc((max_subst > m ? max_subst : m) * sizeof *nm);
    gr = malloc((max_subst > m ? max_subst : m) * sizeof *gr);
    out->n_members = m;
    out->member_id = malloc(m * sizeof *out->member_id);
    out->member_t = malloc(m * sizeof *out->member_t);
    out->member_sim = malloc(m * sizeof *out->member_sim);
    if (!pk || !tmp || !scratch || !subst_copy || !nm || !gr || !out->member_id ||
        !out->member_t || !out->member_sim)
        goto nomem;
    for (size_t i = 0; i < m; i++) {
        const npsw_signal_spectrum *s = &in[idx[i]];
        pk[i] = s->peaks;
        out->member_id[i] = s->id;
        out->member_t[i] = s->t;
    }
    /* consensus and each member's similarity with it */
    int nc = npsw_signal_consensus(pk, m, o->consensus_share, &out->consensus_mz,
                                   &out->consensus_in, err);
    if (nc < 0) {
        rc = nc;
        goto fail;
    }
    out->n_consensus = (uint32_t)nc;
    npsw_peaks cons = {out->consensus_mz, out->consensus_in, out->n_consensus};
    for (size_t i = 0; i < m; i++) out->member_sim[i] = npsw_signal_similarity(&pk[i], &cons, o);
    if (cohesion < 0) {
        double sum = 0;
        for (size_t i = 0; i < m; i++)
            for (size_t j = i + 1; j < m; j++) {
                double s = npsw_signal_similarity(&pk[i], &pk[j], o);
                if (s >= o->edge_min) sum += s;
            }
        cohesion = m > 1 ? sum / (0.5 * (double)m * (double)(m - 1)) : 1.0;
    }
    out->cohesion = cohesion;
    /* spread: counts and countries only */
    for (size_t i = 0; i < m; i++) tmp[i] = in[idx[i]].lab;
    out->n_labs = count_distinct(tmp, m);
    for (size_t i = 0; i < m; i++) tmp[i] = in[idx[i]].submission;
    out->n_submissions = count_distinct(tmp, m);
    for (size_t i = 0; i < m; i++) {
        const char *c = in[idx[i]].country;
        /* upper-case letter pairs only; anything else is "XX" (unknown) */
        int ok = c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z';
        tmp[i] = ok ? (int64_t)(c[0] << 8 | c[1]) : (int64_t)('X' << 8 | 'X');
    }
    out->n_countries = count_distinct(tmp, m);
    {
        size_t pos = 0;
        for (size_t i = 0; i < m; i++) {
            if (i && tmp[i] == tmp[i - 1]) continue;
            if (pos + 4 > sizeof out->countries) break;
            if (pos) out->countries[pos++] = ',';
            out->countries[pos++] = (char)(tmp[i] >> 8);
            out->countries[pos++] = (char)(tmp[i] & 0xff);
            out->countries[pos] = '\0';
        }
    }
    /* time: first and last seen, trend */
    out->first_seen = out->last_seen = in[idx[0]].t;
    int64_t w = (int64_t)o->trend_days * 86400;
    for (size_t i = 0; i < m; i++) {
        int64_t t = in[idx[i]].t;
        if (t < out->first_seen) out->first_seen = t;
        if (t > out->last_seen) out->last_seen = t;
        if (t > o->now - w) out->recent++;
        else if (t > o->now - 2 * w) out->previous++;
    }
    out->trend = !out->recent && !out->previous ? "dormant"
                 : !out->previous              ? "new"
                 : out->recent > out->previous ? "rising"
                 : out->recent == out->previous ? "steady"
                                                : "falling";
    /* the majority class: ties go to a drug class over "other", then the more potent class,
     * then the name */
    size_t n = 0;
    for (size_t i = 0; i < m; i++) {
        const char *c = in[idx[i]].predicted_class;
        nm[n++] = (named){c && *c ? c : "other", 0, 0, i};
    }
    size_t ng = group_names(nm, n, gr, scratch);
    size_t best = 0;
    for (size_t g = 1; g < ng; g++) {
        if (gr[g].count != gr[best].count) break;
        int bo = !strcmp(gr[best].name, "other"), go = !strcmp(gr[g].name, "other");
        double wb = npsw_signal_class_weight(gr[best].name), wg = npsw_signal_class_weight(gr[g].name);
        if ((bo && !go) || (bo == go && (wg > wb || (wg == wb && strcmp(gr[g].name, gr[best].name) < 0))))
            best = g;
    }
    copy_str(out->predicted_class, sizeof out->predicted_class, gr[best].name);
    out->class_share = (double)gr[best].count / (double)m;
    if (!strncmp(out->predicted_class, "precursor:", 10)) {
        out->precursor = 1;
        copy_str(out->precursor_family, sizeof out->precursor_family, out->predicted_class + 10);
    }
    /* nearest known substances: the analogues and the rank-1 identity hits named most often */
    n = 0;
    for (size_t i = 0; i < m; i++) {
        const npsw_signal_spectrum *s = &in[idx[i]];
        if (s->analogue_name && *s->analogue_name)
            nm[n++] = (named){s->analogue_name, s->analogue_delta, 0, i};
    }
    ng = group_names(nm, n, gr, scratch);
    for (size_t g = 0; g < ng && out->n_analogues < NPSW_SIGNAL_MAX_NAMES; g++) {
        npsw_signal_name *x = &out->analogues[out->n_analogues++];
        copy_str(x->name, sizeof x->name, gr[g].name);
        x->count = gr[g].count;
        x->median_delta = gr[g].median_delta;
    }
    n = 0;
    for (size_t i = 0; i < m; i++) {
        const npsw_signal_spectrum *s = &in[idx[i]];
        if (s->best_name && *s->best_name) nm[n++] = (named){s->best_name, 0, 0, i};
    }
    ng = group_names(nm, n, gr, scratch);
    for (size_t g = 0; g < ng && out->n_best_hits < NPSW_SIGNAL_MAX_NAMES; g++) {
        npsw_signal_name *x = &out->best_hits[out->n_best_hits++];
        copy_str(x->name, sizeof x->name, gr[g].name);
        x->count = gr[g].count;
    }
    /* substituent hypotheses: listed by most members, then earlier in their lists */
    n = 0;
    for (size_t i = 0; i < m; i++) {
        const char *s = in[idx[i]].substituents;
        if (!s || !*s) continue;
        if (!(subst_copy[i] = strdup(s))) goto nomem;
        n += parse_subst(subst_copy[i], i, nm + n, max_subst - n < 8 ? max_subst - n : 8);
    }
    double *dscr = malloc((n ? n : 1) * sizeof *dscr);
    if (!dscr) goto nomem;
    ng = group_names(nm, n, gr, dscr);
    free(dscr);
    for (size_t g = 0; g < ng && out->n_subst < NPSW_SIGNAL_MAX_SUBST; g++) {
        npsw_signal_subst *x = &out->subst[out->n_subst++];
        copy_str(x->label, sizeof x->label, gr[g].name);
        x->delta = gr[g].median_delta;
        x->count = gr[g].count;
    }
    out->urgency = npsw_signal_urgency_of(out->predicted_class, out->n_labs, out->n_countries,
                                          out->n_submissions, out->recent, out->previous);
    goto done;
nomem:
    rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory summarising a signal");
fail:
    npsw_signal_free(out);
done:
    if (subst_copy)
        for (size_t i = 0; i < m; i++) free(subst_copy[i]);
    free(subst_copy);
    free(pk);
    free(tmp);
    free(nm);
    free(gr);
    free(scratch);
    return rc;
}

int npsw_signal_summarise(const npsw_signal_spectrum *in, size_t n, const npsw_signal_opts *o,
                          npsw_signal *out, npsw_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = npsw_signal_opts_check(o, err);
    if (rc < 0) return rc;
    if (!in || n == 0) return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "a signal needs a member");
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
    for (size_t i = 0; i < n; i++) idx[i] = i;
    sort_by_id(idx, n, in);
    rc = summarise(in, idx, n, o, -1, out, err);
    free(idx);
    return rc;
}

/* ---- clustering --------------------------------------------------------------------------- */

typedef struct nbr {
    uint32_t c;  /* neighbouring cluster */
    double sum;  /* sum of the pair similarities between the two clusters */
} nbr;

typedef struct adj {
    nbr *v;
    uint32_t n, cap;
} adj;

static int adj_push(adj *a, uint32_t c, double sum)
{
    if (a->n == a->cap) {
        uint32_t cap = a->cap ? 2 * a->cap : 4;
        nbr *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = (nbr){c, sum};
    return 0;
}

/* index of c in a sorted list, or where it would go (found: *hit = 1) */
static uint32_t adj_find(const adj *a, uint32_t c, int *hit)
{
    uint32_t lo = 0, hi = a->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (a->v[mid].c < c) lo = mid + 1;
        else hi = mid;
    }
    *hit = lo < a->n && a->v[lo].c == c;
    return lo;
}

typedef struct merge {
    double avg;
    uint32_t a, b;   /* a < b */
    uint32_t va, vb; /* versions when pushed */
} merge;

typedef struct heap {
    merge *v;
    size_t n, cap;
} heap;

/* a before b: higher average, then lower a, then lower b */
static int merge_before(const merge *x, const merge *y)
{
    if (x->avg != y->avg) return x->avg > y->avg;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static int heap_push(heap *h, merge m)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        merge *v = realloc(h->v, cap * sizeof *v);
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!merge_before(&m, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = m;
    return 0;
}

static merge heap_pop(heap *h)
{
    merge top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, b = i;
        const merge *bm = &last;
        if (l < h->n && merge_before(&h->v[l], bm)) b = l, bm = &h->v[l];
        if (r < h->n && merge_before(&h->v[r], bm)) b = r;
        if (b == i) break;
        h->v[i] = h->v[b];
        i = b;
    }
    if (h->n) h->v[i] = last;
    return top;
}

int npsw_signals_cluster(const npsw_signal_spectrum *in, size_t n, const npsw_signal_opts *o,
                         npsw_signal **out, size_t *n_out, npsw_err *err)
{
    *out = NULL;
    *n_out = 0;
    int rc = npsw_signal_opts_check(o, err);
    if (rc < 0) return rc;
    if (n && !in) return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "no input spectra");
    if (n > UINT32_MAX / 2)
        return npsw_err_set(err, NPSW_ELIMIT, NULL, 0, "%zu spectra: too many to cluster", n);
    size_t *el = malloc((n ? n : 1) * sizeof *el);
    if (!el) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i].verdict != NPSW_VERDICT_IN_LIBRARY && in[i].peaks.n > 0) el[m++] = i;
    sort_by_id(el, m, in);
    for (size_t i = 1; i < m; i++)
        if (in[el[i]].id == in[el[i - 1]].id) {
            long long dup = (long long)in[el[i]].id;
            free(el);
            return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                                "spectrum id %lld appears twice in the signal input", dup);
        }
    adj *g = calloc(m ? m : 1, sizeof *g);
    uint32_t *size = malloc((m ? m : 1) * sizeof *size);
    uint32_t *ver = calloc(m ? m : 1, sizeof *ver);
    uint32_t *next = malloc((m ? m : 1) * sizeof *next), *tail = malloc((m ? m : 1) * sizeof *tail);
    unsigned char *alive = malloc(m ? m : 1);
    double *internal = calloc(m ? m : 1, sizeof *internal);
    heap h = {0};
    npsw_signal *sig = NULL;
    size_t nsig = 0;
    size_t *mem = NULL;
    if (!g || !size || !ver || !next || !tail || !alive || !internal) goto nomem;
    /* the similarity graph: row i holds its neighbours j > i, in order */
    int nth = o->threads > 0 ? o->threads : omp_get_max_threads();
    int oom = 0;
#pragma omp parallel for schedule(dynamic, 8) num_threads(nth)
    for (size_t i = 0; i < m; i++) {
        for (size_t j = i + 1; j < m; j++) {
            double s = npsw_signal_similarity(&in[el[i]].peaks, &in[el[j]].peaks, o);
            if (s >= o->edge_min && adj_push(&g[i], (uint32_t)j, s) < 0) {
#pragma omp atomic write
                oom = 1;
            }
        }
    }
    if (oom) goto nomem;
    /* make the graph symmetric: j's list gets i (lists stay sorted: i ascending) */
    {
        uint32_t *deg = calloc(m ? m : 1, sizeof *deg);
        if (!deg) goto nomem;
        for (size_t i = 0; i < m; i++) {
            deg[i] += g[i].n;
            for (uint32_t k = 0; k < g[i].n; k++) deg[g[i].v[k].c]++;
        }
        adj *sym = calloc(m ? m : 1, sizeof *sym);
        if (!sym) {
            free(deg);
            goto nomem;
        }
        for (size_t i = 0; i < m && !oom; i++) {
            sym[i].cap = deg[i] ? deg[i] : 1;
            if (!(sym[i].v = malloc(sym[i].cap * sizeof *sym[i].v))) oom = 1;
        }
        for (size_t i = 0; i < m && !oom; i++)
            for (uint32_t k = 0; k < g[i].n; k++) {
                uint32_t j = g[i].v[k].c;
                sym[j].v[sym[j].n++] = (nbr){(uint32_t)i, g[i].v[k].sum};
            }
        /* then i's own neighbours j > i, after those j < i */
        for (size_t i = 0; i < m && !oom; i++)
            for (uint32_t k = 0; k < g[i].n; k++) sym[i].v[sym[i].n++] = g[i].v[k];
        for (size_t i = 0; i < m; i++) free(g[i].v);
        free(g);
        g = sym;
        free(deg);
        if (oom) goto nomem;
    }
    for (size_t i = 0; i < m; i++) {
        size[i] = 1;
        next[i] = UINT32_MAX;
        tail[i] = (uint32_t)i;
        alive[i] = 1;
        for (uint32_t k = 0; k < g[i].n; k++)
            if (g[i].v[k].c > i && g[i].v[k].sum >= o->link &&
                heap_push(&h, (merge){g[i].v[k].sum, (uint32_t)i, g[i].v[k].c, 0, 0}) < 0)
                goto nomem;
    }
    /* average linkage: merge the best pair while its mean similarity is >= link */
    while (h.n) {
        merge x = heap_pop(&h);
        if (x.avg < o->link) break;
        uint32_t a = x.a, b = x.b;
        if (!alive[a] || !alive[b] || ver[a] != x.va || ver[b] != x.vb) continue;
        /* the merged neighbour list, without a and b */
        adj nl = {0};
        double cross = 0;
        uint32_t p = 0, q = 0;
        while (p < g[a].n || q < g[b].n) {
            uint32_t ca = p < g[a].n ? g[a].v[p].c : UINT32_MAX;
            uint32_t cb = q < g[b].n ? g[b].v[q].c : UINT32_MAX;
            uint32_t c = ca < cb ? ca : cb;
            double s = 0;
            if (ca == c) s += g[a].v[p++].sum;
            if (cb == c) s += g[b].v[q++].sum;
            if (c == b) cross = s;
            else if (c != a && adj_push(&nl, c, s) < 0) {
                free(nl.v);
                goto nomem;
            }
        }
        internal[a] += internal[b] + cross;
        size[a] += size[b];
        free(g[a].v);
        free(g[b].v);
        g[a] = nl;
        g[b] = (adj){0};
        alive[b] = 0;
        ver[a]++;
        next[tail[a]] = b;
        tail[a] = tail[b];
        /* each neighbour's list: drop b, set a */
        for (uint32_t k = 0; k < nl.n; k++) {
            adj *gc = &g[nl.v[k].c];
            int hit;
            uint32_t at = adj_find(gc, b, &hit);
            if (hit) {
                memmove(gc->v + at, gc->v + at + 1, (gc->n - at - 1) * sizeof *gc->v);
                gc->n--;
            }
            at = adj_find(gc, a, &hit);
            if (hit) {
                gc->v[at].sum = nl.v[k].sum;
            } else {
                if (adj_push(gc, 0, 0) < 0) goto nomem;
                memmove(gc->v + at + 1, gc->v + at, (gc->n - 1 - at) * sizeof *gc->v);
                gc->v[at] = (nbr){a, nl.v[k].sum};
            }
            uint32_t c = nl.v[k].c;
            double avg = nl.v[k].sum / ((double)size[a] * (double)size[c]);
            if (avg >= o->link) {
                merge y = a < c ? (merge){avg, a, c, ver[a], ver[c]}
                                : (merge){avg, c, a, ver[c], ver[a]};
                if (heap_push(&h, y) < 0) goto nomem;
            }
        }
    }
    /* the clusters, by their smallest member (the cluster index is its smallest member) */
    size_t cap = 0;
    for (size_t i = 0; i < m; i++) cap += alive[i] && size[i] >= o->min_members;
    sig = calloc(cap ? cap : 1, sizeof *sig);
    mem = malloc((m ? m : 1) * sizeof *mem);
    if (!sig || !mem) goto nomem;
    for (size_t i = 0; i < m; i++) {
        if (!alive[i] || size[i] < o->min_members) continue;
        size_t k = 0;
        for (uint32_t x = (uint32_t)i; x != UINT32_MAX; x = next[x]) mem[k++] = x;
        qsort(mem, k, sizeof *mem, cmp_size);
        for (size_t j = 0; j < k; j++) mem[j] = el[mem[j]];
        double coh = k > 1 ? internal[i] / (0.5 * (double)k * (double)(k - 1)) : 1.0;
        if ((rc = summarise(in, mem, k, o, coh, &sig[nsig], err)) < 0) goto fail;
        nsig++;
    }
    *out = sig;
    *n_out = nsig;
    sig = NULL;
    rc = (int)(nsig > INT32_MAX ? INT32_MAX : nsig);
    goto done;
nomem:
    rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory clustering %zu spectra", m);
fail:
    npsw_signals_free(sig, nsig);
    sig = NULL;
done:
    if (g)
        for (size_t i = 0; i < m; i++) free(g[i].v);
    free(g);
    free(size);
    free(ver);
    free(next);
    free(tail);
    free(alive);
    free(internal);
    free(h.v);
    free(mem);
    free(el);
    return rc;
}

int npsw_signal_reportable(const npsw_signal *s, uint32_t min_labs)
{
    if (min_labs < NPSW_SIGNAL_MIN_LABS_FLOOR) min_labs = NPSW_SIGNAL_MIN_LABS_FLOOR;
    return s && s->n_labs >= min_labs;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static double r4(double x) { return floor(x * 1e4 + 0.5) / 1e4; }

void npsw_signal_day(int64_t t, char buf[16])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) snprintf(buf, 16, "1970-01-01");
    else strftime(buf, 16, "%Y-%m-%d", &tm);
}

char *npsw_signal_json(const npsw_signal *s, int64_t id, const char *status,
                       const npsw_signal_opts *o)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    char d[16], now[32];
    if (id > 0) cJSON_AddNumberToObject(j, "signal_id", (double)id);
    if (status) cJSON_AddStringToObject(j, "status", status);
    cJSON_AddNumberToObject(j, "urgency", floor(s->urgency.score * 100 + 0.5) / 100);
    cJSON *u = cJSON_AddObjectToObject(j, "urgency_parts");
    cJSON_AddNumberToObject(u, "class_weight", r4(s->urgency.class_weight));
    cJSON_AddNumberToObject(u, "spread", r4(s->urgency.spread));
    cJSON_AddNumberToObject(u, "volume", r4(s->urgency.volume));
    cJSON_AddNumberToObject(u, "growth", r4(s->urgency.growth));
    cJSON_AddStringToObject(j, "predicted_class", s->predicted_class);
    cJSON_AddNumberToObject(j, "class_share", r4(s->class_share));
    cJSON_AddBoolToObject(j, "precursor", s->precursor != 0);
    if (s->precursor) cJSON_AddStringToObject(j, "precursor_family", s->precursor_family);
    else cJSON_AddNullToObject(j, "precursor_family");
    cJSON_AddNumberToObject(j, "n_labs", s->n_labs);
    cJSON_AddNumberToObject(j, "n_countries", s->n_countries);
    cJSON *cc = cJSON_AddArrayToObject(j, "countries");
    for (const char *p = s->countries; p[0] && p[1]; p += 3) {
        char code[3] = {p[0], p[1], 0};
        cJSON_AddItemToArray(cc, cJSON_CreateString(code));
        if (p[2] != ',') break;
    }
    cJSON_AddNumberToObject(j, "n_submissions", s->n_submissions);
    cJSON_AddNumberToObject(j, "n_spectra", (double)s->n_members);
    npsw_signal_day(s->first_seen, d);
    cJSON_AddStringToObject(j, "first_seen", d);
    npsw_signal_day(s->last_seen, d);
    cJSON_AddStringToObject(j, "last_seen", d);
    cJSON *t = cJSON_AddObjectToObject(j, "trend");
    cJSON_AddStringToObject(t, "label", s->trend ? s->trend : "");
    cJSON_AddNumberToObject(t, "recent", s->recent);
    cJSON_AddNumberToObject(t, "previous", s->previous);
    if (o) {
        time_t tt = (time_t)o->now;
        struct tm tm;
        if (gmtime_r(&tt, &tm)) strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        else snprintf(now, sizeof now, "1970-01-01T00:00:00Z");
        cJSON_AddNumberToObject(t, "window_days", o->trend_days);
        cJSON_AddStringToObject(t, "reference_utc", now);
    }
    cJSON_AddNumberToObject(j, "cohesion", r4(s->cohesion));
    cJSON *a = cJSON_AddArrayToObject(j, "nearest_analogues");
    for (uint32_t i = 0; i < s->n_analogues; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", s->analogues[i].name);
        cJSON_AddNumberToObject(x, "spectra", s->analogues[i].count);
        cJSON_AddNumberToObject(x, "median_delta_mass", r4(s->analogues[i].median_delta));
        cJSON_AddItemToArray(a, x);
    }
    cJSON *b = cJSON_AddArrayToObject(j, "best_hits");
    for (uint32_t i = 0; i < s->n_best_hits; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", s->best_hits[i].name);
        cJSON_AddNumberToObject(x, "spectra", s->best_hits[i].count);
        cJSON_AddItemToArray(b, x);
    }
    cJSON *h = cJSON_AddArrayToObject(j, "substituents");
    for (uint32_t i = 0; i < s->n_subst; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "label", s->subst[i].label);
        cJSON_AddNumberToObject(x, "delta_mass", r4(s->subst[i].delta));
        cJSON_AddNumberToObject(x, "spectra", s->subst[i].count);
        cJSON_AddItemToArray(h, x);
    }
    cJSON *pk = cJSON_AddArrayToObject(j, "consensus_peaks");
    for (uint32_t i = 0; i < s->n_consensus; i++) {
        cJSON *p = cJSON_CreateArray();
        cJSON_AddItemToArray(p, cJSON_CreateNumber(r4(s->consensus_mz[i])));
        cJSON_AddItemToArray(p, cJSON_CreateNumber(floor(s->consensus_in[i] + 0.5)));
        cJSON_AddItemToArray(pk, p);
    }
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return txt;
}
