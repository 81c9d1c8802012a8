/* SPDX-License-Identifier: MIT
 *
 * ds_sync_page.h: a page of staged rows as sync_products reads it
 * (ds_sync.c), and the parse of its detail rows ahead of their write
 * (ds_sync_prep.c): parsing, canonicalising and hashing an offer is
 * most of the client's CPU of a first sync and needs no database, so
 * page N+1 is prepared by a second thread while page N is written
 * (the database's work and the client's then overlap on two cores).
 */
#ifndef DS_SYNC_PAGE_H
#define DS_SYNC_PAGE_H

#include "data_sync/ds_catalog.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One staged row of a page, copied out of the result set. */
struct raw_row {
    int64_t raw_id;
    char kind[16];
    char *key;
    char outcome[32];
    char *normalized; /* may be NULL */
    char hash[65];    /* norm_hash at read time */
    char fetched_at[40];
    /* A detail row prepared (sq_ds_prep_row): */
    bool prepared;
    json_t *canon;   /* the canonical offer (owned), or NULL: prc says why */
    int prc;         /* SYNCQ_OK, SYNCQ_EINVAL (bad record: msg) or
                      * SYNCQ_ENOMEM */
    int skipped;     /* images the canonical form left out */
    char chash[65];  /* canon's content hash ("" when not computed) */
    char msg[256];   /* why canon is NULL */
    /* canon's child rows in COPY text, made by the prep thread (its
     * text[0] NULL when not made: the write builds them). */
    struct sq_ds_child_copy child;
};

/* Prepare detail row `row` (no database): parse its record, make the
 * canonical offer, check its offer_id against the key, hash it. A row
 * without a record or fetched as not_found is left unprepared.
 * Thread-safe for distinct rows. */
void sq_ds_prep_row(struct raw_row *row);

/* Release what sq_ds_prep_row made. */
void sq_ds_prep_clear(struct raw_row *row);

/* Free rows[0..*n) and set *n to 0; with `trash`, their canonical
 * offers are moved to trash[*ntrash...] (room for *n more) instead of
 * released. */
void sq_ds_rows_free(struct raw_row *rows, size_t *n, json_t **trash,
                     size_t *ntrash);

/* The preparation of a page by a second thread. */
struct sq_ds_prep {
    pthread_t tid;
    bool running;
    struct raw_row *rows;
    size_t n;
    json_t **trash; /* canonical offers of an earlier page, to release */
    size_t ntrash;
    struct sq_ds_offer_batch *scratch; /* the thread's, for the child rows */
};

/* Start preparing rows[0..n) on a thread (each also with its child
 * rows in COPY text: the thread runs on PostgreSQL only), after releasing
 * trash[0..ntrash) there too (freeing a page's offers is a tenth of the
 * work of making them: off the main thread as well); when no thread can
 * be started the trash is released now and the rows are prepared on
 * first use instead (sq_ds_prep_row). The rows and the trash are the
 * thread's until sq_ds_prep_wait, which leaves ntrash 0. */
void sq_ds_prep_start(struct sq_ds_prep *p, struct raw_row *rows, size_t n,
                      json_t **trash, size_t ntrash);

/* Wait for the thread of sq_ds_prep_start (nothing when none runs). */
void sq_ds_prep_wait(struct sq_ds_prep *p);

/* Free what the preparations kept between pages (after the last wait). */
void sq_ds_prep_free(struct sq_ds_prep *p);

#endif
