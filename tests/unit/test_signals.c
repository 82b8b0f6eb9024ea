/* test_signals.c - emerging signals and advisories (npsw/signals.h, npsw/advisory.h,
 * npsw/ledger_signals.h; docs/signals.md, docs/advisory.md).
 *
 * Real spectra: records of the bundled SWGDRUG 3.4 DEA files (spectra_db/data/swgdrug_3.4_dea.msp
 * and the withheld examples/emerging.msp):
 * the three fluorofentanyls, cathinones and synthetic cannabinoids. The laboratories, countries,
 * submission ids and times attached to them here are CONSTRUCTED for the tests (no laboratory
 * submitted them). Consensus spectra, the chaining guard and the trend are checked against
 * values worked out by hand in the comments.
 */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "npsw/advisory.h"
#include "npsw/classes.h"
#include "npsw/clean.h"
#include "npsw/config.h"
#include "npsw/io.h"
#include "npsw/ledger.h"
#include "npsw/ledger_signals.h"
#include "npsw/plot.h"
#include "npsw/signals.h"

#define DAY 86400
#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

/* constructed laboratory and submission ids: distinctive numbers, searched for in outputs */
#define LAB_A 7770001
#define LAB_B 7770002
#define LAB_C 7770003
#define SUB0 8880000

/* ---- the bundled spectra ------------------------------------------------------------------- */

typedef struct world {
    npsw_spectra dea; /* cleaned, classified */
    char tmp[256];
} world;

static const npsw_spectrum *by_name(const world *w, const char *name)
{
    for (size_t i = 0; i < w->dea.n; i++)
        if (!strcmp(npsw_spectrum_meta(&w->dea.v[i], NPSW_META_NAME), name)) return &w->dea.v[i];
    print_error("no bundled record named '%s'\n", name);
    fail();
    return NULL;
}

static npsw_peaks peaks_of(const npsw_spectrum *s)
{
    return (npsw_peaks){s->mz, s->intensity, s->n};
}

static int setup(void **state)
{
    const char *td = getenv("NPSW_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/../../spectra_db/data/swgdrug_3.4_dea.msp",
             td ? td : "tests/data");
    world *w = calloc(1, sizeof *w);
    if (!w) return -1;
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_read_file(path, &ro, 1, &w->dea, NULL, &e) < 0) {
        fprintf(stderr, "cannot read the bundled library %s: %s\n", path, e.msg);
        free(w);
        return -1;
    }
    /* the fluorofentanyls are withheld from the bundled library (examples/emerging.msp) */
    snprintf(path, sizeof path, "%s/../../spectra_db/data/examples/emerging.msp",
             td ? td : "tests/data");
    if (npsw_read_file(path, &ro, 1, &w->dea, NULL, &e) < 0) {
        fprintf(stderr, "cannot read the bundled examples %s: %s\n", path, e.msg);
        return -1;
    }
    npsw_clean_opts co = npsw_clean_opts_default();
    for (size_t i = 0; i < w->dea.n; i++)
        if (npsw_clean(&w->dea.v[i], &co, NULL) < 0) return -1;
    if (npsw_classify_spectra(w->dea.v, w->dea.n) < 0) return -1;
    const char *base = getenv("TMPDIR");
    snprintf(w->tmp, sizeof w->tmp, "%s/npsw_test_signals.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(w->tmp)) return -1;
    *state = w;
    return 0;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        rm_rf(p);
    }
    closedir(d);
    rmdir(path);
}

static int teardown(void **state)
{
    world *w = *state;
    if (!w) return 0;
    rm_rf(w->tmp);
    npsw_spectra_free(&w->dea);
    free(w);
    return 0;
}

/* ---- synthetic spectra ----------------------------------------------------------------------- */

typedef struct syn {
    double mz[64];
    float in[64];
    uint32_t n;
} syn;

static npsw_peaks sview(const syn *s) { return (npsw_peaks){s->mz, s->in, s->n}; }

static npsw_signal_spectrum member(int64_t id, npsw_peaks p, int64_t lab, const char *cc,
                                   int64_t t, const char *cls)
{
    npsw_signal_spectrum x;
    memset(&x, 0, sizeof x);
    x.id = id;
    x.peaks = p;
    x.lab = lab;
    x.submission = SUB0 + id;
    snprintf(x.country, sizeof x.country, "%s", cc);
    x.t = t;
    x.verdict = NPSW_VERDICT_UNKNOWN;
    x.predicted_class = cls;
    return x;
}

/* ---- consensus (hand-checked) ----------------------------------------------------------------- */

static void test_consensus_hand(void **state)
{
    (void)state;
    /* A: 50:999 60:500 70:100
     * B: 50:400 60:499.5 80:150 (base 499.5: relative 50:800 60:999 80:300)
     * C: 50:999 70:200 90:50
     * present in >= half of 3 (>= 1.5, i.e. 2): 50 (3x: 999, 800, 999 -> median 999),
     * 60 (2x: 500, 999 -> median 749.5), 70 (2x: 100, 200 -> 150); 80 and 90 once: dropped.
     * Base 999 stays 999; 749.5 rounds to 750. */
    syn a = {{50, 60, 70}, {999, 500, 100}, 3};
    syn b = {{50, 60, 80}, {400, 499.5f, 150}, 3};
    syn c = {{50, 70, 90}, {999, 200, 50}, 3};
    npsw_peaks v[3] = {sview(&a), sview(&b), sview(&c)};
    double *mz;
    float *in;
    int n = npsw_signal_consensus(v, 3, 0.5, &mz, &in, NULL);
    assert_int_equal(n, 3);
    assert_true(mz[0] == 50 && mz[1] == 60 && mz[2] == 70);
    assert_true(in[0] == 999 && in[1] == 750 && in[2] == 150);
    free(mz);
    free(in);

    /* two spectra (half = 1: every peak): 100: median(999, 600) = 799.5, 110: 400, 120: 999;
     * the base is 120 (999): 100 -> 800 (799.5 rounds up), 110 -> 400, 120 -> 999 */
    syn d = {{100, 110}, {999, 400}, 2};
    syn e = {{100, 120}, {600, 999}, 2};
    npsw_peaks w2[2] = {sview(&d), sview(&e)};
    n = npsw_signal_consensus(w2, 2, 0.5, &mz, &in, NULL);
    assert_int_equal(n, 3);
    assert_true(mz[0] == 100 && in[0] == 800);
    assert_true(mz[1] == 110 && in[1] == 400);
    assert_true(mz[2] == 120 && in[2] == 999);
    free(mz);
    free(in);

    /* rescaling to the new base and dropping what rounds to 0: base peaks disagree, so the
     * medians are 40: median(999, 0.2*999... ) -- f: 40:999 41:0.3, g: 40:999 41:0.3 ->
     * 41 has relative 0.3 in both, median 0.3, rounds to 0: dropped */
    syn f = {{40, 41}, {999, 0.3f}, 2};
    syn g = {{40, 41}, {999, 0.3f}, 2};
    npsw_peaks w3[2] = {sview(&f), sview(&g)};
    n = npsw_signal_consensus(w3, 2, 0.5, &mz, &in, NULL);
    assert_int_equal(n, 1);
    assert_true(mz[0] == 40 && in[0] == 999);
    free(mz);
    free(in);

    /* share 1: only the peaks all spectra have (50 of A, B, C) */
    n = npsw_signal_consensus(v, 3, 1.0, &mz, &in, NULL);
    assert_int_equal(n, 1);
    assert_true(mz[0] == 50 && in[0] == 999);
    free(mz);
    free(in);
}

