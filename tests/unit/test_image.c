/* Image preprocessing: JPEGs made here with TurboJPEG must decode back to what
 * was encoded, resizes must match values computed independently (numpy, and
 * PIL where it uses the same convention), the normalisation and layout must
 * put every value where the model expects it, and hostile input must fail
 * with a message, never crash. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <turbojpeg.h>

#include "image.h"
#include "inferd_error.h"

/* --- helpers -------------------------------------------------------------- */

static struct inferd_image_spec spec_make(int w, int h, int channels)
{
    struct inferd_image_spec s;
    memset(&s, 0, sizeof(s));
    s.width = w;
    s.height = h;
    s.channels = channels;
    for (int c = 0; c < 3; c++) {
        s.mean[c] = 0.0f;
        s.std[c] = 1.0f;
    }
    s.channel_order = INFERD_IMAGE_ORDER_RGB;
    s.layout = INFERD_IMAGE_LAYOUT_NCHW;
    return s;
}

static float *out_alloc(const struct inferd_image_spec *s)
{
    float *o = malloc(inferd_image_spec_count(s) * sizeof(float));
    assert_non_null(o);
    /* NaN everywhere: a value the conversion forgot to write shows up. */
    for (size_t i = 0; i < inferd_image_spec_count(s); i++) o[i] = NAN;
    return o;
}

/* Encodes w x h pixels of TurboJPEG format pf. The caller tjFree()s. */
static uint8_t *jpeg_encode(const uint8_t *px, int w, int h, int pf, int subsamp, int quality,
                            int flags, size_t *len)
{
    tjhandle tj = tjInitCompress();
    assert_non_null(tj);
    unsigned char *buf = NULL;
    unsigned long n = 0;
    int rc = tjCompress2(tj, px, w, 0, h, pf, &buf, &n, subsamp, quality, flags);
    if (rc != 0) fail_msg("tjCompress2: %s", tjGetErrorStr2(tj));
    tjDestroy(tj);
    *len = n;
    return buf;
}

/* A smooth RGB image (JPEG keeps smooth content nearly intact): red rises
 * left to right, green top to bottom, blue along the other diagonal. */
static uint8_t *rgb_smooth(int w, int h)
{
    uint8_t *px = malloc((size_t)w * h * 3);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(30 + 190 * x / (w - 1));
            p[1] = (uint8_t)(20 + 200 * y / (h - 1));
            p[2] = (uint8_t)(230 - 100 * (x + (h - 1 - y)) / (w + h - 2));
        }
    return px;
}

static float rgb_smooth_at(int w, int h, int x, int y, int c)
{
    switch (c) {
    case 0: return (float)(30 + 190 * x / (w - 1));
    case 1: return (float)(20 + 200 * y / (h - 1));
    default: return (float)(230 - 100 * (x + (h - 1 - y)) / (w + h - 2));
    }
}

static float at(const float *o, const struct inferd_image_spec *s, int x, int y, int c)
{
    if (s->layout == INFERD_IMAGE_LAYOUT_NCHW) return o[((size_t)c * s->height + y) * s->width + x];
    return o[((size_t)y * s->width + x) * s->channels + c];
}

static void decoded_check(const struct inferd_image_ctx *ctx, int w, int h)
{
    int dw = -1, dh = -1;
    inferd_image_ctx_decoded_size(ctx, &dw, &dh);
    if (dw != w || dh != h) fail_msg("decoded at %dx%d, expected %dx%d", dw, dh, w, h);
}

/* --- specs ------------------------------------------------------------------ */

