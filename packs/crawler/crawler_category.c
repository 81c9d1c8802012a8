/* SPDX-License-Identifier: MIT
 *
 * crawler_category.c: a category node and its children into the
 * normalised category record. Shapes: the cross-border
 * category.translation.getById envelope (result.result{categoryId, leaf,
 * level, children[{categoryId, chineseName, translatedName, language,
 * leaf, level, parentCateId}]}; leaf and level arrive as strings or as
 * JSON values, both seen in one reply) and alibaba.category.get
 * ({categoryInfo:[{categoryID, name, isLeaf, parentIDs, childIDs}]},
 * reported, not verified against a capture).
 */
#include "crawler/crawler_parse.h"
#include "core/sq_error.h"
#include "crawler/crawler_values.h"

static json_t *
child_of(const json_t *c)
{
    json_t *o = json_object();
    int64_t v;
    bool b;

    if (o == NULL) {
        return NULL;
    }
    if (!sq_1688_json_int(json_object_get(c, "categoryId"), &v)) {
        json_decref(o);
        return NULL;
    }
    sq_1688_put(o, "category_id", json_integer(v));
    sq_1688_set_str(o, "name_zh",
                    sq_1688_json_str(json_object_get(c, "chineseName")));
    sq_1688_set_str(o, "name_tr",
                    sq_1688_json_str(json_object_get(c, "translatedName")));
    sq_1688_put(o, "is_leaf",
                sq_1688_json_bool(json_object_get(c, "leaf"), &b)
                    ? json_boolean(b)
                    : json_null());
    sq_1688_set_jint(o, "level", json_object_get(c, "level"), 0);
    return o;
}

static int
from_crossborder(const json_t *r, json_t *rec, syncq_error *err)
{
    json_t *children = json_array();
    const char *lang = NULL;
    json_t *c;
    size_t i;
    int64_t v;
    bool b;

    if (children == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing category");
    }
    if (!sq_1688_json_int(json_object_get(r, "categoryId"), &v)) {
        json_decref(children);
        return sq_fail(err, SYNCQ_EPROTO, "category without categoryId");
    }
    sq_1688_put(rec, "category_id", json_integer(v));
    sq_1688_set_str(rec, "name_zh",
                    sq_1688_json_str(json_object_get(r, "chineseName")));
    sq_1688_set_str(rec, "name_tr",
                    sq_1688_json_str(json_object_get(r, "translatedName")));
    lang = sq_1688_json_str(json_object_get(r, "language"));
    sq_1688_put(rec, "lang", json_null());
    sq_1688_put(rec, "is_leaf",
                sq_1688_json_bool(json_object_get(r, "leaf"), &b)
                    ? json_boolean(b)
                    : json_null());
    sq_1688_set_jint(rec, "level", json_object_get(r, "level"), 0);
    /* The root (id 0) has no parent; others may name theirs. */
    if (json_integer_value(json_object_get(rec, "category_id")) != 0) {
        sq_1688_set_jint(rec, "parent_id", json_object_get(r, "parentCateId"),
                         0);
    } else {
        sq_1688_put(rec, "parent_id", json_null());
    }
    sq_1688_put(rec, "children", children);
    if (json_array_size(json_object_get(r, "children")) >
        SQ_1688_MAX_CHILDREN) {
        return sq_fail(err, SYNCQ_EPROTO,
                       "category has %zu children, limit "
                       "%d",
                       json_array_size(json_object_get(r, "children")),
                       SQ_1688_MAX_CHILDREN);
    }
    json_array_foreach(json_object_get(r, "children"), i, c)
    {
        json_t *o = child_of(c);
        if (o == NULL) {
            continue;
        }
        if (lang == NULL) {
            lang = sq_1688_json_str(json_object_get(c, "language"));
        }
        sq_1688_append(children, o);
    }
    sq_1688_set_str(rec, "lang", lang);
    return SYNCQ_OK;
}

