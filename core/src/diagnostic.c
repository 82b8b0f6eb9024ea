/* diagnostic.c - diagnostic EI ions of drug classes (docs/analogues.md, "Diagnostic ions").
 * An ion points to a class; several classes share low-mass iminium ions (58 is both the
 * methamphetamine base peak and an N-methyl cathinone ion), so these are evidence to weigh
 * with the nearest library neighbours, not a classifier on their own. */
#include "npsw/analogue.h"

static const npsw_diagnostic table[] = {
    /* cathinones: iminium series from alpha-cleavage, pyrrolidinium ions, benzoyl */
    {"cathinone", 58, "C3H8N+ iminium (N-methyl, alpha-methyl)"},
    {"cathinone", 72, "C4H10N+ iminium"},
    {"cathinone", 86, "C5H12N+ iminium"},
    {"cathinone", 100, "C6H14N+ iminium"},
    {"cathinone", 98, "pyrrolidinium, alpha-PPP type"},
    {"cathinone", 112, "pyrrolidinium, alpha-PBP type"},
    {"cathinone", 126, "pyrrolidinium, alpha-PVP type"},
    {"cathinone", 140, "pyrrolidinium, alpha-PHP type"},
    {"cathinone", 105, "benzoyl C7H5O+"},
    {"cathinone", 149, "methylenedioxybenzoyl"},
    /* fentanyls: N-phenethylpiperidine fragments */
    {"fentanyl", 245, "M - benzyl (fentanyl: C15H21N2O+)"},
    {"fentanyl", 189, "N-phenethyl-tetrahydropyridinium"},
    {"fentanyl", 146, "C10H12N+ from the piperidine ring"},
    {"fentanyl", 105, "phenethyl C8H9+"},
    /* nitazenes: diethylaminoethyl side chain, benzyl ions */
    {"nitazene", 86, "CH2=N+(C2H5)2"},
    {"nitazene", 107, "hydroxy/alkoxybenzyl fragment"},
    {"nitazene", 58, "iminium of the side chain"},
    /* synthetic cannabinoids: indole/indazole acylium ions, naphthoyl */
    {"cannabinoid", 144, "indole-3-carbonyl (acylium) C9H6NO+"},
    {"cannabinoid", 145, "indazole-3-carbonyl (acylium) C8H5N2O+"},
    {"cannabinoid", 214, "N-pentylindole-3-carbonyl"},
    {"cannabinoid", 215, "N-pentylindazole-3-carbonyl"},
    {"cannabinoid", 232, "N-(5-fluoropentyl)indole-3-carbonyl"},
    {"cannabinoid", 233, "N-(5-fluoropentyl)indazole-3-carbonyl"},
    {"cannabinoid", 155, "naphthoyl C11H7O+"},
    {"cannabinoid", 127, "naphthyl C10H7+"},
    /* phenethylamines and tryptamines */
    {"phenethylamine", 44, "C2H6N+ iminium (amphetamine)"},
    {"phenethylamine", 30, "CH2=NH2+ (primary phenethylamines)"},
    {"phenethylamine", 91, "tropylium C7H7+"},
    {"tryptamine", 130, "3-methyleneindolenine C9H8N+"},
    {"tryptamine", 58, "CH2=N+(CH3)2 (N,N-dimethyl)"},
};

size_t npsw_diagnostics(const npsw_diagnostic **t)
{
    if (t) *t = table;
    return sizeof table / sizeof table[0];
}

int npsw_diagnostic_ions(const npsw_peaks *p, double min_rel, const npsw_diagnostic **out, int max)
{
    double base = 0;
    for (uint32_t i = 0; i < p->n; i++)
        if (p->in[i] > base) base = p->in[i];
    if (!(base > 0) || max <= 0) return 0;
    int n = 0;
    for (size_t k = 0; k < sizeof table / sizeof table[0] && n < max; k++) {
        for (uint32_t i = 0; i < p->n; i++) {
            if (p->mz[i] == table[k].mz) {
                if (p->in[i] >= min_rel * base) out[n++] = &table[k];
                break;
            }
        }
    }
    return n;
}
