/* Image preprocessing: JPEG/raw frames to a model's float input tensor. */
#include "image.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "inferd_error.h"

/* One resize tap: the two source samples around a target position and the
 * weight of the second one. */
struct tap {
    int i0, i1;
    float w;
};

struct inferd_image_ctx {
    tjhandle tj;       /* decompressor, created on the first JPEG */
    uint8_t *pix;      /* decoded pixels */
    size_t pix_cap;    /* bytes allocated at pix */
    struct tap *taps;  /* resize taps: target columns, then rows */
    size_t taps_cap;   /* entries allocated at taps */
    size_t max_pixels; /* limit on source width * height */
    int decoded_width, decoded_height;
};

/* Luma weights of ITU-R BT.601, the ones JPEG's YCbCr (and so libjpeg's
 * greyscale output) uses. */
static const float luma_r = 0.299f, luma_g = 0.587f, luma_b = 0.114f;

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void ctx_setup(struct inferd_image_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->max_pixels = INFERD_IMAGE_MAX_PIXELS;
}

static void ctx_release(struct inferd_image_ctx *ctx)
{
    if (ctx->tj) tjDestroy(ctx->tj);
    free(ctx->pix);
    free(ctx->taps);
}

struct inferd_image_ctx *inferd_image_ctx_new(void)
{
    struct inferd_image_ctx *ctx = malloc(sizeof(*ctx));
    if (ctx) ctx_setup(ctx);
    return ctx;
}

void inferd_image_ctx_free(struct inferd_image_ctx *ctx)
{
    if (!ctx) return;
    ctx_release(ctx);
    free(ctx);
}

void inferd_image_ctx_set_max_pixels(struct inferd_image_ctx *ctx, size_t max_pixels)
{
    ctx->max_pixels = max_pixels;
}

void inferd_image_ctx_decoded_size(const struct inferd_image_ctx *ctx, int *width, int *height)
{
    *width = ctx->decoded_width;
    *height = ctx->decoded_height;
}

int inferd_image_spec_check(const struct inferd_image_spec *spec, char *err, size_t errlen)
{
    if (!spec) return fail(err, errlen, INFERD_E_BAD_CONFIG, "no image spec");
    if (spec->width < 1 || spec->width > INFERD_IMAGE_MAX_SIDE)
        return fail(err, errlen, INFERD_E_BAD_CONFIG, "width %d is outside 1..%d", spec->width,
                    INFERD_IMAGE_MAX_SIDE);
    if (spec->height < 1 || spec->height > INFERD_IMAGE_MAX_SIDE)
        return fail(err, errlen, INFERD_E_BAD_CONFIG, "height %d is outside 1..%d", spec->height,
                    INFERD_IMAGE_MAX_SIDE);
    if (spec->channels != 1 && spec->channels != 3)
        return fail(err, errlen, INFERD_E_BAD_CONFIG, "channels is %d, expected 1 or 3",
                    spec->channels);
    for (int c = 0; c < spec->channels; c++) {
        if (!isfinite(spec->mean[c]))
            return fail(err, errlen, INFERD_E_BAD_CONFIG, "mean[%d] is not a finite number", c);
        if (!isfinite(spec->std[c]) || spec->std[c] == 0.0f)
            return fail(err, errlen, INFERD_E_BAD_CONFIG,
                        "std[%d] is %g, expected a finite non-zero number", c,
                        (double)spec->std[c]);
    }
    if (spec->channel_order != INFERD_IMAGE_ORDER_RGB &&
        spec->channel_order != INFERD_IMAGE_ORDER_BGR)
        return fail(err, errlen, INFERD_E_BAD_CONFIG, "channel order %d is neither RGB nor BGR",
                    spec->channel_order);
    if (spec->layout != INFERD_IMAGE_LAYOUT_NCHW && spec->layout != INFERD_IMAGE_LAYOUT_NHWC)
        return fail(err, errlen, INFERD_E_BAD_CONFIG, "layout %d is neither NCHW nor NHWC",
                    spec->layout);
    return 0;
}

size_t inferd_image_spec_count(const struct inferd_image_spec *spec)
{
    return (size_t)spec->width * (size_t)spec->height * (size_t)spec->channels;
}

