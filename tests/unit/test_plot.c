/* test_plot.c - figures (npsw/plot.h): mirror plots and timelines are written as PNG files and
 * read back with libpng, independently of the writer: size, pHYs = 300 dpi (11811 pixels per
 * metre), the provenance text chunks, the query sticks above and the library sticks below the
 * baseline at the columns and heights the documented mapping gives for the INPUT peaks, bars
 * of the timeline in proportion to the input counts, text in the title area, identical bytes
 * for two runs, and bad input: empty spectra, bad values, unwritable paths, a write that fails
 * half-way (file size limit) leaves neither a partial nor a temporary file and keeps the old
 * file, a missing font is reported as such.
 *
 * All spectra here are SYNTHETIC (made up for the test). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "npsw/plot.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static char tmpdir[512];

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/npsw_test_plot.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(tmpdir);
    return 0;
}

static const char *tpath(const char *name)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* Names of the entries of the scratch directory, sorted, joined by '\n'. */
static void dir_listing(char *out, size_t size)
{
    struct dirent **list;
    out[0] = '\0';
    int n = scandir(tmpdir, &list, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        size_t used = strlen(out);
        if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, ".."))
            snprintf(out + used, size - used, "%s\n", list[i]->d_name);
        free(list[i]);
    }
    free(list);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

typedef struct image {
    uint32_t w, h;
    int bit_depth, color_type;
    png_uint_32 res_x, res_y;
    int res_unit, has_phys;
    int n_text;
    char keys[64][80];
    char *values[64];
    int itxt[64];
    unsigned char *px; /* RGB */
} image;

static void image_free(image *im)
{
    for (int i = 0; i < im->n_text; i++) free(im->values[i]);
    free(im->px);
    memset(im, 0, sizeof *im);
}

