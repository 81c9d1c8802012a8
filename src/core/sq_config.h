/* SPDX-License-Identifier: MIT
 *
 * sq_config.h: the settings table behind syncq/config.h.
 */
#ifndef SQ_CONFIG_H
#define SQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/config.h>

enum sq_cfg_type {
    SQ_CFG_STR,      /* free text */
    SQ_CFG_URL,      /* a URL or path; validated by the user of the key */
    SQ_CFG_INT,      /* integer in [min, max] */
    SQ_CFG_DURATION, /* "30", "30s", "15m", "7d"; stored in ms */
    SQ_CFG_SIZE,     /* "1048576", "512K", "8M", "1G"; stored in bytes */
    SQ_CFG_BOOL,     /* 1/0, true/false, yes/no, on/off */
    SQ_CFG_ENUM      /* one of the '|'-separated words in `choices` */
};

#define SQ_CFG_SECRET 0x1u /* value (or URL password) never printed */

struct sq_cfg_def {
    const char *key;     /* SYNCQ_... */
    const char *alias;   /* the seed's name (CELERY_...), or NULL */
    enum sq_cfg_type type;
    int64_t min, max;    /* bounds (INT: value; DURATION: ms; SIZE: bytes) */
    const char *def;     /* default, as text */
    const char *choices; /* ENUM: "text|json" */
    unsigned flags;
    const char *section; /* "broker", "worker", ... for docs */
    const char *doc;     /* one line */
};

extern const struct sq_cfg_def sq_cfg_defs[];
extern const size_t sq_cfg_ndefs;

/* Parse one .env `line` (no newline) into key and value (owned, freed with
 * sq_free). Returns 1 if a pair was found, 0 for blank/comment lines,
 * -1 for a malformed line (message in err). Handles `export K=V`, single
 * and double quotes (with \n \" \\ escapes in double quotes), and trailing
 * ` # comments` after unquoted values. */
int sq_dotenv_parse_line(const char *line, char **key, char **value,
                         syncq_error *err);

/* Copy every value and source of `src` into `dst`.
 * Errors: SYNCQ_ENOMEM (dst keeps what was copied so far). */
int sq_config_copy(syncq_config *dst, const syncq_config *src,
                   syncq_error *err);

/* Check a name that is not a setting, with its `value` (may be NULL), as
 * found in `source` (".env line 3", "environment"). strict (a .env file):
 * every SYNCQ_ or CELERY_ name is refused; otherwise (the environment)
 * every CELERY_ name and the SYNCQ_ names shaped like a setting (one edit
 * from one, two for names of 20 characters or more, or one with more
 * after it). A Celery setting syncq has no counterpart for is accepted
 * when its value asks for what syncq does anyway (CELERY_TASK_SERIALIZER
 * =json), refused with the reason otherwise. SYNCQ_OK when the name is a
 * setting or may be ignored; SYNCQ_EINVAL naming the nearest setting, or
 * why a Celery setting is not supported. Thread-safe. */
int sq_config_check_name(const char *name, const char *value,
                         const char *source, bool strict,
                         syncq_error *err);

/* Settings that contradict each other (a soft time limit set at or above
 * the hard one, a lease shorter than two heartbeats, a result backend
 * other than the broker's Redis). SYNCQ_EINVAL naming them. */
int sq_config_check(const syncq_config *cfg, syncq_error *err);

/* Return the redacted form of `value` for key flags (owned string). */
char *sq_cfg_redact(const struct sq_cfg_def *d, const char *value);

#endif
