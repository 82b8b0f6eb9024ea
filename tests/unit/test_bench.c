/* test_bench.c - the measures of `npswatch bench` (npsw/benchmark.h) against hand-worked cases
 * and an independent pairwise (Mann-Whitney) count, and the line chart (npsw_plot_lines) read
 * back with libpng: size, resolution, provenance, and the series colour at the pixel the
 * documented mapping gives for an INPUT point.
 *
 * Also a helper for tests/cli/test_cli_bench.sh: `test_bench --check-png FILE...` decodes each
 * file with libpng (8-bit RGB, every row) and exits 1 naming the first that fails.
 *
 * All numbers here are SYNTHETIC (made up for the test). */
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "npsw/benchmark.h"
#include "npsw/plot.h"

/* ---- PNG reading (libpng, independent of the writer) ---------------------------------- */

typedef struct image {
    uint32_t w, h;
    png_uint_32 res_x;
    int has_phys, has_software;
    unsigned char *px; /* RGB */
} image;

static int read_png(const char *path, image *im)
{
    memset(im, 0, sizeof *im);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return -1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(im->px);
        im->px = NULL;
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    im->w = png_get_image_width(png, info);
    im->h = png_get_image_height(png, info);
    if (png_get_bit_depth(png, info) != 8 || png_get_color_type(png, info) != PNG_COLOR_TYPE_RGB ||
        im->w == 0 || im->h == 0 || im->w > 20000 || im->h > 20000) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return -1;
    }
    png_uint_32 rx, ry;
    int unit;
    if (png_get_pHYs(png, info, &rx, &ry, &unit)) im->has_phys = 1, im->res_x = rx;
    png_textp text;
    int nt = 0;
    png_get_text(png, info, &text, &nt);
    for (int i = 0; i < nt; i++)
        if (!strcmp(text[i].key, "Software")) im->has_software = 1;
    im->px = malloc((size_t)im->w * im->h * 3);
    rows = malloc(im->h * sizeof *rows);
    if (!im->px || !rows) longjmp(png_jmpbuf(png), 1);
    for (uint32_t y = 0; y < im->h; y++) rows[y] = im->px + (size_t)y * im->w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return 0;
}

static int px_is(const image *im, int x, int y, int r, int g, int b)
{
    if (x < 0 || y < 0 || (uint32_t)x >= im->w || (uint32_t)y >= im->h) return 0;
    const unsigned char *p = im->px + ((size_t)y * im->w + (size_t)x) * 3;
    return p[0] == r && p[1] == g && p[2] == b;
}

/* ---- measures ----------------------------------------------------------------------------- */

static void test_recall(void **state)
{
    (void)state;
    const uint32_t rank[] = {1, 0, 3, 6};
    assert_true(fabs(npsw_recall_at_k(rank, 4, 1) - 0.25) < 1e-15);
    assert_true(fabs(npsw_recall_at_k(rank, 4, 3) - 0.5) < 1e-15);
    assert_true(fabs(npsw_recall_at_k(rank, 4, 5) - 0.5) < 1e-15);
    assert_true(fabs(npsw_recall_at_k(rank, 4, 10) - 0.75) < 1e-15);
    assert_true(isnan(npsw_recall_at_k(rank, 0, 1)));
}

static double auc_of(const double *s, const int *p, size_t n, double *ap)
{
    npsw_curve c;
    npsw_err e;
    assert_int_equal(npsw_curve_compute(s, p, n, &c, &e), 0);
    double a = c.auc_roc;
    if (ap) *ap = c.avg_precision;
    npsw_curve_free(&c);
    return a;
}

