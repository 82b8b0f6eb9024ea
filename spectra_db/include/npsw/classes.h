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
/* Number of rules in the table. */
size_t npsw_class_rules(void);

#ifdef __cplusplus
}
#endif
#endif
