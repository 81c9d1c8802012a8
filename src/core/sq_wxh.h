/* SPDX-License-Identifier: MIT
 *
 * sq_wxh.h: moved to common/sq_wxh.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_wxh.h" directly.
 */
#include <sq_wxh.h>
