/* F(4x4, 3x3)'s weight transform U = G g G^T at run time (cpu_winograd.h),
 * mr output channels at a time, written once and compiled per level like
 * cpu_winograd_impl.h: the file including this defines WINO_FN(name).
 *
 * A layer whose weights do not stay in cache streams them from memory on
 * every run; U is 4 times their size, so a small plane's products, which
 * use each of U's elements for a handful of tiles only, wait on memory.
 * Transformed from the 3x3 taps just before its products instead, U costs
 * about 10 vector operations per channel pair, against the 36 x 1.6 vector
 * multiply-adds a 16-tile product spends on the pair, and a quarter of the
 * bytes from memory.
 *
 * G (Lavin and Gray, points 0, 1, -1, 2, -2, infinity), as in cpu_winograd.c:
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *        1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1] */

#define WU_MRMAX 16

/* o[r] = (G x)[r] for three inputs, per lane. */
static inline __attribute__((always_inline)) void
wino_g6(const float *x0, const float *x1, const float *x2, float (*o)[WU_MRMAX], const int mr)
{
    for (int i = 0; i < mr; i++) {
        const float e = x0[i] + x2[i], e4 = x0[i] * (1.0f / 24) + x2[i] * (1.0f / 6);
        o[0][i] = x0[i] * (1.0f / 4);
        o[1][i] = (e + x1[i]) * (-1.0f / 6);
        o[2][i] = (e - x1[i]) * (-1.0f / 6);
        o[3][i] = e4 + x1[i] * (1.0f / 12);
        o[4][i] = e4 - x1[i] * (1.0f / 12);
        o[5][i] = x2[i];
    }
}

/* n groups of `lanes` floats: group g's taps at w9[(g * 9 + tap) * lanes + i],
 * its U at u[xi * us + g * lanes + i]. */
static inline __attribute__((always_inline)) void wino_u_rows(const float *w9, int64_t n, float *u,
                                                              size_t us, const int lanes)
{
    for (int64_t g = 0; g < n; g++, w9 += 9 * lanes) {
        /* gg[col][r]: G applied down each of the three columns of taps */
        float gg[3][6][WU_MRMAX], uu[6][WU_MRMAX];
        for (int col = 0; col < 3; col++)
            wino_g6(w9 + (0 * 3 + col) * lanes, w9 + (1 * 3 + col) * lanes,
                    w9 + (2 * 3 + col) * lanes, gg[col], lanes);
        for (int r = 0; r < 6; r++) {
            wino_g6(gg[0][r], gg[1][r], gg[2][r], uu, lanes);
            for (int s = 0; s < 6; s++) {
                float *dst = u + (size_t)(r * 6 + s) * us + (size_t)g * (size_t)lanes;
                for (int i = 0; i < lanes; i++) dst[i] = uu[s][i];
            }
        }
    }
}

/* w9 holds the taps of mr output channels for channel pairs, pair q's at
 * w9[(q * 9 + tap) * 2 * mr + h * mr + i] for its channel 2q + h, so a pair
 * is a 16-lane vector at mr = 8. kb odd: the pair past the last channel is
 * zero and its U lands past the panel's kb rows, inside its stride. */
void WINO_FN(cpu_wino_weights)(const float *w9, int64_t kb, int mr, float *u, size_t us)
{
    const int64_t pairs = (kb + 1) / 2;
    /* the levels' micro-kernel heights, each its own constant-length loops */
    if (mr == 8)
        wino_u_rows(w9, pairs, u, us, 16);
    else if (mr == 6)
        wino_u_rows(w9, pairs, u, us, 12);
    else if (mr == 4)
        wino_u_rows(w9, pairs, u, us, 8);
    else
        wino_u_rows(w9, pairs, u, us, 2 * mr < WU_MRMAX ? 2 * mr : WU_MRMAX);
}
