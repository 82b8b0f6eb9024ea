/* npsw/plot.h - figures for hit reviews and advisories: mirror plots and detection timelines
 * written as PNG files (libpng), with text drawn by FreeType from a TrueType font.
 *
 *     npsw_mirror_opts o = npsw_mirror_opts_default();
 *     o.query_name = "unknown 7"; o.hit_name = "Methcathinone"; o.mf = 912; o.rmf = 934;
 *     o.lib_name = info->name; o.lib_version = info->version; o.lib_sha256 = info->content_sha256;
 *     npsw_png_text prov[] = {{"Software", "npswatch 0.1.0"}, {"Creation Time", utc}};
 *     rc = npsw_plot_mirror(&query_peaks, &hit_peaks, &o, prov, 2, "hit.png", NULL, &err);
 *
 * Conventions (docs/figures.md): 8-bit RGB, the resolution in a pHYs chunk (300 dpi by default =
 * 11811 pixels per metre), the caller's provenance key/value pairs as tEXt chunks (iTXt, UTF-8,
 * for a value that is not plain ASCII), no tIME chunk, so the same input gives the same bytes
 * (a time belongs in the caller's provenance; honour SOURCE_DATE_EPOCH there). Files are written
 * atomically: PATH.tmp.PID.N, fsync, rename; an existing device or FIFO is written in place
 * (never renamed over), a symbolic link is followed and its target replaced, a directory is an
 * error. A failed write leaves no file behind and the previous one intact.
 *
 * Font: a NULL font path means $NPSW_FONT when set, else the path compiled in as
 * NPSW_DEFAULT_FONT (DejaVu Sans, Debian package fonts-dejavu-core). A missing font is an error
 * that says so. An npsw_font and an npsw_canvas are not thread-safe; use one per thread.
 *
 * Pixel coordinates: x to the right, y down; pixel (x, y) covers [x, x+1) x [y, y+1).
 */
#ifndef NPSW_PLOT_H
#define NPSW_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"
#include "npsw/score.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npsw_rgb {
    uint8_t r, g, b;
} npsw_rgb;

/* ---- fonts ------------------------------------------------------------------------------ */

typedef struct npsw_font npsw_font;

/* The font file used for `path`: path itself when not NULL or empty, else $NPSW_FONT when set
 * and not empty, else the compiled-in default. Never NULL. */
const char *npsw_font_path(const char *path);
/* Open a TrueType/OpenType font (path as for npsw_font_path). NULL and err filled when the file
 * is missing (NPSW_EIO, saying how to install or choose one) or unreadable (NPSW_EFORMAT). */
npsw_font *npsw_font_open(const char *path, npsw_err *err);
void npsw_font_free(npsw_font *f);

/* ---- canvas ----------------------------------------------------------------------------- */

typedef struct npsw_canvas npsw_canvas;

/* A width x height RGB raster filled with `background`; dpi goes into the PNG's pHYs chunk.
 * Sizes from 1 to 20000 pixels, dpi from 1 to 10000. NULL and err filled otherwise. */
npsw_canvas *npsw_canvas_new(uint32_t width, uint32_t height, unsigned dpi, npsw_rgb background,
                             npsw_err *err);
void npsw_canvas_free(npsw_canvas *c);
uint32_t npsw_canvas_width(const npsw_canvas *c);
uint32_t npsw_canvas_height(const npsw_canvas *c);
unsigned npsw_canvas_dpi(const npsw_canvas *c);
/* The colour of pixel (x, y); black outside the canvas. */
npsw_rgb npsw_canvas_get(const npsw_canvas *c, int x, int y);

/* Fill the pixels [x0, x1] x [y0, y1] (inclusive, corners in any order, clipped). */
void npsw_canvas_rect(npsw_canvas *c, int x0, int y0, int x1, int y1, npsw_rgb color);
/* An anti-aliased line of the given width (pixels) between two points (pixel-centre
 * coordinates: the centre of pixel (x, y) is (x + 0.5, y + 0.5)), with square-cut ends. */
void npsw_canvas_line(npsw_canvas *c, double x0, double y0, double x1, double y1, double width,
                      npsw_rgb color);

