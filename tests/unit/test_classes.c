/* test_classes.c - the drug-class rules on named examples (docs/classes.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "npsw/classes.h"

static void expect(const char *name, const char *synonyms, const char *cls)
{
    const char *why;
    const char *got = npsw_classify(name, synonyms, &why);
    if (strcmp(got, cls) != 0) {
        print_error("'%s': class %s (rule '%s'), expected %s\n", name ? name : "(none)", got, why, cls);
        fail();
    }
}

static void test_drugs(void **state)
{
    (void)state;
    expect("Fentanyl", NULL, "fentanyl");
    expect("para-Fluorobutyrylfentanyl", NULL, "fentanyl");
    expect("Carfentanil", NULL, "fentanyl");
    expect("Isotonitazene", NULL, "nitazene");
    expect("Metonitazene", NULL, "nitazene");
    expect("Heroin", NULL, "opioid");
    expect("U-47700", NULL, "opioid");
    expect("Pentazocine", NULL, "opioid");
    expect("Naloxone", NULL, "opioid");
    expect("5F-MDMB-PINACA", NULL, "cannabinoid");
    expect("JWH-018", NULL, "cannabinoid");
    expect("AM2201", NULL, "cannabinoid");
    expect("RCS-4", NULL, "cannabinoid");
    expect("Delta-9-THC", NULL, "cannabinoid");
    expect("Mephedrone", NULL, "cathinone");
    expect(".alpha.-PVP", NULL, "cathinone");
    expect("4-Methoxy-.alpha.-Ethylaminovalerophenone", NULL, "cathinone");
    expect("alpha-Pyrrolidinopropiophenone", NULL, "cathinone");
    expect("Methamphetamine", NULL, "phenethylamine");
    expect("MDMA", NULL, "phenethylamine");
    expect("25I-NBOMe", NULL, "phenethylamine");
    expect("2C-B", NULL, "phenethylamine");
    expect("5-APB", NULL, "phenethylamine");
    expect("N,N-Dimethyltryptamine", NULL, "tryptamine");
    expect("DMT", NULL, "tryptamine");
    expect("Psilocin", NULL, "tryptamine");
    expect("Diazepam", NULL, "benzodiazepine");
    expect("Flualprazolam", NULL, "benzodiazepine");
    expect("Etizolam", NULL, "benzodiazepine");
    expect("Ketamine", NULL, "arylcyclohexylamine");
    expect("3-Methoxy PCP", NULL, "arylcyclohexylamine");
    expect("Methoxetamine", NULL, "arylcyclohexylamine");
}

static void test_precursors(void **state)
{
    (void)state;
    expect("4-ANPP", NULL, "precursor:fentanyl");
    expect("4-Anilino-N-phenethylpiperidine", NULL, "precursor:fentanyl");
    expect("Despropionyl para-Fluorofentanyl", NULL, "precursor:fentanyl");
    expect("Norfentanyl", NULL, "precursor:fentanyl");
    expect("1-Boc-4-anilinopiperidine", NULL, "precursor:fentanyl");
    expect("N-Phenethyl-4-piperidone", NULL, "precursor:fentanyl");
    expect("PMK glycidate", NULL, "precursor:phenethylamine");
    expect("Methyl alpha-phenylacetoacetate", NULL, "precursor:phenethylamine");
    expect("Phenyl-2-propanone", NULL, "precursor:phenethylamine");
    expect("1-Phenyl-2-nitropropene", NULL, "precursor:phenethylamine");
    expect("Piperonal", NULL, "precursor:phenethylamine");
    expect("Pseudoephedrine", NULL, "precursor:phenethylamine");
    expect("2,5-Dimethoxybenzaldehyde", NULL, "precursor:phenethylamine");
    expect("2-Bromo-4-Methyl-propiophenone", NULL, "precursor:cathinone");
    expect("2-Chlorophenyl cyclopentyl ketone", NULL, "precursor:arylcyclohexylamine");
    expect("Indole-3-glyoxylamide", NULL, "precursor:cannabinoid");
}

static void test_rules_and_fallbacks(void **state)
{
    (void)state;
    /* the name decides before the synonyms; synonyms decide when the name says nothing */
    expect("Cathinone", "2-amino-1-phenyl-1-propanone\nalpha-aminopropiophenone", "cathinone");
    expect("Khat alkaloid X", "methcathinone", "cathinone");
    /* short names only as whole words: "MDA" is not inside "MDAI" nor "PCP" inside "PCPA" */
    expect("Caffeine", NULL, "other");
    expect("Lidocaine", "MDAI reference", "other");
    expect("PCPA", NULL, "other");
    expect(NULL, NULL, "other");
    const char *why = "x";
    assert_string_equal(npsw_classify("Sucrose", NULL, &why), "other");
    assert_string_equal(why, "");
    assert_true(npsw_class_rules() > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drugs),
        cmocka_unit_test(test_precursors),
        cmocka_unit_test(test_rules_and_fallbacks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
