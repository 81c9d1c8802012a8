/* SPDX-License-Identifier: MIT
 *
 * syncq/config.h: settings from defaults, a .env file, the environment and
 * command-line flags, in that order (later wins; DESIGN.md Configuration).
 *
 * Every setting is one row of a table (src/core/sq_config_defs.c): key,
 * alias (the seed's CELERY_* names), type, bounds, default and a doc line.
 * The loader, `syncq config show`, docs/configuration.md and the tests all
 * read that table. A bad value is an error naming the key, where the value
 * came from (".env line 12", "environment", "--concurrency") and the
 * accepted range; values are never silently clamped. Secrets (passwords in
 * URLs, tokens) are redacted by syncq_config_format().
 */
#ifndef SYNCQ_CONFIG_H
#define SYNCQ_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syncq_config syncq_config;

/* A new config holding every default. *out is NULL on error.
 * Errors: SYNCQ_ENOMEM. Free with syncq_config_free. */
SYNCQ_API int syncq_config_new(syncq_config **out, syncq_error *err);

/* Free `cfg` and every string it holds. NULL is a no-op. */
SYNCQ_API void syncq_config_free(syncq_config *cfg);

/* Apply `dotenv_path` (NULL: "./.env" if it exists, else nothing; a path
 * given explicitly must exist), then the environment (SYNCQ_* keys and
 * their aliases; the SYNCQ_ name wins when both are set).
 * Errors: SYNCQ_EINVAL (bad value or malformed .env line, with the source),
 *         SYNCQ_EIO (a named .env file cannot be read). On error the
 *         settings applied before the bad one stay applied. */
SYNCQ_API int syncq_config_load(syncq_config *cfg, const char *dotenv_path,
                                syncq_error *err);

/* Set `key` (SYNCQ_ name or alias) to `value` (copied). `source` names
 * where it came from for messages ("--concurrency"); NULL means "api".
 * Errors: SYNCQ_ENOTFOUND (unknown key), SYNCQ_EINVAL (bad value). */
SYNCQ_API int syncq_config_set(syncq_config *cfg, const char *key,
                               const char *value, const char *source,
                               syncq_error *err);

/* Typed getters. `key` must be a known SYNCQ_ name (a programming error
 * otherwise: returns "" / 0). Strings are borrowed until the key is set
 * again or the config is freed. Durations are in milliseconds; sizes in
 * bytes. */
SYNCQ_API const char *syncq_config_str(const syncq_config *cfg,
                                       const char *key);
SYNCQ_API int64_t syncq_config_int(const syncq_config *cfg, const char *key);
SYNCQ_API bool syncq_config_bool(const syncq_config *cfg, const char *key);
SYNCQ_API int64_t syncq_config_ms(const syncq_config *cfg, const char *key);

/* Where the current value of `key` came from ("default", "environment",
 * ".env line 3", "--concurrency"). Borrowed like syncq_config_str. */
SYNCQ_API const char *syncq_config_source(const syncq_config *cfg,
                                          const char *key);

/* Visit every setting in table order with its (redacted) value.
 * `fn` gets lent strings; it must not modify `cfg`. */
typedef void (*syncq_config_visit_fn)(void *ud, const char *key,
                                      const char *alias, const char *value,
                                      const char *source, const char *def,
                                      const char *doc);
SYNCQ_API void syncq_config_foreach(const syncq_config *cfg,
                                    syncq_config_visit_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif
