/* SPDX-License-Identifier: MIT
 *
 * sq_alloc.h: moved to common/sq_alloc.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_alloc.h" directly.
 */
#include <sq_alloc.h>
