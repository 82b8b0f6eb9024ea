/* libfile.c - reading and writing the HDF5 library file (docs/format.md).
 *
 * Every column is a one-dimensional contiguous dataset, so a reader needs one H5Dread per column
 * and no per-spectrum HDF5 objects exist. Strings are stored as a byte blob plus offsets.
 */
#include "npsw/libfile.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "library_internal.h"
#include "npsw/config.h"

const char *npsw_hdf5_version(void)
{
    static char buf[32];
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, sizeof buf, "HDF5 %u.%u.%u", maj, min, rel);
    return buf;
}

/* Silence HDF5's own error printing for the duration of a call; our messages say what failed. */
typedef struct h5_quiet {
    H5E_auto2_t func;
    void *data;
} h5_quiet;

static void quiet_on(h5_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_off(const h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

/* ---- writing --------------------------------------------------------------------------- */

typedef struct writer {
    hid_t file;
    const char *path; /* final path, for messages */
    npsw_err *err;
    int rc;
} writer;

static int wfail(writer *w, const char *obj, const char *what)
{
    if (w->rc == 0)
        w->rc = npsw_err_set(w->err, NPSW_EHDF5, obj, 0, "%s: cannot write %s", w->path, what);
    return w->rc;
}

static hid_t make_group(writer *w, const char *name)
{
    hid_t g = H5Gcreate2(w->file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) wfail(w, name, "group");
    return g;
}

static void write_dataset(writer *w, const char *name, hid_t memtype, const void *data,
                          uint64_t count)
{
    if (w->rc) return;
    hsize_t dims[1] = {count};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t ds = sp < 0 ? -1 : H5Dcreate2(w->file, name, memtype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = 0;
    if (ds >= 0 && count) st = H5Dwrite(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (sp < 0 || ds < 0 || st < 0) wfail(w, name, "dataset");
    if (ds >= 0) H5Dclose(ds);
    if (sp >= 0) H5Sclose(sp);
}

static void write_attr_str(writer *w, hid_t obj, const char *name, const char *value)
{
    if (w->rc) return;
    size_t len = strlen(value);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len ? len : 1);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    char zero = 0;
    herr_t st = a < 0 ? -1 : H5Awrite(a, t, len ? value : &zero);
    if (a < 0 || st < 0) wfail(w, name, "attribute");
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void write_attr_num(writer *w, hid_t obj, const char *name, hid_t type, const void *v)
{
    if (w->rc) return;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, type, v) < 0) wfail(w, name, "attribute");
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
}

static void write_strcol(writer *w, const char *group, const char *data, const uint64_t *off,
                         uint64_t n)
{
    char name[160];
    hid_t g = make_group(w, group);
    if (g >= 0) H5Gclose(g);
    snprintf(name, sizeof name, "%s/data", group);
    write_dataset(w, name, H5T_NATIVE_UCHAR, data, off[n]);
    snprintf(name, sizeof name, "%s/offsets", group);
    write_dataset(w, name, H5T_NATIVE_UINT64, off, n + 1);
}

static void write_params(writer *w, const npsw_clean_opts *c)
{
    hid_t g = make_group(w, "/params");
    if (g < 0) return;
    char desc[256];
    npsw_clean_opts_describe(c, desc, sizeof desc);
    write_attr_str(w, g, "mode", c->nominal ? "nominal" : "accurate");
    write_attr_num(w, g, "bin_boundary", H5T_NATIVE_DOUBLE, &c->bin_boundary);
    write_attr_str(w, g, "merge", c->merge == NPSW_MERGE_SUM ? "sum" : "max");
    write_attr_num(w, g, "merge_tol_da", H5T_NATIVE_DOUBLE, &c->merge_tol_da);
    write_attr_num(w, g, "round_intensity", H5T_NATIVE_INT, &c->round_intensity);
    write_attr_num(w, g, "noise_floor", H5T_NATIVE_DOUBLE, &c->noise_floor);
    write_attr_num(w, g, "precursor_margin_da", H5T_NATIVE_DOUBLE, &c->precursor_margin_da);
    write_attr_str(w, g, "description", desc);
    H5Gclose(g);
}

static void write_provenance(writer *w, const npsw_lib_info *info)
{
    hid_t g = make_group(w, "/provenance");
    if (g < 0) return;
    H5Gclose(g);
    size_t n = info->n_inputs, bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += strlen(info->inputs[i].path);
    uint64_t *off = calloc(n + 1, sizeof *off);
    char *data = malloc(bytes ? bytes : 1);
    char *sha = malloc(n * 64 + 1);
    uint64_t *rec = calloc(n ? n : 1, sizeof *rec), *skip = calloc(n ? n : 1, sizeof *skip);
    if (!off || !data || !sha || !rec || !skip) {
        wfail(w, "/provenance", "provenance (out of memory)");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(info->inputs[i].path);
        memcpy(data + off[i], info->inputs[i].path, l);
        off[i + 1] = off[i] + l;
        memcpy(sha + 64 * i, info->inputs[i].sha256, 64);
        rec[i] = info->inputs[i].n_records;
        skip[i] = info->inputs[i].n_skipped;
    }
    write_strcol(w, "/provenance/path", data, off, n);
    write_dataset(w, "/provenance/sha256", H5T_NATIVE_UCHAR, sha, (uint64_t)n * 64);
    write_dataset(w, "/provenance/n_records", H5T_NATIVE_UINT64, rec, n);
    write_dataset(w, "/provenance/n_skipped", H5T_NATIVE_UINT64, skip, n);
done:
    free(off);
    free(data);
    free(sha);
    free(rec);
    free(skip);
}

/* A string column from n C strings (NULL = ""). */
static void write_strings(writer *w, const char *group, const char *const *v, size_t n)
{
    if (w->rc) return;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += v[i] ? strlen(v[i]) : 0;
    uint64_t *off = calloc(n + 1, sizeof *off);
    char *data = malloc(bytes ? bytes : 1);
    if (!off || !data) {
        wfail(w, group, "strings (out of memory)");
    } else {
        for (size_t i = 0; i < n; i++) {
            size_t l = v[i] ? strlen(v[i]) : 0;
            if (l) memcpy(data + off[i], v[i], l);
            off[i + 1] = off[i] + l;
        }
        write_strcol(w, group, data, off, n);
    }
    free(off);
    free(data);
}

/* /lineage (format 1.2): only for a library made from another one. */
static void write_lineage(writer *w, const npsw_lib_lineage *g)
{
    if (w->rc || !g->parent_sha256[0]) return;
    hid_t grp = make_group(w, "/lineage");
    if (grp < 0) return;
    int64_t aid = g->advisory_id;
    write_attr_str(w, grp, "parent_content_sha256", g->parent_sha256);
    write_attr_str(w, grp, "parent_name", g->parent_name);
    write_attr_str(w, grp, "parent_version", g->parent_version);
    write_attr_str(w, grp, "advisory_key", g->advisory_key);
    write_attr_num(w, grp, "advisory_id", H5T_NATIVE_INT64, &aid);
    H5Gclose(grp);
    size_t na = g->n_added, nk = g->n_ancestors;
    uint64_t *idx = calloc(na ? na : 1, sizeof *idx);
    const char **sv = calloc(3 * (na ? na : 1) + 2 * (nk ? nk : 1), sizeof *sv);
    char *sha = malloc(64 * (nk ? nk : 1));
    if (!idx || !sv || !sha) {
        wfail(w, "/lineage", "lineage (out of memory)");
        goto done;
    }
    const char **acc = sv, **name = acc + na, **why = name + na, **ver = why + na,
               **key = ver + nk;
    for (size_t i = 0; i < na; i++) {
        idx[i] = g->added[i].index;
        acc[i] = g->added[i].accession;
        name[i] = g->added[i].name;
        why[i] = g->added[i].reason;
    }
    for (size_t i = 0; i < nk; i++) {
        memcpy(sha + 64 * i, g->ancestors[i].content_sha256, 64);
        ver[i] = g->ancestors[i].version;
        key[i] = g->ancestors[i].advisory_key;
    }
    grp = make_group(w, "/lineage/added");
    if (grp >= 0) H5Gclose(grp);
    write_dataset(w, "/lineage/added/index", H5T_NATIVE_UINT64, idx, na);
    write_strings(w, "/lineage/added/accession", acc, na);
    write_strings(w, "/lineage/added/name", name, na);
    write_strings(w, "/lineage/added/reason", why, na);
    grp = make_group(w, "/lineage/ancestors");
    if (grp >= 0) H5Gclose(grp);
    write_dataset(w, "/lineage/ancestors/content_sha256", H5T_NATIVE_UCHAR, sha, 64 * (uint64_t)nk);
    write_strings(w, "/lineage/ancestors/version", ver, nk);
    write_strings(w, "/lineage/ancestors/advisory_key", key, nk);
done:
    free(idx);
    free(sv);
    free(sha);
}

static hid_t mf_h5type(int t)
{
    switch (t) {
    case NPSW_MF_U8: return H5T_NATIVE_UINT8;
    case NPSW_MF_U32: return H5T_NATIVE_UINT32;
    case NPSW_MF_U64: return H5T_NATIVE_UINT64;
    case NPSW_MF_F32: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_DOUBLE;
    }
}

/* /index/mf: the match-factor search index for the default search parameters (format 1.3). */
static void write_mf_index(writer *w, const npsw_lib *lib)
{
    if (w->rc || !lib->info.clean.nominal || !lib->idx.bin_start) return;
    npsw_mf_index built, *ix = (npsw_mf_index *)&lib->mfi; /* only read */
    if (!ix->present) {
        int rc = npsw_mf_index_build(lib, &built);
        if (rc < 0) {
            w->rc = npsw_err_set(w->err, NPSW_ENOMEM, "/index/mf", 0,
                                 "out of memory building the search index");
            return;
        }
        if (rc > 0) return; /* intensities the index cannot take: searched exhaustively */
        ix = &built;
    }
    hid_t g = make_group(w, "/index/mf");
    if (g >= 0) {
        uint32_t block = NPSW_MF_BLOCK;
        write_attr_str(w, g, "layout", NPSW_MF_LAYOUT);
        write_attr_str(w, g, "content_sha256", lib->info.content_sha256);
        write_attr_num(w, g, "int_power", H5T_NATIVE_DOUBLE, &ix->int_power);
        write_attr_num(w, g, "mz_power", H5T_NATIVE_DOUBLE, &ix->mz_power);
        write_attr_num(w, g, "threshold", H5T_NATIVE_DOUBLE, &ix->threshold);
        write_attr_num(w, g, "n_spectra", H5T_NATIVE_UINT64, &ix->n);
        write_attr_num(w, g, "max_mz", H5T_NATIVE_UINT32, &ix->max_mz);
        write_attr_num(w, g, "n_dense", H5T_NATIVE_UINT32, &ix->nd);
        write_attr_num(w, g, "n_blocks", H5T_NATIVE_UINT32, &ix->nblk);
        write_attr_num(w, g, "block_spectra", H5T_NATIVE_UINT32, &block);
        write_attr_num(w, g, "n_postings", H5T_NATIVE_UINT64, &ix->nxp);
        H5Gclose(g);
    }
    npsw_mf_array a[NPSW_MF_NARRAYS];
    npsw_mf_index_arrays(ix, a);
    for (int i = 0; i < NPSW_MF_NARRAYS; i++) {
        char name[64];
        snprintf(name, sizeof name, "/index/mf/%s", a[i].name);
        write_dataset(w, name, mf_h5type(a[i].type), *a[i].ptr, a[i].count);
    }
    if (ix == &built) npsw_mf_index_free(&built);
}

static int fsync_path(const char *path, int directory)
{
    int fd = open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int npsw_lib_write(const npsw_lib *lib, const char *path, npsw_err *err)
{
    if (lib->part)
        return npsw_err_set(err, NPSW_EINVAL, path, 0,
                            "a part of a library (%llu of its %llu spectra) cannot be written "
                            "as a library file",
                            (unsigned long long)lib->n, (unsigned long long)lib->whole_n);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return npsw_err_set(err, NPSW_EINVAL, path, 0, "path too long");
    struct stat st; /* the rename below must never replace a device, FIFO or directory */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return npsw_err_set(err, NPSW_EINVAL, path, 0,
                            "exists and is not a regular file: a library is written to a file");
    h5_quiet q;
    quiet_on(&q);
    writer w = {-1, path, err, 0};
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    /* datasets of 4 KiB or more start on 64-byte boundaries, so a reader can map them */
    H5Pset_alignment(fapl, 4096, 64);
    w.file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (w.file < 0) {
        quiet_off(&q);
        return npsw_err_set(err, NPSW_EIO, tmp, 0,
                            "cannot create the library file (is the directory writable?)");
    }
    const npsw_lib_info *info = &lib->info;
    hid_t root = H5Gopen2(w.file, "/", H5P_DEFAULT);
    int major = NPSW_FORMAT_MAJOR, minor = NPSW_FORMAT_MINOR;
    write_attr_str(&w, root, "magic", NPSW_LIBFILE_MAGIC);
    write_attr_num(&w, root, "format_major", H5T_NATIVE_INT, &major);
    write_attr_num(&w, root, "format_minor", H5T_NATIVE_INT, &minor);
    write_attr_str(&w, root, "name", info->name);
    write_attr_str(&w, root, "version", info->version);
    write_attr_str(&w, root, "created_utc", info->created_utc);
    write_attr_str(&w, root, "npswatch_version", info->npsw_version);
    write_attr_str(&w, root, "content_sha256", info->content_sha256);
    write_attr_num(&w, root, "n_spectra", H5T_NATIVE_UINT64, &lib->n);
    write_attr_num(&w, root, "n_peaks", H5T_NATIVE_UINT64, &lib->n_peaks);
    H5Gclose(root);
    write_params(&w, &info->clean);
    hid_t g = make_group(&w, "/spectra");
    if (g >= 0) H5Gclose(g);
    write_dataset(&w, "/spectra/offsets", H5T_NATIVE_UINT64, lib->offsets, lib->n + 1);
    write_dataset(&w, "/spectra/mz", H5T_NATIVE_DOUBLE, lib->mz, lib->n_peaks);
    write_dataset(&w, "/spectra/intensity", H5T_NATIVE_FLOAT, lib->in, lib->n_peaks);
    write_dataset(&w, "/spectra/mw", H5T_NATIVE_DOUBLE, lib->mw, lib->n);
    write_dataset(&w, "/spectra/exact_mass", H5T_NATIVE_DOUBLE, lib->exact_mass, lib->n);
    write_dataset(&w, "/spectra/precursor_mz", H5T_NATIVE_DOUBLE, lib->precursor_mz, lib->n);
    write_dataset(&w, "/spectra/retention_index", H5T_NATIVE_DOUBLE, lib->ri, lib->n);
    write_dataset(&w, "/spectra/ion_mode", H5T_NATIVE_INT8, lib->ion_mode, lib->n);
    g = make_group(&w, "/meta");
    if (g >= 0) H5Gclose(g);
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        char name[96];
        snprintf(name, sizeof name, "/meta/%s", npsw_meta_column(f));
        write_strcol(&w, name, lib->meta[f].data, lib->meta[f].off, lib->n);
    }
    write_provenance(&w, info);
    write_lineage(&w, &info->lineage);
    if (lib->idx.bin_start) {
        g = make_group(&w, "/index");
        if (g >= 0) H5Gclose(g);
        g = make_group(&w, "/index/nominal");
        if (g >= 0) {
            uint32_t mx = lib->idx.max_mz;
            write_attr_num(&w, g, "max_mz", H5T_NATIVE_UINT32, &mx);
            write_attr_str(&w, g, "content_sha256", info->content_sha256);
            H5Gclose(g);
        }
        uint64_t np = lib->idx.bin_start[lib->idx.max_mz + 1];
        write_dataset(&w, "/index/nominal/bin_start", H5T_NATIVE_UINT64, lib->idx.bin_start,
                      (uint64_t)lib->idx.max_mz + 2);
        write_dataset(&w, "/index/nominal/spectrum", H5T_NATIVE_UINT32, lib->idx.spec, np);
        write_dataset(&w, "/index/nominal/intensity", H5T_NATIVE_FLOAT, lib->idx.in, np);
        write_mf_index(&w, lib);
    }
    if (H5Fclose(w.file) < 0) wfail(&w, "/", "file (close failed: disk full?)");
    quiet_off(&q);
    if (w.rc == 0 && fsync_path(tmp, 0) < 0)
        w.rc = npsw_err_set(err, NPSW_EIO, tmp, 0, "fsync failed: %s", strerror(errno));
    if (w.rc == 0 && rename(tmp, path) < 0)
        w.rc = npsw_err_set(err, NPSW_EIO, path, 0, "cannot rename %s to it: %s", tmp,
                            strerror(errno));
    if (w.rc) {
        unlink(tmp);
        return w.rc;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    (void)fsync_path(dirname(dir), 1); /* make the rename durable; best effort */
    return 0;
}

/* ---- reading --------------------------------------------------------------------------- */

typedef struct reader {
    hid_t file;
    const char *path;
    npsw_err *err;
    int rc;
} reader;

static int rfail(reader *r, int code, const char *obj, const char *fmt, const char *what)
{
    if (r->rc == 0) {
        char msg[300];
        snprintf(msg, sizeof msg, fmt, what);
        r->rc = npsw_err_set(r->err, code, r->path, 0, "%s (%s)", msg, obj);
    }
    return r->rc;
}

static int read_attr_str(reader *r, hid_t obj, const char *name, char *out, size_t size,
                         int required)
{
    out[0] = '\0';
    if (r->rc) return r->rc;
    if (H5Aexists(obj, name) <= 0) {
        if (required) return rfail(r, NPSW_EFORMAT, name, "missing attribute %s", name);
        return 0;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t ft = a < 0 ? -1 : H5Aget_type(a);
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) > 0) {
        if (ft >= 0) H5Tclose(ft);
        if (a >= 0) H5Aclose(a);
        return rfail(r, NPSW_EFORMAT, name, "attribute %s is not a fixed-length string", name);
    }
    size_t len = H5Tget_size(ft);
    char *buf = calloc(len + 1, 1);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, len);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    H5Tset_cset(mt, H5Tget_cset(ft)); /* HDF5 does not convert between character sets */
    herr_t st = buf ? H5Aread(a, mt, buf) : -1;
    H5Tclose(mt);
    H5Tclose(ft);
    H5Aclose(a);
    if (st < 0) {
        free(buf);
        return rfail(r, NPSW_EHDF5, name, "cannot read attribute %s", name);
    }
    snprintf(out, size, "%s", buf);
    free(buf);
    return 0;
}

static int read_attr_num(reader *r, hid_t obj, const char *name, hid_t memtype, void *out,
                         int required)
{
    if (r->rc) return r->rc;
    if (H5Aexists(obj, name) <= 0)
        return required ? rfail(r, NPSW_EFORMAT, name, "missing attribute %s", name) : 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t sp = a < 0 ? -1 : H5Aget_space(a);
    int ok = a >= 0 && sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1 &&
             H5Aread(a, memtype, out) >= 0;
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return ok ? 0 : rfail(r, NPSW_EFORMAT, name, "cannot read attribute %s", name);
}

/* Read a 1-D dataset that must hold exactly `count` elements into a new buffer. */
static void *read_dataset(reader *r, const char *name, hid_t memtype, size_t elsize, uint64_t count)
{
    if (r->rc) return NULL;
    hid_t ds = H5Dopen2(r->file, name, H5P_DEFAULT);
    if (ds < 0) {
        rfail(r, NPSW_EFORMAT, name, "missing dataset %s", name);
        return NULL;
    }
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[1] = {0};
    int nd = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (nd == 1) H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0) H5Sclose(sp);
    if (nd != 1 || dims[0] != count) {
        H5Dclose(ds);
        rfail(r, NPSW_EFORMAT, name, "dataset %s has the wrong size", name);
        return NULL;
    }
    void *buf = malloc(count ? count * elsize : 1);
    if (!buf) {
        H5Dclose(ds);
        rfail(r, NPSW_ENOMEM, name, "out of memory reading %s", name);
        return NULL;
    }
    if (count && H5Dread(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        H5Dclose(ds);
        rfail(r, NPSW_EHDF5, name, "cannot read dataset %s", name);
        return NULL;
    }
    H5Dclose(ds);
    return buf;
}

static uint64_t dataset_length(reader *r, const char *name)
{
    if (r->rc) return 0;
    hid_t ds = H5Dopen2(r->file, name, H5P_DEFAULT);
    if (ds < 0) {
        rfail(r, NPSW_EFORMAT, name, "missing dataset %s", name);
        return 0;
    }
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[1] = {0};
    if (sp < 0 || H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        rfail(r, NPSW_EFORMAT, name, "dataset %s is not one-dimensional", name);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    return dims[0];
}

/* Offsets must start at 0, never decrease and end at `total`. */
static int check_offsets(reader *r, const char *name, const uint64_t *off, uint64_t n, uint64_t total)
{
    if (r->rc || !off) return r->rc;
    if (off[0] != 0 || off[n] != total)
        return rfail(r, NPSW_EFORMAT, name, "offsets in %s do not match the data", name);
    for (uint64_t i = 0; i < n; i++)
        if (off[i + 1] < off[i])
            return rfail(r, NPSW_EFORMAT, name, "offsets in %s decrease", name);
    return 0;
}

static void read_strcol(reader *r, const char *group, uint64_t n, npsw_strcol *c)
{
    char name[160];
    snprintf(name, sizeof name, "%s/offsets", group);
    c->off = read_dataset(r, name, H5T_NATIVE_UINT64, 8, n + 1);
    snprintf(name, sizeof name, "%s/data", group);
    uint64_t len = dataset_length(r, name);
    c->data = read_dataset(r, name, H5T_NATIVE_UCHAR, 1, len);
    check_offsets(r, group, c->off, n, len);
}

static void read_params(reader *r, npsw_clean_opts *c)
{
    if (r->rc) return;
    hid_t g = H5Gopen2(r->file, "/params", H5P_DEFAULT);
    if (g < 0) {
        rfail(r, NPSW_EFORMAT, "/params", "missing group %s", "/params");
        return;
    }
    char mode[32], merge[16];
    *c = npsw_clean_opts_default();
    read_attr_str(r, g, "mode", mode, sizeof mode, 1);
    read_attr_num(r, g, "bin_boundary", H5T_NATIVE_DOUBLE, &c->bin_boundary, 1);
    read_attr_str(r, g, "merge", merge, sizeof merge, 1);
    read_attr_num(r, g, "merge_tol_da", H5T_NATIVE_DOUBLE, &c->merge_tol_da, 1);
    read_attr_num(r, g, "round_intensity", H5T_NATIVE_INT, &c->round_intensity, 1);
    read_attr_num(r, g, "noise_floor", H5T_NATIVE_DOUBLE, &c->noise_floor, 1);
    read_attr_num(r, g, "precursor_margin_da", H5T_NATIVE_DOUBLE, &c->precursor_margin_da, 1);
    H5Gclose(g);
    if (r->rc) return;
    c->nominal = strcmp(mode, "nominal") == 0;
    c->merge = strcmp(merge, "sum") == 0 ? NPSW_MERGE_SUM : NPSW_MERGE_MAX;
    if ((!c->nominal && strcmp(mode, "accurate") != 0) ||
        npsw_clean_opts_check(c, NULL) < 0)
        rfail(r, NPSW_EFORMAT, "/params", "invalid cleaning parameters in %s", "/params");
}

static void read_provenance(reader *r, npsw_lib_info *info)
{
    if (r->rc || H5Lexists(r->file, "/provenance", H5P_DEFAULT) <= 0) return;
    uint64_t n = dataset_length(r, "/provenance/n_records");
    npsw_strcol paths = {0};
    read_strcol(r, "/provenance/path", n, &paths);
    char *sha = read_dataset(r, "/provenance/sha256", H5T_NATIVE_UCHAR, 1, n * 64);
    uint64_t *rec = read_dataset(r, "/provenance/n_records", H5T_NATIVE_UINT64, 8, n);
    uint64_t *skip = read_dataset(r, "/provenance/n_skipped", H5T_NATIVE_UINT64, 8, n);
    if (!r->rc && n) {
        info->inputs = calloc(n, sizeof *info->inputs);
        if (!info->inputs) {
            rfail(r, NPSW_ENOMEM, "/provenance", "out of memory reading %s", "/provenance");
        } else {
            info->n_inputs = n;
            for (uint64_t i = 0; i < n; i++) {
                uint64_t l = paths.off[i + 1] - paths.off[i];
                info->inputs[i].path = malloc(l + 1);
                if (!info->inputs[i].path) {
                    rfail(r, NPSW_ENOMEM, "/provenance", "out of memory reading %s", "/provenance");
                    break;
                }
                memcpy(info->inputs[i].path, paths.data + paths.off[i], l);
                info->inputs[i].path[l] = '\0';
                memcpy(info->inputs[i].sha256, sha + 64 * i, 64);
                info->inputs[i].sha256[64] = '\0';
                info->inputs[i].n_records = rec[i];
                info->inputs[i].n_skipped = skip[i];
            }
        }
    }
    free(paths.data);
    free(paths.off);
    free(sha);
    free(rec);
    free(skip);
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* Value i of a string column as a new C string. */
static char *strcol_dup(const npsw_strcol *c, uint64_t i)
{
    uint64_t l = c->off[i + 1] - c->off[i];
    char *v = malloc(l + 1);
    if (v) {
        if (l) memcpy(v, c->data + c->off[i], l);
        v[l] = '\0';
    }
    return v;
}

/* Copy value i of a string column into a fixed buffer (cut to fit). */
static void strcol_copy(const npsw_strcol *c, uint64_t i, char *out, size_t size)
{
    uint64_t l = c->off[i + 1] - c->off[i];
    if (l > size - 1) l = size - 1;
    if (l) memcpy(out, c->data + c->off[i], l);
    out[l] = '\0';
}

/* /lineage (format 1.2; absent in 1.0/1.1 files and in libraries built from files). */
static void read_lineage(reader *r, npsw_lib_info *info, uint64_t n_spectra)
{
    if (r->rc || H5Lexists(r->file, "/lineage", H5P_DEFAULT) <= 0) return;
    npsw_lib_lineage *g = &info->lineage;
    hid_t grp = H5Gopen2(r->file, "/lineage", H5P_DEFAULT);
    if (grp < 0) {
        rfail(r, NPSW_EFORMAT, "/lineage", "cannot open group %s", "/lineage");
        return;
    }
    char sha[80];
    read_attr_str(r, grp, "parent_content_sha256", sha, sizeof sha, 1);
    read_attr_str(r, grp, "parent_name", g->parent_name, sizeof g->parent_name, 1);
    read_attr_str(r, grp, "parent_version", g->parent_version, sizeof g->parent_version, 1);
    read_attr_str(r, grp, "advisory_key", g->advisory_key, sizeof g->advisory_key, 1);
    read_attr_num(r, grp, "advisory_id", H5T_NATIVE_INT64, &g->advisory_id, 1);
    H5Gclose(grp);
    if (!r->rc && !is_hex64(sha))
        rfail(r, NPSW_EFORMAT, "/lineage", "%s is not a SHA-256", "parent_content_sha256");
    if (r->rc) return;
    memcpy(g->parent_sha256, sha, 64); /* is_hex64: exactly 64 characters */
    g->parent_sha256[64] = '\0';
    uint64_t na = dataset_length(r, "/lineage/added/index");
    uint64_t *idx = read_dataset(r, "/lineage/added/index", H5T_NATIVE_UINT64, 8, na);
    npsw_strcol acc = {0}, name = {0}, why = {0}, ver = {0}, key = {0};
    read_strcol(r, "/lineage/added/accession", na, &acc);
    read_strcol(r, "/lineage/added/name", na, &name);
    read_strcol(r, "/lineage/added/reason", na, &why);
    uint64_t shabytes = dataset_length(r, "/lineage/ancestors/content_sha256");
    uint64_t nk = shabytes / 64;
    if (!r->rc && (shabytes % 64 || nk == 0 || nk > n_spectra || na > n_spectra))
        rfail(r, NPSW_EFORMAT, "/lineage", "implausible sizes in %s", "/lineage");
    char *shas = read_dataset(r, "/lineage/ancestors/content_sha256", H5T_NATIVE_UCHAR, 1, shabytes);
    read_strcol(r, "/lineage/ancestors/version", nk, &ver);
    read_strcol(r, "/lineage/ancestors/advisory_key", nk, &key);
    for (uint64_t i = 0; i < na && !r->rc; i++)
        if (idx[i] >= n_spectra)
            rfail(r, NPSW_EFORMAT, "/lineage/added/index", "added entry beyond the library in %s",
                  "/lineage/added/index");
    if (!r->rc) {
        g->added = calloc(na ? na : 1, sizeof *g->added);
        g->ancestors = calloc(nk, sizeof *g->ancestors);
        if (!g->added || !g->ancestors)
            rfail(r, NPSW_ENOMEM, "/lineage", "out of memory reading %s", "/lineage");
    }
    for (uint64_t i = 0; i < na && !r->rc; i++) {
        npsw_lib_addition *a = &g->added[i];
        g->n_added = i + 1;
        a->index = idx[i];
        a->accession = strcol_dup(&acc, i);
        a->name = strcol_dup(&name, i);
        a->reason = strcol_dup(&why, i);
        if (!a->accession || !a->name || !a->reason)
            rfail(r, NPSW_ENOMEM, "/lineage", "out of memory reading %s", "/lineage");
    }
    for (uint64_t i = 0; i < nk && !r->rc; i++) {
        npsw_lib_ancestor *k = &g->ancestors[i];
        memcpy(k->content_sha256, shas + 64 * i, 64);
        k->content_sha256[64] = '\0';
        if (!is_hex64(k->content_sha256))
            rfail(r, NPSW_EFORMAT, "/lineage/ancestors/content_sha256", "not a SHA-256 in %s",
                  "/lineage/ancestors/content_sha256");
        strcol_copy(&ver, i, k->version, sizeof k->version);
        strcol_copy(&key, i, k->advisory_key, sizeof k->advisory_key);
        g->n_ancestors = i + 1;
    }
    free(idx);
    free(shas);
    npsw_strcol *cols[] = {&acc, &name, &why, &ver, &key};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        free(cols[i]->data);
        free(cols[i]->off);
    }
}

static void read_index(reader *r, npsw_lib *lib)
{
    if (r->rc || !lib->info.clean.nominal) return;
    if (H5Lexists(r->file, "/index", H5P_DEFAULT) <= 0 ||
        H5Lexists(r->file, "/index/nominal", H5P_DEFAULT) <= 0) {
        /* an index is derived data: rebuild it rather than refuse the file */
        if (npsw_lib_build_index(lib) < 0)
            rfail(r, NPSW_ENOMEM, "/index", "out of memory building %s", "the index");
        return;
    }
    hid_t g = H5Gopen2(r->file, "/index/nominal", H5P_DEFAULT);
    uint32_t mx = 0;
    char sha[80];
    read_attr_num(r, g, "max_mz", H5T_NATIVE_UINT32, &mx, 1);
    read_attr_str(r, g, "content_sha256", sha, sizeof sha, 1);
    H5Gclose(g);
    if (r->rc) return;
    if (strcmp(sha, lib->info.content_sha256) != 0) {
        rfail(r, NPSW_ECHECKSUM, "/index/nominal",
              "the peak index was made for other content (%s); rebuild the library", sha);
        return;
    }
    if (mx > NPSW_NOMINAL_MAX_MZ + 1) {
        rfail(r, NPSW_EFORMAT, "/index/nominal", "index m/z range too large (%s)", "max_mz");
        return;
    }
    npsw_nominal_index *x = &lib->idx;
    x->max_mz = mx;
    x->bin_start = read_dataset(r, "/index/nominal/bin_start", H5T_NATIVE_UINT64, 8, (uint64_t)mx + 2);
    x->spec = read_dataset(r, "/index/nominal/spectrum", H5T_NATIVE_UINT32, 4, lib->n_peaks);
    x->in = read_dataset(r, "/index/nominal/intensity", H5T_NATIVE_FLOAT, 4, lib->n_peaks);
    if (r->rc) return;
    check_offsets(r, "/index/nominal/bin_start", x->bin_start, (uint64_t)mx + 1, lib->n_peaks);
    for (uint64_t k = 0; k < lib->n_peaks && !r->rc; k++)
        if (x->spec[k] >= lib->n)
            rfail(r, NPSW_EFORMAT, "/index/nominal/spectrum", "spectrum id out of range in %s",
                  "/index/nominal/spectrum");
}

/* A dataset of /index/mf in place in the file mapping when it is stored contiguously with the
 * native type and suitably aligned (the common case: the writer aligns large datasets), else
 * read into memory, or with map_only not at all (NULL, r->rc unchanged). Returns the pointer
 * (NULL and r->rc set on failure); *owned says whether it was read. */
static void *map_or_read(reader *r, const char *name, const npsw_mf_array *a, const char *map,
                         size_t map_len, int map_only, int *owned)
{
    *owned = 0;
    if (r->rc) return NULL;
    hid_t ds = H5Dopen2(r->file, name, H5P_DEFAULT);
    if (ds < 0) {
        rfail(r, NPSW_EFORMAT, name, "missing dataset %s", name);
        return NULL;
    }
    hid_t sp = H5Dget_space(ds), ft = H5Dget_type(ds), dcpl = H5Dget_create_plist(ds);
    hsize_t dims[1] = {0};
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
             H5Sget_simple_extent_dims(sp, dims, NULL) == 1 && dims[0] == a->count;
    haddr_t off = HADDR_UNDEF;
    if (ok && map && a->count && ft >= 0 && dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS &&
        H5Tequal(ft, mf_h5type(a->type)) > 0)
        off = H5Dget_offset(ds);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (dcpl >= 0) H5Pclose(dcpl);
    H5Dclose(ds);
    if (!ok) {
        rfail(r, NPSW_EFORMAT, name, "dataset %s has the wrong size", name);
        return NULL;
    }
    if (off != HADDR_UNDEF && off % 8 == 0 && off <= map_len && /* 8: also the postings' records */
        a->count * a->elsize <= map_len - off)
        return (void *)(map + off);
    if (map_only) return NULL;
    *owned = 1;
    return read_dataset(r, name, mf_h5type(a->type), a->elsize, a->count);
}

/* /index/mf (format 1.3). A file without it (older minor versions), or with a layout this
 * npswatch does not know, searches with an index built in memory at each search; one made for
 * other content is refused like /index/nominal.
 * A shard (a part that is one range of the file's spectra, whose first peak is the file's peak
 * gbase) searches with the whole file's index in place, as a view of its spectra
 * (npsw_mf_index.base, .gbase): only when every dataset can be used in the file mapping, since
 * a shard must not read the whole library's index into memory; otherwise its search builds
 * the shard's own. */
static void read_mf_index(reader *r, npsw_lib *lib, uint64_t gbase)
{
    const int view = lib->part;
    if (r->rc || !lib->info.clean.nominal || !lib->idx.bin_start ||
        (view && (lib->whole_idx || getenv("NPSW_NO_MMAP"))) ||
        H5Lexists(r->file, "/index/mf", H5P_DEFAULT) <= 0)
        return;
    /* the file's sizes: its spectra, and its nominal index's m/z range (bin_start has one entry
     * per nominal m/z 0..max_mz, and one more) */
    uint64_t whole_n = lib->n;
    uint32_t whole_max = lib->idx.max_mz;
    if (view) {
        uint64_t len = dataset_length(r, "/index/nominal/bin_start");
        if (r->rc) return;
        if (len < 2 || len - 2 > NPSW_NOMINAL_MAX_MZ + 1) {
            rfail(r, NPSW_EFORMAT, "/index/nominal/bin_start", "implausible size of %s",
                  "/index/nominal/bin_start");
            return;
        }
        whole_n = lib->whole_n;
        whole_max = (uint32_t)(len - 2);
    }
    hid_t g = H5Gopen2(r->file, "/index/mf", H5P_DEFAULT);
    if (g < 0) {
        rfail(r, NPSW_EFORMAT, "/index/mf", "cannot open %s", "/index/mf");
        return;
    }
    char layout[64], sha[80];
    uint32_t block = 0;
    npsw_mf_index *ix = &lib->mfi;
    read_attr_str(r, g, "layout", layout, sizeof layout, 1);
    read_attr_str(r, g, "content_sha256", sha, sizeof sha, 1);
    read_attr_num(r, g, "int_power", H5T_NATIVE_DOUBLE, &ix->int_power, 1);
    read_attr_num(r, g, "mz_power", H5T_NATIVE_DOUBLE, &ix->mz_power, 1);
    read_attr_num(r, g, "threshold", H5T_NATIVE_DOUBLE, &ix->threshold, 1);
    read_attr_num(r, g, "n_spectra", H5T_NATIVE_UINT64, &ix->n, 1);
    read_attr_num(r, g, "max_mz", H5T_NATIVE_UINT32, &ix->max_mz, 1);
    read_attr_num(r, g, "n_dense", H5T_NATIVE_UINT32, &ix->nd, 1);
    read_attr_num(r, g, "n_blocks", H5T_NATIVE_UINT32, &ix->nblk, 1);
    read_attr_num(r, g, "block_spectra", H5T_NATIVE_UINT32, &block, 1);
    read_attr_num(r, g, "n_postings", H5T_NATIVE_UINT64, &ix->nxp, 1);
    H5Gclose(g);
    if (r->rc) return;
    if (strcmp(layout, NPSW_MF_LAYOUT) != 0 || block != NPSW_MF_BLOCK) {
        memset(ix, 0, sizeof *ix); /* another layout: built in memory when searching */
        return;
    }
    if (strcmp(sha, lib->info.content_sha256) != 0) {
        rfail(r, NPSW_ECHECKSUM, "/index/mf",
              "the search index was made for other content (%s); rebuild the library", sha);
        return;
    }
    if (ix->n != whole_n || ix->max_mz != whole_max || ix->nd > ix->max_mz + 1 ||
        ix->nxp > ((uint64_t)1 << 40) || lib->idx.max_mz > whole_max) {
        rfail(r, NPSW_EFORMAT, "/index/mf", "index sizes do not fit the library (%s)", "/index/mf");
        return;
    }
    /* map the file once; every large dataset is then used in place (read-only, shared with
     * the page cache: opening costs no copy, only what a search touches is read) */
    char *map = NULL;
    size_t map_len = 0;
    int fd = getenv("NPSW_NO_MMAP") ? -1 : open(r->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            map = m;
            map_len = (size_t)st.st_size;
        }
    }
    if (fd >= 0) close(fd);
    ix->map = map;
    ix->map_len = map_len;
    npsw_mf_array a[NPSW_MF_NARRAYS];
    npsw_mf_index_arrays(ix, a);
    for (int i = 0; i < NPSW_MF_NARRAYS && !r->rc; i++) {
        char name[64];
        int owned;
        snprintf(name, sizeof name, "/index/mf/%s", a[i].name);
        *a[i].ptr = map_or_read(r, name, &a[i], map, map_len, view, &owned);
        if (owned) ix->owned |= 1u << i;
        if (!*a[i].ptr && !r->rc && a[i].count) { /* a view that cannot be mapped: none */
            npsw_mf_index_free(ix);
            return;
        }
    }
    ix->present = 1; /* (freed with the library, whatever happens below) */
    if (view) {
        ix->base = lib->whole_first;
        ix->gbase = gbase;
    }
    const char *what = NULL;
    if (!r->rc && npsw_mf_index_check_shape(ix, whole_n, whole_max, &what) != 0)
        rfail(r, NPSW_EFORMAT, "/index/mf", "inconsistent search index (%s)", what);
}

/* Open a library file and read what every reader needs before the columns: the root
 * attributes (magic, format version, sizes, name, version, checksum) and the cleaning
 * parameters. Returns a new library with n and n_peaks those of the whole file and r->file
 * open (to be closed by the caller with finish_open), or NULL with r->file < 0. */
static npsw_lib *open_header(reader *r, const char *path)
{
    if (access(path, R_OK) != 0) {
        r->rc = npsw_err_set(r->err, NPSW_EIO, path, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    if (H5Fis_hdf5(path) <= 0) {
        r->rc = npsw_err_set(r->err, NPSW_EFORMAT, path, 0,
                             "not an HDF5 file: expected a library made by 'npswatch build'");
        return NULL;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    r->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (r->file < 0) {
        r->rc = npsw_err_set(r->err, NPSW_EFORMAT, path, 0,
                             "HDF5 cannot open the file (damaged or truncated?)");
        return NULL;
    }
    npsw_lib *lib = NULL;
    hid_t root = H5Gopen2(r->file, "/", H5P_DEFAULT);
    char magic[32];
    int major = 0, minor = 0;
    uint64_t n = 0, np = 0;
    read_attr_str(r, root, "magic", magic, sizeof magic, 1);
    if (!r->rc && strcmp(magic, NPSW_LIBFILE_MAGIC) != 0)
        rfail(r, NPSW_EFORMAT, "/", "not an npswatch library (magic '%s')", magic);
    read_attr_num(r, root, "format_major", H5T_NATIVE_INT, &major, 1);
    read_attr_num(r, root, "format_minor", H5T_NATIVE_INT, &minor, 1);
    if (!r->rc && major > NPSW_FORMAT_MAJOR) {
        r->rc = npsw_err_set(r->err, NPSW_EVERSION, path, 0,
                             "library format %d.%d was written by a newer npswatch; this npswatch "
                             "(%s) reads format %d.x only: upgrade npswatch to read this file",
                             major, minor, NPSW_VERSION, NPSW_FORMAT_MAJOR);
    }
    if (!r->rc && major < 1) rfail(r, NPSW_EFORMAT, "/", "invalid format version %s", "< 1");
    read_attr_num(r, root, "n_spectra", H5T_NATIVE_UINT64, &n, 1);
    read_attr_num(r, root, "n_peaks", H5T_NATIVE_UINT64, &np, 1);
    if (!r->rc && (n > UINT32_MAX - 1 || np > ((uint64_t)1 << 40)))
        rfail(r, NPSW_EFORMAT, "/", "implausible sizes in %s", "n_spectra/n_peaks");
    if (!r->rc && !(lib = calloc(1, sizeof *lib))) rfail(r, NPSW_ENOMEM, "/", "%s", "out of memory");
    if (lib) {
        lib->n = n;
        lib->n_peaks = np;
        npsw_lib_info *info = &lib->info;
        info->format_major = major;
        info->format_minor = minor;
        read_attr_str(r, root, "name", info->name, sizeof info->name, 1);
        read_attr_str(r, root, "version", info->version, sizeof info->version, 1);
        read_attr_str(r, root, "created_utc", info->created_utc, sizeof info->created_utc, 1);
        read_attr_str(r, root, "npswatch_version", info->npsw_version, sizeof info->npsw_version, 1);
        read_attr_str(r, root, "content_sha256", info->content_sha256,
                      sizeof info->content_sha256, 1);
        read_params(r, &info->clean);
    }
    if (root >= 0) H5Gclose(root);
    return lib;
}

/* Nominal libraries hold integer m/z within the index range. */
static void check_nominal_mz(reader *r, const npsw_lib *lib)
{
    for (uint64_t k = 0; k < lib->n_peaks && !r->rc && lib->info.clean.nominal; k++)
        if (!(lib->mz[k] >= 1 && lib->mz[k] <= NPSW_NOMINAL_MAX_MZ &&
              lib->mz[k] == (double)(uint32_t)lib->mz[k]))
            rfail(r, NPSW_EFORMAT, "/spectra/mz", "non-nominal m/z in a nominal library (%s)",
                  "/spectra/mz");
}

/* Close the file; on failure free the library. */
static npsw_lib *finish_open(reader *r, npsw_lib *lib, const h5_quiet *q)
{
    if (r->file >= 0) H5Fclose(r->file);
    if (r->rc) {
        npsw_lib_free(lib);
        lib = NULL;
    }
    quiet_off(q);
    return lib;
}

npsw_lib *npsw_lib_open(const char *path, npsw_err *err)
{
    h5_quiet q;
    quiet_on(&q);
    reader r = {-1, path, err, 0};
    npsw_lib *lib = open_header(&r, path);
    if (lib && !r.rc) {
        uint64_t n = lib->n, np = lib->n_peaks;
        npsw_lib_info *info = &lib->info;
        lib->offsets = read_dataset(&r, "/spectra/offsets", H5T_NATIVE_UINT64, 8, n + 1);
        lib->mz = read_dataset(&r, "/spectra/mz", H5T_NATIVE_DOUBLE, 8, np);
        lib->in = read_dataset(&r, "/spectra/intensity", H5T_NATIVE_FLOAT, 4, np);
        lib->mw = read_dataset(&r, "/spectra/mw", H5T_NATIVE_DOUBLE, 8, n);
        lib->exact_mass = read_dataset(&r, "/spectra/exact_mass", H5T_NATIVE_DOUBLE, 8, n);
        lib->precursor_mz = read_dataset(&r, "/spectra/precursor_mz", H5T_NATIVE_DOUBLE, 8, n);
        lib->ri = read_dataset(&r, "/spectra/retention_index", H5T_NATIVE_DOUBLE, 8, n);
        lib->ion_mode = read_dataset(&r, "/spectra/ion_mode", H5T_NATIVE_INT8, 1, n);
        check_offsets(&r, "/spectra/offsets", lib->offsets, n, np);
        for (int f = 0; f < NPSW_META_COUNT && !r.rc; f++) {
            char name[96];
            snprintf(name, sizeof name, "/meta/%s", npsw_meta_column(f));
            if (H5Lexists(r.file, name, H5P_DEFAULT) <= 0) {
                /* a field added in a later minor version: empty column */
                lib->meta[f].off = calloc(n + 1, sizeof(uint64_t));
                lib->meta[f].data = malloc(1);
                if (!lib->meta[f].off || !lib->meta[f].data)
                    rfail(&r, NPSW_ENOMEM, name, "%s", "out of memory");
                continue;
            }
            read_strcol(&r, name, n, &lib->meta[f]);
        }
        check_nominal_mz(&r, lib);
        read_provenance(&r, info);
        read_lineage(&r, info, n);
        read_index(&r, lib);
        read_mf_index(&r, lib, 0);
    }
    return finish_open(&r, lib, &q);
}

/* ---- reading part of a library: shards and lists of spectra -------------------------------- */

/* A run of consecutive elements of a 1-D dataset. */
typedef struct run {
    uint64_t first, count;
} run;

/* Read the runs (ascending, disjoint, within a dataset that must hold `len` elements) of 1-D
 * dataset `name`, one after another, into buf (room for the sum of the counts), so that only
 * those bytes are read. One H5Dread per run, on a simple hyperslab of the file and of the
 * buffer: HDF5 1.10 builds the union of many hyperslabs in quadratic time (a second per column
 * for 4,000 runs), while a read of a simple hyperslab costs microseconds. */
static void read_runs(reader *r, const char *name, hid_t memtype, uint64_t len, const run *runs,
                      size_t nruns, void *buf)
{
    if (r->rc) return;
    uint64_t total = 0;
    for (size_t i = 0; i < nruns; i++) total += runs[i].count;
    hid_t ds = H5Dopen2(r->file, name, H5P_DEFAULT);
    if (ds < 0) {
        rfail(r, NPSW_EFORMAT, name, "missing dataset %s", name);
        return;
    }
    hid_t fsp = H5Dget_space(ds), msp = -1;
    hsize_t dims[1] = {0};
    int nd = fsp < 0 ? -1 : H5Sget_simple_extent_ndims(fsp);
    if (nd == 1) H5Sget_simple_extent_dims(fsp, dims, NULL);
    if (nd != 1 || dims[0] != len) {
        rfail(r, NPSW_EFORMAT, name, "dataset %s has the wrong size", name);
        goto done;
    }
    if (!total) goto done;
    hsize_t mdims[1] = {total};
    msp = H5Screate_simple(1, mdims, NULL);
    herr_t st = msp < 0 ? -1 : 0;
    uint64_t at = 0;
    for (size_t i = 0; i < nruns && st >= 0; i++) {
        if (!runs[i].count) continue;
        hsize_t start[1] = {runs[i].first}, count[1] = {runs[i].count}, mstart[1] = {at};
        st = H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL);
        if (st >= 0) st = H5Sselect_hyperslab(msp, H5S_SELECT_SET, mstart, NULL, count, NULL);
        if (st >= 0) st = H5Dread(ds, memtype, msp, fsp, H5P_DEFAULT, buf);
        at += runs[i].count;
    }
    if (st < 0) rfail(r, NPSW_EHDF5, name, "cannot read dataset %s", name);
done:
    if (msp >= 0) H5Sclose(msp);
    if (fsp >= 0) H5Sclose(fsp);
    H5Dclose(ds);
}

/* Offsets of the spectra `runs` from the n + 1 offsets of dataset `name` (data of `len`
 * elements): the local offsets (m + 1, starting at 0) into off, the runs of data elements they
 * cover into drun (nruns). Checks that the offsets never decrease and stay within the data. */
static void read_run_offsets(reader *r, const char *name, uint64_t n, uint64_t len,
                             const run *runs, size_t nruns, uint64_t *off, run *drun)
{
    if (r->rc) return;
    uint64_t m = 0;
    for (size_t i = 0; i < nruns; i++) m += runs[i].count;
    run *orun = calloc(nruns ? nruns : 1, sizeof *orun);
    uint64_t *raw = malloc((m + nruns + 1) * sizeof *raw);
    if (!orun || !raw) {
        rfail(r, NPSW_ENOMEM, name, "out of memory reading %s", name);
        goto done;
    }
    /* run (first, count) needs offsets first .. first + count; runs are not adjacent, so these
     * ranges are disjoint */
    for (size_t i = 0; i < nruns; i++) orun[i] = (run){runs[i].first, runs[i].count + 1};
    read_runs(r, name, H5T_NATIVE_UINT64, n + 1, orun, nruns, raw);
    if (r->rc) goto done;
    uint64_t at = 0, k = 0;
    const uint64_t *v = raw;
    off[0] = 0;
    for (size_t i = 0; i < nruns; v += runs[i].count + 1, i++) {
        uint64_t c = runs[i].count;
        int bad = v[c] > len || (runs[i].first == 0 && v[0] != 0) ||
                  (runs[i].first + c == n && v[c] != len);
        for (uint64_t j = 0; j < c && !bad; j++) bad = v[j + 1] < v[j];
        if (bad) {
            rfail(r, NPSW_EFORMAT, name, "offsets in %s do not match the data", name);
            goto done;
        }
        drun[i] = (run){v[0], v[c] - v[0]};
        for (uint64_t j = 0; j < c; j++, k++) off[k + 1] = at + (v[j + 1] - v[0]);
        at += v[c] - v[0];
    }
done:
    free(orun);
    free(raw);
}

/* The spectra `runs` (ascending, not adjacent, within the file) of the library at path. */
static npsw_lib *open_runs(const char *path, const run *runs, size_t nruns, uint64_t *whole_idx,
                           uint32_t shard, uint32_t n_shards, npsw_err *err)
{
    h5_quiet q;
    quiet_on(&q);
    reader r = {-1, path, err, 0};
    npsw_lib *lib = open_header(&r, path);
    run *prun = NULL, *own = NULL;
    if (!lib || r.rc) goto out;
    const uint64_t n = lib->n, np = lib->n_peaks;
    if (n_shards) { /* a shard: its range follows from the file's size */
        uint64_t a = shard * n / n_shards, b = (shard + 1ull) * n / n_shards;
        if (!(own = malloc(sizeof *own))) {
            rfail(&r, NPSW_ENOMEM, "/", "%s", "out of memory");
            goto out;
        }
        *own = (run){a, b - a};
        runs = own;
        nruns = 1;
    }
    uint64_t m = 0;
    for (size_t i = 0; i < nruns; i++) {
        if (runs[i].first > n || runs[i].count > n - runs[i].first) {
            r.rc = npsw_err_set(err, NPSW_EINVAL, path, 0,
                                "spectrum %llu is beyond the library's %llu spectra",
                                (unsigned long long)(runs[i].first + runs[i].count),
                                (unsigned long long)n);
            goto out;
        }
        m += runs[i].count;
    }
    lib->part = 1;
    lib->whole_n = n;
    lib->whole_first = nruns ? runs[0].first : 0;
    lib->whole_idx = whole_idx;
    whole_idx = NULL;
    lib->n = m;
    lib->n_peaks = 0;
    lib->offsets = calloc(m + 1, sizeof *lib->offsets);
    prun = malloc((nruns ? nruns : 1) * sizeof *prun);
    if (!lib->offsets || !prun) {
        rfail(&r, NPSW_ENOMEM, "/spectra", "out of memory reading %s", "/spectra");
        goto out;
    }
    read_run_offsets(&r, "/spectra/offsets", n, np, runs, nruns, lib->offsets, prun);
    if (r.rc) goto out;
    const uint64_t gbase = nruns ? prun[0].first : 0; /* the file's index of the first peak */
    uint64_t mp = lib->offsets[m];
    lib->n_peaks = mp;
    lib->mz = malloc((mp ? mp : 1) * sizeof *lib->mz);
    lib->in = malloc((mp ? mp : 1) * sizeof *lib->in);
    lib->mw = malloc((m ? m : 1) * sizeof(double));
    lib->exact_mass = malloc((m ? m : 1) * sizeof(double));
    lib->precursor_mz = malloc((m ? m : 1) * sizeof(double));
    lib->ri = malloc((m ? m : 1) * sizeof(double));
    lib->ion_mode = malloc(m ? m : 1);
    if (!lib->mz || !lib->in || !lib->mw || !lib->exact_mass || !lib->precursor_mz || !lib->ri ||
        !lib->ion_mode) {
        rfail(&r, NPSW_ENOMEM, "/spectra", "out of memory reading %s", "/spectra");
        goto out;
    }
    read_runs(&r, "/spectra/mz", H5T_NATIVE_DOUBLE, np, prun, nruns, lib->mz);
    read_runs(&r, "/spectra/intensity", H5T_NATIVE_FLOAT, np, prun, nruns, lib->in);
    read_runs(&r, "/spectra/mw", H5T_NATIVE_DOUBLE, n, runs, nruns, lib->mw);
    read_runs(&r, "/spectra/exact_mass", H5T_NATIVE_DOUBLE, n, runs, nruns, lib->exact_mass);
    read_runs(&r, "/spectra/precursor_mz", H5T_NATIVE_DOUBLE, n, runs, nruns, lib->precursor_mz);
    read_runs(&r, "/spectra/retention_index", H5T_NATIVE_DOUBLE, n, runs, nruns, lib->ri);
    read_runs(&r, "/spectra/ion_mode", H5T_NATIVE_INT8, n, runs, nruns, lib->ion_mode);
    for (int f = 0; f < NPSW_META_COUNT && !r.rc; f++) {
        char name[96], dname[112];
        npsw_strcol *c = &lib->meta[f];
        snprintf(name, sizeof name, "/meta/%s", npsw_meta_column(f));
        c->off = calloc(m + 1, sizeof *c->off);
        if (!c->off) {
            rfail(&r, NPSW_ENOMEM, name, "%s", "out of memory");
            break;
        }
        if (H5Lexists(r.file, name, H5P_DEFAULT) <= 0) { /* added in a later minor version */
            if (!(c->data = malloc(1))) rfail(&r, NPSW_ENOMEM, name, "%s", "out of memory");
            continue;
        }
        snprintf(name, sizeof name, "/meta/%s/offsets", npsw_meta_column(f));
        snprintf(dname, sizeof dname, "/meta/%s/data", npsw_meta_column(f));
        uint64_t len = dataset_length(&r, dname);
        read_run_offsets(&r, name, n, len, runs, nruns, c->off, prun);
        if (r.rc) break;
        if (!(c->data = malloc(c->off[m] ? c->off[m] : 1))) {
            rfail(&r, NPSW_ENOMEM, name, "%s", "out of memory");
            break;
        }
        read_runs(&r, dname, H5T_NATIVE_UCHAR, len, prun, nruns, c->data);
    }
    check_nominal_mz(&r, lib);
    read_provenance(&r, &lib->info);
    read_lineage(&r, &lib->info, n);
    /* the stored index covers the whole library: the part's is rebuilt from its peaks */
    if (!r.rc && lib->info.clean.nominal && npsw_lib_build_index(lib) < 0)
        rfail(&r, NPSW_ENOMEM, "/index", "out of memory building %s", "the index");
    /* a shard searches with the file's match-factor index in place */
    read_mf_index(&r, lib, gbase);
out:
    free(prun);
    free(own);
    free(whole_idx);
    return finish_open(&r, lib, &q);
}

npsw_lib *npsw_lib_open_shard(const char *path, uint32_t shard, uint32_t n_shards, npsw_err *err)
{
    if (n_shards == 0 || shard >= n_shards) {
        npsw_err_set(err, NPSW_EINVAL, path, 0, "shard %u of %u does not exist", shard, n_shards);
        return NULL;
    }
    return open_runs(path, NULL, 0, NULL, shard, n_shards, err);
}

npsw_lib *npsw_lib_open_part(const char *path, const uint64_t *index, size_t n, npsw_err *err)
{
    for (size_t i = 1; i < n; i++)
        if (index[i] <= index[i - 1]) {
            npsw_err_set(err, NPSW_EINVAL, path, 0,
                         "the spectra of a part must be given in ascending order, each once "
                         "(entry %zu: %llu after %llu)",
                         i + 1, (unsigned long long)index[i], (unsigned long long)index[i - 1]);
            return NULL;
        }
    uint64_t *idx = malloc((n ? n : 1) * sizeof *idx);
    run *runs = malloc((n ? n : 1) * sizeof *runs);
    size_t nruns = 0;
    if (!idx || !runs) {
        free(idx);
        free(runs);
        npsw_err_set(err, NPSW_ENOMEM, path, 0, "out of memory for a part of %zu spectra", n);
        return NULL;
    }
    if (n) memcpy(idx, index, n * sizeof *idx);
    for (size_t i = 0; i < n; i++) { /* consecutive spectra become one run */
        if (nruns && runs[nruns - 1].first + runs[nruns - 1].count == index[i])
            runs[nruns - 1].count++;
        else
            runs[nruns++] = (run){index[i], 1};
    }
    npsw_lib *lib = open_runs(path, runs, nruns, idx, 0, 0, err);
    free(runs);
    return lib;
}

int npsw_lib_verify(const npsw_lib *lib, npsw_err *err)
{
    if (npsw_lib_is_part(lib))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "a part of a library cannot be verified: its checksum describes the "
                            "whole library; verify the whole file ('npswatch info --verify')");
    char sha[65];
    npsw_lib_content_sha256(lib, sha);
    if (strcmp(sha, lib->info.content_sha256) != 0)
        return npsw_err_set(err, NPSW_ECHECKSUM, NULL, 0,
                            "content checksum mismatch: stored %s, computed %s (the file was "
                            "modified or damaged)",
                            lib->info.content_sha256, sha);
    /* lineage is provenance, outside the checksum: check that it agrees with the content */
    const npsw_lib_lineage *g = &lib->info.lineage;
    if (g->parent_sha256[0]) {
        if (!g->n_ancestors ||
            strcmp(g->ancestors[g->n_ancestors - 1].content_sha256, g->parent_sha256) != 0)
            return npsw_err_set(err, NPSW_ECHECKSUM, "/lineage", 0,
                                "lineage: the ancestry chain does not end with the parent %s",
                                g->parent_sha256);
        for (size_t i = 0; i < g->n_added; i++) {
            const npsw_lib_addition *a = &g->added[i];
            if (a->index >= npsw_lib_size(lib) || (i && a->index <= g->added[i - 1].index) ||
                strcmp(npsw_lib_meta(lib, a->index, NPSW_META_ACCESSION), a->accession) != 0 ||
                strcmp(npsw_lib_meta(lib, a->index, NPSW_META_NAME), a->name) != 0)
                return npsw_err_set(err, NPSW_ECHECKSUM, "/lineage/added", 0,
                                    "lineage: added entry %zu ('%s', '%s') is not entry %llu of "
                                    "the library",
                                    i + 1, a->accession, a->name,
                                    (unsigned long long)a->index + 1);
        }
    }
    if (lib->info.clean.nominal) {
        int rc = npsw_lib_check_index(lib, err);
        if (rc) return rc;
        return npsw_lib_check_mf_index(lib, err);
    }
    return 0;
}
