/* mion.c - molecular-ion candidates of a nominal EI spectrum (docs/analogues.md).
 *
 * EI spectra of many drugs (amines above all) show a weak molecular ion or none. The rules,
 * in order of the score they give:
 *  1. the highest m/z peak H with intensity >= 0.5 % of the base peak;
 *  2. while the peak one below is at least as intense (at most three steps), the peak is read
 *     as part of the 13C envelope and the lower one proposed first (a molecule with n carbons
 *     has M+1 ~ 1.1 n % of M: below M for n < 90);
 *  3. if the peak two below that is at least 1.5 times it (chlorine 3:1) or within 0.8-1.25 of
 *     it (bromine 1:1), it is read as the M+2 of a halogen and the lower one proposed, ranked
 *     first;
 *  4. H plus common small losses of a molecular ion that is not seen: 15 (CH3), 18 (H2O),
 *     17 (OH), 29 (C2H5/CHO), 31 (OCH3), with decreasing scores.
 * The scores order the candidates; they are not probabilities. */
#include <math.h>

#include "npsw/analogue.h"

static double intensity_at(const npsw_peaks *p, double mz)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (p->mz[i] == mz) return p->in[i];
    return 0;
}

static void add(npsw_mion *out, int *n, int max, double mz, double score, const char *reason)
{
    if (mz <= 0) return;
    for (int i = 0; i < *n; i++)
        if (out[i].mz == mz) {
            if (score > out[i].score) out[i].score = score, out[i].reason = reason;
            return;
        }
    if (*n < max) out[(*n)++] = (npsw_mion){mz, score, reason};
    else if (score > out[max - 1].score) out[max - 1] = (npsw_mion){mz, score, reason};
    for (int i = *n - 1; i > 0 && out[i].score > out[i - 1].score; i--) {
        npsw_mion t = out[i];
        out[i] = out[i - 1];
        out[i - 1] = t;
    }
}

int npsw_molecular_ion(const npsw_peaks *p, npsw_mion *out, int max)
{
    if (!p->n || max <= 0) return 0;
    double base = 0;
    for (uint32_t i = 0; i < p->n; i++)
        if (p->in[i] > base) base = p->in[i];
    double h = 0, ih = 0;
    for (uint32_t i = 0; i < p->n; i++)
        if (p->in[i] >= 0.005 * base && p->mz[i] > h) h = p->mz[i], ih = p->in[i];
    if (h <= 0) return 0;
    int n = 0;
    /* walk down the 13C envelope: M+2 < M+1 < M for molecules below ~90 carbons */
    int steps = 0;
    while (steps < 3 && intensity_at(p, h - 1) >= ih) {
        h -= 1;
        ih = intensity_at(p, h);
        steps++;
    }
    double h0 = h + steps; /* the highest peak itself */
    double i2 = intensity_at(p, h - 2);
    int isotope13 = steps > 0;
    int halogen = i2 >= 1.5 * ih || (i2 >= 0.8 * ih && i2 <= 1.25 * ih);
    if (isotope13) add(out, &n, max, h, 0.9, "highest peaks look like the 13C envelope of M");
    if (halogen) add(out, &n, max, h - 2, 0.95, "peak looks like M+2 (Cl/Br)");
    add(out, &n, max, h0, isotope13 || halogen ? 0.6 : 1.0, "highest peak >= 0.5 % of base");
    static const struct {
        double loss, score;
        const char *reason;
    } losses[] = {{15, 0.5, "M+. absent, highest peak = M - CH3"},
                  {18, 0.4, "M+. absent, highest peak = M - H2O"},
                  {17, 0.35, "M+. absent, highest peak = M - OH"},
                  {29, 0.3, "M+. absent, highest peak = M - C2H5/CHO"},
                  {31, 0.25, "M+. absent, highest peak = M - OCH3"}};
    for (size_t k = 0; k < sizeof losses / sizeof losses[0]; k++)
        add(out, &n, max, h0 + losses[k].loss, losses[k].score, losses[k].reason);
    return n;
}
