/* Helpers shared by the shape and data-movement operators. */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void shp_strides(int ndim, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* One contiguous run of the output from a strided run of the input. */
static void copy_run(char *dst, const char *src, size_t esize, int64_t count, int64_t stride)
{
    if (stride == 1) {
        memcpy(dst, src, (size_t)count * esize);
        return;
    }
    ptrdiff_t step = (ptrdiff_t)stride * (ptrdiff_t)esize;
    switch (esize) {
    case 1:
        for (int64_t i = 0; i < count; i++, src += step) dst[i] = *src;
        break;
    case 2:
        for (int64_t i = 0; i < count; i++, src += step) memcpy(dst + 2 * i, src, 2);
        break;
    case 4:
        for (int64_t i = 0; i < count; i++, src += step) memcpy(dst + 4 * i, src, 4);
        break;
    case 8:
        for (int64_t i = 0; i < count; i++, src += step) memcpy(dst + 8 * i, src, 8);
        break;
    default:
        for (int64_t i = 0; i < count; i++, src += step)
            memcpy(dst + (size_t)i * esize, src, esize);
        break;
    }
}

void shp_strided_copy(void *dst, const void *src, size_t esize, int ndim, const int64_t *dims,
                      const int64_t *strides, int64_t offset)
{
    /* Drop unit dims and merge dims that are contiguous with each other, so
     * the inner run is as long as possible (a Transpose that keeps the last
     * dims in place copies whole rows). */
    int64_t d[SHP_MAX_VIEW_DIMS], s[SHP_MAX_VIEW_DIMS], idx[SHP_MAX_VIEW_DIMS];
    int nd = 0;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] == 0) return;
        if (dims[i] == 1) continue;
        if (nd > 0 && s[nd - 1] == strides[i] * dims[i]) {
            d[nd - 1] *= dims[i];
            s[nd - 1] = strides[i];
        } else {
            d[nd] = dims[i];
            s[nd] = strides[i];
            nd++;
        }
    }
    char *o = dst;
    const char *in = src;
    if (nd == 0) {
        memcpy(o, in + offset * (ptrdiff_t)esize, esize);
        return;
    }
    int64_t inner = d[nd - 1], inner_stride = s[nd - 1];
    int64_t outer = 1;
    for (int i = 0; i < nd - 1; i++) {
        outer *= d[i];
        idx[i] = 0;
    }
    int64_t off = offset;
    for (int64_t r = 0; r < outer; r++) {
        copy_run(o, in + off * (ptrdiff_t)esize, esize, inner, inner_stride);
        o += (size_t)inner * esize;
        for (int k = nd - 2; k >= 0; k--) {
            off += s[k];
            if (++idx[k] < d[k]) break;
            off -= s[k] * d[k];
            idx[k] = 0;
        }
    }
}

size_t shp_tensor_bytes(const struct ir_tensor *t)
{
    int64_t n = ir_tensor_numel(t);
    return n > 0 ? (size_t)n * ir_dtype_size(t->dtype) : 0;
}

bool shp_input_empty(struct ir_graph *g, const struct ir_node *n, int k)
{
    const struct ir_value *v = ir_node_input(g, n, k);
    return !v || (v->shape_known && ir_shape_numel(&v->shape) == 0);
}

int shp_input_floats(struct ir_graph *g, const struct ir_node *n, int k, float *out, int max,
                     char *err, size_t errlen)
{
    const struct ir_value *v = ir_node_input(g, n, k);
    if (v && (!(v->flags & IR_VALUE_CONST) || !v->data)) {
        if (v->flags & IR_VALUE_INPUT) g->const_wanted = n->in[k];
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "input %d '%s' must be constant at load (values computed at run "
                             "time are not supported here)",
                             k, v->name);
    }
    return ir_node_input_floats(g, n, k, out, max, err, errlen);
}

