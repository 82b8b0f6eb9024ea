/* cmd_diff.c - npswatch diff: what changed between two versions of a library (docs/cli.md).
 *
 * Entries of OLD and NEW are paired by a key (the accession, else InChIKey + name, else the
 * name; the k-th entry with a key in OLD pairs with the k-th in NEW). Both key lists are sorted
 * and merged, so the work is O(n log n) for n entries; peaks are compared and scored where they
 * lie in the opened libraries (npsw_lib_peaks views), never copied. The comparison runs once and
 * keeps only the indices of what differs; the writers fetch the values again, so memory does not
 * grow with the length of the values. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npsw/config.h"
#include "npsw/libfile.h"

/* Exit status with --exit-code when the contents differ (as `git diff --exit-code` exits 1;
 * here 1 already means bad input). */
enum { EXIT_DIFFERENT = 3 };

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch diff [options] OLD.h5 NEW.h5\n\n"
            "Compares two library files: their identity (name, version, format, content SHA-256,\n"
            "creation time, counts), whether NEW descends from OLD according to the lineage they\n"
            "record (or OLD from NEW, or both from a common ancestor), whether their cleaning\n"
            "parameters differ (then searches against them are not comparable), and the entries:\n"
            "removed (only in OLD), added (only in NEW; with the reason NEW's lineage records),\n"
            "changed (each differing metadata field, precursor m/z, MW, exact mass, retention\n"
            "index and ion mode with old and new value; changed peaks with both peak counts and\n"
            "the MF and cosine of OLD's spectrum searched against NEW's), unchanged, and moved\n"
            "(the fewest paired entries whose relative order changed).\n\n"
            "Entries are paired by a key: the accession when it is not empty, else the InChIKey\n"
            "and the name when the InChIKey is not empty, else the name. When a key occurs more\n"
            "than once in a library, the k-th entry with it in OLD pairs with the k-th in NEW.\n\n"
            "Options:\n"
            "  --format F         text (default: for people), tsv (one row per difference) or\n"
            "                     json (one object)\n"
            "  -o, --output FILE  write here (atomically) instead of standard output\n"
            "  --summary          only the libraries, their relation and the counts\n"
            "  --width N          text: cut values longer than N characters (default 60; 0: never)\n"
            "  --exit-code        exit 3 when the contents differ (entries added, removed,\n"
            "                     changed or moved, or other cleaning), 0 when they do not\n"
            "  -h, --help         this help\n\n"
            "Exit status: 0 when the comparison ran, whatever it found (with --exit-code: 0 no\n"
            "difference, 3 differences); 1 bad usage, a missing file or one that is not a\n"
            "library; 2 internal error. Name, version and creation time are labels: they are\n"
            "shown but are not differences.\n");
}

/* ---- fields compared ------------------------------------------------------------------------ */

/* Every part of an entry the content SHA-256 covers: the metadata columns, the numeric columns
 * and the peaks. Bit f of item.diff is set when field f differs. */
enum { F_PRECURSOR = NPSW_META_COUNT, F_MW, F_EXACT_MASS, F_RI, F_ION_MODE, F_PEAKS, F_COUNT };
_Static_assert(F_COUNT <= 32, "item.diff holds one bit per field");

static const char *field_name(int f)
{
    static const char *const other[] = {"precursor_mz", "mw", "exact_mass", "retention_index",
                                        "ion_mode", "peaks"};
    return f < NPSW_META_COUNT ? npsw_meta_column(f) : other[f - NPSW_META_COUNT];
}

static double num_of(const npsw_lib *lib, uint64_t i, int f)
{
    switch (f) {
    case F_PRECURSOR: return npsw_lib_precursor_mz(lib, i);
    case F_MW: return npsw_lib_mw(lib, i);
    case F_EXACT_MASS: return npsw_lib_exact_mass(lib, i);
    case F_RI: return npsw_lib_retention_index(lib, i);
    default: return npsw_lib_ion_mode(lib, i);
    }
}

/* Shortest decimal that reads back as the same double: a changed MW of 290 -> 290.0001 must
 * not print as "290 -> 290". */
static const char *num_text(double v, char buf[32])
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, 32, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

/* ---- one library ------------------------------------------------------------------------- */

typedef struct side {
    const char *path;
    npsw_lib *lib;
    const npsw_lib_info *li;
    npsw_spectrum spare; /* a copy of entry spare_i, for values npsw_lib_meta cuts */
    uint64_t spare_i;
    int oom;             /* that copy failed: the cut value was used (reported as an error) */
} side;

/* Metadata field f of entry i in full. npsw_lib_meta cuts values at 4095 bytes; for the rare
 * longer one (a long comment) the entry is copied, so that two values differing only after the
 * cut are not reported equal. Valid until the third next call (npsw_lib_meta's ring). */
static const char *meta_of(side *s, uint64_t i, int f)
{
    const char *v = npsw_lib_meta(s->lib, i, f);
    if (strlen(v) < 4095) return v;
    if (s->spare_i != i) {
        if (npsw_lib_get_spectrum(s->lib, i, &s->spare) < 0) {
            s->oom = 1;
            return v;
        }
        s->spare_i = i;
    }
    return npsw_spectrum_meta(&s->spare, f);
}

enum key_kind { KEY_ACCESSION, KEY_INCHIKEY_NAME, KEY_NAME };
static const char *const key_kind_name[] = {"accession", "inchikey+name", "name"};

static enum key_kind key_kind_of(side *s, uint64_t i)
{
    if (meta_of(s, i, NPSW_META_ACCESSION)[0]) return KEY_ACCESSION;
    return meta_of(s, i, NPSW_META_INCHIKEY)[0] ? KEY_INCHIKEY_NAME : KEY_NAME;
}

/* The key as people read it: the accession; the InChIKey, one space and the name (an InChIKey
 * has no spaces, so the first space separates them); or the name. */
