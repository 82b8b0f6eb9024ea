/* hash.c - SHA-256 through OpenSSL's EVP interface. */
#include "npsw/hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

npsw_sha256 *npsw_sha256_new(void)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return NULL;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    /* the handle is the context itself: no second allocation */
    return (npsw_sha256 *)ctx;
}

void npsw_sha256_update(npsw_sha256 *h, const void *data, size_t len)
{
    if (h && len) EVP_DigestUpdate((EVP_MD_CTX *)h, data, len);
}

void npsw_sha256_final(npsw_sha256 *h, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    static const char digits[] = "0123456789abcdef";
    hex[0] = '\0';
    if (!h) return;
    EVP_DigestFinal_ex((EVP_MD_CTX *)h, md, &n);
    EVP_MD_CTX_free((EVP_MD_CTX *)h);
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

void npsw_sha256_hex(const void *data, size_t len, char hex[65])
{
    npsw_sha256 *h = npsw_sha256_new();
    npsw_sha256_update(h, data, len);
    npsw_sha256_final(h, hex);
}

int npsw_sha256_file(const char *path, char hex[65], npsw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return npsw_err_set(err, NPSW_EIO, path, 0, "cannot open: %s", strerror(errno));
    npsw_sha256 *h = npsw_sha256_new();
    if (!h) {
        fclose(f);
        return npsw_err_set(err, NPSW_ENOMEM, path, 0, "out of memory");
    }
    unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) npsw_sha256_update(h, buf, got);
    int bad = ferror(f);
    fclose(f);
    npsw_sha256_final(h, hex);
    if (bad) return npsw_err_set(err, NPSW_EIO, path, 0, "read error");
    return 0;
}
