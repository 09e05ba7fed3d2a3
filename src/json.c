#include "config-host.h"
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "util.h"

/* ---- messages and paths ------------------------------------------------ */

int
json_error (moat_error **err, const char *docname, const char *path, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;
  va_start (ap, fmt);
  int r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0)
    abort ();
  bool has_doc = docname && *docname, has_path = path && *path;
  /* The document name is a path from the command line or a bundle (JSON
   * paths come escaped by json_path_key, values by their callers). */
  cleanup_free char *doc = has_doc ? str_printable (docname) : NULL;
  if (has_doc && has_path)
    return moat_error_set (err, 0, "%s: %s: %s", doc, path, msg);
  if (has_doc || has_path)
    return moat_error_set (err, 0, "%s: %s", has_doc ? doc : path, msg);
  return moat_error_set (err, 0, "%s", msg);
}

static bool
key_is_plain (const char *key)
{
  if (*key == '\0')
    return false;
  for (const char *p = key; *p; p++)
    if (!(isascii ((unsigned char) *p) && (isalnum ((unsigned char) *p) || *p == '_' || *p == '-')))
      return false;
  return true;
}

char *
json_path_key (const char *parent, const char *key)
{
  const char *sep = (parent && *parent) ? "." : "";
  if (parent == NULL)
    parent = "";
  if (key_is_plain (key))
    return xasprintf ("%s%s%s", parent, sep, key);

  /* ["quoted key"], with quotes, backslashes and control bytes escaped. */
  size_t n = strlen (key);
  cleanup_free char *q = xmalloc0 (n * 4 + 1);
  char *o = q;
  for (const unsigned char *p = (const unsigned char *) key; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          *o++ = '\\';
          *o++ = (char) *p;
        }
      else if (*p < 0x20 || *p == 0x7f)
        o += sprintf (o, "\\x%02x", *p);
      else
        *o++ = (char) *p;
    }
  *o = '\0';
  return xasprintf ("%s[\"%s\"]", parent, q);
}

char *
json_path_index (const char *parent, size_t index)
{
  return xasprintf ("%s[%zu]", parent ? parent : "", index);
}

char *
json_printable (const char *s)
{
  return str_printable_n (s, 128);
}

const char *
json_type_name (yajl_val v)
{
  if (v == NULL)
    return "null";
  switch (v->type)
    {
    case yajl_t_string: return "string";
    case yajl_t_number: return "number";
    case yajl_t_object: return "object";
    case yajl_t_array: return "array";
    case yajl_t_true:
    case yajl_t_false: return "boolean";
    case yajl_t_null: return "null";
    default: return "unknown";
    }
}

/* ---- the parser --------------------------------------------------------
 * yajl's event parser building a yajl_tree-compatible tree (same node
 * layout, every piece malloc'd), so yajl_tree_free() frees it. */

struct frame
{
  yajl_val v;     /* the object or array being filled */
  char *key;      /* objects: the key whose value comes next */
  size_t cap;     /* allocated slots in v's arrays */
};

struct builder
{
  struct frame stack[JSON_MAX_DEPTH];
  size_t depth;
  yajl_val root;
  const char *docname;
  moat_error *err;
};

/* The path of the value selected by the first n frames. */
static char *
builder_path (const struct builder *b, size_t n)
{
  char *path = xstrdup ("");
  for (size_t i = 0; i < n; i++)
    {
      const struct frame *f = &b->stack[i];
      char *next;
      if (YAJL_IS_OBJECT (f->v))
        next = json_path_key (path, f->key ? f->key : "");
      else
        next = json_path_index (path, f->v->u.array.len);
      free (path);
      path = next;
    }
  return path;
}

static int
builder_fail (struct builder *b, size_t frames, const char *what)
{
  cleanup_free char *path = builder_path (b, frames);
  json_error (&b->err, b->docname, path, "%s", what);
  return 0;   /* yajl: abort */
}

static yajl_val
node_new (yajl_type t)
{
  yajl_val v = xmalloc0 (sizeof *v);
  v->type = t;
  return v;
}

