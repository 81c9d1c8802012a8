/* SPDX-License-Identifier: MIT
 *
 * crawler_offer.c: an offer response of any supported shape into the
 * normalised offer (docs/1688-normalized.md). Three extractors share one
 * builder: the window.__INIT_DATA of an offer page (tempModel, skuModel,
 * orderParamModel, images and the tdmod components matched by
 * componentType, never by their numeric ids), the cross-border
 * queryProductDetail envelope, and the classic ProductInfo model.
 * Money stays integer fen throughout (crawler_values.c).
 */
#include "crawler/crawler_parse.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_hash.h"
#include "crawler/crawler_values.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_MAIN, ROLE_SKU, ROLE_WHITE, ROLE_DESC, ROLE__N };
static const char *const role_names[ROLE__N] = {"main", "sku", "white", "desc"};

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

static int
ob_fail(struct ob *b, int code, const char *what, size_t n, size_t limit)
{
    if (b->rc == SYNCQ_OK) {
        b->rc = sq_fail(b->err, code, "offer has %zu %s, limit %zu", n, what,
                        limit);
    }
    return b->rc;
}

static int
ob_init(struct ob *b, syncq_error *err)
{
    json_t *sup;

    memset(b, 0, sizeof *b);
    b->err = err;
    b->rec = json_object();
    b->seen = json_object();
    b->prop_index = json_object();
    sup = json_object();
    if (b->rec == NULL || b->seen == NULL || b->prop_index == NULL ||
        sup == NULL) {
        json_decref(sup);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing offer");
    }
    /* Fixed key order, so equal offers serialise to equal bytes. */
    sq_1688_put(b->rec, "offer_id", json_null());
    sq_1688_put(b->rec, "source", json_null());
    sq_1688_put(b->rec, "category_id", json_null());
    sq_1688_put(b->rec, "top_category_id", json_null());
    sq_1688_put(b->rec, "subject", json_null());
    sq_1688_put(b->rec, "subject_tr", json_null());
    sq_1688_put(b->rec, "unit", json_null());
    sq_1688_put(b->rec, "status", json_string("published"));
    sq_1688_put(b->rec, "quote_type", json_null());
    sq_1688_put(b->rec, "moq", json_null());
    sq_1688_put(b->rec, "price_min_fen", json_null());
    sq_1688_put(b->rec, "price_max_fen", json_null());
    sq_1688_put(b->rec, "currency", json_string("CNY"));
    sq_1688_put(b->rec, "amount_on_sale", json_null());
    sq_1688_put(b->rec, "sold_count", json_null());
    sq_1688_put(b->rec, "sold_text", json_null());
    sq_1688_put(b->rec, "unit_weight_kg", json_null());
    sq_1688_put(b->rec, "detail_url", json_null());
    sq_1688_put(b->rec, "video_url", json_null());
    sq_1688_put(sup, "seller_user_id", json_null());
    sq_1688_put(sup, "member_id", json_null());
    sq_1688_put(sup, "login_id", json_null());
    sq_1688_put(sup, "open_id", json_null());
    sq_1688_put(sup, "company_name", json_null());
    sq_1688_put(sup, "shop_url", json_null());
    sq_1688_put(sup, "province", json_null());
    sq_1688_put(sup, "city", json_null());
    sq_1688_put(b->rec, "supplier", sup);
    b->attrs = json_array();
    b->props = json_array();
    b->skus = json_array();
    b->tiers = json_array();
    b->images = json_array();
    sq_1688_put(b->rec, "attributes", b->attrs);
    sq_1688_put(b->rec, "sku_props", b->props);
    sq_1688_put(b->rec, "skus", b->skus);
    sq_1688_put(b->rec, "price_ranges", b->tiers);
    sq_1688_put(b->rec, "images", b->images);
    if (b->attrs == NULL || b->props == NULL || b->skus == NULL ||
        b->tiers == NULL || b->images == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing offer");
    }
    return SYNCQ_OK;
}

