/* SPDX-License-Identifier: MIT
 *
 * crawler_listing.c: a listing (search / category) page into the
 * normalised listing record: the cross-border keywordQuery envelope
 * (result.result{totalRecords, totalPage, pageSize, currentPage, data[]})
 * and the TMAPI search page (data{page, page_size, total_count, items[]},
 * a third-party shape kept because it is the only real list sample).
 * Seller ids are not part of either list shape; they are read from the
 * image path where 1688 embeds them ("_!!<sellerUserId>-0-cib.jpg").
 */
#include "crawler/crawler_parse.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "crawler/crawler_values.h"

#include <string.h>

struct list_fields {
    const char *id, *subject, *image, *price, *price2, *sold, *sold2;
};

static const struct list_fields xb_fields = {
    "offerId", "subject",   "imageUrl", "priceInfo.price",
    NULL,      "monthSold", NULL};
static const struct list_fields tm_fields = {"item_id",
                                             "title",
                                             "img",
                                             "price",
                                             "price_info.sale_price",
                                             "sale_info.sale_quantity_int",
                                             NULL};

static int
add_offers(json_t *rec, const json_t *items, const struct list_fields *f,
           syncq_error *err)
{
    json_t *offers = json_array();
    json_t *it;
    size_t i;

    if (offers == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing listing");
    }
    sq_1688_put(rec, "offers", offers);
    if (json_array_size(items) > SQ_1688_MAX_LIST) {
        return sq_fail(err, SYNCQ_EPROTO,
                       "listing page has %zu offers, "
                       "limit %d",
                       json_array_size(items), SQ_1688_MAX_LIST);
    }
    json_array_foreach(items, i, it)
    {
        json_t *o;
        int64_t id = 0, fen = 0, sold = 0;
        bool has_fen, has_sold;
        char *img;
        int64_t uid;
        if (!json_is_object(it) ||
            !sq_1688_json_int(json_object_get(it, f->id), &id) || id <= 0) {
            continue; /* ads and placeholders without an offer id */
        }
        o = json_object();
        if (o == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing listing");
        }
        sq_1688_put(o, "offer_id", json_integer(id));
        sq_1688_set_str(o, "subject",
                        sq_1688_json_str(json_object_get(it, f->subject)));
        has_fen = sq_1688_json_fen(sq_1688_jpath(it, f->price), &fen);
        if (!has_fen && f->price2 != NULL) {
            has_fen = sq_1688_json_fen(sq_1688_jpath(it, f->price2), &fen);
        }
        sq_1688_set_int(o, "price_fen", has_fen, fen);
        img =
            sq_1688_image_url(sq_1688_json_str(json_object_get(it, f->image)));
        sq_1688_set_str(o, "image_url", img);
        has_sold =
            sq_1688_json_int(sq_1688_jpath(it, f->sold), &sold) && sold >= 0;
        sq_1688_set_int(o, "sold_count", has_sold, sold);
        uid = sq_1688_image_seller_id(img);
        sq_1688_set_int(o, "seller_user_id", uid > 0, uid);
        sq_free(img);
        sq_1688_append(offers, o);
    }
    return SYNCQ_OK;
}

int
sq_1688_listing_parse(const char *body, size_t len, int64_t category_id,
                      json_t **out, syncq_error *err)
{
    json_error_t jerr;
    json_t *root, *rec = NULL;
    const json_t *page, *items;
    const struct list_fields *f;
    int64_t v, size = 0, total = 0, pages = 0;
    bool has_size, has_total, has_pages;
    int rc;

    *out = NULL;
    (void)sq_1688_oom_take();
    if (body == NULL) {
        return sq_fail(err, SYNCQ_EPROTO, "empty listing response");
    }
    if (len > SQ_1688_MAX_BODY) {
        return sq_fail(err, SYNCQ_ETOOBIG,
                       "listing response is %zu bytes, "
                       "limit %u",
                       len, SQ_1688_MAX_BODY);
    }
    root = json_loadb(body, len, 0, &jerr);
    if (root == NULL) {
        if (sq_1688_load_oom(&jerr)) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing listing");
        }
        return sq_fail(err, SYNCQ_EPROTO,
                       "listing response is not JSON: line %d: %s", jerr.line,
                       jerr.text);
    }
    rec = json_object();
    if (rec == NULL) {
        json_decref(root);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing listing");
    }
    if (json_is_object(sq_1688_jpath(root, "result.result"))) {
        bool ok = true;
        if (sq_1688_json_bool(sq_1688_jpath(root, "result.success"), &ok) &&
            !ok) {
            const char *code =
                sq_1688_json_str(sq_1688_jpath(root, "result.code"));
            rc = sq_fail(err, SYNCQ_EPROTO,
                         "platform answered success=false (code %.60s)",
                         code != NULL ? code : "?");
            goto done;
        }
        page = sq_1688_jpath(root, "result.result");
        items = json_object_get(page, "data");
        f = &xb_fields;
        has_total =
            sq_1688_json_int(json_object_get(page, "totalRecords"), &total);
        has_pages =
            sq_1688_json_int(json_object_get(page, "totalPage"), &pages);
        has_size = sq_1688_json_int(json_object_get(page, "pageSize"), &size);
        if (!sq_1688_json_int(json_object_get(page, "currentPage"), &v)) {
            v = 0;
        }
    } else if (json_is_object(json_object_get(root, "data")) &&
               json_is_array(sq_1688_jpath(root, "data.items"))) {
        int64_t code;
        if (sq_1688_json_int(json_object_get(root, "code"), &code) &&
            code != 200) {
            rc = sq_fail(err, SYNCQ_EPROTO, "search answered code %lld",
                         (long long)code);
            goto done;
        }
        page = json_object_get(root, "data");
        items = json_object_get(page, "items");
        f = &tm_fields;
        has_total =
            sq_1688_json_int(json_object_get(page, "total_count"), &total);
        has_size = sq_1688_json_int(json_object_get(page, "page_size"), &size);
        has_pages = false;
        if (!sq_1688_json_int(json_object_get(page, "page"), &v)) {
            v = 0;
        }
    } else {
        rc = sq_fail(err, SYNCQ_EPROTO,
                     "unknown listing shape (neither result.result nor "
                     "data.items)");
        goto done;
    }
    if (!json_is_array(items) && items != NULL && !json_is_null(items)) {
        rc = sq_fail(err, SYNCQ_EPROTO, "listing offers are not an array");
        goto done;
    }
    if (has_size && size <= 0) {
        has_size = false;
    }
    if (!has_pages && has_total && has_size) {
        pages = (total + size - 1) / size;
        has_pages = true;
    }
    sq_1688_set_int(rec, "category_id", category_id > 0, category_id);
    sq_1688_set_int(rec, "page", v > 0, v);
    sq_1688_set_int(rec, "page_size", has_size, size);
    sq_1688_set_int(rec, "total", has_total && total >= 0, total);
    sq_1688_set_int(rec, "total_pages", has_pages && pages >= 0, pages);
    rc = add_offers(rec, items, f, err);
done:
    json_decref(root);
    if (sq_1688_oom_take() && rc == SYNCQ_OK) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing listing");
    }
    if (rc != SYNCQ_OK) {
        json_decref(rec);
        return rc;
    }
    *out = rec;
    return SYNCQ_OK;
}
