/* Model IR: storage, attributes, shapes and messages. */
#include "ir.h"

#include "inferd_error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ir_dtype_size(int dtype)
{
    switch (dtype) {
    case IR_DT_F32: return 4;
    case IR_DT_U8: return 1;
    case IR_DT_I8: return 1;
    case IR_DT_U16: return 2;
    case IR_DT_I16: return 2;
    case IR_DT_I32: return 4;
    case IR_DT_I64: return 8;
    case IR_DT_BOOL: return 1;
    case IR_DT_F16: return 2;
    case IR_DT_F64: return 8;
    case IR_DT_U32: return 4;
    case IR_DT_U64: return 8;
    default: return 0;
    }
}

const char *ir_dtype_name(int dtype)
{
    switch (dtype) {
    case IR_DT_F32: return "float32";
    case IR_DT_U8: return "uint8";
    case IR_DT_I8: return "int8";
    case IR_DT_U16: return "uint16";
    case IR_DT_I16: return "int16";
    case IR_DT_I32: return "int32";
    case IR_DT_I64: return "int64";
    case IR_DT_STRING: return "string";
    case IR_DT_BOOL: return "bool";
    case IR_DT_F16: return "float16";
    case IR_DT_F64: return "float64";
    case IR_DT_U32: return "uint32";
    case IR_DT_U64: return "uint64";
    default: return "unknown";
    }
}

void *ir_alloc(size_t nbytes)
{
    size_t rounded = (nbytes + 63) & ~(size_t)63;
    if (rounded < nbytes) return NULL;
    if (rounded == 0) rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

void ir_free(void *p)
{
    free(p);
}

/* --- graph storage ------------------------------------------------------ */

struct ir_graph *ir_graph_new(const char *path)
{
    struct ir_graph *g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    g->path = strdup(path ? path : "model");
    if (!g->path) {
        free(g);
        return NULL;
    }
    g->limits.max_elements = IR_DEFAULT_MAX_ELEMENTS;
    g->limits.max_fold_bytes = IR_DEFAULT_MAX_FOLD_BYTES;
    g->const_wanted = -1;
    return g;
}

static void attr_free(struct ir_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    if (a->strings)
        for (int i = 0; i < a->n; i++) free(a->strings[i]);
    free(a->strings);
    if (a->t) {
        ir_free(a->t->data);
        free(a->t);
    }
}

void ir_node_release(struct ir_node *n)
{
    free(n->name);
    free(n->op_type);
    free(n->in);
    free(n->out);
    for (int i = 0; i < n->nattr; i++) attr_free(&n->attrs[i]);
    free(n->attrs);
    free(n->params);
}

void ir_graph_free(struct ir_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->nvalues; i++) {
        free(g->values[i].name);
        ir_free(g->values[i].data);
    }
    for (int i = 0; i < g->nnodes; i++) ir_node_release(&g->nodes[i]);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->path);
    free(g->name);
    free(g);
}

static int array_grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > (1 << 28)) return -ENOMEM;
        ncap *= 2;
    }
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return -ENOMEM;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}

int ir_graph_value_add(struct ir_graph *g, const char *name, int dtype)
{
    if (array_grow((void **)&g->values, &g->cap_values, g->nvalues + 1, sizeof(*g->values)))
        return -ENOMEM;
    struct ir_value *v = &g->values[g->nvalues];
    memset(v, 0, sizeof(*v));
    v->name = strdup(name ? name : "");
    if (!v->name) return -ENOMEM;
    v->dtype = dtype;
    v->producer = -1;
    return g->nvalues++;
}

int ir_graph_node_add(struct ir_graph *g, const char *name, const char *op_type, int nin, int nout)
{
    if (nin < 0 || nout < 0) return -EINVAL;
    if (array_grow((void **)&g->nodes, &g->cap_nodes, g->nnodes + 1, sizeof(*g->nodes)))
        return -ENOMEM;
    struct ir_node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof(*n));
    n->name = strdup(name ? name : "");
    n->op_type = strdup(op_type ? op_type : "");
    n->in = malloc(sizeof(int) * (size_t)(nin ? nin : 1));
    n->out = malloc(sizeof(int) * (size_t)(nout ? nout : 1));
    if (!n->name || !n->op_type || !n->in || !n->out) {
        ir_node_release(n);
        memset(n, 0, sizeof(*n));
        return -ENOMEM;
    }
    for (int i = 0; i < nin; i++) n->in[i] = -1;
    for (int i = 0; i < nout; i++) n->out[i] = -1;
    n->nin = nin;
    n->nout = nout;
    n->opset = (int)g->opset;
    return g->nnodes++;
}

