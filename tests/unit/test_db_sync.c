/* SPDX-License-Identifier: MIT
 *
 * test_db_sync.c: the catalog database on SQLite: schema, raw_payload
 * staging, statements, transactions, offer upsert/read-back, sync of
 * products/suppliers/categories/listings, validate_data and
 * cleanup_duplicates (the shared cases of test_db_cases.h; the
 * PostgreSQL run is tests/integration/it_datasync_pg.c).
 */
#include "test_db_cases.h"

#include <stdlib.h>

static int db_seq;

static struct sq_db *
fresh_db(void)
{
    char path[512];
    struct sq_db *db = NULL;
    syncq_error err;

    snprintf(path, sizeof path, "%s/cases-%d/catalog.db", sqt_tmpdir(),
             ++db_seq);
    if (sq_db_open(path, &db, &err) != SYNCQ_OK) {
        fail_msg("open %s: %s", path, err.msg);
    }
    return db;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {DB_CASES};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