static void key_write(FILE *f, side *s, uint64_t i, enum key_kind k)
{
    if (k == KEY_ACCESSION) {
        fputs(meta_of(s, i, NPSW_META_ACCESSION), f);
        return;
    }
    if (k == KEY_INCHIKEY_NAME) fprintf(f, "%s ", meta_of(s, i, NPSW_META_INCHIKEY));
    fputs(meta_of(s, i, NPSW_META_NAME), f);
}

typedef struct keyed {
    const char *key; /* the kind as one character, then key_write's text */
    uint64_t index;  /* 0-based entry */
    uint64_t occ;    /* how many entries before it in this library have the same key */
    size_t off;      /* offset of key in the arena while it grows */
} keyed;

typedef struct keys {
    char *arena;
    keyed *v;
    uint64_t n, n_repeated;
} keys;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Key and occurrence of every entry, sorted by (key, occurrence). The keys are written one
 * after the other into one memory stream (a NUL after each), so 1M entries cost one growing
 * buffer rather than 1M allocations. */
static int keys_make(side *s, keys *k)
{
    memset(k, 0, sizeof k[0]);
    k->n = npsw_lib_size(s->lib);
    k->v = malloc((k->n ? k->n : 1) * sizeof *k->v);
    cli_membuf mb;
    FILE *f = cli_mb_open(&mb);
    if (!k->v || !f) {
        if (f) free(cli_mb_take(&mb, 0));
        return -1;
    }
    for (uint64_t i = 0; i < k->n; i++) {
        enum key_kind kind = key_kind_of(s, i);
        k->v[i].off = (size_t)ftell(f);
        k->v[i].index = i;
        k->v[i].occ = 0;
        fputc("ain"[kind], f);
        key_write(f, s, i, kind);
        fputc('\0', f);
    }
    k->arena = cli_mb_take(&mb, 0);
    if (!k->arena) return -1;
    for (uint64_t i = 0; i < k->n; i++) k->v[i].key = k->arena + k->v[i].off;
    qsort(k->v, k->n, sizeof *k->v, keyed_cmp);
    for (uint64_t i = 1; i < k->n; i++)
        if (!strcmp(k->v[i].key, k->v[i - 1].key)) {
            k->v[i].occ = k->v[i - 1].occ + 1;
            k->n_repeated++;
        }
    return 0;
}

static void keys_free(keys *k)
{
    free(k->arena);
    free(k->v);
}

/* ---- the comparison ---------------------------------------------------------------------- */

#define NONE UINT64_MAX

typedef struct item {
    uint64_t old_i, new_i; /* 0-based; NONE when not in that library */
    uint64_t occ;          /* occurrence of its key (0: the first) */
    uint32_t diff;         /* changed: bit f for each differing field */
    npsw_scores sc;        /* changed peaks: OLD's spectrum as the query, NEW's as the library */
} item;

typedef struct items {
    item *v;
    size_t n, cap;
} items;

static int items_push(items *l, item x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        item *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return 0;
}

/* "k=v k=v ..." of npsw_clean_opts_describe, as pairs */
typedef struct kv {
    char k[32], v[64];
} kv;
typedef struct clean_diff {
    const char *param, *old_v, *new_v;
} clean_diff;

typedef enum { REL_SAME, REL_NEW_DESCENDS, REL_OLD_DESCENDS, REL_COMMON, REL_UNRELATED } rel_kind;
static const char *const rel_name[] = {"same_content", "new_descends_from_old",
                                       "old_descends_from_new", "common_ancestor", "unrelated"};

typedef struct diff {
    side o, n;
    char utc[32];
    rel_kind rel;
    size_t generations;               /* REL_*_DESCENDS: versions between (1 = parent) */
    const npsw_lib_ancestor *common;  /* REL_COMMON */
    char rel_text[1024];
    int lineage_ok;                   /* REL_NEW_DESCENDS: the diff is what the lineage says */
    char clean_o[256], clean_n[256];
    kv kv_o[16], kv_n[16];
    clean_diff cd[32];
    size_t n_cd;
    items removed, added, changed;
    uint64_t matched, unchanged, moved, repeated_o, repeated_n;
    uint64_t field_count[F_COUNT];
    int differs;
} diff;

static size_t split_kv(const char *s, kv *out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        size_t len = strcspn(s, " ");
        const char *eq = memchr(s, '=', len);
        if (eq) {
            snprintf(out[n].k, sizeof out[n].k, "%.*s", (int)(eq - s), s);
            snprintf(out[n].v, sizeof out[n].v, "%.*s", (int)(len - (size_t)(eq - s) - 1), eq + 1);
            n++;
        }
        s += len;
        s += strspn(s, " ");
    }
    return n;
}

/* The cleaning parameters that differ, by name (a parameter only one side has: "(none)"). */
static void compare_cleaning(diff *d)
{
    npsw_clean_opts_describe(&d->o.li->clean, d->clean_o, sizeof d->clean_o);
    npsw_clean_opts_describe(&d->n.li->clean, d->clean_n, sizeof d->clean_n);
    size_t no = split_kv(d->clean_o, d->kv_o, 16), nn = split_kv(d->clean_n, d->kv_n, 16);
    for (size_t i = 0; i < no; i++) {
        const char *nv = "(none)";
        for (size_t j = 0; j < nn; j++)
            if (!strcmp(d->kv_o[i].k, d->kv_n[j].k)) nv = d->kv_n[j].v;
        if (strcmp(d->kv_o[i].v, nv))
            d->cd[d->n_cd++] = (clean_diff){d->kv_o[i].k, d->kv_o[i].v, nv};
    }
    for (size_t j = 0; j < nn; j++) {
        int found = 0;
        for (size_t i = 0; i < no; i++) found |= !strcmp(d->kv_o[i].k, d->kv_n[j].k);
        if (!found) d->cd[d->n_cd++] = (clean_diff){d->kv_n[j].k, "(none)", d->kv_n[j].v};
    }
    /* the description is the content's definition of the cleaning; should two differ in a way
     * the pairs above miss, they still differ */
    if (!d->n_cd && strcmp(d->clean_o, d->clean_n))
        d->cd[d->n_cd++] = (clean_diff){"description", d->clean_o, d->clean_n};
}

