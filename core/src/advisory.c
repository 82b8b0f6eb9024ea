/* advisory.c - an early-warning advisory for a signal as a directory: advisory.json (schema
 * npswatch-advisory/1, docs/advisory.md), advisory.md, mirror.png and timeline.png, written
 * atomically (npsw/advisory.h).
 *
 * Everything here comes from the npsw_signal (counts, countries, dates, the consensus spectrum,
 * names of library substances) and the library comparison; a signal holds no laboratory or
 * submission ids, so an advisory cannot name a laboratory.
 */
#define _XOPEN_SOURCE 700 /* open_memstream, fsync */

#include "npsw/advisory.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "npsw/plot.h"

#define NOTE "library search results, not identifications"
#define PRIVACY_NOTE                                                                           \
    "counts and countries only: no laboratory names or ids, submission ids, file names or "    \
    "per-laboratory data; reported only when seen by at least min_labs laboratories"
#define TOP_PEAKS 10

/* ---- small helpers -------------------------------------------------------------------------- */

static double r4(double x) { return floor(x * 1e4 + 0.5) / 1e4; }
static double r2(double x) { return floor(x * 1e2 + 0.5) / 1e2; }

static void day_of(int64_t t, char buf[16])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(buf, 16, "1970-01-01");
        return;
    }
    strftime(buf, 16, "%Y-%m-%d", &tm);
}

static void utc_of(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(buf, 32, "1970-01-01T00:00:00Z");
        return;
    }
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *npsw_advisory_class_statement(const char *cls, char *buf, size_t size)
{
    if (!cls || !*cls || !strcmp(cls, "other")) snprintf(buf, size, "unclassified");
    else if (!strncmp(cls, "precursor:", 10)) snprintf(buf, size, "precursor of %s", cls + 10);
    else snprintf(buf, size, "%s", cls);
    return buf;
}

/* Indices of the consensus peaks by intensity (descending), then m/z (ascending). */
static size_t top_peaks(const npsw_signal *s, uint32_t *idx, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s->n_consensus; i++) {
        /* insertion into the kept top list */
        size_t at = n;
        while (at > 0) {
            uint32_t j = idx[at - 1];
            int before = s->consensus_in[i] > s->consensus_in[j] ||
                         (s->consensus_in[i] == s->consensus_in[j] &&
                          s->consensus_mz[i] < s->consensus_mz[j]);
            if (!before) break;
            at--;
        }
        if (at >= max) continue;
        size_t last = n < max ? n : max - 1;
        memmove(idx + at + 1, idx + at, (last - at) * sizeof *idx);
        idx[at] = i;
        if (n < max) n++;
    }
    return n;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

int npsw_advisory_check(const npsw_advisory *a, npsw_err *err)
{
    if (!a || !a->key || !*a->key || a->version < 1 || !a->state || !a->issued_utc ||
        !a->signal || !a->signal_opts || a->signal_id < 1)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "an advisory needs a key, a version >= 1, a state, an issue time, a "
                            "signal id and the signal");
    if (strcmp(a->state, "draft") && strcmp(a->state, "accepted") && strcmp(a->state, "rejected"))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "advisory state '%s': expected draft, accepted or rejected", a->state);
    if (!a->signal->n_members || !a->signal->n_consensus)
        return npsw_err_set(err, NPSW_EEMPTY, NULL, 0,
                            "signal %lld has no members or an empty consensus spectrum",
                            (long long)a->signal_id);
    if (a->ref && (!a->ref->peaks.n || !a->ref->peaks.mz || !a->ref->peaks.in))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "the reference library spectrum has no peaks");
    return 0;
}

/* ---- advisory.json ------------------------------------------------------------------------- */

static cJSON *add_str_or_null(cJSON *o, const char *key, const char *v)
{
    return v && *v ? cJSON_AddStringToObject(o, key, v) : cJSON_AddNullToObject(o, key);
}

