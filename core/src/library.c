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

static void lineage_free(npsw_lib_lineage *g)
{
    for (size_t i = 0; i < g->n_added; i++) {
        free(g->added[i].accession);
        free(g->added[i].name);
        free(g->added[i].reason);
    }
    free(g->added);
    free(g->ancestors);
    memset(g, 0, sizeof *g);
}

void npsw_lib_info_free(npsw_lib_info *info)
{
    for (size_t i = 0; i < info->n_inputs; i++) free(info->inputs[i].path);
    free(info->inputs);
    info->inputs = NULL;
    info->n_inputs = 0;
    lineage_free(&info->lineage);
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
    npsw_mf_index_free(&lib->mfi);
    free(lib->whole_idx);
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

/* Store spectrum s as library entry k, its peaks from peak position p on (the string columns'
 * data must have room; off[k] is set); returns the next peak position. */
static uint64_t put_spectrum(npsw_lib *lib, uint64_t k, uint64_t p, const npsw_spectrum *s)
{
    lib->offsets[k] = p;
    memcpy(lib->mz + p, s->mz, s->n * sizeof *s->mz);
    memcpy(lib->in + p, s->intensity, s->n * sizeof *s->intensity);
    lib->mw[k] = s->mw;
    lib->exact_mass[k] = s->exact_mass;
    lib->precursor_mz[k] = s->precursor_mz;
    lib->ri[k] = s->retention_index;
    lib->ion_mode[k] = (int8_t)s->ion_mode;
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        uint64_t at = lib->meta[f].off[k];
        size_t len = s->meta[f] ? strlen(s->meta[f]) : 0;
        if (len) memcpy(lib->meta[f].data + at, s->meta[f], len);
        lib->meta[f].off[k + 1] = at + len;
    }
    return p + s->n;
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
        p = put_spectrum(lib, k++, p, s);
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

/* ---- a new version from a parent: npsw_lib_append ------------------------------------- */

typedef struct acc_ref {
    const char *s;  /* NUL-terminated accession */
    uint64_t index; /* library index (parent) or position among the added spectra */
} acc_ref;

static int cmp_acc_ref(const void *a, const void *b)
{
    const acc_ref *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Refuse an added accession that the parent holds or that is added twice. */
static int check_accessions(const npsw_lib *parent, const npsw_spectrum *add, size_t n_add,
                            npsw_err *err)
{
    const npsw_strcol *c = &parent->meta[NPSW_META_ACCESSION];
    uint64_t pn = parent->n, bytes = c->off[pn];
    char *buf = malloc(bytes + pn + 1);
    acc_ref *pv = malloc((pn ? pn : 1) * sizeof *pv), *av = malloc((n_add ? n_add : 1) * sizeof *av);
    int rc = 0;
    if (!buf || !pv || !av) {
        rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory checking accessions");
        goto done;
    }
    size_t np = 0, na = 0;
    char *w = buf;
    for (uint64_t i = 0; i < pn; i++) {
        uint64_t len = c->off[i + 1] - c->off[i];
        if (!len) continue;
        memcpy(w, c->data + c->off[i], len);
        w[len] = '\0';
        pv[np].s = w;
        pv[np++].index = i;
        w += len + 1;
    }
    for (size_t i = 0; i < n_add; i++) {
        const char *a = add[i].meta[NPSW_META_ACCESSION];
        if (!add[i].n || !a || !a[0]) continue;
        av[na].s = a;
        av[na++].index = i;
    }
    qsort(pv, np, sizeof *pv, cmp_acc_ref);
    qsort(av, na, sizeof *av, cmp_acc_ref);
    for (size_t i = 0; i < na; i++) {
        if (i && !strcmp(av[i - 1].s, av[i].s)) {
            rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                              "accession '%s' is given to two added spectra ('%s' and '%s'); "
                              "accessions must be unique",
                              av[i].s, npsw_spectrum_meta(&add[av[i - 1].index], NPSW_META_NAME),
                              npsw_spectrum_meta(&add[av[i].index], NPSW_META_NAME));
            goto done;
        }
        acc_ref key = {av[i].s, 0};
        /* the first parent entry with this accession (index 0 sorts first among equals) */
        size_t lo = 0, hi = np;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp_acc_ref(&pv[mid], &key) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo < np && !strcmp(pv[lo].s, key.s)) {
            rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                              "accession '%s' (added spectrum '%s') is already in the library "
                              "'%s' version '%s' as entry %llu ('%s'); an accession cannot be "
                              "added twice",
                              key.s, npsw_spectrum_meta(&add[av[i].index], NPSW_META_NAME),
                              parent->info.name, parent->info.version,
                              (unsigned long long)pv[lo].index + 1,
                              npsw_lib_meta(parent, pv[lo].index, NPSW_META_NAME));
            goto done;
        }
    }
done:
    free(buf);
    free(pv);
    free(av);
    return rc;
}

static int dup_str(char **dst, const char *s)
{
    *dst = strdup(s ? s : "");
    return *dst ? 0 : NPSW_ENOMEM;
}

