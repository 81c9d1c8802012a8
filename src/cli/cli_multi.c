/* SPDX-License-Identifier: MIT
 *
 * cli_multi.c: one command over several namespaces (cli_multi.h). Each
 * namespace gets a child process that runs the ordinary single-namespace
 * path, so nothing below the CLI knows about several namespaces: one
 * broker client, one slot, one supervisor per child, as in separate
 * processes, but one command to start, watch and stop. `monitor serve`
 * is the exception: one server, one configuration per namespace.
 */
#include "cli/cli_multi.h"
#include "core/sq_config.h"
#include "sq_alloc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_NS 16

struct ns_plan {
    int n;
    char name[MAX_NS][65];
    char queues[MAX_NS][1024]; /* the namespace's queues, "" for all */
};

/* Set in a child: the hooks then only run the single-namespace path. */
static bool in_child;
/* The child's namespace (its log lines say proc=<proc>@<ns>). */
static char child_ns[65];

static const char *
ns_option(const struct cli *cli)
{
    const char *v = NULL;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == CLI_OPT_NAMESPACE) {
            v = ov->arg;
        }
    }
    return v;
}

/* Index of namespace `s` (n bytes) in the plan, added when new; -1 with
 * a usage message when it is not a namespace or there are too many. */
static int
plan_ns(struct cli *cli, struct ns_plan *p, const char *s, size_t n, int *rc)
{
    for (int i = 0; i < p->n; i++) {
        if (strlen(p->name[i]) == n && memcmp(p->name[i], s, n) == 0) {
            return i;
        }
    }
    if (n == 0 || n > 64 || strcspn(s, "{}: \t") < n) {
        *rc = cli_usage(cli, "--namespace: '%.*s' is not a namespace (1..64 "
                        "characters without braces, colons or spaces)",
                        (int)(n > 64 ? 64 : n), s);
        return -1;
    }
    if (p->n == MAX_NS) {
        *rc = cli_usage(cli, "--namespace: more than %d namespaces", MAX_NS);
        return -1;
    }
    memcpy(p->name[p->n], s, n);
    p->name[p->n][n] = '\0';
    p->queues[p->n][0] = '\0';
    return p->n++;
}

/* The namespaces of a comma-separated list into the plan. */
static int
plan_list(struct cli *cli, struct ns_plan *p, const char *list)
{
    int rc = CLI_OK;

    for (const char *s = list; s != NULL && *s != '\0';) {
        size_t n = strcspn(s, ",");
        if (plan_ns(cli, p, s, n, &rc) < 0) {
            return rc;
        }
        s += n;
        s += *s == ',';
    }
    if (list != NULL && p->n == 0) {
        return cli_usage(cli, "--namespace: no namespace given");
    }
    return CLI_OK;
}

static int
set(struct cli *cli, const char *key, const char *value)
{
    syncq_config *cfg = cli_config(cli);
    syncq_error err;

    if (cfg == NULL) {
        return CLI_FAIL;
    }
    if (syncq_config_set(cfg, key, value, "--namespace", &err) != SYNCQ_OK) {
        return cli_usage(cli, "%s", err.msg);
    }
    return CLI_OK;
}

/* Make this process serve plan entry i. */
static int
become(struct cli *cli, const struct ns_plan *p, int i, bool queues)
{
    int rc = set(cli, "SYNCQ_NAMESPACE", p->name[i]);

    if (in_child) {
        snprintf(child_ns, sizeof child_ns, "%s", p->name[i]);
    }

    if (rc == CLI_OK && queues) {
        rc = set(cli, "SYNCQ_WORKER_QUEUES", p->queues[i]);
    }
    if (rc == CLI_OK && queues && p->n > 1) {
        /* one liveness file per namespace's supervisor: PATH.NS */
        const char *sf = syncq_config_str(cli_config(cli),
                                          "SYNCQ_WORKER_STATUS_FILE");
        char path[4096];
        if (sf[0] != '\0') {
            snprintf(path, sizeof path, "%s.%s", sf, p->name[i]);
            rc = set(cli, "SYNCQ_WORKER_STATUS_FILE", path);
        }
    }
    return rc;
}

/* ---- status and health: one child after the other ----------------------- */