static cJSON *ref_json(const npsw_advisory_ref *r, int rank)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    if (rank > 0) cJSON_AddNumberToObject(o, "rank", rank);
    add_str_or_null(o, "name", r->name);
    add_str_or_null(o, "inchikey", r->inchikey);
    add_str_or_null(o, "accession", r->accession);
    add_str_or_null(o, "formula", r->formula);
    add_str_or_null(o, "class", r->cls);
    if (r->index) cJSON_AddNumberToObject(o, "library_index", (double)r->index);
    else cJSON_AddNullToObject(o, "library_index");
    cJSON_AddNumberToObject(o, "mf", npsw_mf_display(r->scores.mf));
    cJSON_AddNumberToObject(o, "rmf", npsw_mf_display(r->scores.rmf));
    cJSON_AddNumberToObject(o, "wmf", npsw_mf_display(r->scores.wmf));
    cJSON_AddNumberToObject(o, "cosine", r4(r->scores.cosine));
    cJSON_AddNumberToObject(o, "n_matched", r->scores.n_matched);
    if (rank <= 0) {
        if (r->has_delta) cJSON_AddNumberToObject(o, "delta_mass", r4(r->delta));
        else cJSON_AddNullToObject(o, "delta_mass");
    }
    return o;
}

static cJSON *peak_pair(double mz, double in)
{
    cJSON *p = cJSON_CreateArray();
    cJSON_AddItemToArray(p, cJSON_CreateNumber(r4(mz)));
    cJSON_AddItemToArray(p, cJSON_CreateNumber(floor(in + 0.5)));
    return p;
}

static const char *title_of(const npsw_advisory *a, char *buf, size_t size)
{
    const npsw_signal *s = a->signal;
    char cls[96];
    npsw_advisory_class_statement(s->predicted_class, cls, sizeof cls);
    if (s->precursor)
        snprintf(buf, size, "Emerging designer precursor (%s)", cls);
    else if (!strcmp(cls, "unclassified"))
        snprintf(buf, size, "Emerging unclassified substance");
    else
        snprintf(buf, size, "Emerging %s-class substance", cls);
    if (s->n_analogues) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, " related to %s", s->analogues[0].name);
        if (s->n_subst) {
            n = strlen(buf);
            snprintf(buf + n, size - n, " (%s?)", s->subst[0].label);
        }
    }
    return buf;
}

