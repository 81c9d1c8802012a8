/* SPDX-License-Identifier: MIT
 *
 * test_core_url.c: Redis URL parsing and password masking.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "sq_url.h"

#include <string.h>

static void
parses_tcp_url_with_password_and_db(void **state)
{
    struct sq_redis_url u;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_redis_url_parse("redis://alice:s%40cret@10.0.0.5:6390/3",
                                        &u, &err),
                     SYNCQ_OK);
    assert_false(u.is_unix);
    assert_string_equal(u.host, "10.0.0.5");
    assert_int_equal(u.port, 6390);
    assert_int_equal(u.db, 3);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.pass, "s@cret");
    assert_true(u.has_pass);
}

static void
parses_defaults_and_password_only(void **state)
{
    struct sq_redis_url u;

    (void)state;
    assert_int_equal(sq_redis_url_parse("redis://localhost", &u, NULL),
                     SYNCQ_OK);
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_false(u.has_pass);
    assert_int_equal(sq_redis_url_parse("redis://:pw@h:1/0", &u, NULL),
                     SYNCQ_OK);
    assert_string_equal(u.user, "");
    assert_string_equal(u.pass, "pw");
    assert_int_equal(sq_redis_url_parse("redis://[::1]:7000/2", &u, NULL),
                     SYNCQ_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 2);
}

static void
parses_unix_socket_urls(void **state)
{
    struct sq_redis_url u;

    (void)state;
    assert_int_equal(
        sq_redis_url_parse("unix:///tmp/r.sock?db=4&password=x%20y", &u, NULL),
        SYNCQ_OK);
    assert_true(u.is_unix);
    assert_string_equal(u.path, "/tmp/r.sock");
    assert_int_equal(u.db, 4);
    assert_string_equal(u.pass, "x y");
    assert_int_equal(sq_redis_url_parse("redis+unix:///var/run/r.sock", &u,
                                        NULL),
                     SYNCQ_OK);
    assert_string_equal(u.path, "/var/run/r.sock");
}

static void
parses_tls_and_sentinel_urls(void **state)
{
    struct sq_redis_url u;

    (void)state;
    assert_int_equal(sq_redis_url_parse("rediss://bob:pw@cache.example:6380/2"
                                        "?ssl_cert_reqs=CERT_REQUIRED&"
                                        "ssl_ca_certs=/etc/ca%20x.pem",
                                        &u, NULL),
                     SYNCQ_OK);
    assert_true(u.tls);
    assert_false(u.sentinel);
    assert_string_equal(u.host, "cache.example");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.user, "bob");
    assert_int_equal(u.tls_verify, 1);
    assert_string_equal(u.ca_file, "/etc/ca x.pem");
    assert_int_equal(sq_redis_url_parse("rediss://h?ssl_cert_reqs=none", &u,
                                        NULL),
                     SYNCQ_OK);
    assert_int_equal(u.tls_verify, 0);
    assert_int_equal(sq_redis_url_parse("redis://h", &u, NULL), SYNCQ_OK);
    assert_false(u.tls);
    assert_int_equal(u.tls_verify, -1);
    assert_int_equal(sq_redis_url_parse("sentinel+tls://u:p@s1:26400,s2,"
                                        "[::1]:26402/my-master?db=3&"
                                        "sentinel_password=sp",
                                        &u, NULL),
                     SYNCQ_OK);
    assert_true(u.tls);
    assert_true(u.sentinel);
    assert_int_equal(u.nhosts, 3);
    assert_string_equal(u.hosts[0].host, "s1");
    assert_int_equal(u.hosts[0].port, 26400);
    assert_string_equal(u.hosts[1].host, "s2");
    assert_int_equal(u.hosts[1].port, 26379);
    assert_string_equal(u.hosts[2].host, "::1");
    assert_int_equal(u.hosts[2].port, 26402);
    assert_string_equal(u.master, "my-master");
    assert_int_equal(u.db, 3);
    assert_string_equal(u.pass, "p");
    assert_string_equal(u.sentinel_pass, "sp");
}

static void
parses_cluster_urls(void **state)
{
    struct sq_redis_url u;

    (void)state;
    assert_int_equal(sq_redis_url_parse("redis+cluster://u:p@n1:7000,n2,"
                                        "[::1]:7002/0",
                                        &u, NULL),
                     SYNCQ_OK);
    assert_true(u.cluster);
    assert_false(u.tls);
    assert_false(u.sentinel);
    assert_int_equal(u.nhosts, 3);
    assert_string_equal(u.hosts[0].host, "n1");
    assert_int_equal(u.hosts[0].port, 7000);
    assert_int_equal(u.hosts[1].port, 6379);
    assert_string_equal(u.hosts[2].host, "::1");
    assert_string_equal(u.host, "n1"); /* messages name the first seed */
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.user, "u");
    assert_string_equal(u.pass, "p");
    assert_int_equal(sq_redis_url_parse("rediss+cluster://n1:7000?"
                                        "ssl_cert_reqs=none",
                                        &u, NULL),
                     SYNCQ_OK);
    assert_true(u.cluster);
    assert_true(u.tls);
    assert_int_equal(u.tls_verify, 0);
    assert_int_equal(u.nhosts, 1);
}

