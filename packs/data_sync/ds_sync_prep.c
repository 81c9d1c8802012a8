/* SPDX-License-Identifier: MIT
 *
 * ds_sync_prep.c: the detail rows of a sync page parsed, made
 * canonical and hashed ahead of their write (ds_sync_page.h). Nothing
 * here touches the database or shared state: the thread owns the rows
 * it prepares until it is joined.
 */
#include "data_sync/ds_sync_page.h"
#include "data_sync/ds_catalog.h"
#include "db/ds_util.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <stdio.h>
#include <string.h>

void
sq_ds_prep_row(struct raw_row *row)
{
    json_t *rec = NULL;
    syncq_error e;
    char idtxt[32];

    if (row->prepared || row->normalized == NULL ||
        strcmp(row->outcome, "not_found") == 0) {
        return;
    }
    row->prepared = true;
    row->chash[0] = '\0';
    row->prc = sq_ds_json_parse(row->normalized, strlen(row->normalized),
                                &rec, row->msg, sizeof row->msg, NULL);
    if (row->prc == SYNCQ_ENOMEM) {
        snprintf(row->msg, sizeof row->msg, "out of memory parsing %s %s",
                 row->kind, row->key);
    }
    if (rec == NULL) {
        row->prc = row->prc == SYNCQ_ENOMEM ? SYNCQ_ENOMEM : SYNCQ_EINVAL;
        return;
    }
    row->prc = sq_ds_offer_canonical(rec, &row->canon, &row->skipped, &e);
    json_decref(rec);
    if (row->prc == SYNCQ_OK) {
        snprintf(idtxt, sizeof idtxt, "%lld",
                 (long long)json_integer_value(
                     json_object_get(row->canon, "offer_id")));
        if (strcmp(idtxt, row->key) != 0) {
            snprintf(e.msg, sizeof e.msg,
                     "record offer_id %s does not match the key", idtxt);
            row->prc = SYNCQ_EINVAL;
        }
    }
    if (row->prc == SYNCQ_OK &&
        sq_ds_canonical_hash(row->canon, row->chash, NULL) != SYNCQ_OK) {
        row->chash[0] = '\0'; /* the batch hashes it again and says why */
    }
    if (row->prc != SYNCQ_OK) {
        json_decref(row->canon);
        row->canon = NULL;
        snprintf(row->msg, sizeof row->msg, "%s", e.msg);
    }
}

void
sq_ds_prep_clear(struct raw_row *row)
{
    json_decref(row->canon);
    row->canon = NULL;
    row->prepared = false;
    sq_ds_child_copy_free(&row->child);
}

void
sq_ds_rows_free(struct raw_row *rows, size_t *n, json_t **trash,
                size_t *ntrash)
{
    for (size_t i = 0; i < *n; i++) {
        sq_free(rows[i].key);
        sq_free(rows[i].normalized);
        if (trash != NULL && rows[i].canon != NULL) {
            trash[(*ntrash)++] = rows[i].canon;
            rows[i].canon = NULL;
        }
        sq_ds_prep_clear(&rows[i]);
    }
    *n = 0;
}

static void
release(struct sq_ds_prep *p)
{
    for (size_t i = 0; i < p->ntrash; i++) {
        json_decref(p->trash[i]);
    }
    p->ntrash = 0;
}

static void *
prep_main(void *arg)
{
    struct sq_ds_prep *p = arg;

    release(p);
    if (p->scratch == NULL) {
        (void)sq_ds_offer_batch_new(false, &p->scratch, NULL);
    }
    for (size_t i = 0; i < p->n; i++) {
        struct raw_row *row = &p->rows[i];
        sq_ds_prep_row(row);
        /* Out of memory: the write builds them (and says so). */
        if (row->canon != NULL && p->scratch != NULL &&
            row->child.text[0] == NULL) {
            (void)sq_ds_child_copy_make(p->scratch, row->canon, &row->child,
                                        NULL);
        }
    }
    return NULL;
}

void
sq_ds_prep_start(struct sq_ds_prep *p, struct raw_row *rows, size_t n,
                 json_t **trash, size_t ntrash)
{
    p->rows = rows;
    p->n = n;
    p->trash = trash;
    p->ntrash = ntrash;
    p->running = pthread_create(&p->tid, NULL, prep_main, p) == 0;
    if (!p->running) {
        release(p);
    }
}

void
sq_ds_prep_wait(struct sq_ds_prep *p)
{
    if (p->running) {
        pthread_join(p->tid, NULL);
        p->running = false;
    }
}

void
sq_ds_prep_free(struct sq_ds_prep *p)
{
    sq_ds_offer_batch_free(p->scratch);
    p->scratch = NULL;
}