static int
builder_add (struct builder *b, yajl_val v)
{
  if (b->depth == 0)
    {
      if (b->root != NULL)   /* yajl forbids a second top-level value */
        {
          yajl_tree_free (v);
          return builder_fail (b, 0, "more than one top-level value");
        }
      b->root = v;
      return 1;
    }
  struct frame *f = &b->stack[b->depth - 1];
  if (YAJL_IS_OBJECT (f->v))
    {
      size_t n = f->v->u.object.len;
      if (n == f->cap)
        {
          f->cap = f->cap ? f->cap * 2 : 8;
          f->v->u.object.keys = xrealloc ((void *) f->v->u.object.keys, f->cap * sizeof (char *));
          f->v->u.object.values = xrealloc (f->v->u.object.values, f->cap * sizeof (yajl_val));
        }
      f->v->u.object.keys[n] = f->key ? f->key : xstrdup ("");
      f->key = NULL;
      f->v->u.object.values[n] = v;
      f->v->u.object.len = n + 1;
    }
  else
    {
      size_t n = f->v->u.array.len;
      if (n == f->cap)
        {
          f->cap = f->cap ? f->cap * 2 : 8;
          f->v->u.array.values = xrealloc (f->v->u.array.values, f->cap * sizeof (yajl_val));
        }
      f->v->u.array.values[n] = v;
      f->v->u.array.len = n + 1;
    }
  return 1;
}

static int
cb_null (void *ctx)
{
  return builder_add (ctx, node_new (yajl_t_null));
}

static int
cb_boolean (void *ctx, int val)
{
  return builder_add (ctx, node_new (val ? yajl_t_true : yajl_t_false));
}

