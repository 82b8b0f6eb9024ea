/* plot.c - figures as PNG files: an RGB canvas, text with FreeType, libpng output with
 * provenance chunks, written atomically; mirror plots and detection timelines on top
 * (npsw/plot.h, docs/figures.md).
 *
 * Every figure is laid out in points (1/72 inch) scaled by dpi / 72, so the same options give
 * the same figure at any resolution. Everything is integer or plain double arithmetic in a fixed
 * order, FreeType's rendering is deterministic and the PNG carries no time chunk: the same input
 * gives the same bytes.
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include "npsw/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <png.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#ifndef NPSW_DEFAULT_FONT
#define NPSW_DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#endif

static const npsw_rgb WHITE = {255, 255, 255};
static const npsw_rgb INK = {17, 17, 17};       /* titles, labels */
static const npsw_rgb AXIS = {51, 51, 51};      /* frame, ticks, tick labels */
static const npsw_rgb MUTED = {85, 85, 85};     /* footer */
static const npsw_rgb GRID = {226, 226, 226};   /* timeline grid lines */

/* Round half up, clamped far outside any canvas so that the conversion is always defined. */
static int rnd(double v)
{
    if (!(v > -1e8)) return -100000000;
    if (v > 1e8) return 100000000;
    return (int)floor(v + 0.5);
}

/* ---- canvas ----------------------------------------------------------------------------- */

struct npsw_canvas {
    uint32_t w, h;
    unsigned dpi;
    uint8_t *px; /* RGB, row after row */
};

npsw_canvas *npsw_canvas_new(uint32_t width, uint32_t height, unsigned dpi, npsw_rgb background,
                             npsw_err *err)
{
    if (width < 1 || height < 1 || width > 20000 || height > 20000) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                     "canvas of %u x %u pixels: each side must be 1 to 20000 pixels", width, height);
        return NULL;
    }
    if (dpi < 1 || dpi > 10000) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0, "resolution of %u dpi: expected 1 to 10000", dpi);
        return NULL;
    }
    npsw_canvas *c = calloc(1, sizeof *c);
    size_t n = (size_t)width * height;
    if (c) c->px = malloc(n * 3);
    if (!c || !c->px) {
        free(c);
        npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for a %u x %u canvas", width, height);
        return NULL;
    }
    c->w = width;
    c->h = height;
    c->dpi = dpi;
    for (size_t i = 0; i < n; i++) {
        c->px[3 * i] = background.r;
        c->px[3 * i + 1] = background.g;
        c->px[3 * i + 2] = background.b;
    }
    return c;
}

void npsw_canvas_free(npsw_canvas *c)
{
    if (!c) return;
    free(c->px);
    free(c);
}

uint32_t npsw_canvas_width(const npsw_canvas *c) { return c->w; }
uint32_t npsw_canvas_height(const npsw_canvas *c) { return c->h; }
unsigned npsw_canvas_dpi(const npsw_canvas *c) { return c->dpi; }

npsw_rgb npsw_canvas_get(const npsw_canvas *c, int x, int y)
{
    npsw_rgb k = {0, 0, 0};
    if (x < 0 || y < 0 || (uint32_t)x >= c->w || (uint32_t)y >= c->h) return k;
    const uint8_t *p = c->px + ((size_t)y * c->w + (size_t)x) * 3;
    k.r = p[0];
    k.g = p[1];
    k.b = p[2];
    return k;
}

/* Paint colour `k` with coverage a (0..255) over pixel (x, y). */
static void blend(npsw_canvas *c, int x, int y, npsw_rgb k, unsigned a)
{
    if (!a || x < 0 || y < 0 || (uint32_t)x >= c->w || (uint32_t)y >= c->h) return;
    uint8_t *p = c->px + ((size_t)y * c->w + (size_t)x) * 3;
    if (a >= 255) {
        p[0] = k.r;
        p[1] = k.g;
        p[2] = k.b;
        return;
    }
    p[0] = (uint8_t)((k.r * a + p[0] * (255 - a) + 127) / 255);
    p[1] = (uint8_t)((k.g * a + p[1] * (255 - a) + 127) / 255);
    p[2] = (uint8_t)((k.b * a + p[2] * (255 - a) + 127) / 255);
}

void npsw_canvas_rect(npsw_canvas *c, int x0, int y0, int x1, int y1, npsw_rgb k)
{
    if (x0 > x1) {
        int t = x0;
        x0 = x1;
        x1 = t;
    }
    if (y0 > y1) {
        int t = y0;
        y0 = y1;
        y1 = t;
    }
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 >= (int)c->w) x1 = (int)c->w - 1;
    if (y1 >= (int)c->h) y1 = (int)c->h - 1;
    for (int y = y0; y <= y1; y++) {
        uint8_t *p = c->px + ((size_t)y * c->w + (size_t)x0) * 3;
        for (int x = x0; x <= x1; x++, p += 3) {
            p[0] = k.r;
            p[1] = k.g;
            p[2] = k.b;
        }
    }
}

void npsw_canvas_line(npsw_canvas *c, double x0, double y0, double x1, double y1, double width,
                      npsw_rgb k)
{
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1) || !(width > 0) ||
        width > 1000)
        return;
    double hw = width / 2, dx = x1 - x0, dy = y1 - y0, len = hypot(dx, dy);
    double ux = len > 1e-12 ? dx / len : 1, uy = len > 1e-12 ? dy / len : 0;
    double lo_x = fmin(x0, x1) - hw - 1, hi_x = fmax(x0, x1) + hw + 1;
    double lo_y = fmin(y0, y1) - hw - 1, hi_y = fmax(y0, y1) + hw + 1;
    int bx0 = rnd(fmax(lo_x, 0)), bx1 = rnd(fmin(hi_x, (double)c->w - 1));
    int by0 = rnd(fmax(lo_y, 0)), by1 = rnd(fmin(hi_y, (double)c->h - 1));
    for (int y = by0; y <= by1; y++)
        for (int x = bx0; x <= bx1; x++) {
            /* coverage estimated from the pixel centre's distance to the segment */
            double px = x + 0.5 - x0, py = y + 0.5 - y0;
            double along = px * ux + py * uy, across = fabs(py * ux - px * uy);
            double ca = fmin(along + 0.5, len - along + 0.5), cc = hw + 0.5 - across;
            ca = ca < 0 ? 0 : ca > 1 ? 1 : ca;
            cc = cc < 0 ? 0 : cc > 1 ? 1 : cc;
            blend(c, x, y, k, (unsigned)rnd(ca * cc * 255));
        }
}

/* ---- fonts and text --------------------------------------------------------------------- */

struct npsw_font {
    FT_Library lib;
    FT_Face face;
    FT_F26Dot6 size; /* current em size, 26.6 pixels */
};

const char *npsw_font_path(const char *path)
{
    if (path && *path) return path;
    const char *env = getenv("NPSW_FONT");
    if (env && *env) return env;
    return NPSW_DEFAULT_FONT;
}

npsw_font *npsw_font_open(const char *path, npsw_err *err)
{
    const char *env = getenv("NPSW_FONT");
    const char *p = npsw_font_path(path);
    const char *from = path && *path    ? "the font asked for"
                       : env && *env    ? "the font named by NPSW_FONT"
                                        : "the default font";
    struct stat st;
    int se = stat(p, &st), e = errno;
    if (se != 0 || !S_ISREG(st.st_mode)) {
        npsw_err_set(err, NPSW_EIO, p, 0,
                     "%s is missing (%s): figures need a TrueType font; install the Debian "
                     "package fonts-dejavu-core, or set NPSW_FONT to a .ttf file",
                     from, se != 0 ? strerror(e) : "not a regular file");
        return NULL;
    }
    npsw_font *f = calloc(1, sizeof *f);
    if (!f) {
        npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for a font");
        return NULL;
    }
    FT_Error fe = FT_Init_FreeType(&f->lib);
    if (fe) {
        free(f);
        npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "cannot start FreeType (error %d)", fe);
        return NULL;
    }
    fe = FT_New_Face(f->lib, p, 0, &f->face);
    if (fe || !FT_IS_SCALABLE(f->face) || FT_Select_Charmap(f->face, FT_ENCODING_UNICODE)) {
        npsw_err_set(err, NPSW_EFORMAT, p, 0,
                     "not a scalable font with a Unicode character map that FreeType can read "
                     "(%s; error %d): set NPSW_FONT to a TrueType font such as DejaVuSans.ttf",
                     from, fe);
        npsw_font_free(f);
        return NULL;
    }
    return f;
}

void npsw_font_free(npsw_font *f)
{
    if (!f) return;
    if (f->face) FT_Done_Face(f->face);
    FT_Done_FreeType(f->lib);
    free(f);
}

static int font_size(npsw_font *f, double size_px)
{
    FT_F26Dot6 s = (FT_F26Dot6)rnd((size_px > 1 ? size_px : 1) * 64);
    if (s > 64 * 2000) s = 64 * 2000;
    if (s == f->size) return 0;
    if (FT_Set_Char_Size(f->face, 0, s, 72, 72)) return -1; /* at 72 dpi points are pixels */
    f->size = s;
    return 0;
}

