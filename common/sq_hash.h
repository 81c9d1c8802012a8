/* SPDX-License-Identifier: MIT
 *
 * sq_hash.h: digests through OpenSSL's EVP interface (SHA-1 for Redis
 * script ids, SHA-256 for checkpoints and content addressing, HMAC-SHA1
 * for the 1688 Open Platform signature, HMAC-SHA256 for the monitor's
 * session cookies).
 */
#ifndef SQ_HASH_H
#define SQ_HASH_H

#include <stddef.h>

/* Lowercase hex SHA-1 of `len` bytes into out (41 bytes). */
void sq_sha1_hex(const void *data, size_t len, char out[41]);
/* Lowercase hex SHA-256 into out (65 bytes). */
void sq_sha256_hex(const void *data, size_t len, char out[65]);
/* Raw SHA-256 into out (32 bytes). */
void sq_sha256(const void *data, size_t len, unsigned char out[32]);
/* Uppercase hex HMAC-SHA1(key, data) into out (41 bytes). */
void sq_hmac_sha1_hex_upper(const void *key, size_t key_len,
                            const void *data, size_t len, char out[41]);
/* Lowercase hex HMAC-SHA256(key, data) into out (65 bytes). */
void sq_hmac_sha256_hex(const void *key, size_t key_len, const void *data,
                        size_t len, char out[65]);

#endif