/* How many versions back the library with content SHA-256 `sha` is in a lineage: 1 for the
 * parent, k for the k-th ancestor from the parent towards the root; 0 when it is not there. */
static size_t descent(const npsw_lib_lineage *g, const char *sha)
{
    if (!strcmp(g->parent_sha256, sha)) return 1;
    for (size_t k = g->n_ancestors; k-- > 0;)
        if (!strcmp(g->ancestors[k].content_sha256, sha)) return g->n_ancestors - k;
    return 0;
}

/* How the lineages relate the two: descent is read from the child's recorded parent and
 * ancestry (provenance the files record; the ledger, not this command, vouches for it). */
static void relate(diff *d)
{
    const npsw_lib_info *o = d->o.li, *n = d->n.li;
    const npsw_lib_lineage *go = &o->lineage, *gn = &n->lineage;
    size_t len;
    if (!strcmp(o->content_sha256, n->content_sha256)) {
        d->rel = REL_SAME;
        snprintf(d->rel_text, sizeof d->rel_text, "same content (equal content SHA-256)");
    } else if ((d->generations = descent(gn, o->content_sha256))) {
        d->rel = REL_NEW_DESCENDS;
        len = (size_t)snprintf(d->rel_text, sizeof d->rel_text,
                               "NEW descends from OLD (NEW's lineage): %s",
                               d->generations == 1 ? "OLD is NEW's parent"
                                                   : "OLD is an ancestor of NEW");
        if (d->generations > 1 && d->generations <= gn->n_ancestors) {
            /* the versions in between, from NEW's chain */
            len += (size_t)snprintf(d->rel_text + len, sizeof d->rel_text - len,
                                    ", %zu versions back:", d->generations);
            for (size_t a = gn->n_ancestors - d->generations; a < gn->n_ancestors; a++)
                if (len < sizeof d->rel_text)
                    len += (size_t)snprintf(d->rel_text + len, sizeof d->rel_text - len, " %s ->",
                                            gn->ancestors[a].version);
            if (len < sizeof d->rel_text)
                len += (size_t)snprintf(d->rel_text + len, sizeof d->rel_text - len, " %s",
                                        n->version);
        }
        if (gn->advisory_key[0] && len < sizeof d->rel_text)
            snprintf(d->rel_text + len, sizeof d->rel_text - len, "; NEW made by advisory %s",
                     gn->advisory_key);
    } else if ((d->generations = descent(go, n->content_sha256))) {
        d->rel = REL_OLD_DESCENDS;
        snprintf(d->rel_text, sizeof d->rel_text,
                 "OLD descends from NEW (OLD's lineage, %zu version%s back): the arguments look "
                 "swapped",
                 d->generations, d->generations == 1 ? "" : "s");
    } else {
        d->rel = REL_UNRELATED;
        for (size_t a = gn->n_ancestors; a-- > 0 && !d->common;)
            if (descent(go, gn->ancestors[a].content_sha256)) d->common = &gn->ancestors[a];
        if (d->common) {
            d->rel = REL_COMMON;
            snprintf(d->rel_text, sizeof d->rel_text,
                     "neither descends from the other; both descend from version %s (content "
                     "sha256 %s)",
                     d->common->version, d->common->content_sha256);
        } else {
            snprintf(d->rel_text, sizeof d->rel_text,
                     "unrelated: neither lineage records the other library or a common ancestor");
        }
    }
}

static int peaks_equal(const npsw_peaks *a, const npsw_peaks *b)
{
    return a->n == b->n && (!a->n || (!memcmp(a->mz, b->mz, a->n * sizeof *a->mz) &&
                                      !memcmp(a->in, b->in, a->n * sizeof *a->in)));
}

/* Which fields of OLD's entry oi and NEW's entry ni differ (bitwise, as the content SHA-256
 * sees them), and the scores of changed peaks. */
static void compare_pair(diff *d, const npsw_score_params *sp, item *it)
{
    uint32_t m = 0;
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        const char *a = meta_of(&d->o, it->old_i, f), *b = meta_of(&d->n, it->new_i, f);
        if (strcmp(a, b)) m |= 1u << f;
    }
    for (int f = F_PRECURSOR; f < F_PEAKS; f++) {
        double a = num_of(d->o.lib, it->old_i, f), b = num_of(d->n.lib, it->new_i, f);
        if (memcmp(&a, &b, sizeof a)) m |= 1u << f;
    }
    npsw_peaks pa = npsw_lib_peaks(d->o.lib, it->old_i), pb = npsw_lib_peaks(d->n.lib, it->new_i);
    if (!peaks_equal(&pa, &pb)) {
        m |= 1u << F_PEAKS;
        npsw_score_pair(&pa, &pb, sp, &it->sc);
    }
    it->diff = m;
}

/* Paired entries whose relative order changed: the pairs, taken in OLD's order, minus the
 * longest run with increasing NEW indices (patience sorting, O(n log n)). new_of_old[i] is
 * NONE for entries of OLD that were removed. */
static int count_moved(const uint64_t *new_of_old, uint64_t n_old, uint64_t matched,
                       uint64_t *moved)
{
    uint64_t *tail = malloc((matched ? matched : 1) * sizeof *tail), len = 0;
    if (!tail) return -1;
    for (uint64_t i = 0; i < n_old; i++) {
        uint64_t x = new_of_old[i];
        if (x == NONE) continue;
        uint64_t lo = 0, hi = len;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (tail[mid] < x) lo = mid + 1;
            else hi = mid;
        }
        tail[lo] = x;
        if (lo == len) len++;
    }
    free(tail);
    *moved = matched - len;
    return 0;
}

static int item_cmp_old(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return x->old_i < y->old_i ? -1 : x->old_i > y->old_i;
}

static int item_cmp_new(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return x->new_i < y->new_i ? -1 : x->new_i > y->new_i;
}

/* An empty list has no array, and qsort's array must not be NULL even for 0 elements. */
static void items_sort(items *l, int (*cmp)(const void *, const void *))
{
    if (l->n) qsort(l->v, l->n, sizeof *l->v, cmp);
}

