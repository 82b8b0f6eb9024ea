/* library.c - building the in-memory library, accessors, the content checksum and the nominal
 * inverted peak index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "library_internal.h"
#include "npsw/config.h"
#include "npsw/hash.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the content checksum is defined over little-endian bytes; add byte swapping for this host"
#endif

void npsw_utc_now(char buf[32])
{
    time_t t = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (*end == '\0' && v >= 0) t = (time_t)v;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

npsw_lib *npsw_lib_alloc(uint64_t n, uint64_t n_peaks)
{
    npsw_lib *lib = calloc(1, sizeof *lib);
    if (!lib) return NULL;
    lib->n = n;
    lib->n_peaks = n_peaks;
    lib->offsets = calloc(n + 1, sizeof *lib->offsets);
    lib->mz = malloc((n_peaks ? n_peaks : 1) * sizeof *lib->mz);
    lib->in = malloc((n_peaks ? n_peaks : 1) * sizeof *lib->in);
    lib->mw = calloc(n ? n : 1, sizeof(double));
    lib->exact_mass = calloc(n ? n : 1, sizeof(double));
    lib->precursor_mz = calloc(n ? n : 1, sizeof(double));
    lib->ri = calloc(n ? n : 1, sizeof(double));
    lib->ion_mode = calloc(n ? n : 1, sizeof(int8_t));
    int ok = lib->offsets && lib->mz && lib->in && lib->mw && lib->exact_mass &&
             lib->precursor_mz && lib->ri && lib->ion_mode;
    for (int f = 0; f < NPSW_META_COUNT && ok; f++) {
        lib->meta[f].off = calloc(n + 1, sizeof(uint64_t));
        ok = lib->meta[f].off != NULL;
    }
    if (!ok) {
        npsw_lib_free(lib);
        return NULL;
    }
    lib->info.format_major = NPSW_FORMAT_MAJOR;
    lib->info.format_minor = NPSW_FORMAT_MINOR;
    snprintf(lib->info.npsw_version, sizeof lib->info.npsw_version, "%s", NPSW_VERSION);
    lib->info.clean = npsw_clean_opts_default();
    return lib;
}

void npsw_lib_info_free(npsw_lib_info *info)
{
    for (size_t i = 0; i < info->n_inputs; i++) free(info->inputs[i].path);
    free(info->inputs);
    info->inputs = NULL;
    info->n_inputs = 0;
}

void npsw_lib_free(npsw_lib *lib)
{
    if (!lib) return;
    free(lib->offsets);
    free(lib->mz);
    free(lib->in);
    free(lib->mw);
    free(lib->exact_mass);
    free(lib->precursor_mz);
    free(lib->ri);
    free(lib->ion_mode);
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        free(lib->meta[f].data);
        free(lib->meta[f].off);
    }
    free(lib->idx.bin_start);
    free(lib->idx.spec);
    free(lib->idx.in);
    npsw_lib_info_free(&lib->info);
    free(lib);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint64_t count_duplicate_accessions(const npsw_spectrum *s, size_t n)
{
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].meta[NPSW_META_ACCESSION] && s[i].meta[NPSW_META_ACCESSION][0])
            v[m++] = s[i].meta[NPSW_META_ACCESSION];
    qsort(v, m, sizeof *v, cmp_str_ptr);
    uint64_t d = 0;
    for (size_t i = 1; i < m; i++) d += strcmp(v[i - 1], v[i]) == 0;
    free(v);
    return d;
}

npsw_lib *npsw_lib_build(npsw_spectrum *spectra, size_t n, const npsw_clean_opts *clean,
                         const char *name, const char *version, const npsw_lib_input *inputs,
                         size_t n_inputs, npsw_lib_build_report *rep, npsw_err *err)
{
    npsw_lib_build_report r;
    memset(&r, 0, sizeof r);
    r.n_in = n;
    if (npsw_clean_opts_check(clean, err) < 0) return NULL;
    uint64_t n_keep = 0, n_peaks = 0;
    int failed = 0;
    /* spectra are cleaned independently: in parallel */