static void test_auc_hand(void **state)
{
    (void)state;
    /* perfectly separating: AUC 1, AP 1 */
    const double s1[] = {0.9, 0.8, 0.3, 0.1};
    const int p1[] = {1, 1, 0, 0};
    double ap;
    assert_true(fabs(auc_of(s1, p1, 4, &ap) - 1) < 1e-12);
    assert_true(fabs(ap - 1) < 1e-12);
    /* reversed: AUC 0; AP = 1/2 * 1/3 + 1/2 * 2/4 = 5/12 */
    const int p2[] = {0, 0, 1, 1};
    assert_true(fabs(auc_of(s1, p2, 4, &ap) - 0) < 1e-12);
    assert_true(fabs(ap - 5.0 / 12) < 1e-12);
    /* all tied: AUC 0.5, AP = share of positives */
    const double s3[] = {0.5, 0.5, 0.5, 0.5, 0.5};
    const int p3[] = {1, 0, 1, 0, 0};
    assert_true(fabs(auc_of(s3, p3, 5, &ap) - 0.5) < 1e-12);
    assert_true(fabs(ap - 0.4) < 1e-12);
    /* positives 0.9, 0.4; negatives 0.6, 0.1: 3 of 4 pairs ordered -> 0.75;
     * AP = 1/2 * 1 + 1/2 * 2/3 = 5/6 */
    const double s4[] = {0.9, 0.6, 0.4, 0.1};
    const int p4[] = {1, 0, 1, 0};
    assert_true(fabs(auc_of(s4, p4, 4, &ap) - 0.75) < 1e-12);
    assert_true(fabs(ap - 5.0 / 6) < 1e-12);
    /* one positive-negative tie among ordered pairs: (1 + 1 + 0.5 + 1) / 4 */
    const double s5[] = {0.9, 0.7, 0.7, 0.2};
    const int p5[] = {1, 1, 0, 0};
    assert_true(fabs(auc_of(s5, p5, 4, NULL) - 0.875) < 1e-12);
}

static void test_curve_points(void **state)
{
    (void)state;
    const double s[] = {0.9, 0.6, 0.4, 0.1};
    const int p[] = {1, 0, 1, 0};
    npsw_curve c;
    npsw_err e;
    assert_int_equal(npsw_curve_compute(s, p, 4, &c, &e), 0);
    assert_int_equal(c.n_pts, 5);
    assert_int_equal(c.n_pos, 2);
    assert_int_equal(c.n_neg, 2);
    const double fpr[] = {0, 0, 0.5, 0.5, 1}, tpr[] = {0, 0.5, 0.5, 1, 1};
    const double prec[] = {1, 1, 0.5, 2.0 / 3, 0.5};
    for (size_t i = 0; i < 5; i++) {
        assert_true(fabs(c.pts[i].fpr - fpr[i]) < 1e-12);
        assert_true(fabs(c.pts[i].tpr - tpr[i]) < 1e-12);
        assert_true(fabs(c.pts[i].precision - prec[i]) < 1e-12);
    }
    assert_true(isinf(c.pts[0].threshold));
    assert_true(c.pts[1].threshold == 0.9 && c.pts[4].threshold == 0.1);
    npsw_curve_free(&c);
    npsw_curve_free(NULL);
}

/* the trapezoid AUC equals the pairwise count (ties 1/2) on random, heavily tied data */
static void test_auc_mann_whitney(void **state)
{
    (void)state;
    uint64_t x = 12345;
    for (int round = 0; round < 20; round++) {
        enum { N = 300 };
        double s[N];
        int p[N];
        for (int i = 0; i < N; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            p[i] = (int)((x >> 33) % 3 == 0);
            s[i] = (double)((x >> 40) % 11) / 10 + 0.2 * p[i] * ((x >> 20) % 2); /* many ties */
        }
        double wins = 0, pairs = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                if (p[i] && !p[j]) {
                    pairs += 1;
                    wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                }
        assert_true(fabs(auc_of(s, p, N, NULL) - wins / pairs) < 1e-9);
    }
}

static void test_curve_errors(void **state)
{
    (void)state;
    npsw_curve c;
    npsw_err e;
    npsw_err_clear(&e);
    const double s[] = {0.3, NAN};
    const int p[] = {1, 0};
    assert_int_equal(npsw_curve_compute(s, p, 2, &c, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "score 2"));
    assert_int_equal(npsw_curve_compute(s, p, 0, &c, &e), NPSW_EEMPTY);
    /* no negatives: AUC undefined; no positives: AP undefined too */
    const double s2[] = {0.3, 0.4};
    const int all[] = {1, 1}, none[] = {0, 0};
    assert_int_equal(npsw_curve_compute(s2, all, 2, &c, &e), 0);
    assert_true(isnan(c.auc_roc));
    assert_true(fabs(c.avg_precision - 1) < 1e-12);
    npsw_curve_free(&c);
    assert_int_equal(npsw_curve_compute(s2, none, 2, &c, &e), 0);
    assert_true(isnan(c.auc_roc) && isnan(c.avg_precision));
    npsw_curve_free(&c);
}

/* ---- line chart ------------------------------------------------------------------------ */

static int font_missing(void)
{
    npsw_err e;
    npsw_font *f = npsw_font_open(NULL, &e);
    if (!f) return 1;
    npsw_font_free(f);
    return 0;
}