/* ---- the chaining guard ------------------------------------------------------------------------ */

/* 20 peaks of equal intensity at m/z 100, 110, ... from index `first`: with weights sqrt(I)
 * (mz_power 0) the cosine of two such spectra is (shared peaks) / 20. */
static void ladder(syn *s, int first)
{
    s->n = 20;
    for (int i = 0; i < 20; i++) {
        s->mz[i] = 100 + 10 * (first + i);
        s->in[i] = 999;
    }
}

static void test_chaining_guard(void **state)
{
    (void)state;
    /* A = 0..19, B = 2..21, C = 4..23: A~B 0.9, B~C 0.9, A~C 0.8. At link 0.86, A and B merge
     * (0.9; the tie with B~C goes to the lower index); {A,B} with C averages (0.8+0.9)/2 = 0.85
     * < 0.86: C stays out. Single linkage (connected components) would chain all three. */
    syn a, b, c;
    ladder(&a, 0);
    ladder(&b, 2);
    ladder(&c, 4);
    npsw_signal_spectrum in[3] = {member(1, sview(&a), LAB_A, "DE", NOW, "other"),
                                  member(2, sview(&b), LAB_B, "FR", NOW, "other"),
                                  member(3, sview(&c), LAB_C, "NL", NOW, "other")};
    npsw_signal_opts o = npsw_signal_opts_default();
    o.params.mz_power = 0;
    o.link = 0.86;
    o.now = NOW;
    assert_true(fabs(npsw_signal_similarity(&in[0].peaks, &in[1].peaks, &o) - 0.9) < 1e-9);
    assert_true(fabs(npsw_signal_similarity(&in[0].peaks, &in[2].peaks, &o) - 0.8) < 1e-9);
    npsw_signal *s;
    size_t n;
    assert_int_equal(npsw_signals_cluster(in, 3, &o, &s, &n, NULL), 1);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].n_members, 2);
    assert_true(s[0].member_id[0] == 1 && s[0].member_id[1] == 2);
    assert_true(fabs(s[0].cohesion - 0.9) < 1e-9);
    npsw_signals_free(s, n);
    /* at link 0.85 the average 0.85 is enough: one signal of three */
    o.link = 0.85;
    assert_int_equal(npsw_signals_cluster(in, 3, &o, &s, &n, NULL), 1);
    assert_int_equal(s[0].n_members, 3);
    assert_true(fabs(s[0].cohesion - (0.9 + 0.9 + 0.8) / 3) < 1e-9);
    assert_string_equal(s[0].countries, "DE,FR,NL");
    npsw_signals_free(s, n);
}

/* ---- real spectra ------------------------------------------------------------------------------ */

static const char *const FENT[] = {"p-Fluorofentanyl", "meta-Fluorofentanyl", "o-Fluorofentanyl"};
static const char *const CATH[] = {"Mephedrone",   "Methylone",   "Methcathinone", "4-Ethylmethcathinone",
                                   "2-Fluoromethcathinone", "3-Fluoromethcathinone", "Cathinone"};
static const char *const CANN[] = {"JWH-018", "JWH-073", "JWH-133", "5-Chloro-UR-144",
                                   "5-Bromo-UR-144", "JWH-180"};
#define NF 3
#define NC (sizeof CATH / sizeof *CATH)
#define NK (sizeof CANN / sizeof *CANN)
#define NREAL (NF + NC + NK + 1)

/* The constructed submissions: fluorofentanyls from three laboratories in two countries (the
 * analogue analysis' answer for them, docs/analogues.md: Fentanyl, +18, +F-for-H), cathinones
 * and cannabinoids spread over the same laboratories, and one more p-fluorofentanyl whose
 * verdict is in_library (it must stay out). ids 1.. in this order. */
static size_t real_input(const world *w, npsw_signal_spectrum *in, const char **group)
{
    static const int64_t labs[3] = {LAB_A, LAB_B, LAB_C};
    static const char *const cc[3] = {"DE", "FR", "DE"};
    size_t n = 0;
    for (size_t i = 0; i < NF; i++) {
        const npsw_spectrum *s = by_name(w, FENT[i]);
        in[n] = member((int64_t)n + 1, peaks_of(s), labs[i], cc[i], NOW - (int64_t)(1 + 2 * i) * DAY,
                       npsw_spectrum_meta(s, NPSW_META_CLASS));
        in[n].verdict = NPSW_VERDICT_ANALOGUE;
        in[n].analogue_name = "Fentanyl";
        in[n].analogue_delta = 18.0;
        in[n].best_name = "1-Benzyl-4-phenyliminopiperidine";
        in[n].substituents = "+F-for-H (+17.991);-O +Cl-for-H (+17.966)";
        group[n++] = "fentanyl";
    }
    for (size_t i = 0; i < NC; i++) {
        const npsw_spectrum *s = by_name(w, CATH[i]);
        in[n] = member((int64_t)n + 1, peaks_of(s), labs[i % 3], cc[i % 3], NOW - 40 * DAY,
                       npsw_spectrum_meta(s, NPSW_META_CLASS));
        group[n++] = "cathinone";
    }
    for (size_t i = 0; i < NK; i++) {
        const npsw_spectrum *s = by_name(w, CANN[i]);
        in[n] = member((int64_t)n + 1, peaks_of(s), labs[(i + 1) % 3], cc[(i + 1) % 3],
                       NOW - 10 * DAY, npsw_spectrum_meta(s, NPSW_META_CLASS));
        group[n++] = "cannabinoid";
    }
    const npsw_spectrum *s = by_name(w, "p-Fluorofentanyl");
    in[n] = member((int64_t)n + 1, peaks_of(s), LAB_A, "DE", NOW, "fentanyl");
    in[n].verdict = NPSW_VERDICT_IN_LIBRARY;
    group[n++] = "fentanyl";
    return n;
}

static const npsw_signal *signal_with(const npsw_signal *s, size_t n, int64_t id)
{
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < s[k].n_members; j++)
            if (s[k].member_id[j] == id) return &s[k];
    return NULL;
}