static int compare(diff *d)
{
    keys ko, kn;
    uint64_t *new_of_old = NULL;
    int rc = -1;
    memset(&kn, 0, sizeof kn);
    if (keys_make(&d->o, &ko) < 0 || keys_make(&d->n, &kn) < 0) goto done;
    d->repeated_o = ko.n_repeated;
    d->repeated_n = kn.n_repeated;
    new_of_old = malloc((ko.n ? ko.n : 1) * sizeof *new_of_old);
    if (!new_of_old) goto done;
    for (uint64_t i = 0; i < ko.n; i++) new_of_old[i] = NONE;
    /* the scores of a search with default parameters (nominal matching when both are nominal) */
    npsw_score_params sp = npsw_search_opts_default().params;
    sp.nominal = d->o.li->clean.nominal && d->n.li->clean.nominal;
    uint64_t a = 0, b = 0;
    while (a < ko.n || b < kn.n) {
        /* equal keys are sorted by index on both sides, so walking them together pairs the
         * k-th with the k-th; the surplus of the side with more falls out as removed or added */
        int c = a == ko.n ? 1 : b == kn.n ? -1 : strcmp(ko.v[a].key, kn.v[b].key);
        item it = {.old_i = NONE, .new_i = NONE};
        if (c < 0) {
            it.old_i = ko.v[a].index;
            it.occ = ko.v[a++].occ;
            if (items_push(&d->removed, it) < 0) goto done;
        } else if (c > 0) {
            it.new_i = kn.v[b].index;
            it.occ = kn.v[b++].occ;
            if (items_push(&d->added, it) < 0) goto done;
        } else {
            it.old_i = ko.v[a].index;
            it.new_i = kn.v[b].index;
            it.occ = ko.v[a].occ;
            a++, b++;
            d->matched++;
            new_of_old[it.old_i] = it.new_i;
            compare_pair(d, &sp, &it);
            if (!it.diff) {
                d->unchanged++;
                continue;
            }
            for (int f = 0; f < F_COUNT; f++) d->field_count[f] += it.diff >> f & 1;
            if (items_push(&d->changed, it) < 0) goto done;
        }
    }
    if (count_moved(new_of_old, ko.n, d->matched, &d->moved) < 0) goto done;
    items_sort(&d->removed, item_cmp_old);
    items_sort(&d->added, item_cmp_new);
    items_sort(&d->changed, item_cmp_old);
    d->differs = d->removed.n || d->added.n || d->changed.n || d->moved || d->n_cd;
    /* a version made from a parent only appends entries (npsw_lib_append): anything else means
     * the lineage does not describe this content */
    if (d->rel == REL_NEW_DESCENDS)
        d->lineage_ok = !d->removed.n && !d->changed.n && !d->moved && !d->n_cd &&
                        (d->generations > 1 || d->added.n == d->n.li->lineage.n_added);
    rc = (d->o.oom || d->n.oom) ? -1 : 0;
done:
    free(new_of_old);
    keys_free(&ko);
    keys_free(&kn);
    return rc;
}

/* NEW's lineage record of added entry i (0-based), or NULL. */
static const npsw_lib_addition *addition_of(const diff *d, uint64_t i)
{
    const npsw_lib_lineage *g = &d->n.li->lineage;
    size_t lo = 0, hi = g->n_added; /* ascending by index (docs/format.md) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->added[mid].index < i) lo = mid + 1;
        else hi = mid;
    }
    return lo < g->n_added && g->added[lo].index == i ? &g->added[lo] : NULL;
}

/* ---- values as text ---------------------------------------------------------------------- */

static const char *ion_mode_name(int m)
{
    return m == NPSW_ION_POSITIVE ? "positive" : m == NPSW_ION_NEGATIVE ? "negative" : "unknown";
}

/* Field f of entry i as text: the metadata value, a number ("" for 0 = unknown) or the ion
 * mode's name. */
static const char *value_of(side *s, uint64_t i, int f, char buf[32])
{
    if (f < NPSW_META_COUNT) return meta_of(s, i, f);
    double v = num_of(s->lib, i, f);
    if (f == F_ION_MODE) return ion_mode_name((int)v);
    if (v == 0) return "";
    return num_text(v, buf);
}

/* A value on one line of the text report: line breaks and tabs shown as \n and \t, other
 * control characters as '?', at most `width` characters (UTF-8 sequences kept whole), "..."
 * when cut; "(empty)" for an empty value. */
static void text_value(FILE *f, const char *s, unsigned long width)
{
    if (!*s) {
        fputs("(empty)", f);
        return;
    }
    unsigned long chars = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c & 0xC0) != 0x80 && width && chars++ == width) {
            fputs("...", f);
            return;
        }
        if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f) fputc('?', f);
        else fputc(c, f);
    }
}

/* 1-based position of the first character (UTF-8 code point) where a and b differ. */
static unsigned long first_difference(const char *a, const char *b)
{
    unsigned long chars = 0;
    for (; *a && *a == *b; a++, b++)
        if (((unsigned char)*a & 0xC0) != 0x80) chars++;
    /* a difference inside a multi-byte character belongs to that character */
    int inside = ((unsigned char)*a & 0xC0) == 0x80 || ((unsigned char)*b & 0xC0) == 0x80;
    return inside ? chars : chars + 1;
}

/* The entry's key and name for a section line: `accession A  "NAME"` */
static void text_entry(FILE *f, side *s, uint64_t i, uint64_t occ, unsigned long width)
{
    enum key_kind k = key_kind_of(s, i);
    if (k == KEY_ACCESSION) fprintf(f, "accession %s  ", meta_of(s, i, NPSW_META_ACCESSION));
    else if (k == KEY_INCHIKEY_NAME) fprintf(f, "inchikey %s  ", meta_of(s, i, NPSW_META_INCHIKEY));
    else fputs("name ", f);
    fputc('"', f);
    text_value(f, meta_of(s, i, NPSW_META_NAME), width);
    fputc('"', f);
    if (occ) fprintf(f, "  (entry %llu with this key)", (unsigned long long)occ + 1);
    fputc('\n', f);
}

