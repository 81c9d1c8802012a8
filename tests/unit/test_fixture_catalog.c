/* SPDX-License-Identifier: MIT
 *
 * test_fixture_catalog.c: the fixture server's catalog is deterministic
 * (same seed, same bytes; another seed, other data), realistic (12-digit
 * unique offer ids, the real id formats, 3 leaf categories), carries the
 * promised duplicates (offers listed in two leaves, clones with the same
 * supplier, subject and prices), and every rendered shape parses with the
 * crawler's own parsers into values equal to the catalog's. Images are
 * real JPEG/PNG/WebP of the announced size; image tokens round-trip and
 * reject tampering.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "crawler/crawler_parse.h"
#include "fixture/fixture.h"

#include <string.h>
#include <vips/vips.h>

#define BASE "http://127.0.0.1:9"

static struct fx_catalog *
build(uint64_t seed, size_t n, size_t k)
{
    struct fx_catalog *c = NULL;
    syncq_error err;

    assert_int_equal(fx_catalog_build(seed, n, k, &c, &err), SYNCQ_OK);
    assert_non_null(c);
    return c;
}

static void
deterministic_per_seed(void **state)
{
    struct fx_catalog *a = build(7, 300, 3), *b = build(7, 300, 3);
    struct fx_catalog *c = build(8, 300, 3);
    char *da, *db, *dc;

    (void)state;
    assert_int_equal(a->noffers, 300);
    for (size_t i = 0; i < a->noffers; i++) {
        assert_int_equal(a->offers[i].id, b->offers[i].id);
    }
    da = fx_render_detail(a, &a->offers[17], BASE, "en");
    db = fx_render_detail(b, &b->offers[17], BASE, "en");
    assert_non_null(da);
    assert_string_equal(da, db);
    dc = fx_render_detail(c, &c->offers[17], BASE, "en");
    assert_true(strcmp(da, dc) != 0);
    assert_true(a->offers[17].id != c->offers[17].id);
    sq_free(da);
    sq_free(db);
    sq_free(dc);
    fx_catalog_free(a);
    fx_catalog_free(b);
    fx_catalog_free(c);
}

static void
ids_and_duplicates(void **state)
{
    struct fx_catalog *c = build(1688, 1000, 3);
    size_t listed = 0, extra = 0, clones = 0, with_skus = 0;

    (void)state;
    assert_int_equal(c->nlists, 3);
    assert_true(c->nsups >= 100);
    for (size_t i = 0; i < c->noffers; i++) {
        const struct fx_offer *o = &c->offers[i];
        assert_true(o->id >= 100000000000LL && o->id <= 999999999999LL);
        if (i > 0) {
            assert_true(o->id > c->offers[i - 1].id); /* sorted, unique */
        }
        assert_ptr_equal(fx_catalog_offer(c, o->id), o);
        if (o->extra_leaf >= 0) {
            extra++;
            assert_true(o->extra_leaf != o->leaf);
        }
        if (o->clone_of >= 0) {
            const struct fx_offer *src = &c->offers[o->clone_of];
            clones++;
            assert_int_equal(o->supplier, src->supplier);
            assert_string_equal(o->subject, src->subject);
            assert_int_equal(o->tier_fen[0], src->tier_fen[0]);
            assert_int_equal(o->nskus, src->nskus);
            if (o->nskus > 0) {
                assert_true(o->skus[0].sku_id != src->skus[0].sku_id);
            }
        }
        if (o->nskus > 0) {
            with_skus++;
        }
    }
    for (size_t t = 0; t < c->nlists; t++) {
        listed += c->nlisting[t];
        assert_true(c->nlisting[t] > 250);
    }
    assert_int_equal(listed, c->noffers + extra);
    /* about 2 % and 1 % of 1000 */
    assert_in_range(extra, 5, 50);
    assert_in_range(clones, 3, 30);
    assert_in_range(with_skus, 400, 900);
    /* supplier ids in the real formats */
    assert_true(c->sups[0].user_id > 2200000000000LL);
    assert_int_equal(strncmp(c->sups[0].member_id, "b2b-", 4), 0);
    assert_ptr_equal(fx_catalog_supplier(c, c->sups[3].member_id), &c->sups[3]);
    {
        char uid[32];
        snprintf(uid, sizeof uid, "%lld", (long long)c->sups[4].user_id);
        assert_ptr_equal(fx_catalog_supplier(c, uid), &c->sups[4]);
    }
    assert_null(fx_catalog_supplier(c, "b2b-nobody"));
    assert_null(fx_catalog_offer(c, 1));
    fx_catalog_free(c);
}

