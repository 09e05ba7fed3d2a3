/* Minimal TAP for moat's unit tests. Each TEST runs in its own forked child
 * (as the kernel's selftests do) so a crash or a leaked filter fails that
 * case only; the plan is counted, never hard-coded. */
#ifndef MOAT_TAP_H
#define MOAT_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*tap_fn) (void);
struct tap_case { const char *name; tap_fn fn; };
/* Set by a case to undo what it made (a temp dir, a mount): run as its
 * child ends, passed (before _exit) or failed (atexit it registers). */
static tap_fn tap_case_end;

#define TEST(name) static void name (void)
/* Inside a TEST: fail with a message (the child exits 1). */
#define CHECK(cond) do { if (!(cond)) { \
      fprintf (stderr, "#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      exit (1); } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
      if (_a == NULL || _b == NULL || strcmp (_a, _b) != 0) { \
        fprintf (stderr, "#   %s:%d: `%s` != `%s`\n", __FILE__, __LINE__, _a ? _a : "(null)", _b ? _b : "(null)"); \
        exit (1); } } while (0)
#define CHECK_CONTAINS(hay, needle) do { const char *_h = (hay), *_n = (needle); \
      if (_h == NULL || strstr (_h, _n) == NULL) { \
        fprintf (stderr, "#   %s:%d: `%s` does not contain `%s`\n", __FILE__, __LINE__, _h ? _h : "(null)", _n); \
        exit (1); } } while (0)
#define SKIP_TEST(why) do { printf ("SKIP: %s\n", why); fflush (stdout); exit (77); } while (0)

static inline int
tap_run (const struct tap_case *cases, size_t n)
{
  int failed = 0;
  printf ("1..%zu\n", n);
  fflush (stdout);
  for (size_t i = 0; i < n; i++)
    {
      pid_t pid = fork ();
      if (pid == 0)
        {
          cases[i].fn ();
          fflush (NULL);
          if (tap_case_end)
            tap_case_end ();
          _exit (0);
        }
      int st = 0;
      waitpid (pid, &st, 0);
      if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
        printf ("ok %zu - %s\n", i + 1, cases[i].name);
      else if (WIFEXITED (st) && WEXITSTATUS (st) == 77)
        printf ("ok %zu - %s # SKIP\n", i + 1, cases[i].name);
      else
        {
          failed++;
          if (WIFSIGNALED (st))
            printf ("not ok %zu - %s (killed by signal %d)\n", i + 1, cases[i].name, WTERMSIG (st));
          else
            printf ("not ok %zu - %s\n", i + 1, cases[i].name);
        }
      fflush (stdout);
    }
  return failed ? 1 : 0;
}
#define TAP_MAIN(...) int main (void) { \
    static const struct tap_case _cases[] = { __VA_ARGS__ }; \
    return tap_run (_cases, sizeof _cases / sizeof _cases[0]); }
#define CASE(fn) { #fn, fn }

#endif
