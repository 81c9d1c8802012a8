/* SPDX-License-Identifier: MIT
 *
 * mon_api_openapi.c: the OpenAPI 3.1 document served at
 * /api/openapi.json, generated from the route table (sq_mon_routes) that
 * the server routes requests with and from the spec field tables
 * (mon_api_spec.c) that check request bodies, so the document cannot
 * drift from what the server does.
 */
#include "monitor/mon_api_http.h"
#include "monitor/mon_api_spec.h"

#include <stdio.h>
#include <string.h>
#include <syncq/syncq.h>
#include <syncq/version.h>

static json_t *
error_schema(void)
{
    return json_pack(
        "{s:s,s:[s,s],s:{s:{s:s},s:{s:s},s:{s:s,s:{s:s,s:[s,s],s:{s:{s:s},"
        "s:{s:s}}}}}}",
        "type", "object", "required", "error", "message", "properties",
        "error", "type", "string", "message", "type", "string", "errors",
        "type", "array", "items", "type", "object", "required", "field",
        "message", "properties", "field", "type", "string", "message",
        "type", "string");
}

static json_t *
components(void)
{
    json_t *schemas = json_object();
    json_t *task = sq_spec_schema(SQ_SPEC_TASK);

    json_object_set_new(schemas, "TaskSpec", task);
    json_object_set_new(
        schemas, "TaskList",
        json_pack("{s:s,s:[s],s:{s:{s:s,s:i,s:i,s:{s:s}}},s:b}", "type",
                  "object", "required", "tasks", "properties", "tasks",
                  "type", "array", "minItems", 1, "maxItems", 10000,
                  "items", "$ref", "#/components/schemas/TaskSpec",
                  "additionalProperties", 0));
    json_object_set_new(schemas, "BatchSpec", sq_spec_schema(SQ_SPEC_BATCH));
    json_object_set_new(schemas, "ScheduleSpec",
                        sq_spec_schema(SQ_SPEC_SCHEDULE));
    json_object_set_new(schemas, "Error", error_schema());
    /* docs/dashboard.md names every field and command */
    json_object_set_new(
        schemas, "BulkAction",
        json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}", "type", "object",
                  "properties", "filter", "type", "object", "strategy",
                  "type", "string", "expect", "type", "integer"));
    json_object_set_new(
        schemas, "ControlCommand",
        json_pack("{s:s,s:[s],s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s}}}", "type",
                  "object", "required", "command", "properties", "command",
                  "type", "string", "n", "type", "integer", "queue", "type",
                  "string", "task", "type", "string"));
    return json_pack(
        "{s:o,s:{s:{s:s,s:s,s:s}}}", "schemas", schemas, "securitySchemes",
        "bearer", "type", "http", "scheme", "bearer", "description",
        "SYNCQ_API_TOKEN (read and write) or SYNCQ_MONITOR_TOKEN (read "
        "only when SYNCQ_API_TOKEN is set); none needed on a loopback "
        "server without tokens");
}

static json_t *
param(const char *name, const char *in, const char *type, const char *doc,
      bool required)
{
    return json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", name, "in", in,
                     "required", required, "description", doc, "schema",
                     "type", type);
}

static json_t *
json_response(const char *doc, bool error)
{
    json_t *schema = error ? json_pack("{s:s}", "$ref",
                                       "#/components/schemas/Error")
                           : json_pack("{}");
    return json_pack("{s:s,s:{s:{s:o}}}", "description", doc, "content",
                     "application/json", "schema", schema);
}

/* The operation object of one route. */
static json_t *
operation(const struct sq_route_def *d, const char *op_id)
{
    json_t *op = json_object(), *params = json_array(), *resp;
    const char *p;
    bool creates = (d->flags & SQ_RF_BODY) != 0;

    json_object_set_new(op, "operationId", json_string(op_id));
    json_object_set_new(op, "summary", json_string(d->summary));
    json_object_set_new(op, "tags", json_pack("[s]", d->tag));
    for (p = strchr(d->path, '{'); p != NULL; p = strchr(p + 1, '{')) {
        char name[16];
        size_t n = strcspn(p + 1, "}");
        snprintf(name, sizeof name, "%.*s", (int)n, p + 1);
        json_array_append_new(
            params, param(name, "path", "string",
                          strcmp(name, "name") == 0 ? "schedule name"
                                                    : "task or batch id",
                          true));
    }
    for (const struct sq_route_param *qp = d->query; qp != NULL &&
                                                     qp->name != NULL;
         qp++) {
        json_array_append_new(params,
                              param(qp->name, "query", qp->type, qp->doc,
                                    false));
    }
    if (sq_api_route_takes_ns(d->kind)) {
        json_array_append_new(
            params, param("ns", "query", "string",
                          "the namespace to read or act in, one of "
                          "/api/namespaces (default: the first); 404 for "
                          "a namespace this server does not serve",
                          false));
    }
    if (creates && d->kind != SQ_R_SCHEDULE_CREATE) {
        json_array_append_new(
            params, param("Idempotency-Key", "header", "string",
                          "a retried request with the same key gets the "
                          "first reply (same task id), never a second task",
                          false));
    }
    if (json_array_size(params) > 0) {
        json_object_set_new(op, "parameters", params);
    } else {
        json_decref(params);
    }
    if (d->body != NULL) {
        char ref[64];
        snprintf(ref, sizeof ref, "#/components/schemas/%s", d->body);
        json_object_set_new(
            op, "requestBody",
            json_pack("{s:b,s:{s:{s:{s:s}}}}", "required", 1, "content",
                      "application/json", "schema", "$ref", ref));
    }
    resp = json_object();
    json_object_set_new(resp, creates ? "201" : "200",
                        json_response(creates ? "created" : "ok", false));
    json_object_set_new(resp, "400", json_response("bad request: one error "
                                                   "per field in errors",
                                                   true));
    if (d->flags & SQ_RF_WRITE) {
        json_object_set_new(resp, "401",
                            json_response("a token is required", true));
        json_object_set_new(resp, "403",
                            json_response("the token may only read", true));
    }
    if (creates) {
        json_object_set_new(resp, "413",
                            json_response("body over SYNCQ_API_MAX_BODY",
                                          true));
    }
    if (d->kind == SQ_R_TASK_WAIT) {
        json_object_set_new(resp, "408",
                            json_response("still running at the timeout",
                                          false));
    }
    json_object_set_new(resp, "503", json_response("Redis unreachable",
                                                   true));
    json_object_set_new(op, "responses", resp);
    if (d->flags & SQ_RF_WRITE) {
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
    }
    return op;
}

json_t *
sq_api_openapi(void)
{
    json_t *paths = json_object(), *doc;

    for (size_t i = 0; i < sq_mon_nroutes; i++) {
        const struct sq_route_def *d = &sq_mon_routes[i];
        json_t *item;
        char method[8], op_id[80];
        size_t j;

        if (d->flags & SQ_RF_HIDDEN) {
            continue;
        }
        item = json_object_get(paths, d->path);
        if (item == NULL) {
            item = json_object();
            json_object_set_new(paths, d->path, item);
        }
        for (j = 0; d->method[j] != '\0' && j + 1 < sizeof method; j++) {
            method[j] = (char)(d->method[j] | 0x20); /* lower case */
        }
        method[j] = '\0';
        snprintf(op_id, sizeof op_id, "%s", method);
        for (const char *p = d->path; *p != '\0'; p++) {
            size_t l = strlen(op_id);
            if (l + 2 >= sizeof op_id) {
                break;
            }
            if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) {
                op_id[l] = *p;
                op_id[l + 1] = '\0';
            } else if (op_id[l - 1] != '_') {
                op_id[l] = '_';
                op_id[l + 1] = '\0';
            }
        }
        json_object_set_new(item, method, operation(d, op_id));
    }
    doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:o,s:o}", "openapi", "3.1.0",
                    "info", "title", "syncq task API", "version",
                    SYNCQ_VERSION_STRING, "description",
                    "Create, read, wait for, cancel and resume syncq tasks, "
                    "batches and schedules; read health and figures. "
                    "Generated from the server's route table.",
                    "paths", paths, "components", components());
    return doc;
}

void
sq_api_h_openapi(struct sq_api_server *S, const struct sq_api_req *q,
                 struct sq_api_reply *r)
{
    json_t *doc = sq_api_openapi();

    (void)S;
    (void)q;
    if (doc == NULL) {
        sq_api_error(r, 500, "ENOMEM", "out of memory", NULL);
        return;
    }
    sq_api_json(r, 200, doc);
    json_decref(doc);
}
