/* SPDX-License-Identifier: MIT
 *
 * sq_config.c: load, validate and read settings. The table lives in
 * sq_config_defs.c; this file only knows the types.
 */
#include "core/sq_config.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_rate.h"
#include "core/sq_time.h"
#include "core/sq_tz.h"
#include "sq_netguard.h"
#include "sq_url.h"
#include "sq_wxh.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct sq_cfg_val {
    char *text;   /* value as given */
    int64_t num;  /* parsed INT/DURATION/SIZE/BOOL */
    char *source; /* "default", "environment", ".env line 3", "--flag" */
};

struct syncq_config {
    struct sq_cfg_val *vals; /* parallel to sq_cfg_defs */
};

static const struct sq_cfg_def *
find_def(const char *key, size_t *idx)
{
    for (size_t i = 0; i < sq_cfg_ndefs; i++) {
        const struct sq_cfg_def *d = &sq_cfg_defs[i];
        if (strcmp(d->key, key) == 0 ||
            (d->alias != NULL && strcmp(d->alias, key) == 0)) {
            if (idx != NULL) {
                *idx = i;
            }
            return d;
        }
    }
    return NULL;
}

static int
parse_bool(const char *s, int64_t *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int
parse_size(const char *s, int64_t *out)
{
    char *end;
    double v;
    int64_t mul = 1;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno != 0 || v < 0) {
        return -1;
    }
    if (*end == 'k' || *end == 'K') {
        mul = 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        mul = 1024 * 1024;
        end++;
    } else if (*end == 'g' || *end == 'G') {
        mul = 1024LL * 1024 * 1024;
        end++;
    }
    if (*end == 'b' || *end == 'B') {
        end++;
    }
    if (*end != '\0' || v * (double)mul > 9.0e15) {
        return -1;
    }
    *out = (int64_t)(v * (double)mul);
    return 0;
}

static int
enum_has(const char *choices, const char *s)
{
    size_t n = strlen(s);
    const char *p = choices;

    while (p != NULL && *p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncasecmp(p, s, n) == 0) {
            return 1;
        }
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* Text settings with a syntax of their own, checked when they are set so
 * a typo stops `syncq` at start rather than failing the first task that
 * reads it (hours later, in a worker). */
static int
check_rate(const char *text, syncq_error *err)
{
    struct sq_rate r;
    return sq_rate_parse(text, &r, err);
}

static int
check_sizes(const char *text, syncq_error *err)
{
    struct sq_wxh boxes[SQ_WXH_LIST_MAX];
    int n;
    return sq_wxh_list_parse(text, boxes, SQ_WXH_LIST_MAX, &n, err);
}

static int
check_netallow(const char *text, syncq_error *err)
{
    struct sq_netallow al;
    return sq_netallow_parse(text, &al, err);
}

static int
check_timezone(const char *text, syncq_error *err)
{
    const struct sq_tz *tz;

    if (text[0] == '\0') {
        /* sq_tz_get reads "" as UTC; as a setting it is a mistake */
        return sq_fail(err, SYNCQ_EINVAL, "empty; use an IANA zone name "
                                          "such as Asia/Shanghai or UTC");
    }
    return sq_tz_get(text, &tz, err);
}

static const struct {
    const char *key;
    int (*check)(const char *text, syncq_error *err);
} text_checks[] = {
    {"SYNCQ_CRAWLER_RATE", check_rate},
    {"SYNCQ_IMAGE_RATE", check_rate},
    {"SYNCQ_FETCH_ALLOW", check_netallow},
    {"SYNCQ_THUMBNAIL_SIZES", check_sizes},
    {"SYNCQ_TIMEZONE", check_timezone},
};

static int
check_text(const struct sq_cfg_def *d, const char *text, const char *source,
           syncq_error *err)
{
    syncq_error e2;

    for (size_t i = 0; i < sizeof text_checks / sizeof text_checks[0]; i++) {
        if (strcmp(text_checks[i].key, d->key) == 0 &&
            text_checks[i].check(text, &e2) != SYNCQ_OK) {
            return sq_fail(err, SYNCQ_EINVAL, "%s (%s): %s", d->key, source,
                           e2.msg);
        }
    }
    return SYNCQ_OK;
}

/* Validate `text` for `d`; on success store the parsed number in *num. */
static int
validate(const struct sq_cfg_def *d, const char *text, const char *source,
         int64_t *num, syncq_error *err)
{
    char *end;
    syncq_error e2;

    *num = 0;
    switch (d->type) {
    case SQ_CFG_STR:
    case SQ_CFG_URL:
        if (strlen(text) > 4096) {
            return sq_fail(err, SYNCQ_EINVAL, "%s (%s): value too long",
                           d->key, source);
        }
        return check_text(d, text, source, err);
    case SQ_CFG_ENUM:
        if (!enum_has(d->choices, text)) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s (%s): '%.64s' is not one of %s", d->key,
                           source, text, d->choices);
        }
        return SYNCQ_OK;
    case SQ_CFG_BOOL:
        if (parse_bool(text, num) != 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s (%s): '%.64s' is not a boolean (use true or "
                           "false)",
                           d->key, source, text);
        }
        return SYNCQ_OK;
    case SQ_CFG_INT:
        errno = 0;
        *num = strtoll(text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno != 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s (%s): '%.64s' is not an integer", d->key,
                           source, text);
        }
        break;
    case SQ_CFG_DURATION:
        if (sq_duration_parse_ms(text, num, &e2) != SYNCQ_OK) {
            return sq_fail(err, SYNCQ_EINVAL, "%s (%s): %s", d->key, source,
                           e2.msg);
        }
        break;
    case SQ_CFG_SIZE:
        if (parse_size(text, num) != 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s (%s): '%.64s' is not a size (use e.g. 512K, "
                           "8M)",
                           d->key, source, text);
        }
        break;
    }
    if (*num < d->min || *num > d->max) {
        if (d->type == SQ_CFG_DURATION) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s (%s): '%.64s' out of range %.3f..%.3f s",
                           d->key, source, text, (double)d->min / 1000.0,
                           (double)d->max / 1000.0);
        }
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s (%s): '%.64s' out of range %lld..%lld", d->key,
                       source, text, (long long)d->min, (long long)d->max);
    }
    return SYNCQ_OK;
}

