/* SPDX-License-Identifier: MIT
 *
 * sq_config_defs.c: every setting of syncq, one row each (Redis config.c).
 * Read by the loader, `syncq config show`, docs/configuration.md (generated
 * by `syncq config docs`) and tests. Add a row here, never a getenv()
 * elsewhere. Durations: plain numbers are seconds.
 */
#include "core/sq_config.h"

#define S(x) (x * 1000LL)
#define DAY (86400LL * 1000)
#define BIG (1LL << 50)

const struct sq_cfg_def sq_cfg_defs[] = {
    /* broker */
    {"SYNCQ_BROKER_URL", "CELERY_BROKER_URL", SQ_CFG_URL, 0, 0,
     "redis://127.0.0.1:6379/0", NULL, SQ_CFG_SECRET, "broker",
     "Redis URL: redis[s]://[user:password@]host:port/db, "
     "sentinel[+tls]://h1:p1,h2:p2/master?db=N, "
     "redis[s]+cluster://h1:p1,h2:p2/0 or unix:///path?db=N"},
    {"SYNCQ_RESULT_BACKEND", "CELERY_RESULT_BACKEND", SQ_CFG_URL, 0, 0, "",
     NULL, SQ_CFG_SECRET, "broker",
     "Accepted for compatibility; results live with the task record in the "
     "broker, so it must be empty or name the broker's Redis"},
    {"SYNCQ_NAMESPACE", NULL, SQ_CFG_STR, 0, 0, "syncq", NULL, 0, "broker",
     "Key prefix and Redis Cluster hash tag: keys are {NAMESPACE}:..."},
    {"SYNCQ_BROKER_USERNAME", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "broker",
     "Redis ACL user when the broker URL names none (docs/deployment.md)"},
    {"SYNCQ_BROKER_TLS_VERIFY", NULL, SQ_CFG_ENUM, 0, 0, "required",
     "required|none", 0, "broker",
     "rediss:// certificate checks; none disables them (logged as a warning "
     "at every connect); URL ssl_cert_reqs= overrides"},
    {"SYNCQ_BROKER_TLS_CA_FILE", NULL, SQ_CFG_URL, 0, 0, "", NULL, 0, "broker",
     "PEM file of the CAs trusted for rediss:// (default: the system store)"},
    {"SYNCQ_BROKER_TLS_CA_DIR", NULL, SQ_CFG_URL, 0, 0, "", NULL, 0, "broker",
     "Hashed directory of trusted CAs for rediss:// (c_rehash layout)"},
    {"SYNCQ_BROKER_TLS_CERT_FILE", NULL, SQ_CFG_URL, 0, 0, "", NULL, 0,
     "broker", "Client certificate (PEM chain) for rediss:// when the server "
               "asks for one"},
    {"SYNCQ_BROKER_TLS_KEY_FILE", NULL, SQ_CFG_URL, 0, 0, "", NULL, 0,
     "broker", "Private key (PEM) of SYNCQ_BROKER_TLS_CERT_FILE"},
    {"SYNCQ_BROKER_TLS_SERVER_NAME", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0,
     "broker", "Name sent as SNI and checked against the certificate instead "
               "of the host connected to (e.g. Sentinel hands out addresses)"},
    {"SYNCQ_BROKER_MIN_REPLICAS", NULL, SQ_CFG_INT, 0, 16, "0", NULL, 0,
     "broker", "Replicas that must confirm (WAIT) every enqueue and outcome "
               "before it is acknowledged; 0 = the master alone"},
    {"SYNCQ_BROKER_MIN_REPLICAS_TIMEOUT", NULL, SQ_CFG_DURATION, 10, S(60),
     "2", NULL, 0, "broker",
     "How long an enqueue or outcome waits for SYNCQ_BROKER_MIN_REPLICAS "
     "before it fails as not acknowledged"},
    {"SYNCQ_BROKER_FUNCTIONS", NULL, SQ_CFG_BOOL, 0, 0, "1", NULL, 0,
     "broker", "Run the broker's Lua as one Redis Functions library (loaded "
               "once per server, FCALL) on Redis >= 7; 0 sends it as scripts "
               "(EVALSHA), as on older Redis"},
    {"SYNCQ_REDIS_TIMEOUT", NULL, SQ_CFG_DURATION, 100, S(600), "5", NULL, 0,
     "broker", "Connect and command timeout for Redis"},
    {"SYNCQ_RECONNECT_MAX_DELAY", NULL, SQ_CFG_DURATION, 100, S(300), "10",
     NULL, 0, "broker", "Cap of the exponential reconnect backoff"},
    {"SYNCQ_RESULT_EXPIRES", "CELERY_RESULT_EXPIRES", SQ_CFG_DURATION, S(1),
     3650 * DAY, "1d", NULL, 0, "broker",
     "How long finished task records and results are kept"},
    {"SYNCQ_MAX_PAYLOAD", NULL, SQ_CFG_SIZE, 1024, 512LL << 20, "8M", NULL, 0,
     "broker", "Largest args+kwargs (and result) of one task, in bytes"},
    {"SYNCQ_EVENTS_MAXLEN", NULL, SQ_CFG_INT, 0, 100000000, "100000", NULL, 0,
     "broker", "Approximate cap of the events stream (0 disables events)"},
    {"SYNCQ_TASKS_RECENT_MAX", NULL, SQ_CFG_INT, 100, 100000000, "100000",
     NULL, 0, "broker",
     "Finished tasks listed for search (the dashboard's task browser, "
     "task list); their records expire per SYNCQ_RESULT_EXPIRES"},
    {"SYNCQ_MAX_DELIVERIES", NULL, SQ_CFG_INT, 1, 1000, "5", NULL, 0,
     "broker",
     "Deliveries (leases that lapsed or whose worker died) before a task "
     "goes to the dead-letter queue"},
    {"SYNCQ_LEASE_TIMEOUT", "CELERY_BROKER_VISIBILITY_TIMEOUT",
     SQ_CFG_DURATION, 500, DAY, "30", NULL, 0, "broker",
     "Lease length; heartbeats renew it while the task runs"},
    {"SYNCQ_UNIQUE_WINDOW", NULL, SQ_CFG_DURATION, S(1), 365 * DAY, "1h",
     NULL, 0, "broker", "Default deduplication window of --unique keys"},
    {"SYNCQ_TASK_DEFAULT_QUEUE", "CELERY_TASK_DEFAULT_QUEUE", SQ_CFG_STR, 0,
     0, "default", NULL, 0, "broker", "Queue of tasks with no route"},
    {"SYNCQ_TASK_MAX_RETRIES", "CELERY_TASK_MAX_RETRIES", SQ_CFG_INT, 0,
     1000, "3", NULL, 0, "broker", "Default max_retries of a task"},
    {"SYNCQ_TASK_MAX_DEFERRALS", NULL, SQ_CFG_INT, 1, 1000000, "200", NULL,
     0, "worker",
     "Deferrals (waits it did not cause) before a task is dead-lettered"},

    /* worker */
    {"SYNCQ_WORKER_CONCURRENCY", "CELERY_WORKER_CONCURRENCY", SQ_CFG_INT, 1,
     1024, "4", NULL, 0, "worker", "Child processes of a worker"},
    {"SYNCQ_WORKER_PREFETCH", "CELERY_WORKER_PREFETCH_MULTIPLIER", SQ_CFG_INT,
     1, 1000, "1", NULL, 0, "worker",
     "Tasks leased per child at a time (1: a long task never holds others)"},
    {"SYNCQ_WORKER_QUEUES", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "worker",
     "Queues served, in order of preference (empty: default, then the "
     "queues the registered tasks route to)"},
    {"SYNCQ_TASK_TIME_LIMIT", "CELERY_TASK_TIME_LIMIT", SQ_CFG_DURATION,
     S(1), 30 * DAY, "1800", NULL, 0, "worker",
     "Hard time limit: the child is killed, the task fails with timeout"},
    {"SYNCQ_TASK_SOFT_TIME_LIMIT", "CELERY_TASK_SOFT_TIME_LIMIT",
     SQ_CFG_DURATION, S(1), 30 * DAY, "1500", NULL, 0, "worker",
     "Soft time limit: the task is told to stop (SIGUSR1)"},
    {"SYNCQ_WORKER_MAX_TASKS_PER_CHILD", "CELERY_WORKER_MAX_TASKS_PER_CHILD",
     SQ_CFG_INT, 0, BIG, "0", NULL, 0, "worker",
     "Recycle a child after this many tasks (0: never)"},
    {"SYNCQ_WORKER_MAX_MEMORY_PER_CHILD",
     "CELERY_WORKER_MAX_MEMORY_PER_CHILD", SQ_CFG_INT, 0, BIG, "0", NULL, 0,
     "worker", "Recycle a child whose RSS passes this many KB (0: never)"},
    {"SYNCQ_HEARTBEAT_INTERVAL", NULL, SQ_CFG_DURATION, 100, S(300), "2",
     NULL, 0, "worker", "Worker heartbeat and lease renewal period"},
    {"SYNCQ_CANCEL_GRACE", NULL, SQ_CFG_DURATION, 0, S(3600), "10", NULL, 0,
     "worker", "After a cancel, how long a running task may take to stop"},
    {"SYNCQ_SHUTDOWN_GRACE", NULL, SQ_CFG_DURATION, 0, S(86400), "30", NULL,
     0, "worker", "Warm shutdown: how long running tasks may finish"},
    {"SYNCQ_PLUGINS", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "worker",
     "Comma-separated task plugin .so files loaded by the worker"},
    {"SYNCQ_WORKER_HOSTNAME", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "worker",
     "Worker name in heartbeats, leases and metrics: %h host, %n short "
     "host, %d domain, %i the first free index (default %h-%i: the same "
     "name after a restart)"},
    {"SYNCQ_WORKER_STATUS_FILE", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0,
     "worker",
     "JSON liveness file the supervisor rewrites every second, readable "
     "while Redis is down (empty: none)"},

    /* celery (docs/celery.md) */
    {"SYNCQ_CELERY", NULL, SQ_CFG_BOOL, 0, 0, "0", NULL, 0, "celery",
     "syncq worker also consumes Celery protocol 2 messages from kombu's "
     "Redis queues and writes Celery results (--celery)"},
    {"SYNCQ_CELERY_QUEUES", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "celery",
     "Celery queues consumed by --celery, comma-separated (empty: the "
     "worker's queues); each is also served as a syncq queue"},
    {"SYNCQ_CELERY_PRIORITY_STEPS", NULL, SQ_CFG_STR, 0, 0, "0,3,6,9", NULL,
     0, "celery", "kombu's priority_steps transport option (every Celery "
                  "peer must use the same)"},
    {"SYNCQ_CELERY_VISIBILITY_TIMEOUT", NULL, SQ_CFG_DURATION, S(1),
     30 * DAY, "1h", NULL, 0, "celery",
     "kombu's visibility_timeout: unacked Celery messages older than this "
     "are put back on their queue (same value on every peer)"},
    {"SYNCQ_CELERY_PREFETCH_MULTIPLIER", NULL, SQ_CFG_INT, 1, 1000, "4",
     NULL, 0, "celery",
     "Celery messages held per child (taken, not finished) before the "
     "worker stops taking more, as worker_prefetch_multiplier"},
    {"SYNCQ_CELERY_EVENTS", "CELERY_WORKER_SEND_TASK_EVENTS", SQ_CFG_BOOL, 0,
     0, "0", NULL, 0, "celery",
     "Send task events on celeryev for Flower and celery events (-E)"},
    {"SYNCQ_CELERY_TRACK_STARTED", "CELERY_TASK_TRACK_STARTED", SQ_CFG_BOOL,
     0, 0, "0", NULL, 0, "celery",
     "Write the STARTED state of Celery tasks to the result backend"},

    /* logging */
    {"SYNCQ_LOG_LEVEL", "CELERY_LOG_LEVEL", SQ_CFG_ENUM, 0, 0, "info",
     "debug|info|warning|warn|error", 0, "logging", "Log level"},
    {"SYNCQ_LOG_FORMAT", NULL, SQ_CFG_ENUM, 0, 0, "text", "text|json", 0,
     "logging", "text (logfmt) or json (one object a line, for ELK)"},
    {"SYNCQ_LOG_DIR", NULL, SQ_CFG_STR, 0, 0, "logs", NULL, 0, "logging",
     "Directory of worker.log, beat.log, monitor.log when daemons log to "
     "files"},

    /* beat */
    {"SYNCQ_TIMEZONE", "CELERY_TIMEZONE", SQ_CFG_STR, 0, 0, "Asia/Shanghai",
     NULL, 0, "beat", "Default IANA time zone of schedules"},
    {"SYNCQ_BEAT_SCHEDULE_FILE", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "beat",
     "Static schedule file loaded when the beat starts"},
    {"SYNCQ_BEAT_LOCK_TTL", NULL, SQ_CFG_DURATION, S(1), S(600), "10", NULL,
     0, "beat", "Leader lock lifetime; a dead leader is replaced after it"},
    {"SYNCQ_BEAT_CATCH_UP_CAP", NULL, SQ_CFG_INT, 1, 100000, "100", NULL, 0,
     "beat", "Most missed ticks fired by the catch_up policy"},
    {"SYNCQ_BEAT_MISSED_GRACE", NULL, SQ_CFG_DURATION, 0, DAY, "60", NULL, 0,
     "beat", "A tick later than this counts as missed (its schedule's "
     "missed-run policy applies)"},

    /* recovery */
    {"SYNCQ_RETRY_POLICY_FILE", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0,
     "recovery", "Retry policies by error class (overrides the defaults)"},
    {"SYNCQ_CHECKPOINT_HISTORY", NULL, SQ_CFG_INT, 1, 1000, "3", NULL, 0,
     "recovery", "Checkpoints kept per task"},
    {"SYNCQ_CHECKPOINT_TTL", NULL, SQ_CFG_DURATION, S(60), 3650 * DAY, "7d",
     NULL, 0, "recovery", "Checkpoint expiry"},
    {"SYNCQ_CHECKPOINT_MAX", NULL, SQ_CFG_SIZE, 16, 512LL << 20, "4M", NULL, 0,
     "recovery", "Largest checkpoint, in bytes"},

    /* monitor */
    {"SYNCQ_MONITOR_LISTEN", NULL, SQ_CFG_STR, 0, 0, "127.0.0.1:5555", NULL,
     0, "monitor", "Address of `syncq monitor serve`"},
    {"SYNCQ_MONITOR_TOKEN", NULL, SQ_CFG_STR, 0, 0, "", NULL, SQ_CFG_SECRET,
     "monitor", "Bearer token required by the monitor (needed off loopback)"},
    {"SYNCQ_API_TOKEN", NULL, SQ_CFG_STR, 0, 0, "", NULL, SQ_CFG_SECRET,
     "monitor",
     "Bearer token of the task API's writes (monitor serve); "
     "SYNCQ_MONITOR_TOKEN then only reads"},
    {"SYNCQ_MONITOR_TOKENS_FILE", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0,
     "monitor",
     "Named per-person tokens, one \"NAME read|write TOKEN\" a line; "
     "actions are logged with the name (docs/dashboard.md)"},
    {"SYNCQ_MONITOR_SESSION_TTL", NULL, SQ_CFG_DURATION, S(60), 30 * DAY,
     "12h", NULL, 0, "monitor",
     "Life of a dashboard sign-in session (its cookie's Max-Age)"},
    {"SYNCQ_API_MAX_BODY", NULL, SQ_CFG_SIZE, 1024, 512LL << 20, "16M", NULL,
     0, "monitor", "Largest request body of the task API (413 above)"},
    {"SYNCQ_API_IDEMPOTENCY_TTL", NULL, SQ_CFG_DURATION, S(1), 30 * DAY,
     "1d", NULL, 0, "monitor",
     "How long an Idempotency-Key of the task API is remembered"},
    {"SYNCQ_ALERT_RULES", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "monitor",
     "Alert rules file (empty: the shipped defaults)"},
    {"SYNCQ_ALERT_WEBHOOK", NULL, SQ_CFG_URL, 0, 0, "", NULL, SQ_CFG_SECRET,
     "monitor", "URL that receives a JSON POST per alert state change"},
    {"SYNCQ_SENTRY_DSN", "SENTRY_DSN", SQ_CFG_URL, 0, 0, "", NULL,
     SQ_CFG_SECRET, "monitor", "Sentry DSN for task failures and crashes"},
    {"SYNCQ_HEALTH_STALE_AFTER", NULL, SQ_CFG_DURATION, S(1), DAY, "30",
     NULL, 0, "monitor",
     "A worker heartbeat (or consumer loop) older than this is stale"},
    {"SYNCQ_HEALTH_MAX_ERROR_RATE", NULL, SQ_CFG_INT, 0, 100, "20", NULL, 0,
     "monitor", "Health is degraded above this error rate (percent, 5 min)"},

    /* data */
    {"SYNCQ_DATABASE_URL", "DATABASE_URL", SQ_CFG_URL, 0, 0,
     "var/1688sync.db", NULL, SQ_CFG_SECRET, "data",
     "SQLite path, or postgresql://user:pass@host/db"},
    {"SYNCQ_MEDIA_DIR", NULL, SQ_CFG_STR, 0, 0, "var/media", NULL, 0, "data",
     "Content-addressed image store"},
    {"SYNCQ_EXPORT_DIR", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "data",
     "When set, batch_export writes only inside this directory (relative "
     "paths are taken from it; .. and symlinks out of it are refused)"},
    {"SYNCQ_RAW_DIR", NULL, SQ_CFG_STR, 0, 0, "var/raw", NULL, 0, "data",
     "Raw API responses kept for sync and inspection"},

    /* crawler */
    {"SYNCQ_1688_BASE_URL", NULL, SQ_CFG_URL, 0, 0,
     "https://gw.open.1688.com/openapi", NULL, 0, "crawler",
     "1688 Open Platform gateway (or the fixture server)"},
    {"SYNCQ_1688_APP_KEY", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "crawler",
     "Open Platform app key"},
    {"SYNCQ_1688_APP_SECRET", NULL, SQ_CFG_STR, 0, 0, "", NULL,
     SQ_CFG_SECRET, "crawler", "Open Platform app secret (signs requests)"},
    {"SYNCQ_1688_ACCESS_TOKEN", NULL, SQ_CFG_STR, 0, 0, "", NULL,
     SQ_CFG_SECRET, "crawler", "Open Platform access token"},
    {"SYNCQ_CRAWLER_RATE", NULL, SQ_CFG_STR, 0, 0, "20/s", NULL, 0,
     "crawler", "Requests per host, shared by every worker (N/s or N/min)"},
    {"SYNCQ_CRAWLER_CONCURRENCY", NULL, SQ_CFG_INT, 1, 10000, "8", NULL, 0,
     "crawler", "Requests in flight per host across all workers"},
    {"SYNCQ_CRAWLER_CONNECT_TIMEOUT", NULL, SQ_CFG_DURATION, 100, S(600),
     "10", NULL, 0, "crawler", "HTTP connect timeout"},
    {"SYNCQ_CRAWLER_TIMEOUT", NULL, SQ_CFG_DURATION, 100, S(3600), "30",
     NULL, 0, "crawler", "HTTP total timeout"},
    {"SYNCQ_CRAWLER_USER_AGENT", NULL, SQ_CFG_STR, 0, 0,
     "syncq/0.1 (+1688sync)", NULL, 0, "crawler", "HTTP User-Agent"},
    {"SYNCQ_CRAWLER_COOLDOWN", NULL, SQ_CFG_DURATION, 0, DAY, "300", NULL, 0,
     "crawler", "Pause of a host after a captcha/anti-bot page"},
    {"SYNCQ_CRAWLER_BURST", NULL, SQ_CFG_INT, 1, 1000, "1", NULL, 0,
     "crawler",
     "Token-bucket burst per host (1: evenly spaced, so no window of the "
     "rate's period holds more than its limit)"},
    {"SYNCQ_CRAWLER_MAX_WAIT", NULL, SQ_CFG_DURATION, 0, S(3600), "5", NULL,
     0, "crawler",
     "Longest a task waits in place for a rate-limit slot or a host "
     "cool-down; longer waits retry the task later (Retry-After)"},
    {"SYNCQ_FETCH_ALLOW", NULL, SQ_CFG_STR, 0, 0, "", NULL, 0, "crawler",
     "Addresses that fetches from task arguments (image URLs; base_url, "
     "page_url, shop_url) may reach although loopback, private, link-local, "
     "multicast or unspecified: IP, IP/prefix or IP:port, comma-separated"},
    {"SYNCQ_1688_LANGUAGE", NULL, SQ_CFG_STR, 0, 0, "en", NULL, 0, "crawler",
     "country (language) of cross-border API calls: en, ko, ja, ru, ..."},
    {"SYNCQ_1688_DETAIL_SOURCE", NULL, SQ_CFG_ENUM, 0, 0, "api", "api|page",
     0, "crawler",
     "Where fetch_product_details reads an offer: the cross-border API or "
     "the web offer page (window.__INIT_DATA)"},
    {"SYNCQ_1688_PAGE_URL", NULL, SQ_CFG_URL, 0, 0, "https://detail.1688.com",
     NULL, 0, "crawler", "Base of web offer pages: <base>/offer/<id>.html"},
    {"SYNCQ_1688_SHOP_API_URL", NULL, SQ_CFG_URL, 0, 0,
     "http://api.tmapi.top/1688/shop/shop_info", NULL, 0, "crawler",
     "Shop/company info endpoint (TMAPI shop_info shape; the Open Platform "
     "has no public one)"},
    {"SYNCQ_1688_SHOP_API_TOKEN", NULL, SQ_CFG_STR, 0, 0, "", NULL,
     SQ_CFG_SECRET, "crawler", "apiToken of the shop info endpoint"},
    {"SYNCQ_IMAGE_MAX_BYTES", NULL, SQ_CFG_SIZE, 1024, 1LL << 30, "20M",
     NULL, 0, "images", "Largest image downloaded"},
    {"SYNCQ_IMAGE_RATE", NULL, SQ_CFG_STR, 0, 0, "20/s", NULL, 0, "images",
     "Image requests per host, shared by every worker (the "
     "SYNCQ_CRAWLER_RATE syntax)"},
    {"SYNCQ_IMAGE_CONCURRENCY", NULL, SQ_CFG_INT, 1, 10000, "8", NULL, 0,
     "images", "Image requests in flight per host across all workers"},
    {"SYNCQ_IMAGE_QUALITY", NULL, SQ_CFG_INT, 1, 100, "82", NULL, 0,
     "images", "JPEG/WebP quality of optimize_images"},
    {"SYNCQ_THUMBNAIL_SIZES", NULL, SQ_CFG_STR, 0, 0, "220x220,400x400",
     NULL, 0, "images", "Thumbnail sizes made by generate_thumbnails"},
};

const size_t sq_cfg_ndefs = sizeof sq_cfg_defs / sizeof sq_cfg_defs[0];