/* Next code point of a UTF-8 string (which must not be at its end); U+FFFD for bad bytes. */
static uint32_t utf8_next(const unsigned char **ps)
{
    const unsigned char *s = *ps;
    uint32_t c = s[0], min;
    int n;
    if (c < 0x80) {
        *ps = s + 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) n = 1, c &= 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, c &= 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, c &= 0x07, min = 0x10000;
    else {
        *ps = s + 1;
        return 0xFFFD;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) { /* also stops at the terminating NUL */
            *ps = s + i;
            return 0xFFFD;
        }
        c = c << 6 | (s[i] & 0x3F);
    }
    *ps = s + n + 1;
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0xFFFD;
    return c;
}

/* A rendered string: an alpha mask with the pen origin at (ox, oy). */
typedef struct text_img {
    int advance, ascent, descent;
    int w, h, ox, oy;
    uint8_t *a;
} text_img;

/* Lay out (and with `draw`, render) a string. Glyphs a font lacks are drawn as its .notdef box;
 * a glyph FreeType cannot load is skipped. */
static int text_render(npsw_font *f, double size_px, const char *s, int draw, text_img *t,
                       npsw_err *err)
{
    memset(t, 0, sizeof *t);
    if (font_size(f, size_px) < 0)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "the font cannot be set to %g pixels",
                            size_px);
    FT_Face face = f->face;
    t->ascent = (int)((face->size->metrics.ascender + 63) / 64);
    t->descent = (int)((-face->size->metrics.descender + 63) / 64);
    if (t->ascent < 0) t->ascent = 0;
    if (t->descent < 0) t->descent = 0;
    int pass_last = draw ? 1 : 0;
    for (int pass = 0; pass <= pass_last; pass++) {
        if (pass == 1) {
            int pad = (int)((f->size + 63) / 64); /* one em around the line box for overhangs */
            t->w = t->advance + 2 * pad;
            t->h = t->ascent + t->descent + 2 * pad;
            t->ox = pad;
            t->oy = pad + t->ascent;
            t->a = calloc((size_t)t->w * (size_t)t->h, 1);
            if (!t->a) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for text");
        }
        FT_Pos pen = 0;
        FT_UInt prev = 0;
        const unsigned char *p = (const unsigned char *)(s ? s : "");
        while (*p) {
            uint32_t cp = utf8_next(&p);
            if (cp < 32 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) cp = ' ';
            FT_UInt gi = FT_Get_Char_Index(face, cp);
            if (prev && gi && FT_HAS_KERNING(face)) {
                FT_Vector d;
                if (!FT_Get_Kerning(face, prev, gi, FT_KERNING_DEFAULT, &d)) pen += d.x;
            }
            prev = gi;
            if (FT_Load_Glyph(face, gi, FT_LOAD_TARGET_LIGHT | (pass ? FT_LOAD_RENDER : 0)))
                continue;
            FT_GlyphSlot g = face->glyph;
            if (pass == 1) {
                const FT_Bitmap *b = &g->bitmap;
                int gx = t->ox + (int)((pen + 32) >> 6) + g->bitmap_left;
                int gy = t->oy - g->bitmap_top;
                for (unsigned r = 0; r < b->rows; r++) {
                    int y = gy + (int)r;
                    if (y < 0 || y >= t->h) continue;
                    const unsigned char *row =
                        b->pitch >= 0 ? b->buffer + (size_t)r * (size_t)b->pitch
                                      : b->buffer + (size_t)(b->rows - 1 - r) * (size_t)(-b->pitch);
                    for (unsigned col = 0; col < b->width; col++) {
                        int x = gx + (int)col;
                        if (x < 0 || x >= t->w) continue;
                        unsigned v;
                        if (b->pixel_mode == FT_PIXEL_MODE_MONO)
                            v = (row[col >> 3] >> (7 - (col & 7))) & 1 ? 255 : 0;
                        else if (b->pixel_mode == FT_PIXEL_MODE_GRAY)
                            v = b->num_grays == 256 ? row[col]
                                                    : row[col] * 255u / (b->num_grays - 1u);
                        else
                            v = 0;
                        uint8_t *d = &t->a[(size_t)y * (size_t)t->w + (size_t)x];
                        if (v > *d) *d = (uint8_t)v;
                    }
                }
            }
            pen += g->advance.x;
        }
        if (pass == 0) t->advance = (int)((pen + 32) >> 6);
    }
    return 0;
}

int npsw_text_measure(npsw_font *f, double size_px, const char *utf8, int *width, int *ascent,
                      int *descent, npsw_err *err)
{
    text_img t;
    int rc = text_render(f, size_px, utf8, 0, &t, err);
    if (rc < 0) return rc;
    if (width) *width = t.advance;
    if (ascent) *ascent = t.ascent;
    if (descent) *descent = t.descent;
    return 0;
}

int npsw_canvas_text(npsw_canvas *c, npsw_font *f, double x, double y, const npsw_text_style *st,
                     const char *utf8, npsw_box *box, npsw_err *err)
{
    text_img t;
    int rc = text_render(f, st->size_px, utf8, 1, &t, err);
    if (rc < 0) return rc;
    double along = st->halign == NPSW_TEXT_CENTER  ? t.advance / 2.0
                   : st->halign == NPSW_TEXT_RIGHT ? (double)t.advance
                                                   : 0;
    double across = st->valign == NPSW_TEXT_TOP        ? (double)t.ascent
                    : st->valign == NPSW_TEXT_MIDDLE   ? (t.ascent - t.descent) / 2.0
                    : st->valign == NPSW_TEXT_BASELINE ? 0
                                                       : -(double)t.descent;
    npsw_box b;
    if (!st->vertical) {
        int X = rnd(x - along), Y = rnd(y + across);
        for (int my = 0; my < t.h; my++)
            for (int mx = 0; mx < t.w; mx++)
                blend(c, X + mx - t.ox, Y + my - t.oy, st->color, t.a[(size_t)my * t.w + mx]);
        b.x0 = X;
        b.x1 = X + t.advance;
        b.y0 = Y - t.ascent;
        b.y1 = Y + t.descent;
    } else { /* reading upwards: the text's x runs to -y, its y (down) runs to +x */
        int X = rnd(x + across), Y = rnd(y + along);
        for (int my = 0; my < t.h; my++)
            for (int mx = 0; mx < t.w; mx++)
                blend(c, X + (my - t.oy), Y - (mx - t.ox), st->color, t.a[(size_t)my * t.w + mx]);
        b.x0 = X - t.ascent;
        b.x1 = X + t.descent;
        b.y0 = Y - t.advance + 1;
        b.y1 = Y + 1;
    }
    free(t.a);
    if (box) *box = b;
    return 0;
}

/* ---- PNG -------------------------------------------------------------------------------- */

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
    char msg[256];
} membuf;

static void png_write_mem(png_structp png, png_bytep data, size_t len)
{
    membuf *b = png_get_io_ptr(png);
    if (len > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap - b->n < len) cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            png_error(png, "out of memory");
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
}

static void png_flush_mem(png_structp png) { (void)png; }

static void png_error_cb(png_structp png, png_const_charp msg)
{
    membuf *b = png_get_error_ptr(png);
    snprintf(b->msg, sizeof b->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* PNG keyword rules: 1-79 printable Latin-1 characters (here: ASCII), no leading, trailing or
 * consecutive spaces. */
static int png_key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n < 1 || n > 79 || k[0] == ' ' || k[n - 1] == ' ') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)k[i];
        if (ch < 32 || ch > 126 || (ch == ' ' && k[i + 1] == ' ')) return 0;
    }
    return 1;
}

/* A value as it is stored: control characters but '\n' become spaces, invalid UTF-8 becomes
 * U+FFFD. *ascii tells whether a tEXt chunk can hold it. NULL when out of memory. */
static char *png_value(const char *v, int *ascii)
{
    size_t n = strlen(v);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out) return NULL;
    *ascii = 1;
    const unsigned char *p = (const unsigned char *)v;
    while (*p) {
        uint32_t cp = utf8_next(&p);
        if ((cp < 32 && cp != '\n') || cp == 0x7F) cp = ' ';
        if (cp < 0x80) {
            *o++ = (char)cp;
            continue;
        }
        *ascii = 0;
        if (cp < 0x800) {
            *o++ = (char)(0xC0 | cp >> 6);
        } else if (cp < 0x10000) {
            *o++ = (char)(0xE0 | cp >> 12);
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        } else {
            *o++ = (char)(0xF0 | cp >> 18);
            *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        }
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    *o = '\0';
    return out;
}

