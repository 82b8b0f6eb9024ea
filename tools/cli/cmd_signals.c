/* cmd_signals.c - emerging signals and advisories (docs/signals.md, docs/advisory.md,
 * docs/cli.md):
 *   npswatch signals --ledger DB [--since DATE] [--min-labs N] [--format tsv|json] [-o OUT]
 *   npswatch advise --ledger DB --signal ID [-l LIB.h5] -o DIR [--force]
 *
 * Privacy (docs/ledger.md, "Privacy rules"): both print counts and countries only, never a
 * laboratory's name or id, and only signals seen by at least --min-labs laboratories.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "npsw/advisory.h"
#include "npsw/config.h"
#include "npsw/ledger.h"
#include "npsw/ledger_signals.h"
#include "npsw/libfile.h"
#include "npsw/signals.h"

#define NOTE "library search results, not identifications"
#define MIN_LABS_FLOOR NPSW_SIGNAL_MIN_LABS_FLOOR /* 1 would publish one laboratory's data */

/* ---- shared ------------------------------------------------------------------------------- */

static void actor_of(char *buf, size_t size)
{
    const struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name) snprintf(buf, size, "cli:%s", pw->pw_name);
    else snprintf(buf, size, "cli:uid%ld", (long)geteuid());
}

static npsw_ledger *open_ledger(const char *path, int *exit_code)
{
    char actor[128];
    npsw_err e;
    npsw_err_clear(&e);
    actor_of(actor, sizeof actor);
    npsw_ledger *l = npsw_ledger_open(path, 0, actor, NULL, &e);
    if (!l) {
        cli_err(&e);
        *exit_code = e.code == NPSW_ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
    }
    return l;
}

/* Exit code of a ledger operation: bad input 1; SQLite and memory failures 2. */
static int ledger_rc(int rc)
{
    return rc == NPSW_EIO || rc == NPSW_ENOMEM ? EXIT_INTERNAL : cli_exit_code(rc);
}

/* "YYYY-MM-DD" (start of that day, UTC) or "YYYY-MM-DDTHH:MM:SSZ" -> Unix seconds. */
static int parse_date(const char *opt, const char *s, int64_t *t)
{
    char buf[32];
    if (strlen(s) == 10) {
        snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
        s = buf;
    }
    if (npsw_ledger_parse_utc(s, t) < 0) {
        cli_msg("%s: expected a UTC date YYYY-MM-DD or time YYYY-MM-DDTHH:MM:SSZ, got '%s'", opt,
                s == buf ? buf : s);
        return -1;
    }
    return 0;
}

/* The report's reference time: SOURCE_DATE_EPOCH when set, else the clock. */
static int64_t now_default(void)
{
    char utc[32];
    int64_t t = 0;
    npsw_utc_now(utc);
    if (npsw_ledger_parse_utc(utc, &t) < 0) t = (int64_t)time(NULL);
    return t;
}

static void utc_of(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) snprintf(buf, 32, "1970-01-01T00:00:00Z");
    else strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- npswatch signals --------------------------------------------------------------------- */

static void signals_help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch signals --ledger DB [options]\n\n"
            "Clusters the spectra of all laboratories whose latest result is 'analogue' or\n"
            "'unknown' into signals (average linkage on spectral similarity, docs/signals.md),\n"
            "stores them in the ledger (signal ids stay stable across runs) and reports each\n"
            "signal seen by at least --min-labs laboratories: urgency, predicted class\n"
            "(designer precursors marked), counts of laboratories and submissions, countries,\n"
            "first/last seen, trend, nearest known substances, substituent hypotheses and the\n"
            "consensus spectrum. Never a laboratory's name or id. Library search results, not\n"
            "identifications.\n\n"
            "Options:\n"
            "  --ledger DB        the ledger (required)\n"
            "  --since DATE       report only signals last seen on or after DATE (YYYY-MM-DD or\n"
            "                     YYYY-MM-DDTHH:MM:SSZ, UTC); the clustering always uses the whole\n"
            "                     ledger\n"
            "  --min-labs N       report signals seen by at least N laboratories (default 2,\n"
            "                     at least 2)\n"
            "  --now DATE         reference time of the trend (default: SOURCE_DATE_EPOCH when\n"
            "                     set, else now)\n"
            "  --format F         tsv (default) or json (JSON Lines)\n"
            "  -o, --output FILE  write here (atomically) instead of standard output\n"
            "  --threads N        worker threads for the similarity graph (default: all cores);\n"
            "                     results do not depend on it\n"
            "  -h, --help         this help\n");
}