static void test_real_clusters(void **state)
{
    world *w = *state;
    npsw_signal_spectrum in[NREAL];
    const char *group[NREAL];
    size_t n = real_input(w, in, group);
    assert_int_equal(n, NREAL);
    npsw_signal_opts o = npsw_signal_opts_default();
    o.now = NOW;
    npsw_signal *s;
    size_t ns;
    assert_true(npsw_signals_cluster(in, n, &o, &s, &ns, NULL) >= 1);
    /* the three fluorofentanyls are one signal, and only they */
    const npsw_signal *f = signal_with(s, ns, 1);
    assert_non_null(f);
    assert_int_equal(f->n_members, 3);
    assert_true(f->member_id[0] == 1 && f->member_id[1] == 2 && f->member_id[2] == 3);
    assert_true(f->cohesion > 0.95); /* positional isomers: near-identical EI spectra */
    assert_int_equal(f->n_labs, 3);
    assert_int_equal(f->n_submissions, 3);
    assert_int_equal(f->n_countries, 2);
    assert_string_equal(f->countries, "DE,FR");
    assert_string_equal(f->predicted_class, "fentanyl");
    assert_true(f->class_share == 1.0);
    assert_false(f->precursor);
    assert_int_equal(f->n_analogues, 1);
    assert_string_equal(f->analogues[0].name, "Fentanyl");
    assert_int_equal(f->analogues[0].count, 3);
    assert_true(f->analogues[0].median_delta == 18.0);
    assert_int_equal(f->n_subst, 2);
    assert_string_equal(f->subst[0].label, "+F-for-H");
    assert_true(fabs(f->subst[0].delta - 17.991) < 1e-9);
    assert_int_equal(f->subst[0].count, 3);
    assert_int_equal(f->n_best_hits, 1);
    assert_int_equal(f->recent, 3);
    assert_int_equal(f->previous, 0);
    assert_string_equal(f->trend, "new");
    assert_true(f->first_seen == NOW - 5 * DAY && f->last_seen == NOW - DAY);
    assert_true(f->n_consensus > 50);
    /* every member is close to the consensus */
    for (size_t j = 0; j < f->n_members; j++) assert_true(f->member_sim[j] > 0.9);
    /* the in_library p-fluorofentanyl is in no signal */
    assert_null(signal_with(s, ns, (int64_t)n));
    /* unrelated classes are never merged */
    for (size_t k = 0; k < ns; k++)
        for (size_t j = 1; j < s[k].n_members; j++)
            assert_string_equal(group[s[k].member_id[j] - 1], group[s[k].member_id[0] - 1]);
    npsw_signals_free(s, ns);
}

static int signals_equal(const npsw_signal *a, size_t na, const npsw_signal *b, size_t nb,
                         const npsw_signal_opts *o)
{
    if (na != nb) return 0;
    for (size_t k = 0; k < na; k++) {
        if (a[k].n_members != b[k].n_members || a[k].n_consensus != b[k].n_consensus) return 0;
        if (memcmp(a[k].member_id, b[k].member_id, a[k].n_members * sizeof *a[k].member_id) ||
            memcmp(a[k].member_sim, b[k].member_sim, a[k].n_members * sizeof *a[k].member_sim) ||
            memcmp(a[k].consensus_mz, b[k].consensus_mz, a[k].n_consensus * sizeof(double)) ||
            memcmp(a[k].consensus_in, b[k].consensus_in, a[k].n_consensus * sizeof(float)) ||
            a[k].cohesion != b[k].cohesion || a[k].urgency.score != b[k].urgency.score)
            return 0;
        char *ja = npsw_signal_json(&a[k], 1, "open", o), *jb = npsw_signal_json(&b[k], 1, "open", o);
        int same = ja && jb && !strcmp(ja, jb);
        free(ja);
        free(jb);
        if (!same) return 0;
    }
    return 1;
}

static void test_determinism(void **state)
{
    world *w = *state;
    npsw_signal_spectrum in[NREAL], rev[NREAL];
    const char *group[NREAL];
    size_t n = real_input(w, in, group);
    for (size_t i = 0; i < n; i++) rev[i] = in[n - 1 - i];
    npsw_signal_opts o = npsw_signal_opts_default();
    o.now = NOW;
    o.threads = 1;
    npsw_signal *a, *b, *c;
    size_t na, nb, nc;
    assert_true(npsw_signals_cluster(in, n, &o, &a, &na, NULL) >= 0);
    o.threads = 2;
    assert_true(npsw_signals_cluster(rev, n, &o, &b, &nb, NULL) >= 0);
    assert_true(npsw_signals_cluster(in, n, &o, &c, &nc, NULL) >= 0);
    assert_true(signals_equal(a, na, b, nb, &o));
    assert_true(signals_equal(a, na, c, nc, &o));
    /* signals come ordered by their smallest member id */
    for (size_t k = 1; k < na; k++) assert_true(a[k - 1].member_id[0] < a[k].member_id[0]);
    npsw_signals_free(a, na);
    npsw_signals_free(b, nb);
    npsw_signals_free(c, nc);
}

/* ---- privacy ------------------------------------------------------------------------------------ */

static void test_privacy(void **state)
{
    world *w = *state;
    npsw_signal_spectrum in[NREAL];
    const char *group[NREAL];
    size_t n = real_input(w, in, group);
    npsw_signal_opts o = npsw_signal_opts_default();
    o.now = NOW;
    /* the fluorofentanyls from two laboratories only: 2 labs, reportable at 2, not at 3 */
    in[2].lab = LAB_A;
    in[2].country[0] = 'D', in[2].country[1] = 'E';
    npsw_signal *s;
    size_t ns;
    assert_true(npsw_signals_cluster(in, n, &o, &s, &ns, NULL) >= 1);
    const npsw_signal *f = signal_with(s, ns, 1);
    assert_non_null(f);
    assert_int_equal(f->n_labs, 2);
    assert_true(npsw_signal_reportable(f, 2));
    assert_false(npsw_signal_reportable(f, 3));
    /* a threshold under 2 is taken as 2 */
    npsw_signal one = *f;
    one.n_labs = 1;
    assert_false(npsw_signal_reportable(&one, 1));
    assert_false(npsw_signal_reportable(&one, 0));
    /* what is reported names no laboratory or submission id */
    char *j = npsw_signal_json(f, 5, "open", &o);
    assert_non_null(j);
    char num[32];
    for (int64_t id = LAB_A; id <= LAB_C; id++) {
        snprintf(num, sizeof num, "%" PRId64, id);
        assert_null(strstr(j, num));
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(num, sizeof num, "%" PRId64, in[i].submission);
        assert_null(strstr(j, num));
    }
    assert_null(strstr(j, "member"));
    free(j);
    npsw_signals_free(s, ns);
}

/* ---- trend and urgency ------------------------------------------------------------------------- */