static int
from_classic(const json_t *list, json_t *rec, syncq_error *err)
{
    const json_t *c = json_array_get(list, 0);
    json_t *children = json_array();
    json_t *id;
    size_t i;
    int64_t v;
    bool b;

    if (children == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing category");
    }
    if (!sq_1688_json_int(json_object_get(c, "categoryID"), &v)) {
        json_decref(children);
        return sq_fail(err, SYNCQ_EPROTO, "categoryInfo without categoryID");
    }
    sq_1688_put(rec, "category_id", json_integer(v));
    sq_1688_set_str(rec, "name_zh",
                    sq_1688_json_str(json_object_get(c, "name")));
    sq_1688_put(rec, "name_tr", json_null());
    sq_1688_put(rec, "lang", json_null());
    sq_1688_put(rec, "is_leaf",
                sq_1688_json_bool(json_object_get(c, "isLeaf"), &b)
                    ? json_boolean(b)
                    : json_null());
    sq_1688_put(rec, "level", json_null());
    id = json_array_get(json_object_get(c, "parentIDs"), 0);
    sq_1688_set_jint(rec, "parent_id", id, 1);
    sq_1688_put(rec, "children", children);
    if (json_array_size(json_object_get(c, "childIDs")) >
        SQ_1688_MAX_CHILDREN) {
        return sq_fail(err, SYNCQ_EPROTO, "category has too many children");
    }
    json_array_foreach(json_object_get(c, "childIDs"), i, id)
    {
        json_t *o;
        if (!sq_1688_json_int(id, &v)) {
            continue;
        }
        o = json_object();
        if (o == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing category");
        }
        sq_1688_put(o, "category_id", json_integer(v));
        sq_1688_put(o, "name_zh", json_null());
        sq_1688_put(o, "name_tr", json_null());
        sq_1688_put(o, "is_leaf", json_null());
        sq_1688_put(o, "level", json_null());
        sq_1688_append(children, o);
    }
    return SYNCQ_OK;
}

int
sq_1688_category_parse(const char *body, size_t len, json_t **out,
                       syncq_error *err)
{
    json_error_t jerr;
    json_t *root, *rec;
    int rc;

    *out = NULL;
    (void)sq_1688_oom_take();
    if (body == NULL) {
        return sq_fail(err, SYNCQ_EPROTO, "empty category response");
    }
    if (len > SQ_1688_MAX_BODY) {
        return sq_fail(err, SYNCQ_ETOOBIG,
                       "category response is %zu bytes, "
                       "limit %u",
                       len, SQ_1688_MAX_BODY);
    }
    root = json_loadb(body, len, 0, &jerr);
    if (root == NULL) {
        if (sq_1688_load_oom(&jerr)) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing category");
        }
        return sq_fail(err, SYNCQ_EPROTO,
                       "category response is not JSON: line %d: %s", jerr.line,
                       jerr.text);
    }
    rec = json_object();
    if (rec == NULL) {
        json_decref(root);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing category");
    }
    if (json_is_object(sq_1688_jpath(root, "result.result"))) {
        bool ok = true;
        if (sq_1688_json_bool(sq_1688_jpath(root, "result.success"), &ok) &&
            !ok) {
            rc = sq_fail(err, SYNCQ_EPROTO,
                         "platform answered success=false for the category");
        } else {
            rc = from_crossborder(sq_1688_jpath(root, "result.result"), rec,
                                  err);
        }
    } else if (json_array_size(json_object_get(root, "categoryInfo")) > 0) {
        rc = from_classic(json_object_get(root, "categoryInfo"), rec, err);
    } else {
        rc = sq_fail(err, SYNCQ_EPROTO,
                     "unknown category shape (neither "
                     "result.result nor categoryInfo[])");
    }
    json_decref(root);
    if (sq_1688_oom_take() && rc == SYNCQ_OK) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing category");
    }
    if (rc != SYNCQ_OK) {
        json_decref(rec);
        return rc;
    }
    *out = rec;
    return SYNCQ_OK;
}
