/* npsw/hash.h - SHA-256 (OpenSSL libcrypto underneath) for content checksums and provenance. */
#ifndef NPSW_HASH_H
#define NPSW_HASH_H

#include <stddef.h>

#include "npsw/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npsw_sha256 npsw_sha256;

/* Streaming hash. Returns NULL when out of memory. */
npsw_sha256 *npsw_sha256_new(void);
void npsw_sha256_update(npsw_sha256 *h, const void *data, size_t len);
/* Finish: writes 64 lowercase hex digits and a NUL into hex[65], and frees h. */
void npsw_sha256_final(npsw_sha256 *h, char hex[65]);
/* One-shot. */
void npsw_sha256_hex(const void *data, size_t len, char hex[65]);
/* Hash a whole file. Returns 0 or NPSW_EIO (err names the file). */
int npsw_sha256_file(const char *path, char hex[65], npsw_err *err) NPSW_WUR;

#ifdef __cplusplus
}
#endif
#endif
