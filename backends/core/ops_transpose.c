/* Permutations of dims: Transpose, DepthToSpace, SpaceToDepth. Each eval
 * describes its output as a strided view of the input and copies it. */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <errno.h>
#include <string.h>

struct transpose_params {
    int ndim;
    int perm[IR_MAX_DIMS];
};

int shp_transpose_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    const int64_t *perm;
    int count = ir_node_attr_ints(n, "perm", &perm);
    struct transpose_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->ndim = rank;
    if (count == 0) {
        for (int i = 0; i < rank; i++) p->perm[i] = rank - 1 - i;
    } else {
        char buf[160];
        if (count != rank)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "perm %s has %d entries, input has rank %d",
                                 shp_ints_str(perm, count, buf, sizeof(buf)), count, rank);
        bool seen[IR_MAX_DIMS] = { false };
        for (int i = 0; i < rank; i++) {
            if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "perm %s is not a permutation of 0..%d",
                                     shp_ints_str(perm, count, buf, sizeof(buf)), rank - 1);
            seen[perm[i]] = true;
            p->perm[i] = (int)perm[i];
        }
    }
    struct ir_shape s = { .ndim = rank };
    for (int i = 0; i < rank; i++) s.dims[i] = x->shape.dims[p->perm[i]];
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_transpose_eval(const void *params, const struct ir_tensor *in, int nin,
                       struct ir_tensor *out, int nout)
{
    const struct transpose_params *p = params;
    if (in[0].ndim != p->ndim) return INFERD_E_INTERNAL;
    int64_t in_strides[IR_MAX_DIMS], dims[IR_MAX_DIMS], strides[IR_MAX_DIMS];
    shp_strides(in[0].ndim, in[0].dims, in_strides);
    for (int i = 0; i < p->ndim; i++) {
        dims[i] = in[0].dims[p->perm[i]];
        strides[i] = in_strides[p->perm[i]];
    }
    shp_strided_copy(out[0].data, in[0].data, ir_dtype_size(in[0].dtype), p->ndim, dims, strides,
                     0);
    return 0;
}

/* --- DepthToSpace / SpaceToDepth -------------------------------------- */

struct block_params {
    int64_t blocksize;
    bool crd; /* DepthToSpace mode CRD (column, row, depth) instead of DCR */
};

static int block_infer(struct ir_graph *g, struct ir_node *n, bool to_space, char *err,
                       size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    char buf[160];
    if (x->shape.ndim != 4)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input %s must have rank 4 (NCHW)",
                             ir_shape_str(&x->shape, buf, sizeof(buf)));
    const struct ir_attr *a = ir_node_attr(n, "blocksize");
    if (!a || a->type != IR_ATTR_INT)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "attribute 'blocksize' is missing");
    int64_t b = a->i;
    if (b < 1 || b > (INT64_C(1) << 20))
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "blocksize %lld is invalid",
                             (long long)b);
    struct block_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->blocksize = b;
    if (to_space && n->opset >= 11) {
        const char *mode = ir_node_attr_string(n, "mode");
        if (mode && strcmp(mode, "CRD") == 0)
            p->crd = true;
        else if (mode && strcmp(mode, "DCR") != 0)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "mode '%s' is not DCR or CRD", mode);
    }
    const int64_t *d = x->shape.dims;
    struct ir_shape s = { .ndim = 4 };
    if (to_space) {
        if (d[1] % (b * b) != 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "input channels %lld are not a multiple of blocksize^2 = %lld",
                                 (long long)d[1], (long long)(b * b));
        s.dims[0] = d[0];
        s.dims[1] = d[1] / (b * b);
        if (__builtin_mul_overflow(d[2], b, &s.dims[2]) ||
            __builtin_mul_overflow(d[3], b, &s.dims[3]))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "output dims overflow");
    } else {
        if (d[2] % b != 0 || d[3] % b != 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "input %s: height and width are not multiples of blocksize %lld",
                                 ir_shape_str(&x->shape, buf, sizeof(buf)), (long long)b);
        s.dims[0] = d[0];
        if (__builtin_mul_overflow(d[1], b * b, &s.dims[1]))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "output dims overflow");
        s.dims[2] = d[2] / b;
        s.dims[3] = d[3] / b;
    }
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_depth_to_space_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    return block_infer(g, n, true, err, errlen);
}

int shp_space_to_depth_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    return block_infer(g, n, false, err, errlen);
}

int shp_depth_to_space_eval(const void *params, const struct ir_tensor *in, int nin,
                            struct ir_tensor *out, int nout)
{
    const struct block_params *p = params;
    const int64_t *d = in[0].dims;
    int64_t b = p->blocksize, c = d[1] / (b * b), h = d[2], w = d[3];
    /* The output [N, C', H, b, W, b] (then merged to [N, C', H*b, W*b]) read
     * from the input seen as [N, b, b, C', H, W] (DCR) or [N, C', b, b, H, W]
     * (CRD). */
    int64_t dims[6] = { d[0], c, h, b, w, b };
    int64_t hw = h * w;
    int64_t strides[6];
    strides[0] = d[1] * hw;
    strides[2] = w;
    strides[4] = 1;
    if (p->crd) {
        strides[1] = b * b * hw;
        strides[3] = b * hw;
        strides[5] = hw;
    } else {
        strides[1] = hw;
        strides[3] = b * c * hw;
        strides[5] = c * hw;
    }
    shp_strided_copy(out[0].data, in[0].data, ir_dtype_size(in[0].dtype), 6, dims, strides, 0);
    return 0;
}

int shp_space_to_depth_eval(const void *params, const struct ir_tensor *in, int nin,
                            struct ir_tensor *out, int nout)
{
    const struct block_params *p = params;
    const int64_t *d = in[0].dims;
    int64_t b = p->blocksize, h = d[2] / b, w = d[3] / b;
    /* The output [N, b, b, C, H', W'] read from the input seen as
     * [N, C, H', b, W', b]. */
    int64_t dims[6] = { d[0], b, b, d[1], h, w };
    int64_t strides[6] = { d[1] * d[2] * d[3], d[3], 1, d[2] * d[3], b * d[3], b };
    shp_strided_copy(out[0].data, in[0].data, ir_dtype_size(in[0].dtype), 6, dims, strides, 0);
    return 0;
}
