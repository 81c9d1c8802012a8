/* SPDX-License-Identifier: MIT
 *
 * sq_time_api.c: syncq/time.h, the library's clocks (sq_time.h) for code
 * outside it: task packs and plugins.
 */
#include "core/sq_time.h"

#include <syncq/time.h>

int64_t
syncq_now_ms(void)
{
    return sq_now_ms();
}

int64_t
syncq_mono_ms(void)
{
    return sq_mono_ms();
}

int64_t
syncq_mono_us(void)
{
    return sq_mono_us();
}

void
syncq_sleep_ms(int64_t ms)
{
    sq_sleep_ms(ms);
}

int
syncq_time_parse_iso8601(const char *s, int64_t *out_ms, syncq_error *err)
{
    return sq_time_parse_iso8601(s, out_ms, err);
}

const char *
syncq_time_format_iso8601(int64_t ms, char *buf, size_t cap)
{
    return sq_time_format_iso8601(ms, buf, cap);
}

const char *
syncq_time_format_iso8601_ms(int64_t ms, char *buf, size_t cap)
{
    return sq_time_format_iso8601_ms(ms, buf, cap);
}

int
syncq_duration_parse_ms(const char *s, int64_t *out_ms, syncq_error *err)
{
    return sq_duration_parse_ms(s, out_ms, err);
}
