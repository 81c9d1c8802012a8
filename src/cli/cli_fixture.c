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

static const char usage[] =
    "usage: syncq fixture-server [--listen 127.0.0.1:PORT] [--products N]\n"
    "                            [--categories K] [--seed S] [--faults SPEC]\n"
    "                            [--app-key K] [--app-secret S] "
    "[--public-url URL]\n"
    "                            [--log FILE] [--ready-file FILE]\n\n"
    "Serve a deterministic 1688 catalog over HTTP in the real response "
    "shapes:\nOpen Platform calls under /openapi/param2/1/..., offer pages "
    "/offer/<id>.html\n(window.__INIT_DATA), shop info "
    "/1688/shop/shop_info, images /img/ibank/...\n(real JPEG, PNG, WebP). "
    "A development and test tool, not a production stand-in.\n\n"
    "  --listen A       address (default 127.0.0.1:8688; port 0 picks a free "
    "one)\n"
    "  --products N     offers in the catalog (default 1000)\n"
    "  --categories K   leaf categories they spread over, 1..6 (default 3)\n"
    "  --seed S         catalog and fault seed (default 1688)\n"
    "  --faults SPEC    e.g. \"429=2%:1s,5xx=1%,slow=1%:2s,captcha=1,"
    "truncated_image=0.5%\"\n"
    "  --app-key K      only this appKey is accepted (default "
    "SYNCQ_1688_APP_KEY)\n"
    "  --app-secret S   verify _aop_signature with it (default "
    "SYNCQ_1688_APP_SECRET)\n"
    "  --public-url U   base URL written into image URLs (default "
    "http://<listen>)\n"
    "  --log FILE       one JSON line per request (time, route, status, "
    "fault)\n"
    "  --ready-file F   write the base URL to F once listening\n\n"
    "Point the crawler at it with SYNCQ_1688_BASE_URL=<url>/openapi,\n"
    "SYNCQ_1688_PAGE_URL=<url> and SYNCQ_1688_SHOP_API_URL=<url>/1688/shop/"
    "shop_info.\nStops on SIGINT or SIGTERM. Exit status 1 when it cannot "
    "listen.\n";

int cli_fixture_server(struct cli *cli);

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

int
cli_fixture_server(struct cli *cli)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        {"listen", required_argument, NULL, 'l'},
        {"products", required_argument, NULL, 'n'},
        {"categories", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"faults", required_argument, NULL, 'f'},
        {"app-key", required_argument, NULL, 'a'},
        {"app-secret", required_argument, NULL, 'S'},
        {"public-url", required_argument, NULL, 'u'},
        {"log", required_argument, NULL, 'L'},
        {"ready-file", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0}};
    struct fx_server_opts o;
    struct fx_server *srv = NULL;
    const char *ready = NULL;
    syncq_config *cfg;
    syncq_error err;
    sigset_t set;
    size_t seed = 1688;
    int opt, sig = 0, rc;

    memset(&o, 0, sizeof o);
    o.listen = "127.0.0.1:8688";
    o.products = 1000;
    o.categories = 3;
    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) != -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'h':
            return cli_help(cli, usage);
        case 'l':
            o.listen = optarg;
            break;
        case 'n':
            if (parse_size(cli, "--products", optarg, 1, 1000000,
                           &o.products) != CLI_OK) {
                return CLI_USAGE;
            }
            break;
        case 'k':
            if (parse_size(cli, "--categories", optarg, 1, fx_ntemplates,
                           &o.categories) != CLI_OK) {
                return CLI_USAGE;
            }
            break;
        case 's':
            if (parse_size(cli, "--seed", optarg, 0, SIZE_MAX, &seed) !=
                CLI_OK) {
                return CLI_USAGE;
            }
            break;
        case 'f':
            o.faults = optarg;
            break;
        case 'a':
            o.app_key = optarg;
            break;
        case 'S':
            o.app_secret = optarg;
            break;
        case 'u':
            o.public_url = optarg;
            break;
        case 'L':
            o.log_path = optarg;
            break;
        case 'r':
            ready = optarg;
            break;
        default:
            return cli_bad_opt(cli, opt);
        }
    }
    if (optind < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'", cli->argv[optind]);
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
