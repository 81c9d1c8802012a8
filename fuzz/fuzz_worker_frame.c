/* SPDX-License-Identifier: MIT
 *
 * fuzz_worker_frame.c: the supervisor <-> child pipe frame decoder. Any
 * byte stream is decoded frame after frame until it needs more bytes or
 * is refused; every field a frame yields is read through the accessors.
 * No crash, no read past the input, no leak, whatever the bytes.
 */
#include "worker/worker_frame.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t left = size;

    for (int frames = 0; frames < 1000; frames++) {
        struct sq_frame f;
        size_t used = 0;
        char buf[64];
        int rc = sq_frame_parse(p, left, 1 << 20, &f, &used, NULL);
        if (rc != 1) {
            break;
        }
        for (int tag = 0; tag <= SQ_F__COUNT; tag++) {
            sq_frame_str(&f, tag, buf, sizeof buf);
            (void)sq_frame_ll(&f, tag, 0);
            (void)sq_frame_has(&f, tag);
        }
        p += used;
        left -= used;
    }
    return 0;
}
