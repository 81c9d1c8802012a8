/* SPDX-License-Identifier: MIT
 *
 * test_library_dlopen.c: build/libsyncq.so is whole and is the queue
 * alone. dlopen(RTLD_NOW) resolves every symbol at once, so one left
 * undefined (syncq_version used to be: defined only in the CLI) fails
 * here as it would in a user's program. The public API is exported;
 * internals and the 1688 packs are not in it.
 */
#include "sq_test.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <syncq/version.h>

static void *
open_library(void)
{
    const char *dir = getenv("SYNCQ_BUILD_DIR");
    char path[4096];
    void *h;

    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/libsyncq.so", dir);
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fail_msg("dlopen(%s, RTLD_NOW): %s", path, dlerror());
    }
    return h;
}

static void
loads_with_rtld_now_and_reports_its_version(void **state)
{
    void *h = open_library();
    const char *(*version)(void);

    (void)state;
    *(void **)(&version) = dlsym(h, "syncq_version");
    assert_non_null(version);
    assert_string_equal(version(), SYNCQ_VERSION_STRING);
    dlclose(h);
}

static void
exports_the_api_and_nothing_else(void **state)
{
    static const char *api[] = {"syncq_client_open", "syncq_task_create",
                                "syncq_registry_default",
                                "syncq_registry_load_plugin",
                                "syncq_error_class_name", "syncq_free"};
    static const char *absent[] = {"sq_alloc", "sq_fail", "sq_packs_init",
                                   "sq_pack_crawler_init",
                                   "syncq_plugin_init", "fx_catalog_build"};
    void *h = open_library();

    (void)state;
    for (size_t i = 0; i < sizeof api / sizeof api[0]; i++) {
        if (dlsym(h, api[i]) == NULL) {
            fail_msg("%s is not exported", api[i]);
        }
    }
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        if (dlsym(h, absent[i]) != NULL) {
            fail_msg("%s is exported (internal, or not the queue's)",
                     absent[i]);
        }
    }
    dlclose(h);
}

static void
its_default_registry_has_no_tasks(void **state)
{
    void *h = open_library();
    syncq_registry *(*reg_default)(void);
    size_t (*reg_count)(const syncq_registry *);

    (void)state;
    *(void **)(&reg_default) = dlsym(h, "syncq_registry_default");
    *(void **)(&reg_count) = dlsym(h, "syncq_registry_count");
    assert_non_null(reg_default);
    assert_non_null(reg_count);
    assert_int_equal(reg_count(reg_default()), 0);
    dlclose(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_with_rtld_now_and_reports_its_version),
        cmocka_unit_test(exports_the_api_and_nothing_else),
        cmocka_unit_test(its_default_registry_has_no_tasks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
