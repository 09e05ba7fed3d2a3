/* moat — learn and explain: policies generated from what a workload did
 * (its audit log), and, for each record of a log, which wall stopped what
 * and the smallest change that would let it through. Nothing here changes
 * a policy in place: generate writes a new file, explain only says. */
#include "config-host.h"
#include "learn.h"
#include "audit.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "state.h"
#include "decode.h"
#include "util.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

/* ---- the audit log as records ------------------------------------------- */

struct rec_list
{
  yajl_val *v;
  size_t n;
};

static void
rec_list_free (struct rec_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    json_free (l->v[i]);
  free (l->v);
}

static int
read_records (const char *audit_dir, const char *id, bool missing_ok, struct rec_list *out, moat_error **err)
{
  /* The id becomes a file name: `../x` or `/etc/x` must not reach outside
   * the audit directory (every reader comes through here). */
  if (state_validate_id (id, err) < 0)
    return -1;
  cleanup_free char *path = audit_path (audit_dir, id);
  cleanup_free char *text = NULL;
  size_t len = 0;
  struct stat st;
  if (stat (path, &st) < 0 && errno == ENOENT)
    {
      /* No log: a container whose log stayed empty leaves none (delete
       * removes it), so this reads as a log with nothing in it; nothing to
       * learn from, though. */
      if (!missing_ok)
        return moat_error_set (err, 0, "audit log of `%s`: none (a container with no record leaves none): no "
                               "stopped call to learn from", id);
      cleanup_free char *shown = str_printable (path);
      log_warning ("%s: no audit log (none is kept for a container with no record; is the id or --audit-dir "
                   "right?)", shown);
      return 0;
    }
  if (read_file_at (AT_FDCWD, path, &text, &len, 0, err) < 0)
    return moat_error_wrap (err, "audit log of `%s`", id);
  char *line = text, *end = text + len;
  size_t lineno = 0, unreadable = 0, first = 0;
  while (line < end)
    {
      char *nl = memchr (line, '\n', (size_t) (end - line));
      size_t n = nl ? (size_t) (nl - line) : (size_t) (end - line);
      lineno++;
      if (n > 0)
        {
          yajl_val r;
          moat_error *e = NULL;
          if (json_parse (line, n, path, &r, &e) < 0)
            {
              /* One line the log should never have (moat writes whole
               * records of UTF-8 JSON) does not hide the others: it is
               * left out, counted, and said. */
              moat_error_free (&e);
              if (unreadable++ == 0)
                first = lineno;
            }
          else
            {
              out->v = xrealloc (out->v, (out->n + 1) * sizeof *out->v);
              out->v[out->n++] = r;
            }
        }
      line += n + 1;
    }
  if (unreadable)
    {
      cleanup_free char *shown = str_printable (path);
      log_warning ("%s: %zu line%s could not be read (the first: line %zu) and %s left out", shown, unreadable,
                   unreadable == 1 ? "" : "s", first, unreadable == 1 ? "is" : "are");
    }
  return 0;
}

/* A denied (or, under --learn, logged) call: what a policy could allow. */
static bool
is_stopped_call (yajl_val r)
{
  const char *kind = audit_rec_str (r, "kind"), *action = audit_rec_str (r, "action");
  return kind && strcmp (kind, "syscall") == 0 && action && strcmp (action, "allow") != 0;
}

/* ---- generate ----------------------------------------------------------- */

struct needed
{
  char *name;
  long long pid;
  char *comm;
  bool has_arg;          /* allow only this value of argument arg_index */
  unsigned arg_index;
  long long arg_value;
};

/* Where a record names the value that made the call what it was, the rule
 * allows that value only: socket(AF_UNIX) does not open socket(AF_INET),
 * ioctl(FIONREAD) not every ioctl, prctl(PR_SET_NAME) not every option,
 * clone with the flags of a fork not clone(CLONE_NEWUSER). */