/* ---- text ------------------------------------------------------------------------------- */

static void text_library(FILE *f, const char *label, const side *s)
{
    const npsw_lib_info *li = s->li;
    fprintf(f, "%s  %s\n", label, s->path);
    fprintf(f, "     name \"%s\", version %s, format %d.%d, created %s\n", li->name, li->version,
            li->format_major, li->format_minor, li->created_utc);
    fprintf(f, "     content sha256 %s\n", li->content_sha256);
    fprintf(f, "     %llu spectra, %llu peaks\n", (unsigned long long)npsw_lib_size(s->lib),
            (unsigned long long)npsw_lib_npeaks(s->lib));
}

static void text_summary(FILE *f, const diff *d)
{
    fprintf(f, "npswatch diff %s (UTC %s)\n", NPSW_VERSION, d->utc);
    text_library(f, "OLD", &d->o);
    text_library(f, "NEW", &d->n);
    fprintf(f, "relation: %s\n", d->rel_text);
    if (d->rel == REL_NEW_DESCENDS && !d->lineage_ok)
        fprintf(f, "warning: NEW's lineage says it was made from OLD by adding entries, but the "
                   "entries differ otherwise (below)\n");
    if (!d->n_cd) {
        fprintf(f, "cleaning: same (%s)\n", d->clean_o);
    } else {
        fprintf(f, "cleaning: DIFFERENT: peak lists and search results of the two libraries are "
                   "not comparable\n");
        for (size_t i = 0; i < d->n_cd; i++)
            fprintf(f, "  %s: %s -> %s\n", d->cd[i].param, d->cd[i].old_v, d->cd[i].new_v);
    }
    fprintf(f, "entries paired by: accession, else InChIKey + name, else name\n");
    fprintf(f, "entries: OLD %llu, NEW %llu, paired %llu\n",
            (unsigned long long)npsw_lib_size(d->o.lib),
            (unsigned long long)npsw_lib_size(d->n.lib),
            (unsigned long long)d->matched);
    fprintf(f, "unchanged: %llu\nchanged: %zu", (unsigned long long)d->unchanged, d->changed.n);
    const char *sep = " (";
    for (int k = 0; k < F_COUNT; k++)
        if (d->field_count[k]) {
            fprintf(f, "%s%s %llu", sep, field_name(k), (unsigned long long)d->field_count[k]);
            sep = ", ";
        }
    fprintf(f, "%s\nremoved: %zu\nadded: %zu\nmoved: %llu\n", d->changed.n ? ")" : "",
            d->removed.n, d->added.n, (unsigned long long)d->moved);
    if (d->repeated_o || d->repeated_n)
        fprintf(f, "repeated keys: OLD %llu, NEW %llu entries repeat an earlier key (paired in "
                   "order of occurrence)\n",
                (unsigned long long)d->repeated_o, (unsigned long long)d->repeated_n);
    fprintf(f, "differences: %s\n", d->differs ? "yes" : "no (same content)");
}

static void text_sections(FILE *f, diff *d, unsigned long width)
{
    if (d->removed.n) fprintf(f, "\nRemoved: only in OLD (%zu)\n", d->removed.n);
    for (size_t r = 0; r < d->removed.n; r++) {
        const item *it = &d->removed.v[r];
        fprintf(f, "  old %llu  ", (unsigned long long)it->old_i + 1);
        text_entry(f, &d->o, it->old_i, it->occ, width);
    }
    if (d->added.n) fprintf(f, "\nAdded: only in NEW (%zu)\n", d->added.n);
    for (size_t r = 0; r < d->added.n; r++) {
        const item *it = &d->added.v[r];
        fprintf(f, "  new %llu  ", (unsigned long long)it->new_i + 1);
        text_entry(f, &d->n, it->new_i, it->occ, width);
        const npsw_lib_addition *ad = addition_of(d, it->new_i);
        if (ad) fprintf(f, "      lineage: %s\n", ad->reason);
    }
    if (d->changed.n) fprintf(f, "\nChanged (%zu)\n", d->changed.n);
    for (size_t r = 0; r < d->changed.n; r++) {
        const item *it = &d->changed.v[r];
        fprintf(f, "  old %llu -> new %llu  ", (unsigned long long)it->old_i + 1,
                (unsigned long long)it->new_i + 1);
        text_entry(f, &d->n, it->new_i, it->occ, width);
        for (int k = 0; k < F_PEAKS; k++) {
            if (!(it->diff >> k & 1)) continue;
            char b1[32], b2[32];
            const char *v1 = value_of(&d->o, it->old_i, k, b1);
            const char *v2 = value_of(&d->n, it->new_i, k, b2);
            fprintf(f, "      %s: ", field_name(k));
            text_value(f, k < NPSW_META_COUNT || *v1 ? v1 : "(none)", width);
            fputs(" -> ", f);
            text_value(f, k < NPSW_META_COUNT || *v2 ? v2 : "(none)", width);
            /* two long values may look the same once cut: say where they part */
            unsigned long at = first_difference(v1, v2);
            if (width && at > width) fprintf(f, "  (first difference at character %lu)", at);
            fputc('\n', f);
        }
        if (it->diff >> F_PEAKS & 1)
            fprintf(f, "      peaks: %u -> %u peaks, MF %d, cosine %.4f\n",
                    npsw_lib_peaks(d->o.lib, it->old_i).n, npsw_lib_peaks(d->n.lib, it->new_i).n,
                    npsw_mf_display(it->sc.mf), it->sc.cosine);
    }
}

/* ---- tsv -------------------------------------------------------------------------------- */

static void tsv_library(FILE *f, const char *p, const side *s, const char *clean)
{
    const npsw_lib_info *li = s->li;
    fprintf(f, "# %s_file\t", p);
    out_tsv_field(f, s->path);
    fprintf(f, "\n# %s_name\t", p);
    out_tsv_field(f, li->name);
    fprintf(f, "\n# %s_version\t", p);
    out_tsv_field(f, li->version);
    fprintf(f, "\n# %s_format\t%d.%d\n# %s_created_utc\t%s\n# %s_sha256\t%s\n", p,
            li->format_major, li->format_minor, p, li->created_utc, p, li->content_sha256);
    fprintf(f, "# %s_spectra\t%llu\n# %s_peaks\t%llu\n# %s_cleaning\t%s\n", p,
            (unsigned long long)npsw_lib_size(s->lib), p,
            (unsigned long long)npsw_lib_npeaks(s->lib),
            p, clean);
}

