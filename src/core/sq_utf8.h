/* SPDX-License-Identifier: MIT
 *
 * sq_utf8.h: moved to common/sq_utf8.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_utf8.h" directly.
 */
#include <sq_utf8.h>
