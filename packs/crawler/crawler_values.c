/* SPDX-License-Identifier: MIT
 *
 * crawler_values.c: loose 1688 values into normalised types (see
 * crawler_values.h). Money never passes through floating point unless
 * the source itself sent a JSON real (the classic ProductInfo model
 * does: "price": 39.0), and then it is rounded to the nearest fen once.
 */
#include "crawler/crawler_values.h"
#include "core/sq_alloc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local bool oom_flag;

void
sq_1688_oom_note(void)
{
    oom_flag = true;
}

bool
sq_1688_oom_take(void)
{
    bool was = oom_flag;

    oom_flag = false;
    return was;
}

bool
sq_1688_load_oom(const json_error_t *jerr)
{
    void *probe;

    if (json_error_code(jerr) == json_error_out_of_memory) {
        return true;
    }
    /* jansson reports a failed allocation inside a string as a syntax
     * error; a probe allocation tells the two apart. */
    probe = sq_malloc(256);
    if (probe == NULL) {
        return true;
    }
    sq_free(probe);
    return false;
}

int
sq_1688_put(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || obj == NULL || json_object_set_new(obj, key, v) != 0) {
        oom_flag = true;
        return -1;
    }
    return 0;
}

int
sq_1688_append(json_t *arr, json_t *v)
{
    if (v == NULL || arr == NULL || json_array_append_new(arr, v) != 0) {
        oom_flag = true;
        return -1;
    }
    return 0;
}

static const char *
skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    return s;
}

bool
sq_1688_fen_parse(const char *s, int64_t *out)
{
    int64_t yuan = 0, frac = 0;
    int ndec = 0;
    bool any = false, round_up = false;

    if (s == NULL) {
        return false;
    }
    s = skip_space(s);
    /* "¥" (U+00A5, C2 A5) or the full-width "￥" (U+FFE5, EF BF A5). */
    if ((unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA5) {
        s += 2;
    } else if ((unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBF &&
               (unsigned char)s[2] == 0xA5) {
        s += 3;
    }
    s = skip_space(s);
    while (isdigit((unsigned char)*s)) {
        yuan = yuan * 10 + (*s - '0');
        if (yuan > SQ_1688_MAX_FEN / 100) {
            return false;
        }
        any = true;
        s++;
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            if (ndec < 2) {
                frac = frac * 10 + (*s - '0');
            } else if (ndec == 2) {
                round_up = *s >= '5';
            }
            ndec++;
            any = true;
            s++;
        }
    }
    s = skip_space(s);
    if (!any || *s != '\0') {
        return false;
    }
    if (ndec == 1) {
        frac *= 10;
    }
    yuan = yuan * 100 + frac + (round_up ? 1 : 0);
    if (yuan > SQ_1688_MAX_FEN) {
        return false;
    }
    *out = yuan;
    return true;
}

bool
sq_1688_json_fen(const json_t *v, int64_t *out)
{
    if (v == NULL) {
        return false;
    }
    if (json_is_string(v)) {
        return sq_1688_fen_parse(json_string_value(v), out);
    }
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > SQ_1688_MAX_FEN / 100) {
            return false;
        }
        *out = (int64_t)i * 100;
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d < 0 || d * 100.0 > (double)SQ_1688_MAX_FEN) {
            return false;
        }
        *out = (int64_t)llround(d * 100.0);
        return true;
    }
    return false;
}

bool
sq_1688_json_int(const json_t *v, int64_t *out)
{
    if (v == NULL) {
        return false;
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e15) {
            return false;
        }
        *out = (int64_t)d;
        return true;
    }
    if (json_is_string(v)) {
        const char *s = skip_space(json_string_value(v));
        char *end = NULL;
        long long n;
        bool neg = *s == '-';
        if (!isdigit((unsigned char)s[neg ? 1 : 0])) {
            return false;
        }
        errno = 0;
        n = strtoll(s, &end, 10);
        if (errno != 0 || end == s) {
            return false;
        }
        if (*skip_space(end) != '\0') {
            return false;
        }
        *out = (int64_t)n;
        return true;
    }
    return false;
}

bool
sq_1688_json_num(const json_t *v, double *out)
{
    if (v == NULL) {
        return false;
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!isfinite(d)) {
            return false;
        }
        *out = d;
        return true;
    }
    if (json_is_string(v)) {
        const char *s = skip_space(json_string_value(v));
        char *end = NULL;
        double d;
        if (!isdigit((unsigned char)*s) && *s != '.') {
            return false;
        }
        errno = 0;
        d = strtod(s, &end);
        if (errno != 0 || end == s || !isfinite(d)) {
            return false;
        }
        end = (char *)skip_space(end);
        if (*end == '%') {
            end = (char *)skip_space(end + 1);
        }
        if (*end != '\0') {
            return false;
        }
        *out = d;
        return true;
    }
    return false;
}

