/* cmd_lint.c - npswatch lint: a quality report on spectra files or a library (docs/cli.md).
 *
 * Every record is read as it is in the file (before cleaning) and checked on its own: peaks,
 * m/z against the molecular weight or the precursor, identity fields. Then the records are
 * cleaned as `build` would clean them and compared across the whole input by sorting (accession,
 * peak-list hash, name/InChIKey key), so the work is O(n log n) for n records plus the scores
 * within each group of records sharing a name. Findings are kept as (record, check, severity,
 * message) and written at the end, grouped by record. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "npsw/config.h"
#include "npsw/formula.h"
#include "npsw/libfile.h"

/* Exit status with --exit-code when a finding reaches --fail-on (as diff --exit-code). */
enum { EXIT_FINDINGS = 3 };

typedef enum { SEV_NOTE, SEV_WARNING, SEV_ERROR } severity;
static const char *const sev_name[] = {"note", "warning", "error"};

/* X(ENUM, "id", default severity) - the order is the summary's and docs/cli.md's. */
#define LINT_CHECKS(X)                                   \
    X(BAD_RECORD, "bad-record", SEV_ERROR)               \
    X(READ_WARNING, "read-warning", SEV_NOTE)            \
    X(NO_PEAKS, "no-peaks", SEV_ERROR)                   \
    X(FEW_PEAKS, "few-peaks", SEV_WARNING)               \
    X(NON_POSITIVE, "non-positive-intensity", SEV_WARNING) \
    X(UNSORTED, "unsorted-mz", SEV_NOTE)                 \
    X(DUP_MZ, "duplicate-mz", SEV_WARNING)               \
    X(PROFILE, "profile-like", SEV_WARNING)              \
    X(ABOVE_MW, "mz-above-mw", SEV_ERROR)                \
    X(TIMES_TEN, "mz-times-ten", SEV_ERROR)              \
    X(ABOVE_PREC, "mz-above-precursor", SEV_WARNING)     \
    X(NO_ACCESSION, "missing-accession", SEV_WARNING)    \
    X(NO_STRUCTURE, "missing-structure", SEV_WARNING)    \
    X(NO_FORMULA, "missing-formula", SEV_WARNING)        \
    X(BAD_INCHIKEY, "bad-inchikey", SEV_ERROR)           \
    X(BAD_CAS, "bad-cas", SEV_WARNING)                   \
    X(BAD_FORMULA, "bad-formula", SEV_ERROR)             \
    X(FORMULA_MW, "formula-mw-mismatch", SEV_ERROR)      \
    X(DUP_ACCESSION, "duplicate-accession", SEV_ERROR)   \
    X(DUP_SPECTRUM, "duplicate-spectrum", SEV_WARNING)   \
    X(SAME_NAME, "same-name-different-spectrum", SEV_NOTE)

enum check {
#define X_ENUM(e, id, sev) C_##e,
    LINT_CHECKS(X_ENUM)
#undef X_ENUM
        C_COUNT
};
static const char *const check_id[] = {
#define X_ID(e, id, sev) id,
    LINT_CHECKS(X_ID)
#undef X_ID
};
static const severity check_sev[] = {
#define X_SEV(e, id, sev) sev,
    LINT_CHECKS(X_SEV)
#undef X_SEV
};

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch lint [options] FILE...\n\n"
            "Checks the records of spectra files (MSP, MGF, JCAMP-DX, CSV/TSV, mzML) or of a\n"
            "library file (.h5) before or after a build, and reports per record the findings with\n"
            "file, line (a library's entries: their 1-based index), name, accession, check id,\n"
            "severity (error, warning, note) and a message with the values. Peaks are checked as\n"
            "read, before cleaning; the records are then cleaned as `build` cleans them and\n"
            "compared across all the files. Check ids (docs/cli.md says each rule and why):\n"
            "bad-record read-warning no-peaks few-peaks non-positive-intensity unsorted-mz\n"
            "duplicate-mz profile-like mz-above-mw mz-times-ten mz-above-precursor\n"
            "missing-accession missing-structure missing-formula bad-inchikey bad-cas\n"
            "bad-formula formula-mw-mismatch duplicate-accession duplicate-spectrum\n"
            "same-name-different-spectrum.\n\n"
            "Options:\n"
            "  --format F          text (default: findings by record, then a summary per check),\n"
            "                      tsv (one row per finding) or json (one object)\n"
            "  -o, --output FILE   write here (atomically) instead of standard output\n"
            "  --checks LIST       run only these checks (ids, comma-separated)\n"
            "  --skip LIST         do not run these checks\n"
            "  --min-peaks N       few-peaks: fewer than N peaks (default 3)\n"
            "  --precursor-tol DA  mz-above-precursor: peaks above precursor m/z + DA (default\n"
            "                      1.5)\n"
            "  --min-mf N          same-name-different-spectrum: best MF (0-999) with the other\n"
            "                      records of the name below N (default 600)\n"
            "  --exit-code         exit 3 when a finding is at or above --fail-on\n"
            "  --fail-on S         error (default), warning or note\n"
            "  --strict            stop at the first record that cannot be read (exit 1)\n" CLI_READ_HELP
            "  -h, --help          this help\n\n"
            "Exit status: 0 when the checks ran, whatever they found (with --exit-code: 3 when a\n"
            "finding is at or above --fail-on); 1 bad usage or an input file that cannot be read\n"
            "(missing, a directory, not a spectra or library file); 2 internal error.\n");
}

/* ---- the records and their findings --------------------------------------------------------- */

typedef struct lint_file {
    const char *path;
    char sha256[65];      /* of the file's bytes; a library: its content SHA-256 */
    const char *format;   /* "msp", ..., "library" */
    int library;          /* entries of a library file: already cleaned, no lines */
    int nominal;          /* a library: its cleaning mode */
    uint64_t n_records, n_bad;
} lint_file;

typedef struct rec {
    uint32_t file;
    uint64_t line;   /* of the record's start; 0 = unknown */
    uint64_t number; /* 1-based in its file (a library's entry index) */
    size_t spec;     /* index in the spectra; NONE for a record that could not be read */
} rec;
#define NONE ((size_t)-1)

