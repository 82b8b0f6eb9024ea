/* analysis_json.c - one query's analogue analysis as JSON: the record of `npswatch analogues
 * --format json` (docs/cli.md, "analogues"), also returned by the C API
 * (npsw_api_analyse_json) and so by the Python package and the service. One writer, so that
 * they cannot drift apart. Scores are rounded to 4 decimals, MF and RMF shown on NIST's
 * 0-999 scale. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "npsw/analyse.h"
#include "npsw/library.h"
#include "npsw/spectrum.h"

static double r4(double x) { return round(x * 1e4) / 1e4; }

typedef struct libref {
    const npsw_lib *lib;
    uint64_t (*row)(uint64_t index, void *user);
    void *user;
} libref;

/* The library spectrum `index`: its 1-based index and what the library says of it. */
static int json_lib_ref(cJSON *o, const libref *L, uint64_t index)
{
    static const int fields[] = {NPSW_META_NAME, NPSW_META_INCHIKEY, NPSW_META_FORMULA,
                                 NPSW_META_ACCESSION, NPSW_META_CLASS};
    const npsw_lib *lib = L->lib;
    const uint64_t i = L->row ? L->row(index, L->user) : index;
    int ok = cJSON_AddNumberToObject(o, "index", (double)(index + 1)) != NULL;
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        ok &= cJSON_AddStringToObject(o, npsw_meta_column(fields[f]),
                                      npsw_lib_meta(lib, i, fields[f])) != NULL;
    ok &= cJSON_AddNumberToObject(o, "mass", npsw_lib_mw(lib, i)) != NULL;
    return ok;
}

