/* substituent.c - the substituent table and the ranking of changes that explain a mass
 * difference (docs/analogues.md). Masses are monoisotopic, computed from the element masses
 * below so the table is checkable: H 1.0078250319, C 12, N 14.0030740052, O 15.9949146221,
 * F 18.99840320, S 31.97207069, Cl 34.96885271, Br 78.9183376. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "npsw/analogue.h"

#define M_H 1.0078250319
#define M_C 12.0
#define M_N 14.0030740052
#define M_O 15.9949146221
#define M_F 18.99840320
#define M_S 31.97207069
#define M_CL 34.96885271
#define M_BR 78.9183376

static const npsw_substituent table[] = {
    {"CH2", "homologue: one more methylene (e.g. methyl -> ethyl)", M_C + 2 * M_H,
     {1, 2, 0, 0, 0, 0, 0, 0}},
    {"O", "oxygen inserted (hydroxy for H, or an ether/N-oxide)", M_O,
     {0, 0, 0, 1, 0, 0, 0, 0}},
    {"F-for-H", "fluorine in place of hydrogen", M_F - M_H, {0, -1, 0, 0, 1, 0, 0, 0}},
    {"Cl-for-H", "chlorine in place of hydrogen", M_CL - M_H, {0, -1, 0, 0, 0, 0, 1, 0}},
    {"Br-for-H", "bromine in place of hydrogen", M_BR - M_H, {0, -1, 0, 0, 0, 0, 0, 1}},
    {"CH2O", "methoxy in place of hydrogen (OCH3 for H)", M_C + 2 * M_H + M_O,
     {1, 2, 0, 1, 0, 0, 0, 0}},
    /* O-CH2-O bridging two ring positions: + O2CH2, - 2 H = + C + 2 O */
    {"OCH2O-for-2H", "methylenedioxy ring in place of two hydrogens", M_C + 2 * M_O,
     {1, 0, 0, 2, 0, 0, 0, 0}},
    {"CF3-for-H", "trifluoromethyl in place of hydrogen", M_C + 3 * M_F - M_H,
     {1, -1, 0, 0, 3, 0, 0, 0}},
    {"beta-keto", "beta-keto: C=O in place of CH2 (cathinone from amphetamine)", M_O - 2 * M_H,
     {0, -2, 0, 1, 0, 0, 0, 0}},
    {"thiophene-for-benzene", "thiophene ring in place of a benzene ring (S for CH=CH)",
     M_S - 2 * M_C - 2 * M_H, {-2, -2, 0, 0, 0, 1, 0, 0}},
    {"NO2-for-H", "nitro in place of hydrogen", M_N + 2 * M_O - M_H, {0, -1, 1, 2, 0, 0, 0, 0}},
};

size_t npsw_substituents(const npsw_substituent **t)
{
    if (t) *t = table;
    return sizeof table / sizeof table[0];
}

/* order: error, then fewer terms, then table order (encoded in `rank`) */
typedef struct cand {
    npsw_delta_hypothesis h;
    int rank;
} cand;

static int better(const cand *a, const cand *b)
{
    /* errors closer than 1e-6 Da are equal: sums of table masses differ in the last bits */
    if (fabs(a->h.error - b->h.error) > 1e-6) return a->h.error < b->h.error;
    if (a->h.n_terms != b->h.n_terms) return a->h.n_terms < b->h.n_terms;
    return a->rank < b->rank;
}

static void offer(cand *best, int *n, int max, const cand *c)
{
    int i = *n < max ? (*n)++ : max;
    if (i == max) {
        if (!better(c, &best[max - 1])) return;
        i = max - 1;
    }
    while (i > 0 && better(c, &best[i - 1])) {
        best[i] = best[i - 1];
        i--;
    }
    best[i] = *c;
}

static int matches(double observed, double delta, double tol, int nominal, double *err)
{
    if (nominal) {
        if (lround(observed) != lround(delta)) return 0;
        *err = 0;
        return 1;
    }
    *err = fabs(observed - delta);
    return *err <= tol;
}

int npsw_explain_delta(double observed, double tol_da, int nominal, npsw_delta_hypothesis *out,
                       int max)
{
    if (max <= 0 || !isfinite(observed)) return 0;
    enum { CAP = 64 };
    cand best[CAP];
    int n = 0, keep = max < CAP ? max : CAP;
    const int nt = (int)(sizeof table / sizeof table[0]);
    static const int signs[2] = {+1, -1};
    /* singles */
    for (int i = 0; i < nt; i++)
        for (int si = 0; si < 2; si++) {
            cand c;
            memset(&c, 0, sizeof c);
            c.h.delta = signs[si] * table[i].delta;
            if (!matches(observed, c.h.delta, tol_da, nominal, &c.h.error)) continue;
            snprintf(c.h.label, sizeof c.h.label, "%c%s", signs[si] > 0 ? '+' : '-', table[i].label);
            c.h.n_terms = 1;
            for (int e = 0; e < NPSW_EL_COUNT; e++)
                c.h.comp[e] = (signed char)(signs[si] * table[i].comp[e]);
            c.rank = i * 2 + si;
            offer(best, &n, keep, &c);
        }
    /* pairs i <= j, each added or removed */
    for (int i = 0; i < nt; i++)
        for (int j = i; j < nt; j++)
            for (int si = 0; si < 2; si++)
                for (int sj = 0; sj < 2; sj++) {
                    if (i == j && si != sj) continue; /* +X -X is no change */
                    cand c;
                    memset(&c, 0, sizeof c);
                    c.h.delta = signs[si] * table[i].delta + signs[sj] * table[j].delta;
                    if (!matches(observed, c.h.delta, tol_da, nominal, &c.h.error)) continue;
                    snprintf(c.h.label, sizeof c.h.label, "%c%s %c%s", signs[si] > 0 ? '+' : '-',
                             table[i].label, signs[sj] > 0 ? '+' : '-', table[j].label);
                    c.h.n_terms = 2;
                    for (int e = 0; e < NPSW_EL_COUNT; e++)
                        c.h.comp[e] = (signed char)(signs[si] * table[i].comp[e] +
                                                    signs[sj] * table[j].comp[e]);
                    c.rank = 1000 + ((i * nt + j) * 2 + si) * 2 + sj;
                    offer(best, &n, keep, &c);
                }
    for (int k = 0; k < n; k++) out[k] = best[k].h;
    return n;
}