static bool
arg_filter_of (yajl_val r, const char *name, unsigned *index, long long *value)
{
  static const struct { const char *call, *arg; unsigned index; } keys[] = {
    { "socket", "domain", 0 }, { "socketpair", "domain", 0 },
    { "ioctl", "request", 1 }, { "prctl", "option", 0 }, { "clone", "flags", 0 },
  };
  size_t k;
  for (k = 0; k < ARRAY_SIZE (keys) && strcmp (keys[k].call, name) != 0; k++)
    ;
  if (k == ARRAY_SIZE (keys))
    return false;
  yajl_val args = json_lookup (r, "args");
  yajl_val d = args && YAJL_IS_OBJECT (args) ? json_lookup (args, keys[k].arg) : NULL;
  if (d == NULL)
    return false;
  long long v = -1;
  if (YAJL_IS_INTEGER (d))
    v = YAJL_GET_INTEGER (d);
  else if (YAJL_IS_STRING (d))
    {
      const char *s = YAJL_GET_STRING (d);
      unsigned long long u = 0;
      char *end = NULL;
      if (strcmp (keys[k].arg, "domain") == 0)
        v = supervisor_af_value (s);
      else if (strcmp (name, "prctl") == 0)
        v = supervisor_prctl_value (s);
      else if (strcmp (name, "clone") == 0)
        v = supervisor_clone_flags_value (s, &u) == 0 ? (long long) u : -1;
      else if ((u = strtoull (s, &end, 0)), end != s && *end == '\0')
        v = (long long) u;   /* ioctl's request, in hex */
    }
  if (v < 0)
    return false;
  *index = keys[k].index;
  *value = v;
  return true;
}

/* What the kernel itself refused that the policy can grant (the records
 * of --audit-kernel, which --learn turns on): a capability to add, a
 * masked or read-only path to drop. */
struct grant
{
  char *what;             /* "CAP_CHOWN", or the path */
  int list;               /* GRANT_CAPS, GRANT_MASKED, GRANT_READONLY */
  char *call, *comm;
  long long pid;
};
enum { GRANT_CAPS, GRANT_MASKED, GRANT_READONLY, GRANT_LISTS };
static const char *const grant_member[GRANT_LISTS] = { "capabilities", "maskedPaths", "readonlyPaths" };

/* Emit V as JSON; at the array AT, append the rules for NEED after its own
 * elements; at the string NAME_AT, write NEW_NAME instead; at the base's
 * capabilities, append the grants; at its masked and read-only paths, leave
 * out the granted ones. */
struct gen_ctx
{
  yajl_gen g;
  yajl_val at, name_at;
  const char *new_name, *id;
  const struct needed *need;
  size_t n_need;
  yajl_val lists[GRANT_LISTS];
  const struct grant *grants;
  size_t n_grants;
};

static bool
granted (const struct gen_ctx *c, int list, const char *what)
{
  for (size_t i = 0; i < c->n_grants; i++)
    if (c->grants[i].list == list && strcmp (c->grants[i].what, what) == 0)
      return true;
  return false;
}

static void
gen_str (yajl_gen g, const char *s)
{
  yajl_gen_string (g, (const unsigned char *) s, strlen (s));
}

static void
gen_added_rules (const struct gen_ctx *c)
{
  for (size_t i = 0; i < c->n_need; i++)
    {
      const struct needed *n = &c->need[i];
      yajl_gen_map_open (c->g);
      gen_str (c->g, "names");
      yajl_gen_array_open (c->g);
      gen_str (c->g, n->name);
      yajl_gen_array_close (c->g);
      gen_str (c->g, "action");
      gen_str (c->g, "SCMP_ACT_ALLOW");
      if (n->has_arg)
        {
          gen_str (c->g, "args");
          yajl_gen_array_open (c->g);
          yajl_gen_map_open (c->g);
          gen_str (c->g, "index");
          yajl_gen_integer (c->g, n->arg_index);
          gen_str (c->g, "value");
          yajl_gen_integer (c->g, n->arg_value);
          gen_str (c->g, "op");
          gen_str (c->g, "SCMP_CMP_EQ");
          yajl_gen_map_close (c->g);
          yajl_gen_array_close (c->g);
        }
      gen_str (c->g, "comment");
      cleanup_free char *why = xasprintf ("learned from container %s: pid %lld (%s) needed it", c->id, n->pid,
                                          n->comm ? n->comm : "?");
      gen_str (c->g, why);
      yajl_gen_map_close (c->g);
    }
}

