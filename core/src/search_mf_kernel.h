/* search_mf_kernel.h - the body of the dense-bin kernels, included by search_mf.c once per SIMD
 * level with KERNEL_NAME and KERNEL_ATTR defined. Plain C written so that the compiler can
 * vectorise it (no branches: selects); see the lane layout in search_mf.c. */

KERNEL_ATTR __attribute__((noinline)) static void KERNEL_NAME(const dense_args *restrict g)
{
    const uint32_t n = g->n;
    const float *restrict wl = g->wl, *restrict lam = g->lam, *restrict lam_a = g->lam_a;
    const float *restrict lam_a2 = g->lam_a2;
    const uint8_t *restrict code = g->code, *restrict dpa = g->dpa, *restrict dpa2 = g->dpa2;
    const float *restrict tab = g->tab, *restrict tabc = g->tabc;
    float *restrict acc = g->acc, *restrict srm = g->srm, *restrict sm = g->sm;
    float *restrict xll = g->xll, *restrict xuu = g->xuu, *restrict nuu = g->nuu;
    float *restrict n2 = g->n2, *restrict nm = g->nm;
    const float wq = g->wq, xuu_add = g->xuu_add, kap = g->kap, mz = g->mz;
    const int qc = g->qc, dq = g->dq;
    const float qcf = qc ? 1.0f : 0.0f;
    /* masks as 0/1 floats: straight-line code that the compiler turns into vector selects */
    if (g->cos) { /* cosine: the dot product only */
        NPSW_IVDEP
        for (uint32_t s = 0; s < n; s++) {
            const float present = (float)((code[s] >> 7) & 1);
            nm[s] += present;
            acc[s] += present * (wq * wl[s]);
        }
    } else if (g->simple && qc) {
        /* the common case: as below with the query peak counted, so every lane present is a
         * counted pair and nothing goes to xuu or nuu */
        NPSW_IVDEP
        for (uint32_t s = 0; s < n; s++) {
            const int c = code[s], dl = c & LANE_DIST;
            const float present = (float)((c >> 7) & 1), counted = (float)((c >> 6) & 1);
            const float w = wl[s];
            nm[s] += present;
            acc[s] += present * (wq * w);
            xll[s] += present * (1.0f - counted) * (w * w);
            const float same = (float)(dl == dq), after = (float)(dl == 0) + (float)(dl > dq);
            const float at1 = (float)(dpa[s] == dq), at2 = (float)(dpa2[s] == dq);
            const float r3 = kap * (at1 * lam_a[s] + (1.0f - at1) * at2 * lam_a2[s]);
            const float rr = same * (kap * lam[s]) + after * r3;
            const float has = present * (float)(rr > 0.0f);
            const float lt = (float)(rr < 1.0f);
            const float r = lt * rr + (1.0f - lt) * (1.0f / (rr > 1.0f ? rr : 1.0f));
            srm[s] += has * (mz * r);
            sm[s] += has * mz;
            n2[s] += has;
        }
    } else if (g->simple) {
        /* MF, WMF, the query having no peak between this one and its previous counted peak:
         * a ratio term needs the library's previous counted peak at the same place (R = kap
         * lam), or none after the query's and one at or below the threshold there */
        NPSW_IVDEP
        for (uint32_t s = 0; s < n; s++) {
            const int c = code[s], dl = c & LANE_DIST;
            const float present = (float)((c >> 7) & 1), counted = (float)((c >> 6) & 1);
            const float e = present * (qcf > counted ? qcf : counted);
            const float w = wl[s];
            nm[s] += present;
            acc[s] += e * (wq * w);
            nuu[s] += present - e;
            xll[s] += e * (1.0f - counted) * (w * w);
            xuu[s] += e * xuu_add;
            const float same = (float)(dl == dq), after = (float)(dl == 0) + (float)(dl > dq);
            const float at1 = (float)(dpa[s] == dq), at2 = (float)(dpa2[s] == dq);
            const float r3 = kap * (at1 * lam_a[s] + (1.0f - at1) * at2 * lam_a2[s]);
            const float rr = same * (kap * lam[s]) + after * r3;
            const float has = e * (float)(rr > 0.0f);
            const float lt = (float)(rr < 1.0f);
            const float r = lt * rr + (1.0f - lt) * (1.0f / (rr > 1.0f ? rr : 1.0f));
            srm[s] += has * (mz * r);
            sm[s] += has * mz;
            n2[s] += has;
        }
    } else if (!g->rmf) {
        NPSW_IVDEP
        for (uint32_t s = 0; s < n; s++) {
            const int c = code[s], dl = c & LANE_DIST;
            const float present = (float)((c >> 7) & 1), counted = (float)((c >> 6) & 1);
            const float e = present * (qcf > counted ? qcf : counted); /* a pair with a side counted */
            const float w = wl[s];
            nm[s] += present;
            acc[s] += e * (wq * w);
            nuu[s] += present - e;
            xll[s] += e * (1.0f - counted) * (w * w);
            xuu[s] += e * xuu_add;
            /* previous counted peaks: the library's at or after the query's (tab is 0 where the
             * query has no peak or beyond its previous counted one), else the query's, where
             * the library needs one of its peaks at or below the threshold (the second
             * nearest: R unknown, 1 is an upper bound of the term) */
            const float r12 = tab[dl] * lam[s];
            const float at1 = (float)(dpa[s] == dq), at2 = (float)(dpa2[s] == dq);
            const float r3 = kap * (at1 * lam_a[s] + (1.0f - at1) * at2 * lam_a2[s]);
            const float use12 = (float)(dl != 0) * (float)(dl <= dq);
            const float rr = use12 * r12 + (1.0f - use12) * r3;
            const float has = e * (float)(rr > 0.0f);
            const float lt = (float)(rr < 1.0f);
            const float r = lt * rr + (1.0f - lt) * (1.0f / (rr > 1.0f ? rr : 1.0f));
            srm[s] += has * (mz * r);
            sm[s] += has * mz;
            n2[s] += has;
        }
    } else {
        NPSW_IVDEP
        for (uint32_t s = 0; s < n; s++) {
            const int c = code[s], dl = c & LANE_DIST;
            const float present = (float)((c >> 7) & 1), counted = (float)((c >> 6) & 1);
            const float e = present * (qcf > counted ? qcf : counted);
            const float w = wl[s];
            nm[s] += present;
            acc[s] += e * (wq * w);
            nuu[s] += present - e;
            xll[s] += e * (1.0f - counted) * (w * w);
            xuu[s] += e * xuu_add;
            /* the last pair in [previous counted library peak, m) with a side above the
             * threshold: the nearest library peak at or below it where the query has a counted
             * peak, else the second nearest, else the counted one */
            const float ra = tabc[dpa[s] & LANE_DIST] * lam_a[s];
            const float rb = tabc[dpa2[s] & LANE_DIST] * lam_a2[s];
            const float rc = tab[dl] * lam[s];
            const float ua = (float)(ra > 0.0f), ub = (1.0f - ua) * (float)(rb > 0.0f);
            const float rr = ua * ra + ub * rb + (1.0f - ua - ub) * rc;
            const float has = e * (float)(rr > 0.0f);
            const float lt = (float)(rr < 1.0f);
            const float r = lt * rr + (1.0f - lt) * (1.0f / (rr > 1.0f ? rr : 1.0f));
            srm[s] += has * (mz * r);
            sm[s] += has * mz;
            n2[s] += has;
        }
    }
}
