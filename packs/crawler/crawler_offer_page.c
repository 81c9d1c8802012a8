/* SPDX-License-Identifier: MIT
 *
 * crawler_offer_page.c: the offer page extractor: the window.__INIT_DATA of an
 * offer page (tempModel, skuModel, orderParamModel, images and the tdmod
 * components matched by componentType, never by their numeric ids).
 */
#include "crawler/crawler_offer_build.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "crawler/crawler_parse.h"
#include "crawler/crawler_values.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- window.__INIT_DATA ---------------------------------------------- */

/* Find the tdmod component whose componentType ends with `suffix`. */
static json_t *
component(const json_t *root, const char *suffix)
{
    const char *k;
    json_t *c;
    size_t sl = strlen(suffix);

    json_object_foreach((json_t *)json_object_get(root, "data"), k, c)
    {
        const char *t = json_string_value(json_object_get(c, "componentType"));
        size_t tl = t != NULL ? strlen(t) : 0;
        if (tl >= sl && strcmp(t + tl - sl, suffix) == 0) {
            return json_object_get(c, "data");
        }
    }
    return NULL;
}

/* "红色&gt;XL" (page data) -> "红色>XL". Owned. */
static char *
unescape_gt(const char *s)
{
    size_t n = strlen(s);
    char *out = sq_malloc(n + 1);
    size_t j = 0;

    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n;) {
        if (strncmp(s + i, "&gt;", 4) == 0) {
            out[j++] = '>';
            i += 4;
        } else {
            out[j++] = s[i++];
        }
    }
    out[j] = '\0';
    return out;
}

