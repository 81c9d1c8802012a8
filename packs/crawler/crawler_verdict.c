/* SPDX-License-Identifier: MIT
 *
 * crawler_verdict.c: decide what a 1688 response is before anything
 * parses it (1688-data.md §2 errors, §5 anti-crawl). Blocked answers
 * often come back as HTTP 200, so the body is checked too: the punish /
 * x5sec / captcha markers and the security texts in the first bytes of an
 * HTML body, the mtop `ret` codes and {"action":"captcha"} in a JSON body,
 * the gateway's flat {error_code, error_message} and the business
 * envelope's success=false. A blocked page is never treated as data.
 */
#include "crawler/crawler_parse.h"
#include "crawler/crawler_values.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syncq/task.h>

#define HEAD_BYTES 2048             /* markers are looked for in this prefix */
#define JSON_PROBE_MAX (256u << 10) /* small JSON bodies are inspected */

static const char *const outcome_names[] = {
    "ok",   "blocked",   "login_required", "not_found", "rate_limited",
    "auth", "transient", "timeout",        "rejected",  "unexpected",
};

const char *
sq_1688_outcome_name(enum sq_1688_outcome o)
{
    if ((int)o < 0 ||
        (size_t)o >= sizeof outcome_names / sizeof *outcome_names) {
        return "unexpected";
    }
    return outcome_names[o];
}

static int
class_of(enum sq_1688_outcome o)
{
    switch (o) {
    case SQ_1688_OK:
        return SYNCQ_ERR_NONE;
    case SQ_1688_BLOCKED:
    case SQ_1688_LOGIN_REQUIRED:
        return SYNCQ_ERR_BLOCKED;
    case SQ_1688_NOT_FOUND:
        return SYNCQ_ERR_NOT_FOUND;
    case SQ_1688_RATE_LIMITED:
        return SYNCQ_ERR_RATE_LIMITED;
    case SQ_1688_AUTH:
        return SYNCQ_ERR_AUTH;
    case SQ_1688_TRANSIENT:
        return SYNCQ_ERR_HTTP_5XX;
    case SQ_1688_TIMEOUT:
        return SYNCQ_ERR_TIMEOUT;
    case SQ_1688_REJECTED:
        return SYNCQ_ERR_VALIDATION;
    case SQ_1688_UNEXPECTED:
    default:
        return SYNCQ_ERR_PARSE;
    }
}