static void test_spec_check(void **state)
{
    (void)state;
    char err[256];
    struct inferd_image_spec s = spec_make(224, 224, 3);
    assert_int_equal(inferd_image_spec_check(&s, err, sizeof(err)), 0);
    assert_int_equal(inferd_image_spec_count(&s), 224 * 224 * 3);

    s.width = 0;
    assert_int_equal(inferd_image_spec_check(&s, err, sizeof(err)), INFERD_E_BAD_CONFIG);
    assert_non_null(strstr(err, "width 0"));
    s = spec_make(224, INFERD_IMAGE_MAX_SIDE + 1, 3);
    assert_int_equal(inferd_image_spec_check(&s, err, sizeof(err)), INFERD_E_BAD_CONFIG);
    assert_non_null(strstr(err, "height"));
    s = spec_make(8, 8, 2);
    assert_int_equal(inferd_image_spec_check(&s, err, sizeof(err)), INFERD_E_BAD_CONFIG);
    assert_non_null(strstr(err, "channels is 2"));
    s = spec_make(8, 8, 3);
    s.std[2] = 0.0f;
    assert_int_equal(inferd_image_spec_check(&s, err, sizeof(err)), INFERD_E_BAD_CONFIG);
    assert_non_null(strstr(err, "std[2]"));
    /* std of an unused channel does not matter for a grey model */
    s.channels = 1;
    assert_int_equal(inferd_image_spec_check(&s, err, sizeof(err)), 0);
    s = spec_make(8, 8, 3);
    s.mean[1] = NAN;
    assert_int_equal(inferd_image_spec_check(&s, err, sizeof(err)), INFERD_E_BAD_CONFIG);
    assert_non_null(strstr(err, "mean[1]"));
    s = spec_make(8, 8, 3);
    s.layout = 7;
    assert_int_equal(inferd_image_spec_check(&s, NULL, 0), INFERD_E_BAD_CONFIG);
    s = spec_make(8, 8, 3);
    s.channel_order = 2;
    assert_int_equal(inferd_image_spec_check(&s, err, sizeof(err)), INFERD_E_BAD_CONFIG);
    assert_non_null(strstr(err, "channel order"));

    /* the conversions refuse a bad spec too, before touching the input */
    float o[3];
    uint8_t px[3] = { 1, 2, 3 };
    s = spec_make(1, 1, 3);
    s.std[0] = INFINITY;
    assert_int_equal(
        inferd_image_from_pixels(NULL, px, 1, 1, INFERD_PIXEL_RGB8, &s, o, err, sizeof(err)),
        INFERD_E_BAD_CONFIG);
}

/* --- raw pixels: copy, order, normalisation, layout ---------------------- */

static void test_pixels_identity_layouts(void **state)
{
    (void)state;
    enum { W = 5, H = 3 };
    uint8_t px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) px[i] = (uint8_t)(i * 37 % 256);
    const float mean[3] = { 0.485f, 0.456f, 0.406f }, sd[3] = { 0.229f, 0.224f, 0.225f };
    struct inferd_image_ctx *ctx = inferd_image_ctx_new();
    assert_non_null(ctx);
    for (int layout = 0; layout < 2; layout++)
        for (int order = 0; order < 2; order++)
            for (int fmt = 0; fmt < 2; fmt++) {
                struct inferd_image_spec s = spec_make(W, H, 3);
                memcpy(s.mean, mean, sizeof(mean));
                memcpy(s.std, sd, sizeof(sd));
                s.layout = layout;
                s.channel_order = order;
                float *o = out_alloc(&s);
                char err[128];
                assert_int_equal(
                    inferd_image_from_pixels(ctx, px, W, H, fmt, &s, o, err, sizeof(err)), 0);
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        for (int c = 0; c < 3; c++) {
                            /* model channel c is which colour, and where is it in px */
                            int colour = order == INFERD_IMAGE_ORDER_BGR ? 2 - c : c;
                            int k = fmt == INFERD_PIXEL_BGR8 ? 2 - colour : colour;
                            float v = px[(y * W + x) * 3 + k];
                            /* 1:1 is an exact copy: exactly the documented formula */
                            float want = (v / 255.0f - mean[c]) / sd[c];
                            assert_true(at(o, &s, x, y, c) == want);
                        }
                free(o);
            }
    inferd_image_ctx_free(ctx);
}

static void test_pixels_layout_positions(void **state)
{
    (void)state;
    /* 2x1 RGB, distinct values: the flat order itself is the contract. */
    const uint8_t px[6] = { 255, 0, 51, 102, 153, 204 };
    struct inferd_image_spec s = spec_make(2, 1, 3);
    float o[6];
    assert_int_equal(inferd_image_from_pixels(NULL, px, 2, 1, INFERD_PIXEL_RGB8, &s, o, NULL, 0),
                     0);
    const float nchw[6] = { 1.0f, 0.4f, 0.0f, 0.6f, 0.2f, 0.8f };
    for (int i = 0; i < 6; i++) assert_float_equal(o[i], nchw[i], 1e-6);
    s.layout = INFERD_IMAGE_LAYOUT_NHWC;
    assert_int_equal(inferd_image_from_pixels(NULL, px, 2, 1, INFERD_PIXEL_RGB8, &s, o, NULL, 0),
                     0);
    for (int i = 0; i < 6; i++) assert_float_equal(o[i], px[i] / 255.0f, 1e-6);
}

