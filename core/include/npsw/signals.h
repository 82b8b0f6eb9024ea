/* npsw/signals.h - emerging signals: spectra of unknown substances and analogues that recur
 * across laboratories, clustered by spectral similarity (method, thresholds and why:
 * docs/signals.md).
 *
 *     npsw_signal_opts o = npsw_signal_opts_default();
 *     o.now = time_of_the_report;                   // trend reference (SOURCE_DATE_EPOCH)
 *     npsw_signal *sig; size_t nsig;
 *     rc = npsw_signals_cluster(spectra, n, &o, &sig, &nsig, &err);
 *     ... sig[i].n_labs, sig[i].countries, sig[i].consensus_mz ...
 *     npsw_signals_free(sig, nsig);
 *
 * Pure computation on in-memory spectra (the ledger loads and stores them:
 * spectra_db/include/npsw/ledger_signals.h). A signal describes its members by counts and
 * countries only; the laboratory and submission ids of the input are counted, never copied into
 * the result (docs/ledger.md, "Privacy rules"). Results do not depend on the order of the input
 * nor on the number of threads.
 */
#ifndef NPSW_SIGNALS_H
#define NPSW_SIGNALS_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/analyse.h"
#include "npsw/err.h"
#include "npsw/score.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPSW_SIGNAL_MAX_NAMES 5   /* nearest known substances kept per list */
#define NPSW_SIGNAL_MAX_SUBST 3   /* substituent hypotheses kept */
#define NPSW_SIGNAL_NAME_LEN 256
#define NPSW_SIGNAL_LABEL_LEN 64
/* "DE,FR,..." for every ISO 3166-1 code: 250 codes of 3 bytes */
#define NPSW_SIGNAL_COUNTRIES_LEN 760

/* One analysed spectrum, as the clustering sees it. Strings may be NULL (= none). */
typedef struct npsw_signal_spectrum {
    int64_t id;                  /* the caller's stable id (ledger: spectra.id); unique */
    npsw_peaks peaks;            /* cleaned (base peak 999); nominal m/z compared */
    int64_t lab;                 /* laboratory: counted, never reported */
    int64_t submission;          /* submission: counted, never reported */
    char country[3];             /* the laboratory's ISO 3166-1 alpha-2 code */
    int64_t t;                   /* when it was received, Unix seconds (UTC) */
    npsw_verdict verdict;        /* in_library spectra are left out of the clustering */
    const char *predicted_class; /* docs/classes.md names, incl. "precursor:<family>" */
    const char *best_name;       /* the rank-1 identity hit */
    const char *analogue_name;   /* the analogue found by npsw_analyse */
    double analogue_delta;       /* query mass - analogue mass, Da (with analogue_name) */
    const char *substituents;    /* "label (delta);label (delta)", best first */
} npsw_signal_spectrum;

typedef struct npsw_signal_opts {
    /* similarity: `score` (default NPSW_SCORE_COSINE; RMF is refused, it is not symmetric)
     * with `params` (default: weights sqrt(I) * (m/z)^2, i.e. int_power 0.5, mz_power 2,
     * nominal matching; docs/signals.md says why) */
    npsw_score_kind score;
    npsw_score_params params;
    double link;          /* average-linkage threshold: clusters merge while the mean
                             similarity over all their cross pairs is >= link; default 0.80 */
    double edge_min;      /* pairs below this count as similarity 0; default 0.50 */
    uint32_t min_members; /* clusters with fewer spectra are not signals; default 2 */
    double consensus_share; /* consensus peaks: present in >= this share of the members;
                               default 0.5 */
    int64_t now;          /* reference time of the trend, Unix seconds */
    uint32_t trend_days;  /* trend window: the last trend_days days vs the ones before;
                             default 30 */
    int threads;          /* 0 = OpenMP default; results do not depend on it */
} npsw_signal_opts;

npsw_signal_opts npsw_signal_opts_default(void);
int npsw_signal_opts_check(const npsw_signal_opts *o, npsw_err *err) NPSW_WUR;

/* A name with the number of member spectra that gave it. */
typedef struct npsw_signal_name {
    char name[NPSW_SIGNAL_NAME_LEN];
    uint32_t count;
    double median_delta; /* analogues: median of the members' mass differences; else 0 */
} npsw_signal_name;

typedef struct npsw_signal_subst {
    char label[NPSW_SIGNAL_LABEL_LEN]; /* e.g. "+F-for-H" */
    double delta;                      /* its mass change, Da */
    uint32_t count;                    /* members listing it among their hypotheses */
} npsw_signal_subst;

/* What raised the urgency score (docs/signals.md, "Urgency"). */
typedef struct npsw_signal_urgency {
    double class_weight; /* potency of the predicted class (fentanyl, nitazene 3 ... other 1) */
    double spread;       /* log2(1 + labs) + log2(countries) */
    double volume;       /* 0.25 log2(1 + submissions) */
    double growth;       /* sqrt of (recent + 1) / (previous + 1), clamped to [0.5, 4] */
    double score;        /* class_weight * (spread + volume) * growth */
} npsw_signal_urgency;

