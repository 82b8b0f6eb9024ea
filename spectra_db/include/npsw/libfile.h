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
/* Recompute the content checksum and the index and compare them with the stored ones. */
int npsw_lib_verify(const npsw_lib *lib, npsw_err *err) NPSW_WUR;
/* "HDF5 1.10.8" */
const char *npsw_hdf5_version(void);

#ifdef __cplusplus
}
#endif
#endif
