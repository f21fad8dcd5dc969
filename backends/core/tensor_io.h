/* Tensor files: ONNX TensorProto (.pb, as the ONNX test data uses) and NumPy
 * .npy. Every size in a file is checked against the file's length and the
 * element limit (IR_DEFAULT_MAX_ELEMENTS) before anything is allocated. */
#ifndef INFERD_TENSOR_IO_H
#define INFERD_TENSOR_IO_H

#include "ir.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads an ONNX TensorProto file (.pb) or a NumPy .npy file (v1/v2/v3 headers,
 * little-endian, C order; dtypes f4 f8 i8 i4 i1 u1 b1, and f2 i2 u2 u4 u8) into
 * t; t->data is an ir_alloc block the caller frees with ir_free. *name (may be
 * NULL) gets the TensorProto's name (malloc'd) or NULL. The format is told by
 * the file's first bytes, not its name. Errors: INFERD_E_BAD_INPUT (malformed),
 * INFERD_E_UNSUPPORTED (dtype, byte order, Fortran order), INFERD_E_TOO_LARGE,
 * or -errno, with "PATH: ..." in err. */
int ir_tensor_file_read(const char *path, struct ir_tensor *t, char **name, char *err,
                        size_t errlen);

/* Writes t as an ONNX TensorProto (.pb) with raw_data; name may be NULL. */
int ir_tensor_pb_write(const char *path, const struct ir_tensor *t, const char *name, char *err,
                       size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