int npsw_advisory_json(const npsw_advisory *a, int has_mirror, char **json, npsw_err *err)
{
    *json = NULL;
    int rc = npsw_advisory_check(a, err);
    if (rc < 0) return rc;
    const npsw_signal *s = a->signal;
    const npsw_signal_opts *so = a->signal_opts;
    char buf[512], d1[16], d2[16], now[32];
    cJSON *root = cJSON_CreateObject();
    if (!root) goto nomem;
    cJSON_AddStringToObject(root, "schema", NPSW_ADVISORY_SCHEMA);
    cJSON *adv = cJSON_AddObjectToObject(root, "advisory");
    cJSON_AddStringToObject(adv, "key", a->key);
    cJSON_AddNumberToObject(adv, "version", a->version);
    cJSON_AddStringToObject(adv, "state", a->state);
    add_str_or_null(adv, "supersedes", a->supersedes);
    cJSON_AddStringToObject(adv, "issued_utc", a->issued_utc);
    cJSON_AddStringToObject(adv, "issuer", a->issuer ? a->issuer : "npswatch");
    cJSON_AddStringToObject(adv, "title", title_of(a, buf, sizeof buf));
    cJSON_AddStringToObject(root, "disclaimer", NOTE);

    cJSON *sig = cJSON_AddObjectToObject(root, "signal");
    cJSON_AddNumberToObject(sig, "id", (double)a->signal_id);
    cJSON_AddNumberToObject(sig, "n_labs", s->n_labs);
    cJSON_AddNumberToObject(sig, "n_countries", s->n_countries);
    cJSON *cc = cJSON_AddArrayToObject(sig, "countries");
    for (const char *p = s->countries; p[0] && p[1]; p += 3) {
        char code[3] = {p[0], p[1], 0};
        cJSON_AddItemToArray(cc, cJSON_CreateString(code));
        if (p[2] != ',') break;
    }
    cJSON_AddNumberToObject(sig, "n_submissions", s->n_submissions);
    cJSON_AddNumberToObject(sig, "n_spectra", (double)s->n_members);
    day_of(s->first_seen, d1);
    day_of(s->last_seen, d2);
    cJSON_AddStringToObject(sig, "first_seen", d1);
    cJSON_AddStringToObject(sig, "last_seen", d2);
    cJSON *tr = cJSON_AddObjectToObject(sig, "trend");
    utc_of(so->now, now);
    cJSON_AddStringToObject(tr, "reference_utc", now);
    cJSON_AddNumberToObject(tr, "window_days", so->trend_days);
    cJSON_AddNumberToObject(tr, "recent", s->recent);
    cJSON_AddNumberToObject(tr, "previous", s->previous);
    cJSON_AddStringToObject(tr, "label", s->trend);
    cJSON *ur = cJSON_AddObjectToObject(sig, "urgency");
    cJSON_AddNumberToObject(ur, "score", r2(s->urgency.score));
    cJSON_AddNumberToObject(ur, "class_weight", r4(s->urgency.class_weight));
    cJSON_AddNumberToObject(ur, "spread", r4(s->urgency.spread));
    cJSON_AddNumberToObject(ur, "volume", r4(s->urgency.volume));
    cJSON_AddNumberToObject(ur, "growth", r4(s->urgency.growth));
    cJSON_AddNumberToObject(sig, "cohesion", r4(s->cohesion));
    cJSON_AddNumberToObject(sig, "min_labs", a->min_labs);

    cJSON *sub = cJSON_AddObjectToObject(root, "substance");
    cJSON_AddStringToObject(sub, "predicted_class", s->predicted_class);
    cJSON_AddNumberToObject(sub, "class_share", r4(s->class_share));
    cJSON_AddBoolToObject(sub, "precursor", s->precursor != 0);
    add_str_or_null(sub, "precursor_family", s->precursor ? s->precursor_family : NULL);
    cJSON_AddStringToObject(sub, "class_statement",
                            npsw_advisory_class_statement(s->predicted_class, buf, sizeof buf));
    cJSON *nk = cJSON_AddArrayToObject(sub, "nearest_known");
    for (uint32_t i = 0; i < s->n_analogues; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->analogues[i].name);
        cJSON_AddNumberToObject(o, "members", s->analogues[i].count);
        cJSON_AddNumberToObject(o, "median_delta_mass", r4(s->analogues[i].median_delta));
        cJSON_AddItemToArray(nk, o);
    }
    cJSON *bh = cJSON_AddArrayToObject(sub, "best_identity_hits");
    for (uint32_t i = 0; i < s->n_best_hits; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->best_hits[i].name);
        cJSON_AddNumberToObject(o, "members", s->best_hits[i].count);
        cJSON_AddItemToArray(bh, o);
    }
    cJSON *sh = cJSON_AddArrayToObject(sub, "substituent_hypotheses");
    for (uint32_t i = 0; i < s->n_subst; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", s->subst[i].label);
        cJSON_AddNumberToObject(o, "delta_mass", r4(s->subst[i].delta));
        cJSON_AddNumberToObject(o, "members", s->subst[i].count);
        cJSON_AddItemToArray(sh, o);
    }

    cJSON *cs = cJSON_AddObjectToObject(root, "consensus_spectrum");
    snprintf(buf, sizeof buf,
             "nominal m/z present in at least %g%% of the member spectra, each with the median of "
             "its relative intensities, base peak 999",
             100.0 * so->consensus_share);
    cJSON_AddStringToObject(cs, "rule", buf);
    cJSON_AddNumberToObject(cs, "n_members", (double)s->n_members);
    cJSON_AddNumberToObject(cs, "n_peaks", s->n_consensus);
    cJSON *pk = cJSON_AddArrayToObject(cs, "peaks");
    for (uint32_t i = 0; i < s->n_consensus; i++)
        cJSON_AddItemToArray(pk, peak_pair(s->consensus_mz[i], s->consensus_in[i]));
    uint32_t top[TOP_PEAKS];
    size_t nt = top_peaks(s, top, TOP_PEAKS);
    cJSON *tp = cJSON_AddArrayToObject(cs, "top_peaks");
    for (size_t i = 0; i < nt; i++)
        cJSON_AddItemToArray(tp, peak_pair(s->consensus_mz[top[i]], s->consensus_in[top[i]]));

    cJSON *lib = cJSON_AddObjectToObject(root, "library");
    add_str_or_null(lib, "name", a->lib_name);
    add_str_or_null(lib, "version", a->lib_version);
    add_str_or_null(lib, "sha256", a->lib_sha256);
    add_str_or_null(lib, "file", a->lib_file);

    cJSON *lc = cJSON_AddObjectToObject(root, "library_comparison");
    if (a->ref) {
        cJSON *r = ref_json(a->ref, 0);
        cJSON_AddStringToObject(r, "basis", or_empty(a->ref_basis));
        cJSON_AddItemToObject(lc, "reference", r);
    } else {
        cJSON_AddNullToObject(lc, "reference");
    }
    cJSON *hl = cJSON_AddArrayToObject(lc, "identity_hits");
    for (size_t i = 0; i < a->n_hits && i < NPSW_ADVISORY_MAX_HITS; i++)
        cJSON_AddItemToArray(hl, ref_json(&a->hits[i], (int)i + 1));

    cJSON *fig = cJSON_AddObjectToObject(root, "figures");
    if (has_mirror) cJSON_AddStringToObject(fig, "mirror", "mirror.png");
    else cJSON_AddNullToObject(fig, "mirror");
    cJSON_AddStringToObject(fig, "timeline", "timeline.png");

    cJSON *me = cJSON_AddObjectToObject(root, "method");
    snprintf(buf, sizeof buf, "%s of intensity^%g * (m/z)^%g weights, nominal m/z",
             npsw_score_name(so->score), so->params.int_power, so->params.mz_power);
    cJSON_AddStringToObject(me, "similarity", buf);
    cJSON_AddStringToObject(me, "linkage", "average");
    cJSON_AddNumberToObject(me, "link_threshold", r4(so->link));
    cJSON_AddNumberToObject(me, "edge_min", r4(so->edge_min));
    cJSON_AddNumberToObject(me, "consensus_share", r4(so->consensus_share));
    cJSON_AddStringToObject(me, "documentation", "docs/signals.md");
    cJSON_AddStringToObject(root, "privacy", PRIVACY_NOTE);

    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    if (!txt) goto nomem_txt;
    size_t n = strlen(txt);
    char *out = malloc(n + 2);
    if (!out) {
        cJSON_free(txt);
        goto nomem_txt;
    }
    memcpy(out, txt, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    cJSON_free(txt);
    *json = out;
    return 0;
nomem:
    cJSON_Delete(root);
nomem_txt:
    return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory writing the advisory JSON");
}

