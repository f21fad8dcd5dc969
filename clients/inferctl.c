/* inferctl: the command-line client of inferd. Health checks for scripts,
 * status queries, classifying an image, and a load generator. */
#include "inferctl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage_print(FILE *f)
{
    fprintf(
        f,
        "Usage: inferctl [--address ADDR] [--timeout MS] COMMAND [ARGS]\n"
        "Talk to the inferd daemon.\n"
        "\n"
        "Commands:\n"
        "  health                    print the daemon's health (JSON); exit 0 only when its\n"
        "                            status is \"ok\" (for scripts and cron)\n"
        "  stats | models | version  print the daemon's reply (one line of JSON)\n"
        "  metrics                   print the Prometheus metrics\n"
        "  ping                      check that the daemon reads frames; prints the round trip\n"
        "  infer FILE.jpg --model NAME [--topk K] [--json]\n"
        "                            classify a JPEG image: prints the top-k classes\n"
        "                            ('  1. label  0.9812') and the latency\n"
        "  infer --rgb WxH FILE.raw --model NAME   (or --bgr WxH)\n"
        "                            the same with raw 8-bit pixels, rows top to bottom\n"
        "  bench --model NAME [-c CONC] [-n N] [--image FILE.jpg]\n"
        "                            CONC connections (one thread each) send N requests in\n"
        "                            all; prints throughput, latency percentiles and errors.\n"
        "                            Without --image the input is random data shaped as the\n"
        "                            model's inputs (from 'models')\n"
        "\n"
        "Options:\n"
        "  -a, --address ADDR   unix:PATH or PATH (Unix socket), ipc://PATH or tcp://HOST:PORT\n"
        "                       (nanomsg). Default: $INFERD_ADDRESS, then %s\n"
        "  -t, --timeout MS     give up on any one step after MS ms (default 10000; 0: never)\n"
        "  -m, --model NAME     the model to run (infer, bench)\n"
        "  -k, --topk K         classes to print (default: the model's configured top-k)\n"
        "      --json           infer: print the response meta as received\n"
        "      --rgb WxH, --bgr WxH  infer: FILE holds W x H x 3 raw pixels in that order\n"
        "  -c, --concurrency N  bench: connections and threads (default 1)\n"
        "  -n, --requests N     bench: requests in all (default 1000)\n"
        "      --warmup N       bench: requests per connection before timing (default 0)\n"
        "      --depth D        bench: requests in flight per connection (default 1;\n"
        "                       Unix sockets only, nanomsg carries one)\n"
        "      --image FILE     bench: send this JPEG instead of random tensors\n"
        "  -h, --help           show this help\n"
        "  -V, --version        show the version\n"
        "\n"
        "Exit status:\n"
        "  0  success (health: the status is \"ok\")\n"
        "  1  the daemon answered, but not with success: health \"degraded\", \"starting\"\n"
        "     or \"stopping\"; an error reply (busy, model_not_found, bad_input, ...);\n"
        "     bench: some requests failed\n"
        "  2  cannot connect, no answer within the timeout, or the connection was lost\n"
        "  3  bad usage, or a local file could not be read\n",
        INFERD_CLIENT_DEFAULT_ADDRESS);
}

int ctl_exit_for(int rc)
{
    if (rc == 0) return EXIT_OK;
    if (rc == -EINVAL || rc == -ENAMETOOLONG) return EXIT_USAGE;
    if (rc == INFERD_E_TIMEOUT || rc == -EBUSY) return EXIT_NO_DAEMON;
    if (rc <= INFERD_E_BAD_FRAME && rc >= INFERD_E_INTERNAL) return EXIT_ANSWER;
    return EXIT_NO_DAEMON;
}