static void
bad_sizes(void **state)
{
    struct fx_catalog *c = NULL;
    syncq_error err;

    (void)state;
    assert_int_equal(fx_catalog_build(1, 0, 3, &c, &err), SYNCQ_EINVAL);
    assert_int_equal(fx_catalog_build(1, 10, 0, &c, &err), SYNCQ_EINVAL);
    assert_int_equal(fx_catalog_build(1, 10, fx_nleaves + 1, &c, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "categories"));
    assert_null(c);
}

/* 20 leaves (the scale run), every one listing offers; the next
 * revision changes 5 % of the offers, the same ones for the same seed,
 * and only their rendered details differ from the first revision. */
static void
twenty_leaves_and_a_revision(void **state)
{
    struct fx_catalog *a = build(5, 4000, 20), *b = build(5, 4000, 20);
    size_t leaves = 0;
    size_t na;
    size_t differ = 0;

    (void)state;
    assert_int_equal(fx_nleaves, 20);
    assert_int_equal(a->nlists, 20);
    for (size_t i = 0; i < a->ncats; i++) {
        leaves += a->cats[i].leaf;
    }
    assert_int_equal(leaves, 20);
    for (size_t t = 0; t < a->nlists; t++) {
        assert_true(a->nlisting[t] >= 100);
    }
    na = fx_catalog_change(a, 5);
    assert_true(na >= 160 && na <= 240); /* 5 % of 4,000 = 200 */
    assert_int_equal(fx_catalog_change(b, 0), 0);
    for (size_t i = 0; i < a->noffers; i++) {
        char *da = fx_render_detail(a, &a->offers[i], BASE, "en");
        char *db = fx_render_detail(b, &b->offers[i], BASE, "en");
        assert_non_null(da);
        assert_non_null(db);
        assert_false(b->offers[i].changed);
        if (strcmp(da, db) != 0) {
            assert_true(a->offers[i].changed);
            differ++;
        }
        sq_free(da);
        sq_free(db);
    }
    assert_int_equal(differ, na);
    fx_catalog_free(b);
    b = build(5, 4000, 20);
    assert_int_equal(fx_catalog_change(b, 5), na);
    for (size_t i = 0; i < a->noffers; i++) {
        assert_int_equal(a->offers[i].changed, b->offers[i].changed);
    }
    fx_catalog_free(a);
    fx_catalog_free(b);
}

static void
image_tokens(void **state)
{
    char tok[29];
    uint64_t key = 0;

    (void)state;
    for (uint64_t k = 0; k < 2000; k += 7) {
        uint64_t v = k * 0x9E3779B97F4A7C15ULL;
        fx_image_token(v, tok);
        assert_int_equal(strlen(tok), 28);
        assert_int_equal(strncmp(tok, "O1CN01", 6), 0);
        assert_true(fx_image_token_parse(tok, 28, &key));
        assert_true(key == v);
    }
    fx_image_token(12345, tok);
    tok[20] = tok[20] == 'a' ? 'b' : 'a'; /* tampered check half */
    assert_false(fx_image_token_parse(tok, 28, &key));
    assert_false(fx_image_token_parse("O1CN01short", 11, &key));
}

