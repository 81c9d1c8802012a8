/* SPDX-License-Identifier: MIT
 *
 * sq_error.h: moved to common/sq_error.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_error.h" directly.
 */
#include <sq_error.h>
