/* npsw/libfile.h - the HDF5 reference-library file (format specified in docs/format.md).
 *
 * Writing is atomic: the file is written to PATH.tmp.PID, flushed with fsync and renamed over
 * PATH, so an interrupted or failed write leaves an existing PATH untouched. Reading checks the
 * magic, rejects a newer major format version with a message, and validates every column's size
 * before use; npsw_lib_verify() also recomputes the content SHA-256 and the peak index.
 * All HDF5 calls happen on the calling thread; the returned library is immutable.
 */
#ifndef NPSW_LIBFILE_H
#define NPSW_LIBFILE_H

#include "npsw/err.h"
#include "npsw/library.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPSW_LIBFILE_MAGIC "NPSWLIB"

int npsw_lib_write(const npsw_lib *lib, const char *path, npsw_err *err) NPSW_WUR;
/* Open a library file read-only (HDF5 file locking off, so libraries on network shares open). */
npsw_lib *npsw_lib_open(const char *path, npsw_err *err);
/* Part of a library file (npsw/library.h, "part of a library"): only the bytes of those
 * spectra are read (one HDF5 hyperslab read per run of consecutive spectra and column), and the
 * peak index is rebuilt for the part. The whole file is checked as npsw_lib_open checks it
 * (magic, version, sizes), the part's offsets and peaks as far as they are read; the content
 * SHA-256 cannot be checked on a part (npsw_lib_verify refuses it).
 * Shard s of n_shards (0 <= s < n_shards): of the N spectra of the file, those from
 * floor(s N / n_shards) to floor((s + 1) N / n_shards) - 1; some shards are empty when N is
 * smaller than n_shards. Together the shards hold every spectrum once, in order. */
npsw_lib *npsw_lib_open_shard(const char *path, uint32_t shard, uint32_t n_shards, npsw_err *err);
/* The spectra index[0..n) (0-based whole-library indices, strictly ascending, else
 * NPSW_EINVAL; beyond the file: NPSW_EINVAL). n may be 0 (an empty part). */
npsw_lib *npsw_lib_open_part(const char *path, const uint64_t *index, size_t n, npsw_err *err);
/* Recompute the content checksum and the index and compare them with the stored ones. */
int npsw_lib_verify(const npsw_lib *lib, npsw_err *err) NPSW_WUR;
/* "HDF5 1.10.8" */
const char *npsw_hdf5_version(void);

#ifdef __cplusplus
}
#endif
#endif