typedef struct finding {
    size_t rec, seq;
    unsigned char check, sev;
    char *msg;
} finding;

typedef struct lint {
    /* options */
    int enabled[C_COUNT];
    unsigned long min_peaks, min_mf;
    double precursor_tol;
    /* data */
    lint_file *files;
    size_t n_files;
    npsw_spectra sp;
    unsigned char *nominal; /* per spectrum: compared with nominal matching */
    rec *recs;
    size_t n_recs, cap_recs;
    finding *fd;
    size_t n_fd, cap_fd;
    double *scratch;
    size_t cap_scratch;
    int oom;
} lint;

static void add(lint *L, size_t r, int check, severity sev, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add(lint *L, size_t r, int check, severity sev, const char *fmt, ...)
{
    if (!L->enabled[check]) return;
    if (L->n_fd == L->cap_fd) {
        size_t cap = L->cap_fd ? 2 * L->cap_fd : 256;
        finding *v = realloc(L->fd, cap * sizeof *v);
        if (!v) {
            L->oom = 1;
            return;
        }
        L->fd = v;
        L->cap_fd = cap;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *m = strdup(buf);
    if (!m) {
        L->oom = 1;
        return;
    }
    L->fd[L->n_fd] = (finding){r, L->n_fd, (unsigned char)check, (unsigned char)sev, m};
    L->n_fd++;
}

static size_t push_rec(lint *L, uint32_t file, uint64_t line, uint64_t number, size_t spec)
{
    if (L->n_recs == L->cap_recs) {
        size_t cap = L->cap_recs ? 2 * L->cap_recs : 1024;
        rec *v = realloc(L->recs, cap * sizeof *v);
        if (!v) {
            L->oom = 1;
            return NONE;
        }
        L->recs = v;
        L->cap_recs = cap;
    }
    L->recs[L->n_recs] = (rec){file, line, number, spec};
    return L->n_recs++;
}

/* A free slot at the end of the spectra, initialised. */
static npsw_spectrum *spec_slot(lint *L)
{
    npsw_spectra *a = &L->sp;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        npsw_spectrum *v = realloc(a->v, cap * sizeof *v);
        if (!v) return NULL;
        for (size_t i = a->cap; i < cap; i++) npsw_spectrum_init(&v[i]);
        a->v = v;
        a->cap = cap;
    }
    return &a->v[a->n];
}

static const npsw_spectrum *spec_of(const lint *L, size_t r)
{
    return L->recs[r].spec == NONE ? NULL : &L->sp.v[L->recs[r].spec];
}

static const char *name_of(const lint *L, size_t r)
{
    const npsw_spectrum *s = spec_of(L, r);
    return s ? npsw_spectrum_meta(s, NPSW_META_NAME) : "";
}

/* "FILE:LINE" or, without a line, "FILE entry K" (a library) / "FILE record K". */
static const char *where(const lint *L, size_t r, char buf[600])
{
    const rec *x = &L->recs[r];
    const lint_file *f = &L->files[x->file];
    if (x->line)
        snprintf(buf, 600, "%s:%llu", f->path, (unsigned long long)x->line);
    else
        snprintf(buf, 600, "%s %s %llu", f->path, f->library ? "entry" : "record",
                 (unsigned long long)x->number);
    return buf;
}

/* ---- checks of one record ------------------------------------------------------------------ */

static double *scratch(lint *L, size_t n)
{
    if (n > L->cap_scratch) {
        double *v = realloc(L->scratch, n * sizeof *v);
        if (!v) return NULL;
        L->scratch = v;
        L->cap_scratch = n;
    }
    return L->scratch;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The 27-character standard InChIKey: 14 letters, '-', 10 letters, '-', one letter. */
static int inchikey_ok(const char *k)
{
    if (strlen(k) != 27 || k[14] != '-' || k[25] != '-') return 0;
    for (int i = 0; i < 27; i++)
        if (i != 14 && i != 25 && !(k[i] >= 'A' && k[i] <= 'Z')) return 0;
    return 1;
}

static void check_peaks(lint *L, size_t r, const npsw_spectrum *s)
{
    if (s->n == 0) {
        add(L, r, C_NO_PEAKS, check_sev[C_NO_PEAKS],
            "no peaks: the record matches nothing and build leaves it out");
        return;
    }
    if (s->n < L->min_peaks)
        add(L, r, C_FEW_PEAKS, check_sev[C_FEW_PEAKS], "%u peak%s (fewer than %lu)", s->n,
            s->n == 1 ? "" : "s", L->min_peaks);
    uint32_t nonpos = 0, first_np = 0, descents = 0, first_d = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (!(s->intensity[i] > 0) && nonpos++ == 0) first_np = i;
        if (i && s->mz[i] < s->mz[i - 1] && descents++ == 0) first_d = i;
    }
    if (nonpos)
        add(L, r, C_NON_POSITIVE, check_sev[C_NON_POSITIVE],
            "%u peak%s with intensity <= 0 or not a number (first: m/z %g, intensity %g); "
            "cleaning drops them",
            nonpos, nonpos == 1 ? "" : "s", s->mz[first_np], (double)s->intensity[first_np]);
    if (descents)
        add(L, r, C_UNSORTED, check_sev[C_UNSORTED],
            "m/z not in ascending order (%u descent%s; first: m/z %g after %g, peak %u); "
            "cleaning sorts them",
            descents, descents == 1 ? "" : "s", s->mz[first_d], s->mz[first_d - 1], first_d + 1);
    double *v = scratch(L, s->n);
    if (!v) {
        L->oom = 1;
        return;
    }
    memcpy(v, s->mz, s->n * sizeof *v);
    qsort(v, s->n, sizeof *v, cmp_double);
    uint32_t dup = 0;
    double first_dup = 0;
    for (uint32_t i = 1; i < s->n; i++)
        if (v[i] == v[i - 1] && (i < 2 || v[i - 1] != v[i - 2]) && dup++ == 0) first_dup = v[i];
    if (dup)
        add(L, r, C_DUP_MZ, check_sev[C_DUP_MZ],
            "%u m/z value%s given more than once (first: %g); build keeps one peak per m/z "
            "(maximum intensity for EI, sum for MS/MS), so which value counts depends on --merge",
            dup, dup == 1 ? "" : "s", first_dup);
    uint32_t close, gaps;
    int pl = npsw_profile_like(s->mz, s->n, &close, &gaps);
    if (pl < 0) L->oom = 1;
    if (pl > 0)
        add(L, r, C_PROFILE, check_sev[C_PROFILE],
            "%u of the %u gaps between neighbouring m/z are below %g Da (%u "
            "points); centroid the data at the source",
            close, gaps, NPSW_PROFILE_GAP_DA, s->n);
}

/* The highest m/z among the peaks with a positive intensity (0 when none), and its intensity. */
static double top_mz(const npsw_spectrum *s, double *intensity)
{
    double top = 0;
    *intensity = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->intensity[i] > 0 && isfinite(s->mz[i]) && s->mz[i] > top) {
            top = s->mz[i];
            *intensity = s->intensity[i];
        }
    return top;
}