int ctl_file_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "inferctl: %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        fprintf(stderr, "inferctl: %s: not a regular file of at most %zu bytes\n", path, max);
        fclose(f);
        return EXIT_USAGE;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n ? n : 1);
    if (!b || fread(b, 1, n, f) != n) {
        fprintf(stderr, "inferctl: %s: %s\n", path, b ? "read failed" : "out of memory");
        free(b);
        fclose(f);
        return EXIT_USAGE;
    }
    fclose(f);
    *buf = b;
    *len = n;
    return EXIT_OK;
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "inferctl: %s takes a number from %ld to %ld, not '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_size(const char *opt, const char *s, uint32_t *w, uint32_t *h)
{
    unsigned long x, y;
    char *end = NULL;
    x = strtoul(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X')) goto bad;
    const char *s2 = end + 1;
    y = strtoul(s2, &end, 10);
    if (end == s2 || *end || x < 1 || y < 1 || x > 65535 || y > 65535) goto bad;
    *w = (uint32_t)x;
    *h = (uint32_t)y;
    return 0;
bad:
    fprintf(stderr, "inferctl: %s takes WIDTHxHEIGHT (1 to 65535 each), not '%s'\n", opt, s);
    return -1;
}

static const char *const commands[] = { "health",  "stats", "models", "version",
                                        "metrics", "ping",  "infer",  "bench" };

static int args_parse(int argc, char **argv, struct ctl_args *a)
{
    enum { OPT_JSON = 256, OPT_RGB, OPT_BGR, OPT_WARMUP, OPT_DEPTH, OPT_IMAGE };
    static const struct option longopts[] = {
        { "address", required_argument, NULL, 'a' },
        { "timeout", required_argument, NULL, 't' },
        { "model", required_argument, NULL, 'm' },
        { "topk", required_argument, NULL, 'k' },
        { "json", no_argument, NULL, OPT_JSON },
        { "rgb", required_argument, NULL, OPT_RGB },
        { "bgr", required_argument, NULL, OPT_BGR },
        { "concurrency", required_argument, NULL, 'c' },
        { "requests", required_argument, NULL, 'n' },
        { "warmup", required_argument, NULL, OPT_WARMUP },
        { "depth", required_argument, NULL, OPT_DEPTH },
        { "image", required_argument, NULL, OPT_IMAGE },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof(*a));
    a->timeout_ms = 10000;
    a->concurrency = 1;
    a->requests = 1000;
    a->depth = 1;
    bool bench_opt = false, infer_opt = false;
    int opt;
    long v;
    while ((opt = getopt_long(argc, argv, "a:t:m:k:c:n:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a': a->address = optarg; break;
        case 't':
            if (parse_long("--timeout", optarg, 0, 86400000, &v) < 0) return EXIT_USAGE;
            a->timeout_ms = (int)v;
            break;
        case 'm': a->model = optarg; break;
        case 'k':
            if (parse_long("--topk", optarg, 1, 1000, &v) < 0) return EXIT_USAGE;
            a->topk = (int)v;
            break;
        case OPT_JSON: a->json = infer_opt = true; break;
        case OPT_RGB:
        case OPT_BGR:
            if (parse_size(opt == OPT_RGB ? "--rgb" : "--bgr", optarg, &a->raw_width,
                           &a->raw_height) < 0)
                return EXIT_USAGE;
            a->raw_format = opt == OPT_RGB ? INFERD_CLIENT_IMAGE_RGB8 : INFERD_CLIENT_IMAGE_BGR8;
            infer_opt = true;
            break;
        case 'c':
            if (parse_long("--concurrency", optarg, 1, 1024, &v) < 0) return EXIT_USAGE;
            a->concurrency = (int)v;
            bench_opt = true;
            break;
        case 'n':
            if (parse_long("--requests", optarg, 1, 100000000, &v) < 0) return EXIT_USAGE;
            a->requests = v;
            bench_opt = true;
            break;
        case OPT_WARMUP:
            if (parse_long("--warmup", optarg, 0, 1000000, &v) < 0) return EXIT_USAGE;
            a->warmup = v;
            bench_opt = true;
            break;
        case OPT_DEPTH:
            if (parse_long("--depth", optarg, 1, 256, &v) < 0) return EXIT_USAGE;
            a->depth = (int)v;
            bench_opt = true;
            break;
        case OPT_IMAGE:
            a->image = optarg;
            bench_opt = true;
            break;
        case 'h': usage_print(stdout); exit(EXIT_OK);
        case 'V': printf("inferctl %s\n", inferd_client_version()); exit(EXIT_OK);
        default: fprintf(stderr, "Try 'inferctl --help'.\n"); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "inferctl: no command given (health, stats, models, version, metrics, "
                        "ping, infer, bench)\nTry 'inferctl --help'.\n");
        return EXIT_USAGE;
    }
    a->command = argv[optind++];
    bool known = false;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        known |= strcmp(a->command, commands[i]) == 0;
    if (!known) {
        fprintf(stderr, "inferctl: unknown command '%s'\nTry 'inferctl --help'.\n", a->command);
        return EXIT_USAGE;
    }
    bool infer = strcmp(a->command, "infer") == 0, bench = strcmp(a->command, "bench") == 0;
    if (infer && optind < argc) a->file = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "inferctl: %s: unexpected argument '%s'\n", a->command, argv[optind]);
        return EXIT_USAGE;
    }
    if ((infer_opt && !infer) || (bench_opt && !bench) || (a->model && !infer && !bench) ||
        (a->topk && !infer)) {
        fprintf(stderr, "inferctl: %s: option not for this command\nTry 'inferctl --help'.\n",
                a->command);
        return EXIT_USAGE;
    }
    if ((infer || bench) && !a->model) {
        fprintf(stderr, "inferctl: %s needs --model NAME\n", a->command);
        return EXIT_USAGE;
    }
    if (infer && !a->file) {
        fprintf(stderr, "inferctl: infer needs an image file\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int connect_or_say(const struct ctl_args *a, struct inferd_client **c)
{
    char err[1024] = "";
    int rc = inferd_client_connect(a->address, a->timeout_ms, c, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "inferctl: %s\n", err);
        return ctl_exit_for(rc);
    }
    return EXIT_OK;
}

/* health, stats, models, version, metrics. */
static int cmd_text(const struct ctl_args *a)
{
    struct inferd_client *c = NULL;
    char err[1024] = "", *reply = NULL;
    int ex = connect_or_say(a, &c);
    if (ex) return ex;
    int rc = inferd_client_command(c, a->command, &reply, err, sizeof(err));
    inferd_client_close(c);
    if (rc < 0) {
        fprintf(stderr, "inferctl: %s: %s\n", a->command, err);
        return ctl_exit_for(rc);
    }
    printf("%s\n", reply);
    ex = EXIT_OK;
    if (strcmp(a->command, "health") == 0) {
        cJSON *root = cJSON_Parse(reply);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
        if (!cJSON_IsString(st)) {
            fprintf(stderr, "inferctl: health: the reply has no \"status\"\n");
            ex = EXIT_ANSWER;
        } else if (strcmp(st->valuestring, "ok") != 0) {
            ex = EXIT_ANSWER;
        }
        cJSON_Delete(root);
    }
    free(reply);
    return ex;
}

static int cmd_ping(const struct ctl_args *a)
{
    struct inferd_client *c = NULL;
    char err[1024] = "";
    int ex = connect_or_say(a, &c);
    if (ex) return ex;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = inferd_client_ping(c, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0)
        fprintf(stderr, "inferctl: ping: %s\n", err);
    else
        printf("pong from %s in %.3f ms\n", inferd_client_address(c),
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    inferd_client_close(c);
    return ctl_exit_for(rc);
}

static void topk_print(const struct inferd_client_result *r)
{
    for (size_t t = 0; t < r->ntopk; t++) {
        const struct inferd_client_topk *tk = &r->topk[t];
        if (r->ntopk > 1) printf("%s:\n", tk->output);
        int width = 1;
        for (size_t i = 0; i < tk->nclasses; i++) {
            char idx[32];
            int n = tk->classes[i].label
                        ? (int)strlen(tk->classes[i].label)
                        : snprintf(idx, sizeof(idx), "%lld", (long long)tk->classes[i].index);
            if (n > width) width = n;
        }
        for (size_t i = 0; i < tk->nclasses; i++) {
            const struct inferd_client_class *k = &tk->classes[i];
            char idx[32];
            snprintf(idx, sizeof(idx), "%lld", (long long)k->index);
            if (isnan(k->score))
                printf("%3zu. %-*s  nan\n", i + 1, width, k->label ? k->label : idx);
            else
                printf("%3zu. %-*s  %.4f\n", i + 1, width, k->label ? k->label : idx, k->score);
        }
    }
}

/* Without top-k (a model with none configured): say what came back. */
static void outputs_print(const struct inferd_client_result *r)
{
    for (size_t i = 0; i < r->noutputs; i++) {
        const struct inferd_client_output *o = &r->outputs[i];
        printf("output %s: %s [", o->name, o->datatype);
        for (int d = 0; d < o->ndim; d++) printf("%s%lld", d ? "," : "", (long long)o->shape[d]);
        printf("]");
        if (strcmp(o->datatype, "FP32") == 0) {
            const float *x = o->data;
            size_t n = o->size / sizeof(float);
            for (size_t j = 0; j < n && j < 8; j++) printf("%s%.4g", j ? " " : "  ", x[j]);
            if (n > 8) printf(" ...");
        }
        printf("\n");
    }
    if (r->noutputs == 0) printf("(no outputs and no top-k in the reply)\n");
}

static int cmd_infer(const struct ctl_args *a)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct inferd_client *c = NULL;
    struct inferd_client_result *r = NULL;
    char err[1024] = "";
    int ex = ctl_file_read(a->file, (size_t)256 << 20, &buf, &len);
    if (ex) return ex;
    if (a->raw_format && len != (size_t)a->raw_width * a->raw_height * 3) {
        fprintf(stderr, "inferctl: %s: %zu bytes, but %ux%u pixels of 3 bytes are %zu\n", a->file,
                len, a->raw_width, a->raw_height, (size_t)a->raw_width * a->raw_height * 3);
        free(buf);
        return EXIT_USAGE;
    }
    if ((ex = connect_or_say(a, &c))) {
        free(buf);
        return ex;
    }
    int rc = a->raw_format
                 ? inferd_client_infer_pixels(c, a->model, a->raw_format, buf, a->raw_width,
                                              a->raw_height, a->topk, &r, err, sizeof(err))
                 : inferd_client_infer_jpeg(c, a->model, buf, len, a->topk, &r, err, sizeof(err));
    inferd_client_close(c);
    free(buf);
    if (rc < 0) {
        const char *name = inferd_client_error_name(rc);
        if (ctl_exit_for(rc) == EXIT_ANSWER)
            fprintf(stderr, "inferctl: infer %s: %s: %s\n", a->file, name, err);
        else
            fprintf(stderr, "inferctl: infer %s: %s\n", a->file, err);
        return ctl_exit_for(rc);
    }
    if (a->json) {
        printf("%s\n", r->meta_json);
    } else {
        printf("%s: model %s", a->file, r->model);
        if (r->backend) printf(" on %s", r->backend);
        printf("\n");
        if (r->ntopk)
            topk_print(r);
        else
            outputs_print(r);
        printf("latency %.3f ms", (double)r->latency_us / 1e3);
        if (r->has_timing)
            printf(" (daemon: queue %.3f, compute %.3f, total %.3f ms)", (double)r->queue_us / 1e3,
                   (double)r->compute_us / 1e3, (double)r->total_us / 1e3);
        printf("\n");
    }
    inferd_client_result_free(r);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct ctl_args a;
    int ex = args_parse(argc, argv, &a);
    if (ex) return ex;
    if (strcmp(a.command, "infer") == 0) return cmd_infer(&a);
    if (strcmp(a.command, "bench") == 0) return ctl_bench(&a);
    if (strcmp(a.command, "ping") == 0) return cmd_ping(&a);
    return cmd_text(&a);
}
