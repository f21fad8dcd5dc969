/* Image preprocessing: JPEG or raw RGB8/BGR8/GRAY8 frames in, a model's input
 * tensor out (float32, resized with bilinear filtering, normalised per channel,
 * NCHW or NHWC).
 *
 * Pure functions over memory buffers: no files, no logging, no globals. A
 * worker thread keeps one struct inferd_image_ctx and passes it to every call,
 * so decoding thousands of frames reuses one TurboJPEG handle, one pixel
 * buffer and one table of resize taps instead of allocating per frame. A
 * context is not thread-safe; use one per thread.
 *
 * JPEGs are decoded with libjpeg-turbo's DCT scaling (1/8 .. 8/8) at the
 * smallest scale whose size is still at least the target size, so a 12 Mpixel
 * camera frame bound for a 224x224 model decodes at 1/8 and never occupies
 * 12 Mpixels of memory. Then the bilinear resize finishes the job.
 *
 * Resize convention: half-pixel centres, source coordinate
 * sx = (dx + 0.5) * src_w / dst_w - 0.5, clamped to [0, src_w - 1]; the same
 * as OpenCV's INTER_LINEAR and as PIL's BILINEAR when enlarging. There is no
 * antialiasing filter when shrinking (the DCT scaling already averages most of
 * the way down). A 1:1 size is an exact copy. The aspect ratio is not kept:
 * the image is stretched to the target size, as torchvision's Resize((h, w)). */
#ifndef INFERD_IMAGE_H
#define INFERD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default limit on a source image's pixels (width * height), checked from
 * the JPEG header before anything is decoded or allocated. */
#define INFERD_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)
/* Largest target side a spec may ask for. */
#define INFERD_IMAGE_MAX_SIDE 16384

/* Channel order of the model's input: which colour is channel 0. */
enum inferd_image_order {
    INFERD_IMAGE_ORDER_RGB = 0,
    INFERD_IMAGE_ORDER_BGR = 1,
};

/* Memory layout of the model's input tensor (batch of one). */
enum inferd_image_layout {
    INFERD_IMAGE_LAYOUT_NCHW = 0,
    INFERD_IMAGE_LAYOUT_NHWC = 1,
};

/* Layout of raw frames given to inferd_image_from_pixels(). The two colour
 * formats share their values with enum inferd_image_order, so a channel
 * order may be passed for a 3-byte frame. */
enum inferd_pixel_format {
    INFERD_PIXEL_RGB8 = INFERD_IMAGE_ORDER_RGB, /* 3 bytes per pixel, R first */
    INFERD_PIXEL_BGR8 = INFERD_IMAGE_ORDER_BGR, /* 3 bytes per pixel, B first (OpenCV) */
    INFERD_PIXEL_GRAY8 = 2,                     /* 1 byte per pixel */
};

/* What a model wants, from its config. */
struct inferd_image_spec {
    int width, height; /* target size: the model input's W and H */
    int channels;      /* 1 (grey: luma of a colour source) or 3 */
    /* Per model channel (after channel_order), applied to value/255:
     * out = (value/255 - mean[c]) / std[c]. mean 0, std 1 gives [0, 1]. */
    float mean[3], std[3];
    int channel_order; /* enum inferd_image_order; ignored when channels is 1 */
    int layout;        /* enum inferd_image_layout */
};

/* Reusable work buffers: a TurboJPEG decompressor (created on the first
 * JPEG), the decoded pixels and the resize taps, each grown to the largest
 * size seen and kept. */
struct inferd_image_ctx;

/* A new, empty context (allocates only the struct), with the pixel limit at
 * INFERD_IMAGE_MAX_PIXELS. NULL when out of memory. */
struct inferd_image_ctx *inferd_image_ctx_new(void);

/* Releases the context, its buffers and handle; accepts NULL. */
void inferd_image_ctx_free(struct inferd_image_ctx *ctx);

/* Lowers (or raises) the limit on a source image's width * height; a JPEG
 * over it is refused from its header, before anything is decoded. */
void inferd_image_ctx_set_max_pixels(struct inferd_image_ctx *ctx, size_t max_pixels);

/* The size the last JPEG was decoded at, after DCT scaling (0x0 before the
 * first JPEG and after a failed one): for stats and tests. */
void inferd_image_ctx_decoded_size(const struct inferd_image_ctx *ctx, int *width, int *height);

/* Checks a spec: sizes 1..INFERD_IMAGE_MAX_SIDE, channels 1 or 3, finite means,
 * finite non-zero stds, known order and layout. Returns 0 or INFERD_E_BAD_CONFIG
 * with a message in err (err may be NULL). The config loader calls this once;
 * the conversions below call it again, because it is cheap. */
int inferd_image_spec_check(const struct inferd_image_spec *spec, char *err, size_t errlen);

/* Number of floats the conversions write: width * height * channels. */
size_t inferd_image_spec_count(const struct inferd_image_spec *spec);

/* Decodes a JPEG (baseline or progressive; YCbCr, RGB or greyscale) into out,
 * which holds inferd_image_spec_count(spec) floats. ctx may be NULL (then a
 * temporary one is made and freed: fine once, wasteful per frame). Returns 0,
 * INFERD_E_BAD_INPUT with a message for empty, corrupt, truncated or
 * unsupported (CMYK) data and for images of zero size or over the context's
 * pixel limit, INFERD_E_BAD_CONFIG for a bad spec, or -ENOMEM. On error out's
 * contents are unspecified. */
int inferd_image_from_jpeg(struct inferd_image_ctx *ctx, const uint8_t *jpeg, size_t len,
                           const struct inferd_image_spec *spec, float *out, char *err,
                           size_t errlen);

/* The same from raw pixels: h rows of w pixels, rows packed (stride w * 3, or
 * w for GRAY8). A grey source feeding a 3-channel model is replicated. */
int inferd_image_from_pixels(struct inferd_image_ctx *ctx, const uint8_t *px, int w, int h,
                             int pixel_format, const struct inferd_image_spec *spec, float *out,
                             char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