static void test_pixels_grey(void **state)
{
    (void)state;
    const uint8_t rgb[3 * 3] = { 255, 0, 0, 0, 255, 0, 10, 20, 200 };
    const uint8_t bgr[3 * 3] = { 0, 0, 255, 0, 255, 0, 200, 20, 10 };
    struct inferd_image_spec s = spec_make(3, 1, 1);
    float o[3], ob[3];
    assert_int_equal(inferd_image_from_pixels(NULL, rgb, 3, 1, INFERD_PIXEL_RGB8, &s, o, NULL, 0),
                     0);
    assert_int_equal(inferd_image_from_pixels(NULL, bgr, 3, 1, INFERD_PIXEL_BGR8, &s, ob, NULL, 0),
                     0);
    const float want[3] = { 0.299f, 0.587f, (0.299f * 10 + 0.587f * 20 + 0.114f * 200) / 255 };
    for (int i = 0; i < 3; i++) {
        assert_float_equal(o[i], want[i], 1e-5);
        assert_float_equal(ob[i], want[i], 1e-5);
    }
    /* grey source, 3-channel model: replicated; mean/std per channel */
    const uint8_t g[2] = { 0, 255 };
    s = spec_make(2, 1, 3);
    s.mean[1] = 0.5f;
    s.std[2] = 0.5f;
    float o3[6];
    assert_int_equal(inferd_image_from_pixels(NULL, g, 2, 1, INFERD_PIXEL_GRAY8, &s, o3, NULL, 0),
                     0);
    const float want3[6] = { 0.0f, 1.0f, -0.5f, 0.5f, 0.0f, 2.0f };
    for (int i = 0; i < 6; i++) assert_float_equal(o3[i], want3[i], 1e-6);
}

/* --- bilinear ----------------------------------------------------------- */

static void resize_grey(const uint8_t *src, int sw, int sh, int dw, int dh, float *o)
{
    struct inferd_image_spec s = spec_make(dw, dh, 1);
    char err[128];
    assert_int_equal(
        inferd_image_from_pixels(NULL, src, sw, sh, INFERD_PIXEL_GRAY8, &s, o, err, sizeof(err)),
        0);
    for (int i = 0; i < dw * dh; i++) o[i] *= 255.0f;
}

static void test_bilinear_known(void **state)
{
    (void)state;
    float o[64];
    /* 4x4 -> 6x6: reference from numpy's half-pixel bilinear; PIL's BILINEAR
     * resize of the same image (mode F) agrees to 5e-6. */
    const uint8_t src4[16] = { 0, 40, 80, 120, 200, 160, 120, 80, 10, 250, 30, 90, 255, 0, 255, 0 };
    const float up[36] = {
        0.000000,   20.000000,  46.666667,  73.333333,  100.000000, 120.000000,
        100.000000, 100.000000, 100.000000, 100.000000, 100.000000, 100.000000,
        168.333333, 171.666667, 163.333333, 116.666667, 93.333333,  81.666667,
        41.666667,  138.333333, 203.333333, 76.666667,  66.666667,  88.333333,
        132.500000, 128.750000, 127.916667, 139.583333, 93.750000,  45.000000,
        255.000000, 127.500000, 42.500000,  212.500000, 127.500000, 0.000000,
    };
    resize_grey(src4, 4, 4, 6, 6, o);
    for (int i = 0; i < 36; i++) assert_float_equal(o[i], up[i], 2e-4);

    /* 5x5 -> 3x3 (no antialias: samples at 1/3, 2, 11/3) */
    uint8_t src5[25];
    for (int i = 0; i < 25; i++) src5[i] = (uint8_t)(i * 10);
    src5[12] = 255;
    const float down[9] = { 20.000000,  36.666667,  53.333333,  103.333333, 255.000000,
                            136.666667, 186.666667, 203.333333, 220.000000 };
    resize_grey(src5, 5, 5, 3, 3, o);
    for (int i = 0; i < 9; i++) assert_float_equal(o[i], down[i], 2e-4);

    /* 4 wide x 3 high -> 7 wide x 2 high: up in x, down in y */
    const uint8_t src43[12] = { 0, 100, 200, 50, 25, 75, 125, 175, 255, 0, 128, 64 };
    const float mixed[14] = { 6.250000,   37.500000,  87.500000,  137.500000, 174.107143,
                              116.964286, 81.250000,  197.500000, 133.660714, 31.517857,
                              73.000000,  124.714286, 104.428571, 91.750000 };
    resize_grey(src43, 4, 3, 7, 2, o);
    for (int i = 0; i < 14; i++) assert_float_equal(o[i], mixed[i], 2e-4);

    /* halving averages each 2x2 block */
    const uint8_t blocks[16] = { 0, 4, 100, 100, 8, 12, 100, 100, 1, 1, 50, 250, 1, 1, 250, 50 };
    resize_grey(blocks, 4, 4, 2, 2, o);
    const float avg[4] = { 6.0f, 100.0f, 1.0f, 150.0f };
    for (int i = 0; i < 4; i++) assert_float_equal(o[i], avg[i], 1e-4);
}