static void
rejects_malformed_urls_with_reason(void **state)
{
    static const struct {
        const char *url;
        int code;
        const char *needle;
    } bad[] = {
        {"", SYNCQ_EINVAL, "empty"},
        {"http://h:1", SYNCQ_EINVAL, "scheme"},
        {"redis://h:99999", SYNCQ_EINVAL, "port"},
        {"redis://h:12ab", SYNCQ_EINVAL, "port"},
        {"redis://h/x", SYNCQ_EINVAL, "database"},
        {"redis://:pw@", SYNCQ_EINVAL, "host"},
        {"unix://relative.sock", SYNCQ_EINVAL, "absolute"},
        {"unix:///s?db=x", SYNCQ_EINVAL, "query"},
        {"sentinel://h1:1,h2:2", SYNCQ_EINVAL, "master name"},
        {"sentinel://h1:1/", SYNCQ_EINVAL, "master name"},
        {"sentinel://h1:1,/m", SYNCQ_EINVAL, "host"},
        {"sentinel://h1:0/m", SYNCQ_EINVAL, "port"},
        {"sentinel://a,b,c,d,e,f,g,h,i/m", SYNCQ_EINVAL, "more than 8"},
        {"rediss://h?ssl_cert_reqs=maybe", SYNCQ_EINVAL, "ssl_cert_reqs"},
        {"redis://h o:1", SYNCQ_EINVAL, "host"},
        {"redis+cluster://n1:7000/3", SYNCQ_EINVAL, "database 0 only"},
        {"redis+cluster://n1:7000?db=1", SYNCQ_EINVAL, "database 0 only"},
        {"redis+cluster:///0", SYNCQ_EINVAL, "no seed node listed"},
        {"redis+cluster://n1:7000,/0", SYNCQ_EINVAL, "host"},
        {"redis+cluster://a,b,c,d,e,f,g,h,i", SYNCQ_EINVAL,
         "more than 8 seed nodes"},
        {"rediss+cluster://n1:70000", SYNCQ_EINVAL, "port"},
        {"redis-cluster://n1:7000", SYNCQ_EINVAL, "redis+cluster://"},
    };
    struct sq_redis_url u;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        syncq_error err;
        int rc = sq_redis_url_parse(bad[i].url, &u, &err);
        assert_int_equal(rc, bad[i].code);
        if (strstr(err.msg, bad[i].needle) == NULL) {
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].url, err.msg,
                     bad[i].needle);
        }
    }
}

static void
error_messages_never_show_the_password(void **state)
{
    struct sq_redis_url u;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_redis_url_parse("redis://u:topsecret@h:0", &u, &err),
                     SYNCQ_EINVAL);
    assert_null(strstr(err.msg, "topsecret"));
    assert_non_null(strstr(err.msg, "****"));
}

static void
redacts_passwords(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"redis://:pw@h:1/0", "redis://:****@h:1/0"},
        {"redis://user:pw@h:1/0", "redis://user:****@h:1/0"},
        {"redis://h:1/0", "redis://h:1/0"},
        {"redis://user@h:1", "redis://user@h:1"},
        {"unix:///s?db=1&password=pw", "unix:///s?db=1&password=****"},
        {"sentinel://u:pw@a:1,b:2/m?password=x&sentinel_password=y",
         "sentinel://u:****@a:1,b:2/m?password=****&sentinel_password=****"},
        {"postgresql://app:pw@db/x", "postgresql://app:****@db/x"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = sq_url_redact(cases[i].in);
        assert_string_equal(r, cases[i].out);
        sq_free(r);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_tcp_url_with_password_and_db),
        cmocka_unit_test(parses_defaults_and_password_only),
        cmocka_unit_test(parses_unix_socket_urls),
        cmocka_unit_test(parses_tls_and_sentinel_urls),
        cmocka_unit_test(parses_cluster_urls),
        cmocka_unit_test(rejects_malformed_urls_with_reason),
        cmocka_unit_test(error_messages_never_show_the_password),
        cmocka_unit_test(redacts_passwords),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
