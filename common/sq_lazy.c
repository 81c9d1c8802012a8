/* SPDX-License-Identifier: MIT
 *
 * sq_lazy.c: dlopen() + dlsym() of a library's functions into a table.
 */
#include "sq_lazy.h"
#include "sq_error.h"

#include <dlfcn.h>
#include <stddef.h>

int
sq_lazy_open(const char *what, const char *package,
             const char *const *sonames, const char *const *names,
             void **slots, int n, syncq_error *err)
{
    void *h = NULL;
    const char *why = "not found";

    for (size_t i = 0; sonames[i] != NULL && h == NULL; i++) {
        h = dlopen(sonames[i], RTLD_NOW | RTLD_GLOBAL);
        if (h == NULL) {
            why = dlerror();
        }
    }
    if (h == NULL) {
        return sq_fail(err, SYNCQ_ENOTSUP,
                       "%s is not available (%s); install the Debian "
                       "package %s",
                       what, why ? why : "not found", package);
    }
    for (int i = 0; i < n; i++) {
        slots[i] = dlsym(h, names[i]);
        if (slots[i] == NULL) {
            /* The library stays loaded: it is shared and never unloaded. */
            return sq_fail(err, SYNCQ_ENOTSUP,
                           "%s has no %s (package %s too old?)", what,
                           names[i], package);
        }
    }
    return SYNCQ_OK;
}
