/* SPDX-License-Identifier: MIT
 *
 * bp_import.c: batch_import (bp.h). The file is streamed record by
 * record; products are written in batches, each batch in one transaction
 * together with the bad rows found since the previous batch (table
 * batch_error, with their line numbers) and the position to resume from
 * (table batch_job: byte offset and line number of the first record not
 * yet committed). So a killed import restarts exactly after its last
 * committed row, with no row lost and none stored twice, and every
 * skipped row stays listed. For CSV a batch always ends at an offer
 * boundary: the rows of one offer are committed together.
 */
#include "batch_processing/bp.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_hash.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "core/sq_utf8.h"
#include "data_sync/ds_catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIG_HEAD (64 * 1024) /* bytes hashed into the file signature */
#define ERRORS_LISTED 100    /* bad rows listed in the result */

struct bad_row {
    int64_t line;
    char error[256];
    char excerpt[201];
};

struct totals {
    int64_t rows_ok, rows_bad, inserted, updated, unchanged;
};

struct import {
    struct sq_db *db;
    const struct bp_import_opts *o;
    const struct sq_progress *p;
    bool csv;
    struct bp_reader rd;
    struct bp_csv_map map;
    int64_t file_size;
    /* committed state */
    struct totals done;
    int64_t pos_offset; /* resume here */
    int64_t pos_line;
    /* the batch being built */
    json_t **offers; /* canonical offers */
    size_t noffers;
    struct bad_row *bad;
    size_t nbad;
    size_t bad_cap;
    int64_t batch_rows_ok;
    int64_t batch_rows_bad;
    int64_t next_offset; /* position after this batch */
    int64_t next_line;
    struct totals tx; /* computed inside the transaction */
    bool finished;    /* this batch reaches the end of the file */
    /* CSV: the offer being assembled */
    json_t *group;
    int64_t group_id;
    int64_t group_line;
    int64_t group_offset;
    int64_t group_rows;
};

static int
oom(syncq_error *err)
{
    return sq_fail(err, SYNCQ_ENOMEM, "out of memory importing");
}

/* "size:mtime:sha256(first 64 KiB)": a changed file is noticed. */
static int
file_signature(const char *path, char *out, size_t cap, int64_t *size,
               syncq_error *err)
{
    struct stat st;
    unsigned char *head;
    char sha[65];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        int e = errno;
        return sq_fail_errno(err, e == ENOENT ? SYNCQ_ENOTFOUND : SYNCQ_EIO,
                             "cannot open %s: %s", path, strerror(e));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sq_fail(err, SYNCQ_EINVAL, "%s is not a regular file", path);
    }
    head = sq_malloc(SIG_HEAD);
    if (head == NULL) {
        close(fd);
        return oom(err);
    }
    n = read(fd, head, SIG_HEAD);
    close(fd);
    sq_sha256_hex(head, n > 0 ? (size_t)n : 0, sha);
    sq_free(head);
    snprintf(out, cap, "%lld:%lld:%s", (long long)st.st_size,
             (long long)st.st_mtime, sha);
    *size = (int64_t)st.st_size;
    return SYNCQ_OK;
}

static int
add_bad(struct import *im, int64_t line, const char *msg, const char *raw,
        size_t rawlen, syncq_error *err)
{
    struct bad_row *b;

    if (im->nbad == im->bad_cap) {
        size_t cap = im->bad_cap ? im->bad_cap * 2 : 64;
        struct bad_row *nb = sq_realloc(im->bad, cap * sizeof *nb);
        if (nb == NULL) {
            return oom(err);
        }
        im->bad = nb;
        im->bad_cap = cap;
    }
    b = &im->bad[im->nbad++];
    b->line = line;
    snprintf(b->error, sizeof b->error, "%s", msg);
    sq_utf8_sanitize(raw != NULL ? raw : "", raw != NULL ? rawlen : 0,
                     b->excerpt, sizeof b->excerpt);
    return SYNCQ_OK;
}

static int
add_offer(struct import *im, json_t *canon, syncq_error *err)
{
    if (im->noffers > (size_t)im->o->batch_rows) {
        json_decref(canon);
        return sq_fail(err, SYNCQ_EINTERNAL, "import batch overflow");
    }
    im->offers[im->noffers++] = canon;
    return SYNCQ_OK;
}

static void
clear_batch(struct import *im)
{
    for (size_t i = 0; i < im->noffers; i++) {
        json_decref(im->offers[i]);
    }
    im->noffers = 0;
    im->nbad = 0;
    im->batch_rows_ok = 0;
    im->batch_rows_bad = 0;
}