static int
store(syncq_config *cfg, size_t i, const char *text, const char *source,
      syncq_error *err)
{
    const struct sq_cfg_def *d = &sq_cfg_defs[i];
    int64_t num;
    char *t;
    char *s;
    int rc = validate(d, text, source, &num, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    t = sq_strdup(text);
    s = sq_strdup(source);
    if (t == NULL || s == NULL) {
        sq_free(t);
        sq_free(s);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory storing %s", d->key);
    }
    sq_free(cfg->vals[i].text);
    sq_free(cfg->vals[i].source);
    cfg->vals[i].text = t;
    cfg->vals[i].source = s;
    cfg->vals[i].num = num;
    return SYNCQ_OK;
}

int
syncq_config_new(syncq_config **out, syncq_error *err)
{
    syncq_config *cfg;

    *out = NULL;
    cfg = sq_calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory creating config");
    }
    cfg->vals = sq_calloc(sq_cfg_ndefs, sizeof *cfg->vals);
    if (cfg->vals == NULL) {
        sq_free(cfg);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory creating config");
    }
    for (size_t i = 0; i < sq_cfg_ndefs; i++) {
        int rc = store(cfg, i, sq_cfg_defs[i].def, "default", err);
        if (rc != SYNCQ_OK) {
            syncq_config_free(cfg);
            return rc;
        }
    }
    *out = cfg;
    return SYNCQ_OK;
}

void
syncq_config_free(syncq_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (size_t i = 0; i < sq_cfg_ndefs; i++) {
        sq_free(cfg->vals[i].text);
        sq_free(cfg->vals[i].source);
    }
    sq_free(cfg->vals);
    sq_free(cfg);
}

int
syncq_config_set(syncq_config *cfg, const char *key, const char *value,
                 const char *source, syncq_error *err)
{
    size_t i;

    if (key == NULL || value == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "config key and value required");
    }
    if (find_def(key, &i) == NULL) {
        return sq_fail(err, SYNCQ_ENOTFOUND, "unknown setting %.64s", key);
    }
    return store(cfg, i, value, source != NULL ? source : "api", err);
}

/* Both names of one setting given, to different values, in one file. */
static int
check_conflict(const syncq_config *cfg, size_t i, const char *name,
               const char *val, const char *src, syncq_error *err)
{
    const struct sq_cfg_def *d = &sq_cfg_defs[i];
    const char *other = strcmp(name, d->key) == 0 ? d->alias : d->key;

    if (strcmp(cfg->vals[i].text, val) == 0) {
        return SYNCQ_OK;
    }
    return sq_fail(err, SYNCQ_EINVAL,
                   "%s (%s) and %s (%s) name one setting, with different "
                   "values; keep one",
                   name, src, other, cfg->vals[i].source);
}

