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
#include "submit_core.h"

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

/* The results of every stored file, printed at the end: the run record lists the stored files
 * and query_index runs over all of them, as `npswatch analogues` over the same files would. */
typedef struct stored_out {
    npsw_lib_input *files;
    size_t *first;
    size_t n_files, n_queries;
    cli_membuf rows;
} stored_out;

typedef struct submit_ctx {
    sub_engine en;
    out_format fmt;
    npsw_ledger *ledger;
    npsw_ledger_lab lab;
    int token_verified;
    stored_out out;
    /* the file being submitted: its printed rows */
    cli_membuf orow;
    npsw_lib_input printed_file;
    size_t pfirst[2];
    cli_inputs print_in;
    run_record rr_print;
} submit_ctx;

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

static void say_stderr(void *user, const char *msg)
{
    (void)user;
    cli_msg("%s", msg);
}

/* The printed row of one analysed spectrum; query_index runs over all stored files. */
static void print_row(void *user, const sub_file *f, const char *sha256, size_t n_spectra,
                      uint64_t n_skipped, size_t i, const npsw_spectrum *q, const npsw_analysis *a)
{
    submit_ctx *cx = user;
    if (i == 0) {
        cx->printed_file = (npsw_lib_input){(char *)f->path, "", n_spectra, n_skipped};
        memcpy(cx->printed_file.sha256, sha256, 65);
        cx->pfirst[0] = cx->out.n_queries;
        cx->pfirst[1] = cx->out.n_queries + n_spectra;
        cx->print_in = (cli_inputs){{0}, &cx->printed_file, 1, cx->pfirst};
        cx->rr_print = (run_record){cx->en.lib_path, cx->en.lib, &cx->en.ao.search, "", NULL,
                                    &cx->print_in, cx->en.extra, analysis_tsv_header};
    }
    if (!cx->orow.f) return;
    if (cx->fmt == OUT_JSON)
        analysis_json_row(cx->orow.f, &cx->rr_print, cx->out.n_queries + i, q, a);
    else
        analysis_tsv_row(cx->orow.f, &cx->rr_print, cx->out.n_queries + i, q, a);
}

/* One file: read, parse, clean, analyse, store in one transaction. Returns EXIT_OK, EXIT_INPUT
 * (rejected, nothing stored) or EXIT_INTERNAL (storage failure). */
static int submit_file(submit_ctx *cx, const char *path)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (slurp(path, &bytes, &len) < 0) return EXIT_INPUT;
    char *out_rows = NULL;
    if (!cli_mb_open(&cx->orow)) {
        cli_msg("%s: out of memory; nothing stored", path);
        free(bytes);
        return EXIT_INTERNAL;
    }
    sub_file f = {path, base_name(path), bytes, len, cx->lab.id, cx->token_verified};
    sub_outcome so;
    int rc = sub_run(&cx->en, cx->ledger, &f, print_row, cx, &so);
    out_rows = cli_mb_take(&cx->orow, 0);
    if (rc != EXIT_OK) goto done;
    /* COMMIT has returned: acknowledge */
    cli_msg("%s: submission %" PRId64 " stored (lab %" PRId64 ", %zu spectra, sha256 %s)", path,
            so.id, cx->lab.id, so.n_spectra, so.sha256);
    fflush(stderr);
    /* keep the printed rows */
    stored_out *o = &cx->out;
    npsw_lib_input *nf = realloc(o->files, (o->n_files + 1) * sizeof *nf);
    if (nf) o->files = nf;
    size_t *nfi = realloc(o->first, (o->n_files + 2) * sizeof *nfi);
    if (nfi) o->first = nfi;
    if (!nf || !nfi || !out_rows) {
        cli_msg("%s: out of memory keeping its results for printing", path);
        rc = EXIT_INTERNAL;
        goto done;
    }
    o->files[o->n_files] = cx->printed_file;
    o->first[o->n_files] = o->n_queries;
    o->n_files++;
    o->n_queries += so.n_spectra;
    o->first[o->n_files] = o->n_queries;
    fputs(out_rows, o->rows.f);
done:
    free(out_rows);
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
    cx.en.ro = npsw_read_opts_default();
    int bad = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LEDGER: ledger_path = optarg; break;
        case OPT_LAB: lab_arg = optarg; break;
        case OPT_TOKEN: token = optarg; break;
        case 'l': libpath = optarg; break;
        case 'o': outpath = optarg; break;
        case OPT_PROGRESS: cx.en.progress = 1; break;
        case 'h': submit_help(stdout); return EXIT_OK;
        default:
            if (!analysis_cli_option(c, optarg, &x, &bad) &&
                !cli_read_option(c, optarg, &cx.en.ro, &bad))
                bad = 1;
        }
    }
    analysis_cli_finish(&x);
    cx.en.ao = x.ao;
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
    cx.en.lib = lib;
    cx.en.lib_path = libpath;
    cx.en.say = say_stderr;
    char extra[256];
    analysis_params_text(&cx.en.ao, extra, sizeof extra);
    cx.en.extra = extra;
    if (!cli_mb_open(&cx.out.rows) || !(cx.out.first = calloc(1, sizeof *cx.out.first))) {
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
    char *rows = cli_mb_take(&cx.out.rows, 0);
    if (cx.out.n_files && rows) {
        /* the stored files' results, as `npswatch analogues` prints them */
        char **paths = calloc(cx.out.n_files, sizeof *paths);
        cli_inputs all = {{0}, cx.out.files, cx.out.n_files, cx.out.first};
        run_record rr = {libpath, lib, &cx.en.ao.search, "", paths, &all, extra, analysis_tsv_header};
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
    if (cx.out.rows.f) free(cli_mb_take(&cx.out.rows, 0));
    free(cx.out.files);
    free(cx.out.first);
    npsw_lib_free(lib);
    npsw_ledger_close(cx.ledger);
    return rc;
}