/* Read a PNG with libpng (no help from the writer). Returns 0 or -1. */
static int read_png(const char *path, image *im)
{
    memset(im, 0, sizeof *im);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep *rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_read_info(png, info);
    im->w = png_get_image_width(png, info);
    im->h = png_get_image_height(png, info);
    im->bit_depth = png_get_bit_depth(png, info);
    im->color_type = png_get_color_type(png, info);
    png_uint_32 rx, ry;
    int unit;
    if (png_get_pHYs(png, info, &rx, &ry, &unit)) {
        im->has_phys = 1;
        im->res_x = rx;
        im->res_y = ry;
        im->res_unit = unit;
    }
    png_textp text;
    int nt = 0;
    png_get_text(png, info, &text, &nt);
    for (int i = 0; i < nt && i < 64; i++) {
        snprintf(im->keys[i], sizeof im->keys[i], "%s", text[i].key);
        im->values[i] = strdup(text[i].text ? text[i].text : "");
        im->itxt[i] = text[i].compression == PNG_ITXT_COMPRESSION_NONE;
        im->n_text = i + 1;
    }
    if (im->bit_depth == 8 && im->color_type == PNG_COLOR_TYPE_RGB) {
        im->px = malloc((size_t)im->w * im->h * 3);
        rows = malloc(im->h * sizeof *rows);
        for (uint32_t y = 0; y < im->h; y++) rows[y] = im->px + (size_t)y * im->w * 3;
        png_read_image(png, rows);
        png_read_end(png, info);
        free(rows);
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return 0;
}

static const char *image_text(const image *im, const char *key)
{
    for (int i = 0; i < im->n_text; i++)
        if (!strcmp(im->keys[i], key)) return im->values[i];
    return NULL;
}

static npsw_rgb pixel(const image *im, int x, int y)
{
    const unsigned char *p = im->px + ((size_t)y * im->w + (size_t)x) * 3;
    npsw_rgb k = {p[0], p[1], p[2]};
    return k;
}

static int same(npsw_rgb a, npsw_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
static int white(npsw_rgb a) { return a.r == 255 && a.g == 255 && a.b == 255; }

/* The documented mapping (npsw/plot.h), written out here. */
static int col_of(const npsw_plot_layout *L, double v)
{
    return (int)floor(L->x0 + (v - L->x_min) * (L->x1 - L->x0) / (L->x_max - L->x_min) + 0.5);
}
static int row_up(const npsw_plot_layout *L, double f)
{
    return (int)floor(L->y_base - f * (L->y_base - L->y_top) + 0.5);
}
static int row_down(const npsw_plot_layout *L, double f)
{
    return (int)floor(L->y_base + f * (L->y_bottom - L->y_base) + 0.5);
}

static void check_font(void)
{
    npsw_err e;
    npsw_font *f = npsw_font_open(NULL, &e);
    if (!f) {
        print_error("no font for the figures: %s (%s)\n", e.msg, e.where);
        fail();
    }
    npsw_font_free(f);
}

/* SYNTHETIC spectra: shared peaks at 50, 91, 150; query-only at 120 and 180; library-only at 70
 * and 200 (at least 20 m/z from any other peak, so that the columns are free of the other
 * spectrum's sticks and labels). */
static const double QMZ[] = {50, 91, 120, 150, 180};
static const float QIN[] = {300, 999, 400, 600, 250};
static const double LMZ[] = {50, 70, 91, 150, 200};
static const float LIN[] = {200, 500, 800, 999, 300};
#define QMAX 999.0
#define LMAX 999.0

static npsw_mirror_opts mirror_opts(void)
{
    npsw_mirror_opts o = npsw_mirror_opts_default();
    o.query_name = "Synthetic query";
    o.hit_name = "Synthetic hit \xce\xb1"; /* alpha: UTF-8 in a title */
    o.mf = 812;
    o.rmf = 845;
    o.delta_label = "\xce\x94MW";
    o.delta = 14;
    o.lib_name = "Synthetic library";
    o.lib_version = "1";
    o.lib_sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    o.footer_extra = "npswatch test, 2026-01-01T00:00:00Z";
    o.mz_min = 20;
    o.mz_max = 220;
    return o;
}

static const npsw_png_text PROV[] = {
    {"Software", "npswatch test"},
    {"Creation Time", "2026-01-01T00:00:00Z"},
    {"Library SHA-256", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
    {"Query name", "Synthetic \xce\xb1 query"}, /* not ASCII: an iTXt chunk */
};
#define N_PROV (sizeof PROV / sizeof *PROV)

static void check_common(const image *im, uint32_t w, uint32_t h)
{
    assert_int_equal(im->w, w);
    assert_int_equal(im->h, h);
    assert_int_equal(im->bit_depth, 8);
    assert_int_equal(im->color_type, PNG_COLOR_TYPE_RGB);
    assert_true(im->has_phys);
    /* 300 dots per inch = 300 / 0.0254 = 11811.02 per metre */
    assert_int_equal(im->res_x, 11811);
    assert_int_equal(im->res_y, 11811);
    assert_int_equal(im->res_unit, PNG_RESOLUTION_METER);
    for (size_t i = 0; i < N_PROV; i++) {
        const char *v = image_text(im, PROV[i].key);
        if (!v || strcmp(v, PROV[i].value)) {
            print_error("text chunk '%s' is '%s', expected '%s'\n", PROV[i].key, v ? v : "(none)",
                        PROV[i].value);
            fail();
        }
    }
    assert_int_equal(im->n_text, (int)N_PROV);
}

/* ---- mirror plot ------------------------------------------------------------------------ */

static void test_mirror(void **state)
{
    (void)state;
    check_font();
    npsw_peaks q = {QMZ, QIN, 5}, l = {LMZ, LIN, 5};
    npsw_mirror_opts o = mirror_opts();
    npsw_plot_layout L;
    npsw_err e;
    int rc = npsw_plot_mirror(&q, &l, &o, PROV, N_PROV, tpath("mirror.png"), &L, &e);
    if (rc < 0) print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    image im;
    assert_int_equal(read_png(tpath("mirror.png"), &im), 0);
    /* 7 x 4.5 inches at 300 dpi */
    check_common(&im, 2100, 1350);
    /* the non-ASCII value went into an iTXt chunk, the ASCII ones into tEXt */
    for (int i = 0; i < im.n_text; i++)
        assert_int_equal(im.itxt[i], !strcmp(im.keys[i], "Query name"));

    /* the layout is consistent with what was asked */
    assert_true(L.x_min == 20 && L.x_max == 220);
    assert_int_equal(L.width, 2100);
    assert_int_equal(L.height, 1350);
    assert_true(L.y_top < L.y_base && L.y_base < L.y_bottom);
    assert_int_equal(L.y_base - L.y_top, L.y_bottom - L.y_base);
    assert_true(L.plot_area.x0 >= 0 && L.plot_area.x1 <= 2100 && L.plot_area.y0 >= 0 &&
                L.plot_area.y1 <= 1350);
    assert_true(L.x0 > L.plot_area.x0 && L.x1 < L.plot_area.x1);
    assert_true(L.y_top > L.plot_area.y0 && L.y_bottom < L.plot_area.y1);
    /* the plot area is the larger part of the figure */
    assert_true((L.x1 - L.x0) > 1500 && (L.y_bottom - L.y_top) > 700);
    int hw = L.stick_half_width, lw = 3;

    /* query sticks: above the baseline, at half their height; library sticks below */
    for (int i = 0; i < 5; i++) {
        int x = col_of(&L, QMZ[i]), y = row_up(&L, 0.5 * QIN[i] / QMAX);
        if (!same(pixel(&im, x, y), o.query_color)) {
            npsw_rgb k = pixel(&im, x, y);
            print_error("query m/z %g: pixel (%d, %d) is (%d,%d,%d), expected the query colour\n",
                        QMZ[i], x, y, k.r, k.g, k.b);
            fail();
        }
        /* just below the tip: still the stick; just above it (minus anti-aliased label
         * margin): not the stick colour */
        int tip = row_up(&L, QIN[i] / QMAX);
        assert_true(same(pixel(&im, x, tip + 1), o.query_color));
        assert_false(same(pixel(&im, x, tip - 2), o.query_color));
        /* the stick has its width: hw columns either side */
        assert_true(same(pixel(&im, x - hw, y), o.query_color));
        assert_true(same(pixel(&im, x + hw, y), o.query_color));
    }
    for (int i = 0; i < 5; i++) {
        int x = col_of(&L, LMZ[i]), y = row_down(&L, 0.5 * LIN[i] / LMAX);
        if (!same(pixel(&im, x, y), o.lib_color)) {
            npsw_rgb k = pixel(&im, x, y);
            print_error("library m/z %g: pixel (%d, %d) is (%d,%d,%d), expected the library "
                        "colour\n",
                        LMZ[i], x, y, k.r, k.g, k.b);
            fail();
        }
        int tip = row_down(&L, LIN[i] / LMAX);
        assert_true(same(pixel(&im, x, tip - 1), o.lib_color));
        assert_false(same(pixel(&im, x, tip + 2), o.lib_color));
    }
    /* a query-only m/z has nothing below the baseline, a library-only one nothing above */
    const double qonly[] = {120, 180}, lonly[] = {70, 200};
    for (int i = 0; i < 2; i++) {
        int x = col_of(&L, qonly[i]);
        for (int y = L.y_base + lw; y <= L.y_bottom; y++)
            if (!white(pixel(&im, x, y))) {
                print_error("m/z %g (query only): pixel (%d, %d) below the baseline is drawn\n",
                            qonly[i], x, y);
                fail();
            }
        x = col_of(&L, lonly[i]);
        for (int y = L.y_top; y <= L.y_base - lw; y++)
            if (!white(pixel(&im, x, y))) {
                print_error("m/z %g (library only): pixel (%d, %d) above the baseline is drawn\n",
                            lonly[i], x, y);
                fail();
            }
    }
    /* the baseline itself is drawn across the plot */
    assert_false(white(pixel(&im, (L.x0 + L.x1) / 2, L.y_base)));

    /* every peak got a label (5 per spectrum < 8 asked), e.g. above the query base peak */
    assert_int_equal(L.n_labels[0], 5);
    assert_int_equal(L.n_labels[1], 5);
    int x91 = col_of(&L, 91), tip91 = row_up(&L, 1.0), ink = 0;
    for (int y = tip91 - 60; y < tip91; y++)
        for (int x = x91 - 40; x <= x91 + 40; x++)
            if (!white(pixel(&im, x, y)) && !same(pixel(&im, x, y), o.query_color)) ink++;
    assert_true(ink > 30);

    /* text in the title area: dark pixels, and anti-aliased grey ones */
    assert_true(L.title.y0 >= 0 && L.title.y1 <= L.plot_area.y0 && L.title.x1 > L.title.x0);
    int dark = 0, grey = 0;
    for (int y = L.title.y0; y < L.title.y1; y++)
        for (int x = L.title.x0; x < L.title.x1; x++) {
            npsw_rgb k = pixel(&im, x, y);
            if (k.r < 80 && k.g < 80 && k.b < 80) dark++;
            else if (!white(k) && k.r == k.g && k.g == k.b) grey++;
        }
    assert_true(dark > 500);
    assert_true(grey > 100);
    /* ... and the title is near the top of the figure, as docs/figures.md says */
    assert_true(L.title.y1 < 1350 / 8);
    image_free(&im);

    /* determinism: the same input gives the same bytes */
    rc = npsw_plot_mirror(&q, &l, &o, PROV, N_PROV, tpath("mirror2.png"), NULL, &e);
    assert_int_equal(rc, 0);
    size_t n1, n2;
    unsigned char *a = read_file(tpath("mirror.png"), &n1), *b = read_file(tpath("mirror2.png"), &n2);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);
    /* the PNG signature, and no temporary file left behind */
    char ls[4096];
    dir_listing(ls, sizeof ls);
    assert_string_equal(ls, "mirror.png\nmirror2.png\n");
}

/* Automatic m/z range and unsorted, accurate-mass peaks. */
static void test_mirror_auto_range(void **state)
{
    (void)state;
    check_font();
    const double qmz[] = {250.1234, 101.0712, 180.5};
    const float qin[] = {10, 100, 50};
    const double lmz[] = {101.0709, 251.0002};
    const float lin[] = {80, 20};
    npsw_peaks q = {qmz, qin, 3}, l = {lmz, lin, 2};
    npsw_mirror_opts o = npsw_mirror_opts_default();
    npsw_plot_layout L;
    npsw_err e;
    npsw_canvas *c = npsw_plot_mirror_canvas(&q, &l, &o, &L, &e);
    assert_non_null(c);
    /* the axis covers every peak */
    assert_true(L.x_min <= 101.0709 && L.x_max >= 251.0002);
    assert_true(L.x_min >= 0 && L.x_max - L.x_min < 400);
    /* the base peak of the query (m/z 101.0712, 100 %) at its column */
    int x = col_of(&L, 101.0712), y = row_up(&L, 0.5);
    npsw_rgb k = npsw_canvas_get(c, x, y);
    assert_true(same(k, o.query_color));
    /* the library's base peak is relative to the library's own maximum (80 = 100 %) */
    x = col_of(&L, 101.0709);
    y = row_down(&L, 0.95);
    assert_true(same(npsw_canvas_get(c, x, y), o.lib_color));
    npsw_canvas_free(c);
}

/* ---- timeline --------------------------------------------------------------------------- */

#define DAY 86400
#define T0 1767225600 /* 2026-01-01T00:00:00Z, a Thursday */

static void test_timeline(void **state)
{
    (void)state;
    check_font();
    /* events at days 0 (three, at different hours), 2 (one), 5 (a total of 6), 6 (two) */
    const npsw_time_count pts[] = {
        {T0 + 3600, 1},        {T0 + 5 * DAY + 100, 6}, {T0 + 2 * DAY + 7, 1},
        {T0 + 86399, 1},       {T0 + 6 * DAY, 2},       {T0 + 12 * 3600, 1},
    };
    const unsigned expect[7] = {3, 0, 1, 0, 0, 6, 2};
    npsw_timeline_opts o = npsw_timeline_opts_default();
    o.bin = NPSW_BIN_DAY;
    o.title = "Synthetic signal: detections per day";
    o.footer = "synthetic data";
    npsw_plot_layout L;
    npsw_err e;
    int rc = npsw_plot_timeline(pts, 6, &o, PROV, N_PROV, tpath("timeline.png"), &L, &e);
    if (rc < 0) print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    image im;
    assert_int_equal(read_png(tpath("timeline.png"), &im), 0);
    check_common(&im, 2100, 1050); /* 7 x 3.5 inches */
    assert_int_equal(L.bin_days, 1);
    assert_int_equal(L.n_bins, 7);
    assert_true(L.x_min == T0 / DAY && L.x_max == T0 / DAY + 7);
    assert_true(L.y_max >= 6);
    int full = L.y_base - L.y_top, h[7];
    for (int i = 0; i < 7; i++) {
        int x = col_of(&L, L.x_min + i + 0.5);
        /* measure the bar: bar-coloured rows going up from the baseline */
        int y = L.y_base - 1;
        while (y > 0 && same(pixel(&im, x, y), o.bar_color)) y--;
        h[i] = L.y_base - 1 - y;
        double want = expect[i] / L.y_max * full;
        if (fabs(h[i] - want) > 1.0) {
            print_error("day %d: bar of %d pixels, expected %.1f (count %u)\n", i, h[i], want,
                        expect[i]);
            fail();
        }
        if (expect[i] == 0) {
            for (int yy = L.y_top; yy < L.y_base; yy++)
                assert_false(same(pixel(&im, x, yy), o.bar_color));
        }
    }
    /* in proportion: 6 detections are twice 3 */
    assert_true(abs(h[5] - 2 * h[0]) <= 2);
    /* a title is drawn at the top */
    int dark = 0;
    for (int y = L.title.y0; y < L.title.y1; y++)
        for (int x = L.title.x0; x < L.title.x1; x++) {
            npsw_rgb k = pixel(&im, x, y);
            if (k.r < 80 && k.g < 80 && k.b < 80) dark++;
        }
    assert_true(dark > 500);
    assert_true(L.title.y1 < 1050 / 6);
    image_free(&im);

    /* determinism */
    rc = npsw_plot_timeline(pts, 6, &o, PROV, N_PROV, tpath("timeline2.png"), NULL, &e);
    assert_int_equal(rc, 0);
    size_t n1, n2;
    unsigned char *a = read_file(tpath("timeline.png"), &n1);
    unsigned char *b = read_file(tpath("timeline2.png"), &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);
}

/* More than 92 days: automatic weekly bins starting on Mondays. */
static void test_timeline_weeks(void **state)
{
    (void)state;
    check_font();
    npsw_time_count pts[] = {{T0, 1}, {T0 + 100 * DAY, 4}, {T0 + 200 * DAY, 2}};
    npsw_timeline_opts o = npsw_timeline_opts_default();
    npsw_plot_layout L;
    npsw_err e;
    npsw_canvas *c = npsw_plot_timeline_canvas(pts, 3, &o, &L, &e);
    assert_non_null(c);
    assert_int_equal(L.bin_days, 7);
    /* 1970-01-01 (day 0) was a Thursday, so Mondays are the days d with (d + 3) % 7 == 0 */
    long long d0 = (long long)L.x_min;
    assert_int_equal((d0 + 3) % 7, 0);
    assert_true(d0 <= T0 / DAY && d0 > T0 / DAY - 7);
    assert_true(L.x_max >= T0 / DAY + 200);
    assert_int_equal((long long)(L.x_max - L.x_min) % 7, 0);
    assert_int_equal(L.n_bins, (uint32_t)((L.x_max - L.x_min) / 7));
    /* the week of day 100 holds 4 detections: the highest bar */
    long long wk = (T0 / DAY + 100 - d0) / 7;
    int x = col_of(&L, d0 + 7 * wk + 3.5), y = row_up(&L, 0.5 * 4 / L.y_max);
    assert_true(same(npsw_canvas_get(c, x, y), o.bar_color));
    npsw_canvas_free(c);
}

/* ---- bad input -------------------------------------------------------------------------- */

static void expect_error(int rc, const npsw_err *e, int code, const char *substr)
{
    if (rc != code || !strstr(e->msg, substr)) {
        print_error("got %d '%s', expected %d with '%s'\n", rc, e->msg, code, substr);
        fail();
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    check_font();
    npsw_peaks q = {QMZ, QIN, 5}, l = {LMZ, LIN, 5}, empty = {QMZ, QIN, 0};
    npsw_mirror_opts o = mirror_opts();
    npsw_err e;
    char before[4096], after[4096];
    dir_listing(before, sizeof before);

    /* empty spectra */
    int rc = npsw_plot_mirror(&empty, &l, &o, NULL, 0, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EEMPTY, "query spectrum has no peaks");
    rc = npsw_plot_mirror(&q, &empty, &o, NULL, 0, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EEMPTY, "library spectrum has no peaks");
    rc = npsw_plot_mirror(NULL, &l, &o, NULL, 0, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EEMPTY, "query");
    const float zeros[] = {0, 0};
    npsw_peaks z = {QMZ, zeros, 2};
    rc = npsw_plot_mirror(&z, &l, &o, NULL, 0, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EEMPTY, "no peak with an intensity above 0");
    /* bad values */
    const double badmz[] = {50, NAN};
    const float in2[] = {10, 20};
    npsw_peaks bm = {badmz, in2, 2};
    rc = npsw_plot_mirror(&bm, &l, &o, NULL, 0, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EINVAL, "peak 2");
    const float negin[] = {10, -1};
    npsw_peaks bi = {QMZ, negin, 2};
    rc = npsw_plot_mirror(&q, &bi, &o, NULL, 0, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EINVAL, "intensity");
    npsw_mirror_opts bo = o;
    bo.mz_min = 300;
    bo.mz_max = 100;
    rc = npsw_plot_mirror(&q, &l, &bo, NULL, 0, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EINVAL, "m/z axis");
    bo = o;
    bo.dpi = 5;
    rc = npsw_plot_mirror(&q, &l, &bo, NULL, 0, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EINVAL, "dpi");
    /* bad provenance keys (PNG: 1-79 printable characters, no leading space) */
    npsw_png_text badkey[] = {{" Software", "x"}};
    rc = npsw_plot_mirror(&q, &l, &o, badkey, 1, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EINVAL, "PNG text key");
    npsw_png_text longkey[] = {{"K123456789012345678901234567890123456789012345678901234567890"
                                "12345678901234567890", "x"}};
    rc = npsw_plot_mirror(&q, &l, &o, longkey, 1, tpath("x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EINVAL, "PNG text key");

    /* unwritable places */
    rc = npsw_plot_mirror(&q, &l, &o, NULL, 0, "/nonexistent-npsw-dir/x.png", NULL, &e);
    expect_error(rc, &e, NPSW_EIO, "cannot create");
    rc = npsw_plot_mirror(&q, &l, &o, NULL, 0, tmpdir, NULL, &e);
    expect_error(rc, &e, NPSW_EINVAL, "directory");
    rc = npsw_plot_mirror(&q, &l, &o, NULL, 0, "", NULL, &e);
    expect_error(rc, &e, NPSW_EINVAL, "file name");
    /* under a regular file as if it were a directory */
    FILE *f = fopen(tpath("plain"), "w");
    fclose(f);
    dir_listing(before, sizeof before);
    rc = npsw_plot_mirror(&q, &l, &o, NULL, 0, tpath("plain/x.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EIO, "cannot use as output");
    /* nothing was left behind by any of these */
    dir_listing(after, sizeof after);
    assert_string_equal(before, after);
    unlink(tpath("plain"));

    /* timelines */
    npsw_timeline_opts to = npsw_timeline_opts_default();
    rc = npsw_plot_timeline(NULL, 0, &to, NULL, 0, tpath("t.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EEMPTY, "no detections");
    npsw_time_count zc[] = {{T0, 0}, {T0 + DAY, 0}};
    rc = npsw_plot_timeline(zc, 2, &to, NULL, 0, tpath("t.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EEMPTY, "every count is 0");
    npsw_time_count far[] = {{T0, 1}, {T0 + 5000LL * DAY, 1}};
    to.bin = NPSW_BIN_DAY;
    rc = npsw_plot_timeline(far, 2, &to, NULL, 0, tpath("t.png"), NULL, &e);
    expect_error(rc, &e, NPSW_ELIMIT, "exceed the limit");
    assert_int_equal(access(tpath("t.png"), F_OK), -1);
}

/* A write that fails half-way (the file size limit stands in for a full disk) leaves no partial
 * or temporary file, and an existing file keeps its bytes. */
static void test_failed_write(void **state)
{
    (void)state;
    check_font();
    npsw_peaks q = {QMZ, QIN, 5}, l = {LMZ, LIN, 5};
    npsw_mirror_opts o = mirror_opts();
    npsw_err e;
    assert_int_equal(npsw_plot_mirror(&q, &l, &o, NULL, 0, tpath("keep.png"), NULL, &e), 0);
    size_t n0;
    unsigned char *old = read_file(tpath("keep.png"), &n0);
    assert_true(n0 > 8192);
    char before[4096], after[4096];
    dir_listing(before, sizeof before);

    struct rlimit saved, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    small = saved;
    small.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc1 = npsw_plot_mirror(&q, &l, &o, NULL, 0, tpath("new.png"), NULL, &e);
    npsw_err e1 = e;
    int rc2 = npsw_plot_mirror(&q, &l, &o, NULL, 0, tpath("keep.png"), NULL, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, prev);

    expect_error(rc1, &e1, NPSW_EIO, "write failed");
    expect_error(rc2, &e, NPSW_EIO, "write failed");
    dir_listing(after, sizeof after);
    assert_string_equal(before, after); /* neither new.png nor a temporary file */
    size_t n1;
    unsigned char *now = read_file(tpath("keep.png"), &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(old, now, n0);
    free(old);
    free(now);
    unlink(tpath("keep.png"));
}

/* Devices are written in place (never renamed over); a symbolic link keeps pointing at its
 * target, which is replaced. */
static void test_special_paths(void **state)
{
    (void)state;
    check_font();
    npsw_peaks q = {QMZ, QIN, 5}, l = {LMZ, LIN, 5};
    npsw_mirror_opts o = mirror_opts();
    npsw_err e;
    struct stat st;
    assert_int_equal(npsw_plot_mirror(&q, &l, &o, NULL, 0, "/dev/null", NULL, &e), 0);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));

    FILE *f = fopen(tpath("target.png"), "w");
    fputs("old", f);
    fclose(f);
    assert_int_equal(symlink(tpath("target.png"), tpath("link.png")), 0);
    assert_int_equal(npsw_plot_mirror(&q, &l, &o, NULL, 0, tpath("link.png"), NULL, &e), 0);
    assert_int_equal(lstat(tpath("link.png"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    image im;
    assert_int_equal(read_png(tpath("target.png"), &im), 0);
    assert_int_equal(im.w, 2100);
    image_free(&im);
    unlink(tpath("link.png"));
    unlink(tpath("target.png"));
}

/* The font is looked up as documented, and a missing one is reported as such. */
static void test_font(void **state)
{
    (void)state;
    const char *prev = getenv("NPSW_FONT");
    char *saved = prev ? strdup(prev) : NULL;
    assert_string_equal(npsw_font_path("/x/y.ttf"), "/x/y.ttf");
    setenv("NPSW_FONT", "/nonexistent-npsw/font.ttf", 1);
    assert_string_equal(npsw_font_path(NULL), "/nonexistent-npsw/font.ttf");
    npsw_err e;
    npsw_font *font = npsw_font_open(NULL, &e);
    assert_null(font);
    assert_int_equal(e.code, NPSW_EIO);
    assert_non_null(strstr(e.msg, "NPSW_FONT"));
    assert_non_null(strstr(e.msg, "fonts-dejavu-core"));
    assert_string_equal(e.where, "/nonexistent-npsw/font.ttf");
    /* a figure says the same, and writes nothing */
    npsw_peaks q = {QMZ, QIN, 5}, l = {LMZ, LIN, 5};
    npsw_mirror_opts o = mirror_opts();
    int rc = npsw_plot_mirror(&q, &l, &o, NULL, 0, tpath("nofont.png"), NULL, &e);
    expect_error(rc, &e, NPSW_EIO, "font");
    assert_int_equal(access(tpath("nofont.png"), F_OK), -1);
    /* not a font */
    FILE *f = fopen(tpath("bogus.ttf"), "w");
    fputs("not a font", f);
    fclose(f);
    setenv("NPSW_FONT", tpath("bogus.ttf"), 1);
    assert_null(npsw_font_open(NULL, &e));
    assert_int_equal(e.code, NPSW_EFORMAT);
    unlink(tpath("bogus.ttf"));
    if (saved) setenv("NPSW_FONT", saved, 1);
    else unsetenv("NPSW_FONT");
    free(saved);
}

/* Canvas primitives and text: measured widths grow with the text, drawn text stays in its box,
 * vertical text is taller than wide. */
static void test_canvas_text(void **state)
{
    (void)state;
    check_font();
    npsw_err e;
    npsw_font *font = npsw_font_open(NULL, &e);
    npsw_rgb white_c = {255, 255, 255}, black = {0, 0, 0}, red = {200, 0, 0};
    npsw_canvas *c = npsw_canvas_new(400, 300, 300, white_c, &e);
    assert_non_null(c);
    int w1, w2, a, d;
    assert_int_equal(npsw_text_measure(font, 30, "m/z", &w1, &a, &d, &e), 0);
    assert_int_equal(npsw_text_measure(font, 30, "m/z m/z", &w2, NULL, NULL, &e), 0);
    assert_true(w1 > 20 && w2 > 2 * w1 && a > 15 && d > 3 && a + d < 45);
    npsw_text_style st = {30, black, NPSW_TEXT_LEFT, NPSW_TEXT_TOP, 0};
    npsw_box b;
    assert_int_equal(npsw_canvas_text(c, font, 10, 10, &st, "Hg \xce\x94", &b, &e), 0);
    assert_int_equal(b.x0, 10);
    assert_int_equal(b.y0, 10);
    int inside = 0, outside = 0;
    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 400; x++)
            if (!white(npsw_canvas_get(c, x, y))) {
                if (x >= b.x0 - 2 && x < b.x1 + 2 && y >= b.y0 && y < b.y1) inside++;
                else outside++;
            }
    assert_true(inside > 100);
    assert_int_equal(outside, 0);
    st.vertical = 1;
    st.halign = NPSW_TEXT_CENTER;
    assert_int_equal(npsw_canvas_text(c, font, 300, 150, &st, "vertical", &b, &e), 0);
    assert_true(b.y1 - b.y0 > 2 * (b.x1 - b.x0));
    assert_int_equal(b.x0, 300);
    /* rectangles and lines */
    npsw_canvas_rect(c, 50, 250, 60, 260, red);
    assert_true(same(npsw_canvas_get(c, 50, 250), red) && same(npsw_canvas_get(c, 60, 260), red));
    assert_true(white(npsw_canvas_get(c, 61, 255)));
    npsw_canvas_line(c, 100.5, 280.5, 200.5, 280.5, 1, black);
    assert_true(same(npsw_canvas_get(c, 150, 280), black));
    assert_true(white(npsw_canvas_get(c, 150, 283)));
    npsw_canvas_free(c);
    npsw_font_free(font);
    assert_null(npsw_canvas_new(0, 10, 300, white_c, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canvas_text),
        cmocka_unit_test(test_mirror),
        cmocka_unit_test(test_mirror_auto_range),
        cmocka_unit_test(test_timeline),
        cmocka_unit_test(test_timeline_weeks),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_failed_write),
        cmocka_unit_test(test_special_paths),
        cmocka_unit_test(test_font),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