static void test_bilinear_borders(void **state)
{
    (void)state;
    float o[64];
    /* 2x2 -> 8x8: border rows and columns clamp, corners keep source corners */
    const uint8_t src[4] = { 0, 100, 200, 40 };
    resize_grey(src, 2, 2, 8, 8, o);
    assert_float_equal(o[0], 0.0f, 1e-4);
    assert_float_equal(o[7], 100.0f, 1e-4);
    assert_float_equal(o[56], 200.0f, 1e-4);
    assert_float_equal(o[63], 40.0f, 1e-4);
    /* the first two columns lie left of the first pixel centre: equal */
    for (int y = 0; y < 8; y++) {
        assert_float_equal(o[y * 8 + 0], o[y * 8 + 1], 1e-4);
        assert_float_equal(o[y * 8 + 6], o[y * 8 + 7], 1e-4);
    }
    /* x = 2 sits at source 0.125: 12.5 along the top row */
    assert_float_equal(o[2], 12.5f, 1e-4);

    /* 1x1 source fills everything; 1 pixel target from 3x1 takes the middle */
    const uint8_t one = 77;
    resize_grey(&one, 1, 1, 3, 2, o);
    for (int i = 0; i < 6; i++) assert_float_equal(o[i], 77.0f, 1e-4);
    const uint8_t row[3] = { 10, 20, 90 };
    resize_grey(row, 3, 1, 1, 1, o);
    assert_float_equal(o[0], 20.0f, 1e-4);
}

static void test_pixels_errors(void **state)
{
    (void)state;
    char err[256];
    float o[4];
    uint8_t px[12] = { 0 };
    struct inferd_image_spec s = spec_make(2, 2, 1);
    assert_int_equal(
        inferd_image_from_pixels(NULL, px, 0, 2, INFERD_PIXEL_RGB8, &s, o, err, sizeof(err)),
        INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "0x2"));
    assert_int_equal(inferd_image_from_pixels(NULL, px, 2, 2, 9, &s, o, err, sizeof(err)),
                     INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "pixel format"));
    assert_int_equal(
        inferd_image_from_pixels(NULL, NULL, 2, 2, INFERD_PIXEL_RGB8, &s, o, err, sizeof(err)),
        INFERD_E_BAD_INPUT);
    /* the size is checked before the (absent) data is looked at */
    assert_int_equal(inferd_image_from_pixels(NULL, NULL, 65536, 65536, INFERD_PIXEL_RGB8, &s, o,
                                              err, sizeof(err)),
                     INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "over the limit"));
    struct inferd_image_ctx *ctx = inferd_image_ctx_new();
    assert_non_null(ctx);
    inferd_image_ctx_set_max_pixels(ctx, 3);
    assert_int_equal(
        inferd_image_from_pixels(ctx, px, 2, 2, INFERD_PIXEL_RGB8, &s, o, err, sizeof(err)),
        INFERD_E_BAD_INPUT);
    inferd_image_ctx_free(ctx);
}

/* --- JPEG round trips ---------------------------------------------------- */

static void test_jpeg_rgb_round_trip(void **state)
{
    (void)state;
    enum { W = 64, H = 48 };
    uint8_t *px = rgb_smooth(W, H);
    size_t len;
    uint8_t *jpg = jpeg_encode(px, W, H, TJPF_RGB, TJSAMP_444, 95, 0, &len);
    struct inferd_image_ctx *ctx = inferd_image_ctx_new();
    assert_non_null(ctx);
    for (int layout = 0; layout < 2; layout++)
        for (int order = 0; order < 2; order++) {
            struct inferd_image_spec s = spec_make(W, H, 3);
            s.layout = layout;
            s.channel_order = order;
            s.mean[0] = 0.5f;
            s.std[0] = 0.25f;
            float *o = out_alloc(&s);
            char err[256];
            assert_int_equal(inferd_image_from_jpeg(ctx, jpg, len, &s, o, err, sizeof(err)), 0);
            decoded_check(ctx, W, H);
            double maxd = 0, sum = 0;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    for (int c = 0; c < 3; c++) {
                        int colour = order == INFERD_IMAGE_ORDER_BGR ? 2 - c : c;
                        float v = (at(o, &s, x, y, c) * s.std[c] + s.mean[c]) * 255.0f;
                        double d = fabs(v - rgb_smooth_at(W, H, x, y, colour));
                        if (d > maxd) maxd = d;
                        sum += d;
                    }
            /* quality 95, 4:4:4, smooth content: within a few grey levels,
             * about one on average */
            if (maxd > 6.0 || sum / (W * H * 3) > 1.0)
                fail_msg("off by %g at most, %g on average", maxd, sum / (W * H * 3));
            free(o);
        }
    inferd_image_ctx_free(ctx);
    tjFree(jpg);
    free(px);
}

