/* cmd_ledger.c - the lab-submissions ledger (docs/ledger.md, docs/cli.md):
 *   npswatch ledger init DB | ledger info DB
 *   npswatch lab add DB --name N --country CC [--role R] | lab list DB
 *   npswatch submit --ledger DB --lab LAB -l LIB.h5 [--token T] FILE...
 *   npswatch audit verify DB [--head HASH]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "analysis_out.h"
#include "cli.h"
#include "npsw/analyse.h"
#include "npsw/hash.h"
#include "npsw/ledger.h"
#include "npsw/libfile.h"

/* ---- shared ---------------------------------------------------------------------------- */

/* Who runs the command, for audit entries of administrative actions: "cli:USER". */
static void cli_actor(char *buf, size_t size)
{
    const struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name) snprintf(buf, size, "cli:%s", pw->pw_name);
    else snprintf(buf, size, "cli:uid%ld", (long)geteuid());
}

/* Exit code of a ledger failure: SQLite storage failures (disk full, I/O error, lock timeout)
 * are 2, bad input 1, out of memory 2. */
static int ledger_exit(const npsw_ledger *l, int rc)
{
    if (rc == NPSW_EIO && l && npsw_ledger_sqlite_error(l)) return EXIT_INTERNAL;
    return cli_exit_code(rc);
}

static npsw_ledger *open_ledger(const char *path, int flags, int *created, int *exit_code)
{
    char actor[128];
    npsw_err e;
    npsw_err_clear(&e);
    cli_actor(actor, sizeof actor);
    npsw_ledger *l = npsw_ledger_open(path, flags, actor, created, &e);
    if (!l) {
        cli_err(&e);
        *exit_code = e.code == NPSW_ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
    }
    return l;
}

/* ---- npswatch ledger init | info ------------------------------------------------------ */

static void ledger_help(FILE *f)
{
    fprintf(f, "Usage: npswatch ledger init DB\n"
               "       npswatch ledger info DB\n\n"
               "init: create a lab-submissions ledger (SQLite, docs/ledger.md) at DB, or upgrade\n"
               "      an older one; a file that is not a ledger is never overwritten.\n"
               "info: schema version, rows per table, stored files, laboratories without a\n"
               "      token, and the audit log's head (record it to detect a cut log later).\n\n"
               "Options:\n"
               "  -h, --help  this help\n");
}

static int ledger_info(npsw_ledger *l, const char *path)
{
    npsw_ledger_info in;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_ledger_get_info(l, &in, &e);
    if (rc < 0) {
        cli_err(&e);
        return ledger_exit(l, rc);
    }
    printf("ledger: %s\n", path);
    printf("schema_version: %d (this npswatch writes %d)\n", in.schema_version,
           NPSW_LEDGER_SCHEMA_VERSION);
    printf("sqlite: %s, journal_mode %s\n", npsw_ledger_sqlite_version(), in.journal_mode);
    printf("tables:\n");
    for (size_t i = 0; i < in.n_tables; i++)
        printf("  %-18s %" PRId64 "\n", in.tables[i].name, in.tables[i].rows);
    printf("stored_files_bytes: %" PRId64 " (%" PRId64 " compressed)\n", in.blob_bytes,
           in.blob_stored_bytes);
    printf("labs_without_token: %" PRId64 "\n", in.n_labs_without_token);
    if (in.n_labs_without_token) {
        npsw_ledger_lab *labs = NULL;
        int n = npsw_ledger_lab_list(l, &labs, &e);
        for (int i = 0; i < n; i++)
            if (!labs[i].has_token) printf("  %" PRId64 "\t%s\n", labs[i].id, labs[i].name);
        free(labs);
    }
    if (in.audit_head_seq)
        printf("audit_head: seq %" PRId64 " sha256 %s\n", in.audit_head_seq, in.audit_head_hash);
    else
        printf("audit_head: none\n");
    return EXIT_OK;
}

int cmd_ledger(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        ledger_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_INPUT : EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "init") != 0 && strcmp(sub, "info") != 0) {
        cli_msg("ledger: unknown subcommand '%s' (init, info)", sub);
        ledger_help(stderr);
        return EXIT_INPUT;
    }
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            ledger_help(stdout);
            return EXIT_OK;
        }
        ledger_help(stderr);
        return EXIT_INPUT;
    }
    if (argc - 1 - optind != 1) {
        cli_msg("ledger %s: expected one ledger file", sub);
        ledger_help(stderr);
        return EXIT_INPUT;
    }
    const char *path = argv[1 + optind];
    int rc = EXIT_OK, created = 0;
    int init = !strcmp(sub, "init");
    npsw_ledger *l = open_ledger(path, init ? NPSW_LEDGER_CREATE : 0, &created, &rc);
    if (!l) return rc;
    if (!init) rc = ledger_info(l, path);
    else if (created)
        cli_msg("%s: created a ledger (schema version %d)", path, npsw_ledger_schema_version(l));
    else
        cli_msg("%s: already a ledger (schema version %d); nothing to do", path,
                npsw_ledger_schema_version(l));
    npsw_ledger_close(l);
    return rc;
}

