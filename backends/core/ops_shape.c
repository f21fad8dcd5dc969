/* Operators: shape and data-movement family. One row per op and opset range
 * whose semantics differ; the functions live in ops_reshape.c,
 * ops_transpose.c, ops_concat.c, ops_slice.c, ops_gather.c, ops_expand.c,
 * ops_pad.c and ops_resize.c. */
#include "ops_shape_impl.h"

#define ROW(name, since, until, fn, flags)                                                         \
    {                                                                                              \
        name, since, until, shp_##fn##_infer, shp_##fn##_eval, flags                               \
    }
#define ALIAS_ROW(name, since, until, fn)                                                          \
    {                                                                                              \
        name, since, until, shp_##fn##_infer, shp_alias_eval, IR_OP_ALIAS                          \
    }

const struct ir_op ir_ops_shape[] = {
    ALIAS_ROW("Flatten", 1, 0, flatten),
    ALIAS_ROW("Reshape", 5, 0, reshape),  /* allowzero from 14 */
    ALIAS_ROW("Squeeze", 1, 12, squeeze), /* axes attribute */
    ALIAS_ROW("Squeeze", 13, 0, squeeze), /* axes input */
    ALIAS_ROW("Unsqueeze", 1, 12, unsqueeze),
    ALIAS_ROW("Unsqueeze", 13, 0, unsqueeze),
    ALIAS_ROW("Identity", 1, 0, identity),
    ROW("Dropout", 7, 11, dropout, IR_OP_ALIAS), /* ratio attribute */
    ROW("Dropout", 12, 0, dropout, IR_OP_ALIAS), /* ratio, training_mode inputs */
    ROW("Transpose", 1, 0, transpose, 0),
    ROW("DepthToSpace", 1, 0, depth_to_space, 0), /* mode from 11 */
    ROW("SpaceToDepth", 1, 0, space_to_depth, 0),
    ROW("Concat", 4, 0, concat, 0),
    ROW("Split", 2, 12, split, 0),  /* split attribute */
    ROW("Split", 13, 17, split, 0), /* split input; 18 adds num_outputs */
    ROW("Slice", 1, 9, slice, 0),   /* starts/ends/axes attributes */
    ROW("Slice", 10, 0, slice, 0),  /* inputs, steps */
    ROW("Gather", 1, 0, gather, 0),
    ROW("Shape", 1, 0, shape, 0), /* start/end from 15 */
    { "Constant", 1, 0, shp_constant_infer, NULL, 0 },
    ROW("ConstantOfShape", 9, 0, constant_of_shape, 0),
    ROW("Expand", 8, 0, expand, 0),
    ROW("Tile", 6, 0, tile, 0),
    ROW("Pad", 2, 10, pad, 0),  /* pads/value attributes */
    ROW("Pad", 11, 17, pad, 0), /* pads/constant_value inputs; 18 adds axes */
    ROW("Resize", 10, 10, resize, 0),
    ROW("Resize", 11, 17, resize, 0),   /* 18 adds antialias, axes, keep_aspect_ratio */
    ROW("Upsample", 7, 8, upsample, 0), /* scales attribute */
    ROW("Upsample", 9, 9, upsample, 0), /* scales input */
    { NULL, 0, 0, NULL, NULL, 0 },
};
