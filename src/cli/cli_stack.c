/* SPDX-License-Identifier: MIT
 *
 * cli_stack.c: start and stop the one-machine stack (see cli_stack.h).
 */
#include "cli/cli_stack.h"
#include "sq_alloc.h"
#include "core/sq_time.h"
#include "sq_url.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
cli_stack_init(struct cli_stack *st)
{
    memset(st, 0, sizeof *st);
    snprintf(st->var_dir, sizeof st->var_dir, "var");
    st->beat = true;
    st->monitor = true;
    st->worker = true;
    st->procs.out = stdout;
    st->procs.color = cli_color();
}

int
cli_mkdirs(const char *path)
{
    char tmp[1024];

    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

int
cli_stack_place_data(struct cli *cli, struct cli_stack *st, bool force,
                     char *abs_out)
{
    static const struct {
        const char *key, *leaf;
    } under_var[] = {{"SYNCQ_DATABASE_URL", "1688sync.db"},
                     {"SYNCQ_MEDIA_DIR", "media"},
                     {"SYNCQ_RAW_DIR", "raw"},
                     {"SYNCQ_WORKER_STATUS_FILE", "worker.status"}};
    char dir[PATH_MAX], path[PATH_MAX + 32];

    if (cli_mkdirs(st->var_dir) != 0) {
        return cli_fail(cli, "cannot create %s: %s", st->var_dir,
                        strerror(errno));
    }
    if (realpath(st->var_dir, dir) == NULL) {
        return cli_fail(cli, "%s: %s", st->var_dir, strerror(errno));
    }
    for (size_t i = 0; i < sizeof under_var / sizeof under_var[0]; i++) {
        if (force || strcmp(syncq_config_source(cli->cfg, under_var[i].key),
                            "default") == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, under_var[i].leaf);
            setenv(under_var[i].key, path, 1);
        }
    }
    if (abs_out != NULL) {
        memcpy(abs_out, dir, strlen(dir) + 1);
    }
    return CLI_OK;
}

static bool
redis_answers(const char *url)
{
    syncq_client *c = NULL;

    if (syncq_client_open(url, NULL, &c, NULL) != SYNCQ_OK) {
        return false;
    }
    syncq_client_close(c);
    return true;
}

int
cli_stack_start_redis(struct cli *cli, struct cli_stack *st)
{
    syncq_config *cfg = cli_config(cli);
    const char *src = syncq_config_source(cfg, "SYNCQ_BROKER_URL");
    char dir[PATH_MAX], sock[PATH_MAX + 16];
    char *u;

    if (!st->force_private && strcmp(src, "default") != 0) {
        snprintf(st->broker, sizeof st->broker, "%s",
                 syncq_config_str(cfg, "SYNCQ_BROKER_URL"));
        u = sq_url_redact(st->broker);
        snprintf(st->broker_shown, sizeof st->broker_shown, "%s", u);
        sq_free(u);
        st->first_service = st->procs.n;
        return CLI_OK;
    }
    if (cli_mkdirs(st->var_dir) != 0 || realpath(st->var_dir, dir) == NULL) {
        return cli_fail(cli, "cannot create %s: %s", st->var_dir,
                        strerror(errno));
    }
    snprintf(sock, sizeof sock, "%s/redis.sock", dir);
    if (strlen(sock) >= 100) {
        return cli_fail(cli, "socket path %s is too long for a unix socket; "
                             "use --var with a shorter path", sock);
    }
    snprintf(st->broker, sizeof st->broker, "unix://%s", sock);
    snprintf(st->broker_shown, sizeof st->broker_shown, "%s (private)",
             st->broker);
    if (redis_answers(st->broker)) {
        return cli_fail(cli, "a Redis is already running on %s (another "
                             "`syncq up` or demo?); stop it first",
                        sock);
    }
    {
        const char *argv[] = {"redis-server", "--port", "0", "--unixsocket",
                              sock, "--unixsocketperm", "700", "--dir", dir,
                              "--appendonly", "yes", "--appendfsync",
                              "everysec", "--save", "", "--logfile", "",
                              NULL};
        st->redis = cli_procs_add(&st->procs, "redis", true, argv);
    }
    if (st->redis == NULL || cli_proc_start(&st->procs, st->redis) != 0) {
        return cli_fail(cli, "cannot start redis-server: %s (run "
                             "scripts/bootstrap)", strerror(errno));
    }
    st->own_redis = true;
    st->redis->quiet = true;
    for (int i = 0; i < 100; i++) {
        cli_procs_poll(&st->procs, 50);
        if (st->redis->pid == 0) {
            return cli_fail(cli, "redis-server exited at start (see %s)",
                            dir);
        }
        if (redis_answers(st->broker)) {
            st->first_service = st->procs.n;
            return CLI_OK;
        }
    }
    return cli_fail(cli, "redis-server did not answer on %s within 5 s",
                    sock);
}