static bool
is_integer_literal (const char *s)
{
  if (*s == '-')
    s++;
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

static int
cb_number (void *ctx, const char *s, size_t len)
{
  yajl_val v = node_new (yajl_t_number);
  v->u.number.r = xmalloc0 (len + 1);
  memcpy (v->u.number.r, s, len);
  v->u.number.r[len] = '\0';
  char *end = NULL;
  if (is_integer_literal (v->u.number.r))
    {
      errno = 0;
      long long i = strtoll (v->u.number.r, &end, 10);
      if (errno == 0 && end && *end == '\0')
        {
          v->u.number.i = i;
          v->u.number.flags |= YAJL_NUMBER_INT_VALID;
        }
    }
  errno = 0;
  end = NULL;
  double d = strtod (v->u.number.r, &end);
  if (errno == 0 && end && *end == '\0')
    {
      v->u.number.d = d;
      v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
    }
  return builder_add (ctx, v);
}

static int
cb_string (void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;
  if (memchr (s, '\0', len) != NULL)
    return builder_fail (b, b->depth, "contains a NUL byte");
  yajl_val v = node_new (yajl_t_string);
  v->u.string = xmalloc0 (len + 1);
  memcpy (v->u.string, s, len);
  return builder_add (b, v);
}

static int
cb_map_key (void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;
  struct frame *f = &b->stack[b->depth - 1];
  if (memchr (s, '\0', len) != NULL)
    return builder_fail (b, b->depth - 1, "object key contains a NUL byte");
  free (f->key);
  f->key = xmalloc0 (len + 1);
  memcpy (f->key, s, len);
  return 1;
}

static int
push (struct builder *b, yajl_type t)
{
  if (b->depth == JSON_MAX_DEPTH)
    {
      cleanup_free char *what = xasprintf ("nested more than %d levels deep", JSON_MAX_DEPTH);
      return builder_fail (b, b->depth, what);
    }
  struct frame *f = &b->stack[b->depth++];
  f->v = node_new (t);
  f->key = NULL;
  f->cap = 0;
  return 1;
}

static int
pop (struct builder *b)
{
  struct frame *f = &b->stack[--b->depth];
  yajl_val v = f->v;
  free (f->key);
  f->key = NULL;
  f->v = NULL;
  return builder_add (b, v);
}

static int cb_start_map (void *ctx) { return push (ctx, yajl_t_object); }
static int cb_end_map (void *ctx) { return pop (ctx); }
static int cb_start_array (void *ctx) { return push (ctx, yajl_t_array); }
static int cb_end_array (void *ctx) { return pop (ctx); }

static void
builder_release (struct builder *b)
{
  while (b->depth > 0)
    {
      struct frame *f = &b->stack[--b->depth];
      free (f->key);
      yajl_tree_free (f->v);
    }
  yajl_tree_free (b->root);
  b->root = NULL;
}

static void
trim (char *s)
{
  size_t n = strlen (s);
  while (n > 0 && isspace ((unsigned char) s[n - 1]))
    s[--n] = '\0';
  size_t lead = strspn (s, " \t\r\n");
  memmove (s, s + lead, n - lead + 1);
}

/* yajl's terse message ("lexical error: invalid char in json text.") and
 * the line and column.  Never the verbose form: its second line is the
 * text around the error, and the document may be anything a symlink
 * points at (a config.json -> /etc/shadow must not print the hashes). */
static int
syntax_error (yajl_handle h, const char *text, size_t len, size_t off, const char *docname, moat_error **err)
{
  unsigned char *raw = yajl_get_error (h, 0, (const unsigned char *) text, len);
  cleanup_free char *msg = xstrdup (raw ? (const char *) raw : "parse error");
  if (raw)
    yajl_free_error (h, raw);
  /* Only ever one line, but no byte of it past the first newline either. */
  msg[strcspn (msg, "\n")] = '\0';
  trim (msg);
  size_t n = strlen (msg);
  if (n > 0 && msg[n - 1] == '.')
    msg[n - 1] = '\0';

  if (off > len)
    off = len;
  size_t line = 1, col = 1;
  for (size_t i = 0; i < off; i++)
    {
      if (text[i] == '\n')
        {
          line++;
          col = 1;
        }
      else
        col++;
    }
  cleanup_free char *doc = str_printable (docname);
  cleanup_free char *shown = str_printable (msg);
  return moat_error_set (err, 0, "%s: malformed JSON: %s at line %zu, column %zu (byte %zu)", doc, shown, line,
                         col, off);
}

int
json_parse (const char *text, size_t len, const char *docname, yajl_val *out, moat_error **err)
{
  static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_boolean,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end_map,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end_array,
  };
  struct builder b = { .docname = docname ? docname : "JSON" };
  *out = NULL;

  yajl_handle h = yajl_alloc (&callbacks, NULL, &b);
  if (h == NULL)
    abort ();
  /* Strict JSON: no comments, UTF-8 validated, one value (yajl defaults). */
  yajl_status st = yajl_parse (h, (const unsigned char *) text, len);
  size_t off = st == yajl_status_ok ? len : yajl_get_bytes_consumed (h);
  if (off > 0 && st != yajl_status_ok)
    off--;
  if (st == yajl_status_ok)
    st = yajl_complete_parse (h);

  int ret = 0;
  if (st == yajl_status_client_canceled || b.err != NULL)
    {
      if (err && *err == NULL)
        *err = steal_pointer (&b.err);
      else
        moat_error_free (&b.err);
      ret = -1;
    }
  else if (st != yajl_status_ok)
    ret = syntax_error (h, text, len, off, b.docname, err);
  else if (b.root == NULL)
    {
      cleanup_free char *doc = str_printable (b.docname);
      ret = moat_error_set (err, 0, "%s: malformed JSON: empty document", doc);
    }
  yajl_free (h);

  if (ret < 0)
    {
      builder_release (&b);
      return -1;
    }
  *out = b.root;
  return 0;
}

void
json_free (yajl_val v)
{
  yajl_tree_free (v);
}

/* ---- values in hand ---------------------------------------------------- */

int
json_as_object (yajl_val v, const char *docname, const char *path, moat_error **err)
{
  if (!YAJL_IS_OBJECT (v))
    return json_error (err, docname, path, "expected object");
  return 0;
}

int
json_as_array (yajl_val v, const char *docname, const char *path, moat_error **err)
{
  if (!YAJL_IS_ARRAY (v))
    return json_error (err, docname, path, "expected array");
  return 0;
}

int
json_as_string (yajl_val v, const char *docname, const char *path, char **out, moat_error **err)
{
  if (!YAJL_IS_STRING (v))
    return json_error (err, docname, path, "expected string");
  *out = xstrdup (v->u.string);
  return 0;
}

int
json_as_bool (yajl_val v, const char *docname, const char *path, bool *out, moat_error **err)
{
  if (YAJL_IS_TRUE (v))
    *out = true;
  else if (YAJL_IS_FALSE (v))
    *out = false;
  else
    return json_error (err, docname, path, "expected boolean");
  return 0;
}

