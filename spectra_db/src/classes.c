/* classes.c - drug-class labels for library entries from their names (docs/classes.md).
 *
 * Rules are tried in order; the first that matches the name or a synonym (case-insensitive)
 * gives the class. Precursor rules come first, because precursor names often contain the drug's
 * name (norfentanyl, 4-anilino-N-phenethylpiperidine...). A rule matches as a substring unless it
 * is marked WORD, which needs the pattern to stand alone (not inside a longer alphanumeric word),
 * for short names such as "PCP" or "MDA", or CODE, a research-code prefix at the start of a word
 * followed by a number ("AM-2201", "AM1248", "RCS-8").
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "npsw/classes.h"
#include "npsw/spectrum.h"

enum { SUB = 0, WORD = 1, CODE = 2 }; /* CODE: a product code: pattern, optional '-' or ' ', digit */

typedef struct rule {
    const char *pattern;
    int mode;
    const char *cls;
} rule;

static const rule rules[] = {
    /* cathinones named as substituted phenones, before the phenone precursors below */
    {"pyrrolidinovalerophenone", SUB, "cathinone"},
    {"pyrrolidinopropiophenone", SUB, "cathinone"},
    {"pyrrolidinohexanophenone", SUB, "cathinone"},
    {"pyrrolidinobutiophenone", SUB, "cathinone"},
    {"pyrrolidinobutyrophenone", SUB, "cathinone"},
    {"pyrovalerone", SUB, "cathinone"},
    /* designer precursors (family = the drug class they lead to) */
    {"4-ANPP", WORD, "precursor:fentanyl"},
    {"ANPP", WORD, "precursor:fentanyl"},
    {"despropionyl", SUB, "precursor:fentanyl"},
    {"4-anilino-N-phenethylpiperidine", SUB, "precursor:fentanyl"},
    {"N-phenethyl-4-piperidone", SUB, "precursor:fentanyl"},
    {"NPP", WORD, "precursor:fentanyl"},
    {"norfentanyl", SUB, "precursor:fentanyl"},
    {"4-AP", WORD, "precursor:fentanyl"},
    {"4-anilinopiperidine", SUB, "precursor:fentanyl"},
    {"Boc-4-AP", SUB, "precursor:fentanyl"},
    {"1-boc-4-", SUB, "precursor:fentanyl"},
    {"glycidate", SUB, "precursor:phenethylamine"},
    {"glycidic", SUB, "precursor:phenethylamine"},
    {"phenylacetoacet", SUB, "precursor:phenethylamine"},
    {"acetoacetanilide", SUB, "precursor:phenethylamine"},
    {"phenylacetone", SUB, "precursor:phenethylamine"},
    {"phenyl-2-propanone", SUB, "precursor:phenethylamine"},
    {"P2P", WORD, "precursor:phenethylamine"},
    {"BMK", WORD, "precursor:phenethylamine"},
    {"PMK", WORD, "precursor:phenethylamine"},
    {"methylenedioxyphenyl-2-propanone", SUB, "precursor:phenethylamine"},
    {"nitropropene", SUB, "precursor:phenethylamine"},
    {"nitrostyrene", SUB, "precursor:phenethylamine"},
    {"nitroethene", SUB, "precursor:phenethylamine"},
    {"piperonal", WORD, "precursor:phenethylamine"},
    {"safrole", WORD, "precursor:phenethylamine"},
    {"isosafrole", WORD, "precursor:phenethylamine"},
    {"benzaldehyde", SUB, "precursor:phenethylamine"},
    {"ephedrine", SUB, "precursor:phenethylamine"},
    {"norephedrine", SUB, "precursor:phenethylamine"},
    {"propiophenone", SUB, "precursor:cathinone"},
    {"valerophenone", SUB, "precursor:cathinone"},
    {"butyrophenone", SUB, "precursor:cathinone"},
    {"cyclopentyl ketone", SUB, "precursor:arylcyclohexylamine"},
    {"cyclopentylketone", SUB, "precursor:arylcyclohexylamine"},
    {"glyoxylamide", SUB, "precursor:cannabinoid"},
    {"indazole-3-carboxylic acid", SUB, "precursor:cannabinoid"},
    /* drugs */
    {"nitazene", SUB, "nitazene"},
    {"etonitazene", SUB, "nitazene"},
    {"isotonitazene", SUB, "nitazene"},
    {"clonitazene", SUB, "nitazene"},
    {"fentanyl", SUB, "fentanyl"},
    {"carfentanil", SUB, "fentanyl"},
    {"sufentanil", SUB, "fentanyl"},
    {"alfentanil", SUB, "fentanyl"},
    {"remifentanil", SUB, "fentanyl"},
    {"PINACA", SUB, "cannabinoid"},
    {"PICA", WORD, "cannabinoid"},
    {"BINACA", SUB, "cannabinoid"},
    {"PINAC", SUB, "cannabinoid"},
    {"JWH", SUB, "cannabinoid"},
    {"UR-144", SUB, "cannabinoid"},
    {"XLR-11", SUB, "cannabinoid"},
    {"CP 47", SUB, "cannabinoid"},
    {"CP-47", SUB, "cannabinoid"},
    {"HU-210", SUB, "cannabinoid"},
    {"AM", CODE, "cannabinoid"},
    {"RCS", CODE, "cannabinoid"},
    {"nabilone", SUB, "cannabinoid"},
    {"PB-22", SUB, "cannabinoid"},
    {"MDMB", SUB, "cannabinoid"},
    {"CUMYL", SUB, "cannabinoid"},
    {"THC", WORD, "cannabinoid"},
    {"tetrahydrocannabinol", SUB, "cannabinoid"},
    {"cannabi", SUB, "cannabinoid"},
    {"cathinone", SUB, "cathinone"},
    {"-PVP", SUB, "cathinone"},
    {"PVP", WORD, "cathinone"},
    {"mephedrone", SUB, "cathinone"},
    {"methylone", SUB, "cathinone"},
    {"ethylone", SUB, "cathinone"},
    {"butylone", SUB, "cathinone"},
    {"eutylone", SUB, "cathinone"},
    {"pentylone", SUB, "cathinone"},
    {"pentedrone", SUB, "cathinone"},
    {"hexedrone", SUB, "cathinone"},
    {"methcathinone", SUB, "cathinone"},
    {"MDPV", WORD, "cathinone"},
    {"MDPHP", WORD, "cathinone"},
    {"buphedrone", SUB, "cathinone"},
    {"flephedrone", SUB, "cathinone"},
    {"clephedrone", SUB, "cathinone"},
    {"azepam", SUB, "benzodiazepine"},
    {"azolam", SUB, "benzodiazepine"},
    {"etizolam", SUB, "benzodiazepine"},
    {"benzodiazepin", SUB, "benzodiazepine"},
    {"ketamine", SUB, "arylcyclohexylamine"},
    {"phencyclidine", SUB, "arylcyclohexylamine"},
    {"PCP", WORD, "arylcyclohexylamine"},
    {"PCE", WORD, "arylcyclohexylamine"},
    {"PCPy", WORD, "arylcyclohexylamine"},
    {"methoxetamine", SUB, "arylcyclohexylamine"},
    {"MXE", WORD, "arylcyclohexylamine"},
    {"tryptamine", SUB, "tryptamine"},
    {"DMT", WORD, "tryptamine"},
    {"DIPT", WORD, "tryptamine"},
    {"psilocin", SUB, "tryptamine"},
    {"psilocybin", SUB, "tryptamine"},
    {"bufotenine", SUB, "tryptamine"},
    {"NBOMe", SUB, "phenethylamine"},
    {"NBOH", SUB, "phenethylamine"},
    {"amphetamine", SUB, "phenethylamine"},
    {"phenethylamine", SUB, "phenethylamine"},
    {"2C-", SUB, "phenethylamine"},
    {"MDMA", WORD, "phenethylamine"},
    {"MDA", WORD, "phenethylamine"},
    {"MDEA", WORD, "phenethylamine"},
    {"mescaline", SUB, "phenethylamine"},
    {"DOB", WORD, "phenethylamine"},
    {"DOC", WORD, "phenethylamine"},
    {"DOI", WORD, "phenethylamine"},
    {"DOM", WORD, "phenethylamine"},
    {"DOIP", WORD, "phenethylamine"},
    {"APB", SUB, "phenethylamine"},
    {"APDB", SUB, "phenethylamine"},
    {"cathine", WORD, "phenethylamine"},
    {"phentermine", SUB, "phenethylamine"},
    {"morphine", SUB, "opioid"},
    {"codeine", SUB, "opioid"},
    {"heroin", SUB, "opioid"},
    {"diacetylmorphine", SUB, "opioid"},
    {"oxycodone", SUB, "opioid"},
    {"hydrocodone", SUB, "opioid"},
    {"oxymorphone", SUB, "opioid"},
    {"hydromorphone", SUB, "opioid"},
    {"methadone", SUB, "opioid"},
    {"tramadol", SUB, "opioid"},
    {"tapentadol", SUB, "opioid"},
    {"buprenorphine", SUB, "opioid"},
    {"meperidine", SUB, "opioid"},
    {"pethidine", SUB, "opioid"},
    {"U-47700", SUB, "opioid"},
    {"U-48800", SUB, "opioid"},
    {"AH-7921", SUB, "opioid"},
    {"AH 7921", SUB, "opioid"},
    {"MT-45", SUB, "opioid"},
    {"brorphine", SUB, "opioid"},
    {"propoxyphene", SUB, "opioid"},
    {"pentazocine", SUB, "opioid"},
    {"nalbuphine", SUB, "opioid"},
    {"butorphanol", SUB, "opioid"},
    {"levorphanol", SUB, "opioid"},
    {"nalorphine", SUB, "opioid"},
    {"naloxone", SUB, "opioid"},
    {"naltrexone", SUB, "opioid"},
    {"etorphine", SUB, "opioid"},
    {"thebaine", SUB, "opioid"},
    {"oripavine", SUB, "opioid"},
};

