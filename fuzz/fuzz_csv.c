/* SPDX-License-Identifier: MIT
 *
 * fuzz_csv.c: the batch_import CSV path on any bytes: the RFC 4180
 * record reader (quotes, newlines in quotes, CRLF, limits), the header
 * map and the row-to-offer assembly, then canonicalisation and the CSV
 * writer. Invariants: fields stay inside the record buffer, line numbers
 * never go backwards, offsets never pass the input, and any offer that
 * canonicalises survives CSV -> offer -> CSV -> offer unchanged. No
 * crash, leak or overflow.
 */
#include "sq_buf.h"
#include "batch_processing/bp.h"
#include "data_sync/ds_catalog.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One CSV cycle: format `canon` (with a header) and read it back. */
static json_t *
cycle(const json_t *canon)
{
    struct sq_buf b;
    struct bp_reader r;
    struct bp_csv_map m;
    json_t *offer = NULL;
    json_t *back = NULL;
    int rc;

    sq_buf_init(&b, 0);
    if (bp_csv_format_header(&b, NULL) != SYNCQ_OK ||
        bp_csv_format_offer(canon, &b, NULL) != SYNCQ_OK) {
        sq_buf_cleanup(&b);
        return NULL;
    }
    bp_reader_open_mem(&r, b.data, b.len, NULL);
    if (bp_next_csv(&r, NULL) != 1 ||
        bp_csv_map_header(&r, &m, NULL) != SYNCQ_OK) {
        abort(); /* our own header must read back */
    }
    while ((rc = bp_next_csv(&r, NULL)) == 1) {
        if (bp_csv_add_row(&r, &m, &offer, NULL) != SYNCQ_OK) {
            abort(); /* our own rows must read back */
        }
    }
    if (rc != 0 || offer == NULL) {
        abort();
    }
    if (sq_ds_offer_canonical(offer, &back, NULL, NULL) != SYNCQ_OK) {
        abort();
    }
    json_decref(offer);
    json_decref(m.ignored);
    bp_reader_close(&r);
    sq_buf_cleanup(&b);
    return back;
}

static void
check_round_trip(json_t *group)
{
    json_t *canon = NULL;
    json_t *a;
    json_t *b;
    char ha[65];
    char hb[65];

    if (sq_ds_offer_canonical(group, &canon, NULL, NULL) != SYNCQ_OK) {
        return;
    }
    a = cycle(canon);
    b = a != NULL ? cycle(a) : NULL;
    if (a == NULL || b == NULL) {
        abort();
    }
    sq_ds_content_hash(a, ha, NULL);
    sq_ds_content_hash(b, hb, NULL);
    if (strcmp(ha, hb) != 0) {
        abort();
    }
    json_decref(canon);
    json_decref(a);
    json_decref(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bp_reader r;
    struct bp_csv_map m;
    json_t *group = NULL;
    int64_t group_id = 0;
    int64_t last_line = 0;
    bool have_map = false;
    int rc;

    bp_reader_open_mem(&r, data, size, NULL);
    memset(&m, 0, sizeof m);
    while ((rc = bp_next_csv(&r, NULL)) != 0) {
        int64_t id;
        if (r.rec_line < last_line || bp_reader_tell(&r) > (int64_t)size) {
            abort();
        }
        last_line = r.rec_line;
        if (rc < 0) {
            continue; /* a bad record: reported and skipped */
        }
        for (int i = 0; i < r.nfields; i++) {
            if (r.fstart[i] + r.flen[i] > r.rec_len) {
                abort();
            }
        }
        if (!have_map) {
            if (bp_csv_map_header(&r, &m, NULL) != SYNCQ_OK) {
                json_decref(m.ignored);
                m.ignored = NULL;
                break;
            }
            have_map = true;
            continue;
        }
        if (bp_csv_offer_id(&r, &m, &id, NULL) != SYNCQ_OK) {
            continue;
        }
        if (group != NULL && id != group_id) {
            check_round_trip(group);
            json_decref(group);
            group = NULL;
        }
        group_id = id;
        (void)bp_csv_add_row(&r, &m, &group, NULL);
    }
    if (group != NULL) {
        check_round_trip(group);
        json_decref(group);
    }
    json_decref(m.ignored);
    bp_reader_close(&r);
    return 0;
}
