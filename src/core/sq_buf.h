/* SPDX-License-Identifier: MIT
 *
 * sq_buf.h: moved to common/sq_buf.h, a helper compiled into both libsyncq
 * and the packs (common/README.md). This forwarder keeps src/ building
 * unchanged while the parallel branches merge; it goes once src/ includes
 * "sq_buf.h" directly.
 */
#include <sq_buf.h>
