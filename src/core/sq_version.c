/* SPDX-License-Identifier: MIT
 *
 * sq_version.c: syncq_version (include/syncq/syncq.h), in the library so
 * that libsyncq.so is whole: the monitor's /api/version calls it, and a
 * program linked with libsyncq alone needs it too.
 */
#include <syncq/syncq.h>
#include <syncq/version.h>

const char *
syncq_version(void)
{
    return SYNCQ_VERSION_STRING;
}