int
sq_ob_from_page(struct ob *b, const json_t *root, int64_t expect)
{
    const json_t *gd = json_object_get(root, "globalData");
    const json_t *tm = json_object_get(gd, "tempModel");
    const json_t *obi = json_object_get(gd, "offerBaseInfo");
    const json_t *op = sq_1688_jpath(gd, "orderParamModel.orderParam");
    const json_t *skum = json_object_get(gd, "skuModel");
    json_t *attr_c = component(root, "-attribute-new");
    json_t *log_c = component(root, "-offer-logistics");
    json_t *pic_c = component(root, "-main-pic");
    json_t *desc_c = component(root, "-offer-description");
    json_t *title_c = component(root, "-offer-title");
    json_t *price_c = component(root, "-offer-price");
    json_t *sup = sq_ob_supplier(b);
    int64_t id = 0, id2 = 0;
    bool has_id, has_id2;
    const char *ptype;
    size_t nsku_src = 0;
    json_t *it;
    size_t i;
    int rc;

    if (!json_is_object(gd)) {
        return sq_fail(b->err, SYNCQ_EPROTO,
                       "offer page data has no globalData object");
    }
    has_id = sq_1688_json_int(json_object_get(tm, "offerId"), &id);
    has_id2 = sq_1688_json_int(json_object_get(obi, "offerId"), &id2);
    if (has_id && has_id2 && id != id2) {
        return sq_fail(b->err, SYNCQ_EPROTO,
                       "offer page names two offers (%lld, %lld)",
                       (long long)id, (long long)id2);
    }
    if (!has_id && has_id2) {
        has_id = true;
        id = id2;
    }
    rc = sq_ob_check_id(b, has_id, id, expect, "offer page");
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_1688_put(b->rec, "source", json_string("page"));
    if (sq_1688_json_int(json_object_get(tm, "postCategoryId"), &id)) {
        sq_1688_set_int(b->rec, "category_id", true, id);
    } else {
        sq_ob_set_jint(b->rec, "category_id", json_object_get(obi, "catId"));
    }
    sq_ob_set_jint(b->rec, "top_category_id",
                   json_object_get(tm, "topCategoryId"));
    {
        const char *subj = sq_1688_json_str(json_object_get(tm, "offerTitle"));
        if (subj == NULL) {
            subj = sq_1688_json_str(json_object_get(title_c, "title"));
        }
        if (subj == NULL) {
            subj = sq_1688_json_str(json_object_get(pic_c, "subject"));
        }
        sq_1688_set_str(b->rec, "subject", subj);
    }
    {
        const char *unit = sq_1688_json_str(json_object_get(tm, "offerUnit"));
        if (unit == NULL) {
            unit = sq_1688_json_str(json_object_get(title_c, "unit"));
        }
        if (unit == NULL) {
            unit = sq_1688_json_str(json_object_get(price_c, "unit"));
        }
        sq_1688_set_str(b->rec, "unit", unit);
    }
    {
        bool forbidden = false;
        if (sq_1688_json_bool(sq_1688_jpath(gd, "offerSign.isDetailForbidden"),
                              &forbidden) &&
            forbidden) {
            sq_1688_put(b->rec, "status", json_string("delisted"));
        }
    }
    sq_ob_set_jint_pos(b->rec, "moq", json_object_get(op, "beginNum"));
    sq_ob_set_jint_pos(b->rec, "amount_on_sale",
                       json_object_get(op, "canBookedAmount"));
    if (sq_1688_json_int(json_object_get(tm, "saledCount"), &id) && id >= 0) {
        sq_1688_set_int(b->rec, "sold_count", true, id);
    } else {
        sq_ob_set_jint_pos(b->rec, "sold_count",
                           json_object_get(op, "saledCount"));
    }
    sq_1688_set_str(b->rec, "sold_text",
                    sq_1688_json_str(json_object_get(title_c, "saleNum")));
    sq_ob_set_jreal_pos(b->rec, "unit_weight_kg",
                        json_object_get(log_c, "unitWeight"));
    {
        const char *u = sq_1688_json_str(json_object_get(desc_c, "detailUrl"));
        sq_1688_set_str(b->rec, "detail_url",
                        sq_ob_looks_like_url(u) ? u : NULL);
        u = sq_1688_json_str(sq_1688_jpath(pic_c, "video.videoUrl"));
        sq_1688_set_str(b->rec, "video_url",
                        sq_ob_looks_like_url(u) ? u : NULL);
    }
    /* supplier */
    if (!sq_1688_json_int(json_object_get(tm, "sellerUserId"), &id)) {
        if (!sq_1688_json_int(json_object_get(obi, "sellerUserId"), &id)) {
            id = 0;
        }
    }
    sq_1688_set_int(sup, "seller_user_id", id > 0, id);
    {
        const char *s = sq_1688_json_str(json_object_get(tm, "sellerMemberId"));
        if (s == NULL) {
            s = sq_1688_json_str(json_object_get(obi, "sellerMemberId"));
        }
        sq_1688_set_str(sup, "member_id", s);
        s = sq_1688_json_str(json_object_get(tm, "sellerLoginId"));
        if (s == NULL) {
            s = sq_1688_json_str(json_object_get(obi, "sellerLoginId"));
        }
        sq_1688_set_str(sup, "login_id", s);
        sq_1688_set_str(sup, "company_name",
                        sq_1688_json_str(json_object_get(tm, "companyName")));
        s = sq_1688_json_str(json_object_get(obi, "sellerWinportUrl"));
        if (s == NULL) {
            s = sq_1688_json_str(json_object_get(tm, "winportUrl"));
        }
        sq_1688_set_str(sup, "shop_url", s);
    }
    {
        char prov[64], city[64];
        sq_1688_location_split(
            sq_1688_json_str(json_object_get(log_c, "location")), prov,
            sizeof prov, city, sizeof city);
        sq_1688_set_str(sup, "province", prov);
        sq_1688_set_str(sup, "city", city);
    }
    {
        bool tp;
        if (sq_1688_json_bool(sq_1688_jpath(gd, "sellerSign.isTp"), &tp)) {
            sq_1688_put(sup, "is_tp", json_boolean(tp));
        }
    }
    /* attributes: one row per value */
    json_array_foreach(attr_c, i, it)
    {
        int64_t fid = 0;
        bool has_fid = sq_1688_json_int(json_object_get(it, "fid"), &fid);
        const char *name = sq_1688_json_str(json_object_get(it, "name"));
        json_t *vals = json_object_get(it, "values");
        if (json_array_size(vals) > 0) {
            size_t j;
            json_t *v;
            json_array_foreach(vals, j, v)
            {
                sq_ob_add_attr(b, has_fid, fid, name, sq_1688_json_str(v));
            }
        } else {
            sq_ob_add_attr(b, has_fid, fid, name,
                           sq_1688_json_str(json_object_get(it, "value")));
        }
    }
    /* images */
    json_array_foreach(json_object_get(gd, "images"), i, it)
    {
        const char *u =
            sq_1688_json_str(json_object_get(it, "fullPathImageURI"));
        if (u == NULL) {
            u = sq_1688_json_str(json_object_get(it, "imageURI"));
        }
        sq_ob_add_image(b, u, ROLE_MAIN);
    }
    if (json_array_size(json_object_get(gd, "images")) == 0) {
        json_array_foreach(json_object_get(pic_c, "offerImgList"), i, it)
        {
            sq_ob_add_image(b, sq_1688_json_str(it), ROLE_MAIN);
        }
    }
    /* sale dimensions */
    json_array_foreach(json_object_get(skum, "skuProps"), i, it)
    {
        int64_t fid = 0;
        bool has_fid = sq_1688_json_int(json_object_get(it, "fid"), &fid);
        const char *name = sq_1688_json_str(json_object_get(it, "prop"));
        char key[64];
        json_t *p, *v;
        size_t j;
        snprintf(key, sizeof key, "%zu", i);
        p = sq_ob_prop_get(b, key, has_fid, fid, name);
        json_array_foreach(json_object_get(it, "value"), j, v)
        {
            sq_ob_prop_add_value(
                b, p, sq_1688_json_str(json_object_get(v, "name")),
                sq_1688_json_str(json_object_get(v, "imageUrl")));
        }
    }
    /* SKUs (skuInfoMap is an object, or [] when the offer has none) */
    {
        const char *k;
        json_t *s;
        json_t *weights = json_object_get(log_c, "skuWeight");
        json_object_foreach(json_object_get(skum, "skuInfoMap"), k, s)
        {
            struct sku_in in;
            const char *spec =
                sq_1688_json_str(json_object_get(s, "specAttrs"));
            char *text = unescape_gt(spec != NULL ? spec : k);
            double w;
            if (text == NULL) {
                sq_1688_oom_note();
                continue;
            }
            memset(&in, 0, sizeof in);
            in.has_id = sq_1688_json_int(json_object_get(s, "skuId"), &in.id);
            in.spec_id = sq_1688_json_str(json_object_get(s, "specId"));
            in.spec_text = text;
            in.has_price =
                sq_1688_json_fen(json_object_get(s, "price"), &in.price);
            in.has_promo = sq_1688_json_fen(json_object_get(s, "discountPrice"),
                                            &in.promo);
            in.has_retail =
                sq_1688_json_fen(json_object_get(s, "retailPrice"), &in.retail);
            in.has_stock =
                sq_1688_json_int(json_object_get(s, "canBookCount"), &in.stock);
            if (in.has_id) {
                char idk[32];
                snprintf(idk, sizeof idk, "%lld", (long long)in.id);
                if (sq_1688_json_num(json_object_get(weights, idk), &w)) {
                    in.has_weight = true;
                    in.weight_kg = w;
                }
            }
            sq_ob_add_sku(b, &in);
            sq_free(text);
            nsku_src++;
        }
    }
    /* price scheme and tiers */
    ptype = sq_1688_json_str(sq_1688_jpath(op, "skuParam.skuPriceType"));
    if (ptype != NULL && strcmp(ptype, "skuPrice") == 0) {
        sq_1688_set_int(b->rec, "quote_type", true, 1);
    } else if (ptype != NULL && strcmp(ptype, "rangePrice") == 0) {
        sq_1688_set_int(b->rec, "quote_type", true, nsku_src > 0 ? 2 : 0);
        json_array_foreach(sq_1688_jpath(op, "skuParam.skuRangePrices"), i, it)
        {
            int64_t q, fen;
            if (sq_1688_json_int(json_object_get(it, "beginAmount"), &q) &&
                sq_1688_json_fen(json_object_get(it, "price"), &fen)) {
                sq_ob_add_tier(b, q, fen, false, 0);
            }
        }
        if (json_array_size(b->tiers) == 0) {
            json_array_foreach(
                sq_1688_jpath(price_c, "priceModel.currentPrices"), i, it)
            {
                int64_t q, fen;
                if (sq_1688_json_int(json_object_get(it, "beginAmount"), &q) &&
                    sq_1688_json_fen(json_object_get(it, "price"), &fen)) {
                    sq_ob_add_tier(b, q, fen, false, 0);
                }
            }
        }
    } else {
        sq_1688_set_int(b->rec, "quote_type", true, nsku_src > 0 ? 1 : 0);
    }
    return b->rc;
}
