/* Tensor files: TensorProto and .npy round trips and malformed files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "inferd_error.h"
#include "ir.h"
#include "onnx-subset.pb-c.h"
#include "tensor_io.h"

static char tmpdir[64];
static char err[512];

static const char *tmp_path(const char *name)
{
    static char path[160];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

static void write_bytes(const char *name, const void *data, size_t len)
{
    FILE *f = fopen(tmp_path(name), "wb");
    assert_non_null(f);
    if (len) assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void assert_msg(const char *want)
{
    if (!strstr(err, want)) fail_msg("message '%s' lacks '%s'", err, want);
}

/* Reads name, expecting failure with code and a message containing want. */
static void read_fails(const char *name, int code, const char *want)
{
    struct ir_tensor t;
    char *tn = (char *)1;
    err[0] = 0;
    assert_int_equal(ir_tensor_file_read(tmp_path(name), &t, &tn, err, sizeof(err)), code);
    assert_null(t.data);
    assert_null(tn);
    assert_true(strncmp(err, tmp_path(name), strlen(tmp_path(name))) == 0);
    assert_msg(want);
}

/* --- TensorProto ---------------------------------------------------------- */

static void test_pb_round_trip(void **state)
{
    (void)state;
    float data[6] = { 1.5f, -2.0f, 0.0f, 3.25f, 1e-7f, -1e9f };
    struct ir_tensor t = {
        .dtype = IR_DT_F32, .ndim = 2, .dims = { 2, 3 }, .data = data, .nbytes = sizeof(data)
    };
    assert_int_equal(ir_tensor_pb_write(tmp_path("a.pb"), &t, "input_0", err, sizeof(err)), 0);
    struct ir_tensor r;
    char *name = NULL;
    assert_int_equal(ir_tensor_file_read(tmp_path("a.pb"), &r, &name, err, sizeof(err)), 0);
    assert_int_equal(r.dtype, IR_DT_F32);
    assert_int_equal(r.ndim, 2);
    assert_int_equal(r.dims[0], 2);
    assert_int_equal(r.dims[1], 3);
    assert_int_equal(r.nbytes, sizeof(data));
    assert_memory_equal(r.data, data, sizeof(data));
    assert_int_equal((uintptr_t)r.data % 64, 0);
    assert_string_equal(name, "input_0");
    free(name);
    ir_free(r.data);

    /* int64, no name, and a NULL name pointer. */
    int64_t iv[4] = { INT64_MIN, -1, 0, INT64_MAX };
    struct ir_tensor ti = {
        .dtype = IR_DT_I64, .ndim = 1, .dims = { 4 }, .data = iv, .nbytes = sizeof(iv)
    };
    assert_int_equal(ir_tensor_pb_write(tmp_path("b.pb"), &ti, NULL, err, sizeof(err)), 0);
    name = (char *)1;
    assert_int_equal(ir_tensor_file_read(tmp_path("b.pb"), &r, &name, err, sizeof(err)), 0);
    assert_null(name);
    assert_int_equal(r.dtype, IR_DT_I64);
    assert_memory_equal(r.data, iv, sizeof(iv));
    ir_free(r.data);
    assert_int_equal(ir_tensor_file_read(tmp_path("b.pb"), &r, NULL, err, sizeof(err)), 0);
    ir_free(r.data);

    /* A scalar and an empty tensor. */
    float s = 42.0f;
    struct ir_tensor ts = { .dtype = IR_DT_F32, .ndim = 0, .data = &s, .nbytes = 4 };
    assert_int_equal(ir_tensor_pb_write(tmp_path("s.pb"), &ts, "s", err, sizeof(err)), 0);
    assert_int_equal(ir_tensor_file_read(tmp_path("s.pb"), &r, NULL, err, sizeof(err)), 0);
    assert_int_equal(r.ndim, 0);
    assert_int_equal(r.nbytes, 4);
    assert_true(*(float *)r.data == 42.0f);
    ir_free(r.data);
    struct ir_tensor te = { .dtype = IR_DT_F32, .ndim = 2, .dims = { 0, 3 } };
    assert_int_equal(ir_tensor_pb_write(tmp_path("e.pb"), &te, "e", err, sizeof(err)), 0);
    assert_int_equal(ir_tensor_file_read(tmp_path("e.pb"), &r, NULL, err, sizeof(err)), 0);
    assert_int_equal(r.nbytes, 0);
    assert_int_equal(r.dims[0], 0);
    assert_non_null(r.data);
    ir_free(r.data);
}