static void
ob_cleanup(struct ob *b)
{
    json_decref(b->rec);
    json_decref(b->seen);
    json_decref(b->prop_index);
    b->rec = NULL;
}

static json_t *
sup_obj(struct ob *b)
{
    return json_object_get(b->rec, "supplier");
}

static void
note_price(struct ob *b, int64_t fen)
{
    if (!b->has_price || fen < b->pmin) {
        b->pmin = fen;
    }
    if (!b->has_price || fen > b->pmax) {
        b->pmax = fen;
    }
    b->has_price = true;
}

/* True the first time `key` is seen. */
static bool
first_seen(struct ob *b, const char *kind, const char *a, const char *c)
{
    char *key = sq_asprintf("%s%s\n%s", kind, a, c != NULL ? c : "");
    bool fresh;

    if (key == NULL) {
        sq_1688_oom_note();
        return false;
    }
    fresh = json_object_get(b->seen, key) == NULL;
    if (fresh) {
        sq_1688_put(b->seen, key, json_true());
    }
    sq_free(key);
    return fresh;
}

static void
add_image(struct ob *b, const char *raw, int role)
{
    char *url;
    json_t *img;
    int64_t uid;

    if (b->rc != SYNCQ_OK || raw == NULL) {
        return;
    }
    url = sq_1688_image_url(raw);
    if (url == NULL) {
        return;
    }
    if (!first_seen(b, "i", role_names[role], url)) {
        sq_free(url);
        return;
    }
    if (json_array_size(b->images) >= SQ_1688_MAX_IMAGES) {
        sq_free(url);
        ob_fail(b, SYNCQ_EPROTO, "images", json_array_size(b->images) + 1,
                SQ_1688_MAX_IMAGES);
        return;
    }
    if (role == ROLE_MAIN) {
        uid = sq_1688_image_seller_id(url);
        if (uid > 0) {
            if (b->supplier_uid == 0) {
                b->supplier_uid = uid;
            } else if (b->supplier_uid != uid) {
                b->uid_conflict = true;
            }
        }
    }
    img = json_object();
    if (img != NULL) {
        sq_1688_put(img, "url", json_string(url));
        sq_1688_put(img, "role", json_string(role_names[role]));
        sq_1688_put(img, "ord", json_integer(b->img_ord[role]++));
        sq_1688_append(b->images, img);
    }
    sq_free(url);
}

static void
add_attr(struct ob *b, bool has_id, int64_t id, const char *name,
         const char *value)
{
    json_t *a;

    if (b->rc != SYNCQ_OK || name == NULL || value == NULL) {
        return;
    }
    if (!first_seen(b, "a", name, value)) {
        return;
    }
    if (json_array_size(b->attrs) >= SQ_1688_MAX_ATTRS) {
        ob_fail(b, SYNCQ_EPROTO, "attributes", json_array_size(b->attrs) + 1,
                SQ_1688_MAX_ATTRS);
        return;
    }
    a = json_object();
    if (a == NULL) {
        return;
    }
    sq_1688_set_int(a, "attr_id", has_id, id);
    sq_1688_set_str(a, "name", name);
    sq_1688_set_str(a, "value", value);
    sq_1688_append(b->attrs, a);
}

/* Find or create the sale dimension `key` (fid or name); returns it. */
static json_t *
prop_get(struct ob *b, const char *key, bool has_fid, int64_t fid,
         const char *name)
{
    json_t *idx = json_object_get(b->prop_index, key);
    json_t *p;

    if (idx != NULL) {
        return json_array_get(b->props, (size_t)json_integer_value(idx));
    }
    if (json_array_size(b->props) >= 16) {
        ob_fail(b, SYNCQ_EPROTO, "sale dimensions",
                json_array_size(b->props) + 1, 16);
        return NULL;
    }
    p = json_object();
    if (p == NULL) {
        return NULL;
    }
    sq_1688_set_int(p, "fid", has_fid, fid);
    sq_1688_set_str(p, "name", name);
    sq_1688_put(p, "values", json_array());
    sq_1688_put(b->prop_index, key,
                json_integer((json_int_t)json_array_size(b->props)));
    sq_1688_append(b->props, p);
    return p;
}