bool
sq_1688_json_bool(const json_t *v, bool *out)
{
    if (v == NULL) {
        return false;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i == 0 || i == 1) {
            *out = i == 1;
            return true;
        }
        return false;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

const char *
sq_1688_json_str(const json_t *v)
{
    const char *s;

    if (!json_is_string(v)) {
        return NULL;
    }
    s = json_string_value(v);
    if (*skip_space(s) == '\0') {
        return NULL;
    }
    return s;
}

json_t *
sq_1688_jpath(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *p = path;

    while (cur != NULL && *p != '\0') {
        char key[128];
        size_t n = strcspn(p, ".");
        if (!json_is_object(cur) || n == 0 || n >= sizeof key) {
            return NULL;
        }
        memcpy(key, p, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        p += n;
        if (*p == '.') {
            p++;
        }
    }
    return (json_t *)cur;
}

/* True if s[0..n) ends with `suffix` (ASCII case-insensitive). */
static bool
ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

static const char *const image_exts[] = {".jpg",  ".jpeg", ".png",
                                         ".webp", ".gif",  NULL};

/* Length of an image extension ending s[0..n), or 0. */
static size_t
ext_len(const char *s, size_t n)
{
    for (int i = 0; image_exts[i] != NULL; i++) {
        if (ends_with(s, n, image_exts[i])) {
            return strlen(image_exts[i]);
        }
    }
    return 0;
}

/* True if t[0..n) is a size token: "220x220", "460x460q100", "search",
 * "summ", "80x80". */
static bool
is_size_token(const char *t, size_t n)
{
    size_t i = 0, d1 = 0, d2 = 0;

    if ((n == 6 && strncmp(t, "search", 6) == 0) ||
        (n == 4 && strncmp(t, "summ", 4) == 0)) {
        return true;
    }
    while (i < n && isdigit((unsigned char)t[i])) {
        i++;
        d1++;
    }
    if (d1 == 0 || i >= n || (t[i] != 'x' && t[i] != 'X')) {
        return false;
    }
    i++;
    while (i < n && isdigit((unsigned char)t[i])) {
        i++;
        d2++;
    }
    if (d2 == 0) {
        return false;
    }
    if (i < n && t[i] == 'q') {
        size_t dq = 0;
        i++;
        while (i < n && isdigit((unsigned char)t[i])) {
            i++;
            dq++;
        }
        if (dq == 0) {
            return false;
        }
    }
    return i == n;
}

/* Strip one resize suffix from path[0..*n); true if one was removed. */
static bool
strip_variant(char *path, size_t *n)
{
    size_t e = ext_len(path, *n);
    size_t stem_end, start;

    if (e == 0) {
        return false;
    }
    stem_end = *n - e; /* index of the final '.' */
    /* Underscore form after a full original: "x.jpg_460x460q100.jpg",
     * "x.jpg_.webp". */
    start = stem_end;
    while (start > 0 && path[start - 1] != '_' && path[start - 1] != '/' &&
           path[start - 1] != '.') {
        start--;
    }
    if (start > 0 && path[start - 1] == '_') {
        size_t tok_len = stem_end - start;
        size_t before = start - 1;
        if ((tok_len == 0 || is_size_token(path + start, tok_len)) &&
            ext_len(path, before) > 0) {
            *n = before;
            path[*n] = '\0';
            return true;
        }
    }
    /* Dot form replacing the extension: "x.220x220.jpg" -> "x.jpg". */
    if (start > 0 && path[start - 1] == '.' &&
        is_size_token(path + start, stem_end - start)) {
        size_t dot = start - 1;
        memmove(path + dot, path + stem_end, e + 1);
        *n = dot + e;
        return true;
    }
    return false;
}

char *
sq_1688_image_url(const char *url)
{
    const char *s;
    size_t n, qpos;
    char *out;
    const char *prefix = "";
    size_t plen;
    char *tail = NULL;

    if (url == NULL) {
        return NULL;
    }
    s = skip_space(url);
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n')) {
        n--;
    }
    if (n == 0) {
        return NULL;
    }
    if (n >= 2 && s[0] == '/' && s[1] == '/') {
        prefix = "https:";
    } else if (strncasecmp(s, "http://", 7) == 0 ||
               strncasecmp(s, "https://", 8) == 0) {
        prefix = "";
    } else if (strncmp(s, "img/", 4) == 0) {
        prefix = "https://cbu01.alicdn.com/";
    } else if (strncmp(s, "/img/", 5) == 0) {
        prefix = "https://cbu01.alicdn.com";
    } else {
        return NULL;
    }
    plen = strlen(prefix);
    out = sq_malloc(plen + n + 1);
    if (out == NULL) {
        oom_flag = true;
        return NULL;
    }
    memcpy(out, prefix, plen);
    memcpy(out + plen, s, n);
    out[plen + n] = '\0';
    /* "HTTPS://x" is "https://x": one spelling per URL */
    for (size_t i = 0; out[i] != '\0' && out[i] != ':'; i++) {
        out[i] = (char)tolower((unsigned char)out[i]);
    }
    /* Work on the path part only; keep a query string as it was. */
    qpos = strcspn(out, "?#");
    if (out[qpos] != '\0') {
        tail = sq_strdup(out + qpos);
        if (tail == NULL) {
            sq_free(out);
            oom_flag = true;
            return NULL;
        }
        out[qpos] = '\0';
    }
    {
        size_t len = qpos;
        int guard = 4;
        while (guard-- > 0 && strip_variant(out, &len)) {
        }
    }
    if (tail != NULL) {
        char *joined = sq_asprintf("%s%s", out, tail);
        sq_free(out);
        sq_free(tail);
        out = joined;
        if (out == NULL) {
            oom_flag = true;
        }
    }
    return out;
}

int64_t
sq_1688_image_seller_id(const char *url)
{
    const char *p;
    int64_t id = 0;
    int digits = 0;

    if (url == NULL) {
        return 0;
    }
    p = strstr(url, "_!!");
    if (p == NULL) {
        return 0;
    }
    p += 3;
    while (isdigit((unsigned char)*p) && digits < 18) {
        id = id * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || *p != '-') {
        return 0;
    }
    return id;
}

/* Copy s[0..n) into out (cap), truncating on a UTF-8 boundary. */
static void
copy_text(char *out, size_t cap, const char *s, size_t n)
{
    if (cap == 0) {
        return;
    }
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Strip a trailing administrative suffix (省 市 自治区 特别行政区). */
static size_t
strip_admin(const char *s, size_t n)
{
    static const char *const suffixes[] = {"特别行政区", "自治区", "省", "市",
                                           NULL};
    for (int i = 0; suffixes[i] != NULL; i++) {
        size_t m = strlen(suffixes[i]);
        if (n > m && memcmp(s + n - m, suffixes[i], m) == 0) {
            return n - m;
        }
    }
    return n;
}

void
sq_1688_location_split(const char *text, char *province, size_t pcap,
                       char *city, size_t ccap)
{
    const char *s;
    const char *p;

    if (pcap > 0) {
        province[0] = '\0';
    }
    if (ccap > 0) {
        city[0] = '\0';
    }
    if (text == NULL) {
        return;
    }
    s = skip_space(text);
    if (strncmp(s, "中国", 6) == 0) {
        s = skip_space(s + 6);
    }
    if (strchr(s, ' ') != NULL) {
        /* "广东 深圳 龙华区..." (space separated). */
        size_t a = strcspn(s, " ");
        const char *b = skip_space(s + a);
        size_t bl = strcspn(b, " ");
        copy_text(province, pcap, s, strip_admin(s, a));
        copy_text(city, ccap, b, strip_admin(b, bl));
        return;
    }
    /* "广东省肇庆市", "广西壮族自治区南宁市", "上海市". */
    p = strstr(s, "省");
    if (p != NULL) {
        copy_text(province, pcap, s, (size_t)(p - s));
        p += strlen("省");
        {
            const char *m = strstr(p, "市");
            copy_text(city, ccap, p, m != NULL ? (size_t)(m - p) : strlen(p));
        }
        return;
    }
    p = strstr(s, "自治区");
    if (p != NULL) {
        copy_text(province, pcap, s, (size_t)(p - s));
        p += strlen("自治区");
        copy_text(city, ccap, p, strip_admin(p, strlen(p)));
        return;
    }
    p = strstr(s, "市");
    if (p != NULL) {
        /* A municipality: province and city are the same. */
        copy_text(province, pcap, s, (size_t)(p - s));
        copy_text(city, ccap, s, (size_t)(p - s));
        return;
    }
    copy_text(province, pcap, s, strlen(s));
}

void
sq_1688_set_int(json_t *obj, const char *key, bool has, int64_t v)
{
    sq_1688_put(obj, key, has ? json_integer(v) : json_null());
}

void
sq_1688_set_jint(json_t *obj, const char *key, const json_t *v, int64_t min)
{
    int64_t i = 0;
    bool ok = sq_1688_json_int(v, &i) && i >= min;

    sq_1688_put(obj, key, ok ? json_integer(i) : json_null());
}

void
sq_1688_set_str(json_t *obj, const char *key, const char *s)
{
    if (s == NULL || *skip_space(s) == '\0') {
        sq_1688_put(obj, key, json_null());
    } else {
        sq_1688_put(obj, key, json_string(s));
    }
}