/* Packs tp into a file. */
static void write_tp(const char *name, const Onnx__TensorProto *tp)
{
    size_t len = onnx__tensor_proto__get_packed_size(tp);
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    assert_int_equal(onnx__tensor_proto__pack(tp, buf), len);
    write_bytes(name, buf, len);
    free(buf);
}

/* What the ONNX test data often holds: typed fields instead of raw_data. */
static void test_pb_typed_fields(void **state)
{
    (void)state;
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[2] = { 2, 2 };
    float fv[4] = { 1, 2, 3, 4 };
    tp.n_dims = 2;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = IR_DT_F32;
    tp.n_float_data = 4;
    tp.float_data = fv;
    tp.name = "x";
    write_tp("typed.pb", &tp);
    struct ir_tensor r;
    assert_int_equal(ir_tensor_file_read(tmp_path("typed.pb"), &r, NULL, err, sizeof(err)), 0);
    assert_memory_equal(r.data, fv, sizeof(fv));
    ir_free(r.data);

    /* bool through int32_data. */
    int32_t bv[4] = { 0, 1, 5, 0 };
    tp.data_type = IR_DT_BOOL;
    tp.n_float_data = 0;
    tp.float_data = NULL;
    tp.n_int32_data = 4;
    tp.int32_data = bv;
    write_tp("bool.pb", &tp);
    assert_int_equal(ir_tensor_file_read(tmp_path("bool.pb"), &r, NULL, err, sizeof(err)), 0);
    uint8_t want[4] = { 0, 1, 1, 0 };
    assert_int_equal(r.nbytes, 4);
    assert_memory_equal(r.data, want, 4);
    ir_free(r.data);

    /* Too few values for the dims. */
    tp.n_int32_data = 3;
    write_tp("few.pb", &tp);
    read_fails("few.pb", INFERD_E_BAD_INPUT,
               "tensor 'x' has 3 int32_data values, dims [2,2] need 4");
}

static void test_pb_malformed(void **state)
{
    (void)state;
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[2] = { 2, 3 };
    uint8_t raw[20] = { 0 };
    tp.n_dims = 2;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = IR_DT_F32;
    tp.has_raw_data = 1;
    tp.raw_data.len = sizeof(raw);
    tp.raw_data.data = raw;
    write_tp("short.pb", &tp);
    read_fails("short.pb", INFERD_E_BAD_INPUT,
               ": tensor raw_data has 20 bytes, dims [2,3] need 24");

    dims[1] = -3;
    write_tp("neg.pb", &tp);
    read_fails("neg.pb", INFERD_E_BAD_INPUT, "tensor has a negative dim in [2,-3]");

    dims[0] = INT64_C(1) << 20;
    dims[1] = INT64_C(1) << 20;
    write_tp("big.pb", &tp);
    read_fails("big.pb", INFERD_E_TOO_LARGE, "exceeds the limit of 268435456");

    dims[0] = 2;
    dims[1] = 3;
    tp.data_type = 8; /* string */
    write_tp("str.pb", &tp);
    read_fails("str.pb", INFERD_E_UNSUPPORTED,
               "tensor has data type string, which is not supported");

    /* External data has no model folder to stay inside. */
    tp.data_type = IR_DT_F32;
    tp.has_raw_data = 0;
    tp.has_data_location = 1;
    tp.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    write_tp("ext.pb", &tp);
    read_fails("ext.pb", INFERD_E_BAD_INPUT, "uses external data");

    /* Bytes that are neither format; every prefix of a good file. */
    static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    write_bytes("junk.pb", junk, sizeof(junk));
    read_fails("junk.pb", INFERD_E_BAD_INPUT,
               "not a valid tensor file (neither .npy nor an ONNX TensorProto)");
    float data[6] = { 1, 2, 3, 4, 5, 6 };
    struct ir_tensor t = {
        .dtype = IR_DT_F32, .ndim = 2, .dims = { 2, 3 }, .data = data, .nbytes = sizeof(data)
    };
    assert_int_equal(ir_tensor_pb_write(tmp_path("good.pb"), &t, "name", err, sizeof(err)), 0);
    FILE *f = fopen(tmp_path("good.pb"), "rb");
    assert_non_null(f);
    uint8_t buf[256];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    for (size_t n = 1; n < len; n++) {
        write_bytes("cut.pb", buf, n);
        struct ir_tensor r;
        int rc = ir_tensor_file_read(tmp_path("cut.pb"), &r, NULL, err, sizeof(err));
        if (rc == 0) fail_msg("a prefix of %zu of %zu bytes was read", n, len);
    }

    write_bytes("empty.pb", "", 0);
    read_fails("empty.pb", INFERD_E_BAD_INPUT, "empty tensor file");
    struct ir_tensor r;
    assert_int_equal(ir_tensor_file_read(tmp_path("none.pb"), &r, NULL, err, sizeof(err)), -ENOENT);
    assert_msg("none.pb: cannot open: No such file or directory");
}

static void test_pb_write_checks(void **state)
{
    (void)state;
    float data[6] = { 0 };
    struct ir_tensor t = {
        .dtype = IR_DT_F32, .ndim = 2, .dims = { 2, 3 }, .data = data, .nbytes = 20
    };
    assert_int_equal(ir_tensor_pb_write(tmp_path("w.pb"), &t, NULL, err, sizeof(err)), -EINVAL);
    assert_msg("tensor dims [2,3] do not match its 20 bytes of data");
    t.nbytes = 24;
    t.dtype = IR_DT_STRING;
    assert_int_equal(ir_tensor_pb_write(tmp_path("w.pb"), &t, NULL, err, sizeof(err)),
                     INFERD_E_UNSUPPORTED);
    t.dtype = IR_DT_F32;
    assert_int_equal(ir_tensor_pb_write("/nonexistent/w.pb", &t, NULL, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "/nonexistent/w.pb: cannot create: No such file or directory");
}

/* --- .npy ----------------------------------------------------------------- */

/* A .npy file of the given version with header dict text and data. */
static void write_npy(const char *name, int version, const char *dict, const void *data, size_t len)
{
    char hdr[512];
    size_t pre = version == 1 ? 10 : 12;
    size_t dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64; /* padded to 64, ending in '\n' */
    size_t hlen = total - pre;
    memcpy(hdr, "\x93NUMPY", 6);
    hdr[6] = (char)version;
    hdr[7] = 0;
    if (version == 1) {
        hdr[8] = (char)(hlen & 0xff);
        hdr[9] = (char)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++) hdr[8 + i] = (char)((hlen >> (8 * i)) & 0xff);
    }
    memcpy(hdr + pre, dict, dl);
    memset(hdr + pre + dl, ' ', hlen - dl - 1);
    hdr[total - 1] = '\n';
    uint8_t *buf = malloc(total + len + 1);
    assert_non_null(buf);
    memcpy(buf, hdr, total);
    if (len) memcpy(buf + total, data, len);
    write_bytes(name, buf, total + len);
    free(buf);
}