typedef enum npsw_text_halign { NPSW_TEXT_LEFT = 0, NPSW_TEXT_CENTER, NPSW_TEXT_RIGHT } npsw_text_halign;
typedef enum npsw_text_valign {
    NPSW_TEXT_TOP = 0, /* the top of the line box (the font's ascender) at the anchor */
    NPSW_TEXT_MIDDLE,  /* the middle of the line box */
    NPSW_TEXT_BASELINE,
    NPSW_TEXT_BOTTOM   /* the bottom of the line box (the font's descender) */
} npsw_text_valign;

typedef struct npsw_text_style {
    double size_px;          /* em size in pixels (points x dpi / 72) */
    npsw_rgb color;
    npsw_text_halign halign; /* where the anchor is along the text */
    npsw_text_valign valign; /* where the anchor is across it */
    int vertical;            /* 1: rotated 90 degrees counter-clockwise (reads upwards, as a
                                y-axis label); the alignments apply in the text's own frame */
} npsw_text_style;

/* A pixel box [x0, x1) x [y0, y1). */
typedef struct npsw_box {
    int x0, y0, x1, y1;
} npsw_box;

/* Width (the advance, pixels), ascent and descent (the font's line box above and below the
 * baseline, pixels, both >= 0) of a UTF-8 string. Returns 0 or an error. */
int npsw_text_measure(npsw_font *f, double size_px, const char *utf8, int *width, int *ascent,
                      int *descent, npsw_err *err) NPSW_WUR;
/* Draw a UTF-8 string (grey-level anti-aliasing) anchored at (x, y). Control characters are
 * drawn as spaces, invalid UTF-8 as U+FFFD. `box` (may be NULL) receives the line box drawn.
 * Returns 0 or an error (NPSW_ENOMEM). */
int npsw_canvas_text(npsw_canvas *c, npsw_font *f, double x, double y, const npsw_text_style *st,
                     const char *utf8, npsw_box *box, npsw_err *err) NPSW_WUR;

/* ---- PNG -------------------------------------------------------------------------------- */

/* One provenance entry. Keys: 1-79 printable ASCII characters without leading, trailing or
 * double spaces (PNG rules); values: UTF-8 (control characters other than '\n' become spaces). */
typedef struct npsw_png_text {
    const char *key;
    const char *value;
} npsw_png_text;

/* Encode as PNG in memory (*png malloc'ed, free() it). Returns 0 or an error. */
int npsw_canvas_encode_png(const npsw_canvas *c, const npsw_png_text *text, size_t n_text,
                           unsigned char **png, size_t *len, npsw_err *err) NPSW_WUR;
/* Encode and write atomically to `path` (see the top of this file). */
int npsw_canvas_write_png(const npsw_canvas *c, const npsw_png_text *text, size_t n_text,
                          const char *path, npsw_err *err) NPSW_WUR;

/* ---- figures ---------------------------------------------------------------------------- */

/* Where a figure put its data, so that callers and tests can find it. A data value v on the x
 * axis is at the pixel column floor(x0 + (v - x_min) * (x1 - x0) / (x_max - x_min) + 0.5). A
 * value with the fraction f (0..1) of the full scale is at the row
 * floor(y_base - f * (y_base - y_top) + 0.5) above the baseline (query sticks, bars) and
 * floor(y_base + f * (y_bottom - y_base) + 0.5) below it (library sticks); a stick or bar
 * covers the rows from there to the baseline row, excluded. */
typedef struct npsw_plot_layout {
    uint32_t width, height; /* pixels */
    int x0, x1;             /* pixel columns of x_min and x_max */
    double x_min, x_max;    /* mirror: m/z; timeline: days since 1970-01-01 (bin edges) */
    int y_top;              /* row of the full scale above the baseline (100 %, or y_max) */
    int y_base;             /* row of the baseline (0) */
    int y_bottom;           /* mirror: row of 100 % below the baseline; timeline: = y_base */
    double y_max;           /* mirror: 100 (per cent of each base peak); timeline: count at y_top */
    int stick_half_width;   /* mirror: a stick covers columns x - this .. x + this */
    npsw_box plot_area;     /* the frame around the data */
    npsw_box title;         /* the title's line box */
    uint32_t n_labels[2];   /* mirror: peak labels drawn for the query and the library spectrum */
    int bin_days;           /* timeline: 1 (days) or 7 (ISO weeks, Monday to Sunday) */
    uint32_t n_bins;        /* timeline: bars (bins, empty ones included) */
    double y_min;           /* line chart: value at y_base (others: 0) */
    int x_log;              /* line chart: 1 when x_min/x_max are log10 of the data values */
} npsw_plot_layout;

