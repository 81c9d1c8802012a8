/* SPDX-License-Identifier: MIT
 *
 * sq_rate.h: moved to common/sq_rate.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_rate.h" directly.
 */
#include <sq_rate.h>