static void
prop_add_value(struct ob *b, json_t *prop, const char *value,
               const char *image_raw)
{
    json_t *vals, *v, *it;
    size_t i;
    char *img = NULL;

    if (prop == NULL || value == NULL || b->rc != SYNCQ_OK) {
        return;
    }
    vals = json_object_get(prop, "values");
    json_array_foreach(vals, i, it)
    {
        const char *have = json_string_value(json_object_get(it, "value"));
        if (have != NULL && strcmp(have, value) == 0) {
            return;
        }
    }
    if (json_array_size(vals) >= SQ_1688_MAX_SKUS) {
        ob_fail(b, SYNCQ_EPROTO, "values of one dimension",
                json_array_size(vals) + 1, SQ_1688_MAX_SKUS);
        return;
    }
    if (image_raw != NULL) {
        img = sq_1688_image_url(image_raw);
        add_image(b, image_raw, ROLE_SKU);
    }
    v = json_object();
    if (v == NULL) {
        sq_free(img);
        return;
    }
    sq_1688_set_str(v, "value", value);
    sq_1688_set_str(v, "image_url", img);
    sq_1688_append(vals, v);
    sq_free(img);
}

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

static void
add_sku(struct ob *b, const struct sku_in *s)
{
    json_t *o;

    if (b->rc != SYNCQ_OK) {
        return;
    }
    if (json_array_size(b->skus) >= SQ_1688_MAX_SKUS) {
        ob_fail(b, SYNCQ_EPROTO, "SKUs", json_array_size(b->skus) + 1,
                SQ_1688_MAX_SKUS);
        return;
    }
    o = json_object();
    if (o == NULL) {
        return;
    }
    sq_1688_set_int(o, "sku_id", s->has_id, s->id);
    sq_1688_set_str(o, "spec_id", s->spec_id);
    sq_1688_set_str(o, "spec_text", s->spec_text);
    sq_1688_set_int(o, "price_fen", s->has_price, s->price);
    sq_1688_set_int(o, "promo_price_fen",
                    s->has_promo && (!s->has_price || s->promo != s->price),
                    s->promo);
    sq_1688_set_int(o, "retail_price_fen", s->has_retail, s->retail);
    sq_1688_set_int(o, "stock", s->has_stock, s->stock);
    sq_1688_put(o, "weight_kg",
                s->has_weight && s->weight_kg > 0 ? json_real(s->weight_kg)
                                                  : json_null());
    sq_1688_set_str(o, "cargo_number", s->cargo);
    sq_1688_append(b->skus, o);
    if (s->has_price) {
        note_price(b, s->price);
    }
}

static void
add_tier(struct ob *b, int64_t qty, int64_t fen, bool has_promo, int64_t promo)
{
    json_t *t;

    if (b->rc != SYNCQ_OK || qty < 0) {
        return;
    }
    if (json_array_size(b->tiers) >= SQ_1688_MAX_TIERS) {
        ob_fail(b, SYNCQ_EPROTO, "price tiers", json_array_size(b->tiers) + 1,
                SQ_1688_MAX_TIERS);
        return;
    }
    t = json_object();
    if (t == NULL) {
        return;
    }
    sq_1688_put(t, "start_qty", json_integer(qty));
    sq_1688_put(t, "price_fen", json_integer(fen));
    if (has_promo && promo != fen) {
        sq_1688_put(t, "promo_price_fen", json_integer(promo));
    }
    sq_1688_append(b->tiers, t);
    note_price(b, fen);
}

static int
cmp_tier(const void *a, const void *b)
{
    json_int_t x =
        json_integer_value(json_object_get(*(json_t *const *)a, "start_qty"));
    json_int_t y =
        json_integer_value(json_object_get(*(json_t *const *)b, "start_qty"));
    return x < y ? -1 : x > y;
}