int ir_graph_value_find(const struct ir_graph *g, const char *name)
{
    for (int i = 0; i < g->nvalues; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

void ir_value_set_const(struct ir_graph *g, int v, const struct ir_shape *shape, void *data,
                        size_t nbytes)
{
    struct ir_value *val = &g->values[v];
    ir_free(val->data);
    val->data = data;
    val->nbytes = nbytes;
    val->shape = *shape;
    val->shape_known = true;
    val->flags |= IR_VALUE_CONST;
}

void *ir_value_data_take(struct ir_graph *g, int v)
{
    void *p = g->values[v].data;
    g->values[v].data = NULL;
    return p;
}

void ir_value_tensor(const struct ir_graph *g, int v, struct ir_tensor *t)
{
    const struct ir_value *val = &g->values[v];
    memset(t, 0, sizeof(*t));
    t->dtype = val->dtype;
    t->ndim = val->shape.ndim;
    memcpy(t->dims, val->shape.dims, sizeof(t->dims));
    t->data = val->data;
    int64_t n = ir_shape_numel(&val->shape);
    t->nbytes = n > 0 ? (size_t)n * ir_dtype_size(val->dtype) : 0;
}

/* --- shapes ------------------------------------------------------------- */

int64_t ir_shape_numel(const struct ir_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        int64_t d = s->dims[i];
        if (d < 0) return -1;
        if (d != 0 && n > INT64_MAX / d) return -1;
        n *= d;
    }
    return n;
}

int64_t ir_tensor_numel(const struct ir_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

char *ir_shape_str(const struct ir_shape *s, char *buf, size_t len)
{
    size_t off = 0;
    if (len == 0) return buf;
    buf[0] = 0;
    off += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < s->ndim && off < len; i++)
        off +=
            (size_t)snprintf(buf + off, len - off, "%s%lld", i ? "," : "", (long long)s->dims[i]);
    if (off < len) snprintf(buf + off, len - off, "]");
    return buf;
}

bool ir_shape_equal(const struct ir_shape *a, const struct ir_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

/* --- attributes --------------------------------------------------------- */

const struct ir_attr *ir_node_attr(const struct ir_node *n, const char *name)
{
    for (int i = 0; i < n->nattr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t ir_node_attr_int(const struct ir_node *n, const char *name, int64_t def)
{
    const struct ir_attr *a = ir_node_attr(n, name);
    return a && a->type == IR_ATTR_INT ? a->i : def;
}

float ir_node_attr_float(const struct ir_node *n, const char *name, float def)
{
    const struct ir_attr *a = ir_node_attr(n, name);
    if (!a) return def;
    if (a->type == IR_ATTR_FLOAT) return a->f;
    if (a->type == IR_ATTR_INT) return (float)a->i;
    return def;
}

const char *ir_node_attr_string(const struct ir_node *n, const char *name)
{
    const struct ir_attr *a = ir_node_attr(n, name);
    return a && a->type == IR_ATTR_STRING ? a->s : NULL;
}

int ir_node_attr_ints(const struct ir_node *n, const char *name, const int64_t **ints)
{
    const struct ir_attr *a = ir_node_attr(n, name);
    *ints = NULL;
    if (!a || a->type != IR_ATTR_INTS) return 0;
    *ints = a->ints;
    return a->n;
}

int ir_node_attr_floats(const struct ir_node *n, const char *name, const float **floats)
{
    const struct ir_attr *a = ir_node_attr(n, name);
    *floats = NULL;
    if (!a || a->type != IR_ATTR_FLOATS) return 0;
    *floats = a->floats;
    return a->n;
}

struct ir_attr *ir_node_attr_add(struct ir_graph *g, int node, const char *name, int type)
{
    struct ir_node *n = &g->nodes[node];
    struct ir_attr *attrs = realloc(n->attrs, sizeof(*attrs) * (size_t)(n->nattr + 1));
    if (!attrs) return NULL;
    n->attrs = attrs;
    struct ir_attr *a = &attrs[n->nattr];
    memset(a, 0, sizeof(*a));
    a->name = strdup(name);
    if (!a->name) return NULL;
    a->type = type;
    n->nattr++;
    return a;
}

int ir_node_attr_set_int(struct ir_graph *g, int node, const char *name, int64_t v)
{
    struct ir_attr *a = ir_node_attr_add(g, node, name, IR_ATTR_INT);
    if (!a) return -ENOMEM;
    a->i = v;
    return 0;
}

int ir_node_attr_set_float(struct ir_graph *g, int node, const char *name, float v)
{
    struct ir_attr *a = ir_node_attr_add(g, node, name, IR_ATTR_FLOAT);
    if (!a) return -ENOMEM;
    a->f = v;
    return 0;
}

int ir_node_attr_set_string(struct ir_graph *g, int node, const char *name, const char *v)
{
    struct ir_attr *a = ir_node_attr_add(g, node, name, IR_ATTR_STRING);
    if (!a) return -ENOMEM;
    a->s = strdup(v);
    return a->s ? 0 : -ENOMEM;
}

int ir_node_attr_set_ints(struct ir_graph *g, int node, const char *name, const int64_t *v, int n)
{
    struct ir_attr *a = ir_node_attr_add(g, node, name, IR_ATTR_INTS);
    if (!a) return -ENOMEM;
    a->ints = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!a->ints) return -ENOMEM;
    if (n) memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    a->n = n;
    return 0;
}

int ir_node_attr_set_floats(struct ir_graph *g, int node, const char *name, const float *v, int n)
{
    struct ir_attr *a = ir_node_attr_add(g, node, name, IR_ATTR_FLOATS);
    if (!a) return -ENOMEM;
    a->floats = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!a->floats) return -ENOMEM;
    if (n) memcpy(a->floats, v, sizeof(float) * (size_t)n);
    a->n = n;
    return 0;
}

/* --- messages ----------------------------------------------------------- */

int ir_node_error(const struct ir_graph *g, const struct ir_node *n, int code, char *err,
                  size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return code;
    int off =
        snprintf(err, errlen, "%s: node '%s' (%s): ", g ? g->path : "model", n->name, n->op_type);
    if (off < 0 || (size_t)off >= errlen) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
    va_end(ap);
    return code;
}

int ir_graph_error(const struct ir_graph *g, int code, char *err, size_t errlen, const char *fmt,
                   ...)
{
    if (!err || errlen == 0) return code;
    int off = snprintf(err, errlen, "%s: ", g ? g->path : "model");
    if (off < 0 || (size_t)off >= errlen) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
    va_end(ap);
    return code;
}

/* --- fused activations -------------------------------------------------- */

void ir_act_apply(const struct ir_act *act, float *x, size_t n)
{
    const float a = act->a, b = act->b;
    switch (act->kind) {
    case IR_ACT_NONE: break;
    case IR_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case IR_ACT_CLIP:
        for (size_t i = 0; i < n; i++) x[i] = fminf(fmaxf(x[i], a), b);
        break;
    case IR_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] < 0.0f ? a * x[i] : x[i];
        break;
    case IR_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case IR_ACT_HARD_SIGMOID:
        for (size_t i = 0; i < n; i++) x[i] = fmaxf(0.0f, fminf(1.0f, a * x[i] + b));
        break;
    case IR_ACT_HARD_SWISH:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] * fmaxf(0.0f, fminf(1.0f, x[i] * (1.0f / 6.0f) + 0.5f));
        break;
    case IR_ACT_TANH:
        for (size_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
        break;
    case IR_ACT_SILU:
        /* As the graph it replaces computes it: Mul(x, Sigmoid(x)). */
        for (size_t i = 0; i < n; i++) x[i] = x[i] * (1.0f / (1.0f + expf(-x[i])));
        break;
    }
}

void ir_act_apply_sum(const struct ir_act *act, float *x, const float *sum, size_t n)
{
    if (sum)
        for (size_t i = 0; i < n; i++) x[i] += sum[i];
    ir_act_apply(act, x, n);
}