/* Lineage of a child of `parent`: parent, advisory, the parent's chain + the parent. */
static int make_lineage(npsw_lib *lib, const npsw_lib *parent, const npsw_spectrum *add,
                        size_t n_add, const npsw_lib_append_opts *o)
{
    const npsw_lib_info *pi = &parent->info;
    npsw_lib_lineage *g = &lib->info.lineage;
    snprintf(g->parent_sha256, sizeof g->parent_sha256, "%s", pi->content_sha256);
    snprintf(g->parent_name, sizeof g->parent_name, "%s", pi->name);
    snprintf(g->parent_version, sizeof g->parent_version, "%s", pi->version);
    snprintf(g->advisory_key, sizeof g->advisory_key, "%s", o->advisory_key ? o->advisory_key : "");
    g->advisory_id = o->advisory_id;
    size_t na = pi->lineage.n_ancestors;
    g->ancestors = calloc(na + 1, sizeof *g->ancestors);
    if (!g->ancestors) return NPSW_ENOMEM;
    if (na) memcpy(g->ancestors, pi->lineage.ancestors, na * sizeof *g->ancestors);
    npsw_lib_ancestor *p = &g->ancestors[na];
    snprintf(p->content_sha256, sizeof p->content_sha256, "%s", pi->content_sha256);
    snprintf(p->version, sizeof p->version, "%s", pi->version);
    snprintf(p->advisory_key, sizeof p->advisory_key, "%s", pi->lineage.advisory_key);
    g->n_ancestors = na + 1;
    size_t n_keep = 0;
    for (size_t i = 0; i < n_add; i++) n_keep += add[i].n != 0;
    g->added = calloc(n_keep ? n_keep : 1, sizeof *g->added);
    if (!g->added) return NPSW_ENOMEM;
    for (size_t i = 0; i < n_add; i++) {
        if (!add[i].n) continue;
        npsw_lib_addition *a = &g->added[g->n_added++];
        const char *why = o->reasons && o->reasons[i] ? o->reasons[i] : o->reason;
        a->index = parent->n + g->n_added - 1;
        if (dup_str(&a->accession, add[i].meta[NPSW_META_ACCESSION]) < 0 ||
            dup_str(&a->name, add[i].meta[NPSW_META_NAME]) < 0 || dup_str(&a->reason, why) < 0)
            return NPSW_ENOMEM;
    }
    return 0;
}

npsw_lib *npsw_lib_append(const npsw_lib *parent, npsw_spectrum *add, size_t n_add,
                          const npsw_lib_append_opts *o, npsw_lib_build_report *rep,
                          npsw_err *err)
{
    npsw_lib_build_report r;
    memset(&r, 0, sizeof r);
    r.n_in = n_add;
    if (!parent || !o || (!add && n_add)) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0, "npsw_lib_append: no parent library or options");
        return NULL;
    }
    if (parent->part) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                     "a new library version is made from a whole library, not from a part of one");
        return NULL;
    }
    if (!o->version || !o->version[0] || strlen(o->version) >= sizeof parent->info.version) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                     "a new library version needs a version label of 1 to %zu bytes",
                     sizeof parent->info.version - 1);
        return NULL;
    }
    if (o->name && strlen(o->name) >= sizeof parent->info.name) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0, "library name longer than %zu bytes",
                     sizeof parent->info.name - 1);
        return NULL;
    }
    const npsw_lib_info *pi = &parent->info;
    const npsw_clean_opts *clean = &pi->clean;
    uint64_t n_keep = 0, n_peaks = 0;
    for (size_t i = 0; i < n_add; i++) {
        int rc = npsw_clean(&add[i], clean, NULL);
        if (rc < 0) {
            npsw_err_set(err, rc, NULL, 0, "cleaning added spectrum %zu ('%s') failed", i + 1,
                         npsw_spectrum_meta(&add[i], NPSW_META_NAME));
            return NULL;
        }
        if (add[i].n == 0) {
            r.n_empty++;
            continue;
        }
        n_keep++;
        n_peaks += add[i].n;
    }
    if (n_keep == 0) {
        npsw_err_set(err, NPSW_EEMPTY, NULL, 0,
                     "no spectrum to add: %zu given, none has peaks left after cleaning", n_add);
        return NULL;
    }
    if (parent->n + n_keep > UINT32_MAX - 1) {
        npsw_err_set(err, NPSW_ELIMIT, NULL, 0, "more than %u spectra in one library",
                     UINT32_MAX - 1);
        return NULL;
    }
    int rc = check_accessions(parent, add, n_add, err);
    if (rc < 0) return NULL;
    uint64_t pn = parent->n, pp = parent->n_peaks;
    npsw_lib *lib = npsw_lib_alloc(pn + n_keep, pp + n_peaks);
    if (!lib) goto nomem;
    lib->info.clean = *clean;
    snprintf(lib->info.name, sizeof lib->info.name, "%s", o->name ? o->name : pi->name);
    snprintf(lib->info.version, sizeof lib->info.version, "%s", o->version);
    npsw_utc_now(lib->info.created_utc);
    /* the parent's columns unchanged */
    memcpy(lib->offsets, parent->offsets, (pn + 1) * sizeof *lib->offsets);
    if (pp) {
        memcpy(lib->mz, parent->mz, pp * sizeof *lib->mz);
        memcpy(lib->in, parent->in, pp * sizeof *lib->in);
    }
    if (pn) {
        memcpy(lib->mw, parent->mw, pn * sizeof(double));
        memcpy(lib->exact_mass, parent->exact_mass, pn * sizeof(double));
        memcpy(lib->precursor_mz, parent->precursor_mz, pn * sizeof(double));
        memcpy(lib->ri, parent->ri, pn * sizeof(double));
        memcpy(lib->ion_mode, parent->ion_mode, pn * sizeof(int8_t));
    }
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        uint64_t bytes = parent->meta[f].off[pn];
        for (size_t i = 0; i < n_add; i++)
            if (add[i].n && add[i].meta[f]) bytes += strlen(add[i].meta[f]);
        if (!(lib->meta[f].data = malloc(bytes ? bytes : 1))) goto nomem;
        if (parent->meta[f].off[pn]) memcpy(lib->meta[f].data, parent->meta[f].data, parent->meta[f].off[pn]);
        memcpy(lib->meta[f].off, parent->meta[f].off, (pn + 1) * sizeof(uint64_t));
    }
    /* then the added spectra */
    uint64_t k = pn, p = pp;
    for (size_t i = 0; i < n_add; i++) {
        const npsw_spectrum *s = &add[i];
        if (!s->n) continue;
        p = put_spectrum(lib, k++, p, s);
    }
    lib->offsets[k] = p;
    /* provenance: the parent's inputs, then those of the added spectra */
    size_t ni = pi->n_inputs + (o->inputs ? o->n_inputs : 0);
    if (ni) {
        lib->info.inputs = calloc(ni, sizeof *lib->info.inputs);
        if (!lib->info.inputs) goto nomem;
        for (size_t i = 0; i < ni; i++) {
            const npsw_lib_input *src = i < pi->n_inputs ? &pi->inputs[i] : &o->inputs[i - pi->n_inputs];
            lib->info.inputs[i] = *src;
            lib->info.inputs[i].path = strdup(src->path ? src->path : "");
            lib->info.n_inputs = i + 1;
            if (!lib->info.inputs[i].path) goto nomem;
        }
    }
    if (make_lineage(lib, parent, add, n_add, o) < 0) goto nomem;
    if (clean->nominal && npsw_lib_build_index(lib) < 0) goto nomem;
    npsw_lib_content_sha256(lib, lib->info.content_sha256);
    r.n_out = pn + n_keep;
    if (rep) *rep = r;
    return lib;