/* Tiers sorted by start quantity, one per quantity; a SKU-priced offer
 * without tiers gets one: from the MOQ at the lowest SKU price. */
static void
finish_tiers(struct ob *b)
{
    size_t n = json_array_size(b->tiers);
    json_t **v;
    json_t *sorted;
    int64_t moq = 1;

    if (n == 0) {
        if (b->has_price) {
            json_t *m = json_object_get(b->rec, "moq");
            if (json_is_integer(m) && json_integer_value(m) > 0) {
                moq = json_integer_value(m);
            }
            add_tier(b, moq, b->pmin, false, 0);
        }
        return;
    }
    v = sq_calloc(n, sizeof *v);
    sorted = json_array();
    if (v == NULL || sorted == NULL) {
        sq_free(v);
        json_decref(sorted);
        sq_1688_oom_note();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(b->tiers, i);
    }
    qsort(v, n, sizeof *v, cmp_tier);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_tier(&v[i - 1], &v[i]) == 0) {
            continue;
        }
        if (json_array_append(sorted, v[i]) != 0) {
            sq_1688_oom_note();
        }
    }
    sq_free(v);
    json_array_clear(b->tiers);
    if (json_array_extend(b->tiers, sorted) != 0) {
        sq_1688_oom_note();
    }
    json_decref(sorted);
}

static int
ob_finish(struct ob *b, const char *body, size_t len, json_t **out)
{
    char hex[65];
    json_t *sup = sup_obj(b);

    if (b->rc != SYNCQ_OK) {
        return b->rc;
    }
    finish_tiers(b);
    sq_1688_set_int(b->rec, "price_min_fen", b->has_price, b->pmin);
    sq_1688_set_int(b->rec, "price_max_fen", b->has_price, b->pmax);
    if (json_is_null(json_object_get(sup, "seller_user_id")) &&
        b->supplier_uid > 0 && !b->uid_conflict) {
        /* Current image paths carry the seller's user id
         * ("_!!<id>-0-cib.jpg"); the cross-border API gives no other. */
        sq_1688_put(sup, "seller_user_id", json_integer(b->supplier_uid));
    }
    sq_sha256_hex(body, len, hex);
    sq_1688_put(b->rec, "raw_sha256", json_string(hex));
    if (b->rc != SYNCQ_OK) {
        return b->rc;
    }
    *out = b->rec;
    b->rec = NULL;
    return SYNCQ_OK;
}

/* The string at `key` of `obj`, or `def`. Borrowed. */
static const char *
jstr_or(const json_t *obj, const char *key, const char *def)
{
    const char *s = sq_1688_json_str(json_object_get(obj, key));
    return s != NULL ? s : def;
}

/* Map a platform status word to published|expired|deleted|delisted. */
static const char *
map_status(const char *s)
{
    if (s == NULL) {
        return "published";
    }
    if (strstr(s, "deleted") != NULL || strcmp(s, "TBD") == 0) {
        return "deleted";
    }
    if (strstr(s, "expired") != NULL) {
        return "expired";
    }
    if (strcmp(s, "auditing") == 0 || strcmp(s, "untread") == 0) {
        return "delisted";
    }
    return "published";
}

static void
set_jint(json_t *obj, const char *key, const json_t *v)
{
    int64_t i = 0;
    bool ok = sq_1688_json_int(v, &i);
    sq_1688_set_int(obj, key, ok, i);
}

static void
set_jint_pos(json_t *obj, const char *key, const json_t *v)
{
    int64_t i = 0;
    bool ok = sq_1688_json_int(v, &i) && i >= 0;
    if (!ok) {
        double d;
        if (sq_1688_json_num(v, &d) && d >= 0 && d < 9.0e15) {
            i = (int64_t)d;
            ok = true;
        }
    }
    sq_1688_set_int(obj, key, ok, i);
}

static void
set_jreal_pos(json_t *obj, const char *key, const json_t *v)
{
    double d;
    if (sq_1688_json_num(v, &d) && d > 0) {
        sq_1688_put(obj, key, json_real(d));
    } else {
        sq_1688_put(obj, key, json_null());
    }
}

