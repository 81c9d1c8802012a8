/* SPDX-License-Identifier: MIT
 *
 * cli_demo_pg.c: the private PostgreSQL of `syncq demo --database
 * postgresql`: a cluster in <var>/pg (initdb on first use, kept between
 * runs like the SQLite file), started with pg_ctl on a unix socket in
 * that directory only (listen_addresses='', no TCP port at all) and the
 * server's default durability, stopped when the demo stops. As root the
 * server runs as user postgres (initdb refuses root). A system
 * PostgreSQL is never touched.
 */
#include "cli/cli_demo_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The newest installed server binaries (Debian layout), or NULL. */
static const char *
pg_bindir(void)
{
    static char dir[256];
    glob_t g;

    if (dir[0] != '\0') {
        return dir;
    }
    if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) != 0) {
        return NULL;
    }
    /* glob sorts: the last is the newest of same-width versions */
    snprintf(dir, sizeof dir, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    *strrchr(dir, '/') = '\0';
    return dir;
}

/* Run argv (as user postgres when we are root), output to `log`; wait.
 * Returns the exit status, or -1. */
static int
run(const char *const *argv, const char *log)
{
    pid_t pid = fork();
    int status = 0;

    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int fd;
        if (getuid() == 0) {
            struct passwd *pw = getpwnam("postgres");
            if (pw == NULL || initgroups("postgres", pw->pw_gid) != 0 ||
                setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
                _exit(126);
            }
        }
        /* opened as the server's user: pg_ctl appends to it too */
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
own_by_postgres(const char *path)
{
    struct passwd *pw;

    if (getuid() == 0 && (pw = getpwnam("postgres")) != NULL &&
        chown(path, pw->pw_uid, pw->pw_gid) != 0) {
        /* initdb will say what it cannot write */
    }
}

int
cli_demo_pg_start(const char *var_abs, char *url, size_t cap, char *why,
                  size_t why_cap)
{
    const char *bin = pg_bindir();
    char dir[4096], data[4200], log[4200], tool[300], opts[4300];
    char ver[4300];
    struct stat sb;

    if (bin == NULL) {
        snprintf(why, why_cap, "PostgreSQL server binaries not found under "
                               "/usr/lib/postgresql (apt-get install "
                               "postgresql)");
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/pg", var_abs);
    if (strlen(dir) + sizeof "/.s.PGSQL.5432" > 107) {
        snprintf(why, why_cap, "%s is too long for a unix socket; use --var "
                               "with a shorter path", dir);
        return -1;
    }
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/pg.log", dir);
    snprintf(ver, sizeof ver, "%s/PG_VERSION", data);
    mkdir(dir, 0755);
    own_by_postgres(dir);
    if (stat(ver, &sb) != 0) {
        const char *argv[] = {tool, "-D", data, "-A", "trust", "-U",
                              "postgres", "-E", "UTF8", "--no-locale", NULL};
        snprintf(tool, sizeof tool, "%s/initdb", bin);
        if (run(argv, log) != 0) {
            snprintf(why, why_cap, "initdb failed (see %s)", log);
            return -1;
        }
    }
    snprintf(opts, sizeof opts, "-c listen_addresses='' -k %s", dir);
    {
        /* Still running from an interrupted demo: use it. */
        const char *argv[] = {tool, "-D", data, "status", NULL};
        snprintf(tool, sizeof tool, "%s/pg_ctl", bin);
        if (run(argv, "/dev/null") == 0) {
            goto started;
        }
    }
    {
        const char *argv[] = {tool, "-D", data, "-l", log, "-w", "-t", "60",
                              "-o", opts, "start", NULL};
        snprintf(tool, sizeof tool, "%s/pg_ctl", bin);
        if (run(argv, log) != 0) {
            snprintf(why, why_cap, "PostgreSQL did not start (see %s)", log);
            return -1;
        }
    }
started:
    {
        /* Fails harmlessly when the database exists (a second run). */
        const char *argv[] = {tool, "-h", dir, "-U", "postgres", "syncq",
                              NULL};
        snprintf(tool, sizeof tool, "%s/createdb", bin);
        (void)run(argv, log);
    }
    snprintf(url, cap, "postgresql:///syncq?host=%s&user=postgres", dir);
    return 0;
}

void
cli_demo_pg_stop(const char *var_abs)
{
    const char *bin = pg_bindir();
    char data[4200], log[4200], tool[300];

    if (bin == NULL) {
        return;
    }
    snprintf(data, sizeof data, "%s/pg/data", var_abs);
    snprintf(log, sizeof log, "%s/pg/pg.log", var_abs);
    snprintf(tool, sizeof tool, "%s/pg_ctl", bin);
    {
        const char *argv[] = {tool, "-D", data, "-m", "fast", "-w", "stop",
                              NULL};
        (void)run(argv, log);
    }
}