/* "a;b;c" lists for TSV: tabs and line breaks in names become spaces */
static void tsv_names(FILE *f, const npsw_signal_name *v, uint32_t n, int with_delta)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i) fputc(';', f);
        out_tsv_field(f, v[i].name);
        if (with_delta) fprintf(f, " (%u, %+.1f)", v[i].count, v[i].median_delta);
        else fprintf(f, " (%u)", v[i].count);
    }
}

static int cmp_report(const void *a, const void *b)
{
    const npsw_ledger_signal *x = *(npsw_ledger_signal *const *)a,
                             *y = *(npsw_ledger_signal *const *)b;
    double ux = floor(x->sig.urgency.score * 100 + 0.5), uy = floor(y->sig.urgency.score * 100 + 0.5);
    if (ux != uy) return ux > uy ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void top_peaks(FILE *f, const npsw_signal *s, uint32_t max)
{
    /* by intensity (descending), then m/z */
    uint32_t shown = 0;
    unsigned char *used = calloc(s->n_consensus ? s->n_consensus : 1, 1);
    if (!used) return;
    while (shown < max && shown < s->n_consensus) {
        uint32_t b = UINT32_MAX;
        for (uint32_t i = 0; i < s->n_consensus; i++)
            if (!used[i] && (b == UINT32_MAX || s->consensus_in[i] > s->consensus_in[b])) b = i;
        used[b] = 1;
        fprintf(f, "%s%.0f:%.0f", shown ? ";" : "", s->consensus_mz[b], s->consensus_in[b]);
        shown++;
    }
    free(used);
}

int cmd_signals(int argc, char **argv)
{
    enum { OPT_LEDGER = OPT_CLI_LAST, OPT_SINCE, OPT_MINLABS, OPT_NOW, OPT_FORMAT, OPT_THREADS };
    static const struct option longopts[] = {{"ledger", required_argument, NULL, OPT_LEDGER},
                                             {"since", required_argument, NULL, OPT_SINCE},
                                             {"min-labs", required_argument, NULL, OPT_MINLABS},
                                             {"now", required_argument, NULL, OPT_NOW},
                                             {"format", required_argument, NULL, OPT_FORMAT},
                                             {"output", required_argument, NULL, 'o'},
                                             {"threads", required_argument, NULL, OPT_THREADS},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *ledger_path = NULL, *outpath = NULL, *since_arg = NULL;
    npsw_signal_opts so = npsw_signal_opts_default();
    int64_t since = INT64_MIN, now = 0;
    int have_now = 0, json = 0, bad = 0, c;
    unsigned long min_labs = 2, u;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LEDGER: ledger_path = optarg; break;
        case OPT_SINCE:
            since_arg = optarg;
            bad |= parse_date("--since", optarg, &since) < 0;
            break;
        case OPT_MINLABS:
            if (cli_parse_uint("--min-labs", optarg, MIN_LABS_FLOOR, 1000000, &min_labs) < 0) {
                if (!strcmp(optarg, "1") || !strcmp(optarg, "0"))
                    cli_msg("--min-labs: a signal seen by one laboratory is that laboratory's "
                            "finding, not a signal; at least %d",
                            MIN_LABS_FLOOR);
                bad = 1;
            }
            break;
        case OPT_NOW:
            bad |= parse_date("--now", optarg, &now) < 0;
            have_now = 1;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "tsv")) json = 0;
            else if (!strcmp(optarg, "json")) json = 1;
            else {
                cli_msg("--format: expected tsv or json, got '%s'", optarg);
                bad = 1;
            }
            break;
        case 'o': outpath = optarg; break;
        case OPT_THREADS:
            if (cli_parse_uint("--threads", optarg, 1, 1024, &u) < 0) bad = 1;
            else so.threads = (int)u;
            break;
        case 'h': signals_help(stdout); return EXIT_OK;
        default: bad = 1;
        }
    }
    if (!bad && !ledger_path) cli_msg("signals: --ledger DB is required"), bad = 1;
    if (!bad && optind < argc) cli_msg("signals: unexpected argument '%s'", argv[optind]), bad = 1;
    if (bad) {
        signals_help(stderr);
        return EXIT_INPUT;
    }
    so.now = have_now ? now : now_default();
    int rc = EXIT_OK;
    npsw_ledger *l = open_ledger(ledger_path, &rc);
    if (!l) return rc;
    char actor[128];
    actor_of(actor, sizeof actor);
    npsw_ledger_signal *sig = NULL;
    size_t nsig = 0;
    npsw_ledger_signals_report rep;
    npsw_err e;
    npsw_err_clear(&e);
    int r = npsw_ledger_signals_update(l, &so, actor, &sig, &nsig, &rep, &e);
    npsw_ledger_close(l);
    if (r < 0) {
        cli_err(&e);
        cli_msg("signals: nothing stored");
        return ledger_rc(r);
    }
    /* what may be reported: open or advised, seen by enough laboratories, since */
    npsw_ledger_signal **shown = malloc((nsig ? nsig : 1) * sizeof *shown);
    if (!shown) {
        npsw_ledger_signals_free(sig, nsig);
        cli_msg("out of memory");
        return EXIT_INTERNAL;
    }
    size_t ns = 0;
    for (size_t i = 0; i < nsig; i++)
        if (strcmp(sig[i].status, "closed") && npsw_signal_reportable(&sig[i].sig, (uint32_t)min_labs) &&
            sig[i].sig.last_seen >= since)
            shown[ns++] = &sig[i];
    qsort(shown, ns, sizeof *shown, cmp_report);
    cli_out out;
    rc = cli_out_open(&out, outpath);
    if (rc != EXIT_OK) goto done;
    FILE *f = out.f;
    char utc[32], ref[32], params[400];
    npsw_utc_now(utc);
    utc_of(so.now, ref);
    snprintf(params, sizeof params,
             "similarity=%s weights=intensity^%g*mz^%g matching=nominal linkage=average "
             "link=%.2f edge_min=%.2f min_members=%u consensus_share=%g trend_days=%u "
             "min_labs=%lu since=%s",
             npsw_score_name(so.score), so.params.int_power, so.params.mz_power, so.link, so.edge_min, so.min_members,
             so.consensus_share, so.trend_days, min_labs, since_arg ? since_arg : "-");
    const char *privacy = "counts and countries only; no laboratory names or ids; signals seen "
                          "by fewer than min_labs laboratories are not shown";
    if (json) {
        fprintf(f,
                "{\"record\":\"run\",\"npswatch_version\":\"%s\",\"utc\":\"%s\","
                "\"trend_reference_utc\":\"%s\",\"parameters\":\"%s\",\"min_labs\":%lu,"
                "\"signals\":%zu,\"privacy\":\"%s\",\"note\":\"" NOTE "\"}\n",
                NPSW_VERSION, utc, ref, params, min_labs, ns, privacy);
        for (size_t i = 0; i < ns; i++) {
            char *j = npsw_signal_json(&shown[i]->sig, shown[i]->id, shown[i]->status, &so);
            if (!j) {
                cli_msg("out of memory");
                rc = EXIT_INTERNAL;
                cli_out_abort(&out);
                goto done;
            }
            fprintf(f, "{\"record\":\"signal\",%s\n", j + 1);
            free(j);
        }
    } else {
        fprintf(f, "# npswatch_version\t%s\n# utc\t%s\n# trend_reference_utc\t%s\n", NPSW_VERSION,
                utc, ref);
        fprintf(f, "# parameters\t%s\n# privacy\t%s\n# note\t" NOTE "\n", params, privacy);
        fputs("signal_id\tstatus\turgency\tpredicted_class\tprecursor\tclass_share\tn_labs\t"
              "n_countries\tcountries\tn_submissions\tn_spectra\tfirst_seen\tlast_seen\ttrend\t"
              "recent\tprevious\tcohesion\tnearest_analogues\tbest_hits\tsubstituents\t"
              "top_peaks\tconsensus\n",
              f);
        for (size_t i = 0; i < ns; i++) {
            const npsw_signal *s = &shown[i]->sig;
            char d1[16], d2[16];
            npsw_signal_day(s->first_seen, d1);
            npsw_signal_day(s->last_seen, d2);
            fprintf(f, "%" PRId64 "\t%s\t%.2f\t", shown[i]->id, shown[i]->status,
                    s->urgency.score);
            out_tsv_field(f, s->predicted_class);
            fprintf(f, "\t%s\t%.4f\t%u\t%u\t%s\t%u\t%zu\t%s\t%s\t%s\t%u\t%u\t%.4f\t",
                    s->precursor ? "yes" : "no", s->class_share, s->n_labs, s->n_countries,
                    s->countries, s->n_submissions, s->n_members, d1, d2, s->trend, s->recent,
                    s->previous, s->cohesion);
            tsv_names(f, s->analogues, s->n_analogues, 1);
            fputc('\t', f);
            tsv_names(f, s->best_hits, s->n_best_hits, 0);
            fputc('\t', f);
            for (uint32_t k = 0; k < s->n_subst; k++) {
                if (k) fputc(';', f);
                out_tsv_raw(f, s->subst[k].label);
                fprintf(f, " (%+.3f, %u)", s->subst[k].delta, s->subst[k].count);
            }
            fputc('\t', f);
            top_peaks(f, s, 10);
            fputc('\t', f);
            for (uint32_t k = 0; k < s->n_consensus; k++)
                fprintf(f, "%s%.0f:%.0f", k ? ";" : "", s->consensus_mz[k], s->consensus_in[k]);
            fputc('\n', f);
        }
    }
    rc = cli_out_commit(&out);
    if (rc == EXIT_OK)
        cli_msg("signals: %" PRIu64 " candidate spectra clustered; %zu signal%s reported (seen by "
                "at least %lu laboratories%s%s)",
                rep.n_candidates, ns, ns == 1 ? "" : "s", min_labs,
                since_arg ? ", last seen since " : "", since_arg ? since_arg : "");