/* One pair of a .env file. `seen` records, per setting, which of its two
 * names the file gave (1 key, 2 alias) to find conflicting pairs. */
static int
apply_pair(syncq_config *cfg, const char *key, const char *val,
           const char *src, unsigned char *seen, syncq_error *err)
{
    const struct sq_cfg_def *d;
    size_t i;
    unsigned char form;
    int rc;

    d = find_def(key, &i);
    if (d == NULL) {
        /* other programs' keys are theirs; SYNCQ_/CELERY_ ones are ours */
        return sq_config_check_name(key, val, src, true, err);
    }
    form = strcmp(key, d->key) == 0 ? 1 : 2;
    if ((seen[i] | form) == 3) {
        rc = check_conflict(cfg, i, key, val, src, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    seen[i] |= form;
    return store(cfg, i, val, src, err);
}

static int
apply_dotenv(syncq_config *cfg, const char *path, bool must_exist,
             syncq_error *err)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int lineno = 0;
    int rc = SYNCQ_OK;
    unsigned char *seen;
    struct stat st;

    if (f == NULL) {
        if (!must_exist && errno == ENOENT) {
            return SYNCQ_OK;
        }
        return sq_fail_errno(err, SYNCQ_EIO, "cannot read %s: %s", path,
                             strerror(errno));
    }
    /* fopen() opens a directory; reading it then fails quietly */
    if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        fclose(f);
        return sq_fail(err, SYNCQ_EIO, "cannot read %s: a directory, not a "
                       ".env file", path);
    }
    seen = sq_calloc(sq_cfg_ndefs, 1);
    if (seen == NULL) {
        fclose(f);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory reading %s", path);
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *key = NULL;
        char *val = NULL;
        char src[64];
        int r;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        r = sq_dotenv_parse_line(line, &key, &val, err);
        if (r < 0) {
            sq_error_prefix(err, path);
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%s (line %d)", err ? err->msg : "",
                     lineno);
            if (err != NULL) {
                snprintf(err->msg, sizeof err->msg, "%s", tmp);
            }
            rc = SYNCQ_EINVAL;
            break;
        }
        if (r == 0) {
            continue;
        }
        snprintf(src, sizeof src, ".env line %d", lineno);
        /* The environment pass runs after and wins; an invalid .env value
         * is still an error even if the environment shadows it. */
        rc = apply_pair(cfg, key, val, src, seen, err);
        sq_free(key);
        sq_free(val);
        if (rc != SYNCQ_OK) {
            break;
        }
    }
    sq_free(seen);
    fclose(f);
    return rc;
}