/* Half-pixel centres, clamped at both borders (see image.h). Double precision
 * so that a 1:1 size lands exactly on source pixels with zero weight. */
static void taps_compute(struct tap *t, int src, int dst)
{
    double scale = (double)src / (double)dst;
    for (int d = 0; d < dst; d++) {
        double s = ((double)d + 0.5) * scale - 0.5;
        if (s < 0.0) s = 0.0;
        if (s > (double)(src - 1)) s = (double)(src - 1);
        int i0 = (int)s; /* s >= 0, so truncation is floor */
        t[d].i0 = i0;
        t[d].i1 = i0 + 1 < src ? i0 + 1 : src - 1;
        t[d].w = (float)(s - (double)i0);
    }
}

static int taps_reserve(struct inferd_image_ctx *ctx, size_t n, char *err, size_t errlen)
{
    if (ctx->taps_cap >= n) return 0;
    struct tap *t = malloc(n * sizeof(*t));
    if (!t) return fail(err, errlen, -ENOMEM, "out of memory for %zu resize taps", n);
    free(ctx->taps);
    ctx->taps = t;
    ctx->taps_cap = n;
    return 0;
}

/* How each model channel is made from the source channels: out[c] = sum_k
 * mix[c][k] * src[k]. A one-hot row is an exact copy (x * 1 + 0 is x), so one
 * loop serves reordering, grey replication and luma alike. */
static void mix_build(int src_format, const struct inferd_image_spec *spec, float mix[3][3])
{
    memset(mix, 0, 9 * sizeof(float));
    if (src_format == INFERD_PIXEL_GRAY8) {
        for (int c = 0; c < spec->channels; c++) mix[c][0] = 1.0f;
        return;
    }
    bool src_bgr = src_format == INFERD_PIXEL_BGR8;
    int r = src_bgr ? 2 : 0, b = src_bgr ? 0 : 2;
    if (spec->channels == 1) {
        mix[0][r] = luma_r;
        mix[0][1] = luma_g;
        mix[0][b] = luma_b;
        return;
    }
    bool swap = src_bgr != (spec->channel_order == INFERD_IMAGE_ORDER_BGR);
    for (int c = 0; c < 3; c++) mix[c][swap ? 2 - c : c] = 1.0f;
}

/* Bilinear resize of packed 8-bit pixels into the model's tensor, with the
 * channel mix and normalisation folded into the same pass. */
static int resample(struct inferd_image_ctx *ctx, const uint8_t *src, int sw, int sh,
                    int src_format, const struct inferd_image_spec *spec, float *out, char *err,
                    size_t errlen)
{
    const int dw = spec->width, dh = spec->height, nc = spec->channels;
    const int sc = src_format == INFERD_PIXEL_GRAY8 ? 1 : 3;
    const size_t stride = (size_t)sw * (size_t)sc;
    const size_t plane = (size_t)dw * (size_t)dh;
    int rc = taps_reserve(ctx, (size_t)dw + (size_t)dh, err, errlen);
    if (rc) return rc;
    struct tap *xt = ctx->taps, *yt = ctx->taps + dw;
    taps_compute(xt, sw, dw);
    taps_compute(yt, sh, dh);

    float mix[3][3];
    mix_build(src_format, spec, mix);

    for (int dy = 0; dy < dh; dy++) {
        const uint8_t *row0 = src + (size_t)yt[dy].i0 * stride;
        const uint8_t *row1 = src + (size_t)yt[dy].i1 * stride;
        const float fy = yt[dy].w;
        for (int dx = 0; dx < dw; dx++) {
            const size_t x0 = (size_t)xt[dx].i0 * (size_t)sc;
            const size_t x1 = (size_t)xt[dx].i1 * (size_t)sc;
            const float fx = xt[dx].w;
            float v[3] = { 0.0f, 0.0f, 0.0f };
            for (int k = 0; k < sc; k++) {
                float a = row0[x0 + k], b = row0[x1 + k];
                float c = row1[x0 + k], d = row1[x1 + k];
                float top = a + (b - a) * fx;
                float bot = c + (d - c) * fx;
                v[k] = top + (bot - top) * fy;
            }
            const size_t pix = (size_t)dy * (size_t)dw + (size_t)dx;
            for (int c = 0; c < nc; c++) {
                float val = mix[c][0] * v[0] + mix[c][1] * v[1] + mix[c][2] * v[2];
                float norm = (val / 255.0f - spec->mean[c]) / spec->std[c];
                if (spec->layout == INFERD_IMAGE_LAYOUT_NCHW)
                    out[(size_t)c * plane + pix] = norm;
                else
                    out[pix * (size_t)nc + (size_t)c] = norm;
            }
        }
    }
    return 0;
}