static bool
looks_like_url(const char *s)
{
    return s != NULL &&
           (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
            strncmp(s, "//", 2) == 0);
}

/* Check the record's own id against the requested one. */
static int
check_id(struct ob *b, bool has, int64_t id, int64_t expect, const char *where)
{
    if (!has) {
        if (expect > 0) {
            id = expect;
        } else {
            return sq_fail(b->err, SYNCQ_EPROTO, "%s: no offer id", where);
        }
    } else if (expect > 0 && id != expect) {
        return sq_fail(b->err, SYNCQ_EPROTO, "%s is offer %lld, asked for %lld",
                       where, (long long)id, (long long)expect);
    }
    if (id <= 0) {
        return sq_fail(b->err, SYNCQ_EPROTO,
                       "%s: offer id %lld is not "
                       "positive",
                       where, (long long)id);
    }
    sq_1688_put(b->rec, "offer_id", json_integer(id));
    return SYNCQ_OK;
}

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

static int
from_page(struct ob *b, const json_t *root, int64_t expect)
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
    json_t *sup = sup_obj(b);
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
    rc = check_id(b, has_id, id, expect, "offer page");
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_1688_put(b->rec, "source", json_string("page"));
    if (sq_1688_json_int(json_object_get(tm, "postCategoryId"), &id)) {
        sq_1688_set_int(b->rec, "category_id", true, id);
    } else {
        set_jint(b->rec, "category_id", json_object_get(obi, "catId"));
    }
    set_jint(b->rec, "top_category_id", json_object_get(tm, "topCategoryId"));
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
    set_jint_pos(b->rec, "moq", json_object_get(op, "beginNum"));
    set_jint_pos(b->rec, "amount_on_sale",
                 json_object_get(op, "canBookedAmount"));
    if (sq_1688_json_int(json_object_get(tm, "saledCount"), &id) && id >= 0) {
        sq_1688_set_int(b->rec, "sold_count", true, id);
    } else {
        set_jint_pos(b->rec, "sold_count", json_object_get(op, "saledCount"));
    }
    sq_1688_set_str(b->rec, "sold_text",
                    sq_1688_json_str(json_object_get(title_c, "saleNum")));
    set_jreal_pos(b->rec, "unit_weight_kg",
                  json_object_get(log_c, "unitWeight"));
    {
        const char *u = sq_1688_json_str(json_object_get(desc_c, "detailUrl"));
        sq_1688_set_str(b->rec, "detail_url", looks_like_url(u) ? u : NULL);
        u = sq_1688_json_str(sq_1688_jpath(pic_c, "video.videoUrl"));
        sq_1688_set_str(b->rec, "video_url", looks_like_url(u) ? u : NULL);
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
                add_attr(b, has_fid, fid, name, sq_1688_json_str(v));
            }
        } else {
            add_attr(b, has_fid, fid, name,
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
        add_image(b, u, ROLE_MAIN);
    }
    if (json_array_size(json_object_get(gd, "images")) == 0) {
        json_array_foreach(json_object_get(pic_c, "offerImgList"), i, it)
        {
            add_image(b, sq_1688_json_str(it), ROLE_MAIN);
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
        p = prop_get(b, key, has_fid, fid, name);
        json_array_foreach(json_object_get(it, "value"), j, v)
        {
            prop_add_value(b, p, sq_1688_json_str(json_object_get(v, "name")),
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
            add_sku(b, &in);
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
                add_tier(b, q, fen, false, 0);
            }
        }
        if (json_array_size(b->tiers) == 0) {
            json_array_foreach(
                sq_1688_jpath(price_c, "priceModel.currentPrices"), i, it)
            {
                int64_t q, fen;
                if (sq_1688_json_int(json_object_get(it, "beginAmount"), &q) &&
                    sq_1688_json_fen(json_object_get(it, "price"), &fen)) {
                    add_tier(b, q, fen, false, 0);
                }
            }
        }
    } else {
        sq_1688_set_int(b->rec, "quote_type", true, nsku_src > 0 ? 1 : 0);
    }
    return b->rc;
}

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
    p = prop_get(b, key, has_aid, aid, name);
    prop_add_value(b, p, value,
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

static int
from_crossborder(struct ob *b, const json_t *r, int64_t expect)
{
    json_t *sup = sup_obj(b);
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
    rc = check_id(b, has, id, expect, "queryProductDetail result");
    if (rc != SYNCQ_OK) {
        json_decref(weights);
        return rc;
    }
    sq_1688_put(b->rec, "source", json_string("api"));
    set_jint(b->rec, "category_id", json_object_get(r, "categoryId"));
    set_jint(b->rec, "top_category_id", json_object_get(r, "topCategoryId"));
    sq_1688_set_str(b->rec, "subject",
                    sq_1688_json_str(json_object_get(r, "subject")));
    sq_1688_set_str(b->rec, "subject_tr",
                    sq_1688_json_str(json_object_get(r, "subjectTrans")));
    sq_1688_set_str(b->rec, "unit",
                    sq_1688_json_str(sq_1688_jpath(sale, "unitInfo.unit")));
    sq_1688_put(b->rec, "status",
                json_string(map_status(
                    sq_1688_json_str(json_object_get(r, "status")))));
    set_jint(b->rec, "quote_type", json_object_get(sale, "quoteType"));
    set_jint_pos(b->rec, "moq", json_object_get(r, "minOrderQuantity"));
    set_jint_pos(b->rec, "amount_on_sale",
                 json_object_get(sale, "amountOnSale"));
    set_jint_pos(b->rec, "sold_count", json_object_get(r, "soldOut"));
    set_jreal_pos(b->rec, "unit_weight_kg", json_object_get(ship, "weight"));
    {
        const char *u = sq_1688_json_str(json_object_get(r, "description"));
        if (!looks_like_url(u)) {
            u = sq_1688_json_str(json_object_get(r, "descriptionTrans"));
        }
        sq_1688_set_str(b->rec, "detail_url", looks_like_url(u) ? u : NULL);
        u = sq_1688_json_str(json_object_get(r, "mainVideo"));
        sq_1688_set_str(b->rec, "video_url", looks_like_url(u) ? u : NULL);
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
        add_attr(b, has_aid, aid,
                 sq_1688_json_str(json_object_get(it, "attributeName")),
                 sq_1688_json_str(json_object_get(it, "value")));
    }
    json_array_foreach(sq_1688_jpath(r, "productImage.images"), i, it)
    {
        add_image(b, sq_1688_json_str(it), ROLE_MAIN);
    }
    add_image(b, sq_1688_json_str(sq_1688_jpath(r, "productImage.whiteImage")),
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
        add_sku(b, &in);
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
        add_tier(b, q, fen, has_promo, promo);
    }
    json_decref(weights);
    return b->rc;
}

/* ---- classic ProductInfo ---------------------------------------------- */

static int
from_classic(struct ob *b, const json_t *m, int64_t expect)
{
    json_t *sup = sup_obj(b);
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
    rc = check_id(b, has, id, expect, "ProductInfo");
    if (rc != SYNCQ_OK) {
        json_decref(names);
        return rc;
    }
    sq_1688_put(b->rec, "source", json_string("api"));
    set_jint(b->rec, "category_id", json_object_get(m, "categoryID"));
    sq_1688_set_str(b->rec, "subject",
                    sq_1688_json_str(json_object_get(m, "subject")));
    sq_1688_put(b->rec, "status",
                json_string(map_status(
                    sq_1688_json_str(json_object_get(m, "status")))));
    sq_1688_set_str(b->rec, "unit",
                    sq_1688_json_str(json_object_get(sale, "unit")));
    set_jint(b->rec, "quote_type", json_object_get(sale, "quoteType"));
    set_jint_pos(b->rec, "moq", json_object_get(sale, "minOrderQuantity"));
    set_jint_pos(b->rec, "amount_on_sale",
                 json_object_get(sale, "amountOnSale"));
    set_jreal_pos(b->rec, "unit_weight_kg",
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
        add_attr(b, has_aid, aid, name,
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
        add_image(b, sq_1688_json_str(it), ROLE_MAIN);
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
        add_sku(b, &in);
    }
    json_array_foreach(json_object_get(sale, "priceRanges"), i, it)
    {
        int64_t q, fen;
        if (sq_1688_json_int(json_object_get(it, "startQuantity"), &q) &&
            sq_1688_json_fen(json_object_get(it, "price"), &fen)) {
            add_tier(b, q, fen, false, 0);
        }
    }
    json_decref(names);
    return b->rc;
}

/* ---- shape detection --------------------------------------------------- */

/* Find the end (exclusive) of the JSON object starting at s[0] == '{',
 * skipping strings; 0 if unbalanced. */
static size_t
object_end(const char *s, size_t n)
{
    int depth = 0;
    bool in_str = false, esc = false;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{') {
            if (++depth > 10000) {
                return 0;
            }
        } else if (c == '}') {
            if (--depth == 0) {
                return i + 1;
            }
        }
    }
    return 0;
}

static const char *
find_bytes(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);

    if (m == 0 || n < m) {
        return NULL;
    }
    for (size_t i = 0; i + m <= n; i++) {
        if (s[i] == needle[0] && memcmp(s + i, needle, m) == 0) {
            return s + i;
        }
    }
    return NULL;
}

/* Extract the window.__INIT_DATA object of an offer page. */
static int
page_json(const char *body, size_t len, json_t **root, syncq_error *err)
{
    const char *p = find_bytes(body, len, "window.__INIT_DATA");
    const char *end = body + len;
    size_t n;
    json_error_t jerr;

    *root = NULL;
    if (p == NULL) {
        if (find_bytes(body, len, "window.context") != NULL ||
            find_bytes(body, len, "iDetailData") != NULL) {
            return sq_fail(err, SYNCQ_EPROTO,
                           "offer page layout window.context/iDetailData is "
                           "not supported (no verified sample); raw kept");
        }
        return sq_fail(err, SYNCQ_EPROTO,
                       "HTML without window.__INIT_DATA (not an offer "
                       "page?)");
    }
    p += strlen("window.__INIT_DATA");
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    if (p >= end || *p != '=') {
        return sq_fail(err, SYNCQ_EPROTO,
                       "window.__INIT_DATA is not assigned an object");
    }
    p++;
    while (p < end && *p != '{' &&
           (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    if (p >= end || *p != '{') {
        return sq_fail(err, SYNCQ_EPROTO,
                       "window.__INIT_DATA is not assigned an object");
    }
    n = object_end(p, (size_t)(end - p));
    if (n == 0) {
        return sq_fail(err, SYNCQ_EPROTO,
                       "window.__INIT_DATA object is cut off");
    }
    *root = json_loadb(p, n, 0, &jerr);
    if (*root == NULL) {
        if (sq_1688_load_oom(&jerr)) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing offer");
        }
        return sq_fail(err, SYNCQ_EPROTO,
                       "window.__INIT_DATA is not JSON: line %d: %s", jerr.line,
                       jerr.text);
    }
    return SYNCQ_OK;
}

static bool
looks_html(const char *body, size_t len)
{
    size_t i = 0;

    if (len >= 3 && (unsigned char)body[0] == 0xEF &&
        (unsigned char)body[1] == 0xBB && (unsigned char)body[2] == 0xBF) {
        i = 3;
    }
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' ||
                       body[i] == '\t')) {
        i++;
    }
    return i < len && body[i] == '<';
}

