/* inferd: the inference daemon's entry point. */
#include "inferd_config.h"

#include "config.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static void usage_print(FILE *f)
{
    fprintf(f,
            "Usage: inferd [OPTION]...\n"
            "Serve ONNX model inference to local processes over a Unix socket and nanomsg.\n"
            "\n"
            "  -c, --config FILE        configuration file (default: %s/inferd.json)\n"
            "      --check-config FILE  validate FILE (and that its model files are readable),\n"
            "                           print what is wrong, exit 0 when valid\n"
            "  -h, --help               show this help and exit\n"
            "  -V, --version            show version and exit\n"
            "\n"
            "Backend plugins are loaded from %s (the config's plugin_dir\n"
            "or $INFERD_PLUGIN_PATH override it).\n"
            "Text commands on either socket, one per line: health, stats, models, version,\n"
            "metrics; for example: echo health | socat - UNIX-CONNECT:/run/inferd/inferd.sock\n"
            "Signals: SIGTERM/SIGINT stop accepting, answer what is in flight, exit 0;\n"
            "SIGHUP reloads the configuration (a bad one is refused, the old one stays).\n"
            "Exit status: 0 after a clean stop, 1 when the daemon cannot start, 2 on bad usage.\n",
            INFERD_SYSCONFDIR, INFERD_PLUGINDIR);
}

static void handle_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static int config_check(const char *path)
{
    char err[1024];
    struct inferd_conf *c = NULL;
    if (inferd_conf_load(path, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < c->nmodels; i++) {
        const struct inferd_model_conf *m = &c->models[i];
        if (access(m->path, R_OK) < 0) {
            fprintf(stderr, "%s: models[%d].path: %s: %s\n", path, i, m->path, strerror(errno));
            bad = 1;
        }
        if (m->labels && access(m->labels, R_OK) < 0) {
            fprintf(stderr, "%s: models[%d].labels: %s: %s\n", path, i, m->labels, strerror(errno));
            bad = 1;
        }
    }
    if (!bad) printf("%s: valid (%d model%s)\n", path, c->nmodels, c->nmodels == 1 ? "" : "s");
    inferd_conf_free(c);
    return bad;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", required_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = INFERD_SYSCONFDIR "/inferd.json";
    int opt;
    while ((opt = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'C': return config_check(optarg);
        case 'h': usage_print(stdout); return 0;
        case 'V': printf("inferd %s\n", INFERD_VERSION); return 0;
        default: usage_print(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "inferd: unexpected argument '%s'\n", argv[optind]);
        usage_print(stderr);
        return 2;
    }

    char err[1024];
    struct inferd_conf *conf = NULL;
    inferd_log_init(INFERD_LOG_INFO);
    if (inferd_conf_load(config, &conf, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return 1;
    }
    inferd_log_level_set(conf->log_level);
    log_info("inferd %s starting with %s", INFERD_VERSION, config);

    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0) {
        inferd_conf_free(conf);
        return 1;
    }
    struct inferd_server server;
    err[0] = 0;
    int rc = server_init(&server, &loop, conf, config, err, sizeof(err));
    if (rc < 0) {
        log_error("cannot start: %s", err[0] ? err : strerror(-rc));
        /* Close what init opened so the loop can be freed cleanly. */
        uv_walk(&loop, handle_close, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    rc = rc < 0 ? 1 : server_run(&server);
    server_free(&server);
    uv_loop_close(&loop);
    log_info("stopped");
    return rc;
}
