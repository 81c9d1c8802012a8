/* SPDX-License-Identifier: MIT
 *
 * fuzz_dotenv.c: any bytes as .env lines (split at newlines): the line
 * parser never crashes; a parsed pair is NUL-terminated and owned.
 */
#include "sq_alloc.h"
#include "core/sq_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char *line;
    char *next;

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    for (line = s; line != NULL; line = next) {
        char *k = NULL;
        char *v = NULL;
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        if (sq_dotenv_parse_line(line, &k, &v, NULL) == 1) {
            if (strlen(k) == 0) {
                abort();
            }
        }
        sq_free(k);
        sq_free(v);
    }
    free(s);
    return 0;
}
