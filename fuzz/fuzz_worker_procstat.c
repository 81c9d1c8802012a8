/* SPDX-License-Identifier: MIT
 *
 * fuzz_worker_procstat.c: the /proc/<pid>/stat and /proc/<pid>/statm
 * parsers behind heartbeats and memory recycling. Any text yields a
 * number >= 0 or -1; never a crash or a read past the input.
 */
#include "worker/worker.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long long ticks = sq_proc_parse_stat((const char *)data, size);
    long rss = sq_proc_parse_statm((const char *)data, size);

    if (ticks < -1 || rss < -1) {
        abort();
    }
    return 0;
}
