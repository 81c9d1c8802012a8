/* SPDX-License-Identifier: MIT
 *
 * bp.h: the batch_processing pack as plain C: streaming readers (lines
 * and RFC 4180 CSV records with byte offsets and line numbers, hard
 * limits on record size and field count), the CSV flattening of a
 * product (one row per SKU), the product filter language, and the four
 * operations import / export / update / delete over the catalog
 * database. Memory is bounded by one record, one product and one batch,
 * never by the file or the table. bp_tasks.c wraps them as tasks.
 */
#ifndef SQ_BP_H
#define SQ_BP_H

#include "sq_buf.h"
#include "db/ds_util.h"
#include "db/sq_db.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

#define BP_MAX_RECORD (1024 * 1024) /* bytes of one line / CSV record */
#define BP_MAX_FIELDS 256           /* CSV fields per record */

/* ---- reading ---------------------------------------------------------- */

struct bp_reader {
    int fd;
    char *buf; /* read buffer */
    size_t cap;
    size_t pos;     /* next unread byte in buf */
    size_t end;     /* bytes valid in buf */
    int64_t offset; /* file offset of buf[pos] */
    int64_t line;   /* number of the line starting at buf[pos] */
    bool eof;
    bool borrowed; /* buf is the caller's memory (open_mem) */
    /* the current record */
    char *rec; /* CSV: field bytes back to back; JSONL: line */
    size_t rec_len;
    size_t rec_cap;
    size_t fstart[BP_MAX_FIELDS]; /* CSV field i = rec[fstart[i]..] */
    size_t flen[BP_MAX_FIELDS];
    int nfields;
    int64_t rec_line;   /* first line of the current record */
    int64_t rec_offset; /* file offset of its first byte */
};

/* Open `path` for reading at byte `offset`, which is the start of line
 * `line` (1-based). Errors: SYNCQ_ENOTFOUND, SYNCQ_EIO, SYNCQ_ENOMEM. */
int bp_reader_open(struct bp_reader *r, const char *path, int64_t offset,
                   int64_t line, syncq_error *err);

/* Start reading the bytes of `data` (tests and fuzzing). */
int bp_reader_open_mem(struct bp_reader *r, const void *data, size_t len,
                       syncq_error *err);

void bp_reader_close(struct bp_reader *r);

/* Next line (without its "\n" / "\r\n") into r->rec. 1 a line, 0 end of
 * input, SYNCQ_ETOOBIG for a line over BP_MAX_RECORD (it is skipped: the
 * next call reads the line after it), SYNCQ_EIO. */
int bp_next_line(struct bp_reader *r, syncq_error *err);

/* Next CSV record (RFC 4180: "," separated, '"' quoted with "" for a
 * quote, quoted fields may span lines) into the fields of r. 1 a record,
 * 0 end of input, SYNCQ_EINVAL for a malformed record (unterminated or
 * stray quote, too many fields: the reader resynchronises at the next
 * line), SYNCQ_ETOOBIG, SYNCQ_EIO. The message names the problem; the
 * line is r->rec_line. */
int bp_next_csv(struct bp_reader *r, syncq_error *err);

/* Field i of the current CSV record (not NUL-terminated: length
 * r->flen[i]). */
const char *bp_field(const struct bp_reader *r, int i);

/* Offset just past the current record (where reading resumes). */
int64_t bp_reader_tell(const struct bp_reader *r);

/* ---- CSV flattening ---------------------------------------------------- */

/* The CSV columns, in export order. */
extern const char *const bp_csv_columns[];
extern const size_t bp_csv_ncolumns;

/* Append the CSV rows of canonical offer `rec` (one per SKU, one when it
 * has none) to `out`. Errors: SYNCQ_ENOMEM. */
int bp_csv_format_offer(const json_t *rec, struct sq_buf *out,
                        syncq_error *err);

/* Append the header line to `out`. */
int bp_csv_format_header(struct sq_buf *out, syncq_error *err);

struct bp_csv_map {
    int col[64];     /* index into bp_csv_columns -> field index, -1 */
    json_t *ignored; /* header names not understood */
};

/* Map the header record of `r`. Errors: SYNCQ_EINVAL (no offer_id
 * column, a column twice). */
int bp_csv_map_header(const struct bp_reader *r, struct bp_csv_map *m,
                      syncq_error *err);

/* The offer_id of the current record (for grouping). Errors:
 * SYNCQ_EINVAL. */
int bp_csv_offer_id(const struct bp_reader *r, const struct bp_csv_map *m,
                    int64_t *out, syncq_error *err);