/* Names of up to 5 top-level keys, for "unknown shape" messages. */
static void
key_list(const json_t *root, char *out, size_t cap)
{
    const char *k;
    json_t *v;
    size_t used = 0;
    int n = 0;

    out[0] = '\0';
    json_object_foreach((json_t *)root, k, v)
    {
        int w;
        if (n++ == 5) {
            snprintf(out + used, cap - used, ", ...");
            break;
        }
        w = snprintf(out + used, cap - used, "%s%.40s", used ? ", " : "", k);
        if (w < 0 || (size_t)w >= cap - used) {
            break;
        }
        used += (size_t)w;
    }
}

int
sq_1688_offer_parse(const char *body, size_t len, int64_t expect_offer_id,
                    json_t **out, syncq_error *err)
{
    struct ob b;
    json_t *root = NULL;
    json_error_t jerr;
    int rc;

    *out = NULL;
    (void)sq_1688_oom_take();
    if (body == NULL) {
        return sq_fail(err, SYNCQ_EPROTO, "empty offer response");
    }
    if (len > SQ_1688_MAX_BODY) {
        return sq_fail(err, SYNCQ_ETOOBIG,
                       "offer response is %zu bytes, "
                       "limit %u",
                       len, SQ_1688_MAX_BODY);
    }
    if (looks_html(body, len)) {
        rc = page_json(body, len, &root, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    } else {
        root = json_loadb(body, len, 0, &jerr);
        if (root == NULL) {
            if (sq_1688_load_oom(&jerr)) {
                return sq_fail(err, SYNCQ_ENOMEM,
                               "out of memory parsing offer");
            }
            return sq_fail(err, SYNCQ_EPROTO,
                           "offer response is not JSON: line %d: %s", jerr.line,
                           jerr.text);
        }
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return sq_fail(err, SYNCQ_EPROTO, "offer response is not an object");
    }
    rc = ob_init(&b, err);
    if (rc != SYNCQ_OK) {
        ob_cleanup(&b);
        json_decref(root);
        return rc;
    }
    if (json_is_object(json_object_get(root, "globalData"))) {
        rc = from_page(&b, root, expect_offer_id);
    } else if (json_is_object(json_object_get(root, "result"))) {
        const json_t *env = json_object_get(root, "result");
        bool ok = true;
        const json_t *r = json_object_get(env, "result");
        if (sq_1688_json_bool(json_object_get(env, "success"), &ok) && !ok) {
            rc =
                sq_fail(err, SYNCQ_EPROTO,
                        "platform answered success=false (code %.60s: "
                        "%.100s)",
                        jstr_or(env, "code", "?"), jstr_or(env, "message", ""));
        } else if (!json_is_object(r)) {
            rc = sq_fail(err, SYNCQ_EPROTO,
                         "queryProductDetail envelope without a result "
                         "object");
        } else {
            rc = from_crossborder(&b, r, expect_offer_id);
        }
    } else if (json_is_object(json_object_get(root, "productInfo"))) {
        rc = from_classic(&b, json_object_get(root, "productInfo"),
                          expect_offer_id);
    } else if (json_object_get(root, "subject") != NULL &&
               (json_object_get(root, "saleInfo") != NULL ||
                json_object_get(root, "skuInfos") != NULL ||
                json_object_get(root, "productID") != NULL)) {
        rc = from_classic(&b, root, expect_offer_id);
    } else if (json_object_get(root, "error_code") != NULL) {
        rc = sq_fail(err, SYNCQ_EPROTO, "gateway error %.60s: %.120s",
                     jstr_or(root, "error_code", "?"),
                     jstr_or(root, "error_message", ""));
    } else {
        char keys[160];
        key_list(root, keys, sizeof keys);
        rc = sq_fail(err, SYNCQ_EPROTO, "unknown offer shape (keys: %s)", keys);
    }
    if (rc == SYNCQ_OK) {
        rc = ob_finish(&b, body, len, out);
    }
    if (sq_1688_oom_take()) {
        /* A field or list element could not be allocated: never hand out
         * a record with something silently missing. */
        json_decref(*out);
        *out = NULL;
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing offer");
    }
    ob_cleanup(&b);
    json_decref(root);
    return rc;
}