static void test_npy_read(void **state)
{
    (void)state;
    float f[6] = { 1, 2, 3, 4, 5, 6.5f };
    write_npy("f.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f,
              sizeof(f));
    struct ir_tensor r;
    char *name = (char *)1;
    assert_int_equal(ir_tensor_file_read(tmp_path("f.npy"), &r, &name, err, sizeof(err)), 0);
    assert_null(name);
    assert_int_equal(r.dtype, IR_DT_F32);
    assert_int_equal(r.ndim, 2);
    assert_int_equal(r.dims[0], 2);
    assert_int_equal(r.dims[1], 3);
    assert_memory_equal(r.data, f, sizeof(f));
    ir_free(r.data);

    int64_t i[3] = { -5, 0, 1LL << 40 };
    write_npy("i.npy", 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", i,
              sizeof(i));
    assert_int_equal(ir_tensor_file_read(tmp_path("i.npy"), &r, NULL, err, sizeof(err)), 0);
    assert_int_equal(r.dtype, IR_DT_I64);
    assert_int_equal(r.ndim, 1);
    assert_memory_equal(r.data, i, sizeof(i));
    ir_free(r.data);

    uint8_t b[2] = { 1, 0 };
    write_npy("b.npy", 3, "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 2), }", b, 2);
    assert_int_equal(ir_tensor_file_read(tmp_path("b.npy"), &r, NULL, err, sizeof(err)), 0);
    assert_int_equal(r.dtype, IR_DT_BOOL);
    assert_memory_equal(r.data, b, 2);
    ir_free(r.data);

    /* A scalar; other dtypes. */
    double d = 0.125;
    write_npy("d.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &d, 8);
    assert_int_equal(ir_tensor_file_read(tmp_path("d.npy"), &r, NULL, err, sizeof(err)), 0);
    assert_int_equal(r.dtype, IR_DT_F64);
    assert_int_equal(r.ndim, 0);
    assert_true(*(double *)r.data == 0.125);
    ir_free(r.data);
    static const struct {
        const char *descr;
        int dtype;
    } kinds[] = { { "<i4", IR_DT_I32 }, { "|i1", IR_DT_I8 }, { "|u1", IR_DT_U8 } };
    for (size_t k = 0; k < 3; k++) {
        char dict[128];
        snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (4,), }",
                 kinds[k].descr);
        uint8_t data[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        size_t n = 4 * ir_dtype_size(kinds[k].dtype);
        write_npy("k.npy", 1, dict, data, n);
        assert_int_equal(ir_tensor_file_read(tmp_path("k.npy"), &r, NULL, err, sizeof(err)), 0);
        assert_int_equal(r.dtype, kinds[k].dtype);
        assert_int_equal(r.nbytes, n);
        assert_memory_equal(r.data, data, n);
        ir_free(r.data);
    }
}

static void test_npy_malformed(void **state)
{
    (void)state;
    float f[6] = { 0 };
    write_bytes("tiny.npy", "\x93NUMPY\x01", 7);
    read_fails("tiny.npy", INFERD_E_BAD_INPUT, "not a valid .npy file (truncated header)");

    /* Header length past the end of the file. */
    uint8_t h[16] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff, '{' };
    write_bytes("hlen.npy", h, sizeof(h));
    read_fails("hlen.npy", INFERD_E_BAD_INPUT, "not a valid .npy file (header runs past the end)");
    h[6] = 9;
    write_bytes("ver.npy", h, sizeof(h));
    read_fails("ver.npy", INFERD_E_UNSUPPORTED, ".npy format version 9 is not supported");

    write_npy("c8.npy", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", f, 24);
    read_fails("c8.npy", INFERD_E_UNSUPPORTED, ".npy dtype '<c8' is not supported");
    write_npy("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", f, 24);
    read_fails("be.npy", INFERD_E_UNSUPPORTED, "big-endian .npy data ('>f4') is not supported");
    write_npy("fo.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f, 24);
    read_fails("fo.npy", INFERD_E_UNSUPPORTED, "Fortran-order arrays are not supported");
    write_npy("sz.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", f, 24);
    read_fails("sz.npy", INFERD_E_BAD_INPUT,
               "not a valid .npy file (24 bytes of data, shape [2,4] needs 32)");
    write_npy("ovf.npy", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", f,
              24);
    read_fails("ovf.npy", INFERD_E_BAD_INPUT, "element count overflows");
    write_npy("lim.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }",
              f, 24);
    read_fails("lim.npy", INFERD_E_TOO_LARGE, "exceeds the limit of 268435456");
    write_npy("nos.npy", 1, "{'descr': '<f4', 'fortran_order': False, }", f, 24);
    read_fails("nos.npy", INFERD_E_BAD_INPUT, "not a valid .npy file (no 'shape')");
    write_npy("bads.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", f, 24);
    read_fails("bads.npy", INFERD_E_BAD_INPUT, "not a valid .npy file (bad 'shape')");
    write_npy("nod.npy", 1, "{'fortran_order': False, 'shape': (6,), }", f, 24);
    read_fails("nod.npy", INFERD_E_BAD_INPUT, "not a valid .npy file (no 'descr')");
    write_npy("dims.npy", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", f, 4);
    read_fails("dims.npy", INFERD_E_UNSUPPORTED, "the array has more than 8 dims");
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/inferd-tio-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pb_round_trip), cmocka_unit_test(test_pb_typed_fields),
        cmocka_unit_test(test_pb_malformed),  cmocka_unit_test(test_pb_write_checks),
        cmocka_unit_test(test_npy_read),      cmocka_unit_test(test_npy_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
