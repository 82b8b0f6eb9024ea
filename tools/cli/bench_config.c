/* bench_config.c - the configuration file of `npswatch bench` (docs/cli.md, "bench"):
 * INI-like `key = value` lines, a global part and [dataset NAME] sections. Every error names
 * the file and line. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_config.h"
#include "cli.h"

typedef struct parser {
    const char *path;
    unsigned line;
    char dir[4096]; /* the config file's directory */
} parser;

static int perr(const parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(const parser *p, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->line) cli_msg("%s:%u: %s", p->path, p->line, msg);
    else cli_msg("%s: %s", p->path, msg);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* ${VAR} and ${VAR:-default}; then a relative path is taken from the config file's directory. */
static int expand_path(const parser *p, const char *v, char **out)
{
    char buf[4096];
    size_t n = 0;
    for (const char *s = v; *s;) {
        if (s[0] == '$' && s[1] == '{') {
            const char *end = strchr(s, '}');
            if (!end) return perr(p, "'${' without '}' in '%s'", v);
            char name[256], def[1024];
            size_t len = (size_t)(end - s - 2);
            if (len >= sizeof name) return perr(p, "variable name too long in '%s'", v);
            memcpy(name, s + 2, len);
            name[len] = '\0';
            const char *d = NULL;
            char *colon = strstr(name, ":-");
            if (colon) {
                *colon = '\0';
                snprintf(def, sizeof def, "%s", colon + 2);
                d = def;
            }
            const char *val = getenv(name);
            if (!val || !*val) val = d;
            if (!val) return perr(p, "environment variable %s is not set (in '%s')", name, v);
            size_t vl = strlen(val);
            if (n + vl >= sizeof buf) return perr(p, "path too long: '%s'", v);
            memcpy(buf + n, val, vl);
            n += vl;
            s = end + 1;
        } else {
            if (n + 1 >= sizeof buf) return perr(p, "path too long: '%s'", v);
            buf[n++] = *s++;
        }
    }
    buf[n] = '\0';
    if (!n) return perr(p, "empty path");
    char full[8192];
    if (buf[0] == '/' || !p->dir[0]) snprintf(full, sizeof full, "%s", buf);
    else snprintf(full, sizeof full, "%s/%s", p->dir, buf);
    if (!(*out = strdup(full))) return perr(p, "out of memory");
    return 0;
}

static int need_file(const parser *p, const char *key, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return perr(p, "%s: %s: %s", key, path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return perr(p, "%s: %s is a directory, expected a file", key, path);
    return 0;
}

static int parse_uint_list(const parser *p, const char *key, char *v, unsigned long lo,
                           unsigned long hi, uint32_t *out, size_t cap, size_t *n)
{
    *n = 0;
    for (char *t = strtok(v, " \t,"); t; t = strtok(NULL, " \t,")) {
        char *end;
        errno = 0;
        unsigned long u = strtoul(t, &end, 10);
        if (*end || errno || t[0] == '-' || u < lo || u > hi)
            return perr(p, "%s: '%s' is not a whole number from %lu to %lu", key, t, lo, hi);
        if (*n == cap) return perr(p, "%s: more than %zu values", key, cap);
        for (size_t i = 0; i < *n; i++)
            if (out[i] == u) return perr(p, "%s: %lu given twice", key, u);
        out[(*n)++] = (uint32_t)u;
    }
    if (!*n) return perr(p, "%s: no value", key);
    /* ascending, for the plots */
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint32_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return 0;
}

static int name_ok(const char *s)
{
    if (!*s || strlen(s) >= BENCH_NAME_MAX) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._-", *s)) return 0;
    return 1;
}

void bench_config_free(bench_config *c)
{
    if (!c) return;
    for (size_t d = 0; d < c->n_ds; d++) {
        bench_dataset *ds = &c->ds[d];
        free(ds->library);
        free(ds->truth);
        for (size_t i = 0; i < ds->n_queries; i++) free(ds->queries[i]);
        for (size_t i = 0; i < ds->n_ext; i++) free(ds->ext[i].path);
    }
    memset(c, 0, sizeof *c);
}

static int dataset_key(const parser *p, bench_dataset *ds, const char *key, char *v)
{
    if (!strcmp(key, "library")) {
        if (ds->library) return perr(p, "library given twice in dataset '%s'", ds->name);
        if (expand_path(p, v, &ds->library) < 0) return -1;
        return need_file(p, key, ds->library);
    }
    if (!strcmp(key, "queries")) {
        if (ds->n_queries == BENCH_MAX_FILES)
            return perr(p, "more than %d query files in dataset '%s'", BENCH_MAX_FILES, ds->name);
        if (expand_path(p, v, &ds->queries[ds->n_queries]) < 0) return -1;
        ds->n_queries++;
        return need_file(p, key, ds->queries[ds->n_queries - 1]);
    }
    if (!strcmp(key, "truth")) {
        if (ds->truth) return perr(p, "truth given twice in dataset '%s'", ds->name);
        if (expand_path(p, v, &ds->truth) < 0) return -1;
        return need_file(p, key, ds->truth);
    }
    if (!strcmp(key, "external")) {
        if (ds->n_ext == BENCH_MAX_EXT)
            return perr(p, "more than %d external tables in dataset '%s'", BENCH_MAX_EXT, ds->name);
        char *sp = v;
        while (*sp && !isspace((unsigned char)*sp)) sp++;
        if (!*sp) return perr(p, "external: expected 'NAME PATH', got '%s'", v);
        *sp++ = '\0';
        char *path = trim(sp);
        bench_external *e = &ds->ext[ds->n_ext];
        if (!name_ok(v))
            return perr(p, "external: name '%s' must be 1-%d letters, digits, '.', '_' or '-'", v,
                        BENCH_NAME_MAX - 1);
        for (int m = 0; m < NPSW_SCORE_COUNT; m++)
            if (!strcmp(v, npsw_score_name((npsw_score_kind)m)) || !strcmp(v, "analysis"))
                return perr(p, "external: name '%s' is taken by a built-in method", v);
        for (size_t i = 0; i < ds->n_ext; i++)
            if (!strcmp(ds->ext[i].name, v)) return perr(p, "external: name '%s' given twice", v);
        snprintf(e->name, sizeof e->name, "%s", v);
        if (expand_path(p, path, &e->path) < 0) return -1;
        e->line = p->line;
        ds->n_ext++;
        return need_file(p, key, e->path);
    }
    if (!strcmp(key, "leave_out")) {
        if (!strcmp(v, "none")) ds->leave_out = 0;
        else if (!strcmp(v, "compound")) ds->leave_out = 1;
        else return perr(p, "leave_out: '%s' (expected none or compound)", v);
        return 0;
    }
    if (!strcmp(key, "sample") || !strcmp(key, "max_queries")) {
        char *end;
        errno = 0;
        unsigned long u = strtoul(v, &end, 10);
        unsigned long lo = !strcmp(key, "sample") ? 1 : 0;
        if (*end || errno || v[0] == '-' || !*v || u < lo || u > 100000000)
            return perr(p, "%s: '%s' is not a whole number from %lu to 100000000", key, v, lo);
        if (!strcmp(key, "sample")) ds->sample = (uint32_t)u;
        else ds->max_queries = (uint32_t)u;
        return 0;
    }
    return perr(p, "unknown key '%s' in a [dataset] section (library, queries, truth, external, "
                   "leave_out, sample, max_queries)",
                key);
}

static int global_key(const parser *p, bench_config *c, const char *key, char *v, unsigned *seen)
{
    static const char *keys[] = {"name", "methods", "k", "threads", "analysis"};
    for (unsigned i = 0; i < 5; i++)
        if (!strcmp(key, keys[i])) {
            if (*seen & (1u << i)) return perr(p, "%s given twice", key);
            *seen |= 1u << i;
        }
    if (!strcmp(key, "name")) {
        snprintf(c->name, sizeof c->name, "%s", v);
        return 0;
    }
    if (!strcmp(key, "methods")) {
        c->n_methods = 0;
        for (char *t = strtok(v, " \t,"); t; t = strtok(NULL, " \t,")) {
            int m = npsw_score_from_name(t);
            if (m < 0)
                return perr(p, "methods: unknown score '%s' (wmf, mf, rmf, cosine, entropy)", t);
            for (size_t i = 0; i < c->n_methods; i++)
                if (c->methods[i] == m) return perr(p, "methods: '%s' given twice", t);
            c->methods[c->n_methods++] = m;
        }
        if (!c->n_methods) return perr(p, "methods: no value");
        return 0;
    }
    if (!strcmp(key, "k"))
        return parse_uint_list(p, key, v, 1, NPSW_MAX_K, c->ks, BENCH_MAX_LIST, &c->n_k);
    if (!strcmp(key, "threads"))
        return parse_uint_list(p, key, v, 1, 1024, c->threads, BENCH_MAX_LIST, &c->n_threads);
    if (!strcmp(key, "analysis")) {
        if (!strcmp(v, "yes")) c->analysis = 1;
        else if (!strcmp(v, "no")) c->analysis = 0;
        else return perr(p, "analysis: '%s' (expected yes or no)", v);
        return 0;
    }
    return perr(p, "unknown key '%s' before the first [dataset] section (name, methods, k, "
                   "threads, analysis)",
                key);
}

int bench_config_load(const char *path, bench_config *c)
{
    memset(c, 0, sizeof *c);
    c->analysis = 1;
    parser p = {path, 0, ""};
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(p.dir, sizeof p.dir, "%.*s", (int)(slash - path == 0 ? 1 : slash - path), path);
    FILE *f = fopen(path, "r");
    if (!f) {
        perr(&p, "cannot open: %s", strerror(errno));
        return EXIT_INPUT;
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    bench_dataset *ds = NULL;
    unsigned seen = 0;
    int rc = 0;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        p.line++;
        if ((size_t)len != strlen(buf)) {
            rc = perr(&p, "NUL byte in the line: not a text file");
            break;
        }
        char *s = buf;
        if (p.line == 1 && !strncmp(s, "\xef\xbb\xbf", 3)) s += 3; /* BOM */
        /* a comment: '#' at the start or after a space */
        for (char *h = s; *h; h++)
            if (*h == '#' && (h == s || isspace((unsigned char)h[-1]))) {
                *h = '\0';
                break;
            }
        s = trim(s);
        if (!*s) continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1]) {
                rc = perr(&p, "section header '%s': expected [dataset NAME]", s);
                break;
            }
            *end = '\0';
            char *in = trim(s + 1);
            if (strncmp(in, "dataset", 7) || !isspace((unsigned char)in[7])) {
                rc = perr(&p, "section [%s]: the only section is [dataset NAME]", in);
                break;
            }
            char *nm = trim(in + 7);
            if (!name_ok(nm)) {
                rc = perr(&p, "dataset name '%s' must be 1-%d letters, digits, '.', '_' or '-' "
                              "(it names the output files)",
                          nm, BENCH_NAME_MAX - 1);
                break;
            }
            for (size_t i = 0; i < c->n_ds; i++)
                if (!strcmp(c->ds[i].name, nm)) {
                    rc = perr(&p, "dataset '%s' given twice", nm);
                    break;
                }
            if (rc) break;
            if (c->n_ds == BENCH_MAX_DATASETS) {
                rc = perr(&p, "more than %d datasets", BENCH_MAX_DATASETS);
                break;
            }
            ds = &c->ds[c->n_ds++];
            snprintf(ds->name, sizeof ds->name, "%s", nm);
            ds->line = p.line;
            ds->sample = 1;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = perr(&p, "expected 'key = value' or '[dataset NAME]', got '%s'", s);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!*key) {
            rc = perr(&p, "missing key before '='");
            break;
        }
        if (!*val) {
            rc = perr(&p, "%s: missing value after '='", key);
            break;
        }
        rc = ds ? dataset_key(&p, ds, key, val) : global_key(&p, c, key, val, &seen);
        if (rc) break;
    }
    if (!rc && ferror(f)) rc = perr(&p, "read error: %s", strerror(errno));
    free(buf);
    fclose(f);
    if (rc) {
        bench_config_free(c);
        return EXIT_INPUT;
    }
    /* defaults and whole-file checks (reported at the dataset's header line) */
    if (!c->n_methods) c->methods[c->n_methods++] = NPSW_SCORE_WMF;
    if (!c->n_k) {
        c->ks[0] = 1, c->ks[1] = 5, c->ks[2] = 10;
        c->n_k = 3;
    }
    if (!c->n_threads) c->threads[c->n_threads++] = 1;
    if (!c->n_ds) {
        p.line = 0;
        perr(&p, "no [dataset NAME] section: nothing to run");
        bench_config_free(c);
        return EXIT_INPUT;
    }
    for (size_t d = 0; d < c->n_ds && !rc; d++) {
        bench_dataset *x = &c->ds[d];
        p.line = x->line;
        if (!x->library) rc = perr(&p, "dataset '%s': no library", x->name);
        else if (x->leave_out && (x->n_queries || x->truth))
            rc = perr(&p, "dataset '%s': leave_out = compound makes its queries and truth from "
                          "the library; remove 'queries' and 'truth'",
                      x->name);
        else if (x->leave_out && x->n_ext)
            rc = perr(&p, "dataset '%s': external tables cannot be scored with leave_out (the "
                          "library differs for every query)",
                      x->name);
        else if (!x->leave_out && (!x->n_queries || !x->truth))
            rc = perr(&p, "dataset '%s': needs 'queries' and 'truth' (or leave_out = compound)",
                      x->name);
    }
    if (rc) {
        bench_config_free(c);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}