/* Render every shape of a few offers and parse it back. */
static void
shapes_parse_back(void **state)
{
    struct fx_catalog *c = build(99, 200, 3);
    syncq_error err;

    (void)state;
    for (size_t i = 0; i < c->noffers; i += 13) {
        const struct fx_offer *o = &c->offers[i];
        const struct fx_supplier *s = &c->sups[o->supplier];
        char *api = fx_render_detail(c, o, BASE, "en");
        char *page = fx_render_page(c, o, BASE);
        char *classic = fx_render_product_get(c, o, BASE);
        json_t *a = NULL, *p = NULL, *k = NULL;
        size_t main_images = 0;
        for (int m = 0; m < o->nimages; m++) {
            main_images += o->images[m].role == 0;
        }
        assert_int_equal(sq_1688_offer_parse(api, strlen(api), o->id, &a, &err),
                         SYNCQ_OK);
        assert_int_equal(
            sq_1688_offer_parse(page, strlen(page), o->id, &p, &err), SYNCQ_OK);
        assert_int_equal(
            sq_1688_offer_parse(classic, strlen(classic), o->id, &k, &err),
            SYNCQ_OK);
        /* the three sources agree where they carry the same facts */
        assert_string_equal(json_string_value(json_object_get(a, "subject")),
                            o->subject);
        assert_string_equal(json_string_value(json_object_get(p, "subject")),
                            o->subject);
        assert_int_equal(json_integer_value(json_object_get(a, "moq")), o->moq);
        assert_int_equal(json_integer_value(json_object_get(p, "moq")), o->moq);
        assert_int_equal(json_integer_value(json_object_get(a, "quote_type")),
                         o->quote_type);
        assert_int_equal(json_integer_value(json_object_get(p, "quote_type")),
                         o->nskus > 0 ? (o->quote_type == 1 ? 1 : 2) : 0);
        assert_int_equal(json_array_size(json_object_get(a, "skus")), o->nskus);
        assert_int_equal(json_array_size(json_object_get(p, "skus")), o->nskus);
        assert_int_equal(json_array_size(json_object_get(k, "skus")), o->nskus);
        assert_int_equal(
            json_integer_value(json_object_get(a, "price_min_fen")),
            json_integer_value(json_object_get(p, "price_min_fen")));
        assert_int_equal(
            json_integer_value(json_object_get(a, "price_max_fen")),
            json_integer_value(json_object_get(p, "price_max_fen")));
        assert_int_equal(json_integer_value(json_object_get(a, "category_id")),
                         c->cats[o->leaf].id);
        assert_int_equal(json_integer_value(json_object_get(k, "category_id")),
                         c->cats[o->leaf].id);
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(a, "supplier"), "seller_user_id")),
                         s->user_id);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(p, "supplier"), "member_id")),
                            s->member_id);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(a, "supplier"),
                                              "company_name")),
            s->company);
        {
            /* main images: same list from the API and the page */
            size_t n = 0, j;
            json_t *img;
            json_array_foreach(json_object_get(p, "images"), j, img)
            {
                n += strcmp(json_string_value(json_object_get(img, "role")),
                            "main") == 0;
            }
            assert_int_equal(n, main_images);
        }
        json_decref(a);
        json_decref(p);
        json_decref(k);
        sq_free(api);
        sq_free(page);
        sq_free(classic);
    }
    /* listing, category, shop */
    {
        char *l = fx_render_listing(c, 0, 2, 10, BASE);
        json_t *o = NULL;
        assert_int_equal(sq_1688_listing_parse(
                             l, strlen(l), fx_templates[0].leaf_id, &o, &err),
                         SYNCQ_OK);
        assert_int_equal(json_integer_value(json_object_get(o, "page")), 2);
        assert_int_equal(json_integer_value(json_object_get(o, "total")),
                         c->nlisting[0]);
        assert_int_equal(json_array_size(json_object_get(o, "offers")), 10);
        assert_int_equal(
            json_integer_value(json_object_get(
                json_array_get(json_object_get(o, "offers"), 0), "offer_id")),
            c->offers[c->listing[0][10]].id);
        json_decref(o);
        sq_free(l);
        l = fx_render_category(c, 0, "ko");
        assert_int_equal(sq_1688_category_parse(l, strlen(l), &o, &err),
                         SYNCQ_OK);
        assert_int_equal(json_array_size(json_object_get(o, "children")), 3);
        assert_string_equal(json_string_value(json_object_get(o, "lang")),
                            "ko");
        json_decref(o);
        sq_free(l);
        l = fx_render_category(c, fx_templates[1].top_id, "en");
        assert_int_equal(sq_1688_category_parse(l, strlen(l), &o, &err),
                         SYNCQ_OK);
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(json_object_get(o, "children"), 0),
                             "category_id")),
                         fx_templates[1].leaf_id);
        json_decref(o);
        sq_free(l);
        l = fx_render_shop(c, &c->sups[5]);
        assert_int_equal(sq_1688_supplier_parse(l, strlen(l), &o, &err),
                         SYNCQ_OK);
        assert_int_equal(
            json_integer_value(json_object_get(o, "seller_user_id")),
            c->sups[5].user_id);
        assert_string_equal(json_string_value(json_object_get(o, "city")),
                            c->sups[5].city);
        json_decref(o);
        sq_free(l);
    }
    fx_catalog_free(c);
}