static int map_col(const npsw_plot_layout *L, double v)
{
    double X = L->x_log ? log10(v) : v;
    return (int)floor(L->x0 + (X - L->x_min) * (L->x1 - L->x0) / (L->x_max - L->x_min) + 0.5);
}
static int map_row(const npsw_plot_layout *L, double v)
{
    return (int)floor(L->y_base - (v - L->y_min) * (L->y_base - L->y_top) / (L->y_max - L->y_min) +
                      0.5);
}

static void test_lines_png(void **state)
{
    (void)state;
    /* the font is a dependency (fonts-dejavu-core, tools/install-deps.sh): missing = failure */
    if (font_missing()) fail_msg("no font for figure text (install fonts-dejavu-core)");
    char path[] = "/tmp/npsw_test_bench_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const double x1[] = {1, 5, 10}, y1[] = {0.2, 0.6, 0.9};
    const double x2[] = {1, 10}, y2[] = {0.1, 0.3};
    npsw_series s[2] = {{"first", x1, y1, 3, 1, 0}, {"second", x2, y2, 2, 1, 1}};
    npsw_lines_opts o = npsw_lines_opts_default();
    o.title = "synthetic test chart";
    o.x_label = "k";
    o.y_label = "recall";
    o.y_min = 0;
    o.y_max = 1;
    npsw_png_text prov[] = {{"Software", "npswatch test"}};
    npsw_plot_layout L;
    npsw_err e;
    assert_int_equal(npsw_plot_lines(s, 2, &o, prov, 1, path, &L, &e), 0);
    image im;
    assert_int_equal(read_png(path, &im), 0);
    assert_int_equal(im.w, 900); /* 6 x 4 inches at 150 dpi */
    assert_int_equal(im.h, 600);
    assert_true(im.has_phys && im.res_x == 5906); /* 150 dpi in pixels per metre */
    assert_true(im.has_software);
    assert_int_equal(L.y_min, 0);
    assert_int_equal(L.y_max, 1);
    /* the markers of the first series at the INPUT points: (31, 119, 180) */
    for (int i = 0; i < 3; i++)
        assert_true(px_is(&im, map_col(&L, x1[i]), map_row(&L, y1[i]), 31, 119, 180));
    /* the second series' markers in the second colour (214, 39, 40) */
    assert_true(px_is(&im, map_col(&L, 10), map_row(&L, 0.3), 214, 39, 40));
    /* a point of the plot area far from every line stays white */
    assert_true(px_is(&im, map_col(&L, 9.5), map_row(&L, 0.05), 255, 255, 255));
    free(im.px);

    /* log x axis */
    const double xs[] = {1e4, 1e5, 1e6}, ys[] = {500, 80, 9};
    npsw_series t = {"wmf", xs, ys, 3, 1, 0};
    npsw_lines_opts ol = npsw_lines_opts_default();
    ol.x_log = 1;
    assert_int_equal(npsw_plot_lines(&t, 1, &ol, NULL, 0, path, &L, &e), 0);
    assert_true(L.x_log);
    assert_int_equal(read_png(path, &im), 0);
    for (int i = 0; i < 3; i++)
        assert_true(px_is(&im, map_col(&L, xs[i]), map_row(&L, ys[i]), 31, 119, 180));
    free(im.px);
    unlink(path);

    /* errors */
    const double bad[] = {0, 1};
    npsw_series b = {"b", bad, bad, 2, 0, 0};
    assert_int_equal(npsw_plot_lines(&b, 1, &ol, NULL, 0, path, NULL, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "log"));
    const double nan_y[] = {NAN, 1};
    npsw_series bn = {"b", bad, nan_y, 2, 0, 0};
    assert_int_equal(npsw_plot_lines(&bn, 1, NULL, NULL, 0, path, NULL, &e), NPSW_EINVAL);
    npsw_series empty = {"e", bad, bad, 0, 0, 0};
    assert_int_equal(npsw_plot_lines(&empty, 1, NULL, NULL, 0, path, NULL, &e), NPSW_EEMPTY);
    assert_int_equal(access(path, F_OK), -1); /* nothing written on error */
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--check-png")) {
        if (argc < 3) {
            fprintf(stderr, "test_bench --check-png: no file\n");
            return 1;
        }
        for (int i = 2; i < argc; i++) {
            image im;
            if (read_png(argv[i], &im) < 0) {
                fprintf(stderr, "test_bench: %s: not a readable 8-bit RGB PNG\n", argv[i]);
                return 1;
            }
            free(im.px);
        }
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recall),          cmocka_unit_test(test_auc_hand),
        cmocka_unit_test(test_curve_points),    cmocka_unit_test(test_auc_mann_whitney),
        cmocka_unit_test(test_curve_errors),    cmocka_unit_test(test_lines_png),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
