/* Graph analysis: ordering, cycles, dangling inputs, unknown operators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_error.h"
#include "op_harness.h"

static const int64_t dims4[] = { 1, 2, 3, 4 };

static void test_sort_reorders(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = oh_input(g, "x", IR_DT_F32, 4, dims4);
    /* b = Foo(a) is listed before a = Bar(x). */
    int a = ir_graph_value_add(g, "a", IR_DT_UNDEFINED);
    int b = ir_graph_value_add(g, "b", IR_DT_UNDEFINED);
    int n0 = ir_graph_node_add(g, "second", "Foo", 1, 1);
    g->nodes[n0].in[0] = a;
    g->nodes[n0].out[0] = b;
    int n1 = ir_graph_node_add(g, "first", "Bar", 1, 1);
    g->nodes[n1].in[0] = x;
    g->nodes[n1].out[0] = a;
    char err[256];
    assert_int_equal(ir_graph_sort(g, err, sizeof(err)), 0);
    assert_string_equal(g->nodes[0].name, "first");
    assert_string_equal(g->nodes[1].name, "second");
    assert_int_equal(g->values[a].producer, 0);
    assert_int_equal(g->values[b].producer, 1);
    ir_graph_free(g);
}

static void test_sort_cycle(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int a = ir_graph_value_add(g, "a", IR_DT_F32);
    int b = ir_graph_value_add(g, "b", IR_DT_F32);
    int n0 = ir_graph_node_add(g, "p", "Relu", 1, 1);
    g->nodes[n0].in[0] = a;
    g->nodes[n0].out[0] = b;
    int n1 = ir_graph_node_add(g, "q", "Relu", 1, 1);
    g->nodes[n1].in[0] = b;
    g->nodes[n1].out[0] = a;
    char err[256];
    assert_int_equal(ir_graph_sort(g, err, sizeof(err)), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "cycle"));
    assert_non_null(strstr(err, "test.onnx: node '"));
    ir_graph_free(g);
}

static void test_sort_dangling_input(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int a = ir_graph_value_add(g, "ghost", IR_DT_F32);
    int b = ir_graph_value_add(g, "b", IR_DT_F32);
    int n0 = ir_graph_node_add(g, "relu_1", "Relu", 1, 1);
    g->nodes[n0].in[0] = a;
    g->nodes[n0].out[0] = b;
    char err[256];
    assert_int_equal(ir_graph_sort(g, err, sizeof(err)), INFERD_E_BAD_MODEL);
    assert_string_equal(err, "test.onnx: node 'relu_1' (Relu): input 'ghost' is not produced by "
                             "any node, initializer or graph input");
    ir_graph_free(g);
}

static void test_sort_two_producers(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = oh_input(g, "x", IR_DT_F32, 4, dims4);
    int y = ir_graph_value_add(g, "y", IR_DT_F32);
    for (int i = 0; i < 2; i++) {
        int n = ir_graph_node_add(g, i ? "b" : "a", "Relu", 1, 1);
        g->nodes[n].in[0] = x;
        g->nodes[n].out[0] = y;
    }
    char err[256];
    assert_int_equal(ir_graph_sort(g, err, sizeof(err)), INFERD_E_BAD_MODEL);
    assert_non_null(strstr(err, "already produced"));
    ir_graph_free(g);
}

static void test_unknown_op(void **state)
{
    (void)state;
    struct ir_graph *g = oh_graph(13);
    int x = oh_input(g, "x", IR_DT_F32, 4, dims4);
    oh_node(g, "NoSuchOp", 1, &x, 1);
    char err[256];
    assert_int_equal(oh_infer(g, err, sizeof(err)), INFERD_E_UNSUPPORTED);
    assert_string_equal(err, "test.onnx: node 'NoSuchOp_0' (NoSuchOp): unknown operator "
                             "'NoSuchOp'");
    ir_graph_free(g);
}

static void test_shape_numel(void **state)
{
    (void)state;
    struct ir_shape s = { .ndim = 3, .dims = { 2, 3, 4 } };
    assert_int_equal(ir_shape_numel(&s), 24);
    s.dims[1] = -1;
    assert_int_equal(ir_shape_numel(&s), -1);
    struct ir_shape big = { .ndim = 3, .dims = { INT64_C(1) << 40, INT64_C(1) << 30, 16 } };
    assert_int_equal(ir_shape_numel(&big), -1);
    struct ir_shape scalar = { .ndim = 0 };
    assert_int_equal(ir_shape_numel(&scalar), 1);
    char buf[64];
    assert_string_equal(
        ir_shape_str(&(struct ir_shape){ .ndim = 2, .dims = { 64, 3 } }, buf, sizeof(buf)),
        "[64,3]");
}

static void test_broadcast(void **state)
{
    (void)state;
    struct ir_shape a = { .ndim = 4, .dims = { 2, 3, 4, 5 } };
    struct ir_shape b = { .ndim = 2, .dims = { 4, 1 } };
    struct ir_shape r;
    assert_int_equal(ir_shape_broadcast(&a, &b, &r), 0);
    assert_true(ir_shape_equal(&r, &a));
    struct ir_shape c = { .ndim = 1, .dims = { 3 } };
    assert_int_equal(ir_shape_broadcast(&a, &c, &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_reorders),       cmocka_unit_test(test_sort_cycle),
        cmocka_unit_test(test_sort_dangling_input), cmocka_unit_test(test_sort_two_producers),
        cmocka_unit_test(test_unknown_op),          cmocka_unit_test(test_shape_numel),
        cmocka_unit_test(test_broadcast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
