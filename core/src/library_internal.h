/* library_internal.h - the layout of npsw_lib, shared by core (build, search) and spectra_db
 * (the HDF5 file reader and writer). Not installed. */
#ifndef NPSW_LIBRARY_INTERNAL_H
#define NPSW_LIBRARY_INTERNAL_H

#include "npsw/library.h"

/* A string column: value i is data[off[i] .. off[i+1]) (no NUL inside; "" when empty). */
typedef struct npsw_strcol {
    char *data;
    uint64_t *off; /* n + 1 entries */
} npsw_strcol;

/* Inverted peak index of a nominal-mass library: for nominal m/z m (1..max_mz), postings
 * bin_start[m] .. bin_start[m+1] hold (spectrum id, intensity) pairs sorted by spectrum id. */
typedef struct npsw_nominal_index {
    uint32_t max_mz;
    uint64_t *bin_start; /* max_mz + 2 entries */
    uint32_t *spec;      /* n_peaks */
    float *in;           /* n_peaks */
} npsw_nominal_index;

/* The match-factor search index (search_mf.c; format 1.3, docs/format.md "/index/mf"), made for
 * one set of weight parameters (those of the default search). Its arrays are either allocated
 * (map == NULL) or point into a read-only mapping of the library file (map != NULL: the arrays
 * are not freed one by one, the mapping is unmapped). xp holds nxp records of
 * NPSW_MF_XPOST_BYTES bytes (layout in search_mf.c and docs/format.md). */
#define NPSW_MF_XPOST_BYTES 32
#define NPSW_MF_BLOCK 2048u /* library spectra per block (the search's MFX_BLOCK) */
#define NPSW_MF_LAYOUT "npsw-mf-1" /* changes whenever the stored layout does */
typedef struct npsw_mf_index {
    int present;
    double int_power, mz_power, threshold; /* the weights and threshold it was made for */
    uint64_t n;                            /* spectra of the library file it was made for */
    /* a part of that library (one range of its spectra, npsw_lib_open_shard) uses the whole
     * file's index in place: its spectrum i is the index's spectrum base + i, its peak j the
     * index's peak gbase + j (both 0 for a whole library) */
    uint64_t base, gbase;
    uint32_t max_mz, nd, nblk;             /* nominal bins - 1, dense bins, blocks */
    uint64_t nxp;                          /* scalar postings */
    uint32_t *dense_of;                    /* max_mz + 1 */
    float *wl, *lam, *lam_a, *lam_a2;      /* nd x n each */
    uint8_t *code, *dpa, *dpa2;            /* nd x n each */
    uint64_t *xp_start;                    /* max_mz + 2 */
    void *xp;                              /* nxp records */
    uint64_t *xp_blk;                      /* (max_mz + 1) x (nblk + 1) */
    double *lnorm;                         /* n */
    float *llo;                            /* n */
    void *map;                             /* the file mapping the arrays point into, or NULL */
    size_t map_len;
    unsigned owned;                        /* bit i set: array i was allocated (see search_mf.c) */
} npsw_mf_index;

struct npsw_lib {
    uint64_t n, n_peaks;
    uint64_t *offsets; /* n + 1 */
    double *mz;
    float *in;
    double *mw, *exact_mass, *precursor_mz, *ri;
    int8_t *ion_mode;
    npsw_strcol meta[NPSW_META_COUNT];
    npsw_lib_info info;
    npsw_nominal_index idx; /* built for nominal libraries; empty otherwise */
    npsw_mf_index mfi;      /* read from the file when it holds one (format >= 1.3) */
    /* a part of a library file (npsw_lib_is_part): spectra whole_first .. whole_first + n - 1
     * of the whole, or, when whole_idx is set, spectra whole_idx[0..n) (strictly ascending) */
    int part;
    uint64_t whole_n, whole_first;
    uint64_t *whole_idx;
};

/* Allocate an empty library with room for n spectra and n_peaks peaks (columns zeroed). */
npsw_lib *npsw_lib_alloc(uint64_t n, uint64_t n_peaks);
/* Build idx from the peaks. Returns 0 or NPSW_ENOMEM. */
int npsw_lib_build_index(npsw_lib *lib);
/* Check a loaded index against the peaks it must have been made from. */
int npsw_lib_check_index(const npsw_lib *lib, npsw_err *err);
void npsw_lib_info_free(npsw_lib_info *info);

/* The match-factor index of a nominal library for the default search parameters, as
 * 'npswatch build' stores it. 0, NPSW_ENOMEM, or 1 when the library cannot have one
 * (intensities outside the range the single-precision sums take; not nominal). */
int npsw_mf_index_build(const npsw_lib *lib, npsw_mf_index *out);
/* The index's arrays, for the file reader and writer: name in /index/mf, where the pointer
 * lives, element type and count (from the sizes already set in ix). */
enum { NPSW_MF_U8, NPSW_MF_U32, NPSW_MF_U64, NPSW_MF_F32, NPSW_MF_F64 };
#define NPSW_MF_NARRAYS 13
typedef struct npsw_mf_array {
    const char *name;
    void **ptr;
    int type;       /* NPSW_MF_*; xp is NPSW_MF_U8 (NPSW_MF_XPOST_BYTES per record) */
    size_t elsize;  /* bytes per element */
    uint64_t count; /* elements */
} npsw_mf_array;
void npsw_mf_index_arrays(npsw_mf_index *ix, npsw_mf_array out[NPSW_MF_NARRAYS]);
void npsw_mf_index_free(npsw_mf_index *ix);
/* Cheap structural checks of a loaded index made for a library file of n spectra whose nominal
 * index ends at max_mz (ranges and orders of the small arrays; the kernels stay within bounds
 * whatever the large arrays hold). 0 or NPSW_EFORMAT with *what set. */
int npsw_mf_index_check_shape(const npsw_mf_index *ix, uint64_t n, uint32_t max_mz,
                              const char **what);
/* Rebuild the stored index and compare it byte for byte ('info --verify'). */
int npsw_lib_check_mf_index(const npsw_lib *lib, npsw_err *err);

#endif