static void
gen_value (const struct gen_ctx *c, yajl_val v)
{
  yajl_gen g = c->g;
  if (v == c->name_at && c->new_name)
    {
      gen_str (g, c->new_name);
      return;
    }
  switch (v->type)
    {
    case yajl_t_string: gen_str (g, YAJL_GET_STRING (v)); break;
    case yajl_t_number: yajl_gen_number (g, v->u.number.r, strlen (v->u.number.r)); break;
    case yajl_t_true: yajl_gen_bool (g, 1); break;
    case yajl_t_false: yajl_gen_bool (g, 0); break;
    case yajl_t_null: yajl_gen_null (g); break;
    case yajl_t_object:
      yajl_gen_map_open (g);
      for (size_t i = 0; i < v->u.object.len; i++)
        {
          gen_str (g, v->u.object.keys[i]);
          gen_value (c, v->u.object.values[i]);
        }
      yajl_gen_map_close (g);
      break;
    case yajl_t_array:
      yajl_gen_array_open (g);
      for (size_t i = 0; i < v->u.array.len; i++)
        {
          yajl_val e = v->u.array.values[i];
          const char *str = YAJL_IS_STRING (e) ? YAJL_GET_STRING (e) : NULL;
          if (str && ((v == c->lists[GRANT_MASKED] && granted (c, GRANT_MASKED, str))
                      || (v == c->lists[GRANT_READONLY] && granted (c, GRANT_READONLY, str))))
            continue;   /* the path the run needed to write */
          gen_value (c, e);
        }
      if (v == c->at)
        gen_added_rules (c);
      if (v == c->lists[GRANT_CAPS])
        for (size_t k = 0; k < c->n_grants; k++)
          if (c->grants[k].list == GRANT_CAPS)
            gen_str (g, c->grants[k].what);
      yajl_gen_array_close (g);
      break;
    default: break;
    }
}