static void test_trend(void **state)
{
    (void)state;
    syn a = {{50, 60}, {999, 500}, 2};
    npsw_signal_opts o = npsw_signal_opts_default();
    o.now = NOW;
    /* window 30 days: recent = (now - 30d, ...], previous = (now - 60d, now - 30d] */
    struct {
        int64_t t[4];
        size_t n;
        uint32_t recent, previous;
        const char *trend;
    } cases[] = {
        {{NOW - 1 * DAY, NOW - 2 * DAY}, 2, 2, 0, "new"},
        {{NOW - 1 * DAY, NOW - 40 * DAY}, 2, 1, 1, "steady"},
        {{NOW - 1 * DAY, NOW - 2 * DAY, NOW - 40 * DAY}, 3, 2, 1, "rising"},
        {{NOW - 1 * DAY, NOW - 40 * DAY, NOW - 50 * DAY}, 3, 1, 2, "falling"},
        {{NOW - 70 * DAY, NOW - 90 * DAY}, 2, 0, 0, "dormant"},
        {{NOW - 30 * DAY, NOW - 60 * DAY}, 2, 0, 1, "falling"}, /* boundaries: both excluded */
        {{NOW + 5 * DAY, NOW - 31 * DAY}, 2, 1, 1, "steady"},   /* later than now: recent */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        npsw_signal_spectrum in[4];
        for (size_t i = 0; i < cases[c].n; i++)
            in[i] = member((int64_t)i + 1, sview(&a), LAB_A + (int64_t)i, "DE", cases[c].t[i], "other");
        npsw_signal s;
        assert_int_equal(npsw_signal_summarise(in, cases[c].n, &o, &s, NULL), 0);
        assert_int_equal(s.recent, cases[c].recent);
        assert_int_equal(s.previous, cases[c].previous);
        assert_string_equal(s.trend, cases[c].trend);
        npsw_signal_free(&s);
    }
}

static void test_urgency(void **state)
{
    (void)state;
    /* more laboratories, countries or submissions never lower the score */
    const char *classes[] = {"other", "cathinone", "fentanyl", "precursor:fentanyl", "nitazene"};
    for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
        double prev = -1;
        for (uint32_t labs = 1; labs <= 12; labs++) {
            npsw_signal_urgency u = npsw_signal_urgency_of(classes[c], labs, 1, labs, 1, 0);
            assert_true(u.score >= prev);
            prev = u.score;
            assert_true(npsw_signal_urgency_of(classes[c], labs, 2, labs, 1, 0).score > u.score);
            assert_true(npsw_signal_urgency_of(classes[c], labs, 1, labs + 5, 1, 0).score > u.score);
        }
        /* growth: more recent detections (same previous) never lower it */
        prev = -1;
        for (uint32_t r = 0; r <= 10; r++) {
            double x = npsw_signal_urgency_of(classes[c], 3, 2, 3, r, 2).score;
            assert_true(x >= prev);
            prev = x;
        }
    }
    /* a potent class ranks higher at equal spread: fentanyl and nitazene highest */
    npsw_signal_urgency f = npsw_signal_urgency_of("fentanyl", 3, 2, 3, 3, 0);
    npsw_signal_urgency o = npsw_signal_urgency_of("other", 3, 2, 3, 3, 0);
    npsw_signal_urgency ca = npsw_signal_urgency_of("cathinone", 3, 2, 3, 3, 0);
    npsw_signal_urgency ni = npsw_signal_urgency_of("nitazene", 3, 2, 3, 3, 0);
    npsw_signal_urgency pf = npsw_signal_urgency_of("precursor:fentanyl", 3, 2, 3, 3, 0);
    assert_true(f.score > ca.score && ca.score > o.score);
    assert_true(ni.score == f.score);
    assert_true(pf.class_weight == 1.5 && pf.score > o.score && pf.score < f.score);
    assert_true(npsw_signal_class_weight("precursor:cathinone") == 1.0); /* floor */
    assert_true(npsw_signal_class_weight("no such class") == 1.0);
    /* hand-computed: fentanyl, 3 labs, 2 countries, 3 submissions, 3 recent, 0 before:
     * 3 * (log2 4 + log2 2 + 0.25 log2 4) * sqrt(4) = 3 * 3.5 * 2 = 21 */
    assert_true(fabs(f.score - 21.0) < 1e-12);
    assert_true(fabs(f.spread - 3.0) < 1e-12 && fabs(f.volume - 0.5) < 1e-12 && f.growth == 2.0);

    /* the same on whole signals: the fluorofentanyl members from 2 labs, then 3 */
    syn a = {{50, 60}, {999, 500}, 2};
    npsw_signal_spectrum in[3] = {member(1, sview(&a), LAB_A, "DE", NOW - DAY, "fentanyl"),
                                  member(2, sview(&a), LAB_A, "DE", NOW - DAY, "fentanyl"),
                                  member(3, sview(&a), LAB_B, "DE", NOW - DAY, "fentanyl")};
    npsw_signal_opts op = npsw_signal_opts_default();
    op.now = NOW;
    npsw_signal s2, s3, so;
    assert_int_equal(npsw_signal_summarise(in, 3, &op, &s2, NULL), 0);
    in[1].lab = LAB_C;
    assert_int_equal(npsw_signal_summarise(in, 3, &op, &s3, NULL), 0);
    assert_int_equal(s2.n_labs, 2);
    assert_int_equal(s3.n_labs, 3);
    assert_true(s3.urgency.score >= s2.urgency.score);
    for (int i = 0; i < 3; i++) in[i].predicted_class = "other";
    assert_int_equal(npsw_signal_summarise(in, 3, &op, &so, NULL), 0);
    assert_true(s3.urgency.score > so.urgency.score);
    npsw_signal_free(&s2);
    npsw_signal_free(&s3);
    npsw_signal_free(&so);
}

static void test_class_vote(void **state)
{
    (void)state;
    syn a = {{50, 60}, {999, 500}, 2};
    npsw_signal_opts o = npsw_signal_opts_default();
    o.now = NOW;
    /* 2 precursor:fentanyl, 1 other: a precursor signal */
    npsw_signal_spectrum in[4] = {member(1, sview(&a), LAB_A, "DE", NOW, "precursor:fentanyl"),
                                  member(2, sview(&a), LAB_B, "FR", NOW, "precursor:fentanyl"),
                                  member(3, sview(&a), LAB_C, "BE", NOW, "other"),
                                  member(4, sview(&a), LAB_C, "BE", NOW, "cathinone")};
    npsw_signal s;
    assert_int_equal(npsw_signal_summarise(in, 3, &o, &s, NULL), 0);
    assert_string_equal(s.predicted_class, "precursor:fentanyl");
    assert_true(s.precursor);
    assert_string_equal(s.precursor_family, "fentanyl");
    assert_true(fabs(s.class_share - 2.0 / 3.0) < 1e-12);
    npsw_signal_free(&s);
    /* a tie between "other" and a drug class goes to the drug class */
    in[0].predicted_class = "other";
    in[1].predicted_class = "cathinone";
    assert_int_equal(npsw_signal_summarise(in, 2, &o, &s, NULL), 0);
    assert_string_equal(s.predicted_class, "cathinone");
    assert_false(s.precursor);
    npsw_signal_free(&s);
}