static void set(struct sq_1688_verdict *v, enum sq_1688_outcome o,
                const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set(struct sq_1688_verdict *v, enum sq_1688_outcome o, const char *code,
    const char *fmt, ...)
{
    va_list ap;

    v->outcome = o;
    v->error_class = class_of(o);
    snprintf(v->code, sizeof v->code, "%s", code != NULL ? code : "");
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
}

/* memmem over at most HEAD_BYTES of the body. */
static bool
head_has(const char *body, size_t len, const char *needle)
{
    size_t n = len < HEAD_BYTES ? len : HEAD_BYTES;
    size_t m = strlen(needle);

    if (body == NULL || m == 0 || n < m) {
        return false;
    }
    for (size_t i = 0; i + m <= n; i++) {
        if (body[i] == needle[0] && memcmp(body + i, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

/* First non-blank byte of the body (after a UTF-8 BOM), or 0. */
static char
first_byte(const char *body, size_t len)
{
    size_t i = 0;

    if (body == NULL) {
        return 0;
    }
    if (len >= 3 && (unsigned char)body[0] == 0xEF &&
        (unsigned char)body[1] == 0xBB && (unsigned char)body[2] == 0xBF) {
        i = 3;
    }
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' ||
                       body[i] == '\t')) {
        i++;
    }
    return i < len ? body[i] : 0;
}

/* Anti-bot markers in an HTML/text body (1688-data.md §5). */
static bool
html_markers(const char *body, size_t len, struct sq_1688_verdict *v,
             long status)
{
    static const char *const blocked[] = {"_____tmd_____",
                                          "x5secdata",
                                          "/punish?",
                                          "captchacapslide",
                                          "FAIL_SYS_USER_VALIDATE",
                                          "RGV587",
                                          "验证码",
                                          "安全验证",
                                          "访问异常",
                                          "nocaptcha",
                                          NULL};

    for (int i = 0; blocked[i] != NULL; i++) {
        if (head_has(body, len, blocked[i])) {
            set(v, SQ_1688_BLOCKED, blocked[i],
                "anti-bot page (marker %s, HTTP %ld)", blocked[i], status);
            return true;
        }
    }
    if (head_has(body, len, "login.1688.com")) {
        set(v, SQ_1688_LOGIN_REQUIRED, "login",
            "redirected to the login page%s (HTTP %ld)", "", status);
        return true;
    }
    if (head_has(body, len, "wrongpage.html")) {
        set(v, SQ_1688_NOT_FOUND, "wrongpage",
            "offer page is gone (wrongpage%s, HTTP %ld)", "", status);
        return true;
    }
    return false;
}

static bool
contains_ci(const char *s, const char *needle)
{
    size_t m = strlen(needle);

    for (; s != NULL && *s != '\0'; s++) {
        if (strncasecmp(s, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

/* Gateway error {error_code, error_message}. */
static void
gateway_error(const char *code, const char *msg, long status,
              struct sq_1688_verdict *v)
{
    enum sq_1688_outcome o;
    char text[200];

    if (contains_ci(code, "FrequencyLimit") || contains_ci(code, "Qos")) {
        o = SQ_1688_RATE_LIMITED;
    } else if (contains_ci(code, "ISPInvokeTimeout") ||
               contains_ci(code, "Timeout")) {
        o = SQ_1688_TIMEOUT;
    } else if (contains_ci(code, "ISPInvokeError") ||
               contains_ci(code, "ServiceUnavailable") ||
               contains_ci(code, "SystemError")) {
        o = SQ_1688_TRANSIENT;
    } else if (contains_ci(code, "Signature") || contains_ci(code, "AppKey") ||
               contains_ci(code, "ACL") || contains_ci(code, "Usage") ||
               contains_ci(code, "Token") || contains_ci(code, "Auth") ||
               contains_ci(code, "Permission") || status == 401 ||
               status == 403) {
        o = SQ_1688_AUTH;
    } else if (contains_ci(code, "NotFound") || contains_ci(code, "NotExist")) {
        o = SQ_1688_NOT_FOUND;
    } else if (status >= 500) {
        o = SQ_1688_TRANSIENT;
    } else {
        o = SQ_1688_REJECTED; /* gw.ParamMissing, gw.ParamInvalid, ... */
    }
    snprintf(text, sizeof text, "%.80s: %.100s", code,
             msg != NULL ? msg : "(no message)");
    set(v, o, code, "gateway error %s (HTTP %ld)", text, status);
}

/* Business failure inside a 200: result.success == false. */
static void
business_error(const char *code, const char *msg, long status,
               struct sq_1688_verdict *v)
{
    enum sq_1688_outcome o = SQ_1688_REJECTED;
    char text[200];

    if (code == NULL) {
        code = "?";
    }
    if (contains_ci(code, "frequency") || contains_ci(code, "limit") ||
        contains_ci(code, "flow")) {
        o = SQ_1688_RATE_LIMITED;
    } else if (contains_ci(code, "not_exist") ||
               contains_ci(code, "notexist") ||
               contains_ci(code, "not_found") ||
               contains_ci(code, "notfound") ||
               (msg != NULL && (strstr(msg, "不存在") != NULL ||
                                strstr(msg, "已下架") != NULL ||
                                strstr(msg, "已删除") != NULL))) {
        o = SQ_1688_NOT_FOUND;
    } else if (contains_ci(code, "auth") || contains_ci(code, "token") ||
               contains_ci(code, "permission") || contains_ci(code, "acl")) {
        o = SQ_1688_AUTH;
    } else if (contains_ci(code, "timeout")) {
        o = SQ_1688_TIMEOUT;
    } else if (contains_ci(code, "system") || contains_ci(code, "busy") ||
               contains_ci(code, "retry")) {
        o = SQ_1688_TRANSIENT;
    }
    snprintf(text, sizeof text, "%.60s: %.120s", code,
             msg != NULL ? msg : "(no message)");
    set(v, o, code, "platform answered success=false, %s (HTTP %ld)", text,
        status);
}

/* Inspect a small JSON body; true when it decided the verdict. */
static bool
json_checks(const char *body, size_t len, long status,
            struct sq_1688_verdict *v)
{
    json_t *root;
    const json_t *x;
    const char *s;
    bool decided = false;
    int64_t code;

    if (len > JSON_PROBE_MAX) {
        return false;
    }
    root = json_loadb(body, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return false;
    }
    s = sq_1688_json_str(json_object_get(root, "action"));
    if (s != NULL && strcmp(s, "captcha") == 0) {
        set(v, SQ_1688_BLOCKED, "action=captcha",
            "captcha requested (action=captcha%s, HTTP %ld)", "", status);
        decided = true;
        goto done;
    }
    x = json_array_get(json_object_get(root, "ret"), 0);
    s = sq_1688_json_str(x);
    if (s != NULL) {
        if (strncmp(s, "FAIL_SYS_USER_VALIDATE", 22) == 0 ||
            strncmp(s, "RGV587", 6) == 0) {
            char code_s[64];
            snprintf(code_s, sizeof code_s, "%.*s", (int)strcspn(s, ":"), s);
            set(v, SQ_1688_BLOCKED, code_s, "anti-bot answer %s (HTTP %ld)",
                code_s, status);
            decided = true;
            goto done;
        }
        if (strncmp(s, "FAIL_SYS_TOKEN_EXOIRED", 22) == 0 ||
            strncmp(s, "FAIL_SYS_TOKEN_EXPIRED", 22) == 0) {
            set(v, SQ_1688_AUTH, "FAIL_SYS_TOKEN_EXOIRED",
                "mtop session token expired%s (HTTP %ld)", "", status);
            decided = true;
            goto done;
        }
    }
    s = sq_1688_json_str(json_object_get(root, "error_code"));
    if (s != NULL) {
        gateway_error(s,
                      sq_1688_json_str(json_object_get(root, "error_message")),
                      status, v);
        decided = true;
        goto done;
    }
    x = json_object_get(root, "result");
    if (json_is_object(x)) {
        bool ok = true;
        if (sq_1688_json_bool(json_object_get(x, "success"), &ok) && !ok) {
            business_error(sq_1688_json_str(json_object_get(x, "code")),
                           sq_1688_json_str(json_object_get(x, "message")),
                           status, v);
            decided = true;
            goto done;
        }
    }
    /* TMAPI-style {code, msg}: 200 is success. */
    if (json_object_get(root, "msg") != NULL &&
        sq_1688_json_int(json_object_get(root, "code"), &code) && code != 200) {
        enum sq_1688_outcome o = SQ_1688_REJECTED;
        char text[160];
        if (code == 439 || code == 401 || code == 403) {
            o = SQ_1688_AUTH;
        } else if (code == 429 || code == 503) {
            o = SQ_1688_RATE_LIMITED;
        } else if (code == 404) {
            o = SQ_1688_NOT_FOUND;
        } else if (code >= 500 || code == 417 || code == 499) {
            o = SQ_1688_TRANSIENT;
        }
        s = sq_1688_json_str(json_object_get(root, "msg"));
        snprintf(text, sizeof text, "%lld: %.100s", (long long)code,
                 s != NULL ? s : "");
        set(v, o, "code", "proxy answered code %s (HTTP %ld)", text, status);
        decided = true;
    }
done:
    json_decref(root);
    return decided;
}

void
sq_1688_classify(long status, const char *content_type, const char *location,
                 const char *body, size_t len, int64_t retry_after_ms,
                 enum sq_1688_expect expect, struct sq_1688_verdict *v)
{
    char first;
    bool is_json, is_html;

    memset(v, 0, sizeof *v);
    v->retry_after_ms = retry_after_ms > 0 ? retry_after_ms : 0;
    if (body == NULL) {
        len = 0;
    }
    first = first_byte(body, len);
    is_json = first == '{' || first == '[';
    is_html = first == '<' ||
              (content_type != NULL && contains_ci(content_type, "html"));
    if (status >= 300 && status < 400) {
        if (location != NULL && strstr(location, "login.1688.com") != NULL) {
            set(v, SQ_1688_LOGIN_REQUIRED, "login",
                "redirected to the login page%s (HTTP %ld)", "", status);
        } else if (location != NULL && strstr(location, "wrongpage") != NULL) {
            set(v, SQ_1688_NOT_FOUND, "wrongpage",
                "offer is gone (redirect to wrongpage%s, HTTP %ld)", "",
                status);
        } else if (location != NULL &&
                   (strstr(location, "_____tmd_____") != NULL ||
                    strstr(location, "punish") != NULL)) {
            set(v, SQ_1688_BLOCKED, "punish",
                "redirected to the punish page%s (HTTP %ld)", "", status);
        } else {
            char loc[160];
            snprintf(loc, sizeof loc, "%.150s",
                     location != NULL ? location : "(none)");
            set(v, SQ_1688_UNEXPECTED, "redirect",
                "unexpected redirect to %s (HTTP %ld)", loc, status);
        }
        return;
    }
    if (status == 429) {
        set(v, SQ_1688_RATE_LIMITED, "429",
            "rate limited by the server%s "
            "(HTTP %ld)",
            "", status);
        if (is_json) {
            json_checks(body, len, status, v);
            if (v->outcome != SQ_1688_RATE_LIMITED) {
                v->outcome = SQ_1688_RATE_LIMITED;
                v->error_class = class_of(SQ_1688_RATE_LIMITED);
            }
        }
        return;
    }
    /* Anti-bot answers come with any status, 200 included. */
    if (is_json) {
        if (json_checks(body, len, status, v)) {
            return;
        }
    } else if (len > 0 && html_markers(body, len, v, status)) {
        return;
    }
    if (status >= 500) {
        set(v, SQ_1688_TRANSIENT, "5xx", "server error (HTTP %ld)", status);
        return;
    }
    if (status == 404 || status == 410) {
        set(v, SQ_1688_NOT_FOUND, "404", "not found%s (HTTP %ld)", "", status);
        return;
    }
    if (status == 401 || status == 403) {
        set(v, SQ_1688_AUTH, "auth", "not authorised%s (HTTP %ld)", "", status);
        return;
    }
    if (status >= 400) {
        set(v, SQ_1688_REJECTED, "4xx", "request refused%s (HTTP %ld)", "",
            status);
        return;
    }
    if (status != 200) {
        set(v, SQ_1688_UNEXPECTED, "status", "unexpected status%s (HTTP %ld)",
            "", status);
        return;
    }
    if (len == 0) {
        set(v, SQ_1688_UNEXPECTED, "empty", "empty body%s (HTTP %ld)", "",
            status);
        return;
    }
    if (expect == SQ_1688_EXPECT_JSON && is_html) {
        /* The API answers JSON only; an HTML page in its place is an
         * interception (WAF, captcha or login wall). */
        set(v, SQ_1688_BLOCKED, "html",
            "HTML where JSON was expected%s (HTTP %ld)", "", status);
        return;
    }
    if (expect == SQ_1688_EXPECT_PAGE && !is_html) {
        set(v, SQ_1688_UNEXPECTED, "not-html",
            "offer page is not HTML%s (HTTP %ld)", "", status);
        return;
    }
    v->outcome = SQ_1688_OK;
    v->error_class = SYNCQ_ERR_NONE;
}
