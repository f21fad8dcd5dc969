/* ONNX import: models built in memory with the generated protobuf-c structs
 * (onnx_builder), then read back through ir_onnx_load_memory / ir_onnx_load.
 * One test per malformed-model case, each checking its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "inferd_error.h"
#include "ir.h"
#include "onnx_builder.h"
#include "onnx_import.h"

#define F32 IR_DT_F32
#define I64 IR_DT_I64

static const int64_t x_dims[] = { 1, 3, 8, 8 };
static const int64_t w_dims[] = { 4, 3, 3, 3 };
static const int64_t b_dims[] = { 4 };

static char err[512];

/* Packs m and imports it as "m.onnx" with no folder for external data. */
static int load_mb(struct mb *m, const struct ir_import_opts *opts, struct ir_graph **g)
{
    size_t len;
    uint8_t *buf = mb_pack(m, &len);
    err[0] = 0;
    int rc = ir_onnx_load_memory(buf, len, "m.onnx", NULL, opts, g, err, sizeof(err));
    free(buf);
    if (rc == 0)
        assert_non_null(*g);
    else
        assert_null(*g);
    return rc;
}

static int value_named(const struct ir_graph *g, const char *name)
{
    int v = ir_graph_value_find(g, name);
    assert_true(v >= 0);
    return v;
}

static void assert_msg(const char *want)
{
    if (!strstr(err, want)) fail_msg("message '%s' lacks '%s'", err, want);
}

/* x -> Conv(W, B) -> c -> Relu -> y, with Relu listed first and unnamed. */
static void conv_relu_model(struct mb *m, float *w, float *b)
{
    mb_init(m, 13);
    for (int i = 0; i < 108; i++) w[i] = (float)i * 0.5f - 3.0f;
    for (int i = 0; i < 4; i++) b[i] = (float)i + 0.25f;
    mb_input(m, "x", F32, 4, x_dims);
    mb_node(m, "Relu", NULL, "c", "y");
    Onnx__NodeProto *conv = mb_node(m, "Conv", "conv0", "x,W,B", "c");
    static const int64_t ks[] = { 3, 3 }, pads[] = { 1, 1, 1, 1 };
    mb_attr_ints(m, conv, "kernel_shape", 2, ks);
    mb_attr_ints(m, conv, "pads", 4, pads);
    mb_attr_int(m, conv, "group", 1);
    mb_init_raw(m, "W", F32, 4, w_dims, w, 108 * sizeof(float));
    /* B through float_data rather than raw_data. */
    Onnx__TensorProto *tb = mb_init_raw(m, "B", F32, 1, b_dims, NULL, 0);
    tb->float_data = b;
    tb->n_float_data = 4;
    mb_output(m, "y");
}

