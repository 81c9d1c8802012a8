/* SPDX-License-Identifier: MIT
 *
 * sq_hash.c: SHA-1, SHA-256 and HMAC-SHA1 with OpenSSL EVP.
 */
#include "sq_hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "sq_lazy_crypto.h"
#include <string.h>

static void
to_hex(const unsigned char *d, unsigned n, char *out, int upper)
{
    const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";

    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static unsigned
digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out)
{
    unsigned n = 0;

    if (EVP_Digest(data, len, out, &n, md, NULL) != 1) {
        memset(out, 0, 32);
        return (unsigned)EVP_MD_get_size(md);
    }
    return n;
}

void
sq_sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = digest(EVP_sha1(), data, len, d);

    to_hex(d, n, out, 0);
}

void
sq_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = digest(EVP_sha256(), data, len, d);

    to_hex(d, n, out, 0);
}

void
sq_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned char d[EVP_MAX_MD_SIZE];

    digest(EVP_sha256(), data, len, d);
    memcpy(out, d, 32);
}

/* HMAC(md, key, data) as hex into out (2 * digest size + 1 bytes); a
 * failure (OpenSSL missing) gives zeros, which no check accepts. */
static void
hmac_hex(const EVP_MD *md, const void *key, size_t key_len, const void *data,
         size_t len, char *out, unsigned size, int upper)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    if (HMAC(md, key, (int)key_len, data, len, d, &n) == NULL) {
        memset(d, 0, sizeof d);
        n = size;
    }
    to_hex(d, n, out, upper);
}

void
sq_hmac_sha1_hex_upper(const void *key, size_t key_len, const void *data,
                       size_t len, char out[41])
{
    hmac_hex(EVP_sha1(), key, key_len, data, len, out, 20, 1);
}

void
sq_hmac_sha256_hex(const void *key, size_t key_len, const void *data,
                   size_t len, char out[65])
{
    hmac_hex(EVP_sha256(), key, key_len, data, len, out, 32, 0);
}
