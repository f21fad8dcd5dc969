/* Internals of the shape and data-movement operator family: the infer and
 * eval functions that ops_shape.c lists in ir_ops_shape[], and the helpers the
 * family's files share. Nothing outside backends/core/ops_*.c includes this. */
#ifndef INFERD_OPS_SHAPE_IMPL_H
#define INFERD_OPS_SHAPE_IMPL_H

#include "ops.h"

#include <stddef.h>
#include <stdint.h>

/* Views built by Tile (two dims per input dim) need twice the IR rank. */
#define SHP_MAX_VIEW_DIMS (2 * IR_MAX_DIMS)

#define SHP_OP_DECL(op)                                                                            \
    int shp_##op##_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);         \
    int shp_##op##_eval(const void *params, const struct ir_tensor *in, int nin,                   \
                        struct ir_tensor *out, int nout)

/* ops_reshape.c: the alias ops share one copying eval, for constant folding
 * and for backends that do not alias. */
int shp_alias_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout);
int shp_flatten_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int shp_reshape_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int shp_squeeze_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int shp_unsqueeze_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
int shp_identity_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
SHP_OP_DECL(dropout);
/* ops_transpose.c */
SHP_OP_DECL(transpose);
SHP_OP_DECL(depth_to_space);
SHP_OP_DECL(space_to_depth);
/* ops_concat.c */
SHP_OP_DECL(concat);
SHP_OP_DECL(split);
/* ops_slice.c */
SHP_OP_DECL(slice);
/* ops_gather.c */
SHP_OP_DECL(gather);
SHP_OP_DECL(shape);
/* Constant's infer makes its output a constant: it has no eval. */
int shp_constant_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen);
SHP_OP_DECL(constant_of_shape);
/* ops_expand.c */
SHP_OP_DECL(expand);
SHP_OP_DECL(tile);
/* ops_pad.c */
SHP_OP_DECL(pad);
/* ops_resize.c */
SHP_OP_DECL(resize);
SHP_OP_DECL(upsample);

#undef SHP_OP_DECL

/* --- helpers (ops_shape_util.c) ----------------------------------------- */

/* Row-major element strides of dims[0..ndim). */
void shp_strides(int ndim, const int64_t *dims, int64_t *strides);

/* Copies the strided view of src (element strides, starting at element
 * `offset`; a stride may be 0 or negative) into dst, densely, in row-major
 * order of dims. esize is the element size in bytes; ndim <= SHP_MAX_VIEW_DIMS. */
void shp_strided_copy(void *dst, const void *src, size_t esize, int ndim, const int64_t *dims,
                      const int64_t *strides, int64_t offset);

/* Bytes of tensor t's data as its dtype and dims say (0 when empty). */
size_t shp_tensor_bytes(const struct ir_tensor *t);

/* Whether input k of node n is absent or has no elements: exporters pass an
 * empty tensor for an optional input they leave out (Resize's roi and scales). */
bool shp_input_empty(struct ir_graph *g, const struct ir_node *n, int k);

/* ir_node_input_floats, but a non-constant input is refused in words that
 * say it is not supported (Resize's scales set the output shape). */
int shp_input_floats(struct ir_graph *g, const struct ir_node *n, int k, float *out, int max,
                     char *err, size_t errlen);

/* Reads the axes of Squeeze/Unsqueeze/Slice-style ops: from attribute `name`
 * when the opset is before `input_since`, else from constant input k (absent
 * = none). Returns the count (0 = not given) or a negative code. */
int shp_axes_read(struct ir_graph *g, const struct ir_node *n, const char *name, int input_since,
                  int k, int64_t *axes, int max, char *err, size_t errlen);

/* Normalizes axes[0..count) against rank in place, failing on an axis out of
 * range or repeated; `what` names the list in the message ("axes"). */
int shp_axes_normalize(struct ir_graph *g, const struct ir_node *n, const char *what, int64_t *axes,
                       int count, int rank, char *err, size_t errlen);

/* Product of dims[from..to) into *out; -1 on a negative dim or overflow. */
int shp_prod(const int64_t *dims, int from, int to, int64_t *out);

/* Writes v converted to dtype into out (at most 8 bytes); fails on a dtype
 * without a numeric value. */
int shp_scalar_from_double(int dtype, double v, void *out);

/* Fills count elements of esize bytes with *value. */
void shp_fill(void *dst, const void *value, size_t esize, int64_t count);

/* "[1,3,224,224]" for an int64 list. */
char *shp_ints_str(const int64_t *v, int count, char *buf, size_t len);

#endif