static void test_conv_relu(void **state)
{
    (void)state;
    struct mb m;
    float w[108], b[4];
    conv_relu_model(&m, w, b);
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), 0);
    assert_int_equal(g->opset, 13);
    assert_string_equal(g->name, "g");
    assert_string_equal(g->path, "m.onnx");

    /* Sorted: Conv before the Relu that reads it; the Relu named by index. */
    assert_int_equal(g->nnodes, 2);
    const struct ir_node *conv = &g->nodes[0], *relu = &g->nodes[1];
    assert_string_equal(conv->op_type, "Conv");
    assert_string_equal(conv->name, "conv0");
    assert_string_equal(relu->op_type, "Relu");
    assert_string_equal(relu->name, "Relu_0");
    assert_int_equal(conv->opset, 13);
    assert_int_equal(relu->opset, 13);

    int x = value_named(g, "x"), wv = value_named(g, "W"), bv = value_named(g, "B");
    int c = value_named(g, "c"), y = value_named(g, "y");
    assert_int_equal(conv->nin, 3);
    assert_int_equal(conv->in[0], x);
    assert_int_equal(conv->in[1], wv);
    assert_int_equal(conv->in[2], bv);
    assert_int_equal(conv->out[0], c);
    assert_int_equal(relu->in[0], c);
    assert_int_equal(relu->out[0], y);
    assert_int_equal(g->values[c].producer, 0);
    assert_int_equal(g->values[y].producer, 1);

    const int64_t *ks;
    assert_int_equal(ir_node_attr_ints(conv, "kernel_shape", &ks), 2);
    assert_int_equal(ks[0], 3);
    assert_int_equal(ks[1], 3);
    const int64_t *pads;
    assert_int_equal(ir_node_attr_ints(conv, "pads", &pads), 4);
    assert_int_equal(pads[3], 1);
    assert_int_equal(ir_node_attr_int(conv, "group", 0), 1);
    assert_int_equal(relu->nattr, 0);

    /* Runtime input with its shape. */
    assert_int_equal(g->ninputs, 1);
    assert_int_equal(g->inputs[0], x);
    assert_true(g->values[x].flags & IR_VALUE_INPUT);
    assert_false(g->values[x].flags & IR_VALUE_CONST);
    assert_int_equal(g->values[x].dtype, F32);
    assert_true(g->values[x].shape_known);
    assert_int_equal(g->values[x].shape.ndim, 4);
    assert_int_equal(g->values[x].shape.dims[1], 3);
    assert_int_equal(g->values[x].shape.dims[3], 8);

    /* Constants with their data, 64-byte aligned. */
    const struct ir_value *W = &g->values[wv], *B = &g->values[bv];
    assert_true(W->flags & IR_VALUE_CONST);
    assert_false(W->flags & IR_VALUE_INPUT);
    assert_int_equal(W->dtype, F32);
    assert_int_equal(W->shape.ndim, 4);
    assert_int_equal(W->shape.dims[0], 4);
    assert_int_equal(W->nbytes, sizeof(w));
    assert_memory_equal(W->data, w, sizeof(w));
    assert_int_equal((uintptr_t)W->data % 64, 0);
    assert_int_equal(B->nbytes, sizeof(b));
    assert_memory_equal(B->data, b, sizeof(b));
    assert_int_equal((uintptr_t)B->data % 64, 0);

    assert_int_equal(g->noutputs, 1);
    assert_int_equal(g->outputs[0], y);
    assert_true(g->values[y].flags & IR_VALUE_OUTPUT);
    assert_false(g->values[c].flags & (IR_VALUE_OUTPUT | IR_VALUE_INPUT | IR_VALUE_CONST));
    ir_graph_free(g);
    mb_free(&m);
}

static void test_constant_and_attributes(void **state)
{
    (void)state;
    struct mb m;
    mb_init(&m, 11);
    static const int64_t two[] = { 2 };
    Onnx__NodeProto *k = mb_node(&m, "Constant", "shape_const", "", "s");
    Onnx__TensorProto *t = mb_tensor(&m, NULL, I64, 1, two, NULL, 0);
    int64_t sv[2] = { -1, 12 };
    t->int64_data = sv;
    t->n_int64_data = 2;
    mb_attr_tensor(&m, k, "value", t);
    Onnx__NodeProto *kf = mb_node(&m, "Constant", "f_const", "", "f");
    mb_attr_float(&m, kf, "value_float", 2.5f);
    /* Foo has every attribute kind, one of them without a type field. */
    Onnx__NodeProto *foo = mb_node(&m, "Foo", "foo", "s,f", "out");
    static const float fl[] = { 0.5f, -1.0f, 3.0f };
    mb_attr_floats(&m, foo, "scales", 3, fl);
    mb_attr_string(&m, foo, "mode", "nearest");
    Onnx__AttributeProto *strs =
        mb_attr(&m, foo, "names", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    ProtobufCBinaryData sd[2] = { { 1, (uint8_t *)"a" }, { 3, (uint8_t *)"bcd" } };
    strs->strings = sd;
    strs->n_strings = 2;
    Onnx__AttributeProto *untyped = mb_attr(&m, foo, "axis", -1);
    untyped->has_i = 1;
    untyped->i = -2;
    /* int8 tensor attribute through int32_data. */
    Onnx__TensorProto *t8 = mb_tensor(&m, NULL, IR_DT_I8, 1, two, NULL, 0);
    int32_t v8[2] = { -7, 100 };
    t8->int32_data = v8;
    t8->n_int32_data = 2;
    mb_attr_tensor(&m, foo, "small", t8);
    mb_output(&m, "out");

    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), 0);
    assert_int_equal(g->nnodes, 3);
    const struct ir_node *n = &g->nodes[0];
    assert_string_equal(n->op_type, "Constant");
    assert_int_equal(n->nin, 0);
    const struct ir_attr *a = ir_node_attr(n, "value");
    assert_non_null(a);
    assert_int_equal(a->type, IR_ATTR_TENSOR);
    assert_int_equal(a->t->dtype, I64);
    assert_int_equal(a->t->ndim, 1);
    assert_int_equal(a->t->dims[0], 2);
    assert_int_equal(a->t->nbytes, 16);
    assert_memory_equal(a->t->data, sv, sizeof(sv));
    assert_true(ir_node_attr_float(&g->nodes[1], "value_float", 0.0f) == 2.5f);

    const struct ir_node *f = &g->nodes[2];
    const float *fs;
    assert_int_equal(ir_node_attr_floats(f, "scales", &fs), 3);
    assert_true(fs[1] == -1.0f);
    assert_string_equal(ir_node_attr_string(f, "mode"), "nearest");
    const struct ir_attr *sa = ir_node_attr(f, "names");
    assert_int_equal(sa->type, IR_ATTR_STRINGS);
    assert_int_equal(sa->n, 2);
    assert_string_equal(sa->strings[0], "a");
    assert_string_equal(sa->strings[1], "bcd");
    assert_int_equal(ir_node_attr(f, "axis")->type, IR_ATTR_INT);
    assert_int_equal(ir_node_attr_int(f, "axis", 0), -2);
    const struct ir_attr *s8 = ir_node_attr(f, "small");
    assert_int_equal(s8->t->dtype, IR_DT_I8);
    assert_int_equal(((int8_t *)s8->t->data)[0], -7);
    assert_int_equal(((int8_t *)s8->t->data)[1], 100);
    ir_graph_free(g);
    mb_free(&m);
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