/* ---- advisory.md ---------------------------------------------------------------------------- */

/* Markdown text: characters with a meaning in Markdown (and table cells) are escaped; line
 * breaks become spaces. */
static void md(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("\\`*_[]<>|#", *s)) fputc('\\', f);
        fputc(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s, f);
    }
}

int npsw_advisory_markdown(const npsw_advisory *a, int has_mirror, char **out, npsw_err *err)
{
    *out = NULL;
    int rc = npsw_advisory_check(a, err);
    if (rc < 0) return rc;
    const npsw_signal *s = a->signal;
    const npsw_signal_opts *so = a->signal_opts;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory writing advisory.md");
    char buf[512], cls[96], d1[16], d2[16], now[32];
    npsw_advisory_class_statement(s->predicted_class, cls, sizeof cls);
    day_of(s->first_seen, d1);
    day_of(s->last_seen, d2);
    utc_of(so->now, now);

    fputs("# ", f);
    md(f, a->key);
    fprintf(f, " (version %d, %s): ", a->version, a->state);
    md(f, title_of(a, buf, sizeof buf));
    fputs("\n\n", f);
    fputs("> **Library search results, not identifications.** This advisory reports what "
          "reference-library searches said about spectra that several laboratories submitted; "
          "the substance has not been identified. It is provisional until a curator has "
          "reviewed it.\n\n",
          f);
    fputs("| | |\n|---|---|\n", f);
    fputs("| advisory | ", f);
    md(f, a->key);
    fprintf(f, ", version %d, state %s", a->version, a->state);
    if (a->supersedes) {
        fputs(", supersedes ", f);
        md(f, a->supersedes);
    }
    fputs(" |\n| issued | ", f);
    md(f, a->issued_utc);
    fputs(" by ", f);
    md(f, a->issuer ? a->issuer : "npswatch");
    fprintf(f, " |\n| signal | %lld |\n", (long long)a->signal_id);
    fprintf(f, "| urgency | %.2f |\n\n", s->urgency.score);

    fputs("## What was seen\n\n", f);
    fprintf(f,
            "%zu spectr%s from %u submission%s that the reference library does not hold (verdict "
            "analogue or unknown) are alike enough to be one substance: mean pairwise similarity "
            "%.3f (%s of I^%g·(m/z)^%g weights; average linkage at %.2f).\n\n",
            s->n_members, s->n_members == 1 ? "um" : "a", s->n_submissions,
            s->n_submissions == 1 ? "" : "s", s->cohesion, npsw_score_name(so->score),
            so->params.int_power, so->params.mz_power, so->link);
    fputs("- **Predicted class:** ", f);
    md(f, cls);
    fprintf(f, " (%.0f %% of the spectra)", 100.0 * s->class_share);
    if (s->precursor) {
        fputs(". This is a **designer precursor**: a chemical made to stand one step before a "
              "drug of the ",
              f);
        md(f, s->precursor_family);
        fputs(" family, not itself such a drug", f);
    }
    fputs(".\n", f);
    fputs("- **Nearest known substances:** ", f);
    if (!s->n_analogues) fputs("none found by the analogue search", f);
    for (uint32_t i = 0; i < s->n_analogues; i++) {
        if (i) fputs("; ", f);
        md(f, s->analogues[i].name);
        fprintf(f, " (%u spectr%s, median ΔM %+.1f Da)", s->analogues[i].count,
                s->analogues[i].count == 1 ? "um" : "a", s->analogues[i].median_delta);
    }
    fputs(".\n", f);
    fputs("- **Substituent hypotheses** (for the mass difference to the nearest known "
          "substance): ",
          f);
    if (!s->n_subst) fputs("none", f);
    for (uint32_t i = 0; i < s->n_subst; i++) {
        if (i) fputs("; ", f);
        md(f, s->subst[i].label);
        fprintf(f, " (%+.3f Da, %u spectr%s)", s->subst[i].delta, s->subst[i].count,
                s->subst[i].count == 1 ? "um" : "a");
    }
    fputs(".\n", f);
    fputs("- **Best identity hits** of the individual spectra: ", f);
    if (!s->n_best_hits) fputs("none", f);
    for (uint32_t i = 0; i < s->n_best_hits; i++) {
        if (i) fputs("; ", f);
        md(f, s->best_hits[i].name);
        fprintf(f, " (%u)", s->best_hits[i].count);
    }
    fputs(".\n\n", f);

    fputs("## Where and when\n\n", f);
    fprintf(f, "- **Laboratories:** %u, in %u countr%s: ", s->n_labs, s->n_countries,
            s->n_countries == 1 ? "y" : "ies");
    md(f, s->countries);
    fputs(".\n", f);
    fprintf(f, "- **First seen** %s, **last seen** %s.\n", d1, d2);
    fprintf(f,
            "- **Trend:** %s: %u spectr%s in the %u days before %s, %u in the %u days before "
            "those.\n",
            s->trend, s->recent, s->recent == 1 ? "um" : "a", so->trend_days, now, s->previous,
            so->trend_days);
    fprintf(f,
            "- **Urgency %.2f** = class weight %.2f × (spread %.2f + volume %.2f) × growth %.2f "
            "(docs/signals.md).\n\n",
            s->urgency.score, s->urgency.class_weight, s->urgency.spread, s->urgency.volume,
            s->urgency.growth);
    fputs("![Detections over time](timeline.png)\n\n", f);

    fputs("## Consensus spectrum\n\n", f);
    fprintf(f,
            "%u peaks: the nominal m/z present in at least %g %% of the %zu spectra, each with "
            "the median of its relative intensities, base peak 999. The %s most intense:\n\n",
            s->n_consensus, 100.0 * so->consensus_share, s->n_members,
            s->n_consensus < TOP_PEAKS ? "peaks by intensity" : "ten");
    fputs("| m/z | relative intensity |\n|---:|---:|\n", f);
    uint32_t top[TOP_PEAKS];
    size_t nt = top_peaks(s, top, TOP_PEAKS);
    for (size_t i = 0; i < nt; i++)
        fprintf(f, "| %.0f | %.0f |\n", s->consensus_mz[top[i]], s->consensus_in[top[i]]);
    fputs("\n", f);

    fputs("## Library comparison\n\n", f);
    fputs("Library: ", f);
    md(f, or_empty(a->lib_name));
    fputs(", version ", f);
    md(f, or_empty(a->lib_version));
    fputs(", SHA-256 `", f);
    fputs(or_empty(a->lib_sha256), f);
    fputs("`.\n\n", f);
    if (a->ref) {
        fputs("Mirror plot: the consensus spectrum (up) against ", f);
        md(f, a->ref->name && *a->ref->name ? a->ref->name : "a library spectrum");
        fputs(" (down), ", f);
        md(f, or_empty(a->ref_basis));
        fprintf(f, ": MF %d, RMF %d, cosine %.3f, %u peaks matched",
                npsw_mf_display(a->ref->scores.mf), npsw_mf_display(a->ref->scores.rmf),
                a->ref->scores.cosine, a->ref->scores.n_matched);
        if (a->ref->has_delta) fprintf(f, ", ΔM %+.1f Da (median of the spectra)", a->ref->delta);
        fputs(".\n\n", f);
        if (has_mirror) fputs("![Mirror plot](mirror.png)\n\n", f);
    } else {
        fputs("The library holds no spectrum that shares a peak with the consensus: no mirror "
              "plot.\n\n",
              f);
    }
    if (a->n_hits) {
        fputs("Identity search of the consensus spectrum:\n\n", f);
        fputs("| rank | library spectrum | class | MF | RMF | wmf | cosine |\n"
              "|---:|---|---|---:|---:|---:|---:|\n",
              f);
        for (size_t i = 0; i < a->n_hits && i < NPSW_ADVISORY_MAX_HITS; i++) {
            const npsw_advisory_ref *h = &a->hits[i];
            fprintf(f, "| %zu | ", i + 1);
            md(f, or_empty(h->name));
            fputs(" | ", f);
            md(f, or_empty(h->cls));
            fprintf(f, " | %d | %d | %d | %.3f |\n", npsw_mf_display(h->scores.mf),
                    npsw_mf_display(h->scores.rmf), npsw_mf_display(h->scores.wmf),
                    h->scores.cosine);
        }
        fputs("\n", f);
    }

    fputs("## Method and privacy\n\n", f);
    fprintf(f,
            "Spectra with the verdict analogue or unknown from all laboratories are clustered by "
            "average linkage on their pairwise similarity (%s of I^%g·(m/z)^%g weights, nominal "
            "m/z; clusters merge while their mean similarity is at least %.2f, pairs under %.2f "
            "count 0); see docs/signals.md. ",
            npsw_score_name(so->score), so->params.int_power, so->params.mz_power, so->link,
            so->edge_min);
    fprintf(f,
            "This advisory gives counts and countries only: no laboratory names or ids, "
            "submission ids or file names. A signal is reported only when at least %u "
            "laboratories have seen it.\n\n",
            a->min_labs);
    fputs("*" NOTE ".*\n", f);
    if (fclose(f) != 0 || !text) {
        free(text);
        return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory writing advisory.md");
    }
    *out = text;
    return 0;
}