typedef struct npsw_signal {
    /* members, by ascending input id */
    size_t n_members;
    int64_t *member_id;      /* the input ids */
    int64_t *member_t;       /* their times */
    double *member_sim;      /* similarity of each member with the consensus spectrum */
    double cohesion;         /* mean similarity over all member pairs (pairs under edge_min
                                count 0); 1 for a single member */
    /* consensus spectrum: m/z ascending, base peak 999, integer intensities */
    uint32_t n_consensus;
    double *consensus_mz;
    float *consensus_in;
    /* spread (counts only) */
    uint32_t n_labs, n_submissions, n_countries;
    char countries[NPSW_SIGNAL_COUNTRIES_LEN]; /* sorted ISO codes joined by ',' */
    int64_t first_seen, last_seen;
    uint32_t recent;         /* members received in the last trend_days before `now` (and after) */
    uint32_t previous;       /* members received in the trend_days before those */
    const char *trend;       /* "new", "rising", "steady", "falling" or "dormant" (static) */
    /* what the members' analyses said */
    char predicted_class[NPSW_CLASS_LEN]; /* the majority class */
    double class_share;      /* its share of the members */
    int precursor;           /* 1: a designer precursor ("precursor:<family>") */
    char precursor_family[NPSW_CLASS_LEN]; /* e.g. "fentanyl"; "" unless precursor */
    npsw_signal_name analogues[NPSW_SIGNAL_MAX_NAMES]; /* most frequent analogues */
    uint32_t n_analogues;
    npsw_signal_name best_hits[NPSW_SIGNAL_MAX_NAMES]; /* most frequent rank-1 identity hits */
    uint32_t n_best_hits;
    npsw_signal_subst subst[NPSW_SIGNAL_MAX_SUBST];    /* most frequent hypotheses */
    uint32_t n_subst;
    npsw_signal_urgency urgency;
} npsw_signal;

/* Cluster the spectra whose verdict is analogue or unknown (others, and spectra without peaks,
 * are left out) by average linkage on the similarity graph, and summarise every cluster of at
 * least min_members spectra. *out (free with npsw_signals_free) holds the signals ordered by
 * their smallest member id. Ids must be unique (NPSW_EINVAL). Returns the number of signals. */
int npsw_signals_cluster(const npsw_signal_spectrum *in, size_t n, const npsw_signal_opts *o,
                         npsw_signal **out, size_t *n_out, npsw_err *err) NPSW_WUR;

/* Summarise the given spectra as one signal (consensus, counts, trend, names, class, urgency),
 * whatever their verdicts. n >= 1. out is filled (free with npsw_signal_free). */
int npsw_signal_summarise(const npsw_signal_spectrum *in, size_t n, const npsw_signal_opts *o,
                          npsw_signal *out, npsw_err *err) NPSW_WUR;

void npsw_signal_free(npsw_signal *s);
void npsw_signals_free(npsw_signal *v, size_t n);

/* The similarity the clustering uses (o->score with o->params), 0..1. */
double npsw_signal_similarity(const npsw_peaks *a, const npsw_peaks *b, const npsw_signal_opts *o);

/* Consensus of n spectra: the nominal m/z present in at least `share` of them (count >= share
 * * n), each with the median of its relative intensities (each spectrum scaled to its own
 * base peak 999) over the spectra that have it; rescaled to base peak 999 and rounded to
 * integers (peaks rounding to 0 dropped). *mz and *in are malloc'ed. Returns the peak count. */
int npsw_signal_consensus(const npsw_peaks *spectra, size_t n, double share, double **mz,
                          float **in, npsw_err *err) NPSW_WUR;

/* The reporting rule (docs/ledger.md, "Privacy rules"): 1 when the signal was seen by at least
 * min_labs laboratories; a threshold below 2 is taken as 2 (one laboratory's finding is not a
 * signal, and reporting it would publish that laboratory's data). */
#define NPSW_SIGNAL_MIN_LABS_FLOOR 2
int npsw_signal_reportable(const npsw_signal *s, uint32_t min_labs);

/* The signal as one JSON object (unformatted, malloc'ed; NULL when out of memory): "signal_id"
 * (when id > 0), "status" (when not NULL), the urgency and its parts, class, counts, sorted
 * countries, first and last seen as UTC dates, trend, cohesion, nearest known substances,
 * substituent hypotheses and the consensus peaks. Never member, laboratory or submission ids
 * (docs/signals.md, "Output"). */
char *npsw_signal_json(const npsw_signal *s, int64_t id, const char *status,
                       const npsw_signal_opts *o);
/* "YYYY-MM-DD" (UTC) of Unix time t. */
void npsw_signal_day(int64_t t, char buf[16]);

/* Potency weight of a drug class (docs/signals.md): fentanyl and nitazene 3, opioid 2,
 * benzodiazepine and cannabinoid 1.6, cathinone, phenethylamine and arylcyclohexylamine 1.3,
 * tryptamine 1.1, other (and unknown names) 1; a designer precursor "precursor:F" half its
 * family's weight, at least 1. */
double npsw_signal_class_weight(const char *cls);
/* The urgency score and its parts. */
npsw_signal_urgency npsw_signal_urgency_of(const char *cls, uint32_t n_labs, uint32_t n_countries,
                                           uint32_t n_submissions, uint32_t recent,
                                           uint32_t previous);

#ifdef __cplusplus
}
#endif
#endif
