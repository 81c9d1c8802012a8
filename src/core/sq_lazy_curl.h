/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_curl.h: moved to common/sq_lazy_curl.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_lazy_curl.h" directly.
 */
#include <sq_lazy_curl.h>
