/* SPDX-License-Identifier: MIT
 *
 * sq_url.h: moved to common/sq_url.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_url.h" directly.
 */
#include <sq_url.h>
