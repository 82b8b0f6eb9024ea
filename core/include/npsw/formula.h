/* npsw/formula.h - molecular formulas: element counts and the three masses a record may state.
 *
 *     npsw_formula f;
 *     if (npsw_formula_parse("C16H13ClN2O", &f, &err) == 0)
 *         nominal = npsw_formula_mass(&f, NPSW_MASS_NOMINAL);        // 284
 *
 * Accepted: element symbols (case as written: "Co" is cobalt, "CO" carbon + oxygen) with
 * optional counts, D (deuterium) and T (tritium) as their own symbols, parentheses with a count
 * ("Ca(OH)2", nested up to 8 deep), and parts joined by '.', '*' or the middle dot U+00B7 each
 * with an optional leading count ("C17H19NO3.HCl", "C4H4N2O3.2H2O"). Spaces are ignored; a
 * final charge ("+", "2-") is refused, as are fractional counts: a formula a record states must
 * be the neutral molecule's. Elements: the organic, halogen and common inorganic ones of
 * forensic records (docs/cli.md, "npswatch lint"); an unknown symbol is an error that names it.
 */
#ifndef NPSW_FORMULA_H
#define NPSW_FORMULA_H

#include <stdint.h>

#include "npsw/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPSW_FORMULA_MAX_ELEMENTS 64

typedef struct npsw_formula {
    uint32_t count[NPSW_FORMULA_MAX_ELEMENTS]; /* atoms per element, in the table's order */
} npsw_formula;

typedef enum npsw_mass_kind {
    NPSW_MASS_NOMINAL = 0, /* sum of the mass numbers of each element's most abundant isotope */
    NPSW_MASS_MONOISOTOPIC, /* sum of the exact masses of those isotopes */
    NPSW_MASS_AVERAGE       /* sum of the standard atomic weights (IUPAC, abridged) */
} npsw_mass_kind;

/* Parse `s`. Returns 0, or NPSW_EPARSE with a message naming what was wrong (unknown element,
 * unbalanced parenthesis, empty formula, a count too large). */
int npsw_formula_parse(const char *s, npsw_formula *f, npsw_err *err) NPSW_WUR;
double npsw_formula_mass(const npsw_formula *f, npsw_mass_kind kind);
/* Atoms of the element with this symbol ("Cl"); 0 for a symbol not in the table. */
uint32_t npsw_formula_count(const npsw_formula *f, const char *symbol);

#ifdef __cplusplus
}
#endif
#endif