nomem:
    npsw_lib_free(lib);
    npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory making the new library version");
    return NULL;
}

uint64_t npsw_lib_size(const npsw_lib *lib) { return lib->n; }

/* ---- parts ------------------------------------------------------------------------------ */

int npsw_lib_is_part(const npsw_lib *lib) { return lib->part; }
uint64_t npsw_lib_whole_size(const npsw_lib *lib) { return lib->part ? lib->whole_n : lib->n; }

uint64_t npsw_lib_whole_index(const npsw_lib *lib, uint64_t i)
{
    if (!lib->part) return i;
    return lib->whole_idx ? lib->whole_idx[i] : lib->whole_first + i;
}

uint64_t npsw_lib_local_index(const npsw_lib *lib, uint64_t w)
{
    if (!lib->part) return w < lib->n ? w : UINT64_MAX;
    if (!lib->whole_idx)
        return w >= lib->whole_first && w - lib->whole_first < lib->n ? w - lib->whole_first
                                                                       : UINT64_MAX;
    uint64_t lo = 0, hi = lib->n; /* first entry >= w */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (lib->whole_idx[mid] < w) lo = mid + 1;
        else hi = mid;
    }
    return lo < lib->n && lib->whole_idx[lo] == w ? lo : UINT64_MAX;
}
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

void npsw_lib_search_index_describe(const npsw_lib *lib, char *buf, size_t size)
{
    const npsw_mf_index *x = &lib->mfi;
    if (!lib->info.clean.nominal)
        snprintf(buf, size, "none (accurate-mass library: searched through its peak postings)");
    else if (!x->present)
        snprintf(buf, size, "none stored: built in memory at each match-factor or cosine search "
                            "(rebuild the library from its sources with this npswatch to store one)");
    else if (!lib->part)
        snprintf(buf, size,
                 "stored for weights I^%g m^%g, peaks above %g counted (%u dense m/z bins, "
                 "%llu other postings), %s",
                 x->int_power, x->mz_power, x->threshold, x->nd, (unsigned long long)x->nxp,
                 x->map && !x->owned ? "used in place (memory-mapped)" : "read into memory");
    else /* a shard: a view of the file's index (libfile.c, read_mf_index) */
        snprintf(buf, size,
                 "the file's, stored for weights I^%g m^%g, peaks above %g counted, used in "
                 "place (memory-mapped) for this part's spectra %llu-%llu of %llu",
                 x->int_power, x->mz_power, x->threshold, (unsigned long long)x->base,
                 (unsigned long long)(x->base + lib->n - 1), (unsigned long long)x->n);
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