static void test_jpeg_grey_and_luma(void **state)
{
    (void)state;
    enum { W = 40, H = 24 };
    uint8_t *px = rgb_smooth(W, H);
    size_t len;
    /* colour JPEG into a grey model: the Y plane, i.e. BT.601 luma */
    uint8_t *jpg = jpeg_encode(px, W, H, TJPF_RGB, TJSAMP_420, 95, 0, &len);
    struct inferd_image_spec s = spec_make(W, H, 1);
    float *o = out_alloc(&s);
    char err[256];
    assert_int_equal(inferd_image_from_jpeg(NULL, jpg, len, &s, o, err, sizeof(err)), 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float want = 0.299f * rgb_smooth_at(W, H, x, y, 0) +
                         0.587f * rgb_smooth_at(W, H, x, y, 1) +
                         0.114f * rgb_smooth_at(W, H, x, y, 2);
            assert_float_equal(o[y * W + x] * 255.0f, want, 4.0);
        }
    tjFree(jpg);
    free(o);

    /* greyscale JPEG into a 3-channel model: all channels equal */
    uint8_t *g = malloc(W * H);
    assert_non_null(g);
    for (int i = 0; i < W * H; i++) g[i] = (uint8_t)(40 + (i % W) * 4);
    jpg = jpeg_encode(g, W, H, TJPF_GRAY, TJSAMP_GRAY, 95, 0, &len);
    s = spec_make(W, H, 3);
    s.layout = INFERD_IMAGE_LAYOUT_NHWC;
    o = out_alloc(&s);
    assert_int_equal(inferd_image_from_jpeg(NULL, jpg, len, &s, o, err, sizeof(err)), 0);
    for (int i = 0; i < W * H; i++) {
        assert_true(o[i * 3] == o[i * 3 + 1] && o[i * 3] == o[i * 3 + 2]);
        assert_float_equal(o[i * 3] * 255.0f, g[i], 3.0);
    }
    tjFree(jpg);
    free(o);
    free(g);
    free(px);
}

static void test_jpeg_progressive(void **state)
{
    (void)state;
    enum { W = 96, H = 80 };
    uint8_t *px = rgb_smooth(W, H);
    size_t len;
    uint8_t *jpg = jpeg_encode(px, W, H, TJPF_RGB, TJSAMP_444, 95, TJFLAG_PROGRESSIVE, &len);
    struct inferd_image_spec s = spec_make(W, H, 3);
    float *o = out_alloc(&s);
    char err[256];
    assert_int_equal(inferd_image_from_jpeg(NULL, jpg, len, &s, o, err, sizeof(err)), 0);
    for (int y = 0; y < H; y += 7)
        for (int x = 0; x < W; x += 5)
            for (int c = 0; c < 3; c++)
                assert_float_equal(at(o, &s, x, y, c) * 255.0f, rgb_smooth_at(W, H, x, y, c), 4.0);
    free(o);
    tjFree(jpg);
    free(px);
}