/* Mirror plot: the query spectrum up, a library spectrum down (inverted), each scaled to its
 * own base peak (100 %), on a shared m/z axis. Title "QUERY vs HIT", a subtitle with the scores,
 * a legend, the top peaks of each labelled with their m/z, a footer with the library and the
 * note. Strings are UTF-8; a string too long for its place is shortened with "...". */
typedef struct npsw_mirror_opts {
    const char *query_name;   /* default "query" */
    const char *hit_name;     /* default "library spectrum" */
    const char *title;        /* NULL (default): "QUERY_NAME vs HIT_NAME" */
    const char *subtitle;     /* NULL (default): built from mf, rmf, delta and subtitle_extra */
    int mf, rmf;              /* 0..999 (npsw_mf_display); -1 (default): not shown */
    const char *delta_label;  /* e.g. "\xce\x94m/z" or "\xce\x94MW"; NULL (default): no difference */
    double delta;             /* shown after delta_label as %+.4g (0 as "0") */
    const char *subtitle_extra; /* appended to the built subtitle, e.g. "hit 1 of 5"; may be NULL */
    const char *lib_name, *lib_version, *lib_sha256; /* footer (first 16 hex digits); may be NULL */
    const char *footer_extra; /* right end of the footer, e.g. "npswatch 0.1.0, UTC time" */
    const char *note;         /* default "library search result, not an identification" */
    uint32_t n_labels;        /* peaks labelled per spectrum, largest first; default 8, <= 50 */
    double mz_min, mz_max;    /* m/z axis; both 0 (default): from the peaks, rounded outwards */
    double width_in, height_in; /* default 7 x 4.5 inches */
    unsigned dpi;             /* default 300 */
    npsw_rgb query_color;     /* default (31, 119, 180), blue */
    npsw_rgb lib_color;       /* default (214, 39, 40), red */
    /* the match of the two spectra, as npsw_match_peaks gives it (per peak, in the order of the
     * peaks given: the matched peak of the other spectrum, or -1): unmatched peaks are then drawn
     * in a light tint of their colour. NULL (default): all in full colour */
    const int32_t *query_match, *lib_match;
    const char *font_path;    /* NULL: npsw_font_path(NULL) */
} npsw_mirror_opts;

npsw_mirror_opts npsw_mirror_opts_default(void);
int npsw_mirror_opts_check(const npsw_mirror_opts *o, npsw_err *err) NPSW_WUR;

/* Draw the mirror plot on a new canvas (free it with npsw_canvas_free). Peaks need not be
 * sorted; m/z must be finite and > 0, intensities finite and >= 0 (peaks of intensity 0 are not
 * drawn). A spectrum without a peak above 0 is NPSW_EEMPTY. layout may be NULL. */
npsw_canvas *npsw_plot_mirror_canvas(const npsw_peaks *query, const npsw_peaks *lib,
                                     const npsw_mirror_opts *o, npsw_plot_layout *layout,
                                     npsw_err *err);
/* The same, written as a PNG file with the provenance entries `text`. Returns 0 or an error. */
int npsw_plot_mirror(const npsw_peaks *query, const npsw_peaks *lib, const npsw_mirror_opts *o,
                     const npsw_png_text *text, size_t n_text, const char *path,
                     npsw_plot_layout *layout, npsw_err *err) NPSW_WUR;

/* Timeline: detections per day or per ISO week (UTC) as bars, empty bins included. */
typedef struct npsw_time_count {
    int64_t t;      /* Unix time (seconds, UTC) of the detection(s) */
    uint32_t count; /* detections at that time: 1 for one event, or a day's total */
} npsw_time_count;

typedef enum npsw_time_bin { NPSW_BIN_AUTO = 0, NPSW_BIN_DAY, NPSW_BIN_WEEK } npsw_time_bin;