/* Merge the current record into `*offer` (created from the first row of
 * a group; later rows add a SKU). Errors: SYNCQ_EINVAL (a value of the
 * wrong type, naming the column), SYNCQ_ENOMEM. On error *offer is left
 * as it was before the call. */
int bp_csv_add_row(const struct bp_reader *r, const struct bp_csv_map *m,
                   json_t **offer, syncq_error *err);

/* ---- filters ------------------------------------------------------------ */

struct bp_filter {
    char *where;    /* SQL condition on table product (alias-free) */
    json_t *params; /* values for its '?' in order */
    bool empty;     /* no condition given */
};

/* Compile a filter object (docs/tasks.md "Filters"); NULL or {} matches
 * every product that is not a duplicate. Errors: SYNCQ_EINVAL (unknown
 * key, wrong type, list over 10000), SYNCQ_ENOMEM. */
int bp_filter_compile(const json_t *f, struct bp_filter *out, syncq_error *err);
void bp_filter_cleanup(struct bp_filter *f);

/* The SQL text `before` + the filter's condition (for this database) +
 * `after`; owned (sq_free), NULL on out-of-memory. */
char *bp_filter_sql(const struct sq_db *db, const char *before,
                    const struct bp_filter *f, const char *after);

/* Bind the filter's parameters starting at index `first`; returns the
 * next free index. */
int bp_filter_bind(struct sq_db_stmt *st, int first, const struct bp_filter *f);

/* ---- operations --------------------------------------------------------- */

struct bp_import_opts {
    const char *path;
    const char *format; /* "csv" | "jsonl" */
    const char *job_id; /* checkpoint key (the task id by default) */
    int batch_rows;     /* products per transaction (1..10000) */
    bool force;         /* rewrite unchanged products */
};

/* Import products from a file, resuming after the last committed row of
 * job `job_id`. Each transaction stores a batch of products, the bad rows
 * met on the way (batch_error, with line numbers) and the position, so a
 * killed import loses nothing and repeats nothing. A finished job
 * returns its stored result again. *result: docs/tasks.md.
 * Errors: SYNCQ_ENOTFOUND (no file), SYNCQ_EINVAL (bad format/header, the
 * file changed since the job started), SYNCQ_EDB, SYNCQ_EIO. */
int bp_import(struct sq_db *db, const struct bp_import_opts *o,
              const struct sq_progress *p, json_t **result, syncq_error *err);

/* Write the products matching `filter` to `path` (a temp file in the
 * same directory, renamed into place at the end: readers never see half
 * a file) as CSV or JSONL. An existing `path` is replaced only when
 * `overwrite`; otherwise it is refused before any work and, should it
 * appear meanwhile, at the end (the temp file is linked into place, never
 * over another file). Errors: SYNCQ_EINVAL, SYNCQ_EEXIST (the message
 * says how to replace it), SYNCQ_EIO, SYNCQ_EDB. */
int bp_export(struct sq_db *db, const char *path, const char *format,
              bool overwrite, const json_t *filter,
              const struct sq_progress *p, json_t **result, syncq_error *err);

/* The file an export to `path` writes, confined to `export_dir` when it
 * is not NULL or "": a relative `path` is taken from it, and the
 * directory the file lands in (symlinks and .. resolved) must be it or
 * inside it; a final component that is a symlink is refused. Without a
 * directory `path` is used as given. `out` gets the path to write.
 * Errors: SYNCQ_EINVAL (outside the directory, a symlink, no file name,
 * too long), SYNCQ_ENOTFOUND (the directory or the file's directory does
 * not exist). */
int bp_export_path(const char *export_dir, const char *path, char *out,
                   size_t cap, syncq_error *err);

/* Set columns of the matching products (`set`: docs/tasks.md), in
 * transactions of 1000 from offer id `*cursor` on; *cursor advances as
 * chunks commit (a resumable position). Errors: SYNCQ_EINVAL, SYNCQ_EDB. */
int bp_update(struct sq_db *db, const json_t *filter, const json_t *set,
              int64_t *cursor, const struct sq_progress *p, json_t **result,
              syncq_error *err);

/* Delete the matching products with their SKUs, tiers, attributes and
 * image links (images stay). An empty filter needs "all": true.
 * `dry_run` only counts. Errors: SYNCQ_EINVAL, SYNCQ_EDB. */
int bp_delete(struct sq_db *db, const json_t *filter, bool dry_run,
              int64_t *cursor, const struct sq_progress *p, json_t **result,
              syncq_error *err);

#endif