/* The smallest DCT-scaled size that keeps at least the target's resolution
 * (or all of the source's, where the source is smaller). Never enlarges:
 * bilinear does that more cheaply. */
static void jpeg_scale_pick(int w, int h, int tw, int th, int *sw, int *sh)
{
    int need_w = tw < w ? tw : w, need_h = th < h ? th : h;
    int n = 0;
    tjscalingfactor *sf = tjGetScalingFactors(&n);
    *sw = w;
    *sh = h;
    for (int i = 0; sf && i < n; i++) {
        if (sf[i].num > sf[i].denom) continue;
        int cw = TJSCALED(w, sf[i]), ch = TJSCALED(h, sf[i]);
        if (cw >= need_w && ch >= need_h && (int64_t)cw * ch < (int64_t)*sw * *sh) {
            *sw = cw;
            *sh = ch;
        }
    }
}

static int pix_reserve(struct inferd_image_ctx *ctx, size_t n, char *err, size_t errlen)
{
    if (ctx->pix_cap >= n) return 0;
    /* No realloc: the old pixels are of no use, so do not copy them. */
    uint8_t *p = malloc(n);
    if (!p) return fail(err, errlen, -ENOMEM, "out of memory for %zu bytes of pixels", n);
    free(ctx->pix);
    ctx->pix = p;
    ctx->pix_cap = n;
    return 0;
}

static const char *colorspace_name(int cs)
{
    switch (cs) {
    case TJCS_RGB: return "RGB";
    case TJCS_YCbCr: return "YCbCr";
    case TJCS_GRAY: return "greyscale";
    case TJCS_CMYK: return "CMYK";
    case TJCS_YCCK: return "YCCK";
    default: return "unknown";
    }
}