static void test_bad_input(void **state)
{
    (void)state;
    syn a = {{50, 60}, {999, 500}, 2};
    npsw_signal_spectrum in[2] = {member(1, sview(&a), LAB_A, "DE", NOW, "other"),
                                  member(1, sview(&a), LAB_B, "FR", NOW, "other")};
    npsw_signal_opts o = npsw_signal_opts_default();
    npsw_signal *s;
    size_t n;
    npsw_err e;
    assert_int_equal(npsw_signals_cluster(in, 2, &o, &s, &n, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "twice"));
    in[1].id = 2;
    o.score = NPSW_SCORE_RMF;
    assert_int_equal(npsw_signals_cluster(in, 2, &o, &s, &n, &e), NPSW_EINVAL);
    o = npsw_signal_opts_default();
    o.link = 1.5;
    assert_int_equal(npsw_signal_opts_check(&o, &e), NPSW_EINVAL);
    o = npsw_signal_opts_default();
    o.edge_min = 0.9;
    assert_int_equal(npsw_signal_opts_check(&o, &e), NPSW_EINVAL);
    o = npsw_signal_opts_default();
    assert_int_equal(npsw_signal_summarise(in, 0, &o, &(npsw_signal){0}, &e), NPSW_EINVAL);
    /* nothing to cluster: no signal, no error */
    assert_int_equal(npsw_signals_cluster(NULL, 0, &o, &s, &n, &e), 0);
    assert_int_equal(n, 0);
    npsw_signals_free(s, n);
}

/* ---- advisories ------------------------------------------------------------------------------ */

static int font_available(void)
{
    npsw_font *f = npsw_font_open(NULL, NULL);
    npsw_font_free(f);
    return f != NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = '\0';
    fclose(f);
    return b;
}

static void test_advisory_files(void **state)
{
    world *w = *state;
    if (!font_available()) skip();
    npsw_signal_spectrum in[NREAL];
    const char *group[NREAL];
    real_input(w, in, group);
    npsw_signal_opts o = npsw_signal_opts_default();
    o.now = NOW;
    npsw_signal s;
    assert_int_equal(npsw_signal_summarise(in, NF, &o, &s, NULL), 0);
    const npsw_spectrum *fent = by_name(w, "Fentanyl");
    npsw_advisory_ref ref;
    memset(&ref, 0, sizeof ref);
    ref.name = "Fentanyl";
    ref.cls = "fentanyl";
    ref.index = 42;
    ref.peaks = peaks_of(fent);
    npsw_peaks cons = {s.consensus_mz, s.consensus_in, s.n_consensus};
    npsw_score_params sp = npsw_score_params_default();
    sp.nominal = 1;
    npsw_score_pair(&cons, &ref.peaks, &sp, &ref.scores);
    ref.has_delta = 1;
    ref.delta = 18.0;
    npsw_advisory a = {.key = "NPSW-ADV-2026-0001",
                       .version = 1,
                       .state = "draft",
                       .issued_utc = "2026-01-01T00:00:00Z",
                       .issuer = "npswatch test",
                       .signal_id = 1,
                       .signal = &s,
                       .signal_opts = &o,
                       .min_labs = 2,
                       .lib_name = "DEA test",
                       .lib_version = "1",
                       .lib_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                       .ref = &ref,
                       .ref_basis = "the most frequent analogue of the member spectra",
                       .hits = &ref,
                       .n_hits = 1};
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/adv", w->tmp);
    assert_int_equal(npsw_advisory_write(&a, dir, 0, NULL), 0);
    static const char *const files[] = {"advisory.json", "advisory.md", "mirror.png", "timeline.png"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        char *b = slurp(path);
        assert_non_null(b);
        if (i >= 2) assert_memory_equal(b, "\x89PNG\r\n\x1a\n", 8);
        /* no laboratory or submission id anywhere */
        char num[32];
        for (int64_t id = LAB_A; id <= LAB_C; id++) {
            snprintf(num, sizeof num, "%" PRId64, id);
            assert_null(strstr(b, num));
        }
        snprintf(num, sizeof num, "%d", SUB0 / 10); /* submission ids 888000x */
        assert_null(strstr(b, num));
        if (i == 0) {
            cJSON *j = cJSON_Parse(b);
            assert_non_null(j);
            assert_string_equal(cJSON_GetObjectItem(j, "schema")->valuestring, "npswatch-advisory/1");
            cJSON *sig = cJSON_GetObjectItem(j, "signal");
            assert_int_equal(cJSON_GetObjectItem(sig, "n_labs")->valueint, 3);
            cJSON *cc = cJSON_GetObjectItem(sig, "countries");
            assert_int_equal(cJSON_GetArraySize(cc), 2);
            assert_string_equal(cJSON_GetArrayItem(cc, 1)->valuestring, "FR");
            cJSON *cs = cJSON_GetObjectItem(j, "consensus_spectrum");
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cs, "peaks")), (int)s.n_consensus);
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cs, "top_peaks")), 10);
            cJSON *r = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "library_comparison"), "reference");
            assert_string_equal(cJSON_GetObjectItem(r, "name")->valuestring, "Fentanyl");
            assert_true(cJSON_GetObjectItem(r, "delta_mass")->valuedouble == 18.0);
            assert_string_equal(cJSON_GetObjectItem(j, "disclaimer")->valuestring,
                                "library search results, not identifications");
            cJSON_Delete(j);
        }
        if (i == 1) {
            assert_non_null(strstr(b, "Library search results, not identifications"));
            assert_non_null(strstr(b, "DE,FR"));
            assert_non_null(strstr(b, "Fentanyl (3 spectra, median ΔM +18.0 Da)"));
            assert_non_null(strstr(b, "+F-for-H"));
            assert_non_null(strstr(b, "![Mirror plot](mirror.png)"));
            assert_non_null(strstr(b, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
            assert_null(strstr(b, "precursor of"));
        }
        free(b);
    }
    /* never overwritten without force; the old files stay */
    npsw_err e;
    a.version = 2;
    assert_int_equal(npsw_advisory_write(&a, dir, 0, &e), NPSW_EINVAL);
    snprintf(path, sizeof path, "%s/advisory.json", dir);
    char *b = slurp(path);
    assert_non_null(strstr(b, "\"version\":\t1"));
    free(b);
    /* with force: replaced */
    assert_int_equal(npsw_advisory_write(&a, dir, 1, &e), 0);
    b = slurp(path);
    assert_non_null(strstr(b, "\"version\":\t2"));
    free(b);
    /* a directory that is not an advisory is not replaced, even with force */
    char other[560];
    snprintf(other, sizeof other, "%s/notes", w->tmp);
    assert_int_equal(mkdir(other, 0755), 0);
    snprintf(path, sizeof path, "%s/keep.txt", other);
    FILE *f = fopen(path, "w");
    fputs("keep", f);
    fclose(f);
    assert_int_equal(npsw_advisory_write(&a, other, 1, &e), NPSW_EINVAL);
    b = slurp(path);
    assert_string_equal(b, "keep");
    free(b);
    /* no temporary directory is left behind */
    DIR *d = opendir(w->tmp);
    struct dirent *de;
    while ((de = readdir(d))) assert_null(strstr(de->d_name, ".tmp-"));
    closedir(d);
    /* a precursor signal says so */
    for (size_t i = 0; i < NF; i++) in[i].predicted_class = "precursor:fentanyl";
    npsw_signal p;
    assert_int_equal(npsw_signal_summarise(in, NF, &o, &p, NULL), 0);
    a.signal = &p;
    char *md = NULL, *js = NULL;
    assert_int_equal(npsw_advisory_markdown(&a, 1, &md, NULL), 0);
    assert_non_null(strstr(md, "precursor of fentanyl"));
    assert_non_null(strstr(md, "designer precursor"));
    assert_int_equal(npsw_advisory_json(&a, 1, &js, NULL), 0);
    cJSON *j = cJSON_Parse(js);
    cJSON *sub = cJSON_GetObjectItem(j, "substance");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(sub, "precursor")));
    assert_string_equal(cJSON_GetObjectItem(sub, "precursor_family")->valuestring, "fentanyl");
    assert_string_equal(cJSON_GetObjectItem(sub, "class_statement")->valuestring,
                        "precursor of fentanyl");
    cJSON_Delete(j);
    free(md);
    free(js);
    npsw_signal_free(&p);
    /* the same input gives the same bytes */
    char *j1 = NULL, *j2 = NULL;
    a.signal = &s;
    assert_int_equal(npsw_advisory_json(&a, 1, &j1, NULL), 0);
    assert_int_equal(npsw_advisory_json(&a, 1, &j2, NULL), 0);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    npsw_signal_free(&s);
}