static void check_masses(lint *L, size_t r, const npsw_spectrum *s, const npsw_formula *f,
                         int formula_ok)
{
    double inten, top = top_mz(s, &inten);
    if (top <= 0) return;
    (void)inten;
    if (s->precursor_mz > 0) { /* MS/MS: nothing heavier than the precursor (and its isotopes) */
        double lim = s->precursor_mz + L->precursor_tol;
        uint32_t above = 0;
        for (uint32_t i = 0; i < s->n; i++) above += s->intensity[i] > 0 && s->mz[i] > lim;
        if (above)
            add(L, r, C_ABOVE_PREC, check_sev[C_ABOVE_PREC],
                "%u peak%s above precursor m/z %g + %g; highest m/z %g (intensity %g)", above,
                above == 1 ? "" : "s", s->precursor_mz, L->precursor_tol, top, inten);
        return;
    }
    /* EI: no fragment is heavier than the molecular ion; its isotope peaks reach M+2 (13C2,
     * 18O) and 2 more per Cl or Br (37Cl, 81Br: 32 and 97 per cent of the lighter isotope), S
     * or Si (34S, 30Si: 4.5 and 3.4 per cent; SWGDRUG's di- and tri-TMS derivatives show M+3
     * and M+4 at 1-2 per cent of the base peak): M + 2 x (Cl + Br + S + Si) + 2 */
    double mw = s->mw;
    const char *mw_from = "MW";
    if (!(mw > 0) && formula_ok) {
        mw = npsw_formula_mass(f, NPSW_MASS_NOMINAL);
        mw_from = "the formula's nominal mass";
    }
    if (!(mw > 0)) return;
    unsigned halo = formula_ok ? npsw_formula_count(f, "Cl") + npsw_formula_count(f, "Br") +
                                     npsw_formula_count(f, "S") + npsw_formula_count(f, "Si")
                               : 0;
    double allow = round(mw) + 2.0 * halo + 2.0;
    double top_nominal = npsw_nominal_mz(top, npsw_clean_opts_default().bin_boundary);
    if (top_nominal <= allow) return;
    char rule[160];
    snprintf(rule, sizeof rule, "%s %g + 2 x %u (Cl+Br+S+Si) + 2 = %g%s", mw_from, round(mw), halo,
             allow, formula_ok ? "" : " (no formula: no Cl/Br/S/Si allowance)");
    /* The MassBank "trailing zero" (149 written 1490): every m/z a multiple of ten and the
     * tenth of the highest within the allowance. Legitimate nominal spectra with several peaks
     * never have only multiples of ten. */
    int all_tens = 1;
    float base = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (!(s->intensity[i] > 0)) continue;
        if (s->intensity[i] > base) base = s->intensity[i];
        double t = s->mz[i] / 10;
        all_tens &= t == floor(t);
    }
    if (all_tens && npsw_nominal_mz(top / 10, npsw_clean_opts_default().bin_boundary) <= allow) {
        add(L, r, C_TIMES_TEN, check_sev[C_TIMES_TEN],
            "highest m/z %g is above %s, but every m/z is a multiple of 10 and divided by 10 "
            "fits (highest %g): m/z written ten times too large (a trailing zero, as in "
            "MassBank records)",
            top, rule, top / 10);
        return;
    }
    uint32_t above = 0;
    float above_max = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->intensity[i] > 0 &&
            npsw_nominal_mz(s->mz[i], npsw_clean_opts_default().bin_boundary) > allow) {
            above++;
            if (s->intensity[i] > above_max) above_max = s->intensity[i];
        }
    /* Peaks below 1% of the base peak above the allowance are mostly further isotope peaks
     * (13C3 of a C20 compound, 34S 30Si) or background: a note; a peak of 1% or more does not
     * belong to the stated molecule: an error */
    double pct = 100.0 * above_max / base;
    int low = pct < 1.0;
    add(L, r, C_ABOVE_MW, low ? SEV_NOTE : check_sev[C_ABOVE_MW],
        "%u peak%s above %s; highest m/z %g, largest above %.2g%% of the base peak%s", above,
        above == 1 ? "" : "s", rule, top, pct,
        low ? ": low, likely isotope peaks or background"
            : ": wrong MW or formula, or peaks that do not belong to this compound");
}