/* ---- the directory ---------------------------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *data, size_t len,
                      npsw_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return npsw_err_set(err, NPSW_EIO, path, 0, "cannot create: %s", strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            return npsw_err_set(err, NPSW_EIO, path, 0, "write failed: %s", strerror(e));
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return npsw_err_set(err, NPSW_EIO, path, 0, "fsync failed: %s", strerror(e));
    }
    if (close(fd) != 0) return npsw_err_set(err, NPSW_EIO, path, 0, "close failed: %s", strerror(errno));
    return 0;
}

static void fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Remove the files in a directory and the directory (not recursive). 0 when it is gone. */
static int remove_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char p[4096];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    return rmdir(path);
}

/* 1 when `dir` is an earlier advisory directory (holds advisory.json) or empty. */
static int replaceable(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, has_json = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (!strcmp(e->d_name, "advisory.json")) has_json = 1;
    }
    closedir(d);
    return n == 0 || has_json;
}

static int write_mirror(const npsw_advisory *a, const char *path, npsw_err *err)
{
    const npsw_signal *s = a->signal;
    const npsw_advisory_ref *r = a->ref;
    npsw_mirror_opts mo = npsw_mirror_opts_default();
    char qname[96], hname[300], extra[200], footer[200], title[600], sig[32], idx[32], scores[200];
    char adv[160];
    snprintf(qname, sizeof qname, "Signal %lld consensus (%zu spectra, %u labs)",
             (long long)a->signal_id, s->n_members, s->n_labs);
    if (r->name && *r->name) snprintf(hname, sizeof hname, "%s", r->name);
    else snprintf(hname, sizeof hname, "library spectrum %llu", (unsigned long long)r->index);
    mo.query_name = qname;
    mo.hit_name = hname;
    mo.mf = npsw_mf_display(r->scores.mf);
    mo.rmf = npsw_mf_display(r->scores.rmf);
    if (r->has_delta) {
        mo.delta_label = "\xce\x94M (analogue)";
        mo.delta = r->delta;
    }
    snprintf(extra, sizeof extra, "cosine %.3f, %u peaks matched", r->scores.cosine,
             r->scores.n_matched);
    mo.subtitle_extra = extra;
    mo.lib_name = a->lib_name;
    mo.lib_version = a->lib_version;
    mo.lib_sha256 = a->lib_sha256;
    snprintf(footer, sizeof footer, "%s v%d, %s, %s", a->key, a->version,
             a->issuer ? a->issuer : "npswatch", a->issued_utc);
    mo.footer_extra = footer;
    mo.font_path = a->font_path;
    snprintf(title, sizeof title, "%s vs %s", qname, hname);
    snprintf(sig, sizeof sig, "%lld", (long long)a->signal_id);
    snprintf(idx, sizeof idx, "%llu", (unsigned long long)r->index);
    snprintf(adv, sizeof adv, "%s version %d (%s)", a->key, a->version, a->state);
    snprintf(scores, sizeof scores, "mf=%d rmf=%d wmf=%d cosine=%.4f entropy=%.4f n_matched=%u",
             npsw_mf_display(r->scores.mf), npsw_mf_display(r->scores.rmf),
             npsw_mf_display(r->scores.wmf), r->scores.cosine, r->scores.entropy,
             r->scores.n_matched);
    npsw_png_text text[] = {
        {"Title", title},
        {"Description", "Mirror plot: the consensus spectrum of a signal (up) against a library "
                        "spectrum (down, inverted), intensities relative to each base peak"},
        {"Software", a->issuer ? a->issuer : "npswatch"},
        {"Disclaimer", "library search result, not an identification"},
        {"Creation Time", a->issued_utc},
        {"Advisory", adv},
        {"Signal", sig},
        {"Library", or_empty(a->lib_name)},
        {"Library version", or_empty(a->lib_version)},
        {"Library SHA-256", or_empty(a->lib_sha256)},
        {"Reference", hname},
        {"Reference basis", or_empty(a->ref_basis)},
        {"Reference library index", idx},
        {"Reference InChIKey", or_empty(r->inchikey)},
        {"Scores", scores},
    };
    npsw_peaks q = {s->consensus_mz, s->consensus_in, s->n_consensus};
    /* the peaks the scores above matched, in full colour; the others pale */
    int32_t *qm = NULL, *lm = NULL;
    if (a->match_params) {
        qm = malloc((q.n + 1) * sizeof *qm);
        lm = malloc((r->peaks.n + 1) * sizeof *lm);
        if (!qm || !lm || npsw_match_peaks(&q, &r->peaks, a->match_params, qm, lm) < 0) {
            free(qm);
            free(lm);
            return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for the mirror plot");
        }
        mo.query_match = qm;
        mo.lib_match = lm;
    }
    int rc = npsw_plot_mirror(&q, &r->peaks, &mo, text, sizeof text / sizeof *text, path, NULL,
                              err);
    free(qm);
    free(lm);
    return rc;
}