/* The transaction of one batch: products, bad rows, new position. */
static int
batch_tx(struct sq_db *db, void *ud, syncq_error *err)
{
    struct import *im = ud;
    struct sq_db_stmt *st;
    char now[40];
    int rc = SYNCQ_OK;

    im->tx = im->done;
    im->tx.rows_ok += im->batch_rows_ok;
    im->tx.rows_bad += im->batch_rows_bad;
    for (size_t i = 0; i < im->noffers && rc == SYNCQ_OK; i++) {
        int outcome;
        rc = sq_ds_offer_store(db, im->offers[i], im->o->force, &outcome, err);
        if (outcome == SQ_DS_INSERTED) {
            im->tx.inserted++;
        } else if (outcome == SQ_DS_UPDATED) {
            im->tx.updated++;
        } else {
            im->tx.unchanged++;
        }
    }
    for (size_t i = 0; i < im->nbad && rc == SYNCQ_OK; i++) {
        rc = sq_db_prepare(db,
                           "INSERT INTO batch_error (job_key, line_no, "
                           "error, excerpt) VALUES (?, ?, ?, ?) ON CONFLICT "
                           "(job_key, line_no) DO NOTHING",
                           &st, err);
        if (rc == SYNCQ_OK) {
            sq_db_bind_text(st, 1, im->o->job_id);
            sq_db_bind_i64(st, 2, im->bad[i].line);
            sq_db_bind_text(st, 3, im->bad[i].error);
            sq_db_bind_text(st, 4, im->bad[i].excerpt);
            rc = sq_db_step(st, err) < 0 ? SYNCQ_EDB : SYNCQ_OK;
        }
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_db_prepare(db,
                       "UPDATE batch_job SET byte_offset = ?, "
                       "line_no = ?, rows_ok = ?, rows_bad = ?, inserted = ?, "
                       "updated = ?, unchanged = ?, status = ?, "
                       "updated_at = ? WHERE job_key = ?",
                       &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, im->next_offset);
    sq_db_bind_i64(st, 2, im->next_line);
    sq_db_bind_i64(st, 3, im->tx.rows_ok);
    sq_db_bind_i64(st, 4, im->tx.rows_bad);
    sq_db_bind_i64(st, 5, im->tx.inserted);
    sq_db_bind_i64(st, 6, im->tx.updated);
    sq_db_bind_i64(st, 7, im->tx.unchanged);
    sq_db_bind_text(st, 8, im->finished ? "done" : "running");
    sq_db_bind_text(st, 9, sq_ds_now_iso(now, sizeof now));
    sq_db_bind_text(st, 10, im->o->job_id);
    rc = sq_db_step(st, err);
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
commit_batch(struct import *im, syncq_error *err)
{
    int rc = sq_db_with_tx(im->db, batch_tx, im, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    im->done = im->tx;
    im->pos_offset = im->next_offset;
    im->pos_line = im->next_line;
    clear_batch(im);
    return SYNCQ_OK;
}

/* The current CSV record as text for an error excerpt (fields joined
 * with ','; cut at 200 bytes by add_bad). */
static const char *
csv_excerpt(const struct bp_reader *r, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;

    for (int i = 0; i < r->nfields && n + 1 < cap; i++) {
        size_t k = r->flen[i] < cap - n - 1 ? r->flen[i] : cap - n - 1;
        if (i > 0) {
            buf[n++] = ',';
            if (n + 1 >= cap) {
                break;
            }
            k = k < cap - n - 1 ? k : cap - n - 1;
        }
        memcpy(buf + n, bp_field(r, i), k);
        n += k;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Canonicalise a parsed record into the batch, or record it as bad. */
static int
take_record(struct import *im, json_t *rec, int64_t line, int64_t rows,
            const char *raw, size_t rawlen, syncq_error *err)
{
    json_t *canon = NULL;
    syncq_error rerr;
    int rc = sq_ds_offer_canonical(rec, &canon, NULL, &rerr);

    if (rc == SYNCQ_ENOMEM) {
        return sq_fail(err, rc, "%s", rerr.msg);
    }
    if (rc != SYNCQ_OK) {
        im->batch_rows_bad += rows;
        return add_bad(im, line, rerr.msg, raw, rawlen, err);
    }
    im->batch_rows_ok += rows;
    return add_offer(im, canon, err);
}

static int
jsonl_step(struct import *im, bool *eof, syncq_error *err)
{
    syncq_error rerr;
    json_t *rec = NULL;
    int rc = bp_next_line(&im->rd, &rerr);

    if (rc == 0) {
        *eof = true;
        return SYNCQ_OK;
    }
    if (rc == SYNCQ_ETOOBIG) {
        im->batch_rows_bad++;
        rc = add_bad(im, im->rd.rec_line, rerr.msg, NULL, 0, err);
        goto out;
    }
    if (rc < 0) {
        if (err != NULL) {
            *err = rerr;
        }
        return rc;
    }
    if (strspn(im->rd.rec, " \t") == im->rd.rec_len) {
        rc = SYNCQ_OK; /* blank line: nothing to import, nothing lost */
        goto out;
    }
    {
        char msg[256];
        rc = sq_ds_json_parse(im->rd.rec, im->rd.rec_len, &rec, msg, sizeof msg,
                              err);
        if (rc == SYNCQ_ENOMEM) {
            return rc;
        }
        if (rc != SYNCQ_OK) {
            im->batch_rows_bad++;
            rc = add_bad(im, im->rd.rec_line, msg, im->rd.rec, im->rd.rec_len,
                         err);
            goto out;
        }
    }
    rc = take_record(im, rec, im->rd.rec_line, 1, im->rd.rec, im->rd.rec_len,
                     err);
    json_decref(rec);
out:
    im->next_offset = bp_reader_tell(&im->rd);
    im->next_line = im->rd.line;
    return rc;
}

/* CSV: close the offer being assembled into the batch. */
static int
close_group(struct import *im, syncq_error *err)
{
    char msg[64];
    int rc;

    if (im->group == NULL) {
        return SYNCQ_OK;
    }
    snprintf(msg, sizeof msg, "offer %lld", (long long)im->group_id);
    rc = take_record(im, im->group, im->group_line, im->group_rows, msg,
                     strlen(msg), err);
    json_decref(im->group);
    im->group = NULL;
    im->group_rows = 0;
    return rc;
}

static int
csv_step(struct import *im, bool *eof, bool *boundary, syncq_error *err)
{
    syncq_error rerr;
    int64_t id = 0;
    int rc = bp_next_csv(&im->rd, &rerr);

    *boundary = false;
    if (rc == 0) {
        *eof = true;
        rc = close_group(im, err);
        im->next_offset = bp_reader_tell(&im->rd);
        im->next_line = im->rd.line;
        *boundary = true;
        return rc;
    }
    if (rc == SYNCQ_EINVAL || rc == SYNCQ_ETOOBIG) {
        im->batch_rows_bad++;
        return add_bad(im, im->rd.rec_line, rerr.msg, NULL, 0, err);
    }
    if (rc < 0) {
        if (err != NULL) {
            *err = rerr;
        }
        return rc;
    }
    if (bp_csv_offer_id(&im->rd, &im->map, &id, &rerr) != SYNCQ_OK) {
        char ex[256];
        size_t exlen;
        csv_excerpt(&im->rd, ex, sizeof ex, &exlen);
        im->batch_rows_bad++;
        return add_bad(im, im->rd.rec_line, rerr.msg, ex, exlen, err);
    }
    if (im->group != NULL && id != im->group_id) {
        rc = close_group(im, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        /* The batch may end here: resume at this row, the first of the
         * next offer. */
        *boundary = true;
        im->next_offset = im->rd.rec_offset;
        im->next_line = im->rd.rec_line;
    }
    if (im->group == NULL) {
        im->group_id = id;
        im->group_line = im->rd.rec_line;
        im->group_offset = im->rd.rec_offset;
    }
    rc = bp_csv_add_row(&im->rd, &im->map, &im->group, &rerr);
    if (rc == SYNCQ_ENOMEM) {
        return sq_fail(err, rc, "%s", rerr.msg);
    }
    if (rc != SYNCQ_OK) {
        if (im->group == NULL && *boundary) {
            /* The first row of an offer was bad: nothing is pending, so
             * a resume starts after it (it is recorded once). */
            im->next_offset = bp_reader_tell(&im->rd);
            im->next_line = im->rd.line;
        }
        {
            char ex[256];
            size_t exlen;
            csv_excerpt(&im->rd, ex, sizeof ex, &exlen);
            im->batch_rows_bad++;
            return add_bad(im, im->rd.rec_line, rerr.msg, ex, exlen, err);
        }
    }
    im->group_rows++;
    return SYNCQ_OK;
}

/* Read the CSV header (always at the start of the file). */
static int
read_header(struct import *im, syncq_error *err)
{
    struct bp_reader hr;
    int rc = bp_reader_open(&hr, im->o->path, 0, 1, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = bp_next_csv(&hr, err);
    if (rc == 0) {
        rc = sq_fail(err, SYNCQ_EINVAL,
                     "%s is empty (a CSV needs a header "
                     "line)",
                     im->o->path);
    } else if (rc == 1) {
        rc = bp_csv_map_header(&hr, &im->map, err);
        if (rc == SYNCQ_OK && im->pos_offset == 0) {
            im->pos_offset = bp_reader_tell(&hr);
            im->pos_line = hr.line;
        }
    } else {
        sq_error_prefix(err, "CSV header");
        if (rc == SYNCQ_ETOOBIG) {
            rc = SYNCQ_EINVAL;
        }
    }
    bp_reader_close(&hr);
    return rc;
}

/* Start or find the job row. *state: "new", "running" or "done". */
static int
job_begin(struct import *im, const char *sig, char state[16],
          int64_t *started_line, syncq_error *err)
{
    struct sq_db_stmt *st;
    char now[40];
    int rc;

    state[0] = '\0';
    rc = sq_db_prepare(im->db,
                       "SELECT status, file_sig, byte_offset, "
                       "line_no, rows_ok, rows_bad, inserted, updated, "
                       "unchanged, path FROM batch_job WHERE job_key = ?",
                       &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_text(st, 1, im->o->job_id);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 1) {
        const char *old_sig = sq_db_col_text(st, 1);
        const char *old_path = sq_db_col_text(st, 9);
        snprintf(state, 16, "%s", sq_db_col_text(st, 0));
        if (old_path == NULL || strcmp(old_path, im->o->path) != 0 ||
            old_sig == NULL || strcmp(old_sig, sig) != 0) {
            sq_db_reset(st);
            return sq_fail(err, SYNCQ_EINVAL,
                           "import job %s was started on "
                           "another file or the file changed since; give a "
                           "new job_id to import it afresh",
                           im->o->job_id);
        }
        im->pos_offset = sq_db_col_i64(st, 2);
        im->pos_line = sq_db_col_i64(st, 3);
        im->done.rows_ok = sq_db_col_i64(st, 4);
        im->done.rows_bad = sq_db_col_i64(st, 5);
        im->done.inserted = sq_db_col_i64(st, 6);
        im->done.updated = sq_db_col_i64(st, 7);
        im->done.unchanged = sq_db_col_i64(st, 8);
        *started_line = im->pos_line;
        sq_db_reset(st);
        return SYNCQ_OK;
    }
    snprintf(state, 16, "new");
    *started_line = 0;
    rc = sq_db_prepare(im->db,
                       "INSERT INTO batch_job (job_key, kind, path, "
                       "format, file_sig, byte_offset, line_no, status, "
                       "started_at, updated_at) VALUES (?, 'import', ?, ?, "
                       "?, 0, 1, 'running', ?, ?)",
                       &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_ds_now_iso(now, sizeof now);
    sq_db_bind_text(st, 1, im->o->job_id);
    sq_db_bind_text(st, 2, im->o->path);
    sq_db_bind_text(st, 3, im->o->format);
    sq_db_bind_text(st, 4, sig);
    sq_db_bind_text(st, 5, now);
    sq_db_bind_text(st, 6, now);
    rc = sq_db_step(st, err);
    im->pos_offset = 0;
    im->pos_line = 1;
    return rc < 0 ? rc : SYNCQ_OK;
}

static json_t *
bad_rows_json(struct sq_db *db, const char *job, syncq_error *err)
{
    struct sq_db_stmt *st;
    json_t *list = json_array();
    int rc;

    if (list == NULL ||
        sq_db_prepare(db,
                      "SELECT line_no, error, excerpt FROM batch_error "
                      "WHERE job_key = ? ORDER BY line_no LIMIT 100",
                      &st, err) != SYNCQ_OK) {
        json_decref(list);
        return NULL;
    }
    sq_db_bind_text(st, 1, job);
    while ((rc = sq_db_step(st, err)) == 1) {
        json_t *o = json_pack(
            "{s:I, s:s, s:s}", "line", (json_int_t)sq_db_col_i64(st, 0),
            "error", sq_db_col_text(st, 1) ? sq_db_col_text(st, 1) : "",
            "excerpt", sq_db_col_text(st, 2) ? sq_db_col_text(st, 2) : "");
        if (o != NULL) {
            json_array_append_new(list, o);
        }
    }
    if (rc < 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

int
bp_import(struct sq_db *db, const struct bp_import_opts *o,
          const struct sq_progress *p, json_t **result, syncq_error *err)
{
    struct import im;
    char sig[128];
    char state[16];
    int64_t started = sq_mono_ms();
    int64_t resumed_from = 0;
    bool eof = false;
    bool stopped = false;
    json_t *bad = NULL;
    int rc;

    *result = NULL;
    memset(&im, 0, sizeof im);
    im.rd.fd = -1;
    im.db = db;
    im.o = o;
    im.p = p;
    if (o->format == NULL ||
        (strcmp(o->format, "csv") != 0 && strcmp(o->format, "jsonl") != 0)) {
        return sq_fail(err, SYNCQ_EINVAL, "format must be csv or jsonl");
    }
    if (o->batch_rows < 1 || o->batch_rows > 10000) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch_rows %d out of range "
                       "1..10000",
                       o->batch_rows);
    }
    if (o->job_id == NULL || o->job_id[0] == '\0' || strlen(o->job_id) > 200) {
        return sq_fail(err, SYNCQ_EINVAL, "job_id must be 1..200 bytes");
    }
    im.csv = strcmp(o->format, "csv") == 0;
    rc = file_signature(o->path, sig, sizeof sig, &im.file_size, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    /* One spare: CSV closes the last offer after the batch filled up. */
    im.offers = sq_calloc((size_t)o->batch_rows + 1, sizeof *im.offers);
    if (im.offers == NULL) {
        return oom(err);
    }
    rc = job_begin(&im, sig, state, &resumed_from, err);
    if (rc == SYNCQ_OK && strcmp(state, "done") == 0) {
        eof = true; /* already imported: report it again */
    }
    if (rc == SYNCQ_OK && !eof && im.csv) {
        rc = read_header(&im, err);
    }
    if (rc == SYNCQ_OK && !eof) {
        rc = bp_reader_open(&im.rd, o->path, im.pos_offset, im.pos_line, err);
    }
    if (rc == SYNCQ_OK && !eof && resumed_from > 0) {
        SQ_INFO("batch.import_resume", "job=%s line=%lld offset=%lld",
                o->job_id, (long long)im.pos_line, (long long)im.pos_offset);
    }
    im.next_offset = im.pos_offset;
    im.next_line = im.pos_line;
    while (rc == SYNCQ_OK && !eof) {
        bool boundary = true;
        if (im.csv) {
            rc = csv_step(&im, &eof, &boundary, err);
        } else {
            rc = jsonl_step(&im, &eof, err);
        }
        if (rc != SYNCQ_OK) {
            break;
        }
        if (eof) {
            im.finished = true;
            rc = commit_batch(&im, err);
            break;
        }
        if (boundary &&
            (im.noffers >= (size_t)o->batch_rows || im.nbad >= 1000)) {
            char msg[96];
            rc = commit_batch(&im, err);
            if (rc != SYNCQ_OK) {
                break;
            }
            snprintf(msg, sizeof msg, "%lld rows imported, %lld bad",
                     (long long)im.done.rows_ok, (long long)im.done.rows_bad);
            if (sq_progress_report(p, im.pos_offset, im.file_size, msg) != 0 ||
                sq_progress_stop(p)) {
                stopped = true;
                break;
            }
        }
    }
    if (rc != SYNCQ_OK) {
        goto done;
    }
    sq_progress_report(p, im.file_size, im.file_size, "done");
    bad = bad_rows_json(db, o->job_id, err);
    if (bad == NULL) {
        rc = err != NULL && err->code != SYNCQ_OK ? err->code : SYNCQ_ENOMEM;
        goto done;
    }
    if (im.map.ignored == NULL) {
        im.map.ignored = json_array();
    }
    *result = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I,"
        " s:O, s:I, s:b}",
        "job_id", o->job_id, "path", o->path, "format", o->format, "status",
        stopped ? "stopped" : "done", "rows_ok", (json_int_t)im.done.rows_ok,
        "rows_bad", (json_int_t)im.done.rows_bad, "products",
        (json_int_t)(im.done.inserted + im.done.updated + im.done.unchanged),
        "inserted", (json_int_t)im.done.inserted, "updated",
        (json_int_t)im.done.updated, "unchanged", (json_int_t)im.done.unchanged,
        "bad_rows", bad, "bytes", (json_int_t)im.file_size, "resumed_from_line",
        (json_int_t)resumed_from, "ignored_columns", im.map.ignored,
        "elapsed_ms", (json_int_t)(sq_mono_ms() - started), "already_done",
        strcmp(state, "done") == 0);
    if (*result == NULL) {
        rc = oom(err);
    }
done:
    json_decref(im.group);
    clear_batch(&im);
    sq_free(im.offers);
    sq_free(im.bad);
    json_decref(im.map.ignored);
    if (im.rd.fd >= 0 || im.rd.buf != NULL) {
        bp_reader_close(&im.rd);
    }
    return rc;
}