static void tsv_summary(FILE *f, const diff *d)
{
    fprintf(f, "# npswatch_version\t%s\n# utc_time\t%s\n", NPSW_VERSION, d->utc);
    tsv_library(f, "old", &d->o, d->clean_o);
    tsv_library(f, "new", &d->n, d->clean_n);
    fprintf(f, "# relation\t%s\n# relation_text\t", rel_name[d->rel]);
    out_tsv_raw(f, d->rel_text);
    if (d->rel == REL_NEW_DESCENDS)
        fprintf(f, "\n# lineage_consistent\t%s", d->lineage_ok ? "yes" : "no");
    fprintf(f, "\n# cleaning_same\t%s\n", d->n_cd ? "no" : "yes");
    for (size_t i = 0; i < d->n_cd; i++)
        fprintf(f, "# cleaning_difference\t%s\t%s\t%s\n", d->cd[i].param, d->cd[i].old_v,
                d->cd[i].new_v);
    fprintf(f, "# key\taccession, else inchikey+name, else name; the k-th entry with a key in "
               "old pairs with the k-th in new\n");
    fprintf(f, "# paired\t%llu\n# unchanged\t%llu\n# changed\t%zu\n# removed\t%zu\n# added\t%zu\n"
               "# moved\t%llu\n# repeated_keys_old\t%llu\n# repeated_keys_new\t%llu\n",
            (unsigned long long)d->matched, (unsigned long long)d->unchanged, d->changed.n,
            d->removed.n, d->added.n, (unsigned long long)d->moved,
            (unsigned long long)d->repeated_o, (unsigned long long)d->repeated_n);
    for (int k = 0; k < F_COUNT; k++)
        if (d->field_count[k])
            fprintf(f, "# changed_%s\t%llu\n", field_name(k),
                    (unsigned long long)d->field_count[k]);
    fprintf(f, "# differences\t%s\n", d->differs ? "yes" : "no");
}

static const char tsv_header[] = "change\tkey_kind\tkey\toccurrence\told_index\tnew_index\tname\t"
                                 "field\told_value\tnew_value\tmf\tcosine\tnote\n";

/* The columns up to `name` of one row; s and i: the entry whose key and name are shown. */
static void tsv_row_start(FILE *f, const char *change, side *s, uint64_t i, const item *it)
{
    enum key_kind k = key_kind_of(s, i);
    cli_membuf mb;
    fprintf(f, "%s\t%s\t", change, key_kind_name[k]);
    FILE *kf = cli_mb_open(&mb);
    if (kf) { /* the key goes through the TSV escaping like every other field */
        key_write(kf, s, i, k);
        char *key = cli_mb_take(&mb, 0);
        out_tsv_field(f, key ? key : "");
        free(key);
    }
    fprintf(f, "\t%llu\t", (unsigned long long)it->occ + 1);
    if (it->old_i != NONE) fprintf(f, "%llu", (unsigned long long)it->old_i + 1);
    fputc('\t', f);
    if (it->new_i != NONE) fprintf(f, "%llu", (unsigned long long)it->new_i + 1);
    fputc('\t', f);
    out_tsv_field(f, meta_of(s, i, NPSW_META_NAME));
}

static void tsv_rows(FILE *f, diff *d)
{
    fputs(tsv_header, f);
    for (size_t r = 0; r < d->removed.n; r++) {
        tsv_row_start(f, "removed", &d->o, d->removed.v[r].old_i, &d->removed.v[r]);
        fputs("\t\t\t\t\t\t\n", f);
    }
    for (size_t r = 0; r < d->added.n; r++) {
        const item *it = &d->added.v[r];
        tsv_row_start(f, "added", &d->n, it->new_i, it);
        fputs("\t\t\t\t\t\t", f);
        const npsw_lib_addition *ad = addition_of(d, it->new_i);
        if (ad) out_tsv_field(f, ad->reason);
        fputc('\n', f);
    }
    for (size_t r = 0; r < d->changed.n; r++) {
        const item *it = &d->changed.v[r];
        for (int k = 0; k < F_COUNT; k++) {
            if (!(it->diff >> k & 1)) continue;
            tsv_row_start(f, "changed", &d->n, it->new_i, it);
            fprintf(f, "\t%s\t", field_name(k));
            if (k == F_PEAKS) {
                fprintf(f, "%u\t%u\t%d\t%.4f\t\n", npsw_lib_peaks(d->o.lib, it->old_i).n,
                        npsw_lib_peaks(d->n.lib, it->new_i).n, npsw_mf_display(it->sc.mf),
                        it->sc.cosine);
                continue;
            }
            char b[32];
            out_tsv_field(f, value_of(&d->o, it->old_i, k, b));
            fputc('\t', f);
            out_tsv_field(f, value_of(&d->n, it->new_i, k, b));
            fputs("\t\t\t\n", f);
        }
    }
}

/* ---- json ------------------------------------------------------------------------------- */

static cJSON *json_library(const side *s, const char *clean)
{
    const npsw_lib_info *li = s->li;
    char fmt[16];
    snprintf(fmt, sizeof fmt, "%d.%d", li->format_major, li->format_minor);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", s->path);
    cJSON_AddStringToObject(o, "name", li->name);
    cJSON_AddStringToObject(o, "version", li->version);
    cJSON_AddStringToObject(o, "format", fmt);
    cJSON_AddStringToObject(o, "created_utc", li->created_utc);
    cJSON_AddStringToObject(o, "npswatch_version", li->npsw_version);
    cJSON_AddStringToObject(o, "content_sha256", li->content_sha256);
    cJSON_AddNumberToObject(o, "spectra", (double)npsw_lib_size(s->lib));
    cJSON_AddNumberToObject(o, "peaks", (double)npsw_lib_npeaks(s->lib));
    cJSON_AddStringToObject(o, "cleaning", clean);
    cJSON_AddStringToObject(o, "parent_sha256", li->lineage.parent_sha256);
    cJSON_AddStringToObject(o, "advisory", li->lineage.advisory_key);
    return o;
}

