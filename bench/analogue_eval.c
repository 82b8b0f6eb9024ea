/* analogue_eval.c - held-out evaluation data for the analogue analysis (docs/analogues.md,
 * "Calibration"): one TSV row of features and truth per query, for bench/analogue_calibrate.py.
 *
 * usage: npsw_analogue_eval LIB.h5 [QUERIES.msp PAIRS.tsv] > rows.tsv
 *
 * LIB.h5 is a real library (SWGDRUG 3.4 from ../shared/data, built by `npswatch build`).
 * Compounds are keyed by InChIKey first block + formula (else lower-case name + formula), so a
 * deuterated standard is its own compound. Query kinds:
 *   out  every library spectrum, with every spectrum of its compound left out of the library
 *        (leave-compound-out): truth "not in library";
 *   in   every spectrum of a compound with two or more spectra, with only that spectrum left out:
 *        truth "in library" (the other contributors' spectra stay);
 *   mb   MassBank EI queries whose InChIKey first block (pairs file) is in the library: "in".
 * For "out" queries, truth_analogue = the remaining library holds a compound of the same drug
 * class (not "other") whose formula differs from the query's by one change of the substituent
 * table (added or removed): a relative as the table and the class rules define them (truth_analogue2: by two changes; almost every compound
 * has such a relative in a library of thousands, so it is reported, not used as truth);
 * truth_isomer = one with the same formula. The analysis runs once with room for the left-out
 * spectra; then the hits and candidates of left-out spectra are removed and npsw_analyse_decide
 * runs on what remains (told to leave them out of the candidates it adds), which equals
 * analysing against the library without them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "npsw/analyse.h"
#include "npsw/classes.h"

#define K 5
#define NEL (NPSW_EL_COUNT + 1) /* the table's elements + "anything else" (P, Si, I, D...) */

typedef struct comp {
    int n[NEL];
    int ok;
} comp;

static comp parse_formula(const char *s)
{
    static const char *el[NPSW_EL_COUNT] = {"C", "H", "N", "O", "F", "S", "Cl", "Br"};
    comp c;
    memset(&c, 0, sizeof c);
    c.ok = *s != '\0';
    while (*s) {
        if (!isupper((unsigned char)*s)) {
            c.ok = 0;
            break;
        }
        char sym[4] = {*s++, 0, 0, 0};
        if (islower((unsigned char)*s)) sym[1] = *s++;
        int num = 0, any = 0;
        while (isdigit((unsigned char)*s)) num = num * 10 + (*s++ - '0'), any = 1;
        if (!any) num = 1;
        int e = NPSW_EL_COUNT;
        for (int i = 0; i < NPSW_EL_COUNT; i++)
            if (!strcmp(sym, el[i])) e = i;
        c.n[e] += e == NPSW_EL_COUNT ? num * 1000 + sym[0] * 7 + sym[1] : num; /* others: distinct */
    }
    return c;
}

/* every composition change of one or two table entries, each added or removed */
static int n_changes, n_single; /* changes[0..n_single) are single table entries */
static int changes[1024][NPSW_EL_COUNT];
static int change_bound[NPSW_EL_COUNT]; /* largest |change| per element */

static void make_changes(void)
{
    const npsw_substituent *t;
    int nt = (int)npsw_substituents(&t);
    for (int i = 0; i < nt; i++)
        for (int s = -1; s <= 1; s += 2) {
            for (int e = 0; e < NPSW_EL_COUNT; e++) changes[n_changes][e] = s * t[i].comp[e];
            n_changes++;
        }
    n_single = n_changes;
    for (int i = 0; i < nt; i++)
        for (int j = i; j < nt; j++)
            for (int si = -1; si <= 1; si += 2)
                for (int sj = -1; sj <= 1; sj += 2) {
                    if (i == j && si != sj) continue;
                    for (int e = 0; e < NPSW_EL_COUNT; e++)
                        changes[n_changes][e] = si * t[i].comp[e] + sj * t[j].comp[e];
                    n_changes++;
                }
    for (int c = 0; c < n_changes; c++)
        for (int e = 0; e < NPSW_EL_COUNT; e++)
            if (abs(changes[c][e]) > change_bound[e]) change_bound[e] = abs(changes[c][e]);
}

