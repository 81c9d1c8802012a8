/* SPDX-License-Identifier: MIT
 *
 * crawler_offer_api.c: the API extractors: the cross-border queryProductDetail
 * envelope and the classic ProductInfo model.
 */
#include "crawler/crawler_offer_build.h"
#include "core/sq_error.h"
#include "crawler/crawler_parse.h"
#include "crawler/crawler_values.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cross-border queryProductDetail ---------------------------------- */

/* The spec text of one SKU ("红色>XL"), built value by value. */
struct sq_buf_lite {
    char text[1024];
    size_t len;
};

static void
spec_append(struct sq_buf_lite *t, const char *v)
{
    size_t n = strlen(v);

    if (t->len > 0 && t->len + 1 < sizeof t->text) {
        t->text[t->len++] = '>';
    }
    if (t->len + n >= sizeof t->text) {
        n = sizeof t->text - 1 - t->len;
        while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(t->text + t->len, v, n);
    t->len += n;
    t->text[t->len] = '\0';
}

/* Group a SKU attribute into the sale dimensions and append its value to
 * the spec text. */
static void
sku_attr(struct ob *b, const json_t *a, const char *id_key,
         const char *name_key, const char *value_key, const json_t *names,
         struct sq_buf_lite *text)
{
    int64_t aid = 0;
    bool has_aid = sq_1688_json_int(json_object_get(a, id_key), &aid);
    const char *name = name_key != NULL
                           ? sq_1688_json_str(json_object_get(a, name_key))
                           : NULL;
    const char *value = sq_1688_json_str(json_object_get(a, value_key));
    char key[96];
    json_t *p;

    if (value == NULL) {
        return;
    }
    if (name == NULL && has_aid && names != NULL) {
        char idk[32];
        snprintf(idk, sizeof idk, "%lld", (long long)aid);
        name = json_string_value(json_object_get(names, idk));
    }
    if (has_aid) {
        snprintf(key, sizeof key, "id:%lld", (long long)aid);
    } else {
        snprintf(key, sizeof key, "n:%.80s", name != NULL ? name : "");
    }
    p = sq_ob_prop_get(b, key, has_aid, aid, name);
    sq_ob_prop_add_value(b, p, value,
                         sq_1688_json_str(json_object_get(a, "skuImageUrl")));
    spec_append(text, value);
}

static void
supplier_scores(json_t *sup, const json_t *sd)
{
    static const char *const map[][2] = {
        {"compositeServiceScore", "score_composite"},
        {"offerExperienceScore", "score_goods"},
        {"logisticsExperienceScore", "score_logistics"},
        {"afterSalesExperienceScore", "score_return"},
        {"disputeComplaintScore", "score_dispute"},
        {"consultingExperienceScore", "score_consult"},
    };
    double d;

    if (!json_is_object(sd)) {
        return;
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (sq_1688_json_num(json_object_get(sd, map[i][0]), &d)) {
            sq_1688_put(sup, map[i][1], json_real(d));
        }
    }
    if (sq_1688_json_num(json_object_get(sd, "repeatPurchasePercent"), &d)) {
        sq_1688_put(sup, "repurchase_rate", json_real(d));
    }
}

int
sq_ob_from_crossborder(struct ob *b, const json_t *r, int64_t expect)
{
    json_t *sup = sq_ob_supplier(b);
    const json_t *sale = json_object_get(r, "productSaleInfo");
    const json_t *ship = json_object_get(r, "productShippingInfo");
    json_t *weights = json_object();
    json_t *it;
    size_t i;
    int64_t id = 0;
    bool has;
    int rc;

    if (weights == NULL) {
        return sq_fail(b->err, SYNCQ_ENOMEM, "out of memory parsing offer");
    }
    has = sq_1688_json_int(json_object_get(r, "offerId"), &id);
    rc = sq_ob_check_id(b, has, id, expect, "queryProductDetail result");
    if (rc != SYNCQ_OK) {
        json_decref(weights);
        return rc;
    }
    sq_1688_put(b->rec, "source", json_string("api"));
    sq_ob_set_jint(b->rec, "category_id", json_object_get(r, "categoryId"));
    sq_ob_set_jint(b->rec, "top_category_id",
                   json_object_get(r, "topCategoryId"));
    sq_1688_set_str(b->rec, "subject",
                    sq_1688_json_str(json_object_get(r, "subject")));
    sq_1688_set_str(b->rec, "subject_tr",
                    sq_1688_json_str(json_object_get(r, "subjectTrans")));
    sq_1688_set_str(b->rec, "unit",
                    sq_1688_json_str(sq_1688_jpath(sale, "unitInfo.unit")));
    sq_1688_put(b->rec, "status",
                json_string(sq_ob_map_status(
                    sq_1688_json_str(json_object_get(r, "status")))));
    sq_ob_set_jint(b->rec, "quote_type", json_object_get(sale, "quoteType"));
    sq_ob_set_jint_pos(b->rec, "moq", json_object_get(r, "minOrderQuantity"));
    sq_ob_set_jint_pos(b->rec, "amount_on_sale",
                       json_object_get(sale, "amountOnSale"));
    sq_ob_set_jint_pos(b->rec, "sold_count", json_object_get(r, "soldOut"));
    sq_ob_set_jreal_pos(b->rec, "unit_weight_kg",
                        json_object_get(ship, "weight"));
    {
        const char *u = sq_1688_json_str(json_object_get(r, "description"));
        if (!sq_ob_looks_like_url(u)) {
            u = sq_1688_json_str(json_object_get(r, "descriptionTrans"));
        }
        sq_1688_set_str(b->rec, "detail_url",
                        sq_ob_looks_like_url(u) ? u : NULL);
        u = sq_1688_json_str(json_object_get(r, "mainVideo"));
        sq_1688_set_str(b->rec, "video_url",
                        sq_ob_looks_like_url(u) ? u : NULL);
    }
    sq_1688_set_str(sup, "open_id",
                    sq_1688_json_str(json_object_get(r, "sellerOpenId")));
    sq_1688_set_str(sup, "company_name",
                    sq_1688_json_str(json_object_get(r, "companyName")));
    supplier_scores(sup, json_object_get(r, "sellerDataInfo"));
    json_array_foreach(json_object_get(r, "productAttribute"), i, it)
    {
        int64_t aid = 0;
        bool has_aid =
            sq_1688_json_int(json_object_get(it, "attributeId"), &aid);
        sq_ob_add_attr(b, has_aid, aid,
                       sq_1688_json_str(json_object_get(it, "attributeName")),
                       sq_1688_json_str(json_object_get(it, "value")));
    }
    json_array_foreach(sq_1688_jpath(r, "productImage.images"), i, it)
    {
        sq_ob_add_image(b, sq_1688_json_str(it), ROLE_MAIN);
    }
    sq_ob_add_image(
        b, sq_1688_json_str(sq_1688_jpath(r, "productImage.whiteImage")),
        ROLE_WHITE);
    /* per-SKU weights: skuShippingInfoList in grams, skuShippingDetails
     * in kg */
    json_array_foreach(json_object_get(ship, "skuShippingInfoList"), i, it)
    {
        double g;
        int64_t sid;
        if (sq_1688_json_int(json_object_get(it, "skuId"), &sid) &&
            sq_1688_json_num(json_object_get(it, "weight"), &g) && g > 0) {
            char k[32];
            snprintf(k, sizeof k, "%lld", (long long)sid);
            sq_1688_put(weights, k, json_real(g / 1000.0));
        }
    }
    json_array_foreach(json_object_get(ship, "skuShippingDetails"), i, it)
    {
        double kg;
        int64_t sid;
        if (sq_1688_json_int(json_object_get(it, "skuId"), &sid) &&
            sq_1688_json_num(json_object_get(it, "weight"), &kg) && kg > 0) {
            char k[32];
            snprintf(k, sizeof k, "%lld", (long long)sid);
            sq_1688_put(weights, k, json_real(kg));
        }
    }
    json_array_foreach(json_object_get(r, "productSkuInfos"), i, it)
    {
        struct sku_in in;
        struct sq_buf_lite text;
        json_t *a;
        size_t j;
        memset(&in, 0, sizeof in);
        memset(&text, 0, sizeof text);
        json_array_foreach(json_object_get(it, "skuAttributes"), j, a)
        {
            sku_attr(b, a, "attributeId", "attributeName", "value", NULL,
                     &text);
        }
        in.has_id = sq_1688_json_int(json_object_get(it, "skuId"), &in.id);
        in.spec_id = sq_1688_json_str(json_object_get(it, "specId"));
        in.spec_text = text.text;
        in.has_price =
            sq_1688_json_fen(json_object_get(it, "price"), &in.price);
        in.has_promo =
            sq_1688_json_fen(json_object_get(it, "promotionPrice"), &in.promo);
        in.has_retail =
            sq_1688_json_fen(json_object_get(it, "retailPrice"), &in.retail);
        in.has_stock =
            sq_1688_json_int(json_object_get(it, "amountOnSale"), &in.stock);
        in.cargo = sq_1688_json_str(json_object_get(it, "cargoNumber"));
        if (in.has_id) {
            char k[32];
            snprintf(k, sizeof k, "%lld", (long long)in.id);
            in.has_weight =
                sq_1688_json_num(json_object_get(weights, k), &in.weight_kg);
        }
        sq_ob_add_sku(b, &in);
    }
    json_array_foreach(json_object_get(sale, "priceRangeList"), i, it)
    {
        int64_t q = 0, fen = 0, promo = 0;
        bool has_promo;
        if (!sq_1688_json_int(json_object_get(it, "startQuantity"), &q) ||
            !sq_1688_json_fen(json_object_get(it, "price"), &fen)) {
            continue;
        }
        has_promo =
            sq_1688_json_fen(json_object_get(it, "promotionPrice"), &promo);
        sq_ob_add_tier(b, q, fen, has_promo, promo);
    }
    json_decref(weights);
    return b->rc;
}

/* ---- classic ProductInfo ---------------------------------------------- */

int
sq_ob_from_classic(struct ob *b, const json_t *m, int64_t expect)
{
    json_t *sup = sq_ob_supplier(b);
    const json_t *sale = json_object_get(m, "saleInfo");
    json_t *names = json_object();
    json_t *it;
    size_t i;
    int64_t id = 0;
    bool has;
    int rc;

    if (names == NULL) {
        return sq_fail(b->err, SYNCQ_ENOMEM, "out of memory parsing offer");
    }
    has = sq_1688_json_int(json_object_get(m, "productID"), &id);
    rc = sq_ob_check_id(b, has, id, expect, "ProductInfo");
    if (rc != SYNCQ_OK) {
        json_decref(names);
        return rc;
    }
    sq_1688_put(b->rec, "source", json_string("api"));
    sq_ob_set_jint(b->rec, "category_id", json_object_get(m, "categoryID"));
    sq_1688_set_str(b->rec, "subject",
                    sq_1688_json_str(json_object_get(m, "subject")));
    sq_1688_put(b->rec, "status",
                json_string(sq_ob_map_status(
                    sq_1688_json_str(json_object_get(m, "status")))));
    sq_1688_set_str(b->rec, "unit",
                    sq_1688_json_str(json_object_get(sale, "unit")));
    sq_ob_set_jint(b->rec, "quote_type", json_object_get(sale, "quoteType"));
    sq_ob_set_jint_pos(b->rec, "moq",
                       json_object_get(sale, "minOrderQuantity"));
    sq_ob_set_jint_pos(b->rec, "amount_on_sale",
                       json_object_get(sale, "amountOnSale"));
    sq_ob_set_jreal_pos(b->rec, "unit_weight_kg",
                        sq_1688_jpath(m, "shippingInfo.unitWeight"));
    if (sq_1688_json_int(json_object_get(m, "supplierUserId"), &id) && id > 0) {
        sq_1688_set_int(sup, "seller_user_id", true, id);
    }
    sq_1688_set_str(sup, "login_id",
                    sq_1688_json_str(json_object_get(m, "supplierLoginId")));
    json_array_foreach(json_object_get(m, "attributes"), i, it)
    {
        int64_t aid = 0;
        bool has_aid =
            sq_1688_json_int(json_object_get(it, "attributeID"), &aid);
        const char *name =
            sq_1688_json_str(json_object_get(it, "attributeName"));
        sq_ob_add_attr(b, has_aid, aid, name,
                       sq_1688_json_str(json_object_get(it, "value")));
        if (has_aid && name != NULL) {
            char k[32];
            snprintf(k, sizeof k, "%lld", (long long)aid);
            if (json_object_get(names, k) == NULL) {
                sq_1688_put(names, k, json_string(name));
            }
        }
    }
    json_array_foreach(sq_1688_jpath(m, "image.images"), i, it)
    {
        sq_ob_add_image(b, sq_1688_json_str(it), ROLE_MAIN);
    }
    json_array_foreach(json_object_get(m, "skuInfos"), i, it)
    {
        struct sku_in in;
        struct sq_buf_lite text;
        json_t *a;
        size_t j;
        memset(&in, 0, sizeof in);
        memset(&text, 0, sizeof text);
        json_array_foreach(json_object_get(it, "attributes"), j, a)
        {
            sku_attr(b, a, "attributeID", NULL, "attributeValue", names, &text);
        }
        in.has_id = sq_1688_json_int(json_object_get(it, "skuId"), &in.id);
        in.spec_id = sq_1688_json_str(json_object_get(it, "specId"));
        in.spec_text = text.text;
        in.has_price =
            sq_1688_json_fen(json_object_get(it, "price"), &in.price);
        in.has_retail =
            sq_1688_json_fen(json_object_get(it, "retailPrice"), &in.retail);
        in.has_stock =
            sq_1688_json_int(json_object_get(it, "amountOnSale"), &in.stock);
        in.cargo = sq_1688_json_str(json_object_get(it, "cargoNumber"));
        sq_ob_add_sku(b, &in);
    }
    json_array_foreach(json_object_get(sale, "priceRanges"), i, it)
    {
        int64_t q, fen;
        if (sq_1688_json_int(json_object_get(it, "startQuantity"), &q) &&
            sq_1688_json_fen(json_object_get(it, "price"), &fen)) {
            sq_ob_add_tier(b, q, fen, false, 0);
        }
    }
    json_decref(names);
    return b->rc;
}