static int write_timeline(const npsw_advisory *a, const char *path, npsw_err *err)
{
    const npsw_signal *s = a->signal;
    npsw_time_count *pts = malloc(s->n_members * sizeof *pts);
    if (!pts) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
    for (size_t i = 0; i < s->n_members; i++) pts[i] = (npsw_time_count){s->member_t[i], 1};
    npsw_timeline_opts to = npsw_timeline_opts_default();
    char title[96], footer[1200], sig[32], adv[160];
    snprintf(title, sizeof title, "Signal %lld: detections over time", (long long)a->signal_id);
    snprintf(footer, sizeof footer, "%s v%d, %s, %s; %u labs in %s", a->key, a->version,
             a->issuer ? a->issuer : "npswatch", a->issued_utc, s->n_labs, s->countries);
    to.title = title;
    to.footer = footer;
    /* the axis covers the two trend windows before `now` too, so that the figure shows what
     * the trend compares */
    int64_t w = 2 * (int64_t)a->signal_opts->trend_days * 86400;
    to.t_from = s->first_seen < a->signal_opts->now - w ? s->first_seen : a->signal_opts->now - w;
    to.t_to = s->last_seen > a->signal_opts->now ? s->last_seen : a->signal_opts->now;
    to.font_path = a->font_path;
    snprintf(sig, sizeof sig, "%lld", (long long)a->signal_id);
    snprintf(adv, sizeof adv, "%s version %d (%s)", a->key, a->version, a->state);
    npsw_png_text text[] = {
        {"Title", title},
        {"Description", "Detections (member spectra) of a signal per day or ISO week, UTC"},
        {"Software", a->issuer ? a->issuer : "npswatch"},
        {"Disclaimer", NOTE},
        {"Creation Time", a->issued_utc},
        {"Advisory", adv},
        {"Signal", sig},
    };
    int rc = npsw_plot_timeline(pts, s->n_members, &to, text, sizeof text / sizeof *text, path,
                                NULL, err);
    free(pts);
    return rc;
}

