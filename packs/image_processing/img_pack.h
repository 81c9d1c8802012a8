/* SPDX-License-Identifier: MIT
 *
 * img_pack.h: registration of the image_processing.* tasks
 * (packs/task_packs.c).
 */
#ifndef SQ_IMG_PACK_H
#define SQ_IMG_PACK_H

#include <syncq/task.h>

/* Register image_processing.download_images, resize_images,
 * optimize_images and generate_thumbnails on queue "image_processing".
 * Errors: SYNCQ_ENOTSUP (ABI mismatch), or what syncq_registry_add
 * returns. */
int sq_pack_image_processing_init(syncq_registry *r, int abi, syncq_error *err);

#endif
