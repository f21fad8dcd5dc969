/* Helpers shared by the nn operator files (ops_conv.c, ops_pool.c, ...): not
 * part of what backends see. */
#ifndef INFERD_OPS_NN_COMMON_H
#define INFERD_OPS_NN_COMMON_H

#include "ops.h"
#include "ops_nn.h"

#include <stdbool.h>
#include <stdint.h>

/* Largest kernel, stride, dilation or pad accepted: keeps every product of two
 * of them (and of a dim under the element limit) far inside int64. */
#define NN_ATTR_MAX (INT64_C(1) << 30)

enum nn_auto_pad {
    NN_PAD_NOTSET = 0,
    NN_PAD_SAME_UPPER,
    NN_PAD_SAME_LOWER,
    NN_PAD_VALID,
};

/* Fails unless every present input in [first, last] is float32. */
int nn_check_f32(struct ir_graph *g, const struct ir_node *n, int first, int last, char *err,
                 size_t errlen);

/* Reads INTS attribute `name`: exactly `count` values in [min, NN_ATTR_MAX]
 * into out, or `def` in every slot when the attribute is absent. */
int nn_attr_ints(struct ir_graph *g, const struct ir_node *n, const char *name, int count,
                 int64_t def, int64_t min, int64_t *out, char *err, size_t errlen);

/* Reads auto_pad into *mode (enum nn_auto_pad); fails on an unknown value. */
int nn_attr_auto_pad(struct ir_graph *g, const struct ir_node *n, int *mode, char *err,
                     size_t errlen);

/* "[3,3]" into buf; returns buf. */
char *nn_ints_str(const int64_t *v, int count, char *buf, size_t len);

/* A sliding window over the spatial axes (Conv, MaxPool, AveragePool). */
struct nn_window {
    int nspatial;
    int auto_pad; /* enum nn_auto_pad */
    bool ceil_mode;
    int64_t in[IR_MAX_DIMS]; /* input extents */
    int64_t kernel[IR_MAX_DIMS];
    int64_t strides[IR_MAX_DIMS];
    int64_t dilations[IR_MAX_DIMS];
    int64_t pads[2 * IR_MAX_DIMS]; /* explicit pads on entry, resolved on return */
    int64_t out[IR_MAX_DIMS];      /* output extents, on return */
};

/* Reads strides, dilations, pads and auto_pad for w->nspatial axes. */
int nn_window_attrs(struct ir_graph *g, const struct ir_node *n, struct nn_window *w, char *err,
                    size_t errlen);

/* Applies auto_pad to the pads and computes the output extents as the ONNX
 * spec says (ceil_mode windows that would start in the end padding are
 * dropped); fails when the dilated kernel does not fit the padded input. */
int nn_window_resolve(struct ir_graph *g, const struct ir_node *n, struct nn_window *w, char *err,
                      size_t errlen);

/* Advances the row-major counter idx over dims[0..nd); false after the last. */
static inline bool nn_next(int64_t *idx, const int64_t *dims, int nd)
{
    for (int i = nd - 1; i >= 0; i--) {
        if (++idx[i] < dims[i]) return true;
        idx[i] = 0;
    }
    return false;
}

/* Product of dims[from..to). */
static inline int64_t nn_prod(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= dims[i];
    return p;
}

#endif