/* Read all of fd into a string (NULL when out of memory). */
static char *
slurp(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t got;

    while (buf != NULL) {
        if (len + 1 >= cap) {
            char *b2 = realloc(buf, cap * 2);
            if (b2 == NULL) {
                free(buf);
                return NULL;
            }
            buf = b2;
            cap *= 2;
        }
        got = read(fd, buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    if (buf != NULL) {
        buf[len] = '\0';
    }
    return buf;
}

static int
wait_status(pid_t pid)
{
    int st = 0;

    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            return CLI_FAIL;
        }
    }
    if (WIFEXITED(st)) {
        return WEXITSTATUS(st);
    }
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Run child i of the plan; its stdout into *out when `capture`. Returns
 * -1 in the child (go on), else its exit status. */
static int
run_child(struct cli *cli, const struct ns_plan *p, int i, bool capture,
          char **out)
{
    int fds[2] = {-1, -1};
    pid_t pid;
    int st;

    fflush(stdout);
    fflush(stderr);
    if (capture && pipe(fds) != 0) {
        return cli_fail(cli, "pipe: %s", strerror(errno));
    }
    pid = fork();
    if (pid < 0) {
        return cli_fail(cli, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        in_child = true;
        if (capture) {
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
        }
        st = become(cli, p, i, false);
        if (st != CLI_OK) {
            fflush(stderr);
            _exit(st);
        }
        return -1;
    }
    if (capture) {
        close(fds[1]);
        *out = slurp(fds[0]);
        close(fds[0]);
    }
    return wait_status(pid);
}

/* Several namespaces, one after the other, output gathered. */
static int
each(struct cli *cli, const struct ns_plan *p, bool quiet, bool *child)
{
    json_t *all = cli->json ? json_object() : NULL;
    int worst = CLI_OK;

    for (int i = 0; i < p->n; i++) {
        char *out = NULL;
        int st;
        if (!cli->json && !quiet) {
            printf("%s== namespace %s\n", i > 0 ? "\n" : "", p->name[i]);
        }
        st = run_child(cli, p, i, cli->json, &out);
        if (st < 0) {
            json_decref(all);
            *child = true;
            return CLI_OK;
        }
        if (all != NULL) {
            json_t *doc = out != NULL ? json_loads(out, 0, NULL) : NULL;
            json_object_set_new(all, p->name[i],
                                doc != NULL ? doc : json_null());
        }
        free(out);
        worst = st > worst ? st : worst;
    }
    if (all != NULL) {
        json_t *top = json_pack("{s:o}", "namespaces", all);
        cli_print_json(top);
        json_decref(top);
    }
    return worst;
}

bool
cli_multi_each(struct cli *cli, bool quiet, int *rc)
{
    struct ns_plan p = {0};
    const char *list = ns_option(cli);
    bool child = false;

    if (in_child || list == NULL) {
        return false;
    }
    *rc = plan_list(cli, &p, list);
    if (*rc != CLI_OK) {
        return true;
    }
    if (p.n == 1) {
        *rc = become(cli, &p, 0, false);
        return *rc != CLI_OK;
    }
    *rc = each(cli, &p, quiet, &child);
    return !child;
}

/* ---- worker: every child at once ----------------------------------------- */

static pid_t kids[MAX_NS];
static volatile sig_atomic_t nkids;
static volatile sig_atomic_t told_to_stop; /* TERM, INT or QUIT came */

/* Send the signal to every child still running (async-signal-safe). */
static void
forward(int sig)
{
    for (int i = 0; i < nkids; i++) {
        if (kids[i] > 0) {
            kill(kids[i], sig);
        }
    }
}

static void
on_signal(int sig)
{
    if (sig != SIGHUP) {
        told_to_stop = 1;
    }
    forward(sig);
}

const char *
cli_multi_proc(const char *proc)
{
    static char name[96];

    if (child_ns[0] == '\0') {
        return proc;
    }
    snprintf(name, sizeof name, "%s@%s", proc, child_ns);
    return name;
}

/* The worker's queues into the plan: "NS:queue" entries go to NS, the
 * others to every namespace (appended after the plan is known). */
static int
plan_queues(struct cli *cli, struct ns_plan *p, const char *csv,
            const char *default_ns)
{
    char plain[1024] = "";
    int rc = CLI_OK;

    for (const char *s = csv; *s != '\0';) {
        size_t n = strcspn(s, ",");
        const char *entry = s;
        const char *colon = memchr(s, ':', n);
        char *dst = plain;
        if (colon != NULL) {
            int i = plan_ns(cli, p, s, (size_t)(colon - s), &rc);
            if (i < 0) {
                return rc;
            }
            dst = p->queues[i];
            n -= (size_t)(colon + 1 - s);
            s = colon + 1;
            if (n == 0) {
                /* "NS:" alone would serve NS's default queues, or the
                 * plain ones, not what was written */
                return cli_usage(cli, "--queues: '%.*s' names no queue "
                                 "(NS:QUEUE)", (int)(s - entry), entry);
            }
        }
        if (strlen(dst) + n + 2 > sizeof plain) {
            return cli_usage(cli, "--queues: the list is too long");
        }
        snprintf(dst + strlen(dst), sizeof plain - strlen(dst), "%s%.*s",
                 dst[0] != '\0' ? "," : "", (int)n, s);
        s += n;
        s += *s == ',';
    }
    if (p->n == 0 && plan_ns(cli, p, default_ns, strlen(default_ns), &rc) < 0) {
        return rc;
    }
    for (int i = 0; i < p->n && plain[0] != '\0'; i++) {
        size_t l = strlen(p->queues[i]);
        snprintf(p->queues[i] + l, sizeof p->queues[i] - l, "%s%s",
                 l > 0 ? "," : "", plain);
    }
    return CLI_OK;
}

/* Wait for every child; when one ends on its own, stop the others. */
static int
supervise(const struct ns_plan *p)
{
    int worst = 0, left = nkids;
    bool stopping = false;

    while (left > 0) {
        int st = 0;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (int i = 0; i < nkids; i++) {
            if (kids[i] == pid) {
                int code = WIFEXITED(st) ? WEXITSTATUS(st)
                                         : 128 + WTERMSIG(st);
                kids[i] = 0;
                left--;
                worst = code > worst ? code : worst;
                if (!stopping && !told_to_stop && left > 0) {
                    fprintf(stderr, "syncq: worker: the worker of "
                            "namespace %s stopped (status %d): stopping the "
                            "others\n", p->name[i], code);
                    stopping = true;
                    forward(SIGTERM);
                }
            }
        }
    }
    return worst;
}

static int
spawn_all(struct cli *cli, const struct ns_plan *p, bool *child)
{
    struct sigaction sa;
    static const int sigs[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP};
    pid_t parent = getpid();

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t s = 0; s < sizeof sigs / sizeof sigs[0]; s++) {
        sigaction(sigs[s], &sa, NULL);
    }
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < p->n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            forward(SIGTERM);
            cli_fail(cli, "fork: %s", strerror(errno));
            supervise(p);
            return CLI_FAIL;
        }
        if (pid == 0) {
            /* a parent killed outright takes its children with it */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent) {
                _exit(CLI_FAIL);
            }
            sa.sa_handler = SIG_DFL;
            for (size_t s = 0; s < sizeof sigs / sizeof sigs[0]; s++) {
                sigaction(sigs[s], &sa, NULL);
            }
            in_child = true;
            nkids = 0;
            *child = true;
            return become(cli, p, i, true);
        }
        kids[i] = pid;
        nkids = i + 1;
    }
    return supervise(p);
}

