/* spectrum.c - peak and metadata storage for one spectrum. */
#include "npsw/spectrum.h"

#include <stdlib.h>
#include <string.h>

static const char *const meta_columns[NPSW_META_COUNT] = {
#define NPSW_X_COL(e, col, desc) col,
    NPSW_META_FIELDS(NPSW_X_COL)
#undef NPSW_X_COL
};

const char *npsw_meta_column(int field)
{
    if (field < 0 || field >= NPSW_META_COUNT) return NULL;
    return meta_columns[field];
}

void npsw_spectrum_init(npsw_spectrum *s)
{
    memset(s, 0, sizeof *s);
}

void npsw_spectrum_free(npsw_spectrum *s)
{
    if (!s) return;
    free(s->mz);
    free(s->intensity);
    for (int i = 0; i < NPSW_META_COUNT; i++) free(s->meta[i]);
    npsw_spectrum_init(s);
}

void npsw_spectrum_reset(npsw_spectrum *s)
{
    double *mz = s->mz;
    float *in = s->intensity;
    uint32_t cap = s->cap;
    for (int i = 0; i < NPSW_META_COUNT; i++) free(s->meta[i]);
    npsw_spectrum_init(s);
    s->mz = mz;
    s->intensity = in;
    s->cap = cap;
}

int npsw_spectrum_reserve(npsw_spectrum *s, uint32_t n)
{
    if (n <= s->cap) return 0;
    uint32_t cap = s->cap ? s->cap : 64;
    while (cap < n) {
        if (cap > UINT32_MAX / 2) {
            cap = n;
            break;
        }
        cap *= 2;
    }
    double *mz = realloc(s->mz, (size_t)cap * sizeof *mz);
    if (!mz) return NPSW_ENOMEM;
    s->mz = mz;
    float *in = realloc(s->intensity, (size_t)cap * sizeof *in);
    if (!in) return NPSW_ENOMEM;
    s->intensity = in;
    s->cap = cap;
    return 0;
}

int npsw_spectrum_push(npsw_spectrum *s, double mz, float intensity)
{
    if (s->n == UINT32_MAX) return NPSW_ELIMIT;
    if (s->n == s->cap) {
        int r = npsw_spectrum_reserve(s, s->n + 1);
        if (r < 0) return r;
    }
    s->mz[s->n] = mz;
    s->intensity[s->n] = intensity;
    s->n++;
    return 0;
}

int npsw_spectrum_set_meta(npsw_spectrum *s, int field, const char *value, size_t len)
{
    if (field < 0 || field >= NPSW_META_COUNT) return NPSW_EINVAL;
    if (!value) {
        free(s->meta[field]);
        s->meta[field] = NULL;
        return 0;
    }
    if (len == (size_t)-1) len = strlen(value);
    char *copy = malloc(len + 1);
    if (!copy) return NPSW_ENOMEM;
    memcpy(copy, value, len);
    copy[len] = '\0';
    free(s->meta[field]);
    s->meta[field] = copy;
    return 0;
}

int npsw_spectrum_append_meta(npsw_spectrum *s, int field, const char *value, size_t len)
{
    if (field < 0 || field >= NPSW_META_COUNT || !value) return NPSW_EINVAL;
    if (len == (size_t)-1) len = strlen(value);
    if (!s->meta[field]) return npsw_spectrum_set_meta(s, field, value, len);
    size_t old = strlen(s->meta[field]);
    char *p = realloc(s->meta[field], old + 1 + len + 1);
    if (!p) return NPSW_ENOMEM;
    p[old] = '\n';
    memcpy(p + old + 1, value, len);
    p[old + 1 + len] = '\0';
    s->meta[field] = p;
    return 0;
}

int npsw_spectrum_copy(npsw_spectrum *dst, const npsw_spectrum *src)
{
    npsw_spectrum_free(dst);
    int r = npsw_spectrum_reserve(dst, src->n ? src->n : 1);
    if (r < 0) return r;
    if (src->n) {
        memcpy(dst->mz, src->mz, src->n * sizeof *src->mz);
        memcpy(dst->intensity, src->intensity, src->n * sizeof *src->intensity);
    }
    dst->n = src->n;
    for (int i = 0; i < NPSW_META_COUNT; i++) {
        if (src->meta[i] && (r = npsw_spectrum_set_meta(dst, i, src->meta[i], (size_t)-1)) < 0) {
            npsw_spectrum_free(dst);
            return r;
        }
    }
    dst->mw = src->mw;
    dst->exact_mass = src->exact_mass;
    dst->precursor_mz = src->precursor_mz;
    dst->retention_index = src->retention_index;
    dst->ion_mode = src->ion_mode;
    dst->src_line = src->src_line;
    return 0;
}

const char *npsw_spectrum_meta(const npsw_spectrum *s, int field)
{
    if (field < 0 || field >= NPSW_META_COUNT || !s->meta[field]) return "";
    return s->meta[field];
}
