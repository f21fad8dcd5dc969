/* The Winograd F(4x4, 3x3) transforms (cpu_winograd.h), written once over
 * groups of WL tiles of one tile row, with every lane loop of constant length
 * so the compiler vectorizes them at each level's flags. The file including
 * this defines WINO_FN(name), the suffixed function name, and WINO_VEC, the
 * level's element-wise table (cpu_eltwise.h).
 *
 * B^T (input) and A^T (output) are the matrices of Lavin and Gray for the
 * points 0, 1, -1, 2, -2 and infinity:
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1] */

#include <string.h>

#define WL 16

_Static_assert(WL == 16, "cpu_wino_row_width counts groups of 16 tiles");

/* t[k] = (B^T d)[k] for each lane: six rows of WL lanes in, six out. */
static inline void wino_bt(float (*d)[WL], float (*t)[WL])
{
    for (int j = 0; j < WL; j++) {
        float p = d[4][j] - 4.0f * d[2][j], q = d[3][j] - 4.0f * d[1][j];
        float r = d[4][j] - d[2][j], s = 2.0f * (d[3][j] - d[1][j]);
        t[0][j] = 4.0f * d[0][j] - 5.0f * d[2][j] + d[4][j];
        t[1][j] = p + q;
        t[2][j] = p - q;
        t[3][j] = r + s;
        t[4][j] = r - s;
        t[5][j] = 4.0f * d[1][j] - 5.0f * d[3][j] + d[5][j];
    }
}

/* o[k] = (A^T m)[k] per lane: six rows in, four out. */
static inline void wino_at(float (*m)[WL], float (*o)[WL])
{
    for (int j = 0; j < WL; j++) {
        float a = m[1][j] + m[2][j], b = m[1][j] - m[2][j];
        float c = m[3][j] + m[4][j], d = m[3][j] - m[4][j];
        o[0][j] = m[0][j] + a + c;
        o[1][j] = b + 2.0f * d;
        o[2][j] = a + 4.0f * c;
        o[3][j] = b + 8.0f * d + m[5][j];
    }
}

void WINO_FN(cpu_wino_input)(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1,
                             const float *x, float *v, size_t vs, float *tmp)
{
    const int64_t wb = cpu_wino_row_width(p), groups = (p->tw + WL - 1) / WL;
    const int64_t copy = p->w < wb - p->pl ? p->w : wb - p->pl;
    for (int64_t ty = ty0; ty < ty1; ty++) {
        /* the six input rows of this tile row, zero outside the plane */
        for (int r = 0; r < 6; r++) {
            float *row = tmp + r * wb;
            const int64_t iy = 4 * ty - p->pt + r;
            memset(row, 0, sizeof(float) * (size_t)wb);
            if (iy >= 0 && iy < p->h && copy > 0)
                memcpy(row + p->pl, x + iy * p->w, sizeof(float) * (size_t)copy);
        }
        for (int64_t gi = 0; gi < groups; gi++) {
            float d[6][WL], t[6][6][WL]; /* t[row][k][lane]: rows transformed along x */
            for (int r = 0; r < 6; r++) {
                const float *row = tmp + r * wb + 4 * WL * gi;
                for (int c = 0; c < 6; c++)
                    for (int j = 0; j < WL; j++) d[c][j] = row[4 * j + c];
                wino_bt(d, t[r]);
            }
            const int64_t t0 = (ty - ty0) * p->tw + gi * WL;
            const int64_t nt = p->tw - gi * WL < WL ? p->tw - gi * WL : WL;
            for (int k = 0; k < 6; k++) {
                float col[6][WL], out[6][WL];
                for (int r = 0; r < 6; r++)
                    for (int j = 0; j < WL; j++) col[r][j] = t[r][k][j];
                wino_bt(col, out);
                for (int i = 0; i < 6; i++) {
                    float *dst = v + (size_t)(i * 6 + k) * vs + t0;
                    if (nt == WL)
                        for (int j = 0; j < WL; j++) dst[j] = out[i][j];
                    else
                        for (int j = 0; j < nt; j++) dst[j] = out[i][j];
                }
            }
        }
    }
}

void WINO_FN(cpu_wino_output)(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1,
                              const float *m, size_t ms, float *y, float bias, const float *res,
                              const struct ir_act *act)
{
    const int64_t groups = (p->tw + WL - 1) / WL;
    /* with a residual, it and the activation follow over the stored plane */
    const int kind = res ? IR_ACT_NONE : act->kind;
    const bool lanes_act = kind == IR_ACT_NONE || kind == IR_ACT_RELU || kind == IR_ACT_CLIP;
    /* the output rows ahead of the stores where another core may hold them */
    const int64_t ahead = p->out_shared ? CPU_WINO_OUT_AHEAD : 0;
    if (ahead) cpu_wino_out_prefetch(p, y, ty0, ty0 + ahead < ty1 ? ty0 + ahead : ty1);
    for (int64_t ty = ty0; ty < ty1; ty++) {
        if (ahead && ty + ahead < ty1) cpu_wino_out_prefetch(p, y, ty + ahead, ty + ahead + 1);
        for (int64_t gi = 0; gi < groups; gi++) {
            const int64_t t0 = (ty - ty0) * p->tw + gi * WL;
            const int64_t nt = p->tw - gi * WL < WL ? p->tw - gi * WL : WL;
            float z[4][6][WL]; /* columns transformed: z[out row][k][lane] */
            for (int k = 0; k < 6; k++) {
                float col[6][WL], o[4][WL];
                for (int i = 0; i < 6; i++) {
                    const float *src = m + (size_t)(i * 6 + k) * ms + t0;
                    for (int j = 0; j < WL; j++) col[i][j] = src[j];
                }
                wino_at(col, o);
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < WL; j++) z[r][k][j] = o[r][j];
            }
            for (int r = 0; r < 4; r++) {
                const int64_t oy = 4 * ty + r;
                if (oy >= p->oh) break;
                float o[4][WL];
                wino_at(z[r], o);
                for (int c = 0; c < 4; c++)
                    for (int j = 0; j < WL; j++) {
                        float val = o[c][j] + bias;
                        if (kind == IR_ACT_RELU) val = val > 0.0f ? val : 0.0f;
                        if (kind == IR_ACT_CLIP) val = fminf(fmaxf(val, act->a), act->b);
                        o[c][j] = val;
                    }
                float *dst = y + oy * p->ow + 4 * WL * gi;
                const int64_t cols = p->ow - 4 * WL * gi;
                if (cols >= 4 * WL && nt == WL) {
                    for (int j = 0; j < WL; j++)
                        for (int c = 0; c < 4; c++) dst[4 * j + c] = o[c][j];
                } else {
                    for (int j = 0; j < nt; j++)
                        for (int c = 0; c < 4 && 4 * j + c < cols; c++) dst[4 * j + c] = o[c][j];
                }
            }
        }
    }
    /* the output rows of tile rows [ty0, ty1) */
    const int64_t r0 = 4 * ty0, r1 = 4 * ty1 < p->oh ? 4 * ty1 : p->oh;
    const int64_t off = r0 * p->ow, len = (r1 - r0) * p->ow;
    if (len <= 0) return;
    if (res)
        WINO_VEC.epilogue(y + off, res + off, len, 0.0f, act);
    else if (!lanes_act)
        WINO_VEC.unary(y + off, y + off, len, act);
}
