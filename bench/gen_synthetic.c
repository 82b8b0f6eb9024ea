/* gen_synthetic.c - SYNTHETIC EI-like spectra for benchmarks (not real spectra).
 *
 * usage: npsw_gen_synthetic --library N --queries Q --seed S -o PREFIX
 *                           [--families M] [--unrelated F]
 *
 * Writes
 *   PREFIX_library.msp  N records "synthetic-1" .. "synthetic-N" (the number is the 1-based
 *                       library index, i.e. npswatch's hit_index)
 *   PREFIX_queries.msp  Q records "synthetic-query-1" .. "synthetic-query-Q"
 *   PREFIX_truth.tsv    query_index (1-based) -> library_index (1-based; 0 = unrelated query)
 * Every record carries "Comments: synthetic, not a real spectrum" and an "MW:" line: its family's
 * molecular weight (a noisy copy carries its parent's, an unrelated query its own family's), the
 * library mass hybrid (analogue) search needs; identity search ignores it.
 *
 * Model (deliberately simple, see bench/README.md):
 *   - M compound families (default N/4). A family has a "molecular weight" MW in [180, 600] (median
 *     ~330) and a core of peaks: nominal m/z in [30, MW], drawn with density falling with mass
 *     (m/z = 30 + (MW - 30) u^1.8, u uniform), plus the molecular ion at MW; intensities are
 *     log-normal (sigma 1.8, chosen so that the intensity quantiles after scaling are close to
 *     SWGDRUG 3.4's: median ~8, a quarter <= 2) with one to three dominant ions.
 *   - Library spectrum i belongs to family f(i) (a hash of i, so families are spread over the
 *     library). It keeps each core peak with probability 0.8, jitters its log-intensity
 *     (sigma 0.35) and adds its own peaks until it has its target count (uniform 50..150, at most
 *     75 % of the m/z positions below MW). Members of one family are therefore related spectra
 *     (isomer-like), which is what makes pruning hard.
 *   - Intensities are scaled so the base peak is 999 and rounded; a peak never drops below 1.
 *   - A query is, with probability 1 - F (default F = 0.2), a noisy copy of a uniformly chosen
 *     library spectrum: multiplicative intensity noise (log-normal, sigma 0.25), peaks below 5 %
 *     of the base dropped with probability 0.3, 0..10 small peaks (1..30) added at new m/z; or,
 *     with probability F, a spectrum of a family not in the library (truth 0).
 *
 * Deterministic for a seed: every spectrum is generated from its own counter-based random stream
 * (splitmix64 of seed, kind and index), so library spectrum i is the same whatever N and Q are
 * (as long as M is the same), and queries regenerate the spectrum they copy instead of keeping
 * the library in memory (1,000,000 spectra take no memory to speak of).
 * Links nothing but libc and libm.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MZ_LO 30
#define MZ_HI 600
#define MAXP 256
#define MW_LO 180
#define MW_HI 600
#define SIGMA 1.8 /* log-normal intensities: quantiles close to SWGDRUG 3.4's */