/* A graph attribute nested 100000 levels deep (If.then_branch holding a node
 * with a graph attribute holding ...): kept as IR_ATTR_GRAPH, never descended. */
static void test_graph_attribute_deep(void **state)
{
    (void)state;
    size_t cap = 4u << 20, pos = cap;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    /* Built from the innermost (empty) GraphProto outwards, each level being
     * GraphProto{node{attribute{name: "g", g: <inner>}}}. */
    for (int level = 0; level < 100000; level++) {
        uint8_t hdr[48], v[10];
        size_t inner = cap - pos;
        size_t attr_len = 3 + 1 + put_varint(v, inner) + inner;
        size_t node_len = 1 + put_varint(v, attr_len) + attr_len;
        size_t h = 0;
        hdr[h++] = 0x0a; /* GraphProto.node */
        h += put_varint(hdr + h, node_len);
        hdr[h++] = 0x2a; /* NodeProto.attribute */
        h += put_varint(hdr + h, attr_len);
        hdr[h++] = 0x0a; /* AttributeProto.name */
        hdr[h++] = 1;
        hdr[h++] = 'g';
        hdr[h++] = 0x32; /* AttributeProto.g */
        h += put_varint(hdr + h, inner);
        assert_true(h <= pos);
        pos -= h;
        memcpy(buf + pos, hdr, h);
    }
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "cond", IR_DT_BOOL, 0, NULL);
    Onnx__NodeProto *n = mb_node(&m, "If", "if0", "cond", "y");
    Onnx__AttributeProto *a =
        mb_attr(&m, n, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    mb_unknown_len(&m, &a->base, 6, buf + pos, cap - pos);
    mb_output(&m, "y");
    free(buf);
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), 0);
    const struct ir_attr *ga = ir_node_attr(&g->nodes[0], "then_branch");
    assert_non_null(ga);
    assert_int_equal(ga->type, IR_ATTR_GRAPH);
    assert_null(ga->t);
    ir_graph_free(g);
    mb_free(&m);
}

/* --- inputs -------------------------------------------------------------- */

/* x: [N, 3, ?, ?] (a dim_param, a fixed dim, two unset dims) -> Relu -> y. */
static void symbolic_model(struct mb *m)
{
    static const int64_t dims[] = { -1, 3, -2, -2 };
    mb_init(m, 13);
    mb_input(m, "x", F32, 4, dims);
    mb_node(m, "Relu", "r", "x", "y");
    mb_output(m, "y");
}

static void test_symbolic_dims(void **state)
{
    (void)state;
    struct mb m;
    symbolic_model(&m);
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), 0);
    const struct ir_value *x = &g->values[g->inputs[0]];
    int64_t want1[] = { 1, 3, 1, 1 };
    assert_memory_equal(x->shape.dims, want1, sizeof(want1));
    ir_graph_free(g);

    struct ir_import_opts o = { .symbolic_dim = 4 };
    assert_int_equal(load_mb(&m, &o, &g), 0);
    x = &g->values[g->inputs[0]];
    int64_t want4[] = { 4, 3, 4, 4 };
    assert_memory_equal(x->shape.dims, want4, sizeof(want4));
    ir_graph_free(g);
    mb_free(&m);
}

