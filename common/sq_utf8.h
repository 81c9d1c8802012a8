/* SPDX-License-Identifier: MIT
 *
 * sq_utf8.h: UTF-8 checks for display. Payload bytes are never changed;
 * these only make a printable copy (C37: Chinese text, emoji, NUL, binary).
 */
#ifndef SQ_UTF8_H
#define SQ_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if `len` bytes at `s` are valid UTF-8 (no overlongs, no surrogates). */
bool sq_utf8_valid(const char *s, size_t len);

/* Copy `len` bytes of `s` into `out` (size `cap`, NUL-terminated), turning
 * each invalid sequence and each NUL into U+FFFD; truncates on a character
 * boundary. Returns the number of bytes written (without the NUL). */
size_t sq_utf8_sanitize(const char *s, size_t len, char *out, size_t cap);

#endif
