/* SPDX-License-Identifier: MIT
 *
 * test_net_guard.c: the address rules of fetches from task arguments
 * (common/sq_netguard.h): every refused range by name (IPv4, IPv6 and
 * IPv6 forms carrying an IPv4 address), public addresses allowed, the
 * SYNCQ_FETCH_ALLOW grammar (addresses, prefixes, ports; host names and
 * junk refused with the entry named) and its effect, and the setting
 * checked when the configuration is loaded.
 */
#include "sq_test.h"

#include "sq_netguard.h"
#include <syncq/config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* The verdict on "addr" port `port` (v4 or v6 text). */
static const char *
judge(const char *addr, int port, const struct sq_netallow *al)
{
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;

    memset(&s4, 0, sizeof s4);
    memset(&s6, 0, sizeof s6);
    if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
        s4.sin_family = AF_INET;
        s4.sin_port = htons((uint16_t)port);
        return sq_netguard_check((struct sockaddr *)&s4, sizeof s4, al);
    }
    assert_int_equal(inet_pton(AF_INET6, addr, &s6.sin6_addr), 1);
    s6.sin6_family = AF_INET6;
    s6.sin6_port = htons((uint16_t)port);
    return sq_netguard_check((struct sockaddr *)&s6, sizeof s6, al);
}

static void
refuses_every_special_range(void **state)
{
    static const struct {
        const char *addr;
        const char *why;
    } t[] = {
        {"169.254.169.254", "link-local"},
        {"169.254.0.1", "link-local"},
        {"127.0.0.1", "loopback"},
        {"127.255.0.9", "loopback"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"192.168.1.1", "private"},
        {"100.64.0.1", "shared (carrier-grade NAT)"},
        {"0.0.0.0", "unspecified"},
        {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"},
        {"255.255.255.255", "broadcast"},
        {"240.0.0.1", "reserved"},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"fe80::1", "link-local"},
        {"fc00::1", "private"},
        {"fd12:3456::1", "private"},
        {"fec0::1", "private"},
        {"ff02::1", "multicast"},
        {"::ffff:169.254.169.254", "link-local"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:10.0.0.1", "private"},
        {"::127.0.0.1", "loopback"},
        {"64:ff9b::a9fe:a9fe", "link-local"},
        {"2002:7f00:1::", "loopback"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *why = judge(t[i].addr, 80, NULL);
        if (why == NULL || strcmp(why, t[i].why) != 0) {
            fail_msg("%s: got %s, expected %s", t[i].addr,
                     why != NULL ? why : "(allowed)", t[i].why);
        }
    }
}

static void
allows_public_addresses(void **state)
{
    static const char *const ok[] = {"8.8.8.8", "172.32.0.1", "172.15.255.1",
                                     "100.128.0.1", "169.255.0.1",
                                     "2a00:1450:4001::200e", "::ffff:8.8.8.8",
                                     "2002:0808:0808::", "1.1.1.1"};

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *why = judge(ok[i], 443, NULL);
        if (why != NULL) {
            fail_msg("%s refused as %s", ok[i], why);
        }
    }
}

static void
allow_list_names_exceptions(void **state)
{
    struct sq_netallow al;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_netallow_parse(" 127.0.0.1:8080 , 10.0.0.0/8,"
                                       "[::1]:9000, fd00::/8,",
                                       &al, &err),
                     SYNCQ_OK);
    assert_int_equal(al.n, 4);
    /* address with a port: that port only */
    assert_null(judge("127.0.0.1", 8080, &al));
    assert_string_equal(judge("127.0.0.1", 8081, &al), "loopback");
    assert_string_equal(judge("127.0.0.2", 8080, &al), "loopback");
    /* the mapped form of an allowed IPv4 address is the same address */
    assert_null(judge("::ffff:127.0.0.1", 8080, &al));
    /* a prefix: any port, the whole range, not beyond */
    assert_null(judge("10.200.3.4", 1, &al));
    assert_null(judge("11.0.0.1", 1, &al)); /* public anyway */
    assert_string_equal(judge("192.168.0.1", 1, &al), "private");
    assert_null(judge("::1", 9000, &al));
    assert_string_equal(judge("::1", 9001, &al), "loopback");
    assert_null(judge("fd99::5", 443, &al));
    assert_string_equal(judge("fc00::5", 443, &al), "private");
    /* the metadata address stays refused */
    assert_string_equal(judge("169.254.169.254", 80, &al), "link-local");
    assert_int_equal(sq_netallow_parse("", &al, &err), SYNCQ_OK);
    assert_int_equal(al.n, 0);
    assert_int_equal(sq_netallow_parse("0.0.0.0/0", &al, &err), SYNCQ_OK);
    assert_null(judge("169.254.169.254", 80, &al));
}

static void
allow_list_refuses_bad_entries(void **state)
{
    static const char *const bad[] = {
        "localhost",       "fixture:8080", "127.0.0.1/33", "::1/129",
        "127.0.0.1:0",     "127.0.0.1:70000", "[::1]",      "[::1]/8",
        "10.0.0.0/8:80",   "1.2.3",        "127.0.0.1:",   "/8",
    };
    struct sq_netallow al;
    syncq_error err;
    char many[2048] = "";

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (sq_netallow_parse(bad[i], &al, &err) != SYNCQ_EINVAL) {
            fail_msg("'%s' accepted", bad[i]);
        }
        assert_int_equal(al.n, 0);
    }
    assert_int_equal(sq_netallow_parse("10.0.0.1, localhost", &al, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "'localhost' is not an IP address"));
    for (int i = 0; i <= SQ_NETALLOW_MAX; i++) {
        char one[32];
        snprintf(one, sizeof one, "10.0.0.%d,", i);
        strncat(many, one, sizeof many - strlen(many) - 1);
    }
    assert_int_equal(sq_netallow_parse(many, &al, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "more than 32 entries"));
}

static void
setting_checked_at_load(void **state)
{
    syncq_config *cfg = NULL;
    syncq_error err;

    (void)state;
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_FETCH_ALLOW", "metadata",
                                      NULL, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_FETCH_ALLOW"));
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_FETCH_ALLOW",
                                      "127.0.0.1:8080", NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(
        syncq_config_set(cfg, "SYNCQ_IMAGE_RATE", "fast", NULL, &err),
        SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_IMAGE_RATE"));
    syncq_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_every_special_range),
        cmocka_unit_test(allows_public_addresses),
        cmocka_unit_test(allow_list_names_exceptions),
        cmocka_unit_test(allow_list_refuses_bad_entries),
        cmocka_unit_test(setting_checked_at_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