struct cli_proc *
cli_stack_add_service(struct cli_stack *st, const char *name,
                      const char *const *args)
{
    const char *argv[64];
    int n = 0;
    struct cli_proc *p;

    argv[n++] = cli_self_exe();
    for (int i = 0; args[i] != NULL && n < 63; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    p = cli_procs_add(&st->procs, name, true, argv);
    if (p == NULL) {
        return NULL;
    }
    if (st->log_dir != NULL) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.log", st->log_dir, name);
        p->logfile = fopen(path, "a");
    }
    if (cli_proc_start(&st->procs, p) != 0) {
        return NULL;
    }
    return p;
}

/* Wait up to 10 s for the monitor's port file and put the port it bound
 * into st->listen (left as given if it never comes: the monitor's log
 * says why). */
static void
learn_port(struct cli_stack *st, const char *pf)
{
    int64_t deadline = sq_mono_ms() + 10000;

    while (sq_mono_ms() < deadline) {
        FILE *f = fopen(pf, "r");
        long port = 0;
        if (f != NULL) {
            if (fscanf(f, "%ld", &port) != 1) {
                port = 0;
            }
            fclose(f);
        }
        if (port > 0 && port < 65536) {
            size_t ll = strlen(st->listen);
            snprintf(st->listen + ll - 1, sizeof st->listen - (ll - 1),
                     "%ld", port);
            return;
        }
        sq_sleep_ms(20);
    }
}

int
cli_stack_start(struct cli *cli, struct cli_stack *st)
{
    int rc = cli_stack_start_redis(cli, st);

    if (rc != CLI_OK) {
        return rc;
    }
    setenv("SYNCQ_BROKER_URL", st->broker, 1);
    if (st->listen[0] == '\0') {
        snprintf(st->listen, sizeof st->listen, "%s",
                 syncq_config_str(cli->cfg, "SYNCQ_MONITOR_LISTEN"));
    }
    if (st->worker) {
        const char *args[8];
        int n = 0;
        args[n++] = "worker";
        if (st->concurrency[0] != '\0') {
            args[n++] = "-c";
            args[n++] = st->concurrency;
        }
        if (st->queues[0] != '\0') {
            args[n++] = "-Q";
            args[n++] = st->queues;
        }
        args[n] = NULL;
        if (cli_stack_add_service(st, "worker", args) == NULL) {
            return cli_fail(cli, "cannot start the worker: %s",
                            strerror(errno));
        }
    }
    if (st->beat) {
        const char *args[] = {"beat", NULL};
        if (cli_stack_add_service(st, "beat", args) == NULL) {
            return cli_fail(cli, "cannot start the beat: %s",
                            strerror(errno));
        }
    }
    if (st->monitor) {
        char pf[600];
        const char *args[] = {"monitor", "serve", "--listen", st->listen,
                              "--port-file", pf, NULL};
        size_t ll = strlen(st->listen);
        /* port 0: the monitor picks one and writes it to --port-file,
         * so the address printed is the one it listens on */
        bool any = ll >= 2 && strcmp(st->listen + ll - 2, ":0") == 0;
        snprintf(pf, sizeof pf, "%s/monitor.port",
                 st->var_dir[0] != '\0' ? st->var_dir : ".");
        if (any) {
            unlink(pf);
        } else {
            args[4] = NULL;
        }
        if (cli_stack_add_service(st, "monitor", args) == NULL) {
            return cli_fail(cli, "cannot start the monitor: %s",
                            strerror(errno));
        }
        if (any) {
            learn_port(st, pf);
        }
    }
    return CLI_OK;
}

void
cli_stack_signal_services(struct cli_stack *st, int sig)
{
    for (int i = st->procs.n - 1; i >= st->first_service; i--) {
        if (st->procs.p[i].pid > 0) {
            kill(st->procs.p[i].pid, sig);
        }
    }
}

bool
cli_stack_services_running(const struct cli_stack *st)
{
    for (int i = st->first_service; i < st->procs.n; i++) {
        if (st->procs.p[i].pid > 0) {
            return true;
        }
    }
    return false;
}

void
cli_stack_stop(struct cli_stack *st)
{
    int64_t deadline = sq_mono_ms() + 60000;
    bool killed = false;

    st->procs.stopping = true;
    cli_stack_signal_services(st, SIGTERM);
    while (cli_stack_services_running(st)) {
        cli_procs_poll(&st->procs, 100);
        if (!killed && sq_mono_ms() > deadline) {
            cli_stack_signal_services(st, SIGKILL);
            killed = true;
        }
    }
    if (st->redis != NULL && st->redis->pid > 0) {
        kill(st->redis->pid, SIGTERM);
        while (st->redis->pid > 0) {
            cli_procs_poll(&st->procs, 100);
        }
    }
    cli_procs_cleanup(&st->procs);
}