int npsw_canvas_encode_png(const npsw_canvas *c, const npsw_png_text *text, size_t n_text,
                           unsigned char **out, size_t *len, npsw_err *err)
{
    *out = NULL;
    *len = 0;
    if (n_text > 1000) return npsw_err_set(err, NPSW_ELIMIT, NULL, 0, "more than 1000 text chunks");
    for (size_t i = 0; i < n_text; i++) {
        if (!png_key_ok(text[i].key))
            return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                                "PNG text key '%s': expected 1-79 printable ASCII characters "
                                "without leading, trailing or double spaces",
                                text[i].key ? text[i].key : "(null)");
        if (!text[i].value)
            return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "PNG text '%s' has no value",
                                text[i].key);
        if (strlen(text[i].value) > (1u << 20))
            return npsw_err_set(err, NPSW_ELIMIT, NULL, 0, "PNG text '%s' is longer than 1 MiB",
                                text[i].key);
    }
    int rc = 0;
    png_structp png = NULL;
    png_infop info = NULL;
    png_text *pt = calloc(n_text ? n_text : 1, sizeof *pt);
    char **vals = calloc(n_text ? n_text : 1, sizeof *vals);
    membuf *b = calloc(1, sizeof *b); /* on the heap: it changes between setjmp and longjmp */
    if (!pt || !vals || !b) goto nomem;
    for (size_t i = 0; i < n_text; i++) {
        int ascii;
        if (!(vals[i] = png_value(text[i].value, &ascii))) goto nomem;
        pt[i].compression = ascii ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
        pt[i].key = (png_charp)text[i].key;
        pt[i].text = vals[i];
        pt[i].text_length = strlen(vals[i]);
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, b, png_error_cb, png_warning_cb);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) goto nomem;
    if (setjmp(png_jmpbuf(png))) {
        rc = npsw_err_set(err, b->oom ? NPSW_ENOMEM : NPSW_EINVAL, NULL, 0,
                          "PNG encoding failed: %s", b->msg);
        goto done;
    }
    png_set_write_fn(png, b, png_write_mem, png_flush_mem);
    png_set_compression_level(png, 9);
    png_set_IHDR(png, info, c->w, c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_uint_32 ppm = (png_uint_32)floor(c->dpi / 0.0254 + 0.5); /* 300 dpi = 11811 per metre */
    png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    if (n_text) png_set_text(png, info, pt, (int)n_text);
    png_write_info(png, info);
    for (uint32_t y = 0; y < c->h; y++) png_write_row(png, c->px + (size_t)y * c->w * 3);
    png_write_end(png, NULL);
    *out = b->p;
    *len = b->n;
    b->p = NULL;
    goto done;
nomem:
    rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory encoding a PNG");
done:
    if (png) png_destroy_write_struct(&png, info ? &info : NULL);
    if (vals)
        for (size_t i = 0; i < n_text; i++) free(vals[i]);
    free(vals);
    free(pt);
    if (b) free(b->p);
    free(b);
    return rc;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static atomic_uint tmp_counter;

/* Write `data` to `path` atomically (see npsw/plot.h). */
static int write_file_atomic(const char *path, const unsigned char *data, size_t len, npsw_err *err)
{
    if (!path || !*path) return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "no output file name");
    char *target = NULL, *tmp = NULL;
    int rc = 0, fd = -1;
    struct stat st, lst;
    if (stat(path, &st) == 0) { /* follows symbolic links */
        if (S_ISDIR(st.st_mode))
            return npsw_err_set(err, NPSW_EINVAL, path, 0, "is a directory; expected a file name");
        if (!S_ISREG(st.st_mode)) { /* a device or FIFO: renaming would replace it */
            if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
                return npsw_err_set(err, NPSW_EIO, path, 0, "cannot open for writing: %s",
                                    strerror(errno));
            if (write_all(fd, data, len) < 0)
                rc = npsw_err_set(err, NPSW_EIO, path, 0, "write failed: %s", strerror(errno));
            close(fd);
            return rc;
        }
        /* a regular file; through a symbolic link, its target is replaced, not the link */
        if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
            if (!(target = realpath(path, NULL)))
                return npsw_err_set(err, NPSW_EIO, path, 0, "cannot resolve the symbolic link: %s",
                                    strerror(errno));
        }
    } else if (errno != ENOENT) {
        return npsw_err_set(err, NPSW_EIO, path, 0, "cannot use as output: %s", strerror(errno));
    } else if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        return npsw_err_set(err, NPSW_EIO, path, 0,
                            "symbolic link to a missing file: create the file or remove the link");
    }
    if (!target && !(target = strdup(path)))
        return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
    size_t tl = strlen(target) + 64;
    if (!(tmp = malloc(tl))) {
        rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
        goto done;
    }
    snprintf(tmp, tl, "%s.tmp.%ld.%u", target, (long)getpid(), atomic_fetch_add(&tmp_counter, 1u));
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) < 0) {
        rc = npsw_err_set(err, NPSW_EIO, path, 0,
                          "cannot create the file (does the directory exist, is it writable?): %s",
                          strerror(errno));
        goto done;
    }
    if (write_all(fd, data, len) < 0 || fsync(fd) != 0) {
        rc = npsw_err_set(err, NPSW_EIO, tmp, 0, "write failed: %s", strerror(errno));
        close(fd);
        unlink(tmp);
        goto done;
    }
    if (close(fd) != 0) {
        rc = npsw_err_set(err, NPSW_EIO, tmp, 0, "write failed: %s", strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, target) != 0) {
        rc = npsw_err_set(err, NPSW_EIO, path, 0, "cannot rename %s to it: %s", tmp,
                          strerror(errno));
        unlink(tmp);
        goto done;
    }
    /* make the rename durable; best effort */
    char *dir = strdup(target);
    if (dir) {
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
done:
    free(tmp);
    free(target);
    return rc;
}

int npsw_canvas_write_png(const npsw_canvas *c, const npsw_png_text *text, size_t n_text,
                          const char *path, npsw_err *err)
{
    unsigned char *png;
    size_t len;
    int rc = npsw_canvas_encode_png(c, text, n_text, &png, &len, err);
    if (rc < 0) return rc;
    rc = write_file_atomic(path, png, len, err);
    free(png);
    return rc;
}

/* ---- figure helpers --------------------------------------------------------------------- */

/* Type sizes and distances in points. */
#define PT_TITLE 10.5
#define PT_SUB 8.0
#define PT_TICK 7.5
#define PT_AXIS 8.0
#define PT_LABEL 6.5
#define PT_FOOT 6.5
#define PT_MARGIN 9.0
#define PT_TICKLEN 3.0
#define PT_LINE 0.5  /* frame and axis lines */
#define PT_STICK 0.7 /* spectrum sticks */

typedef struct fig {
    npsw_canvas *c;
    npsw_font *font;
    double s; /* pixels per point */
    npsw_err *err;
    int rc;   /* the first error */
} fig;

static int px(const fig *g, double pt) { return rnd(pt * g->s); }

static int fig_width(fig *g, double pt, const char *s)
{
    int w = 0;
    if (g->rc == 0) {
        int r = npsw_text_measure(g->font, pt * g->s, s, &w, NULL, NULL, g->err);
        if (r < 0) g->rc = r;
    }
    return w;
}

/* Height of a line box (ascent + descent) at a size. */
static int fig_line(fig *g, double pt, int *ascent)
{
    int a = 0, d = 0;
    if (g->rc == 0) {
        int r = npsw_text_measure(g->font, pt * g->s, "", NULL, &a, &d, g->err);
        if (r < 0) g->rc = r;
    }
    if (ascent) *ascent = a;
    return a + d;
}

static npsw_box fig_text(fig *g, double x, double y, double pt, npsw_rgb k, npsw_text_halign ha,
                         npsw_text_valign va, int vertical, const char *s)
{
    npsw_box b = {0, 0, 0, 0};
    if (g->rc) return b;
    npsw_text_style st = {pt * g->s, k, ha, va, vertical};
    int r = npsw_canvas_text(g->c, g->font, x, y, &st, s, &b, g->err);
    if (r < 0) g->rc = r;
    return b;
}

/* The largest m <= n at which a character of s starts (s has at least n + 1 bytes). */
static size_t utf8_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

/* `s` into out (outsz bytes), shortened with an ellipsis until it is at most maxw pixels wide. */
static void fit_text(fig *g, double pt, const char *s, int maxw, char *out, size_t outsz)
{
    if (!s) s = "";
    if (outsz < 16) {
        if (outsz) out[0] = '\0';
        return;
    }
    size_t len = strlen(s), cap = outsz - 8, n = len;
    if (cap > 400) cap = 400; /* longer than any line fits */
    if (n > cap) n = utf8_cut(s, cap);
    memcpy(out, s, n);
    out[n] = '\0';
    if (n == len && fig_width(g, pt, out) <= maxw) return;
    /* binary search over the character starts for the longest prefix + "..." that fits */
    size_t pos[402], np = 0, lo = 0, hi, best = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || ((unsigned char)out[i] & 0xC0) != 0x80) pos[np++] = i;
    char tmp[420];
    hi = np - 1;
    while (lo <= hi) {
        size_t mid = lo + (hi - lo) / 2, k = pos[mid];
        while (k > 0 && out[k - 1] == ' ') k--;
        memcpy(tmp, out, k);
        memcpy(tmp + k, "\xe2\x80\xa6", 4);
        if (fig_width(g, pt, tmp) <= maxw) {
            best = mid;
            lo = mid + 1;
        } else {
            if (mid == 0) break;
            hi = mid - 1;
        }
    }
    size_t k = pos[best];
    while (k > 0 && out[k - 1] == ' ') k--;
    memcpy(out + k, "\xe2\x80\xa6", 4);
}

/* A "nice" tick step of about range / max_ticks: 1, 2, 2.5 or 5 times a power of ten (2.5 only
 * when it stays a whole number with integer_only). *minor: minor ticks per step. */
static double nice_step(double range, double max_ticks, int integer_only, int *minor)
{
    static const double m[] = {1, 2, 2.5, 5, 10};
    static const int d[] = {5, 4, 5, 5, 5};
    if (max_ticks < 1) max_ticks = 1;
    double raw = range / max_ticks;
    if (!(raw > 0)) raw = 1;
    double p = pow(10, floor(log10(raw)));
    for (int i = 0; i < 5; i++) {
        double v = m[i] * p;
        if (integer_only && v < 1) continue;
        if (m[i] == 2.5 && (p < 10 || integer_only)) continue;
        if (v >= raw * (1 - 1e-9)) {
            if (minor) *minor = d[i];
            return v;
        }
    }
    if (minor) *minor = 5;
    return 10 * p;
}

static int tick_decimals(double step)
{
    int d = 0;
    while (d < 6 && fabs(step * pow(10, d) - floor(step * pow(10, d) + 0.5)) > 1e-6) d++;
    return d;
}

/* The common frame of both figures: title, subtitle, footer, axis labels. */
typedef struct frame {
    int W, H, margin, lw, ticklen;
    int top, bottom, left, right; /* plot area edges (inclusive) */
    int title_y, sub_y, foot1_y, foot2_y, xlabel_y, ticklabel_y;
} frame;

static void frame_layout(fig *g, frame *f, const char *widest_ylabel)
{
    int lt = fig_line(g, PT_TITLE, NULL), ls = fig_line(g, PT_SUB, NULL);
    int lk = fig_line(g, PT_TICK, NULL), la = fig_line(g, PT_AXIS, NULL);
    int lf = fig_line(g, PT_FOOT, NULL);
    f->margin = px(g, PT_MARGIN);
    f->lw = px(g, PT_LINE) > 0 ? px(g, PT_LINE) : 1;
    f->ticklen = px(g, PT_TICKLEN);
    f->title_y = f->margin;
    f->sub_y = f->title_y + lt + px(g, 1.5);
    f->top = f->sub_y + ls + px(g, 6);
    f->foot2_y = f->H - f->margin - lf;
    f->foot1_y = f->foot2_y - px(g, 0.5) - lf;
    f->xlabel_y = f->foot1_y - px(g, 6) - la;
    f->ticklabel_y = f->xlabel_y - px(g, 1) - lk;
    f->bottom = f->ticklabel_y - px(g, 2) - f->ticklen;
    f->left = f->margin + la + px(g, 4) + fig_width(g, PT_TICK, widest_ylabel) + px(g, 2) +
              f->ticklen;
    f->right = f->W - f->margin - 1;
}

static void frame_texts(fig *g, const frame *f, const char *title, const char *subtitle,
                        int subtitle_room, const char *foot_left, const char *foot_right,
                        const char *note, const char *ylabel, const char *xlabel,
                        npsw_box *title_box)
{
    char buf[1024];
    int width = f->right - f->left + 1;
    fit_text(g, PT_TITLE, title, width, buf, sizeof buf);
    *title_box = fig_text(g, f->left, f->title_y, PT_TITLE, INK, NPSW_TEXT_LEFT, NPSW_TEXT_TOP, 0, buf);
    if (subtitle && *subtitle) {
        fit_text(g, PT_SUB, subtitle, subtitle_room, buf, sizeof buf);
        fig_text(g, f->left, f->sub_y, PT_SUB, INK, NPSW_TEXT_LEFT, NPSW_TEXT_TOP, 0, buf);
    }
    int full = f->W - 2 * f->margin, rw = 0;
    if (foot_right && *foot_right) {
        fit_text(g, PT_FOOT, foot_right, full / 2, buf, sizeof buf);
        npsw_box b = fig_text(g, f->W - f->margin, f->foot1_y, PT_FOOT, MUTED, NPSW_TEXT_RIGHT,
                              NPSW_TEXT_TOP, 0, buf);
        rw = b.x1 - b.x0 + px(g, 8);
    }
    if (foot_left && *foot_left) {
        fit_text(g, PT_FOOT, foot_left, full - rw, buf, sizeof buf);
        fig_text(g, f->margin, f->foot1_y, PT_FOOT, MUTED, NPSW_TEXT_LEFT, NPSW_TEXT_TOP, 0, buf);
    }
    if (note && *note) {
        fit_text(g, PT_FOOT, note, full, buf, sizeof buf);
        fig_text(g, f->margin, f->foot2_y, PT_FOOT, MUTED, NPSW_TEXT_LEFT, NPSW_TEXT_TOP, 0, buf);
    }
    fit_text(g, PT_AXIS, ylabel, f->bottom - f->top, buf, sizeof buf);
    fig_text(g, f->margin, (f->top + f->bottom) / 2.0, PT_AXIS, INK, NPSW_TEXT_CENTER,
             NPSW_TEXT_TOP, 1, buf);
    fit_text(g, PT_AXIS, xlabel, width, buf, sizeof buf);
    fig_text(g, (f->left + f->right + 1) / 2.0, f->xlabel_y, PT_AXIS, INK, NPSW_TEXT_CENTER,
             NPSW_TEXT_TOP, 0, buf);
}

/* A horizontal line of thickness lw centred on row y, and a vertical one centred on column x. */
static void hline(npsw_canvas *c, int x0, int x1, int y, int lw, npsw_rgb k)
{
    npsw_canvas_rect(c, x0, y - lw / 2, x1, y - lw / 2 + lw - 1, k);
}
static void vline(npsw_canvas *c, int x, int y0, int y1, int lw, npsw_rgb k)
{
    npsw_canvas_rect(c, x - lw / 2, y0, x - lw / 2 + lw - 1, y1, k);
}

static int map_x(const npsw_plot_layout *L, double v)
{
    return rnd(L->x0 + (v - L->x_min) * (L->x1 - L->x0) / (L->x_max - L->x_min));
}

static int fig_start(fig *g, double width_in, double height_in, unsigned dpi,
                     const char *font_path, frame *f, npsw_err *err)
{
    memset(g, 0, sizeof *g);
    memset(f, 0, sizeof *f);
    g->err = err;
    g->s = dpi / 72.0;
    f->W = rnd(width_in * dpi);
    f->H = rnd(height_in * dpi);
    if (!(g->font = npsw_font_open(font_path, err))) return err ? err->code : NPSW_EIO;
    if (!(g->c = npsw_canvas_new((uint32_t)f->W, (uint32_t)f->H, dpi, WHITE, err))) {
        npsw_font_free(g->font);
        g->font = NULL;
        return err ? err->code : NPSW_ENOMEM;
    }
    return 0;
}

static npsw_canvas *fig_finish(fig *g)
{
    npsw_font_free(g->font);
    g->font = NULL;
    if (g->rc < 0) {
        npsw_canvas_free(g->c);
        return NULL;
    }
    return g->c;
}

/* ---- mirror plot ------------------------------------------------------------------------ */

npsw_mirror_opts npsw_mirror_opts_default(void)
{
    npsw_mirror_opts o;
    memset(&o, 0, sizeof o);
    o.mf = o.rmf = -1;
    o.n_labels = 8;
    o.width_in = 7;
    o.height_in = 4.5;
    o.dpi = 300;
    o.query_color = (npsw_rgb){31, 119, 180};
    o.lib_color = (npsw_rgb){214, 39, 40};
    return o;
}

static int check_size(double w, double h, unsigned dpi, npsw_err *err)
{
    if (!(w >= 2 && w <= 40) || !(h >= 2 && h <= 40))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "figure size %g x %g inches: expected 2 to 40 inches a side", w, h);
    if (dpi < 72 || dpi > 1200)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "resolution %u dpi: expected 72 to 1200",
                            dpi);
    if (w * dpi > 20000 || h * dpi > 20000)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "%g x %g inches at %u dpi is more than 20000 pixels a side", w, h, dpi);
    return 0;
}

int npsw_mirror_opts_check(const npsw_mirror_opts *o, npsw_err *err)
{
    int rc = check_size(o->width_in, o->height_in, o->dpi, err);
    if (rc < 0) return rc;
    if (o->n_labels > 50)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "%u peak labels: at most 50", o->n_labels);
    if (o->mf < -1 || o->mf > 999 || o->rmf < -1 || o->rmf > 999)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "MF %d / RMF %d: expected 0 to 999, or -1 for none", o->mf, o->rmf);
    if (o->delta_label && !isfinite(o->delta))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "the mass difference is not a number");
    if (o->mz_min != 0 || o->mz_max != 0) {
        if (!(o->mz_min >= 0) || !(o->mz_max > o->mz_min) || !isfinite(o->mz_max))
            return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                                "m/z axis %g to %g: expected 0 <= min < max (or both 0: automatic)",
                                o->mz_min, o->mz_max);
    }
    return 0;
}

typedef struct spec_info {
    double max_in, min_mz, max_mz;
    int integer_mz;
} spec_info;

static int check_peaks(const npsw_peaks *p, const char *which, spec_info *si, npsw_err *err)
{
    if (!p || p->n == 0)
        return npsw_err_set(err, NPSW_EEMPTY, NULL, 0, "the %s spectrum has no peaks to plot",
                            which);
    if (!p->mz || !p->in)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "the %s spectrum has no peak arrays", which);
    si->max_in = 0;
    si->min_mz = INFINITY;
    si->max_mz = -INFINITY;
    si->integer_mz = 1;
    for (uint32_t i = 0; i < p->n; i++) {
        double mz = p->mz[i], in = p->in[i];
        if (!isfinite(mz) || mz <= 0)
            return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                                "the %s spectrum's peak %u has m/z %g; expected a number above 0",
                                which, i + 1, mz);
        if (!isfinite(in) || in < 0)
            return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                                "the %s spectrum's peak %u has intensity %g; expected a number "
                                ">= 0",
                                which, i + 1, in);
        if (in <= 0) continue;
        if (in > si->max_in) si->max_in = in;
        if (mz < si->min_mz) si->min_mz = mz;
        if (mz > si->max_mz) si->max_mz = mz;
        if (fabs(mz - floor(mz + 0.5)) > 1e-6) si->integer_mz = 0;
    }
    if (!(si->max_in > 0))
        return npsw_err_set(err, NPSW_EEMPTY, NULL, 0,
                            "the %s spectrum has no peak with an intensity above 0", which);
    return 0;
}