/* ---- random numbers: xoshiro256** seeded from splitmix64 ------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* An independent stream for (seed, kind, index). */
static void rng_seed(rng *r, uint64_t seed, uint64_t kind, uint64_t index)
{
    uint64_t x = seed ^ (kind * 0xD1B54A32D192ED03ull);
    x ^= splitmix64(&x) + index * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static double rng_unif(rng *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

static uint32_t rng_below(rng *r, uint32_t n) { return (uint32_t)(rng_unif(r) * n); }

static double rng_normal(rng *r)
{
    double u1 = rng_unif(r), u2 = rng_unif(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

enum { STREAM_FAMILY = 1, STREAM_MEMBER, STREAM_QUERY, STREAM_UNRELATED, STREAM_ASSIGN };

/* ---- spectra ---------------------------------------------------------------------------- */

typedef struct spec {
    int n;
    int mz[MAXP];
    double logi[MAXP]; /* log intensity (before scaling) */
    int mw;
} spec;

/* m/z below MW, denser at low mass */
static int draw_mz(rng *r, int mw)
{
    double u = rng_unif(r);
    int m = MZ_LO + (int)floor((mw - MZ_LO) * pow(u, 1.8));
    return m > mw ? mw : m;
}

/* Add a peak at a free m/z (drawn; after 64 collisions, the next free one upwards from a
 * drawn position). Returns 0 when every position up to MW is taken. */
static int add_peak(spec *s, unsigned char *used, rng *r, double logi)
{
    if (s->n >= MAXP) return 0;
    int m = draw_mz(r, s->mw);
    for (int tries = 0; tries < 64 && used[m]; tries++) m = draw_mz(r, s->mw);
    for (int k = 0; used[m] && k <= s->mw - MZ_LO; k++) m = m < s->mw ? m + 1 : MZ_LO;
    if (used[m]) return 0;
    used[m] = 1;
    s->mz[s->n] = m;
    s->logi[s->n] = logi;
    s->n++;
    return 1;
}

static int target_count(rng *r, int mw)
{
    int n = 50 + (int)rng_below(r, 101); /* 50..150 */
    int cap = (int)(0.75 * (mw - MZ_LO + 1));
    return n > cap ? cap : n;
}

/* The core of family f (stream STREAM_FAMILY for library families, STREAM_UNRELATED for
 * families that only queries use). */
static void family_core(spec *c, uint64_t seed, int stream, uint64_t f)
{
    rng r;
    rng_seed(&r, seed, (uint64_t)stream, f);
    unsigned char used[MZ_HI + 1];
    memset(used, 0, sizeof used);
    c->n = 0;
    c->mw = MW_LO + (int)floor((MW_HI - MW_LO) * pow(rng_unif(&r), 1.5)); /* median ~330 */
    used[c->mw] = 1; /* molecular ion: moderate */
    c->mz[c->n] = c->mw;
    c->logi[c->n++] = 2.0 + 1.0 * rng_normal(&r);
    int n = target_count(&r, c->mw);
    while (c->n < n)
        if (!add_peak(c, used, &r, SIGMA * rng_normal(&r))) break;
    int ndom = 1 + (int)rng_below(&r, 3); /* dominant ions, preferably at low mass */
    for (int k = 0; k < ndom && c->n > 1; k++) {
        int i = 1 + (int)rng_below(&r, (uint32_t)(c->n - 1));
        c->logi[i] = 4.6 + 0.3 * rng_normal(&r);
    }
}

/* A member of the family with core c, from stream r. */
static void family_member(spec *s, const spec *c, rng *r)
{
    unsigned char used[MZ_HI + 1];
    memset(used, 0, sizeof used);
    s->n = 0;
    s->mw = c->mw;
    int n = target_count(r, c->mw);
    for (int i = 0; i < c->n && s->n < n; i++) {
        if (rng_unif(r) >= 0.8) continue;
        used[c->mz[i]] = 1;
        s->mz[s->n] = c->mz[i];
        s->logi[s->n++] = c->logi[i] + 0.35 * rng_normal(r);
    }
    while (s->n < n)
        if (!add_peak(s, used, r, SIGMA * rng_normal(r))) break;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Scale to base peak 999, round (>= 1), sort by m/z; writes mz[]/in[] pairs. */
static int finish(const spec *s, int *out /* 2 * n: mz, intensity */)
{
    double mx = -1e300;
    for (int i = 0; i < s->n; i++)
        if (s->logi[i] > mx) mx = s->logi[i];
    for (int i = 0; i < s->n; i++) {
        long v = lround(999.0 * exp(s->logi[i] - mx));
        out[2 * i] = s->mz[i];
        out[2 * i + 1] = v < 1 ? 1 : v > 999 ? 999 : (int)v;
    }
    qsort(out, (size_t)s->n, 2 * sizeof(int), cmp_int);
    return s->n;
}

static void write_msp(FILE *f, const char *name, const char *acc, const spec *s)
{
    int pk[2 * MAXP];
    int n = finish(s, pk);
    fprintf(f, "Name: %s\nDB#: %s\nMW: %d\nComments: synthetic, not a real spectrum\nNum Peaks: %d\n",
            name, acc, s->mw, n);
    for (int i = 0; i < n; i++) fprintf(f, "%d %d\n", pk[2 * i], pk[2 * i + 1]);
    fputc('\n', f);
}

static uint64_t family_of(uint64_t seed, uint64_t i, uint64_t m)
{
    rng r;
    rng_seed(&r, seed, STREAM_ASSIGN, i);
    return rng_next(&r) % m;
}

static void library_spectrum(spec *s, uint64_t seed, uint64_t i, uint64_t m, uint64_t *fam)
{
    spec core;
    uint64_t f = family_of(seed, i, m);
    family_core(&core, seed, STREAM_FAMILY, f);
    rng r;
    rng_seed(&r, seed, STREAM_MEMBER, i);
    family_member(s, &core, &r);
    if (fam) *fam = f;
}

/* Noisy copy: intensity noise, small peaks dropped, small peaks added. */
static void noisy_copy(spec *s, rng *r)
{
    double mx = -1e300;
    for (int i = 0; i < s->n; i++)
        if (s->logi[i] > mx) mx = s->logi[i];
    unsigned char used[MZ_HI + 1];
    memset(used, 0, sizeof used);
    int k = 0;
    for (int i = 0; i < s->n; i++) {
        int small = s->logi[i] - mx < log(0.05);
        if (small && rng_unif(r) < 0.3) continue;
        s->mz[k] = s->mz[i];
        s->logi[k] = s->logi[i] + 0.25 * rng_normal(r);
        used[s->mz[k]] = 1;
        k++;
    }
    s->n = k;
    int nadd = (int)rng_below(r, 11);
    for (int a = 0; a < nadd; a++) {
        double v = 1.0 + 29.0 * rng_unif(r); /* 1..30 on the 0..999 scale */
        add_peak(s, used, r, mx + log(v / 999.0));
    }
}

/* ---- main ------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: npsw_gen_synthetic --library N --queries Q --seed S -o PREFIX\n"
               "                          [--families M] [--unrelated F]\n"
               "Writes PREFIX_library.msp, PREFIX_queries.msp and PREFIX_truth.tsv: SYNTHETIC\n"
               "EI-like spectra for benchmarks (see the comment at the top of gen_synthetic.c).\n"
               "  --families M   compound families (default N/4, at least 1)\n"
               "  --unrelated F  fraction of queries from families not in the library (0.2)\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return -1;
    *out = v;
    return 0;
}

static FILE *open_out(const char *prefix, const char *suffix, char *path, size_t size)
{
    snprintf(path, size, "%s%s", prefix, suffix);
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "npsw_gen_synthetic: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

int main(int argc, char **argv)
{
    uint64_t n = 0, q = 0, seed = 1, m = 0;
    double unrelated = 0.2;
    const char *prefix = NULL;
    int have_n = 0, have_q = 0;
    for (int i = 1; i < argc; i += 2) { /* options come in pairs: --name value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 1;
        }
        int bad = 0;
        if (!strcmp(a, "--library")) bad = parse_u64(v, &n), have_n = 1;
        else if (!strcmp(a, "--queries")) bad = parse_u64(v, &q), have_q = 1;
        else if (!strcmp(a, "--seed")) bad = parse_u64(v, &seed);
        else if (!strcmp(a, "--families")) bad = parse_u64(v, &m);
        else if (!strcmp(a, "--unrelated")) {
            char *end;
            unrelated = strtod(v, &end);
            bad = *end || !(unrelated >= 0 && unrelated <= 1);
        } else if (!strcmp(a, "-o")) prefix = v;
        else bad = 1;
        if (bad) {
            fprintf(stderr, "npsw_gen_synthetic: bad option %s %s\n", a, v);
            usage(stderr);
            return 1;
        }
    }
    if (!have_n || !have_q || !prefix || n == 0) {
        usage(stderr);
        return 1;
    }
    if (m == 0) m = n / 4 ? n / 4 : 1;
    char path[4096];
    FILE *fl = open_out(prefix, "_library.msp", path, sizeof path);
    if (!fl) return 1;
    static spec s;
    char name[64], acc[64];
    for (uint64_t i = 0; i < n; i++) {
        library_spectrum(&s, seed, i, m, NULL);
        snprintf(name, sizeof name, "synthetic-%llu", (unsigned long long)i + 1);
        snprintf(acc, sizeof acc, "SYN-L-%llu", (unsigned long long)i + 1);
        write_msp(fl, name, acc, &s);
    }
    if (fclose(fl) != 0) {
        fprintf(stderr, "npsw_gen_synthetic: write error on %s\n", path);
        return 1;
    }
    FILE *fq = open_out(prefix, "_queries.msp", path, sizeof path);
    if (!fq) return 1;
    char tpath[4096];
    FILE *ft = open_out(prefix, "_truth.tsv", tpath, sizeof tpath);
    if (!ft) return 1;
    fprintf(ft, "query_index\tquery_name\tkind\tlibrary_index\tlibrary_name\tfamily\n");
    for (uint64_t j = 0; j < q; j++) {
        rng r;
        rng_seed(&r, seed, STREAM_QUERY, j);
        snprintf(name, sizeof name, "synthetic-query-%llu", (unsigned long long)j + 1);
        snprintf(acc, sizeof acc, "SYN-Q-%llu", (unsigned long long)j + 1);
        if (rng_unif(&r) < unrelated) {
            spec core;
            family_core(&core, seed, STREAM_UNRELATED, j);
            family_member(&s, &core, &r);
            noisy_copy(&s, &r);
            fprintf(ft, "%llu\t%s\tunrelated\t0\t\t-1\n", (unsigned long long)j + 1, name);
        } else {
            uint64_t li = rng_next(&r) % n, fam;
            library_spectrum(&s, seed, li, m, &fam);
            noisy_copy(&s, &r);
            fprintf(ft, "%llu\t%s\tcopy\t%llu\tsynthetic-%llu\t%llu\n", (unsigned long long)j + 1,
                    name, (unsigned long long)li + 1, (unsigned long long)li + 1,
                    (unsigned long long)fam);
        }
        write_msp(fq, name, acc, &s);
    }
    if (fclose(fq) != 0 || fclose(ft) != 0) {
        fprintf(stderr, "npsw_gen_synthetic: write error\n");
        return 1;
    }
    return 0;
}