static void test_jpeg_dct_scaling(void **state)
{
    (void)state;
    enum { W = 1024, H = 1024 };
    uint8_t *px = rgb_smooth(W, H);
    size_t len;
    uint8_t *jpg = jpeg_encode(px, W, H, TJPF_RGB, TJSAMP_420, 90, 0, &len);
    struct inferd_image_ctx *ctx = inferd_image_ctx_new();
    assert_non_null(ctx);
    char err[256];

    /* 1024 -> 64: 1/8 gives 128, the smallest size still >= 64 */
    struct inferd_image_spec s = spec_make(64, 64, 3);
    float *o = out_alloc(&s);
    assert_int_equal(inferd_image_from_jpeg(ctx, jpg, len, &s, o, err, sizeof(err)), 0);
    decoded_check(ctx, 128, 128);
    /* the content still is the gradient: target pixel x covers source
     * columns 16x .. 16x+15, whose centre is 16x + 7.5 */
    for (int y = 0; y < 64; y += 9)
        for (int x = 0; x < 64; x += 9)
            for (int c = 0; c < 3; c++) {
                double sx = 16.0 * x + 7.5, sy = 16.0 * y + 7.5;
                double want = c == 0   ? 30 + 190 * sx / (W - 1)
                              : c == 1 ? 20 + 200 * sy / (H - 1)
                                       : 230 - 100 * (sx + (H - 1 - sy)) / (W + H - 2);
                assert_float_equal(at(o, &s, x, y, c) * 255.0f, want, 3.0);
            }
    free(o);

    /* 1024 -> 200x100: 2/8 (256x256) is the smallest keeping 200 columns */
    s = spec_make(200, 100, 3);
    o = out_alloc(&s);
    assert_int_equal(inferd_image_from_jpeg(ctx, jpg, len, &s, o, err, sizeof(err)), 0);
    decoded_check(ctx, 256, 256);
    free(o);

    /* 1024 -> 1000: no factor below 1 keeps 1000, so full size */
    s = spec_make(1000, 10, 1);
    o = out_alloc(&s);
    assert_int_equal(inferd_image_from_jpeg(ctx, jpg, len, &s, o, err, sizeof(err)), 0);
    decoded_check(ctx, 1024, 1024);
    free(o);

    /* a target larger than the image decodes at 1/1 and enlarges */
    tjFree(jpg);
    free(px);
    px = rgb_smooth(16, 16);
    jpg = jpeg_encode(px, 16, 16, TJPF_RGB, TJSAMP_444, 95, 0, &len);
    s = spec_make(100, 100, 3);
    o = out_alloc(&s);
    assert_int_equal(inferd_image_from_jpeg(ctx, jpg, len, &s, o, err, sizeof(err)), 0);
    decoded_check(ctx, 16, 16);
    for (size_t i = 0; i < inferd_image_spec_count(&s); i++) assert_false(isnan(o[i]));
    free(o);

    inferd_image_ctx_free(ctx);
    tjFree(jpg);
    free(px);
}

/* --- hostile JPEGs ------------------------------------------------------- */

/* Offset of the SOF0 segment's marker in a baseline JPEG. */
static size_t sof_find(const uint8_t *j, size_t len)
{
    for (size_t i = 0; i + 9 < len; i++)
        if (j[i] == 0xFF && j[i + 1] == 0xC0) return i;
    fail_msg("no SOF0 marker");
    return 0;
}

static void sof_set_size(uint8_t *j, size_t len, int w, int h)
{
    size_t i = sof_find(j, len);
    j[i + 5] = (uint8_t)(h >> 8);
    j[i + 6] = (uint8_t)h;
    j[i + 7] = (uint8_t)(w >> 8);
    j[i + 8] = (uint8_t)w;
}

static int decode_err(const uint8_t *j, size_t len, char *err, size_t errlen)
{
    struct inferd_image_spec s = spec_make(32, 32, 3);
    float *o = out_alloc(&s);
    int rc = inferd_image_from_jpeg(NULL, j, len, &s, o, err, errlen);
    free(o);
    return rc;
}