int npsw_advisory_write(const npsw_advisory *a, const char *dir_in, int force, npsw_err *err)
{
    int rc = npsw_advisory_check(a, err);
    if (rc < 0) return rc;
    if (!dir_in || !*dir_in) return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "no output directory");
    char dir[4000], tmp[4096], old[4096], parent[4000], path[4200];
    snprintf(dir, sizeof dir, "%s", dir_in);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dir[--dl] = '\0';
    if (dl + 32 >= sizeof dir)
        return npsw_err_set(err, NPSW_EINVAL, dir_in, 0, "output directory name too long");
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == parent) parent[1] = '\0';
    else *slash = '\0';
    struct stat sb;
    int exists = lstat(dir, &sb) == 0;
    if (exists) {
        if (!force)
            return npsw_err_set(err, NPSW_EINVAL, dir, 0,
                                "already exists; an advisory directory is never overwritten "
                                "(choose another directory, or --force to replace an earlier "
                                "advisory directory)");
        if (!S_ISDIR(sb.st_mode) || !replaceable(dir))
            return npsw_err_set(err, NPSW_EINVAL, dir, 0,
                                "exists and is not an advisory directory (no advisory.json) nor "
                                "empty: not replaced, even with --force");
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dir, (long)getpid());
    if (lstat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode)) remove_dir(tmp); /* our own leftover */
    if (mkdir(tmp, 0755) != 0)
        return npsw_err_set(err, NPSW_EIO, tmp, 0, "cannot create the directory: %s",
                            strerror(errno));
    char *json = NULL, *mdtext = NULL;
    int has_mirror = a->ref != NULL;
    if ((rc = npsw_advisory_json(a, has_mirror, &json, err)) < 0 ||
        (rc = npsw_advisory_markdown(a, has_mirror, &mdtext, err)) < 0)
        goto fail;
    if ((rc = write_file(tmp, "advisory.json", json, strlen(json), err)) < 0 ||
        (rc = write_file(tmp, "advisory.md", mdtext, strlen(mdtext), err)) < 0)
        goto fail;
    if (has_mirror) {
        snprintf(path, sizeof path, "%s/mirror.png", tmp);
        if ((rc = write_mirror(a, path, err)) < 0) goto fail;
    }
    snprintf(path, sizeof path, "%s/timeline.png", tmp);
    if ((rc = write_timeline(a, path, err)) < 0) goto fail;
    fsync_dir(tmp);
    if (exists) {
        snprintf(old, sizeof old, "%s.old-%ld", dir, (long)getpid());
        if (rename(dir, old) != 0) {
            rc = npsw_err_set(err, NPSW_EIO, dir, 0, "cannot move the old advisory aside: %s",
                              strerror(errno));
            goto fail;
        }
    }
    if (rename(tmp, dir) != 0) {
        rc = npsw_err_set(err, NPSW_EIO, dir, 0, "cannot rename %s to it: %s", tmp,
                          strerror(errno));
        if (exists) rename(old, dir); /* put the old one back */
        goto fail;
    }
    fsync_dir(parent);
    if (exists) remove_dir(old);
    free(json);
    free(mdtext);
    return 0;
fail:
    remove_dir(tmp);
    free(json);
    free(mdtext);
    return rc;
}