int shp_axes_read(struct ir_graph *g, const struct ir_node *n, const char *name, int input_since,
                  int k, int64_t *axes, int max, char *err, size_t errlen)
{
    if (n->opset < input_since) {
        const int64_t *a;
        int count = ir_node_attr_ints(n, name, &a);
        if (count > max)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "attribute '%s' has %d values, at most %d supported", name, count,
                                 max);
        if (count > 0) memcpy(axes, a, sizeof(*axes) * (size_t)count);
        return count;
    }
    if (shp_input_empty(g, n, k)) return 0;
    return ir_node_input_ints(g, n, k, axes, max, err, errlen);
}

int shp_axes_normalize(struct ir_graph *g, const struct ir_node *n, const char *what, int64_t *axes,
                       int count, int rank, char *err, size_t errlen)
{
    for (int i = 0; i < count; i++) {
        int a = ir_axis_normalize(axes[i], rank);
        if (a < 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "%s value %lld is out of range for rank %d", what,
                                 (long long)axes[i], rank);
        for (int j = 0; j < i; j++)
            if (axes[j] == a)
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "%s names axis %d twice", what, a);
        axes[i] = a;
    }
    return 0;
}

char *shp_ints_str(const int64_t *v, int count, char *buf, size_t len)
{
    struct ir_shape s = { .ndim = 0 };
    /* ir_shape_str prints at most IR_MAX_DIMS values; lists here are no longer. */
    s.ndim = count < IR_MAX_DIMS ? count : IR_MAX_DIMS;
    for (int i = 0; i < s.ndim; i++) s.dims[i] = v[i];
    return ir_shape_str(&s, buf, len);
}

int shp_prod(const int64_t *dims, int from, int to, int64_t *out)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) {
        if (dims[i] < 0 || __builtin_mul_overflow(p, dims[i], &p)) return -1;
    }
    *out = p;
    return 0;
}

/* IEEE half from float, round to nearest even (what numpy's astype does). */
static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t h = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

int shp_scalar_from_double(int dtype, double v, void *out)
{
    switch (dtype) {
    case IR_DT_F32: {
        float f = (float)v;
        memcpy(out, &f, sizeof(f));
        return 0;
    }
    case IR_DT_F64: memcpy(out, &v, sizeof(v)); return 0;
    case IR_DT_F16: {
        uint16_t h = f32_to_f16((float)v);
        memcpy(out, &h, sizeof(h));
        return 0;
    }
    default: break;
    }
    if (isnan(v)) v = 0;
    /* Clamp before converting: a double out of int64's range is undefined
     * behaviour to cast; narrower types then wrap as the integer cast does. */
    int64_t iv = v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v;
    switch (dtype) {
    case IR_DT_BOOL: *(uint8_t *)out = v != 0; return 0;
    case IR_DT_U8: *(uint8_t *)out = (uint8_t)iv; return 0;
    case IR_DT_I8: *(int8_t *)out = (int8_t)iv; return 0;
    case IR_DT_U16: {
        uint16_t x = (uint16_t)iv;
        memcpy(out, &x, sizeof(x));
        return 0;
    }
    case IR_DT_I16: {
        int16_t x = (int16_t)iv;
        memcpy(out, &x, sizeof(x));
        return 0;
    }
    case IR_DT_I32: {
        int32_t x = (int32_t)iv;
        memcpy(out, &x, sizeof(x));
        return 0;
    }
    case IR_DT_U32: {
        uint32_t x = (uint32_t)iv;
        memcpy(out, &x, sizeof(x));
        return 0;
    }
    case IR_DT_I64: memcpy(out, &iv, sizeof(iv)); return 0;
    case IR_DT_U64: {
        uint64_t x = v <= 0 ? 0 : v >= 1.8e19 ? UINT64_MAX : (uint64_t)v;
        memcpy(out, &x, sizeof(x));
        return 0;
    }
    default: return INFERD_E_UNSUPPORTED;
    }
}

void shp_fill(void *dst, const void *value, size_t esize, int64_t count)
{
    char *o = dst;
    for (int64_t i = 0; i < count; i++) memcpy(o + (size_t)i * esize, value, esize);
}
