/* SPDX-License-Identifier: MIT
 *
 * crawler_values.h: coercion of the loose values 1688 sends into the
 * normalised record's types: prices (decimal strings, integers or floats)
 * into integer fen, ids sent as strings or numbers into int64, "false"
 * strings into booleans, image URLs (relative, scheme-less, resized
 * variants) into the original absolute URL, and location texts into
 * province and city. Pure functions on borrowed input; never allocate
 * except where they return an owned string.
 */
#ifndef SQ_CRAWLER_VALUES_H
#define SQ_CRAWLER_VALUES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest price accepted, in fen (10^13 fen = 100 billion CNY). */
#define SQ_1688_MAX_FEN 10000000000000LL

/* Parse a CNY decimal text ("2.30", "56", " 8.9 ", "¥12.5") into fen.
 * More than two decimals are rounded half up ("10.005" -> 1001).
 * Returns false for empty text, signs, garbage, or values over
 * SQ_1688_MAX_FEN; *out is untouched then. */
bool sq_1688_fen_parse(const char *s, int64_t *out);

/* A JSON price (string as above, integer yuan, or real yuan rounded to the
 * nearest fen) into fen. False for null, other types and bad values. */
bool sq_1688_json_fen(const json_t *v, int64_t *out);

/* A JSON integer, an integral real, or a string of decimal digits (spaces
 * around allowed) into int64. False otherwise. */
bool sq_1688_json_int(const json_t *v, int64_t *out);

/* A JSON real or integer, or a decimal string ("0.933", "12%" gives 12)
 * into a double. False otherwise (also for NaN/inf). */
bool sq_1688_json_num(const json_t *v, double *out);

/* A JSON bool, or the strings "true"/"false" (1688 sends both), or 0/1.
 * False (and *out untouched) for anything else. */
bool sq_1688_json_bool(const json_t *v, bool *out);

/* The string value of `v`, or NULL when not a string or empty after
 * trimming spaces. Borrowed from `v`. */
const char *sq_1688_json_str(const json_t *v);

/* Follow a dotted path of object keys ("result.result.offerId"); NULL if
 * any step is missing or not an object. Borrowed. */
json_t *sq_1688_jpath(const json_t *root, const char *path);

/* Normalise an image URL to its original: trims spaces, turns "//host/.."
 * into "https://host/..", a relative "img/ibank/.." (or "/img/ibank/..")
 * into "https://cbu01.alicdn.com/img/ibank/..", and strips resize
 * suffixes (".220x220.jpg", ".search.jpg", ".summ.jpg" after the stem,
 * "_460x460q100.jpg", "_220x220.jpg", "_.webp" after the extension).
 * Returns an owned string (sq_free), or NULL for empty input, input that
 * is not an http(s) or image path, or out of memory. */
char *sq_1688_image_url(const char *url);

/* The seller user id embedded in a current-format image path
 * ("..._!!2926666289-0-cib.jpg"), or 0 when there is none. */
int64_t sq_1688_image_seller_id(const char *url);

/* Split a location text into province and city without their 省/市/
 * 自治区 suffixes: "广东省肇庆市" -> 广东, 肇庆; "中国 广东 深圳 xx" ->
 * 广东, 深圳; "上海市" -> 上海, 上海. Empty outputs when unknown. */
void sq_1688_location_split(const char *text, char *province, size_t pcap,
                            char *city, size_t ccap);

/* Allocation failures inside the builders below (and in
 * sq_1688_image_url) are remembered per thread until sq_1688_oom_take()
 * reads and clears the flag: a parser clears it first and turns it into
 * SYNCQ_ENOMEM at the end, so no field is ever silently missing. */
void sq_1688_oom_note(void);
bool sq_1688_oom_take(void);

/* True when a failed json_loadb failed for lack of memory: jansson says
 * so, or (it reports a failed allocation inside a string as a syntax
 * error) a probe allocation fails too. */
bool sq_1688_load_oom(const json_error_t *jerr);

/* json_object_set_new / json_array_append_new that note a failure (also
 * a NULL `v`, the sign of a failed json_* constructor). Steal `v`.
 * Return 0 or -1. */
int sq_1688_put(json_t *obj, const char *key, json_t *v);
int sq_1688_append(json_t *arr, json_t *v);

/* Set `key` of `obj` to a new integer, or to null when !has. */
void sq_1688_set_int(json_t *obj, const char *key, bool has, int64_t v);

/* Set `key` of `obj` to the integer in `v` (sq_1688_json_int) when it is
 * >= min, else to null. */
void sq_1688_set_jint(json_t *obj, const char *key, const json_t *v,
                      int64_t min);

/* Set `key` to a new string copy of `s`, or null when s is NULL/empty. */
void sq_1688_set_str(json_t *obj, const char *key, const char *s);

#endif