typedef struct rank_item {
    double in, mz;
    uint32_t i;
} rank_item;

static int rank_cmp(const void *a, const void *b)
{
    const rank_item *x = a, *y = b;
    if (x->in != y->in) return x->in > y->in ? -1 : 1;
    if (x->mz != y->mz) return x->mz < y->mz ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int box_overlap(const npsw_box *a, const npsw_box *b, int pad)
{
    return a->x0 < b->x1 + pad && b->x0 < a->x1 + pad && a->y0 < b->y1 + pad && b->y0 < a->y1 + pad;
}

/* Draw one spectrum's sticks (up: dir = -1, down: dir = +1) and label its top peaks. */
static int draw_half(fig *g, const frame *f, npsw_plot_layout *L, const npsw_peaks *p,
                     const spec_info *si, int dir, npsw_rgb k, const int32_t *match,
                     uint32_t n_labels, int integer_mz, npsw_box *placed, uint32_t *n_placed)
{
    /* unmatched peaks (when the caller says which are matched): 35 % colour on white */
    npsw_rgb light = {(uint8_t)(255 - (255 - k.r) * 35 / 100),
                      (uint8_t)(255 - (255 - k.g) * 35 / 100),
                      (uint8_t)(255 - (255 - k.b) * 35 / 100)};
    npsw_canvas *c = g->c;
    int hw = L->stick_half_width, full = dir < 0 ? L->y_base - L->y_top : L->y_bottom - L->y_base;
    npsw_box *sticks = malloc(((size_t)p->n + 1) * sizeof *sticks);
    rank_item *rk = malloc(((size_t)p->n + 1) * sizeof *rk);
    uint32_t ns = 0, nr = 0, drawn = 0;
    if (!sticks || !rk) {
        free(sticks);
        free(rk);
        return g->rc = npsw_err_set(g->err, NPSW_ENOMEM, NULL, 0, "out of memory for peaks");
    }
    for (uint32_t i = 0; i < p->n; i++) {
        double in = p->in[i], mz = p->mz[i];
        if (!(in > 0) || mz < L->x_min || mz > L->x_max) continue;
        int x = map_x(L, mz), tip = rnd(L->y_base + dir * (in / si->max_in) * full);
        const npsw_rgb col = !match || match[i] >= 0 ? k : light;
        rk[nr++] = (rank_item){in, mz, i};
        if (dir < 0 && tip <= L->y_base - 1) {
            npsw_canvas_rect(c, x - hw, tip, x + hw, L->y_base - 1, col);
            sticks[ns++] = (npsw_box){x - hw, tip, x + hw + 1, L->y_base};
        } else if (dir > 0 && tip >= L->y_base + 1) {
            npsw_canvas_rect(c, x - hw, L->y_base + 1, x + hw, tip, col);
            sticks[ns++] = (npsw_box){x - hw, L->y_base + 1, x + hw + 1, tip + 1};
        }
    }
    qsort(rk, nr, sizeof *rk, rank_cmp);
    npsw_rgb dark = {(uint8_t)(k.r * 7 / 10), (uint8_t)(k.g * 7 / 10), (uint8_t)(k.b * 7 / 10)};
    int lh = fig_line(g, PT_LABEL, NULL), gap = px(g, 1.5), pad = px(g, 1);
    for (uint32_t r = 0; r < nr && r < n_labels && g->rc == 0; r++) {
        char t[64];
        if (integer_mz) snprintf(t, sizeof t, "%.0f", rk[r].mz);
        else snprintf(t, sizeof t, "%.4f", rk[r].mz);
        int w = fig_width(g, PT_LABEL, t);
        int x = map_x(L, rk[r].mz);
        int tip = rnd(L->y_base + dir * (rk[r].in / si->max_in) * full);
        int y0 = dir < 0 ? tip - gap - lh : tip + gap + 1;
        int cand_x[3] = {x - w / 2, x + hw + gap, x - hw - gap - w};
        for (int ci = 0; ci < 3; ci++) {
            npsw_box b = {cand_x[ci], y0, cand_x[ci] + w, y0 + lh};
            if (b.x0 < f->left + f->lw + pad || b.x1 > f->right - f->lw - pad) continue;
            if (dir < 0 && (b.y0 < f->top + f->lw + pad || b.y1 > L->y_base - f->lw)) continue;
            if (dir > 0 && (b.y1 > f->bottom - f->lw - pad || b.y0 < L->y_base + f->lw)) continue;
            int clash = 0;
            for (uint32_t j = 0; j < *n_placed && !clash; j++) clash = box_overlap(&b, &placed[j], pad);
            for (uint32_t j = 0; j < ns && !clash; j++) clash = box_overlap(&b, &sticks[j], pad);
            if (clash) continue;
            fig_text(g, b.x0, b.y0, PT_LABEL, dark, NPSW_TEXT_LEFT, NPSW_TEXT_TOP, 0, t);
            placed[(*n_placed)++] = b;
            drawn++;
            break;
        }
    }
    L->n_labels[dir < 0 ? 0 : 1] = drawn;
    free(sticks);
    free(rk);
    return g->rc;
}

npsw_canvas *npsw_plot_mirror_canvas(const npsw_peaks *query, const npsw_peaks *lib,
                                     const npsw_mirror_opts *o, npsw_plot_layout *layout,
                                     npsw_err *err)
{
    npsw_mirror_opts def = npsw_mirror_opts_default();
    if (!o) o = &def;
    spec_info qi, li;
    if (npsw_mirror_opts_check(o, err) < 0 || check_peaks(query, "query", &qi, err) < 0 ||
        check_peaks(lib, "library", &li, err) < 0)
        return NULL;
    npsw_plot_layout L;
    memset(&L, 0, sizeof L);
    int integer_mz = qi.integer_mz && li.integer_mz;
    if (o->mz_min == 0 && o->mz_max == 0) { /* the peaks' range, padded and rounded outwards */
        double lo = fmin(qi.min_mz, li.min_mz), hi = fmax(qi.max_mz, li.max_mz);
        double pad = fmax(0.04 * (hi - lo), integer_mz ? 5 : 0.5);
        double span = hi - lo + 2 * pad, u = span >= 50 ? 10 : span >= 5 ? 1 : 0.1;
        L.x_min = fmax(0, floor((lo - pad) / u) * u);
        L.x_max = ceil((hi + pad) / u) * u;
    } else {
        L.x_min = o->mz_min;
        L.x_max = o->mz_max;
    }
    fig g;
    frame f;
    if (fig_start(&g, o->width_in, o->height_in, o->dpi, o->font_path, &f, err) < 0) return NULL;
    frame_layout(&g, &f, "100");
    int label_h = fig_line(&g, PT_LABEL, NULL);
    int headroom = label_h + px(&g, 3);
    L.width = (uint32_t)f.W;
    L.height = (uint32_t)f.H;
    L.stick_half_width = px(&g, PT_STICK) / 2;
    L.y_top = f.top + headroom;
    int half = (f.bottom - headroom - L.y_top) / 2;
    L.y_base = L.y_top + half;
    L.y_bottom = L.y_base + half;
    L.y_max = 100;
    int inset = px(&g, 4) + L.stick_half_width + f.lw;
    L.x0 = f.left + inset;
    L.x1 = f.right - inset;
    L.plot_area = (npsw_box){f.left, f.top, f.right + 1, f.bottom + 1};
    if (g.rc == 0 && (half < 20 || L.x1 - L.x0 < 40))
        g.rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "the figure is too small for its text: make it larger");
    npsw_canvas *c = g.c;
    if (g.rc == 0) {
        /* frame */
        hline(c, f.left, f.right, f.top, f.lw, AXIS);
        hline(c, f.left, f.right, f.bottom, f.lw, AXIS);
        vline(c, f.left, f.top, f.bottom, f.lw, AXIS);
        vline(c, f.right, f.top, f.bottom, f.lw, AXIS);
        /* y ticks: 0 to 100 % each way, every 20 % */
        for (int i = 0; i <= 5; i++)
            for (int dir = -1; dir <= 1; dir += 2) {
                if (i == 0 && dir > 0) continue;
                int y = rnd(L.y_base + dir * (i / 5.0) * half);
                hline(c, f.left - f.ticklen, f.left, y, f.lw, AXIS);
                char t[8];
                snprintf(t, sizeof t, "%d", 20 * i);
                fig_text(&g, f.left - f.ticklen - px(&g, 2), y, PT_TICK, AXIS, NPSW_TEXT_RIGHT,
                         NPSW_TEXT_MIDDLE, 0, t);
            }
        /* x ticks */
        char t[32];
        snprintf(t, sizeof t, "%.0f", L.x_max);
        int minor, wlab = fig_width(&g, PT_TICK, t);
        double step = nice_step(L.x_max - L.x_min, (L.x1 - L.x0) / (3.0 * (wlab + px(&g, 6))),
                                integer_mz, &minor);
        int dec = tick_decimals(step);
        double mstep = step / minor;
        for (double k = ceil(L.x_min / mstep - 1e-9); k * mstep <= L.x_max + 1e-9 * mstep; k++) {
            double v = k * mstep;
            int x = map_x(&L, v), major = fabs(v / step - floor(v / step + 0.5)) < 1e-6;
            vline(c, x, f.bottom, f.bottom + (major ? f.ticklen : f.ticklen / 2), f.lw, AXIS);
            if (!major) continue;
            snprintf(t, sizeof t, "%.*f", dec, fabs(v) < 1e-12 ? 0.0 : v);
            fig_text(&g, x, f.ticklabel_y, PT_TICK, AXIS, NPSW_TEXT_CENTER, NPSW_TEXT_TOP, 0, t);
        }
        /* sticks and labels; the baseline last so that it stays visible */
        npsw_box *placed = calloc(2 * (size_t)o->n_labels + 1, sizeof *placed);
        uint32_t n_placed = 0;
        if (!placed)
            g.rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
        else if (draw_half(&g, &f, &L, query, &qi, -1, o->query_color, o->query_match,
                           o->n_labels, integer_mz, placed, &n_placed) == 0)
            draw_half(&g, &f, &L, lib, &li, +1, o->lib_color, o->lib_match, o->n_labels,
                      integer_mz, placed, &n_placed);
        free(placed);
        hline(c, f.left, f.right, L.y_base, f.lw, AXIS);
    }
    if (g.rc == 0) {
        /* legend at the right end of the subtitle line: which colour is which */
        const char *qlab = "query", *llab = "library (inverted)";
        int ls = fig_line(&g, PT_SUB, NULL), sq = px(&g, 6), gap = px(&g, 3);
        int ymid = f.sub_y + ls / 2, x = f.right + 1 - fig_width(&g, PT_SUB, llab);
        fig_text(&g, x, ymid, PT_SUB, INK, NPSW_TEXT_LEFT, NPSW_TEXT_MIDDLE, 0, llab);
        x -= gap + sq;
        npsw_canvas_rect(c, x, ymid - sq / 2, x + sq - 1, ymid - sq / 2 + sq - 1, o->lib_color);
        x -= 3 * gap + fig_width(&g, PT_SUB, qlab);
        fig_text(&g, x, ymid, PT_SUB, INK, NPSW_TEXT_LEFT, NPSW_TEXT_MIDDLE, 0, qlab);
        x -= gap + sq;
        npsw_canvas_rect(c, x, ymid - sq / 2, x + sq - 1, ymid - sq / 2 + sq - 1, o->query_color);
        int sub_room = x - 4 * gap - f.left;
        /* title, subtitle, footer, axis labels */
        const char *qn = o->query_name && *o->query_name ? o->query_name : "query";
        const char *hn = o->hit_name && *o->hit_name ? o->hit_name : "library spectrum";
        size_t tl = strlen(qn) + strlen(hn) + 8;
        char *title = malloc(tl), sub[1024] = "", foot[1024] = "";
        if (!title) {
            g.rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
        } else {
            snprintf(title, tl, "%s vs %s", qn, hn);
            size_t n = 0;
            if (o->mf >= 0) n += (size_t)snprintf(sub + n, sizeof sub - n, "MF %d", o->mf);
            if (o->rmf >= 0 && n < sizeof sub)
                n += (size_t)snprintf(sub + n, sizeof sub - n, "%sRMF %d", n ? "   " : "", o->rmf);
            if (o->delta_label && n < sizeof sub) {
                char d[32] = "0";
                if (o->delta != 0) snprintf(d, sizeof d, "%+.4g", o->delta);
                n += (size_t)snprintf(sub + n, sizeof sub - n, "%s%s %s", n ? "   " : "",
                                      o->delta_label, d);
            }
            if (o->subtitle_extra && *o->subtitle_extra && n < sizeof sub)
                snprintf(sub + n, sizeof sub - n, "%s%s", n ? "   " : "", o->subtitle_extra);
            n = 0;
            if (o->lib_name && *o->lib_name)
                n += (size_t)snprintf(foot, sizeof foot, "Library: %s", o->lib_name);
            if (o->lib_version && *o->lib_version && n < sizeof foot)
                n += (size_t)snprintf(foot + n, sizeof foot - n, "%sversion %s",
                                      n ? ", " : "Library ", o->lib_version);
            if (o->lib_sha256 && *o->lib_sha256 && n < sizeof foot)
                snprintf(foot + n, sizeof foot - n, "%sSHA-256 %.16s%s", n ? ", " : "Library ",
                         o->lib_sha256, strlen(o->lib_sha256) > 16 ? "\xe2\x80\xa6" : "");
            frame_texts(&g, &f, o->title ? o->title : title, o->subtitle ? o->subtitle : sub,
                        sub_room, foot, o->footer_extra,
                        o->note ? o->note : "library search result, not an identification",
                        "Relative intensity (%)", "m/z", &L.title);
            free(title);
        }
    }
    npsw_canvas *out = fig_finish(&g);
    if (out && layout) *layout = L;
    return out;
}