static void test_input_binding(void **state)
{
    (void)state;
    struct mb m;
    symbolic_model(&m);
    struct ir_tensor t = { .dtype = F32, .ndim = 4, .dims = { 2, 3, 5, 7 } };
    struct ir_import_input b = { .name = "x", .tensor = &t };
    struct ir_import_opts o = { .inputs = &b, .ninputs = 1 };
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, &o, &g), 0);
    assert_int_equal(g->ninputs, 1);
    const struct ir_value *x = &g->values[g->inputs[0]];
    assert_true(x->flags & IR_VALUE_INPUT);
    int64_t want[] = { 2, 3, 5, 7 };
    assert_memory_equal(x->shape.dims, want, sizeof(want));
    ir_graph_free(g);

    /* A fixed dim that disagrees. */
    t.dims[1] = 4;
    assert_int_equal(load_mb(&m, &o, &g), INFERD_E_BAD_INPUT);
    assert_string_equal(err, "m.onnx: input 'x' has shape [1,3,1,1], but the tensor bound to it "
                             "has [2,4,5,7] (dim 1 differs)");
    /* Another rank. */
    t.dims[1] = 3;
    t.ndim = 3;
    assert_int_equal(load_mb(&m, &o, &g), INFERD_E_BAD_INPUT);
    assert_string_equal(err, "m.onnx: input 'x' has rank 4, but the tensor bound to it has rank 3");
    /* Another dtype. */
    t.ndim = 4;
    t.dtype = I64;
    assert_int_equal(load_mb(&m, &o, &g), INFERD_E_BAD_INPUT);
    assert_msg("input 'x' is float32, but the tensor bound to it is int64");
    /* A name the graph does not have. */
    t.dtype = F32;
    b.name = "nope";
    assert_int_equal(load_mb(&m, &o, &g), INFERD_E_BAD_INPUT);
    assert_string_equal(err, "m.onnx: there is no graph input named 'nope'");
    mb_free(&m);
}

static void test_input_freeze(void **state)
{
    (void)state;
    struct mb m;
    symbolic_model(&m);
    float data[6] = { 1, -2, 3, -4, 5, -6 };
    struct ir_tensor t = {
        .dtype = F32, .ndim = 4, .dims = { 1, 3, 2, 1 }, .data = data, .nbytes = sizeof(data)
    };
    struct ir_import_input b = { .name = "x", .tensor = &t, .freeze = true };
    struct ir_import_opts o = { .inputs = &b, .ninputs = 1 };
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, &o, &g), 0);
    assert_int_equal(g->ninputs, 0);
    const struct ir_value *x = &g->values[value_named(g, "x")];
    assert_true(x->flags & IR_VALUE_CONST);
    assert_false(x->flags & IR_VALUE_INPUT);
    assert_int_equal(x->nbytes, sizeof(data));
    assert_ptr_not_equal(x->data, data);
    assert_memory_equal(x->data, data, sizeof(data));
    assert_int_equal(x->shape.dims[2], 2);
    ir_graph_free(g);

    /* Data that does not fill the dims. */
    t.nbytes = 8;
    assert_int_equal(load_mb(&m, &o, &g), INFERD_E_BAD_INPUT);
    assert_msg("the tensor frozen into input 'x' has 8 bytes of data, its dims need 24");
    mb_free(&m);
}

/* x -> Relu -> y, x declared with the given dtype and rank (-1: no shape). */
static int load_relu_input(int dtype, int ndim, const struct ir_import_opts *o, struct ir_graph **g)
{
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", dtype, ndim, x_dims);
    mb_node(&m, "Relu", "r", "x", "y");
    mb_output(&m, "y");
    int rc = load_mb(&m, o, g);
    mb_free(&m);
    return rc;
}

static void test_input_types(void **state)
{
    (void)state;
    struct ir_graph *g;
    assert_int_equal(load_relu_input(-1, 4, NULL, &g), INFERD_E_BAD_MODEL);
    assert_string_equal(err, "m.onnx: graph input 'x' has no data type");
    assert_int_equal(load_relu_input(IR_DT_STRING, 4, NULL, &g), INFERD_E_UNSUPPORTED);
    assert_string_equal(err, "m.onnx: graph input 'x' has data type string, which is not "
                             "supported");
    assert_int_equal(load_relu_input(F32, -1, NULL, &g), INFERD_E_UNSUPPORTED);
    assert_string_equal(err, "m.onnx: graph input 'x' has no shape (bind a tensor to it to give "
                             "one)");
    /* A binding gives the unknown rank, and the type when the model has none. */
    struct ir_tensor t = { .dtype = F32, .ndim = 2, .dims = { 5, 6 } };
    struct ir_import_input b = { .name = "x", .tensor = &t };
    struct ir_import_opts o = { .inputs = &b, .ninputs = 1 };
    assert_int_equal(load_relu_input(F32, -1, &o, &g), 0);
    const struct ir_value *x = &g->values[g->inputs[0]];
    assert_int_equal(x->shape.ndim, 2);
    assert_int_equal(x->shape.dims[1], 6);
    ir_graph_free(g);
    assert_int_equal(load_relu_input(-1, 4, &o, &g), 0);
    x = &g->values[g->inputs[0]];
    assert_int_equal(x->dtype, F32);
    assert_int_equal(x->shape.ndim, 2);
    ir_graph_free(g);
}

