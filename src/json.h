/* moat — strict, typed access to JSON documents (config.json, policy files,
 * seccomp profiles) on top of yajl's tree representation.
 *
 * json_parse() builds an ordinary yajl tree (free it with json_free() or
 * yajl_tree_free()) but, unlike yajl_tree_parse(), it
 *   - takes an explicit length, so a NUL byte in the text is a syntax error,
 *   - rejects strings and object keys that contain a NUL byte (\u0000),
 *   - rejects comments and nesting deeper than JSON_MAX_DEPTH,
 *   - sets YAJL_NUMBER_INT_VALID correctly (yajl 2.1.0 never sets it),
 *   - reports syntax errors on one line with their position.
 *
 * Every accessor takes the document name ("config.json", a full path, ...)
 * and the JSON path of the parent ("" for the top level, "linux",
 * "process.rlimits[2]") so an error reads
 *     config.json: linux.uidMappings[0].size: expected unsigned 32-bit integer
 * Paths use dots for keys and [i] for array indices; a key that is not a
 * plain identifier is written ["like.this"].
 *
 * json_get_* return 1 when the key is present, 0 when it is absent (a JSON
 * null counts as absent, as it does for Go's encoding/json) and a negative
 * value with *err set on a type error, a missing required key or a key
 * that appears twice in the object.  When absent, pointer outputs are set
 * to NULL and scalar outputs are left untouched (so the caller can
 * pre-load a default).  Strings and string vectors are freshly allocated. */
#ifndef MOAT_JSON_H
#define MOAT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "error.h"

#define JSON_MAX_DEPTH 64

/* Parse len bytes of text.  The whole of text must be one JSON value. */
int json_parse (const char *text, size_t len, const char *docname, yajl_val *out, moat_error **err);
void json_free (yajl_val v);

static inline void cleanup_json_fn (yajl_val *v) { if (*v) json_free (*v); }
#define cleanup_json __attribute__ ((cleanup (cleanup_json_fn)))

/* "DOCNAME: PATH: message" (either part omitted when NULL or empty).
 * Returns -1. */
int json_error (moat_error **err, const char *docname, const char *path, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

/* Path building: json_path_key ("linux", "namespaces") = "linux.namespaces",
 * json_path_key ("", "root") = "root", json_path_index ("mounts", 2) =
 * "mounts[2]".  Malloc'd. */
char *json_path_key (const char *parent, const char *key);
char *json_path_index (const char *parent, size_t index);

/* str_printable_n (s, 128): a copy of s fit to be quoted in a message
 * (control bytes and invalid UTF-8 escaped as \xNN), cut after 128 bytes.
 * Malloc'd. */
char *json_printable (const char *s);

/* "object", "array", "string", "number", "boolean", "null". */
const char *json_type_name (yajl_val v);

/* Look a key up (NULL if v is not an object or has no such key).  No
 * duplicate check: prefer json_get_value. */
yajl_val json_lookup (yajl_val obj, const char *key);

/* ---- members of an object ----------------------------------------------
 * obj may be NULL (an absent parent): every key is then absent.  obj that
 * is not an object is an error "PARENT: expected object". */
int json_get_value (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                    yajl_val *out, bool required, moat_error **err);
int json_get_object (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                     yajl_val *out, bool required, moat_error **err);
int json_get_array (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                    yajl_val *out, bool required, moat_error **err);
int json_get_string (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                     char **out, bool required, moat_error **err);
int json_get_bool (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                   bool *out, bool required, moat_error **err);
int json_get_int64 (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                    int64_t *out, bool required, moat_error **err);
int json_get_int32 (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                    int32_t *out, bool required, moat_error **err);
int json_get_uint64 (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                     uint64_t *out, bool required, moat_error **err);
int json_get_uint32 (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                     uint32_t *out, bool required, moat_error **err);
/* An array of strings as a NULL-terminated vector (an empty array gives a
 * non-NULL empty vector).  Free with strv_free. */
int json_get_strv (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                   char ***out, bool required, moat_error **err);
/* An object whose values are all strings, as two parallel NULL-terminated
 * vectors in document order (free with strv_free); duplicate keys are an
 * error. */
int json_get_string_map (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                         char ***keys, char ***values, size_t *n, bool required, moat_error **err);

/* ---- a value in hand (e.g. an array element) ----------------------------
 * path is the value's own path ("process.args[1]").  v must not be NULL.
 * They return 0 or a negative value with *err set. */
int json_as_object (yajl_val v, const char *docname, const char *path, moat_error **err);
int json_as_array (yajl_val v, const char *docname, const char *path, moat_error **err);
int json_as_string (yajl_val v, const char *docname, const char *path, char **out, moat_error **err);
int json_as_bool (yajl_val v, const char *docname, const char *path, bool *out, moat_error **err);
int json_as_int64 (yajl_val v, const char *docname, const char *path, int64_t *out, moat_error **err);
int json_as_int32 (yajl_val v, const char *docname, const char *path, int32_t *out, moat_error **err);
int json_as_uint64 (yajl_val v, const char *docname, const char *path, uint64_t *out, moat_error **err);
int json_as_uint32 (yajl_val v, const char *docname, const char *path, uint32_t *out, moat_error **err);
int json_as_strv (yajl_val v, const char *docname, const char *path, char ***out, moat_error **err);

#endif