static void check_identity(lint *L, size_t r, const npsw_spectrum *s, npsw_formula *f,
                           int *formula_ok)
{
    const char *acc = npsw_spectrum_meta(s, NPSW_META_ACCESSION);
    const char *ik = npsw_spectrum_meta(s, NPSW_META_INCHIKEY);
    const char *smi = npsw_spectrum_meta(s, NPSW_META_SMILES);
    const char *fo = npsw_spectrum_meta(s, NPSW_META_FORMULA);
    *formula_ok = 0;
    if (!acc[0])
        add(L, r, C_NO_ACCESSION, check_sev[C_NO_ACCESSION],
            "no accession (DB#, NIST#, MassBank accession): hits cannot be cited and versions "
            "cannot be compared entry by entry");
    if (!ik[0] && !smi[0])
        add(L, r, C_NO_STRUCTURE, check_sev[C_NO_STRUCTURE],
            "no InChIKey and no SMILES: the compound is known by its name only");
    if (ik[0] && !inchikey_ok(ik))
        add(L, r, C_BAD_INCHIKEY, check_sev[C_BAD_INCHIKEY],
            "InChIKey '%.60s' is not of the form XXXXXXXXXXXXXX-XXXXXXXXXX-X (27 characters, "
            "capital letters)",
            ik);
    if (!fo[0]) {
        add(L, r, C_NO_FORMULA, check_sev[C_NO_FORMULA], "no molecular formula");
        return;
    }
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_formula_parse(fo, f, &e) < 0) {
        add(L, r, C_BAD_FORMULA, check_sev[C_BAD_FORMULA], "%s", e.msg);
        return;
    }
    *formula_ok = 1;
    if (s->mw > 0) {
        double nom = npsw_formula_mass(f, NPSW_MASS_NOMINAL);
        double avg = npsw_formula_mass(f, NPSW_MASS_AVERAGE);
        if (fabs(s->mw - nom) > 1 && fabs(s->mw - avg) > 1)
            add(L, r, C_FORMULA_MW, check_sev[C_FORMULA_MW],
                "MW %g differs by more than 1 from formula %s's nominal mass %g and average mass "
                "%.2f",
                s->mw, fo, nom, avg);
    }
}

static void check_record(lint *L, size_t r)
{
    const npsw_spectrum *s = spec_of(L, r);
    npsw_formula f;
    int formula_ok;
    check_identity(L, r, s, &f, &formula_ok);
    check_peaks(L, r, s);
    if (s->n) check_masses(L, r, s, &f, formula_ok);
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Reader warnings of the record being read: a reader warns while it reads a record, so those
 * of one npsw_reader_next call belong to the record it returns. */
typedef struct pending {
    npsw_err *v;
    size_t n, cap;
    int oom;
} pending;

static void collect_warning(void *user, const npsw_err *w)
{
    pending *p = user;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        npsw_err *v = realloc(p->v, cap * sizeof *v);
        if (!v) {
            p->oom = 1;
            return;
        }
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = *w;
}

static int is_hdf5(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char b[8];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(b, 1, 8, f);
    fclose(f);
    return n == 8 && !memcmp(b, sig, 8);
}

static int read_library(lint *L, uint32_t fi)
{
    lint_file *lf = &L->files[fi];
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *lib = npsw_lib_open(lf->path, &e);
    if (!lib) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    const npsw_lib_info *li = npsw_lib_get_info(lib);
    memcpy(lf->sha256, li->content_sha256, sizeof lf->sha256);
    lf->format = "library";
    lf->library = 1;
    lf->nominal = li->clean.nominal;
    uint64_t n = npsw_lib_size(lib);
    for (uint64_t i = 0; i < n; i++) {
        npsw_spectrum *s = spec_slot(L);
        if (!s || npsw_lib_get_spectrum(lib, i, s) < 0 ||
            push_rec(L, fi, 0, i + 1, L->sp.n) == NONE) {
            npsw_lib_free(lib);
            cli_msg("out of memory");
            return EXIT_INTERNAL;
        }
        L->sp.n++;
        lf->n_records++;
    }
    npsw_lib_free(lib);
    return EXIT_OK;
}

static int read_spectra(lint *L, uint32_t fi, const npsw_read_opts *ro_in, int strict)
{
    lint_file *lf = &L->files[fi];
    pending pw = {0};
    npsw_read_opts ro = *ro_in;
    ro.warn = collect_warning;
    ro.warn_user = &pw;
    npsw_err e;
    npsw_err_clear(&e);
    npsw_reader *rd = npsw_reader_open(lf->path, &ro, &e);
    if (!rd) {
        cli_err(&e);
        free(pw.v);
        return cli_exit_code(e.code);
    }
    int rc = EXIT_OK;
    for (uint64_t number = 1;; number++) {
        npsw_spectrum *s = spec_slot(L);
        if (!s) goto nomem;
        pw.n = 0;
        npsw_err_clear(&e);
        int n = npsw_reader_next(rd, s, &e);
        if (n == NPSW_EOF) break;
        if (n == NPSW_ENOMEM || pw.oom) goto nomem;
        if (n < 0) {
            lf->n_bad++;
            if (strict) {
                cli_err(&e);
                cli_msg("%s: stopped at the first bad record (--strict)", lf->path);
                rc = EXIT_INPUT;
                break;
            }
            size_t r = push_rec(L, fi, e.line, number, NONE);
            if (r == NONE) goto nomem;
            add(L, r, C_BAD_RECORD, check_sev[C_BAD_RECORD], "%s (the record is skipped)",
                e.msg);
            continue;
        }
        size_t r = push_rec(L, fi, s->src_line, number, L->sp.n);
        if (r == NONE) goto nomem;
        L->sp.n++;
        lf->n_records++;
        for (size_t w = 0; w < pw.n; w++) {
            /* the readers drop a CAS number whose check digit is wrong, with this warning
             * (spectra_db/src/msp.c; test_cli_lint.sh asserts the pairing) */
            int cas = !strncmp(pw.v[w].msg, "CAS number", 10);
            add(L, r, cas ? C_BAD_CAS : C_READ_WARNING, check_sev[cas ? C_BAD_CAS : C_READ_WARNING],
                "line %llu: %s", (unsigned long long)pw.v[w].line, pw.v[w].msg);
        }
    }
    lf->format = npsw_format_name(npsw_reader_format(rd));
    memcpy(lf->sha256, npsw_reader_sha256(rd), sizeof lf->sha256);
    goto done;
nomem:
    cli_msg("out of memory");
    rc = EXIT_INTERNAL;
done:
    npsw_reader_close(rd);
    free(pw.v);
    return rc;
}

/* ---- checks across records --------------------------------------------------------------- */

typedef struct keyed {
    const char *key;
    size_t rec;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->rec > y->rec) - (x->rec < y->rec);
}