/* Old exporters list every initializer as a graph input too. */
static void test_initializer_inputs(void **state)
{
    (void)state;
    struct mb m;
    float w[108], b[4];
    conv_relu_model(&m, w, b);
    mb_input(&m, "W", F32, 4, w_dims);
    mb_input(&m, "B", F32, 1, b_dims);
    static const int64_t one[] = { 1 };
    float unused = 7.0f;
    mb_init_raw(&m, "unused", F32, 1, one, &unused, sizeof(unused));
    mb_input(&m, "unused", F32, 1, one);
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), 0);
    assert_int_equal(g->ninputs, 1);
    assert_string_equal(g->values[g->inputs[0]].name, "x");
    const struct ir_value *W = &g->values[value_named(g, "W")];
    assert_true(W->flags & IR_VALUE_CONST);
    assert_false(W->flags & IR_VALUE_INPUT);
    assert_memory_equal(W->data, w, sizeof(w));
    /* Nothing reads it: not loaded, and not a runtime input either. */
    assert_int_equal(ir_graph_value_find(g, "unused"), -1);
    ir_graph_free(g);
    mb_free(&m);
}

/* A graph without nodes: its output is its input. */
static void test_no_nodes(void **state)
{
    (void)state;
    struct mb m;
    mb_init(&m, 17);
    mb_input(&m, "x", F32, 4, x_dims);
    mb_output(&m, "x");
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), 0);
    assert_int_equal(g->nnodes, 0);
    assert_int_equal(g->ninputs, 1);
    assert_int_equal(g->noutputs, 1);
    assert_int_equal(g->inputs[0], g->outputs[0]);
    assert_int_equal(g->values[g->inputs[0]].flags, IR_VALUE_INPUT | IR_VALUE_OUTPUT);
    ir_graph_free(g);
    mb_free(&m);
}

/* --- malformed models: one test per case ---------------------------------- */

static void test_bad_empty(void **state)
{
    (void)state;
    struct ir_graph *g = (struct ir_graph *)1;
    assert_int_equal(ir_onnx_load_memory("", 0, "m.onnx", NULL, NULL, &g, err, sizeof(err)),
                     INFERD_E_BAD_MODEL);
    assert_null(g);
    assert_string_equal(err, "m.onnx: not a valid ONNX model (empty file)");
}

static void test_bad_truncated(void **state)
{
    (void)state;
    struct mb m;
    float w[108], b[4];
    conv_relu_model(&m, w, b);
    size_t len;
    uint8_t *buf = mb_pack(&m, &len);
    struct ir_graph *g;
    /* Every proper prefix fails cleanly (ASan watches the reads). */
    for (size_t n = 1; n < len; n++) {
        uint8_t *cut = malloc(n);
        assert_non_null(cut);
        memcpy(cut, buf, n);
        int rc = ir_onnx_load_memory(cut, n, "m.onnx", NULL, NULL, &g, err, sizeof(err));
        free(cut);
        if (rc == 0) fail_msg("prefix of %zu of %zu bytes loaded", n, len);
        assert_null(g);
        assert_true(strncmp(err, "m.onnx: ", 8) == 0);
    }
    assert_int_equal(ir_onnx_load_memory(buf, len / 2, "m.onnx", NULL, NULL, &g, err, sizeof(err)),
                     INFERD_E_BAD_MODEL);
    assert_msg("m.onnx: not a valid ONNX model (");
    free(buf);
    mb_free(&m);
}

static void test_bad_random_bytes(void **state)
{
    (void)state;
    uint8_t buf[4096];
    uint32_t s = 12345;
    struct ir_graph *g;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            s = s * 1103515245u + 12345u;
            buf[i] = (uint8_t)(s >> 16);
        }
        int rc = ir_onnx_load_memory(buf, sizeof(buf), "m.onnx", NULL, NULL, &g, err, sizeof(err));
        assert_int_equal(rc, INFERD_E_BAD_MODEL);
        assert_null(g);
        assert_msg("m.onnx: not a valid ONNX model (");
    }
}

