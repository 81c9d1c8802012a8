/* SPDX-License-Identifier: MIT
 *
 * sq_id.h: moved to common/sq_id.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_id.h" directly.
 */
#include <sq_id.h>