static void test_jpeg_bad_input(void **state)
{
    (void)state;
    char err[256];
    enum { W = 128, H = 128 };
    uint8_t *px = rgb_smooth(W, H);
    size_t len;
    uint8_t *good = jpeg_encode(px, W, H, TJPF_RGB, TJSAMP_420, 90, 0, &len);
    uint8_t *j = malloc(len);
    assert_non_null(j);

    /* empty */
    assert_int_equal(decode_err(good, 0, err, sizeof(err)), INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(decode_err(NULL, 10, err, sizeof(err)), INFERD_E_BAD_INPUT);

    /* garbage */
    uint8_t garbage[1000];
    uint32_t r = 12345;
    for (size_t i = 0; i < sizeof(garbage); i++) {
        r = r * 1103515245u + 12345u;
        garbage[i] = (uint8_t)(r >> 16);
    }
    assert_int_equal(decode_err(garbage, sizeof(garbage), err, sizeof(err)), INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "jpeg:"));

    /* truncated in the middle of the scan, and right after the header */
    for (size_t cut = len / 2; cut > 0; cut = cut > 700 ? 700 : 0) {
        assert_int_equal(decode_err(good, cut, err, sizeof(err)), INFERD_E_BAD_INPUT);
        assert_non_null(strstr(err, "jpeg:"));
    }
    assert_int_equal(decode_err(good, 2, err, sizeof(err)), INFERD_E_BAD_INPUT);

    /* corrupt: the SOF marker replaced by an unknown one */
    memcpy(j, good, len);
    j[sof_find(j, len) + 1] = 0xCC; /* DAC, arithmetic coding conditioning, then no frame */
    assert_int_equal(decode_err(j, len, err, sizeof(err)), INFERD_E_BAD_INPUT);

    /* corrupt: entropy-coded data overwritten with a restart marker out of place */
    memcpy(j, good, len);
    for (size_t i = len / 2; i < len / 2 + 64; i += 2) {
        j[i] = 0xFF;
        j[i + 1] = 0xD3;
    }
    assert_int_equal(decode_err(j, len, err, sizeof(err)), INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "corrupt"));

    /* a header declaring 65535x65535: libjpeg's own limit refuses it */
    memcpy(j, good, len);
    sof_set_size(j, len, 65535, 65535);
    assert_int_equal(decode_err(j, len, err, sizeof(err)), INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "jpeg:"));
    /* 60000x60000 passes libjpeg and is refused from the header by the limit */
    memcpy(j, good, len);
    sof_set_size(j, len, 60000, 60000);
    assert_int_equal(decode_err(j, len, err, sizeof(err)), INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "60000x60000"));
    assert_non_null(strstr(err, "over the limit"));
    /* width 0 */
    memcpy(j, good, len);
    sof_set_size(j, len, 0, 128);
    assert_int_equal(decode_err(j, len, err, sizeof(err)), INFERD_E_BAD_INPUT);
    /* larger than declared data: claims 4096x4096, data for 128x128 */
    memcpy(j, good, len);
    sof_set_size(j, len, 4096, 4096);
    assert_int_equal(decode_err(j, len, err, sizeof(err)), INFERD_E_BAD_INPUT);
    /* a lowered limit applies to real images too */
    struct inferd_image_ctx *ctx = inferd_image_ctx_new();
    assert_non_null(ctx);
    inferd_image_ctx_set_max_pixels(ctx, W * H - 1);
    struct inferd_image_spec s = spec_make(8, 8, 3);
    float o[8 * 8 * 3];
    assert_int_equal(inferd_image_from_jpeg(ctx, good, len, &s, o, err, sizeof(err)),
                     INFERD_E_BAD_INPUT);
    inferd_image_ctx_set_max_pixels(ctx, W * H);
    assert_int_equal(inferd_image_from_jpeg(ctx, good, len, &s, o, err, sizeof(err)), 0);
    inferd_image_ctx_free(ctx);

    /* the context survives all of this and still decodes */
    assert_int_equal(decode_err(good, len, err, sizeof(err)), 0);
    free(j);
    tjFree(good);
    free(px);
}

static void test_jpeg_cmyk_refused(void **state)
{
    (void)state;
    enum { W = 16, H = 16 };
    uint8_t px[W * H * 4];
    for (int i = 0; i < W * H * 4; i++) px[i] = (uint8_t)(i * 7);
    size_t len;
    uint8_t *jpg = jpeg_encode(px, W, H, TJPF_CMYK, TJSAMP_444, 90, 0, &len);
    char err[256];
    assert_int_equal(decode_err(jpg, len, err, sizeof(err)), INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "colour space"));
    tjFree(jpg);
}

/* Random byte flips, cuts and marker insertions: every outcome is success or
 * a bad_input with a message; ASan/UBSan watch for the rest. */
static void test_jpeg_mutations(void **state)
{
    (void)state;
    enum { W = 48, H = 40 };
    uint8_t *px = rgb_smooth(W, H);
    size_t len;
    uint8_t *good = jpeg_encode(px, W, H, TJPF_RGB, TJSAMP_420, 80, 0, &len);
    uint8_t *prog = NULL;
    size_t plen;
    prog = jpeg_encode(px, W, H, TJPF_RGB, TJSAMP_444, 80, TJFLAG_PROGRESSIVE, &plen);
    uint8_t *j = malloc(len > plen ? len : plen);
    assert_non_null(j);
    struct inferd_image_ctx *ctx = inferd_image_ctx_new();
    assert_non_null(ctx);
    struct inferd_image_spec s = spec_make(24, 24, 3);
    float o[24 * 24 * 3];
    uint32_t r = 99;
    int failures = 0;
    for (int iter = 0; iter < 600; iter++) {
        const uint8_t *src = iter % 2 ? prog : good;
        size_t n = iter % 2 ? plen : len;
        memcpy(j, src, n);
        r = r * 1103515245u + 12345u;
        int flips = 1 + (int)(r >> 16) % 8;
        for (int f = 0; f < flips; f++) {
            r = r * 1103515245u + 12345u;
            size_t pos = (r >> 8) % n;
            r = r * 1103515245u + 12345u;
            j[pos] = (uint8_t)(r >> 16);
        }
        r = r * 1103515245u + 12345u;
        if ((r >> 16) % 4 == 0) n = 1 + (r >> 4) % n;
        char err[256] = "";
        int rc = inferd_image_from_jpeg(ctx, j, n, &s, o, err, sizeof(err));
        if (rc != 0) {
            assert_int_equal(rc, INFERD_E_BAD_INPUT);
            assert_true(strncmp(err, "jpeg: ", 6) == 0);
            failures++;
        }
    }
    /* the mutations do hit: most of them are refused */
    assert_true(failures > 100);
    inferd_image_ctx_free(ctx);
    free(j);
    tjFree(good);
    tjFree(prog);
    free(px);
}

