/* npsw/classes.h - drug-class labels of library entries from their names (docs/classes.md). */
#ifndef NPSW_CLASSES_H
#define NPSW_CLASSES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The class of a substance from its name and synonyms ('\n'-separated; either may be NULL):
 * "fentanyl", "nitazene", "opioid", "cannabinoid", "cathinone", "phenethylamine", "tryptamine",
 * "benzodiazepine", "arylcyclohexylamine", "precursor:<family>" (a designer precursor of that
 * family) or "other". `why` (may be NULL) receives the name fragment that decided. The result
 * is a static string. */
const char *npsw_classify(const char *name, const char *synonyms, const char **why);
/* Give every spectrum without a class (NPSW_META_CLASS) the class of its name and synonyms;
 * a class already given (e.g. a "Class:" line in an MSP record) is kept. Returns 0 or
 * NPSW_ENOMEM. */
struct npsw_spectrum;
int npsw_classify_spectra(struct npsw_spectrum *v, size_t n);

/* Number of rules in the table. */
size_t npsw_class_rules(void);

#ifdef __cplusplus
}
#endif
#endif
