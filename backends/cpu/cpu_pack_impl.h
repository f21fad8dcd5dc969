/* The run-time packing loops (see cpu_sgemm.h), written once and compiled per
 * ISA level: the file including this defines PACK_FN(name) (the suffixed
 * function name) and inline helpers over at most `len` <= 64 floats,
 *   static inline void run_copy(float *d, const float *s, int64_t len);
 *   static inline void run_copy_s2(float *d, const float *s, int64_t len);
 *       d[q] = s[2q], reading nothing past s[2 * len - 2]
 *   static inline void run_gather(float *d, const float *s, const int32_t *idx,
 *                                 int64_t len);
 *       d[q] = idx[q] < 0 ? 0 : s[idx[q]]
 *   static inline void run_zero(float *d, int64_t len);
 * which is all that differs between the levels. */

static inline int64_t pack_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static inline int64_t pack_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The first q >= 0 with ix + q * s >= lim (s > 0); strides 1 and 2, the
 * common ones, without a division. */
static inline int64_t pack_first(int64_t ix, int64_t s, int64_t lim)
{
    if (ix >= lim) return 0;
    if (s == 1) return lim - ix;
    if (s == 2) return (lim - ix + 1) >> 1;
    return (lim - ix + s - 1) / s;
}

/* Zero columns [nj % w, w) of the last panel, row kk. */
static inline void pack_tail(float *dst, int64_t kk, int64_t kc, int64_t nj, int w)
{
    int64_t rem = nj % w;
    if (rem) run_zero(dst + (nj / w) * kc * w + kk * w + rem, w - rem);
}

void PACK_FN(cpu_pack_kn)(const void *src, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                          float *dst)
{
    /* Panel by panel, so the stores run sequentially: row by row they would
     * hop between panels a multiple of 4 KiB apart, and loads of the next
     * source row would wait on those stores (4K aliasing). */
    const struct cpu_pack_mat *mat = src;
    const int64_t ntp = (nj + w - 1) / w;
    for (int64_t t = 0; t < ntp; t++) {
        const int64_t len = pack_min(w, nj - t * w);
        const float *col = mat->p + k0 * mat->ld + j0 + t * w;
        float *d = dst + t * kc * w;
        for (int64_t kk = 0; kk < kc; kk++, col += mat->ld, d += w) {
            if (mat->scale == 1.0f) {
                run_copy(d, col, len);
            } else {
                for (int64_t q = 0; q < len; q++) d[q] = mat->scale * col[q];
            }
            if (len < w) run_zero(d + len, w - len);
        }
    }
}

/* Columns from a table of plane offsets (cpu_pack_conv.tab): for small
 * output planes, where runs along a row are shorter than a vector. */
static void PACK_FN(pack_conv_table)(const struct cpu_pack_conv *cv, int64_t k0, int64_t kc,
                                     int64_t j0, int64_t nj, int w, float *dst)
{
    const int64_t taps = cv->kh * cv->kw, plane = cv->h * cv->w, n = cv->oh * cv->ow;
    const int64_t ntp = (nj + w - 1) / w;
    for (int64_t kk = 0; kk < kc; kk++) {
        const int64_t k = k0 + kk;
        const float *xc = cv->x + (k / taps) * plane;
        const int32_t *idx = cv->tab + (k % taps) * n + j0;
        for (int64_t t = 0; t < ntp; t++)
            run_gather(dst + t * kc * w + kk * w, xc, idx + t * w, pack_min(w, nj - t * w));
        pack_tail(dst, kk, kc, nj, w);
    }
}

void PACK_FN(cpu_pack_conv)(const void *src, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                            float *dst)
{
    const struct cpu_pack_conv *cv = src;
    if (cv->tab) {
        PACK_FN(pack_conv_table)(cv, k0, kc, j0, nj, w, dst);
        return;
    }
    const int64_t taps = cv->kh * cv->kw, plane = cv->h * cv->w;
    const int64_t end = j0 + nj, oy0 = j0 / cv->ow, ox0 = j0 % cv->ow;
    for (int64_t kk = 0; kk < kc; kk++) {
        const int64_t k = k0 + kk, c = k / taps, r = k % taps;
        const int64_t yoff = (r / cv->kw) * cv->dh - cv->pt, xoff = (r % cv->kw) * cv->dw - cv->pl;
        const float *xc = cv->x + c * plane;
        int64_t j = j0, oy = oy0, ox = ox0;
        float *panel = dst + kk * w; /* row kk of the current panel */
        int64_t jj = 0;              /* column in it */
        while (j < end) {
            const int64_t len = pack_min(pack_min(cv->ow - ox, end - j), w - jj);
            float *d = panel + jj;
            const int64_t iy = oy * cv->sh + yoff;
            if (iy < 0 || iy >= cv->h) {
                run_zero(d, len);
            } else {
                /* columns [a, b) of the run read inside the row */
                const float *xr = xc + iy * cv->w;
                const int64_t ix = ox * cv->sw + xoff, sw = cv->sw;
                const int64_t a = pack_min(pack_first(ix, sw, 0), len);
                const int64_t b = pack_clamp(pack_first(ix, sw, cv->w), a, len);
                if (a) run_zero(d, a);
                if (sw == 1)
                    run_copy(d + a, xr + ix + a, b - a);
                else if (sw == 2)
                    run_copy_s2(d + a, xr + ix + 2 * a, b - a);
                else
                    for (int64_t q = a; q < b; q++) d[q] = xr[ix + q * sw];
                if (b < len) run_zero(d + b, len - b);
            }
            j += len;
            jj += len;
            if (jj == w) {
                jj = 0;
                panel += kc * w;
            }
            ox += len;
            if (ox == cv->ow) {
                ox = 0;
                oy++;
            }
        }
        pack_tail(dst, kk, kc, nj, w);
    }
}