/* Write a figure made by one of the *_canvas functions below to a PNG file and free it; a NULL
 * figure is the failure its function set in err. */
static int write_figure(npsw_canvas *c, const npsw_png_text *text, size_t n_text,
                        const char *path, npsw_err *err)
{
    if (!c) return err->code < 0 ? err->code : NPSW_EINVAL;
    int rc = npsw_canvas_write_png(c, text, n_text, path, err);
    npsw_canvas_free(c);
    return rc;
}

int npsw_plot_mirror(const npsw_peaks *query, const npsw_peaks *lib, const npsw_mirror_opts *o,
                     const npsw_png_text *text, size_t n_text, const char *path,
                     npsw_plot_layout *layout, npsw_err *err)
{
    npsw_err local;
    if (!err) err = &local;
    npsw_err_clear(err);
    npsw_canvas *c = npsw_plot_mirror_canvas(query, lib, o, layout, err);
    return write_figure(c, text, n_text, path, err);
}

/* ---- timeline --------------------------------------------------------------------------- */

npsw_timeline_opts npsw_timeline_opts_default(void)
{
    npsw_timeline_opts o;
    memset(&o, 0, sizeof o);
    o.width_in = 7;
    o.height_in = 3.5;
    o.dpi = 300;
    o.bar_color = (npsw_rgb){31, 119, 180};
    return o;
}

#define MAX_ABS_TIME 253402300799LL /* 9999-12-31T23:59:59Z */

int npsw_timeline_opts_check(const npsw_timeline_opts *o, npsw_err *err)
{
    int rc = check_size(o->width_in, o->height_in, o->dpi, err);
    if (rc < 0) return rc;
    if (o->bin != NPSW_BIN_AUTO && o->bin != NPSW_BIN_DAY && o->bin != NPSW_BIN_WEEK)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "unknown time binning %d", (int)o->bin);
    if ((o->t_from || o->t_to) &&
        (o->t_from > o->t_to || o->t_from < -MAX_ABS_TIME || o->t_to > MAX_ABS_TIME))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "time range %lld to %lld: expected from <= to, within years 1 to 9999",
                            (long long)o->t_from, (long long)o->t_to);
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* Days since 1970-01-01 to the civil date (H. Hinnant's algorithm, proleptic Gregorian). */
static void civil_from_days(int64_t z, char out[32])
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, 32, "%04d-%02d-%02d", (int)(y + (m <= 2)), (int)m, (int)d);
}

/* Monday of the ISO week of a day (1970-01-01 was a Thursday). */
static int64_t week_start(int64_t day) { return day - (int64_t)((day % 7 + 7 + 3) % 7); }