static void test_bad_huge_length(void **state)
{
    (void)state;
    /* ModelProto.graph declaring 2^62 bytes, followed by 3. */
    static const uint8_t buf[] = { 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x40, 1,    2,    3 };
    struct ir_graph *g;
    assert_int_equal(
        ir_onnx_load_memory(buf, sizeof(buf), "m.onnx", NULL, NULL, &g, err, sizeof(err)),
        INFERD_E_BAD_MODEL);
    assert_string_equal(err, "m.onnx: not a valid ONNX model (a length runs past the end of its "
                             "message at byte 0)");
}

static void test_bad_cycle(void **state)
{
    (void)state;
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", F32, 4, x_dims);
    mb_node(&m, "Add", "p", "x,b", "a");
    mb_node(&m, "Relu", "q", "a", "b");
    mb_output(&m, "b");
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), INFERD_E_BAD_MODEL);
    assert_string_equal(err, "m.onnx: node 'p' (Add): the graph has a cycle through this node");
    mb_free(&m);
}

static void test_bad_dangling_input(void **state)
{
    (void)state;
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", F32, 4, x_dims);
    mb_node(&m, "Add", "add_1", "x,ghost", "y");
    mb_output(&m, "y");
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), INFERD_E_BAD_MODEL);
    assert_string_equal(err, "m.onnx: node 'add_1' (Add): input 'ghost' is not produced by any "
                             "node, initializer or graph input");
    mb_free(&m);
}

static void test_bad_output_unproduced(void **state)
{
    (void)state;
    struct mb m;
    symbolic_model(&m);
    mb_output(&m, "nowhere");
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), INFERD_E_BAD_MODEL);
    assert_string_equal(err, "m.onnx: graph output 'nowhere' is not produced by any node, "
                             "initializer or graph input");
    mb_free(&m);
}

static void test_bad_opset(void **state)
{
    (void)state;
    struct mb m;
    symbolic_model(&m);
    m.opset.version = 0;
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), INFERD_E_UNSUPPORTED);
    assert_string_equal(err, "m.onnx: opset 0 is not supported (inferd supports 1 to 17)");
    m.opset.version = 18;
    assert_int_equal(load_mb(&m, NULL, &g), INFERD_E_UNSUPPORTED);
    assert_string_equal(err, "m.onnx: opset 18 is not supported (inferd supports 1 to 17)");
    /* "ai.onnx" is the default domain too. */
    m.opset.version = 7;
    m.opset.domain = "ai.onnx";
    assert_int_equal(load_mb(&m, NULL, &g), 0);
    assert_int_equal(g->opset, 7);
    ir_graph_free(g);
    mb_free(&m);
}

static void test_bad_domain(void **state)
{
    (void)state;
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", F32, 4, x_dims);
    Onnx__NodeProto *n = mb_node(&m, "FusedConv", "fused", "x", "y");
    n->domain = "com.microsoft";
    mb_output(&m, "y");
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), INFERD_E_UNSUPPORTED);
    assert_string_equal(err, "m.onnx: node 'fused' (FusedConv): domain 'com.microsoft' is not "
                             "supported (only the default ONNX domain is)");
    mb_free(&m);
}

/* Relu(x + w) with initializer w of the given dims and raw bytes. */
static int load_with_weight(const int64_t *dims, int ndim, const void *raw, size_t rawlen,
                            const struct ir_import_opts *o)
{
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", F32, 4, x_dims);
    mb_node(&m, "Add", "add", "x,w", "y");
    mb_init_raw(&m, "w", F32, ndim, dims, raw, rawlen);
    mb_output(&m, "y");
    struct ir_graph *g;
    int rc = load_mb(&m, o, &g);
    ir_graph_free(g);
    mb_free(&m);
    return rc;
}

static void test_bad_negative_dims(void **state)
{
    (void)state;
    static const int64_t dims[] = { 2, -3 };
    assert_int_equal(load_with_weight(dims, 2, "", 0, NULL), INFERD_E_BAD_MODEL);
    assert_string_equal(err, "m.onnx: initializer 'w' has a negative dim in [2,-3]");
}