static void duplicate_accessions(lint *L)
{
    keyed *k = malloc((L->n_recs ? L->n_recs : 1) * sizeof *k);
    if (!k) {
        L->oom = 1;
        return;
    }
    size_t n = 0;
    for (size_t r = 0; r < L->n_recs; r++) {
        const npsw_spectrum *s = spec_of(L, r);
        if (s && s->meta[NPSW_META_ACCESSION] && s->meta[NPSW_META_ACCESSION][0])
            k[n++] = (keyed){s->meta[NPSW_META_ACCESSION], r};
    }
    qsort(k, n, sizeof *k, keyed_cmp);
    char wb[600];
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && !strcmp(k[j].key, k[i].key);) j++;
        if (j - i < 2) continue;
        for (size_t m = i; m < j; m++) {
            size_t other = m == i ? k[i + 1].rec : k[i].rec;
            add(L, k[m].rec, C_DUP_ACCESSION, check_sev[C_DUP_ACCESSION],
                "accession %s is used by %zu records; also %s \"%s\"", k[i].key, j - i,
                where(L, other, wb), name_of(L, other));
        }
    }
    free(k);
}

/* FNV-1a over the peak count and the cleaned peaks' bytes. */
static uint64_t peaks_hash(const npsw_spectrum *s)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p;
#define FNV(ptr, len)                                                                     \
    for (p = (const unsigned char *)(ptr); p < (const unsigned char *)(ptr) + (len); p++) \
        h = (h ^ *p) * 1099511628211ull;
    FNV(&s->n, sizeof s->n);
    FNV(s->mz, s->n * sizeof *s->mz);
    FNV(s->intensity, s->n * sizeof *s->intensity);
#undef FNV
    return h;
}

typedef struct hashed {
    uint64_t h;
    size_t rec;
} hashed;

static int hashed_cmp(const void *a, const void *b)
{
    const hashed *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return (x->rec > y->rec) - (x->rec < y->rec);
}

static int same_peaks(const npsw_spectrum *a, const npsw_spectrum *b)
{
    return a->n == b->n && !memcmp(a->mz, b->mz, a->n * sizeof *a->mz) &&
           !memcmp(a->intensity, b->intensity, a->n * sizeof *a->intensity);
}

static void duplicate_spectra(lint *L)
{
    hashed *k = malloc((L->n_recs ? L->n_recs : 1) * sizeof *k);
    if (!k) {
        L->oom = 1;
        return;
    }
    size_t n = 0;
    for (size_t r = 0; r < L->n_recs; r++) {
        const npsw_spectrum *s = spec_of(L, r);
        if (s && s->n) k[n++] = (hashed){peaks_hash(s), r};
    }
    qsort(k, n, sizeof *k, hashed_cmp);
    char wb[600];
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && k[j].h == k[i].h;) j++;
        /* within one hash: each record against the earlier ones (a collision is not a match) */
        for (size_t m = i + 1; m < j; m++)
            for (size_t o = i; o < m; o++) {
                const npsw_spectrum *a = spec_of(L, k[m].rec), *b = spec_of(L, k[o].rec);
                if (!same_peaks(a, b)) continue;
                const char *na = npsw_spectrum_meta(a, NPSW_META_NAME);
                const char *nb = npsw_spectrum_meta(b, NPSW_META_NAME);
                int same_name = !strcasecmp(na, nb);
                add(L, k[m].rec, C_DUP_SPECTRUM, same_name ? SEV_NOTE : SEV_WARNING,
                    "peaks identical (after cleaning, %u peaks) to %s \"%s\"%s", a->n,
                    where(L, k[o].rec, wb), nb,
                    same_name ? " (same name: a repeated record)"
                              : " under another name: one of the two is probably mislabelled");
                break;
            }
    }
    free(k);
}

static void same_name_different_spectrum(lint *L)
{
    keyed *k = malloc((L->n_recs ? L->n_recs : 1) * sizeof *k);
    cli_membuf mb;
    FILE *f = cli_mb_open(&mb);
    size_t *off = malloc((L->n_recs ? L->n_recs : 1) * sizeof *off);
    if (!k || !f || !off) {
        if (f) free(cli_mb_take(&mb, 0));
        free(k);
        free(off);
        L->oom = 1;
        return;
    }
    /* key: 'i' + the InChIKey, else 'n' + the name in lower case (ASCII) */
    size_t n = 0;
    for (size_t r = 0; r < L->n_recs; r++) {
        const npsw_spectrum *s = spec_of(L, r);
        if (!s || !s->n) continue;
        const char *ik = npsw_spectrum_meta(s, NPSW_META_INCHIKEY);
        const char *nm = npsw_spectrum_meta(s, NPSW_META_NAME);
        if (!ik[0] && !nm[0]) continue;
        off[n] = (size_t)ftell(f);
        k[n++].rec = r;
        if (ik[0]) {
            fprintf(f, "i%s", ik);
        } else {
            fputc('n', f);
            for (const char *c = nm; *c; c++) fputc(tolower((unsigned char)*c), f);
        }
        fputc('\0', f);
    }
    char *arena = cli_mb_take(&mb, 0);
    if (!arena) {
        free(k);
        free(off);
        L->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) k[i].key = arena + off[i];
    free(off);
    qsort(k, n, sizeof *k, keyed_cmp);
    char wb[600];
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && !strcmp(k[j].key, k[i].key);) j++;
        if (j - i < 2) continue;
        for (size_t a = i; a < j; a++) {
            const npsw_spectrum *q = spec_of(L, k[a].rec);
            int nom = L->nominal[L->recs[k[a].rec].spec];
            npsw_score_params p = npsw_score_params_default();
            p.nominal = nom;
            double best = -1, best_cos = 0;
            size_t best_rec = NONE, compared = 0;
            for (size_t b = i; b < j; b++) {
                const npsw_spectrum *l = spec_of(L, k[b].rec);
                /* EI and MS/MS spectra of one compound are expected to differ */
                if (b == a || L->nominal[L->recs[k[b].rec].spec] != nom) continue;
                npsw_peaks qp = {q->mz, q->intensity, q->n}, lp = {l->mz, l->intensity, l->n};
                npsw_scores sc;
                npsw_score_pair(&qp, &lp, &p, &sc);
                compared++;
                if (sc.mf > best) {
                    best = sc.mf;
                    best_cos = sc.cosine;
                    best_rec = k[b].rec;
                }
            }
            if (best_rec == NONE || npsw_mf_display(best) >= (int)L->min_mf) continue;
            add(L, k[a].rec, C_SAME_NAME, check_sev[C_SAME_NAME],
                "%s shared with %zu other record%s, but the spectrum is unlike all of them: best "
                "MF %d (cosine %.3f) with %s \"%s\"",
                k[i].key[0] == 'i' ? "InChIKey" : "name", compared, compared == 1 ? "" : "s",
                npsw_mf_display(best), best_cos, where(L, best_rec, wb), name_of(L, best_rec));
        }
    }
    free(arena);
    free(k);
}