static cJSON *json_head(const diff *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "npswatch_version", NPSW_VERSION);
    cJSON_AddStringToObject(o, "utc_time", d->utc);
    cJSON *libs = cJSON_AddObjectToObject(o, "libraries");
    cJSON_AddItemToObject(libs, "old", json_library(&d->o, d->clean_o));
    cJSON_AddItemToObject(libs, "new", json_library(&d->n, d->clean_n));
    cJSON *rel = cJSON_AddObjectToObject(o, "relation");
    cJSON_AddStringToObject(rel, "kind", rel_name[d->rel]);
    if (d->rel == REL_NEW_DESCENDS || d->rel == REL_OLD_DESCENDS)
        cJSON_AddNumberToObject(rel, "generations", (double)d->generations);
    if (d->common) {
        cJSON *c = cJSON_AddObjectToObject(rel, "common_ancestor");
        cJSON_AddStringToObject(c, "version", d->common->version);
        cJSON_AddStringToObject(c, "content_sha256", d->common->content_sha256);
    }
    if (d->rel == REL_NEW_DESCENDS) cJSON_AddBoolToObject(rel, "lineage_consistent", d->lineage_ok);
    cJSON_AddStringToObject(rel, "text", d->rel_text);
    cJSON_AddBoolToObject(o, "cleaning_same", d->n_cd == 0);
    cJSON *cd = cJSON_AddArrayToObject(o, "cleaning_differences");
    for (size_t i = 0; i < d->n_cd; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "parameter", d->cd[i].param);
        cJSON_AddStringToObject(x, "old", d->cd[i].old_v);
        cJSON_AddStringToObject(x, "new", d->cd[i].new_v);
        cJSON_AddItemToArray(cd, x);
    }
    cJSON_AddStringToObject(o, "key", "accession, else inchikey+name, else name; the k-th entry "
                                      "with a key in old pairs with the k-th in new");
    cJSON *c = cJSON_AddObjectToObject(o, "counts");
    cJSON_AddNumberToObject(c, "old_spectra", (double)npsw_lib_size(d->o.lib));
    cJSON_AddNumberToObject(c, "new_spectra", (double)npsw_lib_size(d->n.lib));
    cJSON_AddNumberToObject(c, "paired", (double)d->matched);
    cJSON_AddNumberToObject(c, "unchanged", (double)d->unchanged);
    cJSON_AddNumberToObject(c, "changed", (double)d->changed.n);
    cJSON_AddNumberToObject(c, "removed", (double)d->removed.n);
    cJSON_AddNumberToObject(c, "added", (double)d->added.n);
    cJSON_AddNumberToObject(c, "moved", (double)d->moved);
    cJSON_AddNumberToObject(c, "repeated_keys_old", (double)d->repeated_o);
    cJSON_AddNumberToObject(c, "repeated_keys_new", (double)d->repeated_n);
    cJSON *cf = cJSON_AddObjectToObject(c, "changed_fields");
    for (int k = 0; k < F_COUNT; k++)
        if (d->field_count[k])
            cJSON_AddNumberToObject(cf, field_name(k), (double)d->field_count[k]);
    cJSON_AddBoolToObject(o, "differences", d->differs);
    return o;
}

/* An entry as a JSON object: key, occurrence, indices (1-based), name, accession, InChIKey. */
static cJSON *json_entry(side *s, uint64_t i, const item *it)
{
    enum key_kind k = key_kind_of(s, i);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key_kind", key_kind_name[k]);
    cli_membuf mb;
    FILE *kf = cli_mb_open(&mb);
    if (kf) key_write(kf, s, i, k);
    char *key = kf ? cli_mb_take(&mb, 0) : NULL;
    cJSON_AddStringToObject(o, "key", key ? key : "");
    free(key);
    cJSON_AddNumberToObject(o, "occurrence", (double)(it->occ + 1));
    if (it->old_i != NONE) cJSON_AddNumberToObject(o, "old_index", (double)(it->old_i + 1));
    if (it->new_i != NONE) cJSON_AddNumberToObject(o, "new_index", (double)(it->new_i + 1));
    cJSON_AddStringToObject(o, "name", meta_of(s, i, NPSW_META_NAME));
    cJSON_AddStringToObject(o, "accession", meta_of(s, i, NPSW_META_ACCESSION));
    cJSON_AddStringToObject(o, "inchikey", meta_of(s, i, NPSW_META_INCHIKEY));
    return o;
}

static cJSON *json_value(side *s, uint64_t i, int f)
{
    if (f < NPSW_META_COUNT) return cJSON_CreateString(meta_of(s, i, f));
    double v = num_of(s->lib, i, f);
    if (f == F_ION_MODE) return cJSON_CreateString(ion_mode_name((int)v));
    return v == 0 ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *json_changed(diff *d, const item *it)
{
    cJSON *o = json_entry(&d->n, it->new_i, it);
    cJSON *fields = cJSON_AddArrayToObject(o, "fields");
    for (int k = 0; k < F_PEAKS; k++) {
        if (!(it->diff >> k & 1)) continue;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "field", field_name(k));
        cJSON_AddItemToObject(x, "old", json_value(&d->o, it->old_i, k));
        cJSON_AddItemToObject(x, "new", json_value(&d->n, it->new_i, k));
        cJSON_AddItemToArray(fields, x);
    }
    if (it->diff >> F_PEAKS & 1) {
        cJSON *p = cJSON_AddObjectToObject(o, "peaks");
        cJSON_AddNumberToObject(p, "old_peaks", npsw_lib_peaks(d->o.lib, it->old_i).n);
        cJSON_AddNumberToObject(p, "new_peaks", npsw_lib_peaks(d->n.lib, it->new_i).n);
        cJSON_AddNumberToObject(p, "mf", npsw_mf_display(it->sc.mf));
        cJSON_AddNumberToObject(p, "rmf", npsw_mf_display(it->sc.rmf));
        cJSON_AddNumberToObject(p, "cosine", it->sc.cosine);
        cJSON_AddNumberToObject(p, "n_matched", it->sc.n_matched);
    } else {
        cJSON_AddNullToObject(o, "peaks");
    }
    return o;
}