/* The number as written, if it is an integer literal ("-12", not "1.0" or
 * "1e3"). */
static const char *
integer_text (yajl_val v)
{
  if (!YAJL_IS_NUMBER (v) || v->u.number.r == NULL || !is_integer_literal (v->u.number.r))
    return NULL;
  return v->u.number.r;
}

static bool
to_int64 (yajl_val v, int64_t min, int64_t max, int64_t *out)
{
  const char *s = integer_text (v);
  if (s == NULL)
    return false;
  char *end = NULL;
  errno = 0;
  long long i = strtoll (s, &end, 10);
  if (errno != 0 || *end != '\0' || i < min || i > max)
    return false;
  *out = (int64_t) i;
  return true;
}

static bool
to_uint64 (yajl_val v, uint64_t max, uint64_t *out)
{
  const char *s = integer_text (v);
  if (s == NULL || *s == '-')
    return false;
  char *end = NULL;
  errno = 0;
  unsigned long long u = strtoull (s, &end, 10);
  if (errno != 0 || *end != '\0' || u > max)
    return false;
  *out = (uint64_t) u;
  return true;
}

int
json_as_int64 (yajl_val v, const char *docname, const char *path, int64_t *out, moat_error **err)
{
  if (!to_int64 (v, INT64_MIN, INT64_MAX, out))
    return json_error (err, docname, path, "expected 64-bit integer");
  return 0;
}

int
json_as_int32 (yajl_val v, const char *docname, const char *path, int32_t *out, moat_error **err)
{
  int64_t i;
  if (!to_int64 (v, INT32_MIN, INT32_MAX, &i))
    return json_error (err, docname, path, "expected 32-bit integer");
  *out = (int32_t) i;
  return 0;
}

int
json_as_uint64 (yajl_val v, const char *docname, const char *path, uint64_t *out, moat_error **err)
{
  if (!to_uint64 (v, UINT64_MAX, out))
    return json_error (err, docname, path, "expected unsigned 64-bit integer");
  return 0;
}

int
json_as_uint32 (yajl_val v, const char *docname, const char *path, uint32_t *out, moat_error **err)
{
  uint64_t u;
  if (!to_uint64 (v, UINT32_MAX, &u))
    return json_error (err, docname, path, "expected unsigned 32-bit integer");
  *out = (uint32_t) u;
  return 0;
}

int
json_as_strv (yajl_val v, const char *docname, const char *path, char ***out, moat_error **err)
{
  if (!YAJL_IS_ARRAY (v))
    return json_error (err, docname, path, "expected array of strings");
  size_t n = v->u.array.len;
  for (size_t i = 0; i < n; i++)
    if (!YAJL_IS_STRING (v->u.array.values[i]))
      {
        cleanup_free char *p = json_path_index (path, i);
        return json_error (err, docname, p, "expected string");
      }
  char **r = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup (v->u.array.values[i]->u.string);
  *out = r;
  return 0;
}

/* ---- members ----------------------------------------------------------- */