/* ---- the ledger ------------------------------------------------------------------------------- */

static int64_t add_lab(npsw_ledger *l, const char *name, const char *cc)
{
    int64_t id;
    char tok[NPSW_LEDGER_TOKEN_LEN + 1];
    assert_int_equal(npsw_ledger_lab_add(l, name, cc, NPSW_ROLE_LAB, "test", &id, tok, NULL), 0);
    return id;
}

#define LIBSHA "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

/* One submitted file of `n` bundled spectra with their (constructed) analysis results. */
static void submit(npsw_ledger *l, int64_t lab, const world *w, const char *const *names,
                   const char *const *verdicts, const char *const *classes, size_t n,
                   const char *file)
{
    npsw_spectrum sp[4];
    npsw_ledger_result res[4];
    npsw_ledger_spectrum ls[4];
    for (size_t i = 0; i < n; i++) {
        npsw_spectrum_init(&sp[i]);
        assert_int_equal(npsw_spectrum_copy(&sp[i], by_name(w, names[i])), 0);
        memset(&res[i], 0, sizeof res[i]);
        res[i].run_json = "{}";
        res[i].analysis_json = "{}";
        res[i].verdict = verdicts[i];
        res[i].predicted_class = classes[i];
        res[i].best_index = 1;
        res[i].best_name = "1-Benzyl-4-phenyliminopiperidine";
        if (!strcmp(classes[i], "fentanyl")) {
            res[i].analogue_index = 7;
            res[i].analogue_name = "Fentanyl";
            res[i].analogue_delta = 18.0;
            res[i].substituents = "+F-for-H (+17.991)";
        }
        ls[i] = (npsw_ledger_spectrum){&sp[i], (uint32_t)i + 1, NPSW_SPECTRUM_ANALYSED, &res[i]};
    }
    char actor[32];
    snprintf(actor, sizeof actor, "lab:%lld", (long long)lab);
    npsw_ledger_submission sub = {.lab_id = lab,
                                  .actor = actor,
                                  .file_name = file,
                                  .bytes = file,
                                  .len = strlen(file),
                                  .format = "msp",
                                  .report_json = "{}",
                                  .library_name = "test library",
                                  .library_version = "1",
                                  .library_sha256 = LIBSHA,
                                  .library_path = "/nonexistent/test.h5",
                                  .spectra = ls,
                                  .n_spectra = n};
    int64_t id;
    npsw_err e;
    int rc = npsw_ledger_submit(l, &sub, &id, &e);
    if (rc < 0) print_error("submit: %s\n", e.msg);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < n; i++) npsw_spectrum_free(&sp[i]);
}