typedef struct npsw_timeline_opts {
    const char *title;        /* default "Detections over time" */
    const char *subtitle;     /* NULL (default): total, first and last day, binning; "" = none */
    const char *y_label;      /* default "detections" */
    const char *footer;       /* left end of the footer, e.g. the signal and npswatch version */
    const char *note;         /* default "library search results, not identifications" */
    npsw_time_bin bin;        /* AUTO (default): days up to 92 days, else ISO weeks */
    int64_t t_from, t_to;     /* both 0 (default): the data's range; else the axis covers these
                                 times too (t_from <= t_to) */
    double width_in, height_in; /* default 7 x 3.5 inches */
    unsigned dpi;             /* default 300 */
    npsw_rgb bar_color;       /* default (31, 119, 180) */
    const char *font_path;    /* NULL: npsw_font_path(NULL) */
} npsw_timeline_opts;

#define NPSW_TIMELINE_MAX_BINS 2000

npsw_timeline_opts npsw_timeline_opts_default(void);
int npsw_timeline_opts_check(const npsw_timeline_opts *o, npsw_err *err) NPSW_WUR;

/* NPSW_EEMPTY when there is no point or every count is 0; NPSW_ELIMIT beyond
 * NPSW_TIMELINE_MAX_BINS bins. layout may be NULL. */
npsw_canvas *npsw_plot_timeline_canvas(const npsw_time_count *pts, size_t n,
                                       const npsw_timeline_opts *o, npsw_plot_layout *layout,
                                       npsw_err *err);
int npsw_plot_timeline(const npsw_time_count *pts, size_t n, const npsw_timeline_opts *o,
                       const npsw_png_text *text, size_t n_text, const char *path,
                       npsw_plot_layout *layout, npsw_err *err) NPSW_WUR;

/* Line chart: several named series of (x, y) points joined by lines, with a legend; used by
 * `npswatch bench` for recall@k, ROC and precision-recall curves, score distributions and
 * throughput. A value v is at the column floor(x0 + (X(v) - x_min) * (x1 - x0) / (x_max - x_min)
 * + 0.5), X(v) = log10(v) when x_log, else v, and at the row
 * floor(y_base - (v - y_min) * (y_base - y_top) / (y_max - y_min) + 0.5). */
typedef struct npsw_series {
    const char *name;    /* legend entry (UTF-8); NULL or "" = not in the legend */
    const double *x, *y; /* n points each, finite (x > 0 with x_log); drawn in the given order */
    size_t n;
    int markers;         /* 1: a square marker at every point */
    int dashed;          /* 1: a dashed line (e.g. a reference) */
} npsw_series;

typedef struct npsw_lines_opts {
    const char *title;        /* default "" */
    const char *subtitle;     /* may be NULL */
    const char *x_label, *y_label; /* default "" */
    const char *footer;       /* left end of the footer; may be NULL */
    const char *note;         /* default "library search results, not identifications" */
    double x_min, x_max;      /* both 0 (default): from the data (rounded outwards to ticks) */
    double y_min, y_max;      /* both 0 (default): from the data, y_min 0 unless data are < 0 */
    int x_log;                /* 1: log10 x axis (ticks at powers of ten) */
    int diagonal;             /* 1: a grey y = x line (ROC chance line) */
    double width_in, height_in; /* default 6 x 4 inches */
    unsigned dpi;             /* default 150 */
    const char *font_path;    /* NULL: npsw_font_path(NULL) */
} npsw_lines_opts;

#define NPSW_LINES_MAX_SERIES 16

npsw_lines_opts npsw_lines_opts_default(void);
/* NPSW_EEMPTY when no series has a point; NPSW_EINVAL for non-finite values, x <= 0 with
 * x_log, more than NPSW_LINES_MAX_SERIES series or an empty axis range. layout may be NULL. */
npsw_canvas *npsw_plot_lines_canvas(const npsw_series *s, size_t ns, const npsw_lines_opts *o,
                                    npsw_plot_layout *layout, npsw_err *err);
int npsw_plot_lines(const npsw_series *s, size_t ns, const npsw_lines_opts *o,
                    const npsw_png_text *text, size_t n_text, const char *path,
                    npsw_plot_layout *layout, npsw_err *err) NPSW_WUR;

#ifdef __cplusplus
}
#endif
#endif
