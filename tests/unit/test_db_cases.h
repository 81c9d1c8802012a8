/* SPDX-License-Identifier: MIT
 *
 * test_db_cases.h: the catalog database cases that must hold on both
 * backends, by concept (storage, sync, data quality), plus the
 * several-process checks. Included by tests/unit/test_db_sync.c
 * (SQLite) and tests/integration/it_datasync_pg.c (a private PostgreSQL
 * server), each of which defines
 *     static struct sq_db *fresh_db(void);   an empty, migrated database
 * before including this file and runs DB_CASES. Every case asserts
 * concrete values; the same data gives the same numbers on both.
 */
#ifndef TEST_DB_CASES_H
#define TEST_DB_CASES_H

#include "test_db_procs.h"
#include "test_db_quality_cases.h"
#include "test_db_store_cases.h"
#include "test_db_support.h"
#include "test_db_sync_cases.h"

#define DB_CASES                                                               \
    cmocka_unit_test(case_schema_created),                                     \
        cmocka_unit_test(case_raw_put_upserts),                                \
        cmocka_unit_test(case_binds_round_trip),                               \
        cmocka_unit_test(case_tx_rolls_back),                                  \
        cmocka_unit_test(case_offer_store_load_round_trip),                    \
        cmocka_unit_test(case_rows_shapes),                                    \
        cmocka_unit_test(case_rows_copy_text),                                 \
        cmocka_unit_test(case_supplier_resolve),                               \
        cmocka_unit_test(case_offer_batch_twice),                              \
        cmocka_unit_test(case_sync_incremental),                               \
        cmocka_unit_test(case_sync_precedence_and_delist),                     \
        cmocka_unit_test(case_sync_suppliers),                                 \
        cmocka_unit_test(case_sync_pages_recrawl),                             \
        cmocka_unit_test(case_sync_read_ahead),                                \
        cmocka_unit_test(case_sync_recrawl_skip_rules),                        \
        cmocka_unit_test(case_validate_rules),                                 \
        cmocka_unit_test(case_cleanup_duplicates),                             \
        cmocka_unit_test(case_cleanup_set_based),                              \
        cmocka_unit_test(case_cleanup_suppliers_set_based)

#endif