/* One query's analysis as a JSON object; NULL when out of memory. */
static cJSON *analysis_object(const libref *L, size_t qi, const npsw_spectrum *q,
                              const char *file, const npsw_analysis *a)
{
    const npsw_lib *lib = L->lib;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
#define NUM(obj, k, v) ok &= cJSON_AddNumberToObject(obj, k, v) != NULL
#define STR(obj, k, v) ok &= cJSON_AddStringToObject(obj, k, v) != NULL
    STR(o, "record", "analysis");
    NUM(o, "query_index", (double)(qi + 1));
    STR(o, "query_name", npsw_spectrum_meta(q, NPSW_META_NAME));
    STR(o, "query_inchikey", npsw_spectrum_meta(q, NPSW_META_INCHIKEY));
    STR(o, "query_file", file);
    NUM(o, "query_peaks", q->n);
    STR(o, "verdict", npsw_verdict_name(a->verdict));
    NUM(o, "confidence", r4(a->confidence));
    NUM(o, "p_in_library", r4(a->p_in_library));
    NUM(o, "p_analogue", r4(a->p_analogue));
    NUM(o, "p_unknown", r4(1 - a->p_in_library - a->p_analogue));
    cJSON *hits = cJSON_AddArrayToObject(o, "identity_hits");
    ok &= hits != NULL;
    for (uint32_t i = 0; ok && i < a->n_hits; i++) {
        cJSON *h = cJSON_CreateObject();
        if (!h || !cJSON_AddItemToArray(hits, h)) {
            cJSON_Delete(h);
            ok = 0;
            break;
        }
        NUM(h, "rank", i + 1);
        ok &= json_lib_ref(h, L, a->hits[i].index);
        NUM(h, "score", r4(a->hits[i].score));
        NUM(h, "mf", npsw_mf_display(a->hits[i].all.mf));
        NUM(h, "rmf", npsw_mf_display(a->hits[i].all.rmf));
        NUM(h, "cosine", r4(a->hits[i].all.cosine));
        NUM(h, "entropy", r4(a->hits[i].all.entropy));
        NUM(h, "n_matched", a->hits[i].all.n_matched);
    }
    cJSON *cands = cJSON_AddArrayToObject(o, "analogue_candidates");
    ok &= cands != NULL;
    int nominal = npsw_lib_get_info(lib)->clean.nominal;
    for (uint32_t i = 0; ok && i < a->n_cands; i++) {
        const npsw_analogue_hit *c = &a->cands[i];
        cJSON *h = cJSON_CreateObject();
        if (!h || !cJSON_AddItemToArray(cands, h)) {
            cJSON_Delete(h);
            ok = 0;
            break;
        }
        NUM(h, "rank", i + 1);
        ok &= json_lib_ref(h, L, c->index);
        NUM(h, "hybrid_score", r4(c->hybrid.score));
        NUM(h, "query_mass", r4(c->query_mass));
        NUM(h, "delta_mass", r4(c->delta));
        NUM(h, "n_direct", c->hybrid.n_direct);
        NUM(h, "n_shifted", c->hybrid.n_shifted);
        npsw_delta_hypothesis hy[3];
        int nh = npsw_explain_delta(c->delta, 0.01, nominal, hy, 3);
        cJSON *ex = cJSON_AddArrayToObject(h, "explanations");
        ok &= ex != NULL;
        for (int j = 0; ok && j < nh; j++) ok &= cJSON_AddItemToArray(ex, cJSON_CreateString(hy[j].label));
    }
    if (ok && a->has_analogue) {
        cJSON *an = cJSON_AddObjectToObject(o, "analogue");
        ok &= an != NULL && json_lib_ref(an, L, a->analogue.index);
        if (ok) {
            NUM(an, "hybrid_score", r4(a->analogue.hybrid.score));
            NUM(an, "cosine", r4(a->analogue_cosine));
            NUM(an, "query_mass", r4(a->analogue.query_mass));
            NUM(an, "delta_mass", r4(a->analogue.delta));
            NUM(an, "n_direct", a->analogue.hybrid.n_direct);
            NUM(an, "n_shifted", a->analogue.hybrid.n_shifted);
            NUM(an, "shift_support", r4(a->shift_support));
            STR(an, "query_mass_from",
                q->precursor_mz > 0        ? "precursor"
                : a->analogue_from_shift ? "cross-correlation shift"
                                         : "molecular-ion candidate");
            cJSON *su = cJSON_AddArrayToObject(an, "substituents");
            ok &= su != NULL;
            for (int i = 0; ok && i < a->n_subst; i++) {
                cJSON *s = cJSON_CreateObject();
                if (!s || !cJSON_AddItemToArray(su, s)) {
                    cJSON_Delete(s);
                    ok = 0;
                    break;
                }
                STR(s, "label", a->subst[i].h.label);
                NUM(s, "delta", r4(a->subst[i].h.delta));
                NUM(s, "error", r4(a->subst[i].h.error));
                NUM(s, "evidence", r4(a->subst[i].evidence));
                STR(s, "evidence_note", a->subst[i].why);
            }
        }
    }
    cJSON *sh = ok ? cJSON_AddArrayToObject(o, "shifts_vs_best_hit") : NULL;
    ok &= sh != NULL;
    for (int i = 0; ok && i < a->n_shifts; i++) {
        cJSON *s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToArray(sh, s)) {
            cJSON_Delete(s);
            ok = 0;
            break;
        }
        NUM(s, "shift", a->shifts[i].shift);
        NUM(s, "correlation", r4(a->shifts[i].score));
    }
    if (ok) {
        STR(o, "predicted_class", a->predicted_class);
        NUM(o, "class_confidence", r4(a->class_confidence));
        NUM(o, "class_vote_share", r4(a->class_share));
    }
    cJSON *di = ok ? cJSON_AddArrayToObject(o, "diagnostic_ions") : NULL;
    ok &= di != NULL;
    for (int i = 0; ok && i < a->n_diag; i++) {
        cJSON *d = cJSON_CreateObject();
        if (!d || !cJSON_AddItemToArray(di, d)) {
            cJSON_Delete(d);
            ok = 0;
            break;
        }
        NUM(d, "mz", a->diag[i]->mz);
        STR(d, "class", a->diag[i]->cls);
        STR(d, "ion", a->diag[i]->ion);
    }
#undef NUM
#undef STR
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *npsw_analysis_json(const npsw_lib *lib, uint64_t (*row)(uint64_t index, void *user),
                         void *user, size_t qi, const npsw_spectrum *q, const char *file,
                         const npsw_analysis *a)
{
    const libref L = {lib, row, user};
    cJSON *o = analysis_object(&L, qi, q, file ? file : "", a);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL; /* malloc'd: cJSON has no hooks here */
    cJSON_Delete(o);
    return s;
}