static int64_t sql_int(npsw_ledger *l, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(npsw_ledger_db(l), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int writer_ok(void *user, const char *key, int version, const char *supersedes, char **json,
                     npsw_err *err)
{
    (void)err;
    char *buf = malloc(256);
    snprintf(buf, 256, "{\"key\":\"%s\",\"version\":%d,\"supersedes\":\"%s\"}", key, version,
             supersedes ? supersedes : "");
    *json = buf;
    (*(int *)user)++;
    return 0;
}

static int writer_fail(void *user, const char *key, int version, const char *supersedes,
                       char **json, npsw_err *err)
{
    (void)user, (void)key, (void)version, (void)supersedes, (void)json;
    return npsw_err_set(err, NPSW_EIO, "dir", 0, "disk full (test)");
}

static void test_ledger_signals(void **state)
{
    world *w = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/ledger.db", w->tmp);
    npsw_err e;
    npsw_ledger *l = npsw_ledger_open(path, NPSW_LEDGER_CREATE, "test", NULL, &e);
    assert_non_null(l);
    int64_t la = add_lab(l, "Secret Lab Alpha", "DE");
    int64_t lb = add_lab(l, "Secret Lab Beta", "FR");
    int64_t lc = add_lab(l, "Secret Lab Gamma", "DE");
    const char *an[] = {"analogue", "in_library"}, *cl[] = {"fentanyl", "cathinone"};
    submit(l, la, w, (const char *[]){"p-Fluorofentanyl", "Mephedrone"}, an, cl, 2, "a.msp");
    submit(l, lb, w, (const char *[]){"meta-Fluorofentanyl", "Methylone"}, an, cl, 2, "b.msp");
    /* only two laboratories so far */
    npsw_signal_opts o = npsw_signal_opts_default();
    o.now = (int64_t)time(NULL);
    npsw_ledger_signal *sig;
    size_t ns;
    npsw_ledger_signals_report rep;
    assert_int_equal(npsw_ledger_signals_update(l, &o, "cli:test", &sig, &ns, &rep, &e), 0);
    assert_int_equal(rep.n_candidates, 2);
    assert_int_equal(ns, 1);
    assert_int_equal(rep.n_new, 1);
    int64_t id = sig[0].id;
    assert_string_equal(sig[0].status, "open");
    assert_int_equal(sig[0].sig.n_labs, 2);
    npsw_ledger_signals_free(sig, ns);
    /* the third laboratory: the same signal (stable id), now with 3 members */
    submit(l, lc, w, (const char *[]){"o-Fluorofentanyl", "JWH-018"}, (const char *[]){"analogue", "unknown"},
           (const char *[]){"fentanyl", "cannabinoid"}, 2, "c.msp");
    assert_int_equal(npsw_ledger_signals_update(l, &o, "cli:test", &sig, &ns, &rep, &e), 0);
    assert_int_equal(rep.n_candidates, 4);
    assert_int_equal(ns, 1);
    assert_int_equal(sig[0].id, id);
    assert_int_equal(rep.n_changed, 1);
    assert_int_equal(rep.n_new, 0);
    assert_int_equal(sig[0].sig.n_labs, 3);
    assert_string_equal(sig[0].sig.countries, "DE,FR");
    npsw_ledger_signals_free(sig, ns);
    /* once more: unchanged */
    assert_int_equal(npsw_ledger_signals_update(l, &o, "cli:test", &sig, &ns, &rep, &e), 0);
    assert_int_equal(rep.n_unchanged, 1);
    assert_int_equal(sig[0].id, id);
    npsw_ledger_signals_free(sig, ns);
    /* the stored row and members */
    assert_int_equal(sql_int(l, "SELECT count(*) FROM signal_members"), 3);
    assert_int_equal(sql_int(l, "SELECT n_labs FROM signals"), 3);
    assert_int_equal(sql_int(l, "SELECT count(*) FROM audit_log WHERE action = 'signals.update'"), 3);
    assert_int_equal(sql_int(l, "SELECT count(*) FROM signals WHERE details_json LIKE '%Secret%' "
                                "OR countries LIKE '%Secret%' OR details_json LIKE '%lab_id%'"),
                     0);
    assert_int_equal(sql_int(l, "SELECT length(consensus_peaks) % 12 FROM signals"), 0);
    /* one signal read back, with its library */
    npsw_ledger_signal one;
    npsw_ledger_signal_library lib;
    assert_int_equal(npsw_ledger_signal_get(l, id, &o, &one, &lib, &e), 0);
    assert_int_equal(one.sig.n_members, 3);
    assert_string_equal(lib.sha256, LIBSHA);
    assert_string_equal(lib.file_path, "/nonexistent/test.h5");
    assert_int_equal(lib.n_members, 3);
    assert_int_equal(lib.analogue_index, 7);
    npsw_signal_free(&one.sig);
    free(lib.file_path);
    assert_int_equal(npsw_ledger_signal_get(l, id + 100, &o, &one, NULL, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "no signal"));
    /* advisories: versions, supersedes, the signal advised, audited; a failing writer leaves
     * nothing */
    int calls = 0;
    npsw_ledger_advisory_rec rec;
    assert_int_equal(npsw_ledger_advisory_create(l, id, 2026, "adv", "cli:test", writer_fail, NULL,
                                                 &rec, &e),
                     NPSW_EIO);
    assert_false(rec.files_written);
    assert_int_equal(sql_int(l, "SELECT count(*) FROM advisories"), 0);
    assert_int_equal(npsw_ledger_advisory_create(l, id, 2026, "adv", "cli:test", writer_ok, &calls,
                                                 &rec, &e),
                     0);
    char key[64];
    snprintf(key, sizeof key, "NPSW-ADV-2026-%04lld", (long long)id);
    assert_string_equal(rec.key, key);
    assert_int_equal(rec.version, 1);
    assert_int_equal(rec.supersedes_id, 0);
    assert_int_equal(npsw_ledger_advisory_create(l, id, 2027, "adv2", "cli:test", writer_ok, &calls,
                                                 &rec, &e),
                     0);
    assert_string_equal(rec.key, key); /* the key stays */
    assert_int_equal(rec.version, 2);
    assert_true(rec.supersedes_id > 0);
    assert_int_equal(calls, 2);
    assert_int_equal(sql_int(l, "SELECT count(*) FROM advisories WHERE state = 'draft'"), 2);
    assert_int_equal(sql_int(l, "SELECT count(*) FROM signals WHERE status = 'advised'"), 1);
    assert_int_equal(sql_int(l, "SELECT count(*) FROM audit_log WHERE action = 'advisory.create'"), 2);
    assert_int_equal(npsw_ledger_advisory_create(l, id + 100, 2026, "x", "cli:test", writer_ok,
                                                 &calls, &rec, &e),
                     NPSW_EINVAL);
    /* an update keeps the advised status */
    assert_int_equal(npsw_ledger_signals_update(l, &o, "cli:test", &sig, &ns, &rep, &e), 0);
    assert_string_equal(sig[0].status, "advised");
    npsw_ledger_signals_free(sig, ns);
    /* the members re-analysed as in_library (a newer result): the signal is closed */
    assert_int_equal(sqlite3_exec(npsw_ledger_db(l),
                                  "INSERT INTO results (spectrum_id, created_utc, npswatch_version, "
                                  "library_sha256, run_json, verdict, confidence, p_in_library, "
                                  "p_analogue, analysis_json) SELECT spectrum_id, "
                                  "'2026-01-01T00:00:00Z', 'test', '" LIBSHA "', '{}', "
                                  "'in_library', 0.9, 0.9, 0, '{}' FROM signal_members",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(npsw_ledger_signals_update(l, &o, "cli:test", &sig, &ns, &rep, &e), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(rep.n_closed, 1);
    npsw_ledger_signals_free(sig, ns);
    assert_int_equal(sql_int(l, "SELECT count(*) FROM signals WHERE status = 'closed'"), 1);
    /* the audit chain still verifies */
    npsw_audit_report ar;
    assert_int_equal(npsw_ledger_audit_verify(l, NULL, &ar, &e), 0);
    npsw_ledger_close(l);
}

/* ---- real data: how well the default similarity and threshold separate substances ---- */

/* On ../shared/data (skipped when absent, and in unoptimised builds: 6 million pairs): the 2,988
 * SWGDRUG 3.4 spectra and the 457 MassBank EI queries clustered together as if every one were
 * an unknown from its own laboratory. Same compound = same first InChIKey block (deuterated
 * standards left out). Reported: the share of same-compound pairs from different contributors
 * (SWGDRUG-SWGDRUG: different laboratories, mostly quadrupole GC-MS; MassBank-SWGDRUG:
 * different instruments, TOF and Orbitrap spectra rounded to nominal mass) that end up in one
 * signal, and how many co-clustered pairs have different formulas (different substances, not
 * isomers). docs/signals.md, "Choosing the similarity and the threshold", has the table; with
 * NPSW_SIGNAL_GRID=1 this test prints the whole grid that table comes from. */
typedef struct eval_set {
    npsw_spectra sp;
    size_t nsw;
    npsw_signal_spectrum *in;
    char (*ik)[15];
    char (*src)[32];
} eval_set;

static void eval_run(const eval_set *es, const npsw_signal_opts *o, double *sw, double *mb,
                     double *impure, long *bad)
{
    size_t n = es->sp.n;
    npsw_signal *s;
    size_t ns;
    assert_true(npsw_signals_cluster(es->in, n, o, &s, &ns, NULL) >= 0);
    size_t *cl = malloc(n * sizeof *cl);
    for (size_t i = 0; i < n; i++) cl[i] = SIZE_MAX - i;
    for (size_t k = 0; k < ns; k++)
        for (size_t j = 0; j < s[k].n_members; j++) cl[s[k].member_id[j] - 1] = k;
    long swp = 0, swh = 0, mbp = 0, mbh = 0, co = 0, cob = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int same = es->ik[i][0] && !strcmp(es->ik[i], es->ik[j]);
            if (same && strcmp(es->src[i], es->src[j]) && (i < es->nsw || j < es->nsw)) {
                if (j >= es->nsw) mbp++, mbh += cl[i] == cl[j];
                else swp++, swh += cl[i] == cl[j];
            }
            if (cl[i] == cl[j]) {
                co++;
                if (!same && strcmp(npsw_spectrum_meta(&es->sp.v[i], NPSW_META_FORMULA),
                                    npsw_spectrum_meta(&es->sp.v[j], NPSW_META_FORMULA)))
                    cob++;
            }
        }
    *sw = (double)swh / (double)swp;
    *mb = (double)mbh / (double)mbp;
    *impure = co ? (double)cob / (double)co : 0;
    *bad = cob;
    free(cl);
    npsw_signals_free(s, ns);
}

static void test_shared_data(void **state)
{
    (void)state;
    if (!strcmp(NPSW_BUILD_TYPE, "Debug")) skip();
    const char *sd = getenv("NPSW_SHARED_DATA");
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s/swgdrug/swgdrug_v3.4.msp", sd ? sd : "../shared/data");
    snprintf(p2, sizeof p2, "%s/massbank_ei/massbank_ei_dev_queries.msp", sd ? sd : "../shared/data");
    if (access(p1, R_OK) || access(p2, R_OK)) skip();
    eval_set es;
    memset(&es, 0, sizeof es);
    npsw_read_opts ro = npsw_read_opts_default();
    assert_true(npsw_read_file(p1, &ro, 0, &es.sp, NULL, NULL) > 0);
    es.nsw = es.sp.n;
    assert_true(npsw_read_file(p2, &ro, 0, &es.sp, NULL, NULL) > 0);
    size_t n = es.sp.n;
    npsw_clean_opts co = npsw_clean_opts_default();
    es.in = calloc(n, sizeof *es.in);
    es.ik = calloc(n, sizeof *es.ik);
    es.src = calloc(n, sizeof *es.src);
    for (size_t i = 0; i < n; i++) {
        npsw_spectrum *x = &es.sp.v[i];
        assert_true(npsw_clean(x, &co, NULL) >= 0);
        es.in[i] = member((int64_t)i + 1, peaks_of(x), (int64_t)i, "DE", NOW, "other");
        snprintf(es.ik[i], sizeof es.ik[i], "%.14s", npsw_spectrum_meta(x, NPSW_META_INCHIKEY));
        if (strchr(npsw_spectrum_meta(x, NPSW_META_FORMULA), 'D')) es.ik[i][0] = '\0';
        if (i >= es.nsw) snprintf(es.src[i], sizeof es.src[i], "MassBank");
        else sscanf(npsw_spectrum_meta(x, NPSW_META_COMMENTS), "%31s", es.src[i]);
    }
    double sw, mb, imp;
    long bad;
    npsw_signal_opts o = npsw_signal_opts_default();
    o.now = NOW;
    if (getenv("NPSW_SIGNAL_GRID")) {
        static const struct {
            npsw_score_kind k;
            double mzp, link;
        } grid[] = {{NPSW_SCORE_COSINE, 1, 0.80},   {NPSW_SCORE_COSINE, 1, 0.85},
                    {NPSW_SCORE_COSINE, 1, 0.90},   {NPSW_SCORE_COSINE, 1.5, 0.80},
                    {NPSW_SCORE_COSINE, 1.5, 0.85}, {NPSW_SCORE_COSINE, 2, 0.78},
                    {NPSW_SCORE_COSINE, 2, 0.80},   {NPSW_SCORE_COSINE, 2, 0.82},
                    {NPSW_SCORE_COSINE, 2, 0.85},   {NPSW_SCORE_COSINE, 3, 0.80},
                    {NPSW_SCORE_WMF, 1, 0.70},      {NPSW_SCORE_WMF, 1, 0.75},
                    {NPSW_SCORE_WMF, 1, 0.80},      {NPSW_SCORE_MF, 0.5, 0.75},
                    {NPSW_SCORE_MF, 0.5, 0.80},     {NPSW_SCORE_ENTROPY, 1, 0.80}};
        for (size_t g = 0; g < sizeof grid / sizeof *grid; g++) {
            npsw_signal_opts x = o;
            x.score = grid[g].k;
            if (grid[g].k == NPSW_SCORE_WMF) x.params.wmf_mz_power = grid[g].mzp;
            else x.params.mz_power = grid[g].mzp;
            x.link = grid[g].link;
            eval_run(&es, &x, &sw, &mb, &imp, &bad);
            printf("| %s | %g | %.2f | %.3f | %.3f | %ld (%.3f) |\n", npsw_score_name(x.score),
                   grid[g].mzp, x.link, sw, mb, bad, imp);
        }
    }
    eval_run(&es, &o, &sw, &mb, &imp, &bad);
    printf("defaults (%s, mz^%g, link %.2f): same compound in one signal: SWGDRUG-SWGDRUG %.3f, "
           "MassBank-SWGDRUG %.3f; co-clustered pairs of different formulas %ld (%.3f)\n",
           npsw_score_name(o.score), o.params.mz_power, o.link, sw, mb, bad, imp);
    /* measured 2026-11-26: 0.969, 0.759, 1960 (0.452); fail on a clear regression */
    assert_true(sw >= 0.95);
    assert_true(mb >= 0.74);
    assert_true(imp <= 0.50);
    free(es.in);
    free(es.ik);
    free(es.src);
    npsw_spectra_free(&es.sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consensus_hand),
        cmocka_unit_test(test_chaining_guard),
        cmocka_unit_test(test_real_clusters),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_privacy),
        cmocka_unit_test(test_trend),
        cmocka_unit_test(test_urgency),
        cmocka_unit_test(test_class_vote),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_advisory_files),
        cmocka_unit_test(test_ledger_signals),
        cmocka_unit_test(test_shared_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