static void test_bad_dims_overflow(void **state)
{
    (void)state;
    static const int64_t dims[] = { INT64_C(1) << 40, INT64_C(1) << 40 };
    assert_int_equal(load_with_weight(dims, 2, "", 0, NULL), INFERD_E_BAD_MODEL);
    assert_string_equal(err, "m.onnx: initializer 'w' dims [1099511627776,1099511627776] "
                             "overflow (their product does not fit in 64 bits)");
}

static void test_bad_element_limit(void **state)
{
    (void)state;
    static const int64_t dims[] = { 21, 10 };
    struct ir_import_opts o = { .limits.max_elements = 200 };
    float data[210] = { 0 };
    assert_int_equal(load_with_weight(dims, 2, data, sizeof(data), &o), INFERD_E_TOO_LARGE);
    assert_string_equal(err, "m.onnx: initializer 'w' dims [21,10] have 210 elements, which "
                             "exceeds the limit of 200");
    /* Exactly at the limit is fine. */
    static const int64_t ok[] = { 20, 10 };
    assert_int_equal(load_with_weight(ok, 2, data, 800, &o), 0);
    /* Graph inputs have the same limit. */
    o.limits.max_elements = 100;
    static const int64_t one[] = { 1 };
    assert_int_equal(load_with_weight(one, 1, data, 4, &o), INFERD_E_TOO_LARGE);
    assert_string_equal(err, "m.onnx: graph input 'x' dims [1,3,8,8] have 192 elements, which "
                             "exceeds the limit of 100");
}

static void test_bad_raw_data_length(void **state)
{
    (void)state;
    static const int64_t dims[] = { 64, 3, 7, 7 };
    uint8_t raw[100] = { 0 };
    assert_int_equal(load_with_weight(dims, 4, raw, sizeof(raw), NULL), INFERD_E_BAD_MODEL);
    assert_string_equal(
        err, "m.onnx: initializer 'w' raw_data has 100 bytes, dims [64,3,7,7] need 37632");
}

static void test_bad_string_initializer(void **state)
{
    (void)state;
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", F32, 4, x_dims);
    mb_node(&m, "Add", "add", "x,w", "y");
    static const int64_t one[] = { 1 };
    mb_init_raw(&m, "w", IR_DT_STRING, 1, one, NULL, 0);
    mb_output(&m, "y");
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), INFERD_E_UNSUPPORTED);
    assert_string_equal(err, "m.onnx: initializer 'w' has data type string, which is not "
                             "supported");
    mb_free(&m);
}

/* --- external data --------------------------------------------------------- */

