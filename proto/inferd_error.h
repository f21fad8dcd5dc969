/* inferd error codes.
 *
 * Every inferd function returns 0 or a negative code: either a negated errno
 * (-ENOMEM, -EINVAL, ...) from the system, or one of the project codes below,
 * which live in a reserved range far below any errno so the two never collide.
 * Codes that travel on the wire have a stable lower-case name; clients match on
 * the name, never on the number. */
#ifndef INFERD_ERROR_H
#define INFERD_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(ENUM, value, wire name, human description) */
#define INFERD_ERROR_MAP(X)                                                                        \
    X(BAD_FRAME, -10001, "bad_frame", "malformed frame")                                           \
    X(TOO_LARGE, -10002, "too_large", "frame or tensor larger than the configured limit")          \
    X(UNSUPPORTED_VERSION, -10003, "unsupported_version", "unsupported protocol version")          \
    X(MODEL_NOT_FOUND, -10004, "model_not_found", "no model of that name")                         \
    X(BAD_INPUT, -10005, "bad_input", "input does not match what the model expects")               \
    X(BUSY, -10006, "busy", "model queue is full")                                                 \
    X(TIMEOUT, -10007, "timeout", "deadline passed before the request finished")                   \
    X(BACKEND_FAILED, -10008, "backend_failed", "backend failed to run the model")                 \
    X(SHUTTING_DOWN, -10009, "shutting_down", "daemon is shutting down")                           \
    X(BAD_MODEL, -10010, "bad_model", "model file is malformed or inconsistent")                   \
    X(UNSUPPORTED, -10011, "unsupported", "operator, attribute or data type not supported")        \
    X(BAD_CONFIG, -10012, "bad_config", "invalid configuration")                                   \
    X(ABI_MISMATCH, -10013, "abi_mismatch", "backend plugin built for another ABI version")        \
    X(NO_DEVICE, -10014, "no_device", "backend has no usable device on this machine")              \
    X(INTERNAL, -10015, "internal", "internal error")

enum inferd_error {
    INFERD_OK = 0,
#define INFERD_ERROR_ENUM_(name, value, wire, text) INFERD_E_##name = value,
    INFERD_ERROR_MAP(INFERD_ERROR_ENUM_)
#undef INFERD_ERROR_ENUM_
};

/* Stable wire name of a code ("busy"). Negated errno values and unknown codes
 * map to "internal"; the message that goes with it carries the detail. Never
 * NULL. */
const char *inferd_error_name(int code);

/* Inverse of inferd_error_name() for project codes; returns 0 when the name is
 * unknown (so a client from an older release can still tell "some error"). */
int inferd_error_from_name(const char *name);

/* Human description: project codes get their table text, negated errno values
 * get strerror's text. Never NULL; the result is static. */
const char *inferd_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