static int is_word_char(unsigned char c) { return isalnum(c) != 0; }

static int icase_match_at(const char *s, const char *p)
{
    for (; *p; s++, p++)
        if (tolower((unsigned char)*s) != tolower((unsigned char)*p)) return 0;
    return 1;
}

static int matches(const char *text, size_t len, const rule *r)
{
    size_t pl = strlen(r->pattern);
    for (size_t i = 0; i + pl <= len; i++) {
        if (!icase_match_at(text + i, r->pattern)) continue;
        if (r->mode == SUB) return 1;
        int before = i == 0 || !is_word_char((unsigned char)text[i - 1]);
        if (r->mode == CODE) {
            size_t j = i + pl;
            if (j < len && (text[j] == '-' || text[j] == ' ')) j++;
            if (before && j < len && isdigit((unsigned char)text[j])) return 1;
            continue;
        }
        int after = i + pl == len || !is_word_char((unsigned char)text[i + pl]);
        if (before && after) return 1;
    }
    return 0;
}

/* Each line of a '\n'-joined list on its own. */
static const rule *first_rule(const char *text)
{
    for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
        const char *p = text;
        while (*p) {
            size_t len = strcspn(p, "\n");
            if (matches(p, len, &rules[k])) return &rules[k];
            p += len;
            if (*p) p++;
        }
    }
    return NULL;
}

