/* SPDX-License-Identifier: MIT
 *
 * fuzz_jsonl.c: the batch_import JSONL path on any bytes: the line
 * reader (limits, CR/LF), JSON parsing of each line (jansson and the
 * allocation-free validator must agree on every line) and the canonical
 * offer, then the CSV export of every accepted offer read back twice:
 * after one CSV cycle the record must be stable (CSV drops only what it
 * has no column for). No crash, leak or overflow.
 */
#include "sq_buf.h"
#include "batch_processing/bp.h"
#include "data_sync/ds_catalog.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *
csv_cycle(const json_t *canon)
{
    struct sq_buf b;
    struct bp_reader r;
    struct bp_csv_map m;
    json_t *offer = NULL;
    json_t *back = NULL;

    sq_buf_init(&b, 0);
    if (bp_csv_format_header(&b, NULL) != SYNCQ_OK ||
        bp_csv_format_offer(canon, &b, NULL) != SYNCQ_OK) {
        sq_buf_cleanup(&b);
        return NULL;
    }
    bp_reader_open_mem(&r, b.data, b.len, NULL);
    if (bp_next_csv(&r, NULL) != 1 ||
        bp_csv_map_header(&r, &m, NULL) != SYNCQ_OK) {
        abort();
    }
    while (bp_next_csv(&r, NULL) == 1) {
        if (bp_csv_add_row(&r, &m, &offer, NULL) != SYNCQ_OK) {
            abort();
        }
    }
    if (offer == NULL ||
        sq_ds_offer_canonical(offer, &back, NULL, NULL) != SYNCQ_OK) {
        abort();
    }
    json_decref(offer);
    json_decref(m.ignored);
    bp_reader_close(&r);
    sq_buf_cleanup(&b);
    return back;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bp_reader r;
    int rc;

    bp_reader_open_mem(&r, data, size, NULL);
    while ((rc = bp_next_line(&r, NULL)) != 0) {
        json_t *rec;
        json_t *canon = NULL;
        if (rc < 0) {
            continue;
        }
        if (r.rec_len > BP_MAX_RECORD || strlen(r.rec) > r.rec_len) {
            abort();
        }
        {
            char msg[256];
            int prc =
                sq_ds_json_parse(r.rec, r.rec_len, &rec, msg, sizeof msg, NULL);
            /* The allocation-free validator must agree with the parser:
             * a text it accepts but the parser refuses would be taken for
             * an out-of-memory failure and retried forever. */
            if ((prc == SYNCQ_OK) != sq_ds_json_valid(r.rec, r.rec_len) ||
                prc == SYNCQ_ENOMEM) {
                abort();
            }
        }
        if (rec == NULL) {
            continue;
        }
        if (sq_ds_offer_canonical(rec, &canon, NULL, NULL) == SYNCQ_OK) {
            json_t *a = csv_cycle(canon);
            json_t *b = a != NULL ? csv_cycle(a) : NULL;
            char ha[65];
            char hb[65];
            if (a == NULL || b == NULL) {
                abort();
            }
            sq_ds_content_hash(a, ha, NULL);
            sq_ds_content_hash(b, hb, NULL);
            if (strcmp(ha, hb) != 0) {
                abort();
            }
            json_decref(a);
            json_decref(b);
            json_decref(canon);
        }
        json_decref(rec);
    }
    bp_reader_close(&r);
    return 0;
}