bool
cli_multi_worker(struct cli *cli, int *rc)
{
    struct ns_plan p = {0};
    syncq_config *cfg = cli_config(cli);
    const char *list = ns_option(cli);
    bool child = false;

    if (in_child || cfg == NULL) {
        *rc = CLI_FAIL;
        return cfg == NULL;
    }
    if (list == NULL &&
        strchr(syncq_config_str(cfg, "SYNCQ_WORKER_QUEUES"), ':') == NULL) {
        return false; /* the usual single namespace: nothing to change */
    }
    *rc = list != NULL ? plan_list(cli, &p, list) : CLI_OK;
    if (*rc == CLI_OK) {
        *rc = plan_queues(cli, &p,
                          syncq_config_str(cfg, "SYNCQ_WORKER_QUEUES"),
                          syncq_config_str(cfg, "SYNCQ_NAMESPACE"));
    }
    if (*rc != CLI_OK) {
        return true;
    }
    if (p.n == 1) {
        *rc = become(cli, &p, 0, true);
        return *rc != CLI_OK;
    }
    *rc = spawn_all(cli, &p, &child);
    return !child || *rc != CLI_OK;
}

int
cli_multi_configs(struct cli *cli, syncq_config ***more, size_t *nmore)
{
    struct ns_plan p = {0};
    syncq_config *cfg = cli_config(cli);
    const char *list = ns_option(cli);
    syncq_error err;
    int rc;

    *more = NULL;
    *nmore = 0;
    if (cfg == NULL) {
        return CLI_FAIL;
    }
    if (list == NULL) {
        return CLI_OK; /* SYNCQ_NAMESPACE's, as ever */
    }
    rc = plan_list(cli, &p, list);
    if (rc == CLI_OK) {
        rc = set(cli, "SYNCQ_NAMESPACE", p.name[0]);
    }
    if (rc != CLI_OK || p.n == 1) {
        return rc;
    }
    *more = sq_calloc((size_t)p.n - 1, sizeof **more);
    if (*more == NULL) {
        return cli_fail(cli, "out of memory");
    }
    for (int i = 1; i < p.n; i++) {
        syncq_config *m = NULL;
        if (syncq_config_new(&m, &err) != SYNCQ_OK ||
            sq_config_copy(m, cfg, &err) != SYNCQ_OK ||
            syncq_config_set(m, "SYNCQ_NAMESPACE", p.name[i], "--namespace",
                             &err) != SYNCQ_OK) {
            syncq_config_free(m);
            cli_multi_configs_free(*more, *nmore);
            *more = NULL;
            *nmore = 0;
            return cli_usage(cli, "%s", err.msg);
        }
        (*more)[(*nmore)++] = m;
    }
    return CLI_OK;
}

void
cli_multi_configs_free(syncq_config **more, size_t nmore)
{
    for (size_t i = 0; i < nmore; i++) {
        syncq_config_free(more[i]);
    }
    sq_free(more);
}
