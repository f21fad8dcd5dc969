/* Helpers for the nn operator tests (test_ops_nn*.c): deterministic inputs
 * and output checks. Include after <cmocka.h>. */
#ifndef INFERD_NN_TEST_H
#define INFERD_NN_TEST_H

#include "op_harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Input values the expected outputs were computed from, with numpy/torch
 * reproducing them as ((np.arange(n) * 7 + seed * 3) % 13 - 6) / 4: small,
 * mixed-sign and exact in float. */
static inline void nn_fill(float *p, int64_t n, int seed)
{
    for (int64_t i = 0; i < n; i++) p[i] = (float)((i * 7 + seed * 3) % 13 - 6) / 4.0f;
}

/* A constant of the given shape filled by nn_fill. */
static inline int nn_const_filled(struct ir_graph *g, const char *name, int ndim,
                                  const int64_t *dims, int seed)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    assert_non_null(p);
    nn_fill(p, n, seed);
    int v = oh_const_f32(g, name, ndim, dims, p);
    free(p);
    assert_true(v >= 0);
    return v;
}

static inline void nn_expect_shape(const struct ir_value *v, int ndim, const int64_t *dims)
{
    assert_true(v->shape_known);
    assert_int_equal(v->shape.ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(v->shape.dims[i], dims[i]);
}

/* Value v is a folded float32 tensor of the given shape whose elements match
 * expect within tol (absolute, scaled up by |expect| above 1). */
static inline void nn_expect_f32(const struct ir_value *v, int ndim, const int64_t *dims,
                                 const float *expect, double tol)
{
    assert_int_equal(v->dtype, IR_DT_F32);
    nn_expect_shape(v, ndim, dims);
    assert_non_null(v->data);
    const float *got = v->data;
    int64_t n = ir_shape_numel(&v->shape);
    for (int64_t i = 0; i < n; i++) {
        double bound = tol * (fabs(expect[i]) > 1.0 ? fabs(expect[i]) : 1.0);
        if (!(fabs((double)got[i] - expect[i]) <= bound)) {
            print_error("element %lld: got %.7g, expected %.7g\n", (long long)i, got[i], expect[i]);
            fail();
        }
    }
}

static inline void nn_expect_i64(const struct ir_value *v, int ndim, const int64_t *dims,
                                 const int64_t *expect)
{
    assert_int_equal(v->dtype, IR_DT_I64);
    nn_expect_shape(v, ndim, dims);
    assert_non_null(v->data);
    const int64_t *got = v->data;
    for (int64_t i = 0; i < ir_shape_numel(&v->shape); i++) assert_int_equal(got[i], expect[i]);
}

/* Runs inference expecting failure with code, and the message to be exactly
 * "test.onnx: node '<node name>' (<op>): " followed by msg. */
static inline void nn_expect_error(struct ir_graph *g, int node, int code, const char *msg)
{
    char err[512], want[512];
    assert_int_equal(oh_infer(g, err, sizeof(err)), code);
    snprintf(want, sizeof(want), "test.onnx: node '%s' (%s): %s", g->nodes[node].name,
             g->nodes[node].op_type, msg);
    assert_string_equal(err, want);
}

/* Runs inference expecting success. */
static inline void nn_infer_ok(struct ir_graph *g)
{
    char err[512] = "";
    int rc = oh_infer(g, err, sizeof(err));
    if (rc != 0) print_error("%s\n", err);
    assert_int_equal(rc, 0);
}

#endif