/* ---- npswatch lab add | list ------------------------------------------------------------ */

static void lab_help(FILE *f)
{
    fprintf(f, "Usage: npswatch lab add DB --name NAME --country CC [--role lab|curator|admin]\n"
               "       npswatch lab list DB\n\n"
               "add: register a laboratory; prints its id and its API token. The token is shown\n"
               "     this once: the ledger keeps only its SHA-256.\n"
               "list: id, name, country, role, whether a token is set, creation time (TSV).\n\n"
               "Options:\n"
               "  --name NAME     display name, unique (ignoring case), not all digits\n"
               "  --country CC    ISO 3166-1 alpha-2 country code (DE, FR, GB, US, ...)\n"
               "  --role R        lab (default), curator or admin\n"
               "  -h, --help      this help\n");
}

int cmd_lab(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        lab_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_INPUT : EXIT_OK;
    }
    const char *sub = argv[1];
    int add = !strcmp(sub, "add");
    if (!add && strcmp(sub, "list") != 0) {
        cli_msg("lab: unknown subcommand '%s' (add, list)", sub);
        lab_help(stderr);
        return EXIT_INPUT;
    }
    enum { OPT_NAME = OPT_CLI_LAST, OPT_COUNTRY, OPT_ROLE };
    static const struct option longopts[] = {{"name", required_argument, NULL, OPT_NAME},
                                             {"country", required_argument, NULL, OPT_COUNTRY},
                                             {"role", required_argument, NULL, OPT_ROLE},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *name = NULL, *country = NULL;
    int role = NPSW_ROLE_LAB, bad = 0, c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_NAME: name = optarg; break;
        case OPT_COUNTRY: country = optarg; break;
        case OPT_ROLE:
            role = npsw_ledger_role_from_name(optarg);
            if (role < 0) {
                cli_msg("--role: expected lab, curator or admin, got '%s'", optarg);
                bad = 1;
            }
            break;
        case 'h': lab_help(stdout); return EXIT_OK;
        default: bad = 1;
        }
    }
    if (!bad && argc - 1 - optind != 1) {
        cli_msg("lab %s: expected one ledger file", sub);
        bad = 1;
    }
    if (!bad && add && (!name || !country)) {
        cli_msg("lab add: --name and --country are required");
        bad = 1;
    }
    if (!bad && !add && (name || country)) {
        cli_msg("lab list: --name and --country belong to 'lab add'");
        bad = 1;
    }
    if (bad) {
        lab_help(stderr);
        return EXIT_INPUT;
    }
    const char *path = argv[1 + optind];
    int rc = EXIT_OK;
    npsw_ledger *l = open_ledger(path, 0, NULL, &rc);
    if (!l) return rc;
    npsw_err e;
    npsw_err_clear(&e);
    if (add) {
        char actor[128], token[NPSW_LEDGER_TOKEN_LEN + 1];
        int64_t id = 0;
        cli_actor(actor, sizeof actor);
        int r = npsw_ledger_lab_add(l, name, country, (npsw_ledger_role)role, actor, &id, token,
                                    &e);
        if (r < 0) {
            cli_err(&e);
            rc = ledger_exit(l, r);
        } else {
            printf("lab_id: %" PRId64 "\ntoken: %s\n", id, token);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                cli_msg("could not write the token to standard output: %s", strerror(errno));
                rc = EXIT_INTERNAL;
            }
            memset(token, 0, sizeof token);
            cli_msg("laboratory %" PRId64 " '%s' added; keep its token now: it is shown only "
                    "once (the ledger stores only its SHA-256)",
                    id, name);
        }
    } else {
        npsw_ledger_lab *labs = NULL;
        int n = npsw_ledger_lab_list(l, &labs, &e);
        if (n < 0) {
            cli_err(&e);
            rc = ledger_exit(l, n);
        } else {
            printf("id\tname\tcountry\trole\thas_token\tcreated_utc\n");
            for (int i = 0; i < n; i++) {
                printf("%" PRId64 "\t", labs[i].id);
                out_tsv_field(stdout, labs[i].name);
                printf("\t%s\t%s\t%s\t%s\n", labs[i].country, npsw_ledger_role_name(labs[i].role),
                       labs[i].has_token ? "yes" : "no", labs[i].created_utc);
            }
        }
        free(labs);
    }
    npsw_ledger_close(l);
    return rc;
}

/* ---- npswatch audit verify ------------------------------------------------------------- */

static void audit_help(FILE *f)
{
    fprintf(f, "Usage: npswatch audit verify DB [--head HASH]\n\n"
               "Verify the ledger's hash-chained audit log (docs/ledger.md, \"Audit log\"): every\n"
               "entry's hash, the chain, that every laboratory and submission has its entry and\n"
               "still matches what the entry recorded, and every stored file's SHA-256.\n"
               "Exit 0 when intact; 1 naming the first bad entry otherwise.\n\n"
               "Options:\n"
               "  --head HASH   an audit head hash recorded earlier ('ledger info'): it must\n"
               "                still be in the log (detects entries cut from the end)\n"
               "  -h, --help    this help\n");
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        audit_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_INPUT : EXIT_OK;
    }
    if (strcmp(argv[1], "verify") != 0) {
        cli_msg("audit: unknown subcommand '%s' (verify)", argv[1]);
        audit_help(stderr);
        return EXIT_INPUT;
    }
    enum { OPT_HEAD = OPT_CLI_LAST };
    static const struct option longopts[] = {{"head", required_argument, NULL, OPT_HEAD},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *head = NULL;
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
        if (c == OPT_HEAD) head = optarg;
        else if (c == 'h') {
            audit_help(stdout);
            return EXIT_OK;
        } else bad = 1;
    }
    if (!bad && argc - 1 - optind != 1) {
        cli_msg("audit verify: expected one ledger file");
        bad = 1;
    }
    if (!bad && head && (strlen(head) != 64 || strspn(head, "0123456789abcdef") != 64)) {
        cli_msg("--head: expected 64 lower-case hex digits, got '%s'", head);
        bad = 1;
    }
    if (bad) {
        audit_help(stderr);
        return EXIT_INPUT;
    }
    const char *path = argv[1 + optind];
    int rc = EXIT_OK;
    npsw_ledger *l = open_ledger(path, 0, NULL, &rc);
    if (!l) return rc;
    npsw_audit_report rep;
    npsw_err e;
    npsw_err_clear(&e);
    int r = npsw_ledger_audit_verify(l, head, &rep, &e);
    if (r == 0) {
        printf("audit: ok: %" PRId64 " entries, head seq %" PRId64 " sha256 %s; %" PRId64
               " submissions and %" PRId64 " stored files match\n",
               rep.n_entries, rep.head_seq, rep.head_hash, rep.n_submissions, rep.n_blobs);
    } else if (r == NPSW_ECHECKSUM) {
        if (rep.bad_seq)
            cli_msg("%s: audit verification FAILED at entry %" PRId64 ": %s", path, rep.bad_seq,
                    rep.problem);
        else
            cli_msg("%s: audit verification FAILED: %s", path, rep.problem);
        rc = EXIT_INPUT;
    } else {
        cli_err(&e);
        rc = ledger_exit(l, r);
    }
    npsw_ledger_close(l);
    return rc;
}

/* ---- npswatch submit ------------------------------------------------------------------- */

static void submit_help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch submit --ledger DB --lab LAB -l LIB.h5 [options] FILE...\n\n"
            "Submit spectra files on behalf of a laboratory: each file is read (its raw bytes\n"
            "are kept, content-addressed by SHA-256), parsed leniently (the parser report is\n"
            "kept), cleaned as the library was, analysed as 'npswatch analogues' does, and\n"
            "stored with its results and an audit entry in one transaction. 'submission N\n"
            "stored' on standard error means it is on disk. The laboratory's results are then\n"
            "printed as 'npswatch analogues' prints them. A file that cannot be read is\n"
            "rejected (nothing of it is stored) and the other files go on; the exit code is 1\n"
            "when a file was rejected, 2 on a storage failure.\n\n"
            "Options:\n"
            "  --ledger DB         the ledger (npswatch ledger init) (required)\n"
            "  --lab LAB           the submitting laboratory: id or name (required)\n"
            "  --token T           the laboratory's token; when given it must match\n"
            "  -l, --library FILE  library made by 'npswatch build' (required)\n"
            "  -k N                identity hits and analogue candidates (default 5, at most %d)\n"
            "  --threads N         worker threads (default: all cores)\n"
            "  --format F          tsv (default) or json, as for 'npswatch analogues'\n"
            "  -o, --output FILE   write the results here (atomically) instead of stdout\n"
            "  --max-delta X       largest mass difference to a relative, Da (default 150)\n"
            "  --n-mion N          EI: molecular-ion candidates tried per query (default 2)\n"
            "  --tol-da X          accurate-mass libraries: m/z tolerance in Da (default 0.01)\n"
            "  --tol-ppm X         accurate-mass libraries: additional tolerance in ppm\n"
            "  --progress          show progress even when stderr is not a terminal\n" CLI_READ_HELP
            "  -h, --help          this help\n",
            NPSW_ANALYSE_MAX_K);
}