/* 1: q - p is one table change; 3: two; 2: same formula; 0: none of these */
static int relation(const comp *q, const comp *p)
{
    if (!q->ok || !p->ok || q->n[NPSW_EL_COUNT] != p->n[NPSW_EL_COUNT]) return 0;
    int d[NPSW_EL_COUNT], zero = 1;
    for (int e = 0; e < NPSW_EL_COUNT; e++) {
        d[e] = q->n[e] - p->n[e];
        zero &= d[e] == 0;
        if (abs(d[e]) > change_bound[e]) return 0;
    }
    if (zero) return 2;
    for (int c = 0; c < n_changes; c++)
        if (!memcmp(d, changes[c], sizeof d)) return c < n_single ? 1 : 3;
    return 0;
}

/* does a hypothesis of the analysis carry the formula change q - p? */
static int subst_has(const npsw_analysis *a, const comp *q, const comp *p)
{
    for (int i = 0; i < a->n_subst; i++) {
        int same = 1;
        for (int e = 0; e < NPSW_EL_COUNT; e++)
            same &= a->subst[i].h.comp[e] == q->n[e] - p->n[e];
        if (same) return 1;
    }
    return 0;
}

typedef struct entry {
    char key[320];
    comp f;
    char cls[NPSW_CLASS_LEN];
    int group; /* compound number */
} entry;

static void make_key(const char *inchikey, const char *name, const char *formula, char *out,
                     size_t size)
{
    if (strlen(inchikey) >= 14) {
        snprintf(out, size, "%.14s|%.127s", inchikey, formula);
    } else {
        char low[96];
        size_t i = 0;
        for (; name[i] && i < sizeof low - 1; i++) low[i] = (char)tolower((unsigned char)name[i]);
        low[i] = '\0';
        snprintf(out, size, "%.95s|%.127s", low, formula);
    }
}

typedef struct query {
    const npsw_spectrum *s;
    const char *kind;
    int truth_in;
    uint64_t self;      /* library index of the query (out/in), or UINT64_MAX */
    int group;          /* compound group left out (out), or -1 */
    comp f;
    char cls[NPSW_CLASS_LEN];
    char key[320];
} query;

static int excluded(const query *q, const entry *e, uint64_t i)
{
    if (!strcmp(q->kind, "out")) return e[i].group == q->group;
    if (!strcmp(q->kind, "in")) return i == q->self;
    return 0;
}

typedef struct excl_ctx {
    const query *q;
    const entry *e;
} excl_ctx;

