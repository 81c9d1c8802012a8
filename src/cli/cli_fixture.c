/* SPDX-License-Identifier: MIT
 *
 * cli_fixture.c: `syncq fixture-server`: run the fixture 1688 server
 * (tools/fixture/) in the foreground until SIGINT/SIGTERM. A
 * development and test tool: it binds to loopback, serves a deterministic
 * catalog in the real 1688 response shapes and injects faults on demand
 * (docs/fixture-server.md).
 */
#include "cli/cli.h"
#include "fixture/fixture.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
parse_size(struct cli *cli, const char *what, const char *arg, size_t lo,
           size_t hi, size_t *out)
{
    char *end = NULL;
    unsigned long long v;

    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v < lo ||
        v > hi) {
        return cli_usage(cli, "%s '%s': expected %zu..%zu", what, arg, lo, hi);
    }
    *out = (size_t)v;
    return CLI_OK;
}

static int
cli_fixture_server(struct cli *cli)
{
    struct fx_server_opts o;
    struct fx_server *srv = NULL;
    const char *ready = NULL;
    syncq_config *cfg;
    syncq_error err;
    sigset_t set;
    size_t seed = 1688;
    int sig = 0, rc;

    memset(&o, 0, sizeof o);
    o.listen = "127.0.0.1:8688";
    o.products = 1000;
    o.categories = 3;
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'l':
            o.listen = ov->arg;
            break;
        case 'n':
            if (parse_size(cli, "--products", ov->arg, 1, 1000000,
                           &o.products) != CLI_OK) {
                return CLI_USAGE;
            }
            break;
        case 'k':
            if (parse_size(cli, "--categories", ov->arg, 1, fx_nleaves,
                           &o.categories) != CLI_OK) {
                return CLI_USAGE;
            }
            break;
        case 's':
            if (parse_size(cli, "--seed", ov->arg, 0, SIZE_MAX, &seed) !=
                CLI_OK) {
                return CLI_USAGE;
            }
            break;
        case 'f':
            o.faults = ov->arg;
            break;
        case 'a':
            o.app_key = ov->arg;
            break;
        case 'S':
            o.app_secret = ov->arg;
            break;
        case 'u':
            o.public_url = ov->arg;
            break;
        case 'L':
            o.log_path = ov->arg;
            break;
        case 'r':
            ready = ov->arg;
            break;
        case 'I':
            o.image_rate = ov->arg;
            break;
        case 'c': {
            size_t pct = 0;
            if (parse_size(cli, "--change", ov->arg, 0, 100, &pct) !=
                CLI_OK) {
                return CLI_USAGE;
            }
            o.change_pct = (double)pct;
            break;
        }
        }
    }
    o.seed = (uint64_t)seed;
    if (o.faults != NULL) {
        struct fx_fault_spec spec;
        if (fx_faults_parse(o.faults, &spec, &err) != SYNCQ_OK) {
            return cli_usage(cli, "--faults: %s", err.msg);
        }
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return CLI_FAIL;
    }
    if (o.app_key == NULL) {
        o.app_key = syncq_config_str(cfg, "SYNCQ_1688_APP_KEY");
    }
    if (o.app_secret == NULL) {
        o.app_secret = syncq_config_str(cfg, "SYNCQ_1688_APP_SECRET");
    }
    rc = cli_setup_logging(cli, "fixture", NULL, NULL, NULL);
    if (rc != CLI_OK) {
        return rc;
    }
    /* Block the stop signals before libmicrohttpd starts its threads, so
     * only sigwait below sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (fx_server_start(&o, &srv, &err) != SYNCQ_OK) {
        return err.code == SYNCQ_EINVAL ? cli_usage(cli, "%s", err.msg)
                                        : cli_fail(cli, "%s", err.msg);
    }
    if (cli->json) {
        /* leaf_ids: the categories to sync (used by `syncq demo`) */
        const struct fx_catalog *cat = fx_server_catalog(srv);
        printf("{\"url\":\"%s\",\"port\":%d,\"products\":%zu,"
               "\"categories\":%zu,\"seed\":%zu,\"leaf_ids\":[",
               fx_server_url(srv), fx_server_port(srv), o.products,
               o.categories, seed);
        for (size_t i = 0, n = 0; i < cat->ncats; i++) {
            if (cat->cats[i].leaf) {
                printf("%s%lld", n++ ? "," : "",
                       (long long)cat->cats[i].id);
            }
        }
        printf("]}\n");
    } else {
        printf("fixture-server: listening on %s (%zu products in %zu "
               "categories, seed %zu%s%s%s)\n",
               fx_server_url(srv), o.products, o.categories, seed,
               o.faults ? ", faults " : "", o.faults ? o.faults : "",
               o.app_secret && o.app_secret[0] ? ", signatures checked" : "");
    }
    fflush(stdout);
    if (ready != NULL) {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof tmp, "%s.tmp", ready);
        f = fopen(tmp, "w");
        if (f != NULL && fprintf(f, "%s\n", fx_server_url(srv)) < 0) {
            fclose(f);
            f = NULL;
        }
        if (f == NULL || fclose(f) != 0 || rename(tmp, ready) != 0) {
            fx_server_stop(srv);
            return cli_fail(cli, "cannot write --ready-file %s: %s", ready,
                            strerror(errno));
        }
    }
    while (sigwait(&set, &sig) != 0) {
    }
    fx_server_stop(srv);
    if (!cli->json) {
        printf("fixture-server: stopped (%s)\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    return CLI_OK;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt fixture_server_opts[] = {
    {"listen", 'l', false, "A",
     "address (default 127.0.0.1:8688; port 0 picks a free one)"},
    {"products", 'n', false, "N", "offers in the catalog (default 1000)"},
    {"categories", 'k', false, "K",
     "leaf categories they spread over, 1..20 (default 3)"},
    {"seed", 's', false, "S", "catalog and fault seed (default 1688)"},
    {"faults", 'f', false, "SPEC",
     "none, or e.g. \"429=2%:1s,5xx=1%,slow=1%:2s,captcha=1,truncated_image=0.5%\""},
    {"app-key", 'a', false, "K",
     "only this appKey is accepted (default SYNCQ_1688_APP_KEY)"},
    {"app-secret", 'S', false, "S",
     "verify _aop_signature with it (default SYNCQ_1688_APP_SECRET)"},
    {"public-url", 'u', false, "U",
     "base URL written into image URLs (default http://<listen>)"},
    {"log", 'L', false, "FILE",
     "one JSON line per request (time, route, status, fault)"},
    {"ready-file", 'r', false, "F", "write the base URL to F once listening"},
    {"image-rate", 'I', false, "RATE",
     "throttle images like a CDN: over RATE (e.g. 10/s) a 429 and a 1 s "
     "ban"},
    {"change", 'c', false, "PCT",
     "serve the next revision: PCT % of the offers (by the seed) with "
     "prices 10 fen higher"},
    CLI_OPT_END,
};

const struct cli_cmd cli_fixture_cmds[] = {
    {.path = "fixture-server",
     .run = cli_fixture_server,
     .summary = "serve a deterministic fixture 1688 catalog (dev/test tool)",
     .synopsis = "[--listen 127.0.0.1:PORT] [--products N]\n"
                 " [--categories K] [--seed S] [--faults SPEC]\n"
                 " [--app-key K] [--app-secret S] [--public-url URL]\n"
                 " [--log FILE] [--ready-file FILE] [--image-rate RATE]\n"
                 " [--change PCT]",
     .description = "Serve a deterministic 1688 catalog over HTTP in the"
                    " real response shapes:\n"
                    "Open Platform calls under /openapi/param2/1/..., offer"
                    " pages /offer/<id>.html\n"
                    "(window.__INIT_DATA), shop info /1688/shop/shop_info,"
                    " images /img/ibank/...\n"
                    "(real JPEG, PNG, WebP). A development and test tool,"
                    " not a production stand-in.",
     .opts = fixture_server_opts,
     .notes = "Point the crawler at it with"
              " SYNCQ_1688_BASE_URL=<url>/openapi,\n"
              "SYNCQ_1688_PAGE_URL=<url> and"
              " SYNCQ_1688_SHOP_API_URL=<url>/1688/shop/shop_info.\n"
              "Stops on SIGINT or SIGTERM. Exit status 1 when it cannot"
              " listen.",
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