yajl_val
json_lookup (yajl_val obj, const char *key)
{
  if (!YAJL_IS_OBJECT (obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

int
json_get_value (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                yajl_val *out, bool required, moat_error **err)
{
  *out = NULL;
  yajl_val found = NULL;
  if (obj != NULL)
    {
      if (!YAJL_IS_OBJECT (obj))
        return json_error (err, docname, parent_path, "expected object");
      bool seen = false;
      for (size_t i = 0; i < obj->u.object.len; i++)
        {
          if (strcmp (obj->u.object.keys[i], key) != 0)
            continue;
          if (seen)
            {
              cleanup_free char *p = json_path_key (parent_path, key);
              return json_error (err, docname, p, "duplicate key");
            }
          seen = true;
          found = obj->u.object.values[i];
        }
    }
  if (found == NULL || YAJL_IS_NULL (found))
    {
      if (required)
        {
          cleanup_free char *p = json_path_key (parent_path, key);
          return json_error (err, docname, p, "required field missing");
        }
      return 0;
    }
  *out = found;
  return 1;
}

/* Look the key up, then convert it with AS (json_as_*) under its own path. */
#define GET_WITH(AS, ...)                                               \
  do {                                                                  \
    yajl_val _v;                                                        \
    int _r = json_get_value (obj, key, docname, parent_path, &_v, required, err); \
    if (_r <= 0)                                                        \
      return _r;                                                        \
    cleanup_free char *_p = json_path_key (parent_path, key);           \
    if (AS (_v, docname, _p, ##__VA_ARGS__, err) < 0)                   \
      return -1;                                                        \
    return 1;                                                           \
  } while (0)

int
json_get_object (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                 yajl_val *out, bool required, moat_error **err)
{
  int r = json_get_value (obj, key, docname, parent_path, out, required, err);
  if (r <= 0)
    return r;
  if (!YAJL_IS_OBJECT (*out))
    {
      *out = NULL;
      cleanup_free char *p = json_path_key (parent_path, key);
      return json_error (err, docname, p, "expected object");
    }
  return 1;
}

int
json_get_array (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                yajl_val *out, bool required, moat_error **err)
{
  int r = json_get_value (obj, key, docname, parent_path, out, required, err);
  if (r <= 0)
    return r;
  if (!YAJL_IS_ARRAY (*out))
    {
      *out = NULL;
      cleanup_free char *p = json_path_key (parent_path, key);
      return json_error (err, docname, p, "expected array");
    }
  return 1;
}

int
json_get_string (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                 char **out, bool required, moat_error **err)
{
  *out = NULL;
  GET_WITH (json_as_string, out);
}

int
json_get_bool (yajl_val obj, const char *key, const char *docname, const char *parent_path,
               bool *out, bool required, moat_error **err)
{
  GET_WITH (json_as_bool, out);
}

int
json_get_int64 (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                int64_t *out, bool required, moat_error **err)
{
  GET_WITH (json_as_int64, out);
}

int
json_get_int32 (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                int32_t *out, bool required, moat_error **err)
{
  GET_WITH (json_as_int32, out);
}

int
json_get_uint64 (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                 uint64_t *out, bool required, moat_error **err)
{
  GET_WITH (json_as_uint64, out);
}

int
json_get_uint32 (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                 uint32_t *out, bool required, moat_error **err)
{
  GET_WITH (json_as_uint32, out);
}

int
json_get_strv (yajl_val obj, const char *key, const char *docname, const char *parent_path,
               char ***out, bool required, moat_error **err)
{
  *out = NULL;
  GET_WITH (json_as_strv, out);
}

static int
cmp_key_ptr (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int
json_get_string_map (yajl_val obj, const char *key, const char *docname, const char *parent_path,
                     char ***keys, char ***values, size_t *n, bool required, moat_error **err)
{
  *keys = NULL;
  *values = NULL;
  *n = 0;
  yajl_val m;
  int r = json_get_object (obj, key, docname, parent_path, &m, required, err);
  if (r <= 0)
    return r;
  cleanup_free char *path = json_path_key (parent_path, key);
  size_t len = m->u.object.len;
  for (size_t i = 0; i < len; i++)
    if (!YAJL_IS_STRING (m->u.object.values[i]))
      {
        cleanup_free char *p = json_path_key (path, m->u.object.keys[i]);
        return json_error (err, docname, p, "expected string");
      }
  /* Duplicate keys, in O(n log n). */
  if (len > 1)
    {
      cleanup_free const char **sorted = xmalloc0 (len * sizeof (char *));
      memcpy (sorted, m->u.object.keys, len * sizeof (char *));
      qsort (sorted, len, sizeof (char *), cmp_key_ptr);
      for (size_t i = 1; i < len; i++)
        if (strcmp (sorted[i - 1], sorted[i]) == 0)
          {
            cleanup_free char *p = json_path_key (path, sorted[i]);
            return json_error (err, docname, p, "duplicate key");
          }
    }
  char **k = xmalloc0 ((len + 1) * sizeof (char *));
  char **v = xmalloc0 ((len + 1) * sizeof (char *));
  for (size_t i = 0; i < len; i++)
    {
      k[i] = xstrdup (m->u.object.keys[i]);
      v[i] = xstrdup (m->u.object.values[i]->u.string);
    }
  *keys = k;
  *values = v;
  *n = len;
  return 1;
}