static void
images_are_real(void **state)
{
    static const char *const exts[] = {"jpg", "png", "webp"};
    static const unsigned char jpg[] = {0xFF, 0xD8, 0xFF};
    static const unsigned char png[] = {0x89, 'P', 'N', 'G'};

    (void)state;
    assert_int_equal(VIPS_INIT("test"), 0);
    for (int e = 0; e < 3; e++) {
        for (uint64_t key = 11; key < 14; key++) {
            void *buf = NULL, *again = NULL;
            size_t len = 0, len2 = 0;
            syncq_error err;
            VipsImage *img;
            int w, h;
            assert_int_equal(fx_image_encode(key, exts[e], 0, &buf, &len, &err),
                             SYNCQ_OK);
            assert_true(len > 1000);
            if (e == 0) {
                assert_memory_equal(buf, jpg, 3);
            } else if (e == 1) {
                assert_memory_equal(buf, png, 4);
            } else {
                assert_memory_equal((char *)buf + 8, "WEBP", 4);
            }
            img = vips_image_new_from_buffer(buf, len, "", NULL);
            assert_non_null(img);
            fx_image_size(key, &w, &h);
            assert_int_equal(vips_image_get_width(img), w);
            assert_int_equal(vips_image_get_height(img), h);
            g_object_unref(img);
            /* deterministic bytes */
            assert_int_equal(
                fx_image_encode(key, exts[e], 0, &again, &len2, &err),
                SYNCQ_OK);
            assert_int_equal(len, len2);
            assert_memory_equal(buf, again, len);
            sq_free(again);
            sq_free(buf);
            /* a resized variant fits its box */
            assert_int_equal(
                fx_image_encode(key, exts[e], 220, &buf, &len, &err), SYNCQ_OK);
            img = vips_image_new_from_buffer(buf, len, "", NULL);
            assert_non_null(img);
            assert_true(vips_image_get_width(img) <= 220);
            assert_true(vips_image_get_height(img) <= 220);
            g_object_unref(img);
            sq_free(buf);
        }
    }
    {
        void *buf = NULL;
        size_t len;
        syncq_error err;
        assert_int_equal(fx_image_encode(1, "gif", 0, &buf, &len, &err),
                         SYNCQ_EINVAL);
        assert_null(buf);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deterministic_per_seed),
        cmocka_unit_test(ids_and_duplicates),
        cmocka_unit_test(bad_sizes),
        cmocka_unit_test(image_tokens),
        cmocka_unit_test(twenty_leaves_and_a_revision),
        cmocka_unit_test(shapes_parse_back),
        cmocka_unit_test(images_are_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
