/* test_formula.c - molecular formula parsing and masses (npsw/formula.h). Expected masses are
 * published values, not the program's: PubChem's computed monoisotopic mass and molecular weight
 * of epiandrosterone, diazepam, bromazepam and morphine hydrochloride, SWGDRUG 3.4's MW/ExactMass fields, and the CRC handbook's formula weights of
 * calcium hydroxide (74.09) and copper(II) sulfate pentahydrate (249.69). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "npsw/formula.h"

static npsw_formula parse_ok(const char *s)
{
    npsw_formula f;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_formula_parse(s, &f, &e);
    if (rc != 0) fail_msg("'%s': %s", s, e.msg);
    return f;
}

static void test_masses(void **state)
{
    (void)state;
    npsw_formula f = parse_ok("C19H30O2"); /* epiandrosterone: SWGDRUG MW 290, ExactMass 290.22458 */
    assert_true(npsw_formula_mass(&f, NPSW_MASS_NOMINAL) == 290);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_MONOISOTOPIC) - 290.22458) < 5e-5);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_AVERAGE) - 290.4) < 0.05);
    f = parse_ok("C16H13ClN2O"); /* diazepam: 284.0716407, MW 284.7 */
    assert_true(npsw_formula_mass(&f, NPSW_MASS_NOMINAL) == 284);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_MONOISOTOPIC) - 284.0716407) < 1e-6);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_AVERAGE) - 284.7) < 0.05);
    assert_int_equal(npsw_formula_count(&f, "Cl"), 1);
    assert_int_equal(npsw_formula_count(&f, "C"), 16);
    assert_int_equal(npsw_formula_count(&f, "Br"), 0);
    f = parse_ok("C14H10BrN3O"); /* bromazepam: nominal with 79Br, 315.00072, MW 316.15 */
    assert_true(npsw_formula_mass(&f, NPSW_MASS_NOMINAL) == 315);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_MONOISOTOPIC) - 315.00072) < 5e-5);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_AVERAGE) - 316.15) < 0.01);
    f = parse_ok("C16H8D5ClN2O"); /* diazepam-d5: five H replaced by D (+1 each) */
    assert_true(npsw_formula_mass(&f, NPSW_MASS_NOMINAL) == 289);
    assert_int_equal(npsw_formula_count(&f, "D"), 5);
}

static void test_groups_and_parts(void **state)
{
    (void)state;
    npsw_formula f = parse_ok("Ca(OH)2");
    assert_int_equal(npsw_formula_count(&f, "Ca"), 1);
    assert_int_equal(npsw_formula_count(&f, "O"), 2);
    assert_int_equal(npsw_formula_count(&f, "H"), 2);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_AVERAGE) - 74.09) < 0.01);
    f = parse_ok("C17H19NO3.HCl"); /* morphine hydrochloride, MW 321.8 */
    assert_int_equal(npsw_formula_count(&f, "H"), 20);
    assert_int_equal(npsw_formula_count(&f, "Cl"), 1);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_AVERAGE) - 321.8) < 0.05);
    f = parse_ok("CuSO4\xc2\xb7" "5H2O"); /* middle dot, leading count */
    assert_int_equal(npsw_formula_count(&f, "O"), 9);
    assert_int_equal(npsw_formula_count(&f, "H"), 10);
    assert_true(fabs(npsw_formula_mass(&f, NPSW_MASS_AVERAGE) - 249.69) < 0.02);
    f = parse_ok(" C2 H6 O ");
    assert_true(npsw_formula_mass(&f, NPSW_MASS_NOMINAL) == 46);
    f = parse_ok("CO"); /* carbon monoxide, not cobalt */
    assert_int_equal(npsw_formula_count(&f, "Co"), 0);
    assert_int_equal(npsw_formula_count(&f, "C"), 1);
    f = parse_ok("((CH3)2)3");
    assert_int_equal(npsw_formula_count(&f, "C"), 6);
    assert_int_equal(npsw_formula_count(&f, "H"), 18);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"", "no elements"},
        {"C19H30Xx2", "unknown element 'Xx'"},
        {"C(H2", "'(' without a matching ')'"},
        {"CH2)", "')' without a matching '('"},
        {"C6H6+", "unexpected '+'"},
        {"C1000001", "more than"},
        {"C10H15N.1/2H2O", "unexpected '/'"},
        {"(((((((((C)))))))))", "nested more than 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        npsw_formula f;
        npsw_err e;
        npsw_err_clear(&e);
        assert_int_equal(npsw_formula_parse(bad[i].in, &f, &e), NPSW_EPARSE);
        if (!strstr(e.msg, bad[i].msg)) fail_msg("'%s': message '%s'", bad[i].in, e.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masses),
        cmocka_unit_test(test_groups_and_parts),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