npsw_canvas *npsw_plot_timeline_canvas(const npsw_time_count *pts, size_t n,
                                       const npsw_timeline_opts *o, npsw_plot_layout *layout,
                                       npsw_err *err)
{
    npsw_timeline_opts def = npsw_timeline_opts_default();
    if (!o) o = &def;
    if (npsw_timeline_opts_check(o, err) < 0) return NULL;
    if (!pts || n == 0) {
        npsw_err_set(err, NPSW_EEMPTY, NULL, 0, "no detections to plot");
        return NULL;
    }
    uint64_t total = 0;
    int64_t dmin = INT64_MAX, dmax = INT64_MIN, first = INT64_MAX, last = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].t < -MAX_ABS_TIME || pts[i].t > MAX_ABS_TIME) {
            npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                         "detection %zu: time %lld is outside the years 1 to 9999", i + 1,
                         (long long)pts[i].t);
            return NULL;
        }
        int64_t d = floor_div(pts[i].t, 86400);
        if (d < dmin) dmin = d;
        if (d > dmax) dmax = d;
        if (pts[i].count) {
            if (d < first) first = d;
            if (d > last) last = d;
        }
        total += pts[i].count;
    }
    if (total == 0) {
        npsw_err_set(err, NPSW_EEMPTY, NULL, 0, "no detections to plot (every count is 0)");
        return NULL;
    }
    if (o->t_from || o->t_to) {
        dmin = floor_div(o->t_from, 86400) < dmin ? floor_div(o->t_from, 86400) : dmin;
        dmax = floor_div(o->t_to, 86400) > dmax ? floor_div(o->t_to, 86400) : dmax;
    }
    int bd = o->bin == NPSW_BIN_DAY    ? 1
             : o->bin == NPSW_BIN_WEEK ? 7
             : dmax - dmin + 1 <= 92   ? 1
                                       : 7;
    int64_t start = bd == 7 ? week_start(dmin) : dmin;
    int64_t end = bd == 7 ? week_start(dmax) + 7 : dmax + 1;
    int64_t nb = (end - start) / bd;
    if (nb > NPSW_TIMELINE_MAX_BINS) {
        npsw_err_set(err, NPSW_ELIMIT, NULL, 0,
                     "%lld %s from %lld days exceed the limit of %d bars: use weekly bins or a "
                     "shorter period",
                     (long long)nb, bd == 7 ? "weeks" : "days", (long long)(dmax - dmin + 1),
                     NPSW_TIMELINE_MAX_BINS);
        return NULL;
    }
    uint64_t *cnt = calloc((size_t)nb, sizeof *cnt), maxc = 0;
    if (!cnt) {
        npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t b = (floor_div(pts[i].t, 86400) - start) / bd;
        cnt[b] += pts[i].count;
        if (cnt[b] > maxc) maxc = cnt[b];
    }
    /* y axis: whole-number steps, at most 5 of them */
    double ystep = nice_step((double)maxc, 5, 1, NULL);
    double ymax = ystep * ceil((double)maxc / ystep - 1e-9);
    if (ymax < (double)maxc) ymax += ystep;

    npsw_plot_layout L;
    memset(&L, 0, sizeof L);
    fig g;
    frame f;
    if (fig_start(&g, o->width_in, o->height_in, o->dpi, o->font_path, &f, err) < 0) {
        free(cnt);
        return NULL;
    }
    char t[64];
    snprintf(t, sizeof t, "%.0f", ymax);
    frame_layout(&g, &f, t);
    int label_h = fig_line(&g, PT_LABEL, NULL);
    L.width = (uint32_t)f.W;
    L.height = (uint32_t)f.H;
    L.y_top = f.top + label_h + px(&g, 3);
    L.y_base = L.y_bottom = f.bottom;
    L.y_max = ymax;
    L.x0 = f.left + px(&g, 3);
    L.x1 = f.right - px(&g, 3);
    L.x_min = (double)start;
    L.x_max = (double)end;
    L.bin_days = bd;
    L.n_bins = (uint32_t)nb;
    L.plot_area = (npsw_box){f.left, f.top, f.right + 1, f.bottom + 1};
    if (g.rc == 0 && (L.y_base - L.y_top < 20 || L.x1 - L.x0 < 40))
        g.rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "the figure is too small for its text: make it larger");
    npsw_canvas *c = g.c;
    if (g.rc == 0) {
        int full = L.y_base - L.y_top;
        /* y grid, ticks and labels */
        for (double v = 0; v <= ymax + 1e-9; v += ystep) {
            int y = rnd(L.y_base - v / ymax * full);
            if (v > 0) hline(c, f.left + 1, f.right, y, f.lw > 1 ? f.lw / 2 : 1, GRID);
            hline(c, f.left - f.ticklen, f.left, y, f.lw, AXIS);
            snprintf(t, sizeof t, "%.0f", v);
            fig_text(&g, f.left - f.ticklen - px(&g, 2), y, PT_TICK, AXIS, NPSW_TEXT_RIGHT,
                     NPSW_TEXT_MIDDLE, 0, t);
        }
        /* bars, with their counts above them when there is room */
        double binpx = (double)(L.x1 - L.x0) / (double)nb;
        int show_counts = nb <= 62;
        for (int64_t i = 0; i < nb && g.rc == 0; i++) {
            double l = L.x0 + (double)i * binpx, r = l + binpx;
            int bl = rnd(l + 0.1 * binpx), br = rnd(r - 0.1 * binpx) - 1;
            if (br < bl) br = bl;
            if (!cnt[i]) continue;
            int top = rnd(L.y_base - (double)cnt[i] / ymax * full);
            if (top <= L.y_base - 1) npsw_canvas_rect(c, bl, top, br, L.y_base - 1, o->bar_color);
            snprintf(t, sizeof t, "%llu", (unsigned long long)cnt[i]);
            if (show_counts && fig_width(&g, PT_LABEL, t) + px(&g, 1) <= binpx)
                fig_text(&g, (l + r) / 2, top - px(&g, 1), PT_LABEL, INK, NPSW_TEXT_CENTER,
                         NPSW_TEXT_BOTTOM, 0, t);
        }
        /* axes */
        vline(c, f.left, f.top, f.bottom + f.lw / 2, f.lw, AXIS);
        hline(c, f.left, f.right, f.bottom + f.lw / 2, f.lw, AXIS);
        /* date labels: every k-th bin, k from a calendar-like series */
        static const int kd[] = {1, 2, 7, 14, 28, 56, 91, 182, 364, 728};
        static const int kw[] = {1, 2, 4, 8, 13, 26, 52, 104, 208};
        int wlab = fig_width(&g, PT_TICK, "0000-00-00") + px(&g, 6), k = 0;
        double need = wlab / binpx;
        const int *ks = bd == 1 ? kd : kw;
        size_t nk = bd == 1 ? sizeof kd / sizeof *kd : sizeof kw / sizeof *kw;
        for (size_t i = 0; i < nk && !k; i++)
            if (ks[i] >= need) k = ks[i];
        if (!k) k = (int)ceil(need);
        for (int64_t i = 0; i < nb; i += k) {
            int x = rnd(L.x0 + ((double)i + 0.5) * binpx);
            vline(c, x, f.bottom, f.bottom + f.ticklen, f.lw, AXIS);
            civil_from_days(start + i * bd, t);
            int w = fig_width(&g, PT_TICK, t);
            double lx = x - w / 2.0;
            if (lx + w > f.W - f.margin) lx = f.W - f.margin - w;
            fig_text(&g, lx, f.ticklabel_y, PT_TICK, AXIS, NPSW_TEXT_LEFT, NPSW_TEXT_TOP, 0, t);
        }
        /* texts */
        char sub[256], d0[32], d1[32];
        civil_from_days(first, d0);
        civil_from_days(last, d1);
        snprintf(sub, sizeof sub, "%llu detection%s, first %s, last %s; bars per %s",
                 (unsigned long long)total, total == 1 ? "" : "s", d0, d1,
                 bd == 1 ? "day (UTC)" : "ISO week (UTC, Monday to Sunday)");
        frame_texts(&g, &f, o->title ? o->title : "Detections over time",
                    o->subtitle ? o->subtitle : sub, f.right - f.left, o->footer,
                    NULL, o->note ? o->note : "library search results, not identifications",
                    o->y_label ? o->y_label : "detections",
                    bd == 1 ? "day (UTC)" : "week starting (Monday, UTC)", &L.title);
    }
    free(cnt);
    npsw_canvas *out = fig_finish(&g);
    if (out && layout) *layout = L;
    return out;
}

int npsw_plot_timeline(const npsw_time_count *pts, size_t n, const npsw_timeline_opts *o,
                       const npsw_png_text *text, size_t n_text, const char *path,
                       npsw_plot_layout *layout, npsw_err *err)
{
    npsw_err local;
    if (!err) err = &local;
    npsw_err_clear(err);
    npsw_canvas *c = npsw_plot_timeline_canvas(pts, n, o, layout, err);
    return write_figure(c, text, n_text, path, err);
}

/* ---- line chart ------------------------------------------------------------------------- */

static const npsw_rgb PALETTE[] = {{31, 119, 180}, {214, 39, 40},  {44, 160, 44},
                                   {255, 127, 14}, {148, 103, 189}, {140, 86, 75},
                                   {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                   {23, 190, 207}};
#define N_PALETTE (sizeof PALETTE / sizeof PALETTE[0])

npsw_lines_opts npsw_lines_opts_default(void)
{
    npsw_lines_opts o;
    memset(&o, 0, sizeof o);
    o.width_in = 6;
    o.height_in = 4;
    o.dpi = 150;
    return o;
}

/* Axis range from data: rounded outwards to a nice step. */
static void nice_range(double lo, double hi, double *a, double *b, double *step)
{
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= d;
        hi += d;
    }
    double st = nice_step(hi - lo, 5, 0, NULL);
    *a = st * floor(lo / st + 1e-9);
    *b = st * ceil(hi / st - 1e-9);
    if (*b <= *a) *b = *a + st;
    *step = st;
}

static void fmt_tick(char *t, size_t n, double v, double step)
{
    if (fabs(v) < step * 1e-9) v = 0;
    double a = fabs(v);
    if (a >= 1e6 || (a > 0 && a < 1e-4)) snprintf(t, n, "%.3g", v);
    else snprintf(t, n, "%.*f", tick_decimals(step), v);
}