#pragma omp parallel for schedule(dynamic, 256) reduction(| : failed)
    for (size_t i = 0; i < n; i++) failed |= npsw_clean(&spectra[i], clean, NULL) < 0;
    if (failed) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0, "cleaning failed");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (spectra[i].n == 0) {
            r.n_empty++;
            continue;
        }
        n_keep++;
        n_peaks += spectra[i].n;
    }
    if (n_keep > UINT32_MAX - 1) {
        npsw_err_set(err, NPSW_ELIMIT, NULL, 0, "more than %u spectra in one library",
                     UINT32_MAX - 1);
        return NULL;
    }
    npsw_lib *lib = npsw_lib_alloc(n_keep, n_peaks);
    if (!lib) goto nomem;
    lib->info.clean = *clean;
    snprintf(lib->info.name, sizeof lib->info.name, "%s", name ? name : "");
    snprintf(lib->info.version, sizeof lib->info.version, "%s", version ? version : "");
    npsw_utc_now(lib->info.created_utc);
    /* string column sizes first, then one allocation per column */
    uint64_t bytes[NPSW_META_COUNT] = {0};
    for (size_t i = 0; i < n; i++)
        if (spectra[i].n)
            for (int f = 0; f < NPSW_META_COUNT; f++)
                if (spectra[i].meta[f]) bytes[f] += strlen(spectra[i].meta[f]);
    for (int f = 0; f < NPSW_META_COUNT; f++)
        if (!(lib->meta[f].data = malloc(bytes[f] ? bytes[f] : 1))) goto nomem;
    uint64_t k = 0, p = 0;
    for (size_t i = 0; i < n; i++) {
        const npsw_spectrum *s = &spectra[i];
        if (!s->n) continue;
        lib->offsets[k] = p;
        memcpy(lib->mz + p, s->mz, s->n * sizeof *s->mz);
        memcpy(lib->in + p, s->intensity, s->n * sizeof *s->intensity);
        p += s->n;
        lib->mw[k] = s->mw;
        lib->exact_mass[k] = s->exact_mass;
        lib->precursor_mz[k] = s->precursor_mz;
        lib->ri[k] = s->retention_index;
        lib->ion_mode[k] = (int8_t)s->ion_mode;
        for (int f = 0; f < NPSW_META_COUNT; f++) {
            uint64_t o = lib->meta[f].off[k];
            size_t len = s->meta[f] ? strlen(s->meta[f]) : 0;
            if (len) memcpy(lib->meta[f].data + o, s->meta[f], len);
            lib->meta[f].off[k + 1] = o + len;
        }
        k++;
    }
    lib->offsets[k] = p;
    if (n_inputs) {
        lib->info.inputs = calloc(n_inputs, sizeof *lib->info.inputs);
        if (!lib->info.inputs) goto nomem;
        lib->info.n_inputs = n_inputs;
        for (size_t i = 0; i < n_inputs; i++) {
            lib->info.inputs[i] = inputs[i];
            lib->info.inputs[i].path = strdup(inputs[i].path ? inputs[i].path : "");
            if (!lib->info.inputs[i].path) goto nomem;
        }
    }
    if (clean->nominal && npsw_lib_build_index(lib) < 0) goto nomem;
    npsw_lib_content_sha256(lib, lib->info.content_sha256);
    r.n_out = n_keep;
    r.n_duplicate_accessions = count_duplicate_accessions(spectra, n);
    if (rep) *rep = r;
    return lib;
nomem:
    npsw_lib_free(lib);
    npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory building the library");
    return NULL;
}