static int jpeg_decode(struct inferd_image_ctx *ctx, const uint8_t *jpeg, size_t len,
                       const struct inferd_image_spec *spec, float *out, char *err, size_t errlen)
{
    if (!jpeg || len == 0) return fail(err, errlen, INFERD_E_BAD_INPUT, "jpeg: empty input");
#if SIZE_MAX > ULONG_MAX
    if (len > ULONG_MAX)
        return fail(err, errlen, INFERD_E_BAD_INPUT, "jpeg: %zu bytes is too large", len);
#endif
    if (!ctx->tj) {
        ctx->tj = tjInitDecompress();
        if (!ctx->tj)
            return fail(err, errlen, -ENOMEM, "jpeg: cannot create a decompressor: %s",
                        tjGetErrorStr2(NULL));
    }

    int w = 0, h = 0, subsamp = 0, cs = 0;
    if (tjDecompressHeader3(ctx->tj, jpeg, (unsigned long)len, &w, &h, &subsamp, &cs) != 0)
        return fail(err, errlen, INFERD_E_BAD_INPUT, "jpeg: bad header: %s",
                    tjGetErrorStr2(ctx->tj));
    if (w <= 0 || h <= 0)
        return fail(err, errlen, INFERD_E_BAD_INPUT, "jpeg: image is %dx%d", w, h);
    if ((uint64_t)w * (uint64_t)h > ctx->max_pixels)
        return fail(err, errlen, INFERD_E_BAD_INPUT,
                    "jpeg: image is %dx%d, %llu pixels, over the limit of %zu", w, h,
                    (unsigned long long)w * (unsigned long long)h, ctx->max_pixels);
    if (cs != TJCS_YCbCr && cs != TJCS_RGB && cs != TJCS_GRAY)
        return fail(err, errlen, INFERD_E_BAD_INPUT,
                    "jpeg: %s colour space is not supported (only YCbCr, RGB, greyscale)",
                    colorspace_name(cs));

    int sw, sh;
    jpeg_scale_pick(w, h, spec->width, spec->height, &sw, &sh);
    /* A grey model reads libjpeg's own greyscale output: for YCbCr that is
     * the Y plane, the BT.601 luma, without converting colour and back. */
    int src_format = spec->channels == 1 ? INFERD_PIXEL_GRAY8 : INFERD_PIXEL_RGB8;
    int pf = spec->channels == 1 ? TJPF_GRAY : TJPF_RGB;
    size_t need = (size_t)sw * (size_t)sh * (size_t)tjPixelSize[pf];
    int rc = pix_reserve(ctx, need, err, errlen);
    if (rc) return rc;

    /* Warnings (premature end of data, corrupt entropy data) are errors here:
     * a half-grey frame must not reach a model as if it were valid. */
    int flags = TJFLAG_STOPONWARNING;
#ifdef TJFLAG_LIMITSCANS
    flags |= TJFLAG_LIMITSCANS; /* bounds the work a hostile progressive file causes */
#endif
    ctx->decoded_width = 0;
    ctx->decoded_height = 0;
    if (tjDecompress2(ctx->tj, jpeg, (unsigned long)len, ctx->pix, sw, 0, sh, pf, flags) != 0)
        return fail(err, errlen, INFERD_E_BAD_INPUT, "jpeg: corrupt or truncated data: %s",
                    tjGetErrorStr2(ctx->tj));
    ctx->decoded_width = sw;
    ctx->decoded_height = sh;
    return resample(ctx, ctx->pix, sw, sh, src_format, spec, out, err, errlen);
}

int inferd_image_from_jpeg(struct inferd_image_ctx *ctx, const uint8_t *jpeg, size_t len,
                           const struct inferd_image_spec *spec, float *out, char *err,
                           size_t errlen)
{
    int rc = inferd_image_spec_check(spec, err, errlen);
    if (rc) return rc;
    if (ctx) return jpeg_decode(ctx, jpeg, len, spec, out, err, errlen);
    struct inferd_image_ctx tmp;
    ctx_setup(&tmp);
    rc = jpeg_decode(&tmp, jpeg, len, spec, out, err, errlen);
    ctx_release(&tmp);
    return rc;
}

int inferd_image_from_pixels(struct inferd_image_ctx *ctx, const uint8_t *px, int w, int h,
                             int pixel_format, const struct inferd_image_spec *spec, float *out,
                             char *err, size_t errlen)
{
    int rc = inferd_image_spec_check(spec, err, errlen);
    if (rc) return rc;
    if (pixel_format != INFERD_PIXEL_RGB8 && pixel_format != INFERD_PIXEL_BGR8 &&
        pixel_format != INFERD_PIXEL_GRAY8)
        return fail(err, errlen, INFERD_E_BAD_INPUT, "pixels: unknown pixel format %d",
                    pixel_format);
    if (w <= 0 || h <= 0)
        return fail(err, errlen, INFERD_E_BAD_INPUT, "pixels: image is %dx%d", w, h);
    size_t max_pixels = ctx ? ctx->max_pixels : INFERD_IMAGE_MAX_PIXELS;
    if ((uint64_t)w * (uint64_t)h > max_pixels)
        return fail(err, errlen, INFERD_E_BAD_INPUT,
                    "pixels: image is %dx%d, %llu pixels, over the limit of %zu", w, h,
                    (unsigned long long)w * (unsigned long long)h, max_pixels);
    if (!px) return fail(err, errlen, INFERD_E_BAD_INPUT, "pixels: no data");
    if (ctx) return resample(ctx, px, w, h, pixel_format, spec, out, err, errlen);
    struct inferd_image_ctx tmp;
    ctx_setup(&tmp);
    rc = resample(&tmp, px, w, h, pixel_format, spec, out, err, errlen);
    ctx_release(&tmp);
    return rc;
}
