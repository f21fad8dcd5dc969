#include "onnx_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
    fprintf(stderr, "onnx_builder: %s\n", what);
    abort();
}

void *mb_alloc(struct mb *m, size_t size)
{
    if (m->nallocs == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        void **a = realloc(m->allocs, ncap * sizeof(*a));
        if (!a) die("out of memory");
        m->allocs = a;
        m->cap = ncap;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) die("out of memory");
    m->allocs[m->nallocs++] = p;
    return p;
}

char *mb_strdup(struct mb *m, const char *s)
{
    size_t l = strlen(s);
    char *p = mb_alloc(m, l + 1);
    memcpy(p, s, l);
    return p;
}

void mb_init(struct mb *m, int64_t opset)
{
    memset(m, 0, sizeof(*m));
    onnx__model_proto__init(&m->model);
    onnx__graph_proto__init(&m->graph);
    onnx__operator_set_id_proto__init(&m->opset);
    m->model.has_ir_version = 1;
    m->model.ir_version = 8;
    m->model.producer_name = "inferd-test";
    m->model.graph = &m->graph;
    m->graph.name = "g";
    m->graph.node = m->nodes;
    m->graph.initializer = m->inits;
    m->graph.input = m->inputs;
    m->graph.output = m->outputs;
    if (opset) {
        m->opset.domain = "";
        m->opset.has_version = 1;
        m->opset.version = opset;
        m->opsets[0] = &m->opset;
        m->model.opset_import = m->opsets;
        m->model.n_opset_import = 1;
    }
}

void mb_free(struct mb *m)
{
    for (size_t i = 0; i < m->nallocs; i++) free(m->allocs[i]);
    free(m->allocs);
    memset(m, 0, sizeof(*m));
}

/* Splits "a,,b" into names ("" for an empty one). */
static size_t split(struct mb *m, const char *list, char ***out)
{
    *out = NULL;
    if (!list || !*list) return 0;
    size_t n = 1;
    for (const char *p = list; *p; p++) n += *p == ',';
    char **names = mb_alloc(m, n * sizeof(char *));
    const char *p = list;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        names[i] = mb_alloc(m, l + 1);
        memcpy(names[i], p, l);
        p = e ? e + 1 : p + l;
    }
    *out = names;
    return n;
}

Onnx__NodeProto *mb_node(struct mb *m, const char *op, const char *name, const char *ins,
                         const char *outs)
{
    if (m->graph.n_node == MB_MAX) die("too many nodes");
    Onnx__NodeProto *n = mb_alloc(m, sizeof(*n));
    onnx__node_proto__init(n);
    n->op_type = mb_strdup(m, op);
    n->name = name ? mb_strdup(m, name) : NULL;
    n->n_input = split(m, ins, &n->input);
    n->n_output = split(m, outs, &n->output);
    m->nodes[m->graph.n_node++] = n;
    return n;
}

Onnx__AttributeProto *mb_attr(struct mb *m, Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto **a = mb_alloc(m, (n->n_attribute + 1) * sizeof(*a));
    if (n->n_attribute) memcpy(a, n->attribute, n->n_attribute * sizeof(*a));
    Onnx__AttributeProto *at = mb_alloc(m, sizeof(*at));
    onnx__attribute_proto__init(at);
    at->name = mb_strdup(m, name);
    if (type >= 0) {
        at->has_type = 1;
        at->type = type;
    }
    a[n->n_attribute++] = at;
    n->attribute = a;
    return at;
}

