/* cli.h - what the npswatch subcommands share: the command table, messages, progress, queries. */
#ifndef NPSW_CLI_H
#define NPSW_CLI_H

#include <stdio.h>

#include "npsw/clean.h"
#include "npsw/err.h"
#include "npsw/io.h"
#include "npsw/library.h"
#include "npsw/search.h"

/* Exit codes (docs/cli.md): 0 ok, 1 bad input or usage, 2 internal or storage error. */
enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_INTERNAL = 2 };

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

int cmd_build(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_analogues(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_curate(int argc, char **argv);
int cmd_signals(int argc, char **argv);
int cmd_advise(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Text a FILE* writer produces into memory (open_memstream). cli_mb_open returns the stream or
 * NULL; cli_mb_take closes it and hands over the text (NULL on failure), without its final
 * newline when chomp is set. */
typedef struct cli_membuf {
    char *p;
    size_t n;
    FILE *f;
} cli_membuf;
FILE *cli_mb_open(cli_membuf *m);
char *cli_mb_take(cli_membuf *m, int chomp);

/* The program name that starts every message ("npswatch"; npswatch-mpi sets its own). */
extern const char *cli_prog;
/* cli_prog + ": " + message on stderr. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an npsw_err on stderr ("npswatch: FILE:LINE: message"). */
void cli_err(const npsw_err *e);
/* Exit code for an error code: 1 for input problems, 2 for internal/storage ones. */
int cli_exit_code(int rc);

/* Progress bar on stderr; shown when stderr is a terminal or `force` is set. */
typedef struct cli_progress {
    int on;
    const char *label;
    unsigned long long last_shown;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label, int force);
void cli_progress_cb(void *user, uint64_t done, uint64_t total);
void cli_progress_done(cli_progress *p);

/* Parse helpers: return 0 or print a usage message and return -1. */
int cli_parse_uint(const char *opt, const char *s, unsigned long min, unsigned long max,
                   unsigned long *out);
int cli_parse_double(const char *opt, const char *s, double min, double max, double *out);

/* Read every spectrum of several files (lenient unless strict), printing a summary and the
 * first problems of each file on stderr. quiet: only problems. progress: a bar per file (when
 * stderr is a terminal, or always when progress > 1). Returns 0, or an exit code. */
typedef struct cli_inputs {
    npsw_spectra spectra;
    npsw_lib_input *files; /* one per input: path, sha256, counts */
    size_t n_files;
    size_t *first;         /* first[i]: index of the first spectrum of file i (n_files + 1) */
} cli_inputs;
int cli_read_inputs(char **paths, int n, const npsw_read_opts *ro, int strict, int quiet,
                    int progress, cli_inputs *out);
void cli_inputs_free(cli_inputs *in);
/* Read the query files as cli_read_inputs does (quiet), refuse an empty set ("CMD: no query
 * spectra could be read") and clean every query as the library was cleaned, warning about those
 * left without peaks. Returns 0 or an exit code; `in` is to be freed in any case. */
int cli_read_queries(const char *cmd, const npsw_lib *lib, char **paths, int n,
                     const npsw_read_opts *ro, int strict, cli_inputs *in);

/* Long-option codes shared by subcommands that read spectra. */
enum {
    OPT_INPUT_FORMAT = 1000,
    OPT_ENCODING,
    OPT_DECIMAL_COMMA,
    OPT_CLI_LAST
};
#define CLI_READ_LONGOPTS                                                          \
    {"input-format", required_argument, NULL, OPT_INPUT_FORMAT},                   \
        {"encoding", required_argument, NULL, OPT_ENCODING},                       \
        {"decimal-comma", required_argument, NULL, OPT_DECIMAL_COMMA}
#define CLI_READ_HELP                                                                           \
    "  --input-format F    msp, mgf, jcamp, csv, mzml or auto (default: per file)\n"    \
    "  --encoding E        text encoding of names: auto, utf8, latin1, cp437 (default auto)\n" \
    "  --decimal-comma M   auto, yes or no: is ',' between digits a decimal mark (default auto)\n"

/* Install standard input-reading options. Returns 1 when the option was one of them. */
int cli_read_option(int opt, const char *arg, npsw_read_opts *ro, int *bad);

/* Open a file for writing atomically: data go to PATH.tmp.PID until cli_out_commit renames it.
 * path NULL or "-" = stdout; an existing non-regular file (/dev/null, a FIFO) is written in
 * place. */
typedef struct cli_out {
    FILE *f;
    char *path, *tmp;
    int direct; /* not a regular file (/dev/null, a FIFO): written in place */
} cli_out;
int cli_out_open(cli_out *o, const char *path);
int cli_out_commit(cli_out *o); /* 0 or exit code; on failure the temporary file is removed */
void cli_out_abort(cli_out *o);

/* The report formats of diff and lint: text for people, a TSV table, one JSON object. */
typedef enum { FMT_TEXT, FMT_TSV, FMT_JSON } cli_report_format;
/* --format text|tsv|json: 0, or -1 with a message. */
int cli_parse_report_format(const char *arg, cli_report_format *out);

/* ---- hit-list output (output.c) ---- */

typedef enum { OUT_TSV, OUT_JSON, OUT_NIST } out_format;

typedef struct run_record {
    const char *lib_path;
    const npsw_lib *lib;
    const npsw_search_opts *opts;
    char utc[32];
    char **query_paths;
    const cli_inputs *queries;
    const char *extra_params; /* appended to the parameters line (may be NULL) */
    const char *tsv_header;   /* TSV column header instead of the hit list's (may be NULL) */
} run_record;

/* The row of library spectrum `index` (0-based, of the whole library) in rr->lib, which may be
 * a part of the library holding the reported spectra (npswatch-mpi); aborts when it is not held
 * (a caller's bug). For a whole library, the index itself. */
uint64_t out_lib_row(const run_record *rr, uint64_t index);
/* The TSV field of a text that comes from a record or a person (names, identifiers, classes,
 * comments, file and laboratory names): tabs and line breaks become spaces, and a text that
 * starts with =, +, - or @ gets a leading apostrophe, so that a spreadsheet opening the table
 * shows it instead of evaluating it as a formula ("CSV injection": spectra and their names come
 * from many laboratories). docs/cli.md, "Output". */
void out_tsv_field(FILE *f, const char *s);
/* The TSV field of a text npswatch computed (substituent labels such as "+CH2", messages):
 * tabs and line breaks become spaces, nothing else changes. */
void out_tsv_raw(FILE *f, const char *s);
/* Which query file (path, SHA-256) a query came from. */
const char *out_query_file(const run_record *rr, size_t qindex, const char **sha);

void out_begin(FILE *f, out_format fmt, const run_record *rr);
/* One query's hits; qindex is 0-based. */
void out_query(FILE *f, out_format fmt, const run_record *rr, size_t qindex,
               const npsw_spectrum *q, const npsw_hit *hits, uint32_t nhits);

/* The whole output of a search: run record, then each query's hits (those of query i at
 * hits + i * rr->opts->k, nhits[i] of them), written to path (NULL or "-": stdout) atomically.
 * Returns 0 or an exit code. */
int out_hit_lists(const char *path, out_format fmt, const run_record *rr, const npsw_hit *hits,
                  const uint32_t *nhits);

/* Warn about queries without a precursor m/z when a precursor window is asked for. */
void cli_warn_no_precursor(const npsw_search_opts *so, const cli_inputs *in);

#endif
