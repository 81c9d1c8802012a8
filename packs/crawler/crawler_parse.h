/* SPDX-License-Identifier: MIT
 *
 * crawler_parse.h: 1688 response bodies into the normalised records of
 * docs/1688-normalized.md (offer, listing page, category, supplier), and
 * the verdict on a response (ok, blocked, rate limited, not found, ...)
 * before any parsing (crawler_verdict.c).
 *
 * Every parser takes the raw bytes (not NUL-terminated; at most
 * SQ_1688_MAX_BODY), never trusts a field's type, bounds every list, and
 * returns SYNCQ_EPROTO with a one-line reason for a shape it does not
 * know; it never aborts. The normalised JSON is a new object owned by the
 * caller (json_decref). Shapes (docs/1688-data.md):
 *   offer:    window.__INIT_DATA of an offer page (the HTML page or the
 *             object alone), cross-border queryProductDetail envelope,
 *             classic alibaba.product.get ({productInfo}) or a bare
 *             ProductInfo model;
 *   listing:  cross-border keywordQuery envelope, TMAPI search page;
 *   category: cross-border category.translation.getById envelope,
 *             alibaba.category.get {categoryInfo[]};
 *   supplier: TMAPI shop_info.
 * Thread-safety: all functions are reentrant.
 */
#ifndef SQ_CRAWLER_PARSE_H
#define SQ_CRAWLER_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

#define SQ_1688_MAX_BODY (32u << 20) /* bytes of one response */
#define SQ_1688_MAX_SKUS 5000
#define SQ_1688_MAX_IMAGES 500
#define SQ_1688_MAX_ATTRS 2000
#define SQ_1688_MAX_TIERS 100
#define SQ_1688_MAX_LIST 1000     /* offers of one listing page */
#define SQ_1688_MAX_CHILDREN 5000 /* children of one category */

/* Parse an offer. `expect_offer_id` is the id that was asked for, or 0:
 * a record whose own id differs is refused (pages embed other offers);
 * a model without an id (an alibaba.product.add body) takes it.
 * *out: the normalised offer (without fetched_at; raw_sha256 is the
 * SHA-256 of the bytes given). Errors: SYNCQ_EPROTO (unknown or broken
 * shape, no offer id, id mismatch, a list over its bound),
 * SYNCQ_ETOOBIG (body over SQ_1688_MAX_BODY), SYNCQ_ENOMEM. *out is
 * NULL on error. */
int sq_1688_offer_parse(const char *body, size_t len, int64_t expect_offer_id,
                        json_t **out, syncq_error *err);

/* Parse a listing page of `category_id` (0: unknown; kept as given).
 * *out: {category_id, page, page_size, total, total_pages, offers[]}.
 * Errors as sq_1688_offer_parse. */
int sq_1688_listing_parse(const char *body, size_t len, int64_t category_id,
                          json_t **out, syncq_error *err);

/* Parse a category node with its children.
 * *out: {category_id, name_zh, name_tr, lang, is_leaf, level, parent_id,
 * children[]}. Errors as sq_1688_offer_parse. */
int sq_1688_category_parse(const char *body, size_t len, json_t **out,
                           syncq_error *err);

/* Parse a supplier (shop) record. *out: the normalised supplier.
 * Errors as sq_1688_offer_parse. */
int sq_1688_supplier_parse(const char *body, size_t len, json_t **out,
                           syncq_error *err);

/* ---- verdict ---------------------------------------------------------- */

/* What kind of body the request expected (decides whether HTML is a
 * sign of an anti-bot page). */
enum sq_1688_expect {
    SQ_1688_EXPECT_JSON = 0, /* Open Platform / proxy APIs */
    SQ_1688_EXPECT_PAGE = 1  /* an HTML offer page */
};

/* Outcome of a response, before parsing (1688-data.md §5). */
enum sq_1688_outcome {
    SQ_1688_OK = 0,
    SQ_1688_BLOCKED,        /* captcha / punish page / anti-bot */
    SQ_1688_LOGIN_REQUIRED, /* redirected to login.1688.com */
    SQ_1688_NOT_FOUND,      /* 404, wrongpage, offer does not exist */
    SQ_1688_RATE_LIMITED,   /* 429, gw.Qos*FrequencyLimit */
    SQ_1688_AUTH,           /* signature, quota, ACL, app key, token */
    SQ_1688_TRANSIENT,      /* 5xx, ISPInvokeError */
    SQ_1688_TIMEOUT,        /* ISPInvokeTimeout, 504 */
    SQ_1688_REJECTED,       /* gw.Param*, business failure: not retried */
    SQ_1688_UNEXPECTED      /* other status or body: kept for inspection */
};

struct sq_1688_verdict {
    enum sq_1688_outcome outcome;
    int error_class;        /* enum syncq_error_class; 0 when OK */
    int64_t retry_after_ms; /* server-given wait (Retry-After), or 0 */
    char code[96];          /* error_code / business code / marker */
    char message[256];      /* one line for the task's error */
};

/* Classify a response: HTTP `status`, its Content-Type (may be NULL),
 * Location header (may be NULL), body bytes and the Retry-After wait the
 * server gave (ms, 0 if none). Never fails; unknown answers are
 * SQ_1688_UNEXPECTED. */
void sq_1688_classify(long status, const char *content_type,
                      const char *location, const char *body, size_t len,
                      int64_t retry_after_ms, enum sq_1688_expect expect,
                      struct sq_1688_verdict *v);

/* "ok", "blocked", "login_required", "not_found", "rate_limited", "auth",
 * "transient", "timeout", "rejected", "unexpected" (raw_payload.outcome). */
const char *sq_1688_outcome_name(enum sq_1688_outcome o);

#endif
