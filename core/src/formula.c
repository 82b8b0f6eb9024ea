/* formula.c - molecular formula parsing and masses (npsw/formula.h).
 *
 * Masses: monoisotopic = the exact mass of each element's most abundant isotope (AME 2003 as
 * tabulated by NIST, "Atomic Weights and Isotopic Compositions"); average = IUPAC abridged
 * standard atomic weights (2021, conventional values for ranges such as H, C, Cl); nominal = the
 * most abundant isotope's mass number (the convention of EI library MW fields: Br 79, Se 80). */
#include "npsw/formula.h"

#include <ctype.h>
#include <string.h>

typedef struct element {
    const char *symbol;
    int nominal;
    double mono, average;
} element;

static const element table[] = {
    {"H", 1, 1.00782503207, 1.008},     {"D", 2, 2.0141017778, 2.0141},
    {"T", 3, 3.0160492777, 3.0160},     {"Li", 7, 7.01600455, 6.94},
    {"B", 11, 11.0093054, 10.81},       {"C", 12, 12.0, 12.011},
    {"N", 14, 14.0030740048, 14.007},   {"O", 16, 15.99491461956, 15.999},
    {"F", 19, 18.99840322, 18.998},     {"Na", 23, 22.9897692809, 22.990},
    {"Mg", 24, 23.985041700, 24.305},   {"Al", 27, 26.98153863, 26.982},
    {"Si", 28, 27.9769265325, 28.085},  {"P", 31, 30.97376163, 30.974},
    {"S", 32, 31.97207100, 32.06},      {"Cl", 35, 34.96885268, 35.45},
    {"K", 39, 38.96370668, 39.098},     {"Ca", 40, 39.96259098, 40.078},
    {"Ti", 48, 47.9479463, 47.867},     {"Cr", 52, 51.9405075, 51.996},
    {"Mn", 55, 54.9380451, 54.938},     {"Fe", 56, 55.9349375, 55.845},
    {"Co", 59, 58.9331950, 58.933},     {"Ni", 58, 57.9353429, 58.693},
    {"Cu", 63, 62.9295975, 63.546},     {"Zn", 64, 63.9291422, 65.38},
    {"Ge", 74, 73.9211778, 72.630},     {"As", 75, 74.9215965, 74.922},
    {"Se", 80, 79.9165213, 78.971},     {"Br", 79, 78.9183371, 79.904},
    {"Mo", 98, 97.9054082, 95.95},      {"Ag", 107, 106.905097, 107.87},
    {"Cd", 114, 113.9033585, 112.41},   {"Sn", 120, 119.9021947, 118.71},
    {"Sb", 121, 120.9038157, 121.76},   {"Te", 130, 129.9062244, 127.60},
    {"I", 127, 126.904473, 126.90},     {"Cs", 133, 132.905451933, 132.91},
    {"Ba", 138, 137.9052472, 137.33},   {"Pt", 195, 194.9647911, 195.08},
    {"Au", 197, 196.9665687, 196.97},   {"Hg", 202, 201.970643, 200.59},
    {"Tl", 205, 204.9744275, 204.38},   {"Pb", 208, 207.9766521, 207.2},
    {"Bi", 209, 208.9803987, 208.98},
};
#define N_ELEMENTS (sizeof table / sizeof table[0])
_Static_assert(N_ELEMENTS <= NPSW_FORMULA_MAX_ELEMENTS, "npsw_formula.count holds every element");

/* Far above any molecule a spectral library holds; bounds the arithmetic below. */
#define MAX_ATOMS 1000000u
#define MAX_DEPTH 8

static int find(const char *sym, size_t len)
{
    for (size_t e = 0; e < N_ELEMENTS; e++)
        if (strlen(table[e].symbol) == len && !memcmp(table[e].symbol, sym, len)) return (int)e;
    return -1;
}

/* Part separators: '.', '*' and the UTF-8 middle dot. */
static size_t separator(const char *p)
{
    if (*p == '.' || *p == '*') return 1;
    if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xB7) return 2;
    return 0;
}

static int read_count(const char **pp, uint32_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*p)) {
        *out = 1;
        return 0;
    }
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (uint64_t)(*p++ - '0');
        if (v > MAX_ATOMS) return -1;
    }
    *pp = p;
    *out = (uint32_t)v;
    return 0;
}

