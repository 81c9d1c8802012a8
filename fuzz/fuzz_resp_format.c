/* SPDX-License-Identifier: MIT
 *
 * fuzz_resp_format.c: sq_resp_format_argv (broker_io.c) against hiredis's
 * redisFormatCommandArgv, byte for byte. The input is a command: each
 * argument is one length byte followed by that many bytes (fewer when the
 * input ends), so arguments may hold any byte, NUL, CR and LF included.
 * Any difference aborts.
 */
#include "broker/broker_io.h"

#include <hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *argv[256];
    size_t lens[256];
    int argc = 0;
    size_t at = 0;
    char *ours = NULL;
    char *theirs = NULL;
    int n;
    long long m;

    while (at < size && argc < 256) {
        size_t len = data[at++];
        if (len > size - at) {
            len = size - at;
        }
        argv[argc] = (const char *)data + at;
        lens[argc] = len;
        argc++;
        at += len;
    }
    n = sq_resp_format_argv(&ours, argc, argv, lens);
    m = redisFormatCommandArgv(&theirs, argc, argv, lens);
    if (ours == NULL || theirs == NULL || n != m ||
        memcmp(ours, theirs, (size_t)n) != 0) {
        abort();
    }
    free(ours);
    redisFreeCommand(theirs);
    return 0;
}
