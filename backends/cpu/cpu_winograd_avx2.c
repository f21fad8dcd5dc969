/* The Winograd transforms (cpu_winograd_impl.h) built with the AVX2 flags. */
#include "cpu_winograd.h"

#include "cpu_eltwise.h"

#include <math.h>

void cpu_wino_input_avx2(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1, const float *x,
                         float *v, size_t vs, float *tmp);
void cpu_wino_output_avx2(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1, const float *m,
                          size_t ms, float *y, float bias, const float *res,
                          const struct ir_act *act);

#define WINO_FN(name) name##_avx2
#define WINO_VEC      cpu_vec_avx2
#include "cpu_winograd_impl.h"

void cpu_wino_weights_avx2(const float *w9, int64_t kb, int mr, float *u, size_t us);
#include "cpu_winograd_u_impl.h"

const struct cpu_wino_fns cpu_wino_avx2 = { cpu_wino_input_avx2, cpu_wino_output_avx2,
                                            cpu_wino_weights_avx2 };