/* Element-wise operator family: what ops_elementwise.c (the registry rows,
 * the broadcasting iterator, scalar conversions), ops_unary.c, ops_binary.c
 * and ops_cast.c share. Private to backends/core.
 *
 * Every kernel of the family is a "row function" typed for one dtype (or
 * one pair of dtypes) and picked from a table indexed by IR dtype number, so
 * supporting a dtype for an op is one table entry and infer can say exactly
 * which dtypes an op takes. */
#ifndef INFERD_OPS_ELEMENTWISE_H
#define INFERD_OPS_ELEMENTWISE_H

#include "ops.h"

#include <stdbool.h>
#include <stdint.h>

/* Kernel tables are indexed by enum ir_dtype, whose largest member is 13. */
#define EW_NDTYPES 14
/* Most inputs one row function reads (Where). */
#define EW_MAX_IN 3

/* One row of an element-wise kernel: for i in [0, n),
 *     out[i] = f(in[0][i * step[0]], ..., in[k][i * step[k]])
 * with the pointers typed by the kernel and steps counted in elements (0 for
 * an input broadcast along the row). out[i] is written after every in[.][i]
 * is read, so out may be in[0] itself when input 0 has the output's shape.
 * ctx is the op's params block. */
typedef void (*ew_row_fn)(const void *ctx, void *out, const void *const in[], const int64_t step[],
                          int64_t n);

/* Designated initializers for a dtype-indexed kernel table whose kernels
 * are named <op>_f32, <op>_i8, <op>_u64, ... */
#define EW_FLOATS(op) [IR_DT_F16] = op##_f16, [IR_DT_F32] = op##_f32, [IR_DT_F64] = op##_f64
#define EW_SINTS(op)                                                                               \
    [IR_DT_I8] = op##_i8, [IR_DT_I16] = op##_i16, [IR_DT_I32] = op##_i32, [IR_DT_I64] = op##_i64
#define EW_UINTS(op)                                                                               \
    [IR_DT_U8] = op##_u8, [IR_DT_U16] = op##_u16, [IR_DT_U32] = op##_u32, [IR_DT_U64] = op##_u64

/* Runs fn over every element of out, numpy-broadcasting in[0..nin) to out's
 * shape: per input, strides with 0 on broadcast dims; dims of size 1 are
 * dropped and dims that are contiguous in every input are merged, so equal
 * shapes and scalar inputs come down to one call of fn over the whole
 * tensor. Returns 0, or -EINVAL when a tensor's rank, shape, dtype size or
 * byte count does not fit out (infer rules that out, but eval trusts no one). */
int ew_broadcast_run(const struct ir_tensor *out, const struct ir_tensor *const in[], int nin,
                     ew_row_fn fn, const void *ctx);

/* True when t holds dtype with a data block of at least numel elements. */
bool ew_tensor_ok(const struct ir_tensor *t, int dtype);

/* --- helpers for the family's infer functions ---------------------------- */

/* Fails unless inputs first..first+count-1 (the present ones) all have the
 * dtype of input `first`; the message names the odd input and both dtypes. */
int ew_same_dtype(struct ir_graph *g, const struct ir_node *n, int first, int count, char *err,
                  size_t errlen);
/* Numpy-broadcasts the shapes of inputs first..first+count-1 (absent ones
 * skipped) into *out; the message names the input that does not fit and
 * both shapes. */
int ew_broadcast_inputs(struct ir_graph *g, const struct ir_node *n, int first, int count,
                        struct ir_shape *out, char *err, size_t errlen);
/* "input K 'x' has dtype D, which OP does not support", code UNSUPPORTED. */
int ew_dtype_unsupported(struct ir_graph *g, const struct ir_node *n, int k, char *err,
                         size_t errlen);
/* The kernel for dtype in table, or NULL (also for dtypes off the table). */
ew_row_fn ew_pick(const ew_row_fn table[EW_NDTYPES], int dtype);

/* --- scalar conversions (Cast, Pow's mixed dtypes) ------------------------ */

bool ew_dtype_is_float(int dtype); /* float16, float32, float64 */
bool ew_dtype_is_int(int dtype);   /* int8..int64, uint8..uint64 (not bool) */
/* Element i of an array of dtype, as double / as int64 (ints and bool only;
 * uint64 wraps) / as uint64 (uint64 only). */
double ew_load_f64(int dtype, const void *p, int64_t i);
int64_t ew_load_i64(int dtype, const void *p, int64_t i);
/* Stores v as element i of an array of dtype. Into integers a double
 * truncates toward zero and saturates (NaN gives 0), an int64 wraps; into
 * bool anything non-zero (NaN too) is 1. */
void ew_store_f64(int dtype, void *p, int64_t i, double v);
void ew_store_i64(int dtype, void *p, int64_t i, int64_t v);
void ew_store_u64(int dtype, void *p, int64_t i, uint64_t v);
float ew_half_to_float(uint16_t h);
/* Kernel loads and stores: as they are, or float16 bits to and from float
 * (float16 kernels compute in float32 and round once, as numpy's do). */
#define EW_AS_IS(v)    (v)
#define EW_HALF_IN(h)  ew_half_to_float(h)
#define EW_HALF_OUT(v) ew_double_to_half(v)
/* Round to nearest even, overflow to infinity, NaN kept. */
uint16_t ew_double_to_half(double v);

/* --- the family's infer and eval functions (one pair per op shape) -------- */

/* Unary maps: activations, math functions, Not, IsNaN, IsInf (ops_unary.c). */
int ew_unary_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_unary_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                  int nout);
/* Clip: opset 6-10 (min/max attributes) and 11+ (optional min/max inputs). */
int ew_clip6_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_clip11_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_clip_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                 int nout);

/* Broadcasting binary ops: arithmetic, Mod, comparisons, logic, PRelu
 * (ops_binary.c). */
int ew_binary_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_binary_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout);
/* Pow: base and exponent of different dtypes. */
int ew_pow_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_pow_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                int nout);
/* Sum, Max, Min, Mean: 1..N inputs. */
int ew_variadic_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_variadic_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                     int nout);
int ew_where_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_where_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                  int nout);

/* Cast and CastLike (ops_cast.c). */
int ew_cast_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_castlike_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int ew_cast_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                 int nout);

#endif