/* The spectra as `build` would store them: EI nominal, MS/MS (a precursor) accurate. A library's
 * entries are stored cleaned already. */
static int clean_all(lint *L)
{
    L->nominal = malloc(L->sp.n ? L->sp.n : 1);
    if (!L->nominal) return -1;
    npsw_clean_opts ei = npsw_clean_opts_default(), msms = npsw_clean_opts_msms();
    for (size_t r = 0; r < L->n_recs; r++) {
        size_t i = L->recs[r].spec;
        if (i == NONE) continue;
        const lint_file *f = &L->files[L->recs[r].file];
        npsw_spectrum *s = &L->sp.v[i];
        if (f->library) {
            L->nominal[i] = (unsigned char)f->nominal;
            continue;
        }
        L->nominal[i] = !(s->precursor_mz > 0);
        if (npsw_clean(s, L->nominal[i] ? &ei : &msms, NULL) < 0) return -1;
    }
    return 0;
}

/* ---- output -------------------------------------------------------------------------------- */

typedef cli_report_format lint_format;

static int finding_cmp(const void *a, const void *b)
{
    const finding *x = a, *y = b;
    if (x->rec != y->rec) return x->rec < y->rec ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

typedef struct summary {
    uint64_t by[C_COUNT][3]; /* findings per check and severity */
    uint64_t sev[3], records_with;
} summary;

static void summarise(const lint *L, summary *sm)
{
    memset(sm, 0, sizeof *sm);
    for (size_t i = 0; i < L->n_fd; i++) {
        sm->by[L->fd[i].check][L->fd[i].sev]++;
        sm->sev[L->fd[i].sev]++;
        if (!i || L->fd[i].rec != L->fd[i - 1].rec) sm->records_with++;
    }
}

static void checks_text(const lint *L, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < C_COUNT; c++)
        if (L->enabled[c] && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", check_id[c]);
}

static void params_text(const lint *L, char *buf, size_t size)
{
    snprintf(buf, size, "min_peaks=%lu precursor_tol=%gDa min_mf=%lu mw_allowance=MW+2*(Cl+Br+S+Si)+2",
             L->min_peaks, L->precursor_tol, L->min_mf);
}

/* Summary rows: every enabled check at its usual severity (also when 0), and any other
 * severity it was reported at (duplicate-spectrum: note for a repeated record). */
#define FOR_SUMMARY_ROWS(L, sm, c, s)                                                    \
    for (int c = 0; c < C_COUNT; c++)                                                    \
        for (int s = 2; s >= 0; s--)                                                     \
            if ((L)->enabled[c] && ((sm)->by[c][s] || (severity)s == check_sev[c]))

static void write_text(FILE *f, const lint *L, const summary *sm, const char *utc)
{
    char buf[2048], wb[600];
    fprintf(f, "npswatch lint %s (%s)\n", NPSW_VERSION, utc);
    for (size_t i = 0; i < L->n_files; i++) {
        const lint_file *lf = &L->files[i];
        fprintf(f, "input  %s  %s, %llu records", lf->path, lf->format,
                (unsigned long long)lf->n_records);
        if (lf->n_bad) fprintf(f, " + %llu unreadable", (unsigned long long)lf->n_bad);
        fprintf(f, ", %s %s\n", lf->library ? "content sha256" : "sha256", lf->sha256);
    }
    params_text(L, buf, sizeof buf);
    fprintf(f, "parameters: %s\n", buf);
    checks_text(L, buf, sizeof buf);
    fprintf(f, "checks: %s\n", buf);
    for (size_t i = 0; i < L->n_fd; i++) {
        const finding *x = &L->fd[i];
        if (!i || x->rec != L->fd[i - 1].rec) {
            const npsw_spectrum *s = spec_of(L, x->rec);
            fprintf(f, "\n%s", where(L, x->rec, wb));
            if (L->recs[x->rec].line || !L->files[L->recs[x->rec].file].library)
                fprintf(f, "  record %llu", (unsigned long long)L->recs[x->rec].number);
            if (s) {
                fprintf(f, "  \"%s\"", npsw_spectrum_meta(s, NPSW_META_NAME));
                const char *acc = npsw_spectrum_meta(s, NPSW_META_ACCESSION);
                if (acc[0]) fprintf(f, "  accession %s", acc);
            }
            fputc('\n', f);
        }
        fprintf(f, "  %-8s %s: %s\n", sev_name[x->sev], check_id[x->check], x->msg);
    }
    uint64_t total = 0;
    for (size_t i = 0; i < L->n_files; i++) total += L->files[i].n_records + L->files[i].n_bad;
    fprintf(f,
            "\nSummary: %zu findings in %llu of %llu records (%llu errors, %llu warnings, %llu "
            "notes)\n",
            L->n_fd, (unsigned long long)sm->records_with, (unsigned long long)total,
            (unsigned long long)sm->sev[SEV_ERROR], (unsigned long long)sm->sev[SEV_WARNING],
            (unsigned long long)sm->sev[SEV_NOTE]);
    fprintf(f, "%-30s %-8s %s\n", "check", "severity", "count");
    FOR_SUMMARY_ROWS(L, sm, c, s)
    fprintf(f, "%-30s %-8s %llu\n", check_id[c], sev_name[s], (unsigned long long)sm->by[c][s]);
}

static void write_tsv(FILE *f, const lint *L, const summary *sm, const char *utc)
{
    char buf[2048];
    fprintf(f, "# npswatch_version\t%s\n# utc_time\t%s\n", NPSW_VERSION, utc);
    for (size_t i = 0; i < L->n_files; i++) {
        const lint_file *lf = &L->files[i];
        fprintf(f, "# input_file\t%s\tsha256=%s\tformat=%s\trecords=%llu\tunreadable=%llu\n",
                lf->path, lf->sha256, lf->format, (unsigned long long)lf->n_records,
                (unsigned long long)lf->n_bad);
    }
    params_text(L, buf, sizeof buf);
    fprintf(f, "# parameters\t%s\n", buf);
    checks_text(L, buf, sizeof buf);
    fprintf(f, "# checks\t%s\n", buf);
    FOR_SUMMARY_ROWS(L, sm, c, s)
    fprintf(f, "# count\t%s\t%s\t%llu\n", check_id[c], sev_name[s],
            (unsigned long long)sm->by[c][s]);
    fputs("file\tline\trecord\tname\taccession\tcheck\tseverity\tmessage\n", f);
    for (size_t i = 0; i < L->n_fd; i++) {
        const finding *x = &L->fd[i];
        const rec *r = &L->recs[x->rec];
        const npsw_spectrum *s = spec_of(L, x->rec);
        out_tsv_field(f, L->files[r->file].path);
        fputc('\t', f);
        if (r->line) fprintf(f, "%llu", (unsigned long long)r->line);
        fprintf(f, "\t%llu\t", (unsigned long long)r->number);
        out_tsv_field(f, s ? npsw_spectrum_meta(s, NPSW_META_NAME) : "");
        fputc('\t', f);
        out_tsv_field(f, s ? npsw_spectrum_meta(s, NPSW_META_ACCESSION) : "");
        fprintf(f, "\t%s\t%s\t", check_id[x->check], sev_name[x->sev]);
        out_tsv_raw(f, x->msg);
        fputc('\n', f);
    }
}

static int write_json(FILE *f, const lint *L, const summary *sm, const char *utc)
{
    char buf[2048];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "npswatch_version", NPSW_VERSION);
    cJSON_AddStringToObject(o, "utc_time", utc);
    cJSON *files = cJSON_AddArrayToObject(o, "files");
    for (size_t i = 0; i < L->n_files; i++) {
        const lint_file *lf = &L->files[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "path", lf->path);
        cJSON_AddStringToObject(x, "sha256", lf->sha256);
        cJSON_AddStringToObject(x, "format", lf->format);
        cJSON_AddNumberToObject(x, "records", (double)lf->n_records);
        cJSON_AddNumberToObject(x, "unreadable", (double)lf->n_bad);
        cJSON_AddItemToArray(files, x);
    }
    params_text(L, buf, sizeof buf);
    cJSON_AddStringToObject(o, "parameters", buf);
    cJSON *ch = cJSON_AddArrayToObject(o, "checks");
    for (int c = 0; c < C_COUNT; c++)
        if (L->enabled[c]) cJSON_AddItemToArray(ch, cJSON_CreateString(check_id[c]));
    cJSON *cnt = cJSON_AddObjectToObject(o, "counts");
    for (int s = 2; s >= 0; s--) cJSON_AddNumberToObject(cnt, sev_name[s], (double)sm->sev[s]);
    cJSON_AddNumberToObject(cnt, "records_with_findings", (double)sm->records_with);
    cJSON *sum = cJSON_AddArrayToObject(o, "summary");
    FOR_SUMMARY_ROWS(L, sm, c, s)
    {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "check", check_id[c]);
        cJSON_AddStringToObject(x, "severity", sev_name[s]);
        cJSON_AddNumberToObject(x, "count", (double)sm->by[c][s]);
        cJSON_AddItemToArray(sum, x);
    }
    char *head = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!head) return -1;
    /* the findings are written one per line, not built as one tree (300k records) */
    fprintf(f, "%.*s,\"findings\":[", (int)(strlen(head) - 1), head);
    cJSON_free(head);
    for (size_t i = 0; i < L->n_fd; i++) {
        const finding *x = &L->fd[i];
        const rec *r = &L->recs[x->rec];
        const npsw_spectrum *s = spec_of(L, x->rec);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "file", L->files[r->file].path);
        if (r->line) cJSON_AddNumberToObject(j, "line", (double)r->line);
        else cJSON_AddNullToObject(j, "line");
        cJSON_AddNumberToObject(j, "record", (double)r->number);
        cJSON_AddStringToObject(j, "name", s ? npsw_spectrum_meta(s, NPSW_META_NAME) : "");
        cJSON_AddStringToObject(j, "accession",
                                s ? npsw_spectrum_meta(s, NPSW_META_ACCESSION) : "");
        cJSON_AddStringToObject(j, "check", check_id[x->check]);
        cJSON_AddStringToObject(j, "severity", sev_name[x->sev]);
        cJSON_AddStringToObject(j, "message", x->msg);
        char *t = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!t) return -1;
        fprintf(f, "%s\n%s", i ? "," : "", t);
        cJSON_free(t);
    }
    fputs("]}\n", f);
    return 0;
}

/* ---- the command --------------------------------------------------------------------------- */

/* Set enabled[c] = on for each id of a comma-separated list. */
static int parse_checks(const char *opt, const char *list, int *enabled, int on)
{
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (int c = 0; c < C_COUNT; c++)
            if (strlen(check_id[c]) == len && !strncmp(check_id[c], p, len)) {
                enabled[c] = on;
                found = 1;
            }
        if (!found && len) {
            cli_msg("%s: unknown check '%.*s' (npswatch lint --help lists them)", opt, (int)len,
                    p);
            return -1;
        }
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

enum { OPT_FORMAT = OPT_CLI_LAST, OPT_CHECKS, OPT_SKIP, OPT_MIN_PEAKS, OPT_PREC_TOL, OPT_MIN_MF,
       OPT_EXIT_CODE, OPT_FAIL_ON, OPT_STRICT };

int cmd_lint(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"checks", required_argument, NULL, OPT_CHECKS},
        {"skip", required_argument, NULL, OPT_SKIP},
        {"min-peaks", required_argument, NULL, OPT_MIN_PEAKS},
        {"precursor-tol", required_argument, NULL, OPT_PREC_TOL},
        {"min-mf", required_argument, NULL, OPT_MIN_MF},
        {"exit-code", no_argument, NULL, OPT_EXIT_CODE},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    lint L;
    memset(&L, 0, sizeof L);
    L.min_peaks = 3;
    L.min_mf = 600;
    L.precursor_tol = 1.5;
    for (int c = 0; c < C_COUNT; c++) L.enabled[c] = 1;
    const char *outpath = NULL, *only = NULL, *skip = NULL;
    lint_format fmt = FMT_TEXT;
    int exit_code = 0, strict = 0, bad = 0, c;
    severity fail_on = SEV_ERROR;
    npsw_read_opts ro = npsw_read_opts_default();
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT: bad |= cli_parse_report_format(optarg, &fmt) < 0; break;
        case 'o': outpath = optarg; break;
        case OPT_CHECKS: only = optarg; break;
        case OPT_SKIP: skip = optarg; break;
        case OPT_MIN_PEAKS:
            bad |= cli_parse_uint("--min-peaks", optarg, 1, 1000000, &L.min_peaks) < 0;
            break;
        case OPT_PREC_TOL:
            bad |= cli_parse_double("--precursor-tol", optarg, 0, 1000, &L.precursor_tol) < 0;
            break;
        case OPT_MIN_MF: bad |= cli_parse_uint("--min-mf", optarg, 0, 1000, &L.min_mf) < 0; break;
        case OPT_EXIT_CODE: exit_code = 1; break;
        case OPT_FAIL_ON:
            if (!strcmp(optarg, "error")) fail_on = SEV_ERROR;
            else if (!strcmp(optarg, "warning")) fail_on = SEV_WARNING;
            else if (!strcmp(optarg, "note")) fail_on = SEV_NOTE;
            else {
                cli_msg("--fail-on: expected error, warning or note, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_STRICT: strict = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default:
            if (!cli_read_option(c, optarg, &ro, &bad)) bad = 1;
        }
    }
    if (only) {
        for (int k = 0; k < C_COUNT; k++) L.enabled[k] = 0;
        bad |= parse_checks("--checks", only, L.enabled, 1) < 0;
    }
    if (skip) bad |= parse_checks("--skip", skip, L.enabled, 0) < 0;
    if (!bad && optind >= argc) {
        cli_msg("lint: no input files");
        bad = 1;
    }
    if (bad) {
        help(stderr);
        return EXIT_INPUT;
    }
    int rc = EXIT_OK;
    cli_out out;
    int out_open = 0;
    L.n_files = (size_t)(argc - optind);
    L.files = calloc(L.n_files, sizeof *L.files);
    if (!L.files) goto nomem;
    for (size_t i = 0; i < L.n_files; i++) {
        L.files[i].path = argv[optind + (int)i];
        L.files[i].format = "";
        rc = is_hdf5(L.files[i].path) ? read_library(&L, (uint32_t)i)
                                       : read_spectra(&L, (uint32_t)i, &ro, strict);
        if (rc != EXIT_OK) goto done;
        if (L.oom) goto nomem;
        if (!L.files[i].n_records && !L.files[i].n_bad) {
            cli_msg("%s: no records: not a spectra file (MSP, MGF, JCAMP-DX, CSV/TSV, mzML) or "
                    "library file",
                    L.files[i].path);
            rc = EXIT_INPUT;
            goto done;
        }
    }
    /* a path that cannot be written is reported before the checks */
    if ((rc = cli_out_open(&out, outpath)) != EXIT_OK) goto done;
    out_open = 1;
    for (size_t r = 0; r < L.n_recs; r++)
        if (L.recs[r].spec != NONE) check_record(&L, r);
    if (L.oom || clean_all(&L) < 0) goto nomem;
    if (L.enabled[C_DUP_ACCESSION]) duplicate_accessions(&L);
    if (L.enabled[C_DUP_SPECTRUM]) duplicate_spectra(&L);
    if (L.enabled[C_SAME_NAME]) same_name_different_spectrum(&L);
    if (L.oom) goto nomem;
    if (L.n_fd) qsort(L.fd, L.n_fd, sizeof *L.fd, finding_cmp);
    summary sm;
    summarise(&L, &sm);
    char utc[32];
    npsw_utc_now(utc);
    if (fmt == FMT_JSON) {
        if (write_json(out.f, &L, &sm, utc) < 0) goto nomem;
    } else if (fmt == FMT_TSV) {
        write_tsv(out.f, &L, &sm, utc);
    } else {
        write_text(out.f, &L, &sm, utc);
    }
    out_open = 0;
    rc = cli_out_commit(&out);
    if (rc == EXIT_OK && exit_code)
        for (int s = (int)fail_on; s <= SEV_ERROR; s++)
            if (sm.sev[s]) rc = EXIT_FINDINGS;
    goto done;
nomem:
    cli_msg("lint: out of memory");
    rc = EXIT_INTERNAL;
done:
    if (out_open) cli_out_abort(&out);
    for (size_t i = 0; i < L.n_fd; i++) free(L.fd[i].msg);
    free(L.fd);
    free(L.recs);
    for (size_t i = L.sp.n; i < L.sp.cap; i++) npsw_spectrum_free(&L.sp.v[i]);
    npsw_spectra_free(&L.sp);
    free(L.nominal);
    free(L.scratch);
    free(L.files);
    return rc;
}