npsw_canvas *npsw_plot_lines_canvas(const npsw_series *s, size_t ns, const npsw_lines_opts *o,
                                    npsw_plot_layout *layout, npsw_err *err)
{
    npsw_lines_opts def = npsw_lines_opts_default();
    if (!o) o = &def;
    if (check_size(o->width_in, o->height_in, o->dpi, err) < 0) return NULL;
    if (ns > NPSW_LINES_MAX_SERIES) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0, "%zu series: at most %d fit a line chart", ns,
                     NPSW_LINES_MAX_SERIES);
        return NULL;
    }
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    size_t npts = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < s[i].n; j++) {
            double x = s[i].x[j], y = s[i].y[j];
            if (!isfinite(x) || !isfinite(y) || (o->x_log && !(x > 0))) {
                npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                             "series %zu, point %zu: (%g, %g) cannot be drawn%s", i + 1, j + 1, x,
                             y, o->x_log ? " (a log axis needs x > 0)" : "");
                return NULL;
            }
            if (o->x_log) x = log10(x);
            xlo = fmin(xlo, x);
            xhi = fmax(xhi, x);
            ylo = fmin(ylo, y);
            yhi = fmax(yhi, y);
            npts++;
        }
    if (!npts) {
        npsw_err_set(err, NPSW_EEMPTY, NULL, 0, "no point to draw");
        return NULL;
    }
    double xa, xb, xs, ya, yb, ys;
    if (o->x_min != 0 || o->x_max != 0) {
        xa = o->x_log ? log10(o->x_min) : o->x_min;
        xb = o->x_log ? log10(o->x_max) : o->x_max;
        if (!(xb > xa) || !isfinite(xa) || !isfinite(xb)) {
            npsw_err_set(err, NPSW_EINVAL, NULL, 0, "x axis range [%g, %g] is empty", o->x_min,
                         o->x_max);
            return NULL;
        }
        xs = nice_step(xb - xa, 5, 0, NULL);
    } else if (o->x_log) {
        xa = floor(xlo);
        xb = ceil(xhi);
        if (xb <= xa) xb = xa + 1;
        xs = 1;
    } else {
        nice_range(xlo, xhi, &xa, &xb, &xs);
    }
    if (o->y_min != 0 || o->y_max != 0) {
        ya = o->y_min;
        yb = o->y_max;
        if (!(yb > ya) || !isfinite(ya) || !isfinite(yb)) {
            npsw_err_set(err, NPSW_EINVAL, NULL, 0, "y axis range [%g, %g] is empty", ya, yb);
            return NULL;
        }
        ys = nice_step(yb - ya, 5, 0, NULL);
    } else {
        double lo = ylo < 0 ? ylo : 0;
        nice_range(lo, yhi + (yhi - lo) * 0.04, &ya, &yb, &ys);
    }

    npsw_plot_layout L;
    memset(&L, 0, sizeof L);
    fig g;
    frame f;
    if (fig_start(&g, o->width_in, o->height_in, o->dpi, o->font_path, &f, err) < 0) return NULL;
    char t[64], widest[64] = "0";
    for (double v = ya; v <= yb + ys * 1e-6; v += ys) {
        fmt_tick(t, sizeof t, v, ys);
        if (strlen(t) > strlen(widest)) snprintf(widest, sizeof widest, "%s", t);
    }
    frame_layout(&g, &f, widest);
    /* the legend goes right of the plot area, so that it never hides data */
    int lh = fig_line(&g, PT_LABEL, NULL), wmax = 0, nn = 0;
    int sw = px(&g, 12), pad = px(&g, 3);
    for (size_t i = 0; i < ns; i++)
        if (s[i].name && *s[i].name) {
            int w = fig_width(&g, PT_LABEL, s[i].name);
            if (w > wmax) wmax = w;
            nn++;
        }
    if (wmax > f.W / 3) wmax = f.W / 3;
    if (nn) f.right -= wmax + sw + 4 * pad;
    L.width = (uint32_t)f.W;
    L.height = (uint32_t)f.H;
    L.y_top = f.top + px(&g, 3);
    L.y_base = L.y_bottom = f.bottom - px(&g, 3);
    L.y_min = ya;
    L.y_max = yb;
    L.x0 = f.left + px(&g, 3);
    L.x1 = f.right - px(&g, 3);
    L.x_min = xa;
    L.x_max = xb;
    L.x_log = o->x_log != 0;
    L.plot_area = (npsw_box){f.left, f.top, f.right + 1, f.bottom + 1};
    if (g.rc == 0 && (L.y_base - L.y_top < 20 || L.x1 - L.x0 < 40))
        g.rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "the figure is too small for its text: make it larger");
    npsw_canvas *c = g.c;
    if (g.rc == 0) {
        double hy = (double)(L.y_base - L.y_top) / (yb - ya);
        double hx = (double)(L.x1 - L.x0) / (xb - xa);
#define MAPX(v) (L.x0 + ((o->x_log ? log10(v) : (v)) - xa) * hx)
#define MAPY(v) (L.y_base - ((v) - ya) * hy)
        int gl = f.lw > 1 ? f.lw / 2 : 1;
        for (double v = ya; v <= yb + ys * 1e-6; v += ys) {
            int y = rnd(L.y_base - (v - ya) * hy);
            hline(c, f.left + 1, f.right, y, gl, GRID);
            hline(c, f.left - f.ticklen, f.left, y, f.lw, AXIS);
            fmt_tick(t, sizeof t, v, ys);
            fig_text(&g, f.left - f.ticklen - px(&g, 2), y, PT_TICK, AXIS, NPSW_TEXT_RIGHT,
                     NPSW_TEXT_MIDDLE, 0, t);
        }
        for (double v = xa; v <= xb + xs * 1e-6; v += xs) {
            int x = rnd(L.x0 + (v - xa) * hx);
            vline(c, x, f.top, f.bottom, gl, GRID);
            vline(c, x, f.bottom, f.bottom + f.ticklen, f.lw, AXIS);
            if (o->x_log) {
                double p = pow(10, v);
                if (p >= 1e6 || p < 1e-3) snprintf(t, sizeof t, "1e%.0f", v);
                else snprintf(t, sizeof t, "%.*f", v < 0 ? (int)-v : 0, p);
            } else {
                fmt_tick(t, sizeof t, v, xs);
            }
            fig_text(&g, x, f.ticklabel_y, PT_TICK, AXIS, NPSW_TEXT_CENTER, NPSW_TEXT_TOP, 0, t);
        }
        if (o->diagonal) {
            double lo = fmax(xa, ya), hi = fmin(xb, yb);
            if (hi > lo && !o->x_log)
                for (double d = lo; d < hi; d += (hi - lo) / 40) /* dashed */
                    npsw_canvas_line(c, MAPX(d), MAPY(d), MAPX(d + (hi - lo) / 80),
                                     MAPY(d + (hi - lo) / 80), px(&g, 0.6), PALETTE[7]);
        }
        double lw = px(&g, 1.1) > 1 ? px(&g, 1.1) : 1;
        int mk = px(&g, 1.6) > 1 ? px(&g, 1.6) : 1;
        for (size_t i = 0; i < ns; i++) {
            npsw_rgb k = PALETTE[i % N_PALETTE];
            for (size_t j = 0; j + 1 < s[i].n; j++) {
                double x0 = MAPX(s[i].x[j]), y0 = MAPY(s[i].y[j]);
                double x1 = MAPX(s[i].x[j + 1]), y1 = MAPY(s[i].y[j + 1]);
                if (!s[i].dashed) {
                    npsw_canvas_line(c, x0, y0, x1, y1, lw, k);
                    continue;
                }
                double len = hypot(x1 - x0, y1 - y0), dash = px(&g, 3);
                for (double a = 0; a < len; a += 2 * dash) {
                    double b = fmin(a + dash, len);
                    npsw_canvas_line(c, x0 + (x1 - x0) * a / len, y0 + (y1 - y0) * a / len,
                                     x0 + (x1 - x0) * b / len, y0 + (y1 - y0) * b / len, lw, k);
                }
            }
            if (s[i].markers)
                for (size_t j = 0; j < s[i].n; j++) {
                    int x = rnd(MAPX(s[i].x[j])), y = rnd(MAPY(s[i].y[j]));
                    npsw_canvas_rect(c, x - mk, y - mk, x + mk, y + mk, k);
                }
        }
#undef MAPX
#undef MAPY
        /* frame */
        vline(c, f.left, f.top, f.bottom + f.lw / 2, f.lw, AXIS);
        hline(c, f.left, f.right, f.bottom + f.lw / 2, f.lw, AXIS);
        /* legend: right of the plot area, one line per named series */
        if (nn && g.rc == 0) {
            int bx0 = f.right + 2 * pad, by0 = f.top;
            int row = 0;
            for (size_t i = 0; i < ns; i++) {
                if (!s[i].name || !*s[i].name) continue;
                int y = by0 + pad + row * lh + lh / 2;
                npsw_canvas_line(c, bx0, y, bx0 + sw, y, lw, PALETTE[i % N_PALETTE]);
                char buf[256];
                fit_text(&g, PT_LABEL, s[i].name, wmax, buf, sizeof buf);
                fig_text(&g, bx0 + pad + sw, y, PT_LABEL, INK, NPSW_TEXT_LEFT, NPSW_TEXT_MIDDLE,
                         0, buf);
                row++;
            }
        }
        frame_texts(&g, &f, o->title ? o->title : "", o->subtitle, f.right - f.left, o->footer,
                    NULL, o->note ? o->note : "library search results, not identifications",
                    o->y_label ? o->y_label : "", o->x_label ? o->x_label : "", &L.title);
    }
    npsw_canvas *out = fig_finish(&g);
    if (out && layout) *layout = L;
    return out;
}

int npsw_plot_lines(const npsw_series *s, size_t ns, const npsw_lines_opts *o,
                    const npsw_png_text *text, size_t n_text, const char *path,
                    npsw_plot_layout *layout, npsw_err *err)
{
    npsw_err local;
    if (!err) err = &local;
    npsw_err_clear(err);
    npsw_canvas *c = npsw_plot_lines_canvas(s, ns, o, layout, err);
    return write_figure(c, text, n_text, path, err);
}
