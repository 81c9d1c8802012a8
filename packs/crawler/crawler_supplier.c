/* SPDX-License-Identifier: MIT
 *
 * crawler_supplier.c: a shop/company record into the normalised supplier.
 * The Open Platform has no public company-profile API (1688-data.md §2),
 * so the shape is the TMAPI shop_info reply ({code, msg, data{member_id,
 * seller_id, company_name, shop_url, is_tp, tp_year, is_factory,
 * is_super_factory, location_str, shop_ratings[{type, score}]}}), the
 * third-party proxy the fixture server also speaks.
 */
#include "crawler/crawler_parse.h"
#include "core/sq_error.h"
#include "core/sq_hash.h"
#include "crawler/crawler_values.h"

#include <string.h>

/* shop_ratings[].type -> normalised score field. */
static const char *const rating_map[][2] = {
    {"comprehensive", "score_composite"},
    {"goods_quality_experience", "score_goods"},
    {"logistics", "score_logistics"},
    {"return_exchange_experience", "score_return"},
    {"dispute_resolution", "score_dispute"},
    {"purchase_consultation", "score_consult"},
};

static void
set_bool(json_t *rec, const char *key, const json_t *v)
{
    bool b;
    sq_1688_put(rec, key,
                sq_1688_json_bool(v, &b) ? json_boolean(b) : json_null());
}

int
sq_1688_supplier_parse(const char *body, size_t len, json_t **out,
                       syncq_error *err)
{
    json_error_t jerr;
    json_t *root, *rec;
    const json_t *d;
    json_t *it;
    size_t i;
    int64_t v;
    char prov[64], city[64];
    int rc = SYNCQ_OK;

    *out = NULL;
    (void)sq_1688_oom_take();
    if (body == NULL) {
        return sq_fail(err, SYNCQ_EPROTO, "empty supplier response");
    }
    if (len > SQ_1688_MAX_BODY) {
        return sq_fail(err, SYNCQ_ETOOBIG,
                       "supplier response is %zu bytes, "
                       "limit %u",
                       len, SQ_1688_MAX_BODY);
    }
    root = json_loadb(body, len, 0, &jerr);
    if (root == NULL) {
        if (sq_1688_load_oom(&jerr)) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing supplier");
        }
        return sq_fail(err, SYNCQ_EPROTO,
                       "supplier response is not JSON: line %d: %s", jerr.line,
                       jerr.text);
    }
    d = json_object_get(root, "data");
    if (sq_1688_json_int(json_object_get(root, "code"), &v) && v != 200) {
        const char *msg = sq_1688_json_str(json_object_get(root, "msg"));
        rc = sq_fail(err, SYNCQ_EPROTO,
                     "shop_info answered code %lld: "
                     "%.100s",
                     (long long)v, msg != NULL ? msg : "");
        json_decref(root);
        return rc;
    }
    if (!json_is_object(d) || (json_object_get(d, "member_id") == NULL &&
                               json_object_get(d, "seller_id") == NULL)) {
        json_decref(root);
        return sq_fail(err, SYNCQ_EPROTO,
                       "unknown supplier shape (no "
                       "data.member_id or data.seller_id)");
    }
    rec = json_object();
    if (rec == NULL) {
        json_decref(root);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing supplier");
    }
    sq_1688_set_jint(rec, "seller_user_id", json_object_get(d, "seller_id"), 1);
    sq_1688_set_str(rec, "member_id",
                    sq_1688_json_str(json_object_get(d, "member_id")));
    sq_1688_set_str(rec, "login_id",
                    sq_1688_json_str(json_object_get(d, "login_id")));
    sq_1688_put(rec, "open_id", json_null());
    sq_1688_set_str(rec, "company_name",
                    sq_1688_json_str(json_object_get(d, "company_name")));
    sq_1688_set_str(rec, "shop_url",
                    sq_1688_json_str(json_object_get(d, "shop_url")));
    sq_1688_location_split(sq_1688_json_str(json_object_get(d, "location_str")),
                           prov, sizeof prov, city, sizeof city);
    sq_1688_set_str(rec, "province", prov);
    sq_1688_set_str(rec, "city", city);
    set_bool(rec, "is_tp", json_object_get(d, "is_tp"));
    sq_1688_set_jint(rec, "tp_years", json_object_get(d, "tp_year"), 0);
    set_bool(rec, "is_factory", json_object_get(d, "is_factory"));
    set_bool(rec, "is_super_factory", json_object_get(d, "is_super_factory"));
    for (size_t k = 0; k < sizeof rating_map / sizeof rating_map[0]; k++) {
        sq_1688_put(rec, rating_map[k][1], json_null());
    }
    json_array_foreach(json_object_get(d, "shop_ratings"), i, it)
    {
        const char *type = sq_1688_json_str(json_object_get(it, "type"));
        double score;
        if (type == NULL ||
            !sq_1688_json_num(json_object_get(it, "score"), &score)) {
            continue;
        }
        for (size_t k = 0; k < sizeof rating_map / sizeof rating_map[0]; k++) {
            if (strcmp(type, rating_map[k][0]) == 0) {
                sq_1688_put(rec, rating_map[k][1], json_real(score));
            }
        }
    }
    sq_1688_put(rec, "repurchase_rate", json_null());
    {
        double r;
        if (sq_1688_json_num(json_object_get(d, "repurchase_rate"), &r)) {
            sq_1688_put(rec, "repurchase_rate",
                        json_real(r > 1 ? r / 100.0 : r));
        }
    }
    {
        char hex[65];
        sq_sha256_hex(body, len, hex);
        sq_1688_put(rec, "raw_sha256", json_string(hex));
    }
    json_decref(root);
    if (sq_1688_oom_take()) {
        json_decref(rec);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing supplier");
    }
    *out = rec;
    return rc;
}