done:
    free(shown);
    npsw_ledger_signals_free(sig, nsig);
    return rc;
}

/* ---- npswatch advise ---------------------------------------------------------------------- */

static void advise_help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch advise --ledger DB --signal ID -o DIR [options]\n\n"
            "Writes an early-warning advisory for a signal into the directory DIR (atomically:\n"
            "DIR.tmp-PID, then renamed): advisory.json (schema npswatch-advisory/1,\n"
            "docs/advisory.md), advisory.md for people, mirror.png (the consensus spectrum\n"
            "against the nearest library spectrum) and timeline.png (detections per day). The\n"
            "ledger records it as a draft advisory (key NPSW-ADV-YEAR-ID; a second advisory of\n"
            "the same signal is a new version) with an audit entry, and marks the signal\n"
            "advised. Counts and countries only, never a laboratory's name or id. Library\n"
            "search results, not identifications.\n\n"
            "Options:\n"
            "  --ledger DB         the ledger (required)\n"
            "  --signal ID         the signal, as 'npswatch signals' lists it (required)\n"
            "  -o, --output DIR    the advisory directory to create (required)\n"
            "  -l, --library FILE  library to compare the consensus with (default: the file\n"
            "                      recorded for the library the members were analysed with)\n"
            "  --force             replace DIR when it is an earlier advisory directory\n"
            "  --min-labs N        refuse a signal seen by fewer than N laboratories (default 2,\n"
            "                      at least 2)\n"
            "  --now DATE          reference time of the trend (default: SOURCE_DATE_EPOCH when\n"
            "                      set, else now)\n"
            "  -h, --help          this help\n\n"
            "Figure text is drawn with the font $NPSW_FONT, else DejaVu Sans (fonts-dejavu-core).\n");
}