/* The bytes of a file, read in full. Returns 0 or prints why not and returns -1. */
static int slurp(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        cli_msg("%s: rejected: cannot open: %s; nothing stored", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cli_msg("%s: rejected: not a regular file; nothing stored", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)sb.st_size > NPSW_LEDGER_MAX_FILE) {
        cli_msg("%s: rejected: %lld bytes, more than the ledger's limit of %u bytes per file; "
                "nothing stored",
                path, (long long)sb.st_size, NPSW_LEDGER_MAX_FILE);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    unsigned char *b = malloc(cap);
    if (!b) {
        cli_msg("%s: rejected: out of memory reading it; nothing stored", path);
        close(fd);
        return -1;
    }
    for (;;) {
        if (n == cap) { /* grew while being read */
            if (cap > NPSW_LEDGER_MAX_FILE) {
                cli_msg("%s: rejected: grew beyond the ledger's file limit while being read", path);
                free(b);
                close(fd);
                return -1;
            }
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                cli_msg("%s: rejected: out of memory reading it; nothing stored", path);
                free(b);
                close(fd);
                return -1;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, b + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            cli_msg("%s: rejected: read error: %s; nothing stored", path, strerror(errno));
            free(b);
            close(fd);
            return -1;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;
}

/* Warnings while parsing a submitted file: the first few printed, all counted. */
typedef struct warn_count {
    unsigned long n;
} warn_count;

static void on_warning(void *user, const npsw_err *w)
{
    warn_count *wc = user;
    if (wc->n++ < 5) {
        char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
        fprintf(stderr, "npswatch: warning: %s\n", npsw_err_format(w, buf, sizeof buf));
    }
}

/* Text a FILE* writer produced (open_memstream), without its final newline. */
typedef struct membuf {
    char *p;
    size_t n;
    FILE *f;
} membuf;

static FILE *mb_open(membuf *m)
{
    m->p = NULL;
    m->n = 0;
    m->f = open_memstream(&m->p, &m->n);
    return m->f;
}

static char *mb_take(membuf *m, int chomp)
{
    if (!m->f) return NULL;
    int bad = fclose(m->f) != 0;
    m->f = NULL;
    if (bad) {
        free(m->p);
        m->p = NULL;
        return NULL;
    }
    if (chomp && m->n && m->p[m->n - 1] == '\n') m->p[--m->n] = '\0';
    char *p = m->p;
    m->p = NULL;
    return p;
}

/* What is kept of one spectrum's analysis until its file is stored. */
typedef struct kept_row {
    npsw_ledger_result r;
    char *analysis_json, *subst, *diag, *best_name, *best_inchikey, *analogue_name, *cls;
} kept_row;

static void kept_free(kept_row *k)
{
    free(k->analysis_json);
    free(k->subst);
    free(k->diag);
    free(k->best_name);
    free(k->best_inchikey);
    free(k->analogue_name);
    free(k->cls);
}

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

/* Fill a result row (strings copied: npsw_lib_meta's buffers are reused). */
static int keep_row(kept_row *k, const run_record *rr_file, const npsw_spectrum *q,
                    const npsw_analysis *a)
{
    memset(k, 0, sizeof *k);
    const npsw_lib *lib = rr_file->lib;
    npsw_ledger_result *r = &k->r;
    r->verdict = npsw_verdict_name(a->verdict);
    r->confidence = a->confidence;
    r->p_in_library = a->p_in_library;
    r->p_analogue = a->p_analogue;
    if (a->n_hits) {
        const npsw_hit *h = &a->hits[0];
        r->best_index = (int64_t)h->index + 1;
        k->best_name = dupstr(npsw_lib_meta(lib, h->index, NPSW_META_NAME));
        k->best_inchikey = dupstr(npsw_lib_meta(lib, h->index, NPSW_META_INCHIKEY));
        r->best_score = h->score;
        r->best_mf = npsw_mf_display(h->all.mf);
        r->best_rmf = npsw_mf_display(h->all.rmf);
        if (!k->best_name || !k->best_inchikey) return -1;
    }
    char buf[512];
    if (a->has_analogue) {
        r->analogue_index = (int64_t)a->analogue.index + 1;
        k->analogue_name = dupstr(npsw_lib_meta(lib, a->analogue.index, NPSW_META_NAME));
        r->analogue_delta = a->analogue.delta;
        r->analogue_score = a->analogue.hybrid.score;
        analysis_subst_text(a, buf, sizeof buf);
        k->subst = dupstr(buf);
        if (!k->analogue_name || !k->subst) return -1;
    }
    analysis_diag_text(a, buf, sizeof buf);
    k->diag = dupstr(buf);
    k->cls = dupstr(a->predicted_class);
    r->class_confidence = a->class_confidence;
    membuf m;
    if (!mb_open(&m)) return -1;
    /* the stored JSON: query_index is the position in the submitted file */
    analysis_json_row(m.f, rr_file, (size_t)(q - rr_file->queries->spectra.v), q, a);
    k->analysis_json = mb_take(&m, 1);
    if (!k->diag || !k->cls || !k->analysis_json) return -1;
    r->best_name = k->best_name;
    r->best_inchikey = k->best_inchikey;
    r->analogue_name = k->analogue_name;
    r->substituents = k->subst;
    r->diagnostic_ions = k->diag;
    r->predicted_class = k->cls;
    r->analysis_json = k->analysis_json;
    return 0;
}

/* The results of every stored file, printed at the end: the run record lists the stored files
 * and query_index runs over all of them, as `npswatch analogues` over the same files would. */
typedef struct stored_out {
    npsw_lib_input *files;
    size_t *first;
    size_t n_files, n_queries;
    membuf rows;
} stored_out;

typedef struct submit_ctx {
    const char *lib_path;
    const npsw_lib *lib;
    npsw_analyse_opts ao;
    npsw_read_opts ro;
    const char *extra;
    out_format fmt;
    int progress;
    npsw_ledger *ledger;
    npsw_ledger_lab lab;
    int token_verified;
    stored_out out;
} submit_ctx;

#define ANALYSE_CHUNK 256

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* One file: read, parse, clean, analyse, store in one transaction. Returns EXIT_OK, EXIT_INPUT
 * (rejected, nothing stored) or EXIT_INTERNAL (storage failure). */
static int submit_file(submit_ctx *cx, const char *path)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (slurp(path, &bytes, &len) < 0) return EXIT_INPUT;
    int rc = EXIT_OK;
    char sha[65];
    npsw_sha256_hex(bytes, len, sha);
    npsw_read_opts ro = cx->ro;
    warn_count wc = {0};
    ro.warn = on_warning;
    ro.warn_user = &wc;
    npsw_err e;
    npsw_err_clear(&e);
    npsw_spectra sp = {0};
    kept_row *rows = NULL;
    npsw_ledger_spectrum *lsp = NULL;
    npsw_analysis *res = NULL;
    char *report = NULL, *run_json = NULL, *out_rows = NULL;
    membuf orow = {0};
    npsw_reader *r = npsw_reader_open_mem(bytes, len, path, &ro, &e);
    if (!r) {
        cli_err(&e);
        cli_msg("%s: rejected: the file cannot be read as spectra; nothing stored", path);
        rc = e.code == NPSW_ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
        goto done;
    }
    /* lenient read; the first errors go into the report */
    uint64_t n_skipped = 0;
    npsw_err first[NPSW_REPORT_KEEP];
    for (;;) {
        if (sp.n == sp.cap) {
            size_t cap = sp.cap ? 2 * sp.cap : 64;
            npsw_spectrum *v = realloc(sp.v, cap * sizeof *v);
            if (!v) {
                cli_msg("%s: out of memory", path);
                rc = EXIT_INTERNAL;
                goto done;
            }
            sp.v = v;
            sp.cap = cap;
        }
        npsw_spectrum *s = &sp.v[sp.n];
        npsw_spectrum_init(s);
        npsw_err_clear(&e);
        int x = npsw_reader_next(r, s, &e);
        if (x == NPSW_EOF) {
            npsw_spectrum_free(s);
            break;
        }
        if (x < 0) {
            npsw_spectrum_free(s);
            if (x == NPSW_ENOMEM) {
                cli_err(&e);
                rc = EXIT_INTERNAL;
                goto done;
            }
            if (n_skipped < NPSW_REPORT_KEEP) {
                first[n_skipped] = e;
                cli_err(&e);
            }
            n_skipped++;
            continue;
        }
        sp.n++;
    }
    const char *fmt_name = npsw_format_name(npsw_reader_format(r));
    if (wc.n > 5) cli_msg("%s: %lu more warnings not shown", path, wc.n - 5);
    if (n_skipped > NPSW_REPORT_KEEP)
        cli_msg("%s: %llu more bad records not shown", path,
                (unsigned long long)(n_skipped - NPSW_REPORT_KEEP));
    if (sp.n == 0) {
        cli_msg("%s: rejected: no spectrum could be read (%s, %llu bad records); nothing stored",
                path, fmt_name, (unsigned long long)n_skipped);
        rc = EXIT_INPUT;
        goto done;
    }
    cli_msg("%s: %s, read %zu spectra, skipped %llu bad records, %lu warnings", path, fmt_name,
            sp.n, (unsigned long long)n_skipped, wc.n);
    /* the parser report, kept with the submission */
    cJSON *rep = cJSON_CreateObject();
    cJSON_AddStringToObject(rep, "file", base_name(path));
    cJSON_AddStringToObject(rep, "sha256", sha);
    cJSON_AddNumberToObject(rep, "size", (double)len);
    cJSON_AddStringToObject(rep, "format", fmt_name);
    cJSON_AddNumberToObject(rep, "spectra_read", (double)sp.n);
    cJSON_AddNumberToObject(rep, "records_skipped", (double)n_skipped);
    cJSON_AddNumberToObject(rep, "warnings", (double)wc.n);
    cJSON *errs = cJSON_AddArrayToObject(rep, "first_errors");
    for (uint64_t i = 0; i < n_skipped && i < NPSW_REPORT_KEEP; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "line", (double)first[i].line);
        cJSON_AddStringToObject(x, "message", first[i].msg);
        cJSON_AddItemToArray(errs, x);
    }
    report = cJSON_PrintUnformatted(rep);
    cJSON_Delete(rep);
    npsw_reader_close(r);
    r = NULL;
    /* clean as the library was */
    const npsw_clean_opts *co = &npsw_lib_get_info(cx->lib)->clean;
    lsp = calloc(sp.n, sizeof *lsp);
    rows = calloc(sp.n, sizeof *rows);
    res = malloc((sp.n < ANALYSE_CHUNK ? sp.n : ANALYSE_CHUNK) * sizeof *res);
    if (!report || !lsp || !rows || !res) {
        cli_msg("%s: out of memory", path);
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (size_t i = 0; i < sp.n; i++) {
        npsw_spectrum *q = &sp.v[i];
        int empty = npsw_clean(q, co, NULL) < 0 || q->n == 0;
        if (empty) {
            cli_msg("warning: %s: spectrum %zu '%s' has no peaks after cleaning; it matches "
                    "nothing",
                    path, i + 1, npsw_spectrum_meta(q, NPSW_META_NAME));
            npsw_spectrum_reset(q);
        }
        lsp[i].s = q;
        lsp[i].position = (uint32_t)(i + 1);
        lsp[i].status = empty ? NPSW_SPECTRUM_NO_PEAKS : NPSW_SPECTRUM_ANALYSED;
        lsp[i].result = &rows[i].r;
    }
    /* run records: the stored one names this file only (by its base name), the printed one
     * the stored files so far with this one */
    npsw_lib_input stored_file = {(char *)base_name(path), "", sp.n, n_skipped};
    memcpy(stored_file.sha256, sha, sizeof sha);
    size_t file_first[2] = {0, sp.n};
    cli_inputs file_in = {sp, &stored_file, 1, file_first};
    char *qp[1] = {(char *)base_name(path)};
    run_record rr_file = {cx->lib_path, cx->lib,        &cx->ao.search, "",
                          qp,           &file_in,       cx->extra,      analysis_tsv_header};
    npsw_utc_now(rr_file.utc);
    membuf m;
    if (!mb_open(&m)) goto nomem;
    out_begin(m.f, OUT_JSON, &rr_file);
    if (!(run_json = mb_take(&m, 1))) goto nomem;
    npsw_lib_input printed_file = {(char *)path, "", sp.n, n_skipped};
    memcpy(printed_file.sha256, sha, sizeof sha);
    size_t pfirst[2] = {cx->out.n_queries, cx->out.n_queries + sp.n};
    cli_inputs print_in = {{0}, &printed_file, 1, pfirst};
    run_record rr_print = rr_file;
    rr_print.queries = &print_in;
    if (!mb_open(&orow)) goto nomem;
    /* analyse in chunks; keep what is stored and printed */
    cli_progress pr;
    char label[300];
    snprintf(label, sizeof label, "analysing %s", path);
    cli_progress_init(&pr, label, cx->progress);
    for (size_t c0 = 0; c0 < sp.n; c0 += ANALYSE_CHUNK) {
        size_t nc = sp.n - c0 < ANALYSE_CHUNK ? sp.n - c0 : ANALYSE_CHUNK;
        int arc = npsw_analyse(cx->lib, sp.v + c0, nc, &cx->ao, res, &e);
        if (arc < 0) {
            cli_err(&e);
            cli_msg("%s: analysis failed; nothing stored", path);
            rc = cli_exit_code(arc) == EXIT_INPUT ? EXIT_INPUT : EXIT_INTERNAL;
            goto done;
        }
        for (size_t j = 0; j < nc; j++) {
            size_t i = c0 + j;
            if (keep_row(&rows[i], &rr_file, &sp.v[i], &res[j]) < 0) goto nomem;
            rows[i].r.run_json = run_json;
            if (cx->fmt == OUT_JSON)
                analysis_json_row(orow.f, &rr_print, cx->out.n_queries + i, &sp.v[i], &res[j]);
            else
                analysis_tsv_row(orow.f, &rr_print, cx->out.n_queries + i, &sp.v[i], &res[j]);
        }
        if (pr.on) cli_progress_cb(&pr, c0 + nc, sp.n);
    }
    if (pr.on) cli_progress_done(&pr);
    if (!(out_rows = mb_take(&orow, 0))) goto nomem;
    /* store: one transaction */
    const npsw_lib_info *li = npsw_lib_get_info(cx->lib);
    char actor[48];
    snprintf(actor, sizeof actor, "lab:%" PRId64, cx->lab.id);
    npsw_ledger_submission sub = {
        .lab_id = cx->lab.id,
        .actor = actor,
        .token_verified = cx->token_verified,
        .file_name = base_name(path),
        .bytes = bytes,
        .len = len,
        .format = fmt_name,
        .n_skipped = n_skipped,
        .report_json = report,
        .library_name = li->name,
        .library_version = li->version,
        .library_sha256 = li->content_sha256,
        .library_path = cx->lib_path,
        .spectra = lsp,
        .n_spectra = sp.n,
    };
    int64_t sid = 0;
    npsw_err_clear(&e);
    int src = npsw_ledger_submit(cx->ledger, &sub, &sid, &e);
    if (src < 0) {
        cli_err(&e);
        cli_msg("%s: not stored", path);
        rc = ledger_exit(cx->ledger, src);
        goto done;
    }
    /* COMMIT has returned: acknowledge */
    cli_msg("%s: submission %" PRId64 " stored (lab %" PRId64 ", %zu spectra, sha256 %s)", path,
            sid, cx->lab.id, sp.n, sha);
    fflush(stderr);
    /* keep the printed rows */
    stored_out *o = &cx->out;
    npsw_lib_input *nf = realloc(o->files, (o->n_files + 1) * sizeof *nf);
    if (nf) o->files = nf;
    size_t *nfi = realloc(o->first, (o->n_files + 2) * sizeof *nfi);
    if (nfi) o->first = nfi;
    if (!nf || !nfi) goto nomem;
    o->files[o->n_files] = printed_file;
    o->first[o->n_files] = o->n_queries;
    o->n_files++;
    o->n_queries += sp.n;
    o->first[o->n_files] = o->n_queries;
    fputs(out_rows, o->rows.f);
    goto done;
nomem:
    cli_msg("%s: out of memory; nothing stored", path);
    rc = EXIT_INTERNAL;
done:
    if (orow.f) free(mb_take(&orow, 0));
    if (rows)
        for (size_t i = 0; i < sp.n; i++) kept_free(&rows[i]);
    free(rows);
    free(lsp);
    free(res);
    free(out_rows);
    free(run_json);
    cJSON_free(report);
    npsw_reader_close(r);
    npsw_spectra_free(&sp);
    free(bytes);
    return rc;
}

enum { OPT_LEDGER = OPT_ANALYSIS_LAST, OPT_LAB, OPT_TOKEN, OPT_PROGRESS };

int cmd_submit(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ledger", required_argument, NULL, OPT_LEDGER},
        {"lab", required_argument, NULL, OPT_LAB},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"library", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        ANALYSIS_LONGOPTS,
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *ledger_path = NULL, *lab_arg = NULL, *token = NULL, *libpath = NULL,
               *outpath = NULL;
    submit_ctx cx;
    memset(&cx, 0, sizeof cx);
    analysis_cli x;
    analysis_cli_init(&x);
    cx.ro = npsw_read_opts_default();
    int bad = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LEDGER: ledger_path = optarg; break;
        case OPT_LAB: lab_arg = optarg; break;
        case OPT_TOKEN: token = optarg; break;
        case 'l': libpath = optarg; break;
        case 'o': outpath = optarg; break;
        case OPT_PROGRESS: cx.progress = 1; break;
        case 'h': submit_help(stdout); return EXIT_OK;
        default:
            if (!analysis_cli_option(c, optarg, &x, &bad) &&
                !cli_read_option(c, optarg, &cx.ro, &bad))
                bad = 1;
        }
    }
    analysis_cli_finish(&x);
    cx.ao = x.ao;
    cx.fmt = x.fmt;
    if (!bad && (!ledger_path || !lab_arg || !libpath)) {
        cli_msg("submit: --ledger DB, --lab LAB and -l LIB.h5 are required");
        bad = 1;
    }
    if (!bad && optind >= argc) {
        cli_msg("submit: no files to submit");
        bad = 1;
    }
    if (bad) {
        submit_help(stderr);
        return EXIT_INPUT;
    }
    int rc = EXIT_OK;
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *lib = NULL;
    cli_out out = {0};
    cx.ledger = open_ledger(ledger_path, 0, NULL, &rc);
    if (!cx.ledger) return rc;
    int r = npsw_ledger_lab_find(cx.ledger, lab_arg, &cx.lab, &e);
    if (r < 0) {
        cli_err(&e);
        if (r == NPSW_EINVAL) cli_msg("submit: unknown laboratory '%s'; nothing stored", lab_arg);
        rc = ledger_exit(cx.ledger, r);
        goto done;
    }
    if (token) {
        r = npsw_ledger_lab_check_token(cx.ledger, cx.lab.id, token, &e);
        if (r < 0) {
            cli_err(&e);
            rc = ledger_exit(cx.ledger, r);
            goto done;
        }
        if (r == 0) {
            cli_msg("submit: wrong token for laboratory %" PRId64 " '%s'; nothing stored",
                    cx.lab.id, cx.lab.name);
            rc = EXIT_INPUT;
            goto done;
        }
        cx.token_verified = 1;
    }
    lib = npsw_lib_open(libpath, &e);
    if (!lib) {
        cli_err(&e);
        rc = cli_exit_code(e.code);
        goto done;
    }
    cx.lib = lib;
    cx.lib_path = libpath;
    char extra[256];
    analysis_params_text(&cx.ao, extra, sizeof extra);
    cx.extra = extra;
    if (!mb_open(&cx.out.rows) || !(cx.out.first = calloc(1, sizeof *cx.out.first))) {
        cli_msg("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (int i = optind; i < argc; i++) {
        int frc = submit_file(&cx, argv[i]);
        if (frc > rc) rc = frc;
        if (frc == EXIT_INTERNAL) {
            if (i + 1 < argc)
                cli_msg("submit: stopping after a storage failure; %d file(s) not submitted",
                        argc - i - 1);
            break;
        }
    }
    char *rows = mb_take(&cx.out.rows, 0);
    if (cx.out.n_files && rows) {
        /* the stored files' results, as `npswatch analogues` prints them */
        char **paths = calloc(cx.out.n_files, sizeof *paths);
        cli_inputs all = {{0}, cx.out.files, cx.out.n_files, cx.out.first};
        run_record rr = {libpath, lib, &cx.ao.search, "", paths, &all, extra, analysis_tsv_header};
        npsw_utc_now(rr.utc);
        int orc = paths ? cli_out_open(&out, outpath) : EXIT_INTERNAL;
        if (orc == EXIT_OK) {
            for (size_t i = 0; i < cx.out.n_files; i++) paths[i] = cx.out.files[i].path;
            out_begin(out.f, cx.fmt, &rr);
            fputs(rows, out.f);
            orc = cli_out_commit(&out);
        }
        if (orc > rc) rc = orc;
        free(paths);
    } else if (!cx.out.n_files) {
        cli_msg("submit: nothing was stored");
        if (rc == EXIT_OK) rc = EXIT_INPUT;
    }
    free(rows);
done:
    if (cx.out.rows.f) free(mb_take(&cx.out.rows, 0));
    free(cx.out.files);
    free(cx.out.first);
    npsw_lib_free(lib);
    npsw_ledger_close(cx.ledger);
    return rc;
}