void mb_attr_int(struct mb *m, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void mb_attr_float(struct mb *m, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void mb_attr_string(struct mb *m, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)mb_strdup(m, v);
    a->s.len = strlen(v);
}

void mb_attr_ints(struct mb *m, Onnx__NodeProto *n, const char *name, int count, const int64_t *v)
{
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->ints = mb_alloc(m, sizeof(int64_t) * (size_t)count);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
    a->n_ints = (size_t)count;
}

void mb_attr_floats(struct mb *m, Onnx__NodeProto *n, const char *name, int count, const float *v)
{
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->floats = mb_alloc(m, sizeof(float) * (size_t)count);
    memcpy(a->floats, v, sizeof(float) * (size_t)count);
    a->n_floats = (size_t)count;
}

void mb_attr_tensor(struct mb *m, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
}

void mb_unknown_len(struct mb *m, ProtobufCMessage *msg, uint32_t field, const void *data,
                    size_t len)
{
    ProtobufCMessageUnknownField *u = mb_alloc(m, (msg->n_unknown_fields + 1) * sizeof(*u));
    if (msg->n_unknown_fields) memcpy(u, msg->unknown_fields, msg->n_unknown_fields * sizeof(*u));
    ProtobufCMessageUnknownField *f = &u[msg->n_unknown_fields++];
    f->tag = field;
    f->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    f->len = len;
    f->data = mb_alloc(m, len);
    memcpy(f->data, data, len);
    msg->unknown_fields = u;
}

Onnx__TensorProto *mb_tensor(struct mb *m, const char *name, int dtype, int ndim,
                             const int64_t *dims, const void *raw, size_t rawlen)
{
    Onnx__TensorProto *t = mb_alloc(m, sizeof(*t));
    onnx__tensor_proto__init(t);
    t->name = name ? mb_strdup(m, name) : NULL;
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)ndim;
    t->dims = mb_alloc(m, sizeof(int64_t) * (size_t)(ndim > 0 ? ndim : 1));
    if (ndim > 0) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    if (raw) {
        t->has_raw_data = 1;
        t->raw_data.len = rawlen;
        t->raw_data.data = mb_alloc(m, rawlen);
        memcpy(t->raw_data.data, raw, rawlen);
    }
    return t;
}

Onnx__TensorProto *mb_init_raw(struct mb *m, const char *name, int dtype, int ndim,
                               const int64_t *dims, const void *raw, size_t rawlen)
{
    if (m->graph.n_initializer == MB_MAX) die("too many initializers");
    Onnx__TensorProto *t = mb_tensor(m, name, dtype, ndim, dims, raw, rawlen);
    m->inits[m->graph.n_initializer++] = t;
    return t;
}

void mb_external(struct mb *m, Onnx__TensorProto *t, const char *location, const char *offset,
                 const char *length)
{
    const char *keys[3] = { "location", "offset", "length" };
    const char *vals[3] = { location, offset, length };
    t->external_data = mb_alloc(m, 3 * sizeof(*t->external_data));
    for (int i = 0; i < 3; i++) {
        if (!vals[i]) continue;
        Onnx__StringStringEntryProto *e = mb_alloc(m, sizeof(*e));
        onnx__string_string_entry_proto__init(e);
        e->key = mb_strdup(m, keys[i]);
        e->value = mb_strdup(m, vals[i]);
        t->external_data[t->n_external_data++] = e;
    }
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->has_raw_data = 0;
}

Onnx__ValueInfoProto *mb_vi(struct mb *m, const char *name, int dtype, int ndim,
                            const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = mb_alloc(m, sizeof(*vi));
    onnx__value_info_proto__init(vi);
    vi->name = mb_strdup(m, name);
    if (dtype < 0) return vi; /* no type at all */
    Onnx__TypeProto *tp = mb_alloc(m, sizeof(*tp));
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = mb_alloc(m, sizeof(*tt));
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = dtype;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    if (ndim < 0) return vi;
    Onnx__TensorShapeProto *sp = mb_alloc(m, sizeof(*sp));
    onnx__tensor_shape_proto__init(sp);
    sp->dim = mb_alloc(m, sizeof(*sp->dim) * (size_t)(ndim ? ndim : 1));
    for (int i = 0; i < ndim; i++) {
        Onnx__TensorShapeProto__Dimension *d = mb_alloc(m, sizeof(*d));
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else if (dims[i] == -1) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = mb_strdup(m, "N");
        } /* -2: neither set */
        sp->dim[i] = d;
    }
    sp->n_dim = (size_t)ndim;
    tt->shape = sp;
    return vi;
}

void mb_input(struct mb *m, const char *name, int dtype, int ndim, const int64_t *dims)
{
    if (m->graph.n_input == MB_MAX) die("too many inputs");
    m->inputs[m->graph.n_input++] = mb_vi(m, name, dtype, ndim, dims);
}

void mb_output(struct mb *m, const char *name)
{
    if (m->graph.n_output == MB_MAX) die("too many outputs");
    m->outputs[m->graph.n_output++] = mb_vi(m, name, 1, -1, NULL);
}

uint8_t *mb_pack(struct mb *m, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&m->model);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf) die("out of memory");
    if (onnx__model_proto__pack(&m->model, buf) != *len) die("pack size mismatch");
    return buf;
}