/* SYNCQ_/CELERY_ names in the environment that are no settings. */
static int
check_environment_names(syncq_error *err)
{
    extern char **environ;

    for (char **e = environ; e != NULL && *e != NULL; e++) {
        char name[128];
        size_t n = strcspn(*e, "=");
        int rc;
        if (n >= sizeof name) {
            continue; /* too long to be a setting of ours */
        }
        memcpy(name, *e, n);
        name[n] = '\0';
        if (find_def(name, NULL) != NULL) {
            continue;
        }
        rc = sq_config_check_name(name, (*e)[n] == '=' ? *e + n + 1 : NULL,
                                  "environment", false, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return SYNCQ_OK;
}

int
syncq_config_load(syncq_config *cfg, const char *dotenv_path,
                  syncq_error *err)
{
    int rc;

    if (dotenv_path != NULL) {
        rc = apply_dotenv(cfg, dotenv_path, true, err);
    } else {
        rc = apply_dotenv(cfg, ".env", false, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = check_environment_names(err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (size_t i = 0; i < sq_cfg_ndefs; i++) {
        const struct sq_cfg_def *d = &sq_cfg_defs[i];
        const char *v = getenv(d->key);
        const char *av = d->alias != NULL ? getenv(d->alias) : NULL;
        const char *src = "environment";
        char abuf[96];
        if (v != NULL && av != NULL && strcmp(v, av) != 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s and %s name one setting and are both set in "
                           "the environment, to different values; keep one",
                           d->key, d->alias);
        }
        if (v == NULL && av != NULL) {
            v = av;
            snprintf(abuf, sizeof abuf, "environment %s", d->alias);
            src = abuf;
        }
        if (v == NULL) {
            continue;
        }
        rc = store(cfg, i, v, src, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return sq_config_check(cfg, err);
}

static const struct sq_cfg_val *
val_of(const syncq_config *cfg, const char *key)
{
    size_t i;

    if (cfg == NULL || find_def(key, &i) == NULL) {
        return NULL;
    }
    return &cfg->vals[i];
}

const char *
syncq_config_str(const syncq_config *cfg, const char *key)
{
    const struct sq_cfg_val *v = val_of(cfg, key);

    return v != NULL ? v->text : "";
}

int64_t
syncq_config_int(const syncq_config *cfg, const char *key)
{
    const struct sq_cfg_val *v = val_of(cfg, key);

    return v != NULL ? v->num : 0;
}

bool
syncq_config_bool(const syncq_config *cfg, const char *key)
{
    return syncq_config_int(cfg, key) != 0;
}

int64_t
syncq_config_ms(const syncq_config *cfg, const char *key)
{
    return syncq_config_int(cfg, key);
}

const char *
syncq_config_source(const syncq_config *cfg, const char *key)
{
    const struct sq_cfg_val *v = val_of(cfg, key);

    return v != NULL ? v->source : "";
}

char *
sq_cfg_redact(const struct sq_cfg_def *d, const char *value)
{
    if (!(d->flags & SQ_CFG_SECRET) || value == NULL || *value == '\0') {
        return sq_strdup(value);
    }
    if (d->type == SQ_CFG_URL) {
        return sq_url_redact(value);
    }
    return sq_strdup("****");
}

void
syncq_config_foreach(const syncq_config *cfg, syncq_config_visit_fn fn,
                     void *ud)
{
    for (size_t i = 0; i < sq_cfg_ndefs; i++) {
        const struct sq_cfg_def *d = &sq_cfg_defs[i];
        char *shown = sq_cfg_redact(d, cfg->vals[i].text);
        fn(ud, d->key, d->alias, shown != NULL ? shown : "", cfg->vals[i].source,
           d->def, d->doc);
        sq_free(shown);
    }
}

int
sq_dotenv_parse_line(const char *line, char **key, char **value,
                     syncq_error *err)
{
    const char *p = line;
    const char *k0;
    size_t klen;
    struct {
        char *d;
        size_t n, cap;
    } v = {NULL, 0, 0};

    *key = NULL;
    *value = NULL;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '\0' || *p == '#') {
        return 0;
    }
    if (strncmp(p, "export ", 7) == 0) {
        p += 7;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
    }
    k0 = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '.') {
        p++;
    }
    klen = (size_t)(p - k0);
    if (klen == 0 || isdigit((unsigned char)*k0)) {
        return sq_fail(err, SYNCQ_EINVAL, "expected KEY=VALUE");
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p != '=') {
        return sq_fail(err, SYNCQ_EINVAL, "expected '=' after %.*s",
                       (int)(klen > 64 ? 64 : klen), k0);
    }
    p++;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    v.cap = strlen(p) + 1;
    v.d = sq_malloc(v.cap);
    if (v.d == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        while (*p != '\0' && *p != q) {
            if (q == '"' && *p == '\\' && p[1] != '\0') {
                p++;
                v.d[v.n++] = (*p == 'n') ? '\n' : (*p == 't') ? '\t' : *p;
                p++;
                continue;
            }
            v.d[v.n++] = *p++;
        }
        if (*p != q) {
            sq_free(v.d);
            return sq_fail(err, SYNCQ_EINVAL, "unterminated quote");
        }
        p++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p != '\0' && *p != '#') {
            sq_free(v.d);
            return sq_fail(err, SYNCQ_EINVAL, "text after closing quote");
        }
    } else {
        while (*p != '\0') {
            if (*p == '#' && v.n > 0 &&
                (v.d[v.n - 1] == ' ' || v.d[v.n - 1] == '\t')) {
                break;
            }
            v.d[v.n++] = *p++;
        }
        while (v.n > 0 && (v.d[v.n - 1] == ' ' || v.d[v.n - 1] == '\t')) {
            v.n--;
        }
    }
    v.d[v.n] = '\0';
    *key = sq_strndup(k0, klen);
    if (*key == NULL) {
        sq_free(v.d);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    *value = v.d;
    return 1;
}

int
sq_config_copy(syncq_config *dst, const syncq_config *src, syncq_error *err)
{
    for (size_t i = 0; i < sq_cfg_ndefs; i++) {
        char *t = sq_strdup(src->vals[i].text);
        char *s = sq_strdup(src->vals[i].source);
        if (t == NULL || s == NULL) {
            sq_free(t);
            sq_free(s);
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory copying config");
        }
        sq_free(dst->vals[i].text);
        sq_free(dst->vals[i].source);
        dst->vals[i].text = t;
        dst->vals[i].source = s;
        dst->vals[i].num = src->vals[i].num;
    }
    return SYNCQ_OK;
}
