/* Shared by the ONNX importer and the tensor file reader: a bounds-checked
 * protobuf wire reader, the protobuf-c allocator whose blocks become tensor
 * data, and TensorProto -> ir_tensor conversion (external data included).
 * Not installed; nothing outside backends/core includes it. */
#ifndef INFERD_ONNX_INTERNAL_H
#define INFERD_ONNX_INTERNAL_H

#include "ir.h"
#include "onnx-subset.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* --- wire format (onnx_wire.c) ----------------------------------------- */

enum pb_wire {
    PB_VARINT = 0,
    PB_FIXED64 = 1,
    PB_LEN = 2,
    PB_FIXED32 = 5,
};

/* A view of one message's bytes. base is where offsets in messages count from. */
struct pb_reader {
    const uint8_t *base;
    const uint8_t *p;
    const uint8_t *end;
};

/* One field: its number and wire type; varint holds a VARINT/FIXED value, data
 * and len the payload of a LEN field. offset is data's (or the value's)
 * position from the reader's base. */
struct pb_field {
    uint32_t num;
    int wire;
    uint64_t varint;
    const uint8_t *data;
    size_t len;
    size_t offset;
};

void pb_reader_init(struct pb_reader *r, const uint8_t *base, const uint8_t *p, size_t len);
/* Reads the next field. Returns 1 with *f filled, 0 at the end of the message,
 * or -1 on malformed input with *why (a static string) and *at (offset from
 * base) saying what and where. Never reads outside [p, end). */
int pb_next(struct pb_reader *r, struct pb_field *f, const char **why, size_t *at);

/* Sets up an allocator for protobuf_c_message_unpack whose blocks are
 * ir_alloc'd, so a TensorProto's raw_data or typed array can be kept as a
 * value's data. *oom becomes true when an allocation fails, which tells
 * "out of memory" from "malformed" after an unpack returns NULL. */
void onnx_pb_allocator_init(ProtobufCAllocator *a, bool *oom);

/* --- tensors (onnx_tensor.c) -------------------------------------------- */

struct onnx_tensor_ctx {
    const char *path;     /* file named at the start of messages */
    const char *base_dir; /* folder external data must stay inside; NULL refuses it */
    int64_t max_elements; /* per tensor */
};

/* Converts tp (unpacked with onnx_pb_allocator) into out: dtype, dims, and
 * data in one ir_alloc'd block of out->nbytes (never NULL on success, even for
 * zero elements). Buffers of tp are taken over where their layout already
 * matches, and cleared in tp so that freeing tp leaves them alone. what names
 * the tensor in messages ("initializer 'w'"). Errors: INFERD_E_BAD_MODEL,
 * INFERD_E_UNSUPPORTED, INFERD_E_TOO_LARGE, -ENOMEM, with "PATH: WHAT ..." in err. */
int onnx_tensor_convert(const struct onnx_tensor_ctx *c, Onnx__TensorProto *tp, const char *what,
                        struct ir_tensor *out, char *err, size_t errlen);

/* Name of an ONNX data type, including those the IR cannot hold. */
const char *onnx_dtype_name(int dtype);

/* Writes "PATH: MESSAGE" into err; returns code. */
int onnx_error(const char *path, int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "[1,3,224,224]" of n dims into buf; returns buf. */
char *onnx_dims_str(const int64_t *dims, size_t n, char *buf, size_t len);

#endif