static int excluded_cb(uint64_t i, void *user)
{
    const excl_ctx *x = user;
    return excluded(x->q, x->e, i);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: npsw_analogue_eval LIB.h5 [QUERIES.msp PAIRS.tsv] > rows.tsv\n");
        return 1;
    }
    npsw_lib *lib = bench_open_lib(argv[1]);
    if (!lib) return 1;
    make_changes();
    uint64_t n = npsw_lib_size(lib);
    entry *e = calloc(n, sizeof *e);
    npsw_spectrum *ls = calloc(n, sizeof *ls);
    int *gsize = calloc(n, sizeof *gsize);
    if (!e || !ls || !gsize) return 1;
    int ngroups = 0;
    for (uint64_t i = 0; i < n; i++) {
        char ik[64], nm[256], fo[128];
        snprintf(ik, sizeof ik, "%s", npsw_lib_meta(lib, i, NPSW_META_INCHIKEY));
        snprintf(nm, sizeof nm, "%s", npsw_lib_meta(lib, i, NPSW_META_NAME));
        snprintf(fo, sizeof fo, "%s", npsw_lib_meta(lib, i, NPSW_META_FORMULA));
        make_key(ik, nm, fo, e[i].key, sizeof e[i].key);
        e[i].f = parse_formula(fo);
        snprintf(e[i].cls, sizeof e[i].cls, "%s", npsw_lib_meta(lib, i, NPSW_META_CLASS));
        e[i].group = -1;
        for (uint64_t j = 0; j < i; j++)
            if (!strcmp(e[j].key, e[i].key)) {
                e[i].group = e[j].group;
                break;
            }
        if (e[i].group < 0) e[i].group = ngroups++;
        gsize[e[i].group]++;
        if (npsw_lib_get_spectrum(lib, i, &ls[i]) < 0) return 1;
    }
    int maxg = 0;
    for (int g = 0; g < ngroups; g++)
        if (gsize[g] > maxg) maxg = gsize[g];

    /* queries */
    npsw_spectra mb = {0};
    size_t cap = 2 * n + 1000, nq = 0;
    query *q = calloc(cap, sizeof *q);
    if (!q) return 1;
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t i = 0; i < n; i++) {
            if (pass == 1 && gsize[e[i].group] < 2) continue;
            query *x = &q[nq++];
            x->s = &ls[i];
            x->kind = pass == 0 ? "out" : "in";
            x->truth_in = pass == 1;
            x->self = i;
            x->group = e[i].group;
            x->f = e[i].f;
            snprintf(x->cls, sizeof x->cls, "%s", e[i].cls);
            snprintf(x->key, sizeof x->key, "%s", e[i].key);
        }
    if (argc == 4) {
        if (bench_load_queries(argv[2], lib, 0, &mb) < 0) return 1;
        FILE *pf = fopen(argv[3], "r");
        if (!pf) {
            perror(argv[3]);
            return 1;
        }
        char line[2048];
        while (fgets(line, sizeof line, pf)) {
            char acc[128], ik14[64];
            if (sscanf(line, "%127[^\t]\t%63[^\t]", acc, ik14) != 2 || !strcmp(acc, "query_accession"))
                continue;
            for (size_t j = 0; j < mb.n; j++) {
                if (strcmp(npsw_spectrum_meta(&mb.v[j], NPSW_META_ACCESSION), acc)) continue;
                int found = 0;
                for (uint64_t i = 0; i < n && !found; i++)
                    found = !strncmp(npsw_lib_meta(lib, i, NPSW_META_INCHIKEY), ik14, 14) &&
                            !strchr(npsw_lib_meta(lib, i, NPSW_META_FORMULA), 'D');
                int dup = 0;
                for (size_t t = 0; t < nq; t++) dup |= q[t].s == &mb.v[j];
                if (!found || dup || nq == cap) continue;
                query *x = &q[nq++];
                x->s = &mb.v[j];
                x->kind = "mb";
                x->truth_in = 1;
                x->self = UINT64_MAX;
                x->group = -1;
                x->f = parse_formula(npsw_spectrum_meta(&mb.v[j], NPSW_META_FORMULA));
                const npsw_spectrum *s = &mb.v[j];
                snprintf(x->cls, sizeof x->cls, "%s",
                         npsw_classify(npsw_spectrum_meta(s, NPSW_META_NAME),
                                       npsw_spectrum_meta(s, NPSW_META_SYNONYMS), NULL));
                snprintf(x->key, sizeof x->key, "mb:%s", ik14);
            }
        }
        fclose(pf);
    }
    fprintf(stderr, "analogue_eval: %llu library spectra, %d compounds (largest %d spectra), %zu "
                    "queries\n",
            (unsigned long long)n, ngroups, maxg, nq);

    /* analyse with room for the left-out spectra, then filter and decide again */
    npsw_analyse_opts o = npsw_analyse_opts_default();
    o.k = K + (uint32_t)maxg;
    if (o.k > NPSW_ANALYSE_MAX_K) o.k = NPSW_ANALYSE_MAX_K;
    npsw_spectrum *qs = calloc(nq, sizeof *qs);
    npsw_analysis *res = calloc(nq, sizeof *res);
    if (!qs || !res) return 1;
    for (size_t i = 0; i < nq; i++) qs[i] = *q[i].s; /* shallow: read only */
    npsw_err err;
    npsw_err_clear(&err);
    double t0 = bench_now();
    if (npsw_analyse(lib, qs, nq, &o, res, &err) < 0) {
        fprintf(stderr, "analogue_eval: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "analogue_eval: analysed in %.1f s\n", bench_now() - t0);
    npsw_analyse_opts od = o;
    od.k = K;
    printf("kind\tkey\tname\tquery_class\ttruth_in\ttruth_analogue\ttruth_isomer\tverdict"
           "\tconfidence\tp_in\tp_analogue\tid_score\tid_mf\tid_rmf\tan_score\tan_gain"
           "\tan_explained\tan_shift\tan_shifted_share\tclass_share\tclass_top\tpredicted_class"
           "\tclass_correct\tanalogue_related\tsubst_true_in_top3\tbest_is_isomer\ttruth_analogue2"
           "\tclass_drug\tclass_drug_share\n");
    npsw_analyser *an = npsw_analyser_new(lib, &err);
    npsw_analyse_scratch *sc = an ? npsw_analyse_scratch_new(an) : NULL;
    if (!sc) {
        fprintf(stderr, "analogue_eval: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nq; i++) {
        npsw_analysis *a = &res[i];
        uint32_t m = 0;
        for (uint32_t j = 0; j < a->n_hits; j++)
            if (!excluded(&q[i], e, a->hits[j].index) && m < K) a->hits[m++] = a->hits[j];
        a->n_hits = m;
        m = 0;
        for (uint32_t j = 0; j < a->n_cands; j++)
            if (!excluded(&q[i], e, a->cands[j].index) && m < K) a->cands[m++] = a->cands[j];
        a->n_cands = m;
        excl_ctx xc = {&q[i], e};
        npsw_analyse_decide(an, sc, q[i].s, &od, excluded_cb, &xc, a);
        int t_an = 0, t_iso = 0, t_an2 = 0;
        if (!q[i].truth_in)
            for (uint64_t j = 0; j < n; j++) {
                if (excluded(&q[i], e, j)) continue;
                int r = relation(&q[i].f, &e[j].f);
                /* a relative: one table change away, and of the same drug class */
                t_an |= r == 1 && strcmp(q[i].cls, "other") == 0 ? 0
                        : r == 1 && strcmp(q[i].cls, e[j].cls) == 0;
                t_an2 |= r == 3;
                t_iso |= r == 2;
            }
        npsw_analysis_features ft;
        npsw_analysis_features_get(a, &ft);
        int related = -1, sub3 = -1, best_iso = -1;
        if (a->has_analogue) {
            const comp *pf = &e[a->analogue.index].f;
            int r = relation(&q[i].f, pf);
            related = r == 1 || r == 3;
            if (related) sub3 = subst_has(a, &q[i].f, pf);
        }
        if (a->n_hits) best_iso = relation(&q[i].f, &e[a->hits[0].index].f) == 2;
        printf("%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f"
               "\t%.1f\t%.5f\t%.5f\t%.5f\t%.5f\t%s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.5f\n",
               q[i].kind, q[i].key, npsw_spectrum_meta(q[i].s, NPSW_META_NAME), q[i].cls,
               q[i].truth_in, t_an, t_iso, npsw_verdict_name(a->verdict), a->confidence,
               a->p_in_library, a->p_analogue, ft.id_score, ft.id_mf, ft.id_rmf, ft.an_score,
               ft.an_gain, ft.an_explained, ft.an_shift, ft.an_shifted_share, ft.class_share,
               ft.class_top, a->predicted_class, !strcmp(a->predicted_class, q[i].cls), related,
               sub3, best_iso, t_an2, ft.class_drug, ft.class_drug_share);
    }
    npsw_analyse_scratch_free(sc);
    npsw_analyser_free(an);
    for (uint64_t i = 0; i < n; i++) npsw_spectrum_free(&ls[i]);
    npsw_spectra_free(&mb);
    free(ls);
    free(e);
    free(gsize);
    free(q);
    free(qs);
    free(res);
    npsw_lib_free(lib);
    return 0;
}