/* --- the bundled demo samples against the held-out set ------------------- */

#define HELDOUT_MAX 400

struct heldout {
    int n;
    int label[HELDOUT_MAX];
    uint8_t px[HELDOUT_MAX][64];
};

static void heldout_read(struct heldout *h, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: %s", path, strerror(errno));
    char line[1024];
    assert_non_null(fgets(line, sizeof(line), f)); /* header */
    assert_true(strncmp(line, "label,p0,", 9) == 0);
    h->n = 0;
    while (fgets(line, sizeof(line), f)) {
        assert_true(h->n < HELDOUT_MAX);
        char *p = line, *end;
        h->label[h->n] = (int)strtol(p, &end, 10);
        for (int i = 0; i < 64; i++) {
            assert_true(*end == ',');
            p = end + 1;
            long v = strtol(p, &end, 10);
            assert_true(v >= 0 && v <= 16);
            h->px[h->n][i] = (uint8_t)v;
        }
        h->n++;
    }
    fclose(f);
}

static uint8_t *file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: %s", path, strerror(errno));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0 && n < 1 << 20);
    rewind(f);
    uint8_t *b = malloc((size_t)n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void test_demo_samples_match_heldout(void **state)
{
    (void)state;
    static struct heldout h;
    const char *root = INFERD_SOURCE_ROOT;
    char path[4096];
    snprintf(path, sizeof(path), "%s/config/models/digits-heldout.csv", root);
    heldout_read(&h, path);
    assert_int_equal(h.n, 360);

    static const char *const names[10] = { "zero", "one", "two",   "three", "four",
                                           "five", "six", "seven", "eight", "nine" };
    snprintf(path, sizeof(path), "%s/config/samples", root);
    DIR *d = opendir(path);
    if (!d) fail_msg("%s: %s", path, strerror(errno));
    struct inferd_image_ctx *ctx = inferd_image_ctx_new();
    assert_non_null(ctx);
    struct inferd_image_spec s = spec_make(8, 8, 1);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char word[32];
        int n, consumed = 0;
        if (sscanf(e->d_name, "digit-%31[a-z]-%d.jpg%n", word, &n, &consumed) != 2 ||
            consumed == 0 || e->d_name[consumed] != '\0')
            continue;
        int label = -1;
        for (int i = 0; i < 10; i++)
            if (strcmp(word, names[i]) == 0) label = i;
        assert_true(label >= 0);
        assert_true(n >= 0 && n < h.n);
        assert_int_equal(h.label[n], label);

        snprintf(path, sizeof(path), "%s/config/samples/%s", root, e->d_name);
        size_t len;
        uint8_t *jpg = file_read(path, &len);
        float o[64];
        char err[256];
        assert_int_equal(inferd_image_from_jpeg(ctx, jpg, len, &s, o, err, sizeof(err)), 0);
        /* 64x64 with one JPEG block per source pixel: 1/8 scaling hands back
         * the 8x8 image, and the resize is then a copy */
        decoded_check(ctx, 8, 8);
        for (int i = 0; i < 64; i++) assert_float_equal(o[i], h.px[n][i] / 16.0f, 0.025);
        free(jpg);
        seen++;
    }
    closedir(d);
    inferd_image_ctx_free(ctx);
    assert_true(seen >= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_check),
        cmocka_unit_test(test_pixels_identity_layouts),
        cmocka_unit_test(test_pixels_layout_positions),
        cmocka_unit_test(test_pixels_grey),
        cmocka_unit_test(test_bilinear_known),
        cmocka_unit_test(test_bilinear_borders),
        cmocka_unit_test(test_pixels_errors),
        cmocka_unit_test(test_jpeg_rgb_round_trip),
        cmocka_unit_test(test_jpeg_grey_and_luma),
        cmocka_unit_test(test_jpeg_progressive),
        cmocka_unit_test(test_jpeg_dct_scaling),
        cmocka_unit_test(test_jpeg_bad_input),
        cmocka_unit_test(test_jpeg_cmyk_refused),
        cmocka_unit_test(test_jpeg_mutations),
        cmocka_unit_test(test_demo_samples_match_heldout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