typedef struct advise_ctx {
    npsw_advisory a;
    const char *dir;
    int force;
    int writer_rc;  /* the writer's error (0 = none) */
    char issued[32];
} advise_ctx;

static int advise_writer(void *user, const char *key, int version, const char *supersedes,
                         char **json, npsw_err *err)
{
    advise_ctx *cx = user;
    cx->a.key = key;
    cx->a.version = version;
    cx->a.supersedes = supersedes;
    int rc = npsw_advisory_write(&cx->a, cx->dir, cx->force, err);
    if (rc == 0) rc = npsw_advisory_json(&cx->a, cx->a.ref != NULL, json, err);
    cx->writer_rc = rc;
    return rc;
}

static void remove_advisory_dir(const char *dir)
{
    static const char *const files[] = {"advisory.json", "advisory.md", "mirror.png",
                                        "timeline.png"};
    char p[4200];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* A copy of library metadata (npsw_lib_meta's buffers are reused after three calls). */
static char *meta(const npsw_lib *lib, uint64_t i, int field)
{
    const char *v = npsw_lib_meta(lib, i, field);
    return strdup(v ? v : "");
}

typedef struct ref_strings {
    char *name, *inchikey, *accession, *formula, *cls;
} ref_strings;

static int fill_ref(const npsw_lib *lib, uint64_t i, npsw_advisory_ref *r, ref_strings *k)
{
    k->name = meta(lib, i, NPSW_META_NAME);
    k->inchikey = meta(lib, i, NPSW_META_INCHIKEY);
    k->accession = meta(lib, i, NPSW_META_ACCESSION);
    k->formula = meta(lib, i, NPSW_META_FORMULA);
    k->cls = meta(lib, i, NPSW_META_CLASS);
    r->name = k->name;
    r->inchikey = k->inchikey;
    r->accession = k->accession;
    r->formula = k->formula;
    r->cls = k->cls;
    r->index = i + 1;
    r->peaks = npsw_lib_peaks(lib, i);
    return k->name && k->inchikey && k->accession && k->formula && k->cls ? 0 : -1;
}

static void free_ref(ref_strings *k)
{
    free(k->name);
    free(k->inchikey);
    free(k->accession);
    free(k->formula);
    free(k->cls);
}

int cmd_advise(int argc, char **argv)
{
    enum { OPT_LEDGER = OPT_CLI_LAST, OPT_SIGNAL, OPT_FORCE, OPT_MINLABS, OPT_NOW };
    static const struct option longopts[] = {{"ledger", required_argument, NULL, OPT_LEDGER},
                                             {"signal", required_argument, NULL, OPT_SIGNAL},
                                             {"output", required_argument, NULL, 'o'},
                                             {"library", required_argument, NULL, 'l'},
                                             {"force", no_argument, NULL, OPT_FORCE},
                                             {"min-labs", required_argument, NULL, OPT_MINLABS},
                                             {"now", required_argument, NULL, OPT_NOW},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *ledger_path = NULL, *dir = NULL, *libpath = NULL;
    unsigned long signal_id = 0, min_labs = 2;
    int force = 0, bad = 0, have_now = 0, c;
    int64_t now = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LEDGER: ledger_path = optarg; break;
        case OPT_SIGNAL:
            bad |= cli_parse_uint("--signal", optarg, 1, (unsigned long)INT64_MAX, &signal_id) < 0;
            break;
        case 'o': dir = optarg; break;
        case 'l': libpath = optarg; break;
        case OPT_FORCE: force = 1; break;
        case OPT_MINLABS:
            bad |= cli_parse_uint("--min-labs", optarg, MIN_LABS_FLOOR, 1000000, &min_labs) < 0;
            break;
        case OPT_NOW:
            bad |= parse_date("--now", optarg, &now) < 0;
            have_now = 1;
            break;
        case 'h': advise_help(stdout); return EXIT_OK;
        default: bad = 1;
        }
    }
    if (!bad && (!ledger_path || !signal_id || !dir))
        cli_msg("advise: --ledger DB, --signal ID and -o DIR are required"), bad = 1;
    if (!bad && optind < argc) cli_msg("advise: unexpected argument '%s'", argv[optind]), bad = 1;
    if (bad) {
        advise_help(stderr);
        return EXIT_INPUT;
    }
    struct stat sb;
    if (!force && lstat(dir, &sb) == 0) {
        cli_msg("%s: already exists; an advisory directory is never overwritten (choose another "
                "directory, or --force to replace an earlier advisory directory)",
                dir);
        return EXIT_INPUT;
    }
    npsw_signal_opts so = npsw_signal_opts_default();
    so.now = have_now ? now : now_default();
    int rc = EXIT_OK;
    npsw_ledger *l = open_ledger(ledger_path, &rc);
    if (!l) return rc;
    npsw_err e;
    npsw_err_clear(&e);
    npsw_ledger_signal sig;
    npsw_ledger_signal_library li;
    npsw_lib *lib = NULL;
    npsw_hit *hits = NULL;
    npsw_advisory_ref *refs = NULL;
    ref_strings *rs = NULL;
    uint32_t nhits = 0;
    npsw_advisory_ref ref;
    ref_strings ref_s = {0};
    npsw_spectrum cons;
    npsw_spectrum_init(&cons);
    memset(&li, 0, sizeof li);
    memset(&sig, 0, sizeof sig);
    int r = npsw_ledger_signal_get(l, (int64_t)signal_id, &so, &sig, &li, &e);
    if (r < 0) {
        cli_err(&e);
        rc = ledger_rc(r);
        goto done;
    }
    if (!npsw_signal_reportable(&sig.sig, (uint32_t)min_labs)) {
        cli_msg("advise: signal %lu has been seen by fewer than %lu laboratories: no advisory "
                "(privacy threshold, --min-labs)",
                signal_id, min_labs);
        rc = EXIT_INPUT;
        goto done;
    }
    /* the library: -l, else the file recorded for the members' library */
    const char *lp = libpath ? libpath : li.file_path;
    if (!lp) {
        cli_msg("advise: the library the members were analysed with (SHA-256 %s) has no recorded "
                "file; give it with -l LIB.h5",
                li.sha256[0] ? li.sha256 : "unknown");
        rc = EXIT_INPUT;
        goto done;
    }
    lib = npsw_lib_open(lp, &e);
    if (!lib) {
        cli_err(&e);
        if (!libpath) cli_msg("advise: give the library with -l LIB.h5");
        rc = cli_exit_code(e.code);
        goto done;
    }
    const npsw_lib_info *info = npsw_lib_get_info(lib);
    int same_lib = li.sha256[0] && !strcmp(info->content_sha256, li.sha256);
    if (!libpath && !same_lib) {
        cli_msg("advise: %s is no longer the library the members were analysed with (its "
                "content SHA-256 is %s, expected %s); give the library with -l LIB.h5",
                lp, info->content_sha256, li.sha256);
        rc = EXIT_INPUT;
        goto done;
    }
    if (libpath && !same_lib)
        cli_msg("advise: note: the members were analysed with library %s; comparing the "
                "consensus with %s (%s)",
                li.sha256[0] ? li.sha256 : "(unknown)", lp, info->content_sha256);
    /* the consensus spectrum: identity search, then the reference for the mirror plot */
    for (uint32_t i = 0; i < sig.sig.n_consensus; i++)
        if (npsw_spectrum_push(&cons, sig.sig.consensus_mz[i], sig.sig.consensus_in[i]) < 0)
            goto nomem;
    npsw_search_opts sopt = npsw_search_opts_default();
    sopt.k = NPSW_ADVISORY_MAX_HITS;
    if (!(hits = malloc(sopt.k * sizeof *hits))) goto nomem;
    if ((r = npsw_search(lib, &cons, 1, &sopt, hits, &nhits, NULL, &e)) < 0) {
        cli_err(&e);
        rc = cli_exit_code(r);
        goto done;
    }
    npsw_score_params sp = sopt.params;
    sp.nominal = info->clean.nominal;
    refs = calloc(nhits ? nhits : 1, sizeof *refs);
    rs = calloc(nhits ? nhits : 1, sizeof *rs);
    if (!refs || !rs) goto nomem;
    for (uint32_t i = 0; i < nhits; i++) {
        if (fill_ref(lib, hits[i].index, &refs[i], &rs[i]) < 0) goto nomem;
        refs[i].scores = hits[i].all;
    }
    npsw_peaks qpk = {cons.mz, cons.intensity, cons.n};
    const npsw_advisory_ref *refp = NULL;
    const char *basis = NULL;
    memset(&ref, 0, sizeof ref);
    int64_t ai = -1; /* 0-based library index of the signal's most frequent analogue */
    if (sig.sig.n_analogues) {
        const char *an = sig.sig.analogues[0].name;
        if (same_lib && li.analogue_index > 0 && (uint64_t)li.analogue_index <= npsw_lib_size(lib)) {
            const char *nm = npsw_lib_meta(lib, (uint64_t)li.analogue_index - 1, NPSW_META_NAME);
            if (nm && !strcmp(nm, an)) ai = li.analogue_index - 1;
        }
        for (uint64_t i = 0; ai < 0 && i < npsw_lib_size(lib); i++) {
            const char *nm = npsw_lib_meta(lib, i, NPSW_META_NAME);
            if (nm && !strcasecmp(nm, an)) ai = (int64_t)i;
        }
    }
    if (ai >= 0) {
        if (fill_ref(lib, (uint64_t)ai, &ref, &ref_s) < 0) goto nomem;
        npsw_score_pair(&qpk, &ref.peaks, &sp, &ref.scores);
        ref.has_delta = 1;
        ref.delta = sig.sig.analogues[0].median_delta;
        refp = &ref;
        basis = "the most frequent analogue of the member spectra";
    } else if (nhits) {
        ref = refs[0];
        refp = &ref;
        basis = "the best identity hit of the consensus spectrum";
    }
    /* write the files and record the advisory in one ledger transaction */
    advise_ctx cx;
    memset(&cx, 0, sizeof cx);
    npsw_utc_now(cx.issued);
    char issuer[64];
    snprintf(issuer, sizeof issuer, "npswatch %s", NPSW_VERSION);
    cx.a.state = "draft";
    cx.a.issued_utc = cx.issued;
    cx.a.issuer = issuer;
    cx.a.signal_id = sig.id;
    cx.a.signal = &sig.sig;
    cx.a.signal_opts = &so;
    cx.a.min_labs = (uint32_t)min_labs;
    cx.a.lib_name = info->name;
    cx.a.lib_version = info->version;
    cx.a.lib_sha256 = info->content_sha256;
    cx.a.lib_file = lp;
    cx.a.ref = refp;
    cx.a.ref_basis = basis;
    cx.a.match_params = &sp;
    cx.a.hits = refs;
    cx.a.n_hits = nhits;
    cx.dir = dir;
    cx.force = force;
    int year = atoi(cx.issued);
    char actor[128];
    actor_of(actor, sizeof actor);
    npsw_ledger_advisory_rec rec;
    npsw_err_clear(&e);
    r = npsw_ledger_advisory_create(l, sig.id, year, dir, actor, advise_writer, &cx, &rec, &e);
    if (r < 0) {
        cli_err(&e);
        if (rec.files_written) {
            remove_advisory_dir(dir);
            cli_msg("advise: the advisory was not recorded in the ledger; %s removed", dir);
            rc = ledger_rc(r);
        } else {
            rc = cx.writer_rc ? cli_exit_code(cx.writer_rc) : ledger_rc(r);
        }
        goto done;
    }
    printf("advisory_key: %s\nversion: %d\ndirectory: %s\n", rec.key, rec.version, dir);
    if (fflush(stdout) != 0 || ferror(stdout)) rc = EXIT_INTERNAL;
    cli_msg("advise: %s version %d (draft) for signal %" PRId64 " written to %s; the signal is "
            "now 'advised'",
            rec.key, rec.version, sig.id, dir);
    goto done;
nomem:
    cli_msg("out of memory");
    rc = EXIT_INTERNAL;
done:
    if (rs)
        for (uint32_t i = 0; i < nhits; i++) free_ref(&rs[i]);
    free(rs);
    free(refs);
    free_ref(&ref_s);
    free(hits);
    npsw_spectrum_free(&cons);
    npsw_lib_free(lib);
    free(li.file_path);
    npsw_signal_free(&sig.sig);
    npsw_ledger_close(l);
    return rc;
}