int
learn_generate (const char *audit_dir, const char *id, const char *base, const char *out, moat_error **err)
{
  if (state_validate_id (id, err) < 0)
    return -1;
  cleanup_policy struct moat_policy *p = NULL;
  if (policy_load (base, &p, err) < 0)
    return -1;
  if (p->seccomp == NULL)
    {
      cleanup_free char *shown = str_printable (base);
      return moat_error_set (err, 0, "%s: the base has no seccomp section to add to", shown);
    }
  yajl_val rules = json_lookup (p->seccomp, "syscalls");
  if (rules && !YAJL_IS_ARRAY (rules))
    {
      cleanup_free char *shown = str_printable (base);
      return moat_error_set (err, 0, "%s: seccomp.syscalls is not an array", shown);
    }
  if (rules == NULL)
    {
      cleanup_free char *shown = str_printable (base);
      return moat_error_set (err, 0, "%s: the base has no seccomp.syscalls array to add to", shown);
    }
  struct rec_list recs = { 0 };
  if (read_records (audit_dir, id, false, &recs, err) < 0)
    {
      rec_list_free (&recs);
      return -1;
    }
  /* Each call the run needed, once, with the first process that made it. */
  struct needed *need = NULL;
  size_t n_need = 0;
  /* Calls only counted, past the log's budget: their arguments are
   * unknown, so no rule is made from them (a rule without its argument
   * test would allow too much); say which. */
  for (size_t i = 0; i < recs.n; i++)
    {
      yajl_val r = recs.v[i];
      const char *kind = audit_rec_str (r, "kind"), *name = audit_rec_str (r, "syscall");
      if (kind == NULL || strcmp (kind, "aggregate") != 0 || name == NULL)
        continue;
      bool full = false;
      for (size_t k = 0; k < recs.n && !full; k++)
        full = is_stopped_call (recs.v[k]) && audit_rec_str (recs.v[k], "syscall")
               && strcmp (audit_rec_str (recs.v[k], "syscall"), name) == 0;
      if (!full)
        {
          cleanup_free char *shown = str_printable (name);
          log_warning ("%s: `%s` was only counted (past the audit budget), its arguments unknown: no rule made for "
                       "it; learn with --audit-rate 0", id, shown);
        }
    }
  for (size_t i = 0; i < recs.n; i++)
    {
      yajl_val r = recs.v[i];
      const char *name = audit_rec_str (r, "syscall");
      if (!is_stopped_call (r) || name == NULL || strcmp (name, "?") == 0)
        continue;
      unsigned ai = 0;
      long long av = 0;
      bool has_arg = arg_filter_of (r, name, &ai, &av);
      bool seen = false;
      for (size_t k = 0; k < n_need && !seen; k++)
        seen = strcmp (need[k].name, name) == 0 && need[k].has_arg == has_arg
               && (!has_arg || (need[k].arg_index == ai && need[k].arg_value == av));
      if (seen)
        continue;
      need = xrealloc (need, (n_need + 1) * sizeof *need);
      memset (&need[n_need], 0, sizeof *need);
      need[n_need].has_arg = has_arg;
      need[n_need].arg_index = ai;
      need[n_need].arg_value = av;
      need[n_need].name = xstrdup (name);
      need[n_need].pid = audit_rec_int (r, "nspid", -1) > 0 ? audit_rec_int (r, "nspid", -1) : audit_rec_int (r, "pid", -1);
      const char *comm = audit_rec_str (r, "comm");
      need[n_need].comm = comm ? xstrdup (comm) : NULL;
      n_need++;
    }
  /* The kernel's own refusals the policy can lift; the others are said. */
  struct grant *grants = NULL;
  size_t n_grants = 0;
  yajl_val lists[GRANT_LISTS];
  for (int l = 0; l < GRANT_LISTS; l++)
    {
      lists[l] = json_lookup (p->tree, grant_member[l]);
      if (lists[l] && !YAJL_IS_ARRAY (lists[l]))
        lists[l] = NULL;
    }
  for (size_t i = 0; i < recs.n; i++)
    {
      yajl_val r = recs.v[i];
      const char *kind = audit_rec_str (r, "kind"), *wall = audit_rec_str (r, "wall");
      if (kind == NULL || wall == NULL || strcmp (kind, "refused") != 0)
        continue;
      const char *cap = audit_rec_str (r, "capability"), *setting = audit_rec_str (r, "setting");
      yajl_val held = json_lookup (r, "held");
      const char *what = NULL;
      int list = -1;
      if (strcmp (wall, "capabilities") == 0 && cap && !(held && YAJL_IS_TRUE (held)))
        what = cap, list = GRANT_CAPS;
      else if (setting && strncmp (setting, "linux.maskedPaths: ", 19) == 0)
        what = setting + 19, list = GRANT_MASKED;
      else if (setting && strncmp (setting, "linux.readonlyPaths: ", 21) == 0)
        what = setting + 21, list = GRANT_READONLY;
      else
        {
          if (strcmp (wall, "namespace") == 0)
            fprintf (stderr, "moat: not added: %s was refused although %s held %s, in the container's user "
                     "namespace only: no policy can allow it\n", audit_rec_str (r, "syscall") ?: "?",
                     audit_rec_str (r, "comm") ?: "?", cap ? cap : "the capability");
          continue;
        }
      bool seen = false;
      for (size_t k = 0; k < n_grants && !seen; k++)
        seen = grants[k].list == list && strcmp (grants[k].what, what) == 0;
      if (seen)
        continue;
      /* Already in the base's capabilities: not what was missing. */
      bool in_base = false;
      if (list == GRANT_CAPS && lists[GRANT_CAPS])
        for (size_t k = 0; k < lists[GRANT_CAPS]->u.array.len && !in_base; k++)
          {
            yajl_val e = lists[GRANT_CAPS]->u.array.values[k];
            const char *have = YAJL_IS_STRING (e) ? YAJL_GET_STRING (e) : NULL;
            in_base = have && strcmp (have, what) == 0;
          }
      if (in_base)
        continue;
      grants = xrealloc (grants, (n_grants + 1) * sizeof *grants);
      grants[n_grants] = (struct grant) {
        .what = xstrdup (what), .list = list, .call = xstrdup (audit_rec_str (r, "syscall") ?: "?"),
        .comm = xstrdup (audit_rec_str (r, "comm") ?: "?"),
        .pid = audit_rec_int (r, "nspid", -1) > 0 ? audit_rec_int (r, "nspid", -1) : audit_rec_int (r, "pid", -1),
      };
      n_grants++;
    }
  rec_list_free (&recs);

  yajl_gen g = yajl_gen_alloc (NULL);
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_config (g, yajl_gen_indent_string, "  ");
  cleanup_free char *new_name = xasprintf ("%s-learned", p->name);
  struct gen_ctx c = { .g = g, .at = rules, .name_at = json_lookup (p->tree, "name"), .new_name = new_name,
                       .id = id, .need = need, .n_need = n_need, .grants = grants, .n_grants = n_grants };
  memcpy (c.lists, lists, sizeof lists);
  gen_value (&c, p->tree);
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf (g, &buf, &len);
  int r = 0;
  if (out == NULL || strcmp (out, "-") == 0)
    r = write_all (1, buf, len) == (int) len ? 0 : moat_error_set (err, errno, "write the policy");
  else
    {
      cleanup_free char *dir = xstrdup (out);
      char *slash = strrchr (dir, '/');
      const char *name = slash ? slash + 1 : out;
      if (slash)
        *slash = '\0';
      cleanup_close int dfd = open (slash ? (*dir ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        {
          cleanup_free char *shown = str_printable (out);
          r = moat_error_set (err, errno, "-o `%s`", shown);
        }
      else
        r = write_file_atomic_at (dfd, name, buf, len, 0644, err);
    }
  yajl_gen_free (g);
  for (size_t i = 0; i < n_need; i++)
    {
      if (r == 0 && need[i].has_arg)
        fprintf (stderr, "moat: added %s with arg%u == %lld (pid %lld, %s)\n", need[i].name, need[i].arg_index,
                 need[i].arg_value, need[i].pid, need[i].comm ? need[i].comm : "?");
      else if (r == 0)
        fprintf (stderr, "moat: added %s (pid %lld, %s)\n", need[i].name, need[i].pid,
                 need[i].comm ? need[i].comm : "?");
      free (need[i].name);
      free (need[i].comm);
    }
  for (size_t i = 0; i < n_grants; i++)
    {
      const struct grant *gr = &grants[i];
      if (r == 0 && lists[gr->list] == NULL)
        /* A policy without the member leaves config.json's list in force:
         * adding one would replace it whole. */
        fprintf (stderr, "moat: not added: %s %s (pid %lld, %s, %s): the base has no \"%s\"; %s config.json's %s\n",
                 gr->list == GRANT_CAPS ? "capability" : "path", gr->what, gr->pid, gr->comm, gr->call,
                 grant_member[gr->list], gr->list == GRANT_CAPS ? "add it to" : "drop it from",
                 gr->list == GRANT_CAPS ? "process.capabilities" : gr->list == GRANT_MASKED ? "linux.maskedPaths"
                                                                                           : "linux.readonlyPaths");
      else if (r == 0 && gr->list == GRANT_CAPS)
        fprintf (stderr, "moat: added capability %s (pid %lld, %s, for %s)\n", gr->what, gr->pid, gr->comm, gr->call);
      else if (r == 0)
        fprintf (stderr, "moat: dropped %s from %s (pid %lld, %s, for %s)\n", gr->what, grant_member[gr->list],
                 gr->pid, gr->comm, gr->call);
      free (gr->what);
      free (gr->call);
      free (gr->comm);
    }
  free (grants);
  if (r == 0 && n_need == 0 && n_grants == 0)
    fprintf (stderr, "moat: the log of `%s` has no stopped call: the policy is the base, renamed\n", id);
  free (need);
  return r;
}

/* ---- explain ------------------------------------------------------------ */

static void
explain_syscall (yajl_val r, const char *id)
{
  const char *name = audit_rec_str (r, "syscall"), *action = audit_rec_str (r, "action"), *rule = audit_rec_str (r, "rule");
  const char *policy = audit_rec_str (r, "policy"), *eno = audit_rec_str (r, "errno");
  printf ("%s (pid %lld, %s): ", name ? name : "?", audit_rec_int (r, "nspid", -1), audit_rec_str (r, "comm") ? audit_rec_str (r, "comm") : "?");
  if (action && strcmp (action, "log") == 0)
    printf ("allowed and logged by the seccomp filter, %s of policy `%s` (a learn run or a log rule)\n",
            rule ? rule : "?", policy ? policy : "?");
  else
    printf ("stopped by the seccomp filter: %s of policy `%s` answered %s%s%s\n", rule ? rule : "?",
            policy ? policy : "?", action ? action : "?", eno ? " " : "", eno ? eno : "");
  printf ("    to allow it: add {\"names\": [\"%s\"], \"action\": \"SCMP_ACT_ALLOW\"} to that policy's seccomp.syscalls",
          name ? name : "?");
  if (rule && strcmp (rule, "default") != 0)
    printf (" and remove it from its %s", rule);
  printf ("\n    (or: moat policy generate --from-audit %s --base POLICY -o NEW.json)\n", id);
}

static void
explain_signal (yajl_val r)
{
  const char *sig = audit_rec_str (r, "signal"), *wall = audit_rec_str (r, "wall"), *fault = audit_rec_str (r, "fault");
  const char *addr = audit_rec_str (r, "addr"), *ip = audit_rec_str (r, "ip");
  printf ("%s (pid %lld, %s): %s", sig ? sig : "?", audit_rec_int (r, "nspid", -1), audit_rec_str (r, "comm") ? audit_rec_str (r, "comm") : "?",
          wall && strcmp (wall, "seccomp") == 0 ? "killed by the seccomp filter (see its syscall record)"
          : "raised by the CPU or the MMU");
  if (fault)
    printf (": %s", fault);
  if (addr)
    printf (" at %s", addr);
  if (ip)
    printf (", ip %s", ip);
  printf ("\n    no policy change allows it: the program touched memory or ran an instruction its privilege\n"
          "    level does not allow; the fix is in the program (or it is the example it means to be)\n");
}

static void
explain_cgroup (yajl_val r)
{
  const char *kind = audit_rec_str (r, "kind"), *limit = audit_rec_str (r, "limit");
  if (kind && strcmp (kind, "oom") == 0)
    printf ("OOM kill (pid %lld, %s): the memory limit %s was reached\n"
            "    to allow more: raise linux.resources.memory.limit (podman --memory, moat update --memory)\n",
            audit_rec_int (r, "nspid", -1), audit_rec_str (r, "comm") ? audit_rec_str (r, "comm") : "?", limit ? limit : "?");
  else
    printf ("%s at the cgroup wall: %s\n"
            "    to allow more: raise linux.resources.pids.limit (podman --pids-limit, moat update --pids-limit)\n",
            kind ? kind : "?", limit ? limit : "?");
}

static void
explain_refused (yajl_val r)
{
  const char *name = audit_rec_str (r, "syscall"), *eno = audit_rec_str (r, "errno"), *why = audit_rec_str (r, "why");
  const char *cap = audit_rec_str (r, "capability"), *wall = audit_rec_str (r, "wall");
  const char *setting = audit_rec_str (r, "setting");
  if (name == NULL)
    name = audit_rec_str (r, "operation");   /* an LSM's record names the operation, not the call */
  printf ("%s (pid %lld, %s): refused by the kernel itself (not by seccomp) with %s: %s\n", name ? name : "?",
          audit_rec_int (r, "nspid", -1), audit_rec_str (r, "comm") ? audit_rec_str (r, "comm") : "?", eno ? eno : "?",
          why ? why : "?");
  if (wall && strcmp (wall, "apparmor") == 0)
    printf ("    AppArmor refused it (the kernel's own audit line says so): profile `%s` denies %s on %s\n"
            "    to allow it: a rule granting that access in the profile (then apparmor_parser -r it), or another\n"
            "    profile in process.apparmorProfile (podman/docker: --security-opt apparmor=PROFILE; moat exec --apparmor)\n",
            audit_rec_str (r, "profile") ?: "?", audit_rec_str (r, "denied") ?: "?", audit_rec_str (r, "name") ?: "?");
  else if (wall && strcmp (wall, "namespace") == 0)
    printf ("    no capability in the container's user namespace can allow it: it takes %s in the host's\n"
            "    (a container without a user namespace, given %s; think twice: that is host privilege)\n",
            cap ? cap : "a capability", cap ? cap : "it");
  else if (cap)
    printf ("    to allow it: add %s to process.capabilities (bounding, effective, permitted) in config.json,\n"
            "    or to the policy's \"capabilities\" (podman/docker: --cap-add %s)\n", cap, cap + 4);
  else if (setting && strncmp (setting, "linux.maskedPaths: ", 19) == 0)
    printf ("    to allow it: drop %s from linux.maskedPaths (or the policy's \"maskedPaths\"; podman: --security-opt unmask=%s)\n",
            setting + 19, setting + 19);
  else if (setting && strncmp (setting, "linux.readonlyPaths: ", 21) == 0)
    printf ("    to allow it: drop %s from linux.readonlyPaths (or the policy's \"readonlyPaths\"; podman: --security-opt unmask=%s)\n",
            setting + 21, setting + 21);
  else if (setting && strcmp (setting, "root.readonly") == 0)
    printf ("    to allow it: root.readonly false (podman: without --read-only), or mount a writable volume or\n"
            "    tmpfs where it writes\n");
  else if (setting && strncmp (setting, "mounts: ", 8) == 0)
    printf ("    to allow it: mount %s read-write (drop \"ro\" from its options in config.json's mounts)\n", setting + 8);
  else if (setting && strncmp (setting, "filesystem", 10) == 0)
    printf ("    to allow it: a rule in the policy's \"filesystem\" granting that access to the path (%s)\n", setting);
  else if (wall && strcmp (wall, "mount") == 0)
    printf ("    to allow it: make the path writable (root.readonly false, drop it from readonlyPaths,\n"
            "    or mount a writable volume or tmpfs there)\n");
  else if (wall && strcmp (wall, "permissions") == 0)
    printf ("    to allow it: the file's owner and mode, the process's uid/gid, or a Landlock rule\n"
            "    (the policy's \"filesystem\") granting that access\n");
  else
    printf ("    which check refused it the kernel does not say: a capability is the usual one\n");
}

int
learn_explain (const char *audit_dir, const char *id, moat_error **err)
{
  struct rec_list recs = { 0 };
  if (read_records (audit_dir, id, true, &recs, err) < 0)
    {
      rec_list_free (&recs);
      return -1;
    }
  /* Once per distinct thing: the same call stopped 10,000 times is one line. */
  char **seen = NULL;
  size_t n_seen = 0, shown = 0;
  for (size_t i = 0; i < recs.n; i++)
    {
      yajl_val r = recs.v[i];
      const char *wall = audit_rec_str (r, "wall"), *kind = audit_rec_str (r, "kind");
      if (wall == NULL || kind == NULL || strcmp (kind, "notice") == 0 || strcmp (kind, "header") == 0)
        continue;
      /* A call counted past the log's budget is the same thing as one in
       * full: explained once, whichever came first. */
      const char *kk = strcmp (kind, "aggregate") != 0 ? kind : audit_rec_str (r, "signal") ? "signal" : "syscall";
      cleanup_free char *key = xasprintf ("%s/%s/%s/%s/%s/%s/%s", wall, kk, audit_rec_str (r, "syscall") ?: "",
                                          audit_rec_str (r, "signal") ?: "", audit_rec_str (r, "rule") ?: "",
                                          audit_rec_str (r, "setting") ?: "", audit_rec_str (r, "name") ?: "");
      bool dup = false;
      for (size_t k = 0; k < n_seen && !dup; k++)
        dup = strcmp (seen[k], key) == 0;
      if (dup)
        continue;
      seen = xrealloc (seen, (n_seen + 1) * sizeof *seen);
      seen[n_seen++] = xstrdup (key);
      if (strcmp (kind, "aggregate") == 0 && strcmp (audit_rec_str (r, "what") ?: "", "refused") == 0)
        continue;   /* counted refusals: their full records (within the budget) are explained */
      if ((strcmp (kind, "syscall") == 0 && is_stopped_call (r))
          || (strcmp (kind, "aggregate") == 0 && strcmp (audit_rec_str (r, "syscall") ?: "*", "*") != 0))
        explain_syscall (r, id);
      else if (strcmp (kind, "signal") == 0 || strcmp (kind, "fault") == 0
               || (strcmp (kind, "aggregate") == 0 && audit_rec_str (r, "signal")))
        explain_signal (r);
      else if (strcmp (wall, "cgroup") == 0)
        explain_cgroup (r);
      else if (strcmp (kind, "refused") == 0)
        explain_refused (r);
      else
        continue;
      shown++;
    }
  if (shown == 0)
    printf ("nothing was stopped: the log of `%s` has no denied call, fault or limit\n", id);
  for (size_t k = 0; k < n_seen; k++)
    free (seen[k]);
  free (seen);
  rec_list_free (&recs);
  return 0;
}
