/* SPDX-License-Identifier: MIT
 *
 * sq_hash.h: moved to common/sq_hash.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_hash.h" directly.
 */
#include <sq_hash.h>