static int add(uint32_t *acc, const uint32_t *sub, uint32_t times)
{
    for (size_t e = 0; e < N_ELEMENTS; e++) {
        uint64_t v = acc[e] + (uint64_t)sub[e] * times;
        if (v > MAX_ATOMS) return -1;
        acc[e] = (uint32_t)v;
    }
    return 0;
}

/* A sequence of elements and parenthesised groups, up to ')' (inside a group), a separator or
 * the end. */
static int parse_seq(const char **pp, int depth, uint32_t *acc, const char *whole, npsw_err *err)
{
    const char *p = *pp;
    for (;;) {
        while (*p == ' ') p++;
        if (!*p || *p == ')' || separator(p)) break;
        uint32_t sub[NPSW_FORMULA_MAX_ELEMENTS] = {0}, times;
        if (*p == '(') {
            if (depth == MAX_DEPTH)
                return npsw_err_set(err, NPSW_EPARSE, NULL, 0,
                                    "formula '%.60s': parentheses nested more than %d deep", whole,
                                    MAX_DEPTH);
            p++;
            int rc = parse_seq(&p, depth + 1, sub, whole, err);
            if (rc < 0) return rc;
            if (*p != ')')
                return npsw_err_set(err, NPSW_EPARSE, NULL, 0,
                                    "formula '%.60s': '(' without a matching ')'", whole);
            p++;
        } else if (isupper((unsigned char)*p)) {
            size_t len = islower((unsigned char)p[1]) ? 2 : 1;
            int e = find(p, len);
            if (e < 0)
                return npsw_err_set(err, NPSW_EPARSE, NULL, 0,
                                    "formula '%.60s': unknown element '%.*s'", whole, (int)len, p);
            sub[e] = 1;
            p += len;
        } else {
            return npsw_err_set(err, NPSW_EPARSE, NULL, 0,
                                "formula '%.60s': unexpected '%c' (expected an element symbol, a "
                                "count or parentheses)",
                                whole, isprint((unsigned char)*p) ? *p : '?');
        }
        if (read_count(&p, &times) < 0 || add(acc, sub, times) < 0)
            return npsw_err_set(err, NPSW_EPARSE, NULL, 0,
                                "formula '%.60s': more than %u atoms of one element", whole,
                                MAX_ATOMS);
    }
    *pp = p;
    return 0;
}

int npsw_formula_parse(const char *s, npsw_formula *f, npsw_err *err)
{
    memset(f, 0, sizeof *f);
    const char *p = s ? s : "";
    int atoms = 0;
    for (;;) {
        while (*p == ' ') p++;
        uint32_t part[NPSW_FORMULA_MAX_ELEMENTS] = {0}, times;
        if (read_count(&p, &times) < 0)
            return npsw_err_set(err, NPSW_EPARSE, NULL, 0, "formula '%.60s': count too large",
                                s);
        int rc = parse_seq(&p, 0, part, s ? s : "", err);
        if (rc < 0) return rc;
        if (*p == ')')
            return npsw_err_set(err, NPSW_EPARSE, NULL, 0,
                                "formula '%.60s': ')' without a matching '('", s);
        for (size_t e = 0; e < N_ELEMENTS; e++) atoms |= part[e] != 0;
        if (add(f->count, part, times) < 0)
            return npsw_err_set(err, NPSW_EPARSE, NULL, 0,
                                "formula '%.60s': more than %u atoms of one element", s,
                                MAX_ATOMS);
        size_t sep = separator(p);
        if (!sep) break;
        p += sep;
    }
    if (!atoms)
        return npsw_err_set(err, NPSW_EPARSE, NULL, 0, "formula '%.60s': no elements", s ? s : "");
    return 0;
}

double npsw_formula_mass(const npsw_formula *f, npsw_mass_kind kind)
{
    double m = 0;
    for (size_t e = 0; e < N_ELEMENTS; e++) {
        double x = kind == NPSW_MASS_NOMINAL        ? table[e].nominal
                   : kind == NPSW_MASS_MONOISOTOPIC ? table[e].mono
                                                    : table[e].average;
        m += f->count[e] * x;
    }
    return m;
}

uint32_t npsw_formula_count(const npsw_formula *f, const char *symbol)
{
    int e = find(symbol, strlen(symbol));
    return e < 0 ? 0 : f->count[e];
}
