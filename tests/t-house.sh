#!/bin/bash
# The house: src/ has no dependency circle (by includes and by calls) and
# no file over 1,500 lines (tests/house.py builds the graph from the
# sources). The check itself is proven first on small fixtures: a circle by
# calls, one by includes, a file one line over, and the shapes that must not
# make an edge (a call through a struct's pointer, a static function named
# like another file's, a name in a comment or a string, a forward
# declaration).
. "$(dirname "$0")/lib.sh"

PY=$(command -v python3) || skip_all "needs python3 (apt-get install python3)"
HOUSE="$T_SRC/tests/house.py"
F="$TMP/fix"

# fixture NAME: an empty fixture directory
fixture () { rm -rf "${F:?}/$1"; mkdir -p "$F/$1"; echo "$F/$1"; }
house () { "$PY" "$HOUSE" "$@"; }

# A circle by calls, GNU style (the name at column 0 after its type).
D=$(fixture calls)
cat > "$D/a.c" <<'EOF'
#include "a.h"
int
a_fn (int x)
{
  return b_fn (x) + 1;
}
EOF
cat > "$D/b.c" <<'EOF'
int
b_fn (int x)
{
  if (x > 0)
    return a_fn (x - 1);
  return 0;
}
EOF
echo 'int a_fn (int x);' > "$D/a.h"
OUT=$(house "$D" 2>&1); RC=$?
t_is "a circle by calls fails" "$RC" 1
t_like "... naming it" "$OUT" "CIRCLE among 2 files: a.c b.c"
t_like "... with the call that closes it" "$OUT" "b.c -> a.c: calls a_fn\(\)"

# Break it: b.c's call goes through a struct's pointer, and the names in
# its comment and string are no calls. One-line definitions count too.
cat > "$D/b.c" <<'EOF'
struct ops { int (*a_fn) (int); };
/* a_fn (x) would be a call, were this code */
static const char *s = "a_fn (";
int b_fn (int x) { struct ops o = { 0 }; struct ops *p = &o; return x ? o.a_fn (x) + p->a_fn (x) : (int) s[0]; }
EOF
OUT=$(house "$D" 2>&1); RC=$?
t_is "a call through a pointer, a comment, a string: no edge, no circle" "$RC" 0
t_like "... and it says so" "$OUT" "house: ok: no circle"

# A static function of b.c named like a.c's: b.c calls its own.
cat > "$D/b.c" <<'EOF'
static int a_fn (int x);
static int
a_fn (int x)
{
  return x;
}

int
b_fn (int x)
{
  return a_fn (x);
}
EOF
OUT=$(house --edges "$D" 2>&1); RC=$?
t_is "a static function named like another file's: no edge" "$RC" 0
t_like "... only a.c -> b.c" "$OUT" "edge: a.c -> b.c: calls b_fn"
t_unlike "... not b.c -> a.c" "$OUT" "edge: b.c -> a.c"

# The same name defined non-static in two files: ambiguous, no edge.
cat > "$D/c.c" <<'EOF'
int
a_fn (int x)
{
  return x;
}
EOF
cat > "$D/b.c" <<'EOF'
int
b_fn (int x)
{
  return a_fn (x);
}
EOF
OUT=$(house "$D" 2>&1); RC=$?
t_is "a name defined in two files makes no edge" "$RC" 0
t_like "... and is named" "$OUT" "more than one file \(no edge\): a_fn"

# A circle by includes alone.
D=$(fixture includes)
printf '#include "q.h"\nint p_x;\n' > "$D/p.c"
printf '#include "p.h"\nint q_x;\n' > "$D/q.c"
: > "$D/p.h"; : > "$D/q.h"
OUT=$(house "$D" 2>&1); RC=$?
t_is "a circle by includes fails" "$RC" 1
t_like "... naming it" "$OUT" "q.c -> p.c: includes p.h"

# Size: 1,500 lines pass, 1,501 fail, .h too.
D=$(fixture size)
seq 1500 | sed 's/^/\/\/ /' > "$D/ok.c"
seq 1501 | sed 's/^/\/\/ /' > "$D/big.h"
OUT=$(house "$D" 2>&1); RC=$?
t_is "a file over 1,500 lines fails" "$RC" 1
t_like "... naming it" "$OUT" "TOO BIG: big.h has 1501 lines"
t_unlike "... not the one at 1,500" "$OUT" "TOO BIG: ok.c"

# The real src/.
OUT=$(house "$T_SRC/src" 2>&1); RC=$?
diag "$OUT"
t_is "src/ has no circle and no file over 1,500 lines" "$RC" 0
t_like "... and the check read it" "$OUT" "files in .*src \([0-9]+ .c\), [0-9]+ edges"

t_done