/* Print one array element (consumed) on its own line. */
static int json_put(FILE *f, cJSON *x, int first)
{
    char *s = x ? cJSON_PrintUnformatted(x) : NULL;
    cJSON_Delete(x);
    if (!s) return -1;
    fprintf(f, "%s\n%s", first ? "" : ",", s);
    cJSON_free(s);
    return 0;
}

/* One JSON object. The arrays are written element by element (one line each) instead of being
 * built as one tree: a diff of two 1M-entry libraries would otherwise hold every value twice. */
static int json_write(FILE *f, diff *d, int summary)
{
    cJSON *head = json_head(d);
    char *s = head ? cJSON_PrintUnformatted(head) : NULL;
    cJSON_Delete(head);
    if (!s) return -1;
    size_t len = strlen(s);
    if (summary) {
        fprintf(f, "%s\n", s);
        cJSON_free(s);
        return 0;
    }
    fprintf(f, "%.*s", (int)(len - 1), s); /* without its closing brace */
    cJSON_free(s);
    fputs(",\"removed\":[", f);
    for (size_t r = 0; r < d->removed.n; r++)
        if (json_put(f, json_entry(&d->o, d->removed.v[r].old_i, &d->removed.v[r]), !r) < 0)
            return -1;
    fputs("],\"added\":[", f);
    for (size_t r = 0; r < d->added.n; r++) {
        const item *it = &d->added.v[r];
        cJSON *x = json_entry(&d->n, it->new_i, it);
        const npsw_lib_addition *ad = addition_of(d, it->new_i);
        if (ad) {
            cJSON_AddStringToObject(x, "reason", ad->reason);
            cJSON_AddStringToObject(x, "advisory", d->n.li->lineage.advisory_key);
        }
        if (json_put(f, x, !r) < 0) return -1;
    }
    fputs("],\"changed\":[", f);
    for (size_t r = 0; r < d->changed.n; r++)
        if (json_put(f, json_changed(d, &d->changed.v[r]), !r) < 0) return -1;
    fputs("]}\n", f);
    return 0;
}

/* ---- the command ------------------------------------------------------------------------ */

typedef cli_report_format diff_format;

static int open_side(side *s, const char *path)
{
    npsw_err e;
    npsw_err_clear(&e);
    s->path = path;
    s->spare_i = NONE;
    npsw_spectrum_init(&s->spare);
    s->lib = npsw_lib_open(path, &e);
    if (!s->lib) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    s->li = npsw_lib_get_info(s->lib);
    return EXIT_OK;
}

enum { OPT_FORMAT = 1, OPT_SUMMARY, OPT_WIDTH, OPT_EXIT_CODE };

int cmd_diff(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"summary", no_argument, NULL, OPT_SUMMARY},
        {"width", required_argument, NULL, OPT_WIDTH},
        {"exit-code", no_argument, NULL, OPT_EXIT_CODE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    diff_format fmt = FMT_TEXT;
    const char *outpath = NULL;
    int summary = 0, exit_code = 0, bad = 0, c;
    unsigned long width = 60;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT: bad |= cli_parse_report_format(optarg, &fmt) < 0; break;
        case 'o': outpath = optarg; break;
        case OPT_SUMMARY: summary = 1; break;
        case OPT_WIDTH: bad |= cli_parse_uint("--width", optarg, 0, 1000000, &width) < 0; break;
        case OPT_EXIT_CODE: exit_code = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default: bad = 1;
        }
    }
    if (!bad && optind + 2 != argc) {
        cli_msg("diff: expected two library files, OLD.h5 and NEW.h5");
        bad = 1;
    }
    if (bad) {
        help(stderr);
        return EXIT_INPUT;
    }
    diff *d = calloc(1, sizeof *d);
    if (!d) {
        cli_msg("out of memory");
        return EXIT_INTERNAL;
    }
    int rc = open_side(&d->o, argv[optind]);
    if (rc == EXIT_OK) rc = open_side(&d->n, argv[optind + 1]);
    if (rc != EXIT_OK) goto done;
    /* the output is opened before the comparison, which takes a while on large libraries: a
     * path that cannot be written is reported at once */
    cli_out out;
    if ((rc = cli_out_open(&out, outpath)) != EXIT_OK) goto done;
    npsw_utc_now(d->utc);
    relate(d);
    compare_cleaning(d);
    if (compare(d) < 0) {
        cli_out_abort(&out);
        cli_msg("diff: out of memory comparing %s and %s", d->o.path, d->n.path);
        rc = EXIT_INTERNAL;
        goto done;
    }
    int wrc = 0;
    if (fmt == FMT_JSON) {
        wrc = json_write(out.f, d, summary);
    } else if (fmt == FMT_TSV) {
        tsv_summary(out.f, d);
        if (!summary) tsv_rows(out.f, d);
    } else {
        text_summary(out.f, d);
        if (!summary) text_sections(out.f, d, width);
    }
    if (wrc < 0 || d->o.oom || d->n.oom) {
        cli_out_abort(&out);
        cli_msg("diff: out of memory writing the comparison");
        rc = EXIT_INTERNAL;
        goto done;
    }
    rc = cli_out_commit(&out);
    if (rc == EXIT_OK && exit_code && d->differs) rc = EXIT_DIFFERENT;
done:
    free(d->removed.v);
    free(d->added.v);
    free(d->changed.v);
    npsw_spectrum_free(&d->o.spare);
    npsw_spectrum_free(&d->n.spare);
    npsw_lib_free(d->n.lib);
    npsw_lib_free(d->o.lib);
    free(d);
    return rc;
}