/* Systematic cathinone names: an amino or pyrrolidino group on an aryl ketone ("phenone"). */
static int systematic_cathinone(const char *text)
{
    const char *amines[] = {"amino", "pyrrolidino", "pyrollidino", "piperidino"};
    size_t len = strlen(text);
    const rule phenone = {"phenone", SUB, NULL};
    if (!matches(text, len, &phenone)) return 0;
    for (size_t k = 0; k < sizeof amines / sizeof amines[0]; k++) {
        const rule r = {amines[k], SUB, NULL};
        if (matches(text, len, &r)) return 1;
    }
    return 0;
}

/* The class from one text ('\n'-separated lines), or NULL when no rule matches. */
static const char *classify_text(const char *text, const char **why)
{
    const char *p = text;
    while (*p) { /* line by line: a synonym list holds one name per line */
        size_t len = strcspn(p, "\n");
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        if (systematic_cathinone(line)) {
            if (why) *why = "amino/pyrrolidino ...phenone";
            return "cathinone";
        }
        p += len;
        if (*p) p++;
    }
    const rule *r = first_rule(text);
    if (!r) return NULL;
    if (why) *why = r->pattern;
    return r->cls;
}

const char *npsw_classify(const char *name, const char *synonyms, const char **why)
{
    /* the name decides when a rule matches it; synonyms only when none does (they include
     * systematic names whose parts, such as "propiophenone", would mislead) */
    const char *c = name ? classify_text(name, why) : NULL;
    if (!c && synonyms) c = classify_text(synonyms, why);
    if (c) return c;
    if (why) *why = "";
    return "other";
}

int npsw_classify_spectra(npsw_spectrum *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].meta[NPSW_META_CLASS] && v[i].meta[NPSW_META_CLASS][0]) continue;
        const char *c = npsw_classify(v[i].meta[NPSW_META_NAME], v[i].meta[NPSW_META_SYNONYMS], NULL);
        int rc = npsw_spectrum_set_meta(&v[i], NPSW_META_CLASS, c, (size_t)-1);
        if (rc < 0) return rc;
    }
    return 0;
}

size_t npsw_class_rules(void) { return sizeof rules / sizeof rules[0]; }
