/* SPDX-License-Identifier: MIT
 *
 * lazy_probe.c: never run. syncq loads libcurl, libvips, libpq,
 * libmicrohttpd and libcrypto with dlopen() on first use (src/core/
 * sq_lazy_*.c), so dpkg-shlibdeps cannot see them in the syncq binary.
 * This program links the same pkg-config modules and calls one function of
 * each (dpkg-shlibdeps ignores a library no symbol is used from); the
 * package build (cmake/package_lazy_deps.cmake) runs dpkg-shlibdeps on it,
 * so the syncq package's dependencies on those libraries are computed,
 * with the versions the build was made against, not written by hand.
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <vips/vips.h>

int main(void);

int
main(void)
{
    printf("%s %d %s %lu %d\n", curl_version(), PQlibVersion(),
           MHD_get_version(), (unsigned long)OpenSSL_version_num(),
           vips_version(0));
    return 0;
}
