/* Request meta: what decodes (and into which values), what encodes, and a
 * table of malformed metas each refused with its code and a message that
 * says where. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inferd_proto.h"

static int decode(const char *json, uint64_t data_len, struct inferd_request **r, char *err)
{
    return inferd_request_decode(json, strlen(json), data_len, r, err, 512);
}

static void test_decode_full(void **state)
{
    (void)state;
    const char *json =
        "{\"model\": \"mobilenet\",\n"
        " \"inputs\": [{\"name\": \"input\", \"datatype\": \"FP32\",\n"
        "   \"shape\": [1, 3, 224, 224], \"parameters\": {\"binary_data_size\": "
        "602112}},\n"
        "  {\"name\": \"scale\", \"datatype\": \"INT64\", \"shape\": [2]}],\n"
        " \"outputs\": [{\"name\": \"prob\", \"parameters\": {\"topk\": 5}},\n"
        "   {\"name\": \"feat\", \"parameters\": {\"tensor\": true, \"topk\": 0}}],\n"
        " \"parameters\": {\"timeout_ms\": 1000, \"topk\": 3}}\r\n";
    struct inferd_request *r;
    char err[512] = "";
    int rc = decode(json, 602112 + 16, &r, err);
    if (rc) fail_msg("%s", err);
    assert_string_equal(r->model, "mobilenet");
    assert_int_equal(r->ninputs, 2);
    assert_string_equal(r->inputs[0].name, "input");
    assert_int_equal(r->inputs[0].dtype, INFERD_DT_FP32);
    assert_int_equal(r->inputs[0].ndim, 4);
    assert_int_equal(r->inputs[0].dims[1], 3);
    assert_int_equal(r->inputs[0].dims[3], 224);
    assert_int_equal(r->inputs[0].nbytes, 602112);
    assert_int_equal(r->inputs[0].offset, 0);
    assert_int_equal(r->inputs[0].image, INFERD_IMAGE_NONE);
    /* binary_data_size may be left out where the shape gives it. */
    assert_int_equal(r->inputs[1].dtype, INFERD_DT_INT64);
    assert_int_equal(r->inputs[1].nbytes, 16);
    assert_int_equal(r->inputs[1].offset, 602112);
    assert_int_equal(r->noutputs, 2);
    assert_string_equal(r->outputs[0].name, "prob");
    assert_int_equal(r->outputs[0].topk, 5);
    assert_false(r->outputs[0].no_tensor);
    assert_int_equal(r->outputs[1].topk, INFERD_TOPK_NONE);
    assert_false(r->outputs[1].no_tensor);
    assert_int_equal(r->timeout_ms, 1000);
    assert_int_equal(r->topk, 3);
    inferd_request_free(r);
}

static void test_decode_minimal_defaults(void **state)
{
    (void)state;
    struct inferd_request *r;
    char err[512] = "";
    int rc = decode("{\"model\":\"m\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT8\","
                    "\"shape\":[]}]}",
                    1, &r, err);
    if (rc) fail_msg("%s", err);
    assert_int_equal(r->inputs[0].ndim, 0); /* a scalar: one element */
    assert_int_equal(r->inputs[0].nbytes, 1);
    assert_int_equal(r->noutputs, 0);
    assert_null(r->outputs);
    assert_int_equal(r->timeout_ms, 0);
    assert_int_equal(r->topk, 0);
    inferd_request_free(r);
}

static void test_decode_images(void **state)
{
    (void)state;
    struct inferd_request *r;
    char err[512] = "";
    int rc = decode("{\"model\":\"cam\",\"inputs\":["
                    "{\"name\":\"a\",\"datatype\":\"BYTES\",\"parameters\":{\"image\":\"jpeg\","
                    "\"binary_data_size\":1234}},"
                    "{\"name\":\"b\",\"datatype\":\"BYTES\",\"shape\":[1],\"parameters\":{"
                    "\"binary_data_size\":10,\"image\":\"jpeg\"}},"
                    "{\"name\":\"c\",\"datatype\":\"UINT8\",\"shape\":[480,640,3],"
                    "\"parameters\":{\"image\":\"rgb8\"}},"
                    "{\"name\":\"d\",\"datatype\":\"UINT8\",\"shape\":[2,3,3],"
                    "\"parameters\":{\"image\":\"bgr8\",\"binary_data_size\":18}}]}",
                    1234 + 10 + 921600 + 18, &r, err);
    if (rc) fail_msg("%s", err);
    assert_int_equal(r->ninputs, 4);
    assert_int_equal(r->inputs[0].image, INFERD_IMAGE_JPEG);
    assert_int_equal(r->inputs[0].dtype, INFERD_DT_BYTES);
    assert_int_equal(r->inputs[0].ndim, 1);
    assert_int_equal(r->inputs[0].dims[0], 1);
    assert_int_equal(r->inputs[0].nbytes, 1234);
    assert_int_equal(r->inputs[1].offset, 1234);
    assert_int_equal(r->inputs[2].image, INFERD_IMAGE_RGB8);
    assert_int_equal(r->inputs[2].height, 480);
    assert_int_equal(r->inputs[2].width, 640);
    assert_int_equal(r->inputs[2].nbytes, 921600);
    assert_int_equal(r->inputs[2].offset, 1244);
    assert_int_equal(r->inputs[3].image, INFERD_IMAGE_BGR8);
    assert_int_equal(r->inputs[3].height, 2);
    assert_int_equal(r->inputs[3].width, 3);
    assert_int_equal(r->inputs[3].offset, 1244 + 921600);
    inferd_request_free(r);
}

static void test_every_datatype_size(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint64_t size;
    } types[] = {
        { "BOOL", 1 },   { "UINT8", 1 }, { "UINT16", 2 }, { "UINT32", 4 },
        { "UINT64", 8 }, { "INT8", 1 },  { "INT16", 2 },  { "INT32", 4 },
        { "INT64", 8 },  { "FP16", 2 },  { "FP32", 4 },   { "FP64", 8 },
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        char json[256], err[512] = "";
        struct inferd_request *r;
        snprintf(json, sizeof(json),
                 "{\"model\":\"m\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"%s\","
                 "\"shape\":[2,3],\"parameters\":{\"binary_data_size\":%d}}]}",
                 types[i].name, (int)(6 * types[i].size));
        int rc = decode(json, 6 * types[i].size, &r, err);
        if (rc) fail_msg("%s: %s", types[i].name, err);
        assert_int_equal(r->inputs[0].nbytes, 6 * types[i].size);
        inferd_request_free(r);
        /* One byte off either way is refused. */
        assert_int_equal(decode(json, 6 * types[i].size + 1, &r, err), INFERD_E_BAD_FRAME);
        assert_null(r);
    }
}

/* ---- malformed ---------------------------------------------------------- */

#define IN(x) "{\"model\":\"m\",\"inputs\":[" x "]}"
#define T1    "{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2]}"

struct bad_case {
    const char *meta;
    uint64_t data_len;
    int code;
    const char *says; /* substring of the message */
};

static const struct bad_case bad_cases[] = {
    /* not a JSON object */
    { "", 0, INFERD_E_BAD_FRAME, "empty" },
    { "hello", 0, INFERD_E_BAD_FRAME, "not JSON" },
    { "{\"model\":\"m\"", 0, INFERD_E_BAD_FRAME, "not JSON" },
    { "{\"model\":\"m\",}", 0, INFERD_E_BAD_FRAME, "not JSON" },
    { "[1,2]", 0, INFERD_E_BAD_FRAME, "not a JSON object (got an array)" },
    { "\"model\"", 0, INFERD_E_BAD_FRAME, "not a JSON object (got a string)" },
    { "42", 0, INFERD_E_BAD_FRAME, "not a JSON object" },
    { "null", 0, INFERD_E_BAD_FRAME, "not a JSON object" },
    { "{} {}", 0, INFERD_E_BAD_FRAME, "after its JSON value" },
    { "{}x", 0, INFERD_E_BAD_FRAME, "after its JSON value" },
    { "{\"model\":\"m\xff\"}", 0, INFERD_E_BAD_FRAME, "not valid UTF-8" },
    { "{\"model\":\"\xc0\xaf\"}", 0, INFERD_E_BAD_FRAME, "not valid UTF-8" },     /* overlong */
    { "{\"model\":\"\xed\xa0\x80\"}", 0, INFERD_E_BAD_FRAME, "not valid UTF-8" }, /* surrogate */
    { "{\"model\":\"\xe2\x82\"}", 0, INFERD_E_BAD_FRAME, "not valid UTF-8" },     /* cut short */
    { "{\"model\":\"a\x01\"}", 0, INFERD_E_BAD_FRAME, "control byte 0x01" },
    { "{\"model\":\"mobilenet\\u0000x\"}", 0, INFERD_E_BAD_FRAME, "\\u0000" },
    { "{\"model\":\"\\ud800\"}", 0, INFERD_E_BAD_FRAME, "not JSON" },
    /* top level */
    { "{}", 0, INFERD_E_BAD_INPUT, "model: missing" },
    { "{\"model\":7}", 0, INFERD_E_BAD_INPUT, "model: expected a string, got a number" },
    { "{\"model\":\"\"}", 0, INFERD_E_BAD_INPUT, "model: empty string" },
    { "{\"model\":\"a\\nb\"}", 0, INFERD_E_BAD_INPUT, "model: holds control character 0x0a" },
    { "{\"model\":\"m\"}", 0, INFERD_E_BAD_INPUT, "inputs: missing" },
    { "{\"model\":\"m\",\"model\":\"n\",\"inputs\":[" T1 "]}", 8, INFERD_E_BAD_INPUT,
      "key 'model' given twice" },
    { "{\"model\":\"m\",\"id\":\"7\",\"inputs\":[" T1 "]}", 8, INFERD_E_BAD_INPUT,
      "meta: unknown key 'id' (known: model, inputs, outputs, parameters)" },
    { "{\"model\":\"m\",\"inputs\":{}}", 0, INFERD_E_BAD_INPUT, "inputs: expected an array" },
    { IN(""), 0, INFERD_E_BAD_INPUT, "inputs: empty" },
    { IN("7"), 0, INFERD_E_BAD_INPUT, "inputs[0]: expected an object, got a number" },
    { IN(T1 "," T1), 16, INFERD_E_BAD_INPUT, "inputs[1].name: 'x' already names inputs[0]" },
    { IN(T1 "," T1 "," T1 "," T1 "," T1 "," T1 "," T1 "," T1 "," T1 "," T1 "," T1 "," T1 "," T1
            "," T1 "," T1 "," T1 "," T1),
      0, INFERD_E_BAD_INPUT, "inputs: more than 16 elements" },
    /* tensor fields */
    { IN("{\"datatype\":\"FP32\",\"shape\":[1]}"), 4, INFERD_E_BAD_INPUT,
      "inputs[0].name: missing" },
    { IN("{\"name\":\"x\",\"shape\":[1]}"), 4, INFERD_E_BAD_INPUT, "inputs[0].datatype: missing" },
    { IN("{\"name\":\"x\",\"datatype\":\"FLOAT32\",\"shape\":[1]}"), 4, INFERD_E_BAD_INPUT,
      "unknown datatype 'FLOAT32' (known: BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, "
      "INT32, INT64, FP16, FP32, FP64, BYTES)" },
    { IN("{\"name\":\"x\",\"datatype\":\"fp32\",\"shape\":[1]}"), 4, INFERD_E_BAD_INPUT,
      "unknown datatype 'fp32'" },
    { IN("{\"name\":\"x\",\"datatype\":1,\"shape\":[1]}"), 4, INFERD_E_BAD_INPUT,
      "inputs[0].datatype: expected a string, got a number" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\"}"), 4, INFERD_E_BAD_INPUT,
      "inputs[0].shape: missing" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":\"1x3\"}"), 4, INFERD_E_BAD_INPUT,
      "inputs[0].shape: expected an array, got a string" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,-3]}"), 4, INFERD_E_BAD_INPUT,
      "inputs[0].shape[1]: -3 is negative" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1.5]}"), 4, INFERD_E_BAD_INPUT,
      "inputs[0].shape[0]: 1.5 is not an integer" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[\"3\"]}"), 4, INFERD_E_BAD_INPUT,
      "inputs[0].shape[0]: expected a number, got a string" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[null]}"), 4, INFERD_E_BAD_INPUT,
      "expected a number, got null" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1e400]}"), 4, INFERD_E_BAD_INPUT,
      "is over the limit of 2147483647" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2147483648]}"), 4, INFERD_E_BAD_INPUT,
      "inputs[0].shape[0]: 2147483648 is over the limit" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,1,1,1,1,1,1,1,1]}"), 4,
      INFERD_E_BAD_INPUT, "inputs[0].shape: more than 8 elements" },
    /* 2^31-1 per dim, 3 dims: 2^93 elements */
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2147483647,2147483647,2147483647]}"), 4,
      INFERD_E_BAD_INPUT, "overflows 64 bits" },
    /* 2^62 elements of 4 bytes: the product fits, the byte count does not */
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2147483648]}"), 4, INFERD_E_BAD_INPUT,
      "over the limit" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1073741824,1073741824,4]}"), 4,
      INFERD_E_BAD_INPUT, "overflows 64 bits" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3,224,224],\"parameters\":{"
         "\"binary_data_size\":1000}}"),
      1000, INFERD_E_BAD_INPUT,
      "inputs[0]: binary_data_size 1000 does not match shape [1,3,224,224] of FP32 (602112 "
      "bytes)" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2],\"parameters\":{"
         "\"binary_data_size\":-8}}"),
      8, INFERD_E_BAD_INPUT, "binary_data_size: -8 is negative" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2],\"parameters\":{"
         "\"binary_data_size\":\"8\"}}"),
      8, INFERD_E_BAD_INPUT, "binary_data_size: expected a number, got a string" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2],\"parameters\":[]}"), 8,
      INFERD_E_BAD_INPUT, "inputs[0].parameters: expected an object, got an array" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2],\"parameters\":{\"size\":8}}"), 8,
      INFERD_E_BAD_INPUT,
      "inputs[0].parameters: unknown key 'size' (known: binary_data_size, image)" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2],\"data\":[1,2]}"), 0,
      INFERD_E_BAD_INPUT, "inputs[0].data: JSON tensor data is not supported" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2],\"layout\":\"NCHW\"}"), 8,
      INFERD_E_BAD_INPUT, "inputs[0]: unknown key 'layout'" },
    { IN("{\"name\":\"x\",\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[2]}"), 8,
      INFERD_E_BAD_INPUT, "inputs[0]: key 'name' given twice" },
    /* images */
    { IN("{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[1],\"parameters\":{"
         "\"binary_data_size\":9}}"),
      9, INFERD_E_BAD_INPUT, "BYTES carries an encoded image only" },
    { IN("{\"name\":\"x\",\"datatype\":\"BYTES\",\"parameters\":{\"image\":\"png\","
         "\"binary_data_size\":9}}"),
      9, INFERD_E_BAD_INPUT, "unknown image format 'png' (known: jpeg, rgb8, bgr8)" },
    { IN("{\"name\":\"x\",\"datatype\":\"BYTES\",\"parameters\":{\"image\":true,"
         "\"binary_data_size\":9}}"),
      9, INFERD_E_BAD_INPUT, "parameters.image: expected a string" },
    { IN("{\"name\":\"x\",\"datatype\":\"BYTES\",\"parameters\":{\"image\":\"jpeg\"}}"), 9,
      INFERD_E_BAD_INPUT, "binary_data_size: missing" },
    { IN("{\"name\":\"x\",\"datatype\":\"BYTES\",\"parameters\":{\"image\":\"jpeg\","
         "\"binary_data_size\":0}}"),
      0, INFERD_E_BAD_INPUT, "0 bytes of jpeg" },
    { IN("{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[9],\"parameters\":{\"image\":"
         "\"jpeg\",\"binary_data_size\":9}}"),
      9, INFERD_E_BAD_INPUT, "image 'jpeg' needs datatype BYTES, got UINT8" },
    { IN("{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[2],\"parameters\":{\"image\":"
         "\"jpeg\",\"binary_data_size\":9}}"),
      9, INFERD_E_BAD_INPUT, "a jpeg input has shape [1], got [2]" },
    { IN("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2,2,3],\"parameters\":{\"image\":"
         "\"rgb8\"}}"),
      48, INFERD_E_BAD_INPUT, "image 'rgb8' needs datatype UINT8, got FP32" },
    { IN("{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[2,2,4],\"parameters\":{\"image\":"
         "\"rgb8\"}}"),
      16, INFERD_E_BAD_INPUT, "an rgb8 image has shape [height, width, 3], got [2,2,4]" },
    { IN("{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[1,2,2,3],\"parameters\":{\"image\":"
         "\"bgr8\"}}"),
      12, INFERD_E_BAD_INPUT, "an bgr8 image has shape" },
    { IN("{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[0,2,3],\"parameters\":{\"image\":"
         "\"rgb8\"}}"),
      0, INFERD_E_BAD_INPUT, "each side must be 1..65535" },
    { IN("{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[65536,1,3],\"parameters\":{"
         "\"image\":\"rgb8\"}}"),
      196608, INFERD_E_BAD_INPUT, "each side must be 1..65535" },
    { IN("{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[2,2,3],\"parameters\":{\"image\":"
         "\"rgb8\",\"binary_data_size\":11}}"),
      11, INFERD_E_BAD_INPUT, "binary_data_size 11 does not match shape [2,2,3] of UINT8" },
    /* sizes against the data section */
    { IN(T1), 7, INFERD_E_BAD_FRAME,
      "inputs: binary_data_size adds up to 8 bytes, the frame carries 7 bytes of data" },
    { IN(T1), 9, INFERD_E_BAD_FRAME, "adds up to 8 bytes, the frame carries 9" },
    { IN(T1), 0, INFERD_E_BAD_FRAME, "the frame carries 0 bytes" },
    /* outputs */
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[]}", 8, INFERD_E_BAD_INPUT,
      "outputs: empty" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":\"prob\"}", 8, INFERD_E_BAD_INPUT,
      "outputs: expected an array, got a string" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[\"prob\"]}", 8, INFERD_E_BAD_INPUT,
      "outputs[0]: expected an object, got a string" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[{}]}", 8, INFERD_E_BAD_INPUT,
      "outputs[0].name: missing" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[{\"name\":\"p\"},{\"name\":\"p\"}]}", 8,
      INFERD_E_BAD_INPUT, "outputs[1].name: 'p' already names outputs[0]" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[{\"name\":\"p\",\"datatype\":\"FP32\"}]}",
      8, INFERD_E_BAD_INPUT, "outputs[0]: unknown key 'datatype' (known: name, parameters)" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[{\"name\":\"p\",\"parameters\":{"
      "\"topk\":1001}}]}",
      8, INFERD_E_BAD_INPUT, "outputs[0].parameters.topk: 1001 is over the limit of 1000" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[{\"name\":\"p\",\"parameters\":{"
      "\"topk\":-1}}]}",
      8, INFERD_E_BAD_INPUT, "topk: -1 is negative" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[{\"name\":\"p\",\"parameters\":{"
      "\"tensor\":0}}]}",
      8, INFERD_E_BAD_INPUT, "outputs[0].parameters.tensor: expected true or false, got a number" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[{\"name\":\"p\",\"parameters\":{"
      "\"tensor\":false,\"topk\":0}}]}",
      8, INFERD_E_BAD_INPUT, "asks for neither the tensor nor top-k" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"outputs\":[{\"name\":\"p\",\"parameters\":{"
      "\"classification\":3}}]}",
      8, INFERD_E_BAD_INPUT, "unknown key 'classification' (known: topk, tensor)" },
    /* request parameters */
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"parameters\":7}", 8, INFERD_E_BAD_INPUT,
      "parameters: expected an object, got a number" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"parameters\":{\"timeout\":5}}", 8, INFERD_E_BAD_INPUT,
      "parameters: unknown key 'timeout' (known: timeout_ms, topk)" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"parameters\":{\"timeout_ms\":0}}", 8,
      INFERD_E_BAD_INPUT, "parameters.timeout_ms: 0" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"parameters\":{\"timeout_ms\":2147483648}}", 8,
      INFERD_E_BAD_INPUT, "parameters.timeout_ms: 2147483648 is over the limit" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"parameters\":{\"timeout_ms\":\"1s\"}}", 8,
      INFERD_E_BAD_INPUT, "parameters.timeout_ms: expected a number, got a string" },
    { "{\"model\":\"m\",\"inputs\":[" T1 "],\"parameters\":{\"topk\":2.5}}", 8, INFERD_E_BAD_INPUT,
      "parameters.topk: 2.5 is not an integer" },
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct inferd_request *r = (struct inferd_request *)&r; /* must be reset */
        char err[512] = "";
        int rc = decode(c->meta, c->data_len, &r, err);
        if (rc != c->code || !strstr(err, c->says))
            fail_msg("case %zu %s\n  rc %d (%s), message '%s'\n  wanted %d (%s), '%s'", i, c->meta,
                     rc, inferd_error_name(rc), err, c->code, inferd_error_name(c->code), c->says);
        assert_null(r);
    }
}

static void test_long_names(void **state)
{
    (void)state;
    char json[1024], name[300], err[512];
    struct inferd_request *r;
    memset(name, 'n', sizeof(name));
    name[255] = '\0';
    snprintf(json, sizeof(json), IN("{\"name\":\"%s\",\"datatype\":\"FP32\",\"shape\":[2]}"), name);
    assert_int_equal(decode(json, 8, &r, err), 0);
    assert_int_equal(strlen(r->inputs[0].name), 255);
    inferd_request_free(r);
    name[255] = 'n';
    name[256] = '\0';
    snprintf(json, sizeof(json), IN("{\"name\":\"%s\",\"datatype\":\"FP32\",\"shape\":[2]}"), name);
    assert_int_equal(decode(json, 8, &r, err), INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "inputs[0].name: 256 bytes long, at most 255"));
    /* UTF-8 names are fine and counted in bytes. */
    assert_int_equal(
        decode("{\"model\":\"mod\xc3\xa8le \\u00e9\",\"inputs\":[" T1 "]}", 8, &r, err), 0);
    assert_string_equal(r->model, "mod\xc3\xa8le \xc3\xa9");
    inferd_request_free(r);
}

static void test_raw_nul_and_length(void **state)
{
    (void)state;
    char err[512];
    struct inferd_request *r;
    /* A raw NUL inside the meta: refused, not read as the end of a C string. */
    static const char nul[] = "{\"model\":\"m\0x\",\"inputs\":[" T1 "]}";
    assert_int_equal(inferd_request_decode(nul, sizeof(nul) - 1, 8, &r, err, sizeof(err)),
                     INFERD_E_BAD_FRAME);
    assert_non_null(strstr(err, "control byte 0x00 at offset 11"));
    /* The decoder reads meta_len bytes and no more: the same JSON cut short
     * fails, and the bytes after meta_len are never looked at. */
    static const char ok[] = "{\"model\":\"m\",\"inputs\":[" T1 "]}GARBAGE";
    assert_int_equal(inferd_request_decode(ok, sizeof(ok) - 1 - 7, 8, &r, err, sizeof(err)), 0);
    inferd_request_free(r);
    assert_int_equal(inferd_request_decode(ok, sizeof(ok) - 1 - 8, 8, &r, err, sizeof(err)),
                     INFERD_E_BAD_FRAME);
    assert_null(r);
}

static void test_unknown_key_is_quoted_safely(void **state)
{
    (void)state;
    char err[512];
    struct inferd_request *r;
    /* A key with quotes, escapes and a very long tail: shown escaped and cut. */
    char json[2048];
    char key[600];
    memset(key, 'k', sizeof(key));
    memcpy(key, "a'b\\\\", 5);
    key[599] = '\0';
    snprintf(json, sizeof(json), "{\"%s\":1}", key);
    assert_int_equal(decode(json, 0, &r, err), INFERD_E_BAD_INPUT);
    assert_non_null(strstr(err, "unknown key 'a\\x27b\\x5c"));
    assert_non_null(strstr(err, "...'"));
    assert_true(strlen(err) < 200);
}

static void test_encode_round_trip(void **state)
{
    (void)state;
    struct inferd_tensor_meta in[3] = {
        { .name = "input", .dtype = INFERD_DT_FP32, .ndim = 4, .dims = { 1, 3, 8, 8 } },
        { .name = "photo", .dtype = INFERD_DT_BYTES, .nbytes = 5000, .image = INFERD_IMAGE_JPEG },
        { .name = "frame",
          .dtype = INFERD_DT_UINT8,
          .ndim = 3,
          .dims = { 4, 6, 3 },
          .image = INFERD_IMAGE_BGR8 },
    };
    struct inferd_output_request out[2] = {
        { .name = "prob", .topk = 5 },
        { .name = "feat", .topk = INFERD_TOPK_NONE },
    };
    struct inferd_request req = { .model = "mobilenet",
                                  .ninputs = 3,
                                  .inputs = in,
                                  .noutputs = 2,
                                  .outputs = out,
                                  .timeout_ms = 250,
                                  .topk = INFERD_TOPK_NONE };
    char *json = NULL, err[512] = "";
    size_t len = 0;
    uint64_t data_len = 0;
    int rc = inferd_request_encode(&req, &json, &len, &data_len, err, sizeof(err));
    if (rc) fail_msg("%s", err);
    assert_int_equal(len, strlen(json));
    assert_null(strchr(json, '\n'));
    assert_int_equal(data_len, 768 + 5000 + 72);

    struct inferd_request *d;
    rc = inferd_request_decode(json, len, data_len, &d, err, sizeof(err));
    if (rc) fail_msg("%s\n%s", err, json);
    assert_string_equal(d->model, "mobilenet");
    assert_int_equal(d->ninputs, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(d->inputs[i].name, in[i].name);
        assert_int_equal(d->inputs[i].dtype, in[i].dtype);
        assert_int_equal(d->inputs[i].image, in[i].image);
    }
    assert_int_equal(d->inputs[0].nbytes, 768);
    assert_int_equal(d->inputs[1].nbytes, 5000);
    assert_int_equal(d->inputs[1].offset, 768);
    assert_int_equal(d->inputs[2].offset, 5768);
    assert_int_equal(d->inputs[2].width, 6);
    assert_int_equal(d->noutputs, 2);
    assert_int_equal(d->outputs[0].topk, 5);
    assert_int_equal(d->outputs[1].topk, INFERD_TOPK_NONE);
    assert_int_equal(d->timeout_ms, 250);
    assert_int_equal(d->topk, INFERD_TOPK_NONE);
    inferd_request_free(d);
    free(json);

    /* Zero-initialised optional fields stay off the wire. */
    struct inferd_request plain = { .model = "m", .ninputs = 1, .inputs = in };
    assert_int_equal(inferd_request_encode(&plain, &json, NULL, NULL, err, sizeof(err)), 0);
    assert_null(strstr(json, "parameters\":{\"t"));
    assert_null(strstr(json, "outputs"));
    assert_null(strstr(json, "topk"));
    free(json);
}

static void test_encode_refuses_what_decode_refuses(void **state)
{
    (void)state;
    char *json = (char *)"sentinel", err[512];
    struct inferd_tensor_meta t = {
        .name = "x", .dtype = INFERD_DT_FP32, .ndim = 2, .dims = { 2, 3 }, .nbytes = 25
    };
    struct inferd_request req = { .model = "m", .ninputs = 1, .inputs = &t };
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_null(json);
    assert_non_null(strstr(err, "binary_data_size 25 does not match shape [2,3] of FP32"));

    t.nbytes = 0;
    t.dims[1] = -1;
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "inputs[0].shape[1]: -1 is negative"));

    t.dims[1] = 3;
    t.ndim = 9;
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    t.ndim = 2;
    t.dtype = 99;
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unknown datatype 99"));
    t.dtype = INFERD_DT_FP32;
    req.model = NULL;
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    req.model = "m\xff";
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "UTF-8"));
    req.model = "m";
    req.ninputs = 0;
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "inputs: empty"));
    req.ninputs = 17;
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    req.ninputs = 1;
    struct inferd_output_request o = { .name = "p", .topk = 1001 };
    req.noutputs = 1;
    req.outputs = &o;
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "1001 is over the limit"));
    o.topk = 0;
    req.timeout_ms = 0x80000000u;
    assert_int_equal(inferd_request_encode(&req, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(inferd_request_encode(NULL, &json, NULL, NULL, err, sizeof(err)), -EINVAL);
}

static void test_free_accepts_null(void **state)
{
    (void)state;
    inferd_request_free(NULL);
    /* Half-built: counts set, some names missing. */
    struct inferd_request *r = calloc(1, sizeof(*r));
    r->ninputs = 3;
    r->inputs = calloc(3, sizeof(*r->inputs));
    r->inputs[0].name = strdup("a");
    r->noutputs = 2;
    inferd_request_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_full),
        cmocka_unit_test(test_decode_minimal_defaults),
        cmocka_unit_test(test_decode_images),
        cmocka_unit_test(test_every_datatype_size),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_raw_nul_and_length),
        cmocka_unit_test(test_unknown_key_is_quoted_safely),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_encode_refuses_what_decode_refuses),
        cmocka_unit_test(test_free_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
