/* SPDX-License-Identifier: MIT
 *
 * crawler_offer_build.h: the builder of a normalised offer
 * (docs/1688-normalized.md) shared by the three extractors: the offer
 * page (crawler_offer_page.c), the cross-border and classic API models
 * (crawler_offer_api.c). crawler_offer.c detects the shape and drives
 * them. Internal to the crawler's offer parser: sq_1688_offer_parse
 * (crawler_parse.h) is the entry point.
 */
#ifndef SQ_CRAWLER_OFFER_BUILD_H
#define SQ_CRAWLER_OFFER_BUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

enum { ROLE_MAIN, ROLE_SKU, ROLE_WHITE, ROLE_DESC, ROLE__N };

/* The record under construction. Arrays are borrowed from rec. */
struct ob {
    json_t *rec;
    json_t *attrs, *props, *skus, *tiers, *images;
    json_t *seen;       /* dedupe keys: "i<role>\n<url>", "a<n>\n<v>" */
    json_t *prop_index; /* prop key -> index in props */
    int64_t pmin, pmax;
    bool has_price;
    int img_ord[ROLE__N];
    int64_t supplier_uid; /* seller id seen in image paths, 0 none */
    bool uid_conflict;
    syncq_error *err;
    int rc;
};

/* One SKU; prices in fen (has_* false: null). */
struct sku_in {
    bool has_id;
    int64_t id;
    const char *spec_id;
    const char *spec_text;
    bool has_price, has_promo, has_retail, has_stock, has_weight;
    int64_t price, promo, retail, stock;
    double weight_kg;
    const char *cargo;
};

/* Start an empty record; `err` receives the first failure. Errors:
 * SYNCQ_ENOMEM. */
int sq_ob_init(struct ob *b, syncq_error *err);

/* Free what sq_ob_init and the adders hold (after sq_ob_finish too). */
void sq_ob_cleanup(struct ob *b);

/* Close the record (price range, tiers, supplier) into *out (owned); `body` is
 * the raw response, for the content hash. Returns the first error met, if any.
 */
int sq_ob_finish(struct ob *b, const char *body, size_t len, json_t **out);

/* The record's supplier object (borrowed). */
json_t *sq_ob_supplier(struct ob *b);

/* Add an image URL of `role` (ROLE_*) once, normalised. */
void sq_ob_add_image(struct ob *b, const char *raw, int role);

/* Add a product attribute once. */
void sq_ob_add_attr(struct ob *b, bool has_id, int64_t id, const char *name,
                    const char *value);

/* The SKU property `key`, created on first use (borrowed). */
json_t *sq_ob_prop_get(struct ob *b, const char *key, bool has_fid, int64_t fid,
                       const char *name);

/* Add a value (and its image) to an SKU property once. */
void sq_ob_prop_add_value(struct ob *b, json_t *prop, const char *value,
                          const char *image_raw);

/* Add one SKU. */
void sq_ob_add_sku(struct ob *b, const struct sku_in *s);

/* Add a quantity price tier (fen). */
void sq_ob_add_tier(struct ob *b, int64_t qty, int64_t fen, bool has_promo,
                    int64_t promo);

/* 1688 offer status text -> the normalised status. */
const char *sq_ob_map_status(const char *s);

/* Set obj[key] to the integer in `v` (number or numeric text), if any. */
void sq_ob_set_jint(json_t *obj, const char *key, const json_t *v);

/* As sq_ob_set_jint, only for a positive value. */
void sq_ob_set_jint_pos(json_t *obj, const char *key, const json_t *v);

/* Set obj[key] to the positive real in `v`, if any. */
void sq_ob_set_jreal_pos(json_t *obj, const char *key, const json_t *v);

/* True for an http(s) or protocol-relative URL. */
bool sq_ob_looks_like_url(const char *s);

/* Check that the offer id found at `where` is the expected one (0: any);
 * records it. Errors: SYNCQ_EINVAL (mismatch). */
int sq_ob_check_id(struct ob *b, bool has, int64_t id, int64_t expect,
                   const char *where);

/* obj[key] as a string, or `def`. */
const char *sq_ob_jstr_or(const json_t *obj, const char *key, const char *def);

/* Fill from the window.__INIT_DATA of an offer page (crawler_offer_page.c). */
int sq_ob_from_page(struct ob *b, const json_t *root, int64_t expect);

/* Fill from a cross-border queryProductDetail result (crawler_offer_api.c). */
int sq_ob_from_crossborder(struct ob *b, const json_t *r, int64_t expect);

/* Fill from a classic ProductInfo model (crawler_offer_api.c). */
int sq_ob_from_classic(struct ob *b, const json_t *m, int64_t expect);

#endif