static char tmpdir[64];

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int setup_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/inferd-onnx-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/model", tmpdir);
    return mkdir(sub, 0700);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown_tmpdir(void **state)
{
    (void)state;
    return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes model.onnx into tmpdir/model with initializer w external at
 * location/offset/length, and loads it from the file. */
static int load_external(const char *location, const char *offset, const char *length,
                         struct ir_graph **g)
{
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", F32, 4, x_dims);
    mb_node(&m, "Add", "add", "x,w", "y");
    static const int64_t dims[] = { 2, 3 };
    Onnx__TensorProto *t = mb_init_raw(&m, "w", F32, 2, dims, NULL, 0);
    mb_external(&m, t, location, offset, length);
    mb_output(&m, "y");
    size_t len;
    uint8_t *buf = mb_pack(&m, &len);
    char dir[128], path[160];
    snprintf(dir, sizeof(dir), "%s/model", tmpdir);
    write_file(dir, "model.onnx", buf, len);
    free(buf);
    mb_free(&m);
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    err[0] = 0;
    return ir_onnx_load(path, NULL, g, err, sizeof(err));
}

static void test_external_good(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/model", tmpdir);
    float data[10];
    for (int i = 0; i < 10; i++) data[i] = (float)i * 1.5f;
    write_file(dir, "w.bin", data, sizeof(data));
    struct ir_graph *g;
    /* 6 floats starting at the third. */
    assert_int_equal(load_external("w.bin", "8", "24", &g), 0);
    const struct ir_value *w = &g->values[value_named(g, "w")];
    assert_true(w->flags & IR_VALUE_CONST);
    assert_int_equal(w->nbytes, 24);
    assert_memory_equal(w->data, data + 2, 24);
    ir_graph_free(g);
    /* offset and length are optional; "./" is still inside. */
    assert_int_equal(load_external("./w.bin", NULL, NULL, &g), 0);
    w = &g->values[value_named(g, "w")];
    assert_memory_equal(w->data, data, 24);
    ir_graph_free(g);
}

static void test_external_parent_escape(void **state)
{
    (void)state;
    struct ir_graph *g;
    assert_int_equal(load_external("../../etc/passwd", NULL, NULL, &g), INFERD_E_BAD_MODEL);
    assert_null(g);
    assert_msg("/model/model.onnx: initializer 'w' external data location '../../etc/passwd' "
               "leaves the model's folder");
}

static void test_external_absolute(void **state)
{
    (void)state;
    struct ir_graph *g;
    assert_int_equal(load_external("/etc/passwd", NULL, NULL, &g), INFERD_E_BAD_MODEL);
    assert_msg("initializer 'w' external data location '/etc/passwd' is an absolute path (it "
               "must be relative to the model's folder)");
}

static void test_external_symlink_escape(void **state)
{
    (void)state;
    char link[160], target[160];
    snprintf(target, sizeof(target), "%s/outside.bin", tmpdir);
    snprintf(link, sizeof(link), "%s/model/link.bin", tmpdir);
    float data[6] = { 0 };
    write_file(tmpdir, "outside.bin", data, sizeof(data));
    assert_int_equal(symlink(target, link), 0);
    struct ir_graph *g;
    assert_int_equal(load_external("link.bin", NULL, NULL, &g), INFERD_E_BAD_MODEL);
    assert_msg("initializer 'w' external data location 'link.bin' leaves the model's folder");
}

static void test_external_past_end(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/model", tmpdir);
    float data[8] = { 0 };
    write_file(dir, "short.bin", data, sizeof(data));
    struct ir_graph *g;
    assert_int_equal(load_external("short.bin", "16", "24", &g), INFERD_E_BAD_MODEL);
    assert_msg("initializer 'w' external data file 'short.bin' has 32 bytes; offset 16 + length "
               "24 goes past its end");
    /* A length that disagrees with the dims. */
    assert_int_equal(load_external("short.bin", "0", "20", &g), INFERD_E_BAD_MODEL);
    assert_msg("external data length 20 does not match its dims, which need 24 bytes");
    /* A file that is not there. */
    assert_int_equal(load_external("missing.bin", NULL, NULL, &g), INFERD_E_BAD_MODEL);
    assert_msg("external data file 'missing.bin' cannot be opened");
}

static void test_external_from_memory_refused(void **state)
{
    (void)state;
    struct mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", F32, 4, x_dims);
    mb_node(&m, "Add", "add", "x,w", "y");
    static const int64_t dims[] = { 2, 3 };
    mb_external(&m, mb_init_raw(&m, "w", F32, 2, dims, NULL, 0), "w.bin", NULL, NULL);
    mb_output(&m, "y");
    struct ir_graph *g;
    assert_int_equal(load_mb(&m, NULL, &g), INFERD_E_BAD_MODEL);
    assert_msg("initializer 'w' uses external data, which is only allowed for a model file");
    mb_free(&m);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    struct ir_graph *g;
    assert_int_equal(ir_onnx_load("/nonexistent/m.onnx", NULL, &g, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "/nonexistent/m.onnx: cannot open: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_relu),
        cmocka_unit_test(test_constant_and_attributes),
        cmocka_unit_test(test_graph_attribute_deep),
        cmocka_unit_test(test_symbolic_dims),
        cmocka_unit_test(test_input_binding),
        cmocka_unit_test(test_input_freeze),
        cmocka_unit_test(test_input_types),
        cmocka_unit_test(test_initializer_inputs),
        cmocka_unit_test(test_no_nodes),
        cmocka_unit_test(test_bad_empty),
        cmocka_unit_test(test_bad_truncated),
        cmocka_unit_test(test_bad_random_bytes),
        cmocka_unit_test(test_bad_huge_length),
        cmocka_unit_test(test_bad_cycle),
        cmocka_unit_test(test_bad_dangling_input),
        cmocka_unit_test(test_bad_output_unproduced),
        cmocka_unit_test(test_bad_opset),
        cmocka_unit_test(test_bad_domain),
        cmocka_unit_test(test_bad_negative_dims),
        cmocka_unit_test(test_bad_dims_overflow),
        cmocka_unit_test(test_bad_element_limit),
        cmocka_unit_test(test_bad_raw_data_length),
        cmocka_unit_test(test_bad_string_initializer),
        cmocka_unit_test(test_external_good),
        cmocka_unit_test(test_external_parent_escape),
        cmocka_unit_test(test_external_absolute),
        cmocka_unit_test(test_external_symlink_escape),
        cmocka_unit_test(test_external_past_end),
        cmocka_unit_test(test_external_from_memory_refused),
        cmocka_unit_test(test_load_missing_file),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
