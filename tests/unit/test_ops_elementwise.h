/* Shared by the element-wise operator tests (test_ops_elementwise*.c): a
 * one-node graph runner over op_harness and value checks. */
#ifndef INFERD_TEST_OPS_ELEMENTWISE_H
#define INFERD_TEST_OPS_ELEMENTWISE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "op_harness.h"
#include "ops_elementwise.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* An input: dtype IR_DT_UNDEFINED leaves it out (an empty name in ONNX);
 * runtime makes it a graph input instead of a constant. */
struct tin {
    int dtype;
    int ndim;
    int64_t dims[IR_MAX_DIMS];
    const void *data;
    int runtime;
};

struct attr {
    const char *name;
    int type;
    int64_t i;
    float f;
};

#define AI(n, v)                                                                                   \
    {                                                                                              \
        n, IR_ATTR_INT, v, 0                                                                       \
    }
#define AF(n, v)                                                                                   \
    {                                                                                              \
        n, IR_ATTR_FLOAT, 0, v                                                                     \
    }
#define ABSENT                                                                                     \
    {                                                                                              \
        IR_DT_UNDEFINED, 0, { 0 }, NULL, 0                                                         \
    }

struct run {
    struct ir_graph *g;
    int node;
    int rc;
    char err[512];
    const struct ir_value *out;
};

/* Builds "op" over ins at opset with attrs and runs sort + infer (+ fold). */
void run_op(struct run *r, int opset, const char *op, const struct tin *ins, int nin,
            const struct attr *attrs, int nattrs);
/* As run_op, for an op that must succeed and fold into an output of dtype
 * and shape (ndim, dims). */
void run_ok(struct run *r, int opset, const char *op, const struct tin *ins, int nin,
            const struct attr *attrs, int nattrs, int dtype, int ndim, const int64_t *dims);
/* As run_op, for an op that must fail with code and a message containing want. */
void run_fail(int opset, const char *op, const struct tin *ins, int nin, const struct attr *attrs,
              int nattrs, int code, const char *want);
/* Element checks; floats within rtol relative (absolute below 1), NaN and
 * infinities exactly. */
void check_f32(const char *what, const float *got, const float *want, size_t n, float rtol);
void check_i64(const char *what, const int64_t *got, const int64_t *want, size_t n);
void check_u8(const char *what, const uint8_t *got, const uint8_t *want, size_t n);
/* A 1-D float32 constant of n values. */
struct tin vec_f32(const float *v, int64_t n);
/* Runs the node's eval as a backend would at run time, on tensors it owns. */
int eval_node(const struct run *r, const struct ir_tensor *in, int nin, struct ir_tensor *out);
struct ir_tensor tensor_f32(float *data, int ndim, const int64_t *dims);

/* test_ops_elementwise_unary.c */
void test_unary_values(void **state);
void test_unary_f64(void **state);
void test_unary_matches_fused(void **state);
void test_unary_int(void **state);
void test_predicates(void **state);
void test_float16(void **state);
void test_clip_attrs(void **state);
void test_clip_inputs(void **state);
void test_clip_runtime_bounds(void **state);
void test_cast_half(void **state);
void test_cast_numbers(void **state);
void test_cast_errors(void **state);

#endif