uint64_t npsw_lib_size(const npsw_lib *lib) { return lib->n; }
uint64_t npsw_lib_npeaks(const npsw_lib *lib) { return lib->n_peaks; }
const npsw_lib_info *npsw_lib_get_info(const npsw_lib *lib) { return &lib->info; }
double npsw_lib_precursor_mz(const npsw_lib *lib, uint64_t i) { return lib->precursor_mz[i]; }
double npsw_lib_mw(const npsw_lib *lib, uint64_t i) { return lib->mw[i]; }
double npsw_lib_exact_mass(const npsw_lib *lib, uint64_t i) { return lib->exact_mass[i]; }
double npsw_lib_retention_index(const npsw_lib *lib, uint64_t i) { return lib->ri[i]; }
int npsw_lib_ion_mode(const npsw_lib *lib, uint64_t i) { return lib->ion_mode[i]; }

npsw_peaks npsw_lib_peaks(const npsw_lib *lib, uint64_t i)
{
    npsw_peaks v;
    v.mz = lib->mz + lib->offsets[i];
    v.in = lib->in + lib->offsets[i];
    v.n = (uint32_t)(lib->offsets[i + 1] - lib->offsets[i]);
    return v;
}

/* Values are stored without a terminating NUL; a small per-thread ring of buffers makes them
 * printable without allocation by the caller. */
const char *npsw_lib_meta(const npsw_lib *lib, uint64_t i, int field)
{
    static _Thread_local char ring[4][4096];
    static _Thread_local unsigned next;
    if (field < 0 || field >= NPSW_META_COUNT || i >= lib->n) return "";
    const npsw_strcol *c = &lib->meta[field];
    uint64_t len = c->off[i + 1] - c->off[i];
    if (len == 0) return "";
    char *b = ring[next++ & 3];
    if (len > sizeof ring[0] - 1) len = sizeof ring[0] - 1;
    memcpy(b, c->data + c->off[i], len);
    b[len] = '\0';
    return b;
}

int npsw_lib_get_spectrum(const npsw_lib *lib, uint64_t i, npsw_spectrum *out)
{
    npsw_spectrum_free(out);
    npsw_peaks v = npsw_lib_peaks(lib, i);
    int rc = npsw_spectrum_reserve(out, v.n ? v.n : 1);
    if (rc < 0) return rc;
    memcpy(out->mz, v.mz, v.n * sizeof *v.mz);
    memcpy(out->intensity, v.in, v.n * sizeof *v.in);
    out->n = v.n;
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        const npsw_strcol *c = &lib->meta[f];
        uint64_t len = c->off[i + 1] - c->off[i];
        if (len && (rc = npsw_spectrum_set_meta(out, f, c->data + c->off[i], len)) < 0) return rc;
    }
    out->mw = lib->mw[i];
    out->exact_mass = lib->exact_mass[i];
    out->precursor_mz = lib->precursor_mz[i];
    out->retention_index = lib->ri[i];
    out->ion_mode = lib->ion_mode[i];
    return 0;
}

void npsw_lib_content_sha256(const npsw_lib *lib, char hex[65])
{
    static const char tag[] = "npswatch-library-content-v1\n";
    npsw_sha256 *h = npsw_sha256_new();
    npsw_sha256_update(h, tag, sizeof tag - 1);
    npsw_sha256_update(h, &lib->n, 8);
    npsw_sha256_update(h, &lib->n_peaks, 8);
    npsw_sha256_update(h, lib->offsets, (lib->n + 1) * 8);
    npsw_sha256_update(h, lib->mz, lib->n_peaks * 8);
    npsw_sha256_update(h, lib->in, lib->n_peaks * 4);
    npsw_sha256_update(h, lib->mw, lib->n * 8);
    npsw_sha256_update(h, lib->exact_mass, lib->n * 8);
    npsw_sha256_update(h, lib->precursor_mz, lib->n * 8);
    npsw_sha256_update(h, lib->ri, lib->n * 8);
    npsw_sha256_update(h, lib->ion_mode, lib->n);
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        const char *col = npsw_meta_column(f);
        npsw_sha256_update(h, col, strlen(col) + 1);
        npsw_sha256_update(h, lib->meta[f].off, (lib->n + 1) * 8);
        npsw_sha256_update(h, lib->meta[f].data, lib->meta[f].off[lib->n]);
    }
    char params[256];
    npsw_clean_opts_describe(&lib->info.clean, params, sizeof params);
    npsw_sha256_update(h, params, strlen(params));
    npsw_sha256_final(h, hex);
}

/* ---- nominal inverted index ------------------------------------------------------------ */

int npsw_lib_build_index(npsw_lib *lib)
{
    npsw_nominal_index *x = &lib->idx;
    free(x->bin_start);
    free(x->spec);
    free(x->in);
    memset(x, 0, sizeof *x);
    double mx = 0;
    for (uint64_t p = 0; p < lib->n_peaks; p++)
        if (lib->mz[p] > mx) mx = lib->mz[p];
    if (mx > NPSW_NOMINAL_MAX_MZ + 1) mx = NPSW_NOMINAL_MAX_MZ + 1; /* cleaning drops higher */
    x->max_mz = (uint32_t)mx;
    x->bin_start = calloc((size_t)x->max_mz + 2, sizeof *x->bin_start);
    x->spec = malloc((lib->n_peaks ? lib->n_peaks : 1) * sizeof *x->spec);
    x->in = malloc((lib->n_peaks ? lib->n_peaks : 1) * sizeof *x->in);
    if (!x->bin_start || !x->spec || !x->in) return NPSW_ENOMEM;
    /* counting sort by bin; scanning spectra in order keeps each bin sorted by spectrum id */
    for (uint64_t p = 0; p < lib->n_peaks; p++) {
        uint32_t m = (uint32_t)lib->mz[p];
        if (m <= x->max_mz) x->bin_start[m + 1]++;
    }
    for (uint32_t m = 0; m <= x->max_mz; m++) x->bin_start[m + 1] += x->bin_start[m];
    uint64_t *fill = malloc(((size_t)x->max_mz + 1) * sizeof *fill);
    if (!fill) return NPSW_ENOMEM;
    memcpy(fill, x->bin_start, ((size_t)x->max_mz + 1) * sizeof *fill);
    for (uint64_t s = 0; s < lib->n; s++) {
        for (uint64_t p = lib->offsets[s]; p < lib->offsets[s + 1]; p++) {
            uint32_t m = (uint32_t)lib->mz[p];
            if (m > x->max_mz) continue;
            uint64_t at = fill[m]++;
            x->spec[at] = (uint32_t)s;
            x->in[at] = lib->in[p];
        }
    }
    free(fill);
    return 0;
}

int npsw_lib_check_index(const npsw_lib *lib, npsw_err *err)
{
    npsw_lib tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.n = lib->n;
    tmp.n_peaks = lib->n_peaks;
    tmp.offsets = lib->offsets;
    tmp.mz = lib->mz;
    tmp.in = lib->in;
    if (npsw_lib_build_index(&tmp) < 0) {
        free(tmp.idx.bin_start);
        free(tmp.idx.spec);
        free(tmp.idx.in);
        return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory checking the index");
    }
    const npsw_nominal_index *a = &lib->idx, *b = &tmp.idx;
    int same = a->max_mz == b->max_mz && a->bin_start && a->spec && a->in &&
               memcmp(a->bin_start, b->bin_start, ((size_t)b->max_mz + 2) * 8) == 0 &&
               memcmp(a->spec, b->spec, b->bin_start[b->max_mz + 1] * 4) == 0 &&
               memcmp(a->in, b->in, b->bin_start[b->max_mz + 1] * 4) == 0;
    free(tmp.idx.bin_start);
    free(tmp.idx.spec);
    free(tmp.idx.in);
    if (!same)
        return npsw_err_set(err, NPSW_ECHECKSUM, "/index/nominal", 0,
                            "the stored peak index does not match the spectra; rebuild the "
                            "library with 'npswatch build'");
    return 0;
}
