/* cmd_curate.c - npswatch curate: a curator accepts or rejects a draft advisory (docs/cli.md,
 * "npswatch curate"). Accepting adds the signal's consensus spectrum to a new library version. */
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "npsw/ledger.h"
#include "npsw/ledger_curate.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch curate --ledger DB accept ADVISORY --name NAME -o NEW.h5 [options]\n"
            "       npswatch curate --ledger DB reject ADVISORY [--note T] [--actor WHO]\n\n"
            "Reviews a draft advisory (ADVISORY: its id, or its key for the newest version).\n"
            "reject: the advisory becomes rejected (reviewer, note, time; audited).\n"
            "accept: the advisory's signal consensus spectrum becomes a new library entry named\n"
            "NAME (accession NPSW-<advisory key>), appended to the parent library as a new\n"
            "library file NEW.h5 whose lineage names the parent and the advisory; then, in one\n"
            "ledger transaction, the advisory becomes accepted, the new library version is\n"
            "recorded, the signal is closed and the acceptance is audited. If NEW.h5 cannot be\n"
            "written the ledger is not changed; if the ledger cannot be written NEW.h5 is\n"
            "removed. Only a draft advisory can be reviewed.\n\n"
            "Options:\n"
            "  --ledger DB         the ledger (required)\n"
            "  --name NAME         accept: name of the new library entry (required)\n"
            "  --class C           accept: its drug class (default: the signal's predicted class)\n"
            "  --note T            the reviewer's note\n"
            "  -l, --library FILE  accept: the parent library (default: the file of the newest\n"
            "                      library version recorded in the ledger)\n"
            "  -o, --output FILE   accept: the new library file (required; must not exist)\n"
            "  --lib-version V     accept: its version label (default: the parent's version +\n"
            "                      \".adv<advisory id>\")\n"
            "  --actor WHO         reviewer recorded in the ledger (default cli:USER)\n"
            "  -h, --help          this help\n");
}

enum { OPT_LEDGER = OPT_CLI_LAST, OPT_NAME, OPT_CLASS, OPT_NOTE, OPT_VERSION, OPT_ACTOR };

int cmd_curate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ledger", required_argument, NULL, OPT_LEDGER},
        {"name", required_argument, NULL, OPT_NAME},
        {"class", required_argument, NULL, OPT_CLASS},
        {"note", required_argument, NULL, OPT_NOTE},
        {"library", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        {"lib-version", required_argument, NULL, OPT_VERSION},
        {"actor", required_argument, NULL, OPT_ACTOR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *db = NULL, *actor = NULL;
    npsw_curate_opts o;
    memset(&o, 0, sizeof o);
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LEDGER: db = optarg; break;
        case OPT_NAME: o.name = optarg; break;
        case OPT_CLASS: o.class_name = optarg; break;
        case OPT_NOTE: o.note = optarg; break;
        case 'l': o.parent_path = optarg; break;
        case 'o': o.out_path = optarg; break;
        case OPT_VERSION: o.lib_version = optarg; break;
        case OPT_ACTOR: actor = optarg; break;
        case 'h': help(stdout); return EXIT_OK;
        default: bad = 1;
        }
    }
    const char *action = optind < argc ? argv[optind] : NULL;
    int accept = action && !strcmp(action, "accept");
    if (!bad && !db) {
        cli_msg("curate: --ledger DB is required");
        bad = 1;
    }
    if (!bad && (!action || (!accept && strcmp(action, "reject") != 0))) {
        cli_msg("curate: expected accept or reject%s%s%s", action ? ", got '" : "",
                action ? action : "", action ? "'" : "");
        bad = 1;
    }
    if (!bad && argc - optind != 2) {
        cli_msg("curate %s: expected one advisory (its id or key)", action);
        bad = 1;
    }
    if (!bad && accept && (!o.name || !o.name[0])) {
        cli_msg("curate accept: --name NAME (the new library entry's name) is required");
        bad = 1;
    }
    if (!bad && accept && !o.out_path) {
        cli_msg("curate accept: -o NEW.h5 (the new library file) is required");
        bad = 1;
    }
    if (!bad && !accept && (o.name || o.class_name || o.parent_path || o.out_path || o.lib_version)) {
        cli_msg("curate reject: --name, --class, -l, -o and --lib-version belong to accept");
        bad = 1;
    }
    if (bad) {
        help(stderr);
        return EXIT_INPUT;
    }
    o.advisory = argv[optind + 1];
    char who[128];
    if (actor && actor[0]) {
        snprintf(who, sizeof who, "%s", actor);
    } else {
        const struct passwd *pw = getpwuid(geteuid());
        if (pw && pw->pw_name) snprintf(who, sizeof who, "cli:%s", pw->pw_name);
        else snprintf(who, sizeof who, "cli:uid%ld", (long)geteuid());
    }
    o.actor = who;

    npsw_err e;
    npsw_err_clear(&e);
    npsw_ledger *l = npsw_ledger_open(db, 0, who, NULL, &e);
    if (!l) {
        cli_err(&e);
        return e.code == NPSW_ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
    }
    npsw_curate_result r;
    int rc = accept ? npsw_curate_accept(l, &o, &r, &e) : npsw_curate_reject(l, &o, &r, &e);
    npsw_ledger_close(l);
    if (rc < 0) {
        cli_err(&e);
        if (r.sqlite_code) cli_msg("curate: the ledger was not changed");
        return r.sqlite_code ? EXIT_INTERNAL : cli_exit_code(rc);
    }
    printf("advisory: %s\nadvisory_id: %" PRId64 "\nadvisory_version: %" PRId64 "\nstate: %s\n"
           "reviewer: %s\naudit_seq: %" PRId64 "\n",
           r.advisory_key, r.advisory_id, r.advisory_version, r.state, who, r.audit_seq);
    if (!accept) {
        cli_msg("advisory %s (id %" PRId64 ") rejected", r.advisory_key, r.advisory_id);
        return EXIT_OK;
    }
    printf("library: %s\nlibrary_name: %s\nlibrary_version: %s\nlibrary_sha256: %s\n"
           "parent: %s\nparent_sha256: %s\nentry_index: %" PRIu64 "\naccession: %s\n"
           "entry_name: %s\nentry_class: %s\nlibrary_version_id: %" PRId64 "\n",
           r.library_path, r.library_name, r.library_version, r.library_sha256, r.parent_path,
           r.parent_sha256, r.entry_index + 1, r.accession, o.name, r.entry_class,
           r.library_version_id);
    cli_msg("advisory %s (id %" PRId64 ") accepted: '%s' is entry %" PRIu64 " of %s version %s "
            "(%s, content sha256 %s); signal %" PRId64 " closed",
            r.advisory_key, r.advisory_id, o.name, r.entry_index + 1, r.library_name,
            r.library_version, o.out_path, r.library_sha256, r.signal_id);
    return EXIT_OK;
}
