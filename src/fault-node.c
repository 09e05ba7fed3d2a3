/* moat — one proc-connector subscription for the whole node.
 *
 * Every supervisor wants the fork, exec and exit events of its own
 * container. With a connector socket each, the kernel hands every process
 * event of the host to every socket and runs every socket's filter: a host
 * with 250 containers paid ~0.2 us per event per container, 27% on each
 * fork+exec+exit of the host (bench/ figure 10). Here the node has one
 * socket, whatever the number of containers. Its filter asks, for each
 * level of the sending task's cgroup, whether a supervisor registered that
 * cgroup, and copies the event into that supervisor's own ring buffer; it
 * never queues anything on the socket itself. A supervisor reads its ring
 * as it read its socket, and knows a ring that was full from a count the
 * filter keeps per cgroup, as it knew ENOBUFS.
 *
 * No daemon: every member holds its own descriptors for the socket and the
 * two cgroup maps, so the socket lives as long as any member does. A
 * newcomer takes them from a live member with pidfd_getfd(2), found through
 * one small file per member in NODE_DIR (the fd numbers and the ids that
 * prove it is the same socket and maps, not a recycled pid's). When no
 * member is left, or none can be reached, a newcomer starts a new socket.
 *
 * A supervisor starts on a socket of its own, as before: adding a ring to
 * the map of rings returns only after an RCU grace period (10-15 ms here,
 * measured), which neither a start nor a delete may wait for. So a
 * container that lives past NODE_AFTER_MS is registered by a thread, and
 * the supervisor hands over from its socket to the ring once the entry is
 * in, skipping the events it had from both; leaving writes a tombstone,
 * and the next registration deletes the entry, in its own thread. Without
 * BPF, or with anything here failing, the supervisor keeps its socket.
 *
 * The filter is written as instructions (no compiler, no libbpf), like the
 * per-container filter in fault-connector.c, so it exists in every build. */
#include "config-host.h"
#include "faults-int.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* The format's version is in the directory's name: members of another
 * version (another ring size, another record) never meet. */
#define NODE_DIR "/run/moat-node.1"
#define NODE_LEVELS 16            /* cgroups deeper than this keep a socket of their own */
#define NODE_MAX 8192             /* registered cgroups per node */
#define RING_SIZE (16 * 1024)     /* ~340 events between two reads (a full ring is counted) */
/* The event's place in the connector's datagram: after the netlink header
 * and the connector's own (16 + 20 bytes); struct proc_event is 40. */
#define EV_OFF (NLMSG_HDRLEN + (int) sizeof (struct cn_msg))
#define EV_LEN ((int) sizeof (struct proc_event))
#define EV_WHAT ((int) offsetof (struct proc_event, what))
#define EV_EXIT_PID ((int) offsetof (struct proc_event, event_data.exit.process_pid))   /* then its tgid */
#define EV_EXIT_CODE ((int) offsetof (struct proc_event, event_data.exit.exit_code))

struct node
{
  int sock, rings, drops;         /* the node's: shared by every member */
  int ring;                       /* this supervisor's own */
  unsigned ring_id;
  void *cons;                     /* the consumer's page (ours to write) */
  void *prod;                     /* the producer's page, then the data twice */
  uint64_t drops_seen, deaths_seen;
  char file[64];
};

/* What the registration thread and the supervisor share. The supervisor
 * owns it and frees it once the thread has ended (joined at a tick); the
 * thread touches nothing else of the tracker's. It mallocs nothing either
 * (no arena of its own), and runs on a stack the supervisor maps and
 * unmaps (glibc would keep its own stack cached, resident, for good). */
struct node_reg
{
  int state;                      /* atomic: REG_RUNNING, REG_DONE, REG_FAILED */
  int exited;                     /* atomic: the thread is done with everything */
  bool taken;                     /* the supervisor has the node (nd is its) */
  struct node *nd;
  unsigned long long cgid;
  pthread_t thread;
  void *stack;
};
#define REG_STACK (128 * 1024)   /* only what it touches is resident (ASan frames are larger) */
enum { REG_RUNNING, REG_DONE, REG_FAILED };

static long
bpf (int cmd, union bpf_attr *a)
{
  return syscall (SYS_bpf, cmd, a, sizeof *a);
}

static unsigned
map_id (int fd, uint32_t *type)
{
  struct bpf_map_info info;
  memset (&info, 0, sizeof info);
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  a.info.bpf_fd = (uint32_t) fd;
  a.info.info_len = sizeof info;
  a.info.info = (uint64_t) (uintptr_t) &info;
  if (bpf (BPF_OBJ_GET_INFO_BY_FD, &a) < 0)
    return 0;
  if (type)
    *type = info.type;
  return info.id;
}

static int
map_create (uint32_t type, uint32_t key, uint32_t value, uint32_t max, int inner, const char *name)
{
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  a.map_type = type;
  a.key_size = key;
  a.value_size = value;
  a.max_entries = max;
  a.inner_map_fd = (uint32_t) (inner < 0 ? 0 : inner);
  if (type == BPF_MAP_TYPE_HASH_OF_MAPS || type == BPF_MAP_TYPE_HASH)
    a.map_flags = BPF_F_NO_PREALLOC;   /* a node with 3 containers pays for 3 */
  snprintf (a.map_name, sizeof a.map_name, "%s", name);
  return (int) bpf (BPF_MAP_CREATE, &a);
}

/* ---- the subscription (the node's socket and a supervisor's own) ---------- */

/* Linux 6.6 lets a listener pick event types; the uapi headers of older
 * distributions lack the struct, the kernel knows it by its size. */
struct moat_proc_input
{
  uint32_t mcast_op;
  uint32_t event_type;
};

/* Linux 6.6 takes an event filter with the subscription; older kernels
 * silently ignore a message of that size, so they get the plain one. */
static bool
kernel_has_event_filter (void)
{
  struct utsname u;
  unsigned a = 0, b = 0;
  if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &a, &b) != 2)
    return false;
  return a > 6 || (a == 6 && b >= 6);
}

int
fault_cn_subscribe (int s)
{
  char buf[NLMSG_SPACE (sizeof (struct cn_msg) + sizeof (struct moat_proc_input))] __attribute__ ((aligned (8)));
  memset (buf, 0, sizeof buf);
  struct nlmsghdr *nl = (struct nlmsghdr *) buf;
  struct cn_msg *cn = NLMSG_DATA (nl);
  struct moat_proc_input in = { .mcast_op = PROC_CN_MCAST_LISTEN,
                                .event_type = PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_EXIT };
  size_t len = kernel_has_event_filter () ? sizeof in : sizeof in.mcast_op;
  nl->nlmsg_len = NLMSG_LENGTH (sizeof *cn + len);
  nl->nlmsg_type = NLMSG_DONE;
  nl->nlmsg_pid = (uint32_t) getpid ();
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = (uint16_t) len;
  memcpy (cn->data, &in, len);
  return send (s, nl, nl->nlmsg_len, 0) < 0 ? -1 : 0;
}

/* ---- the filter ----------------------------------------------------------- */

#define INSN(c, d, s, o, i) ((struct bpf_insn) { .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV64_IMM(d, i) INSN (BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV64_REG(d, s) INSN (BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD64_IMM(d, i) INSN (BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define CALL(f) INSN (BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define JEQ_IMM(d, i, o) INSN (BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JNE_IMM(d, i, o) INSN (BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define STX64(d, s, o) INSN (BPF_STX | BPF_MEM | BPF_DW, d, s, o, 0)
#define EXIT() INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static size_t
ld_map (struct bpf_insn *p, size_t n, int reg, int fd)
{
  p[n++] = INSN (BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_FD, 0, fd);
  p[n++] = INSN (0, 0, 0, 0, 0);
  return n;
}

/* r0 = the value of MAP at the key on the stack at KEY, then a jump when
 * there is none (its offset left to the caller: its index in *JUMP). */
static size_t
lookup_or_jump (struct bpf_insn *p, size_t n, int map, int key, size_t *jump)
{
  n = ld_map (p, n, BPF_REG_1, map);
  p[n++] = MOV64_REG (BPF_REG_2, BPF_REG_10);
  p[n++] = ADD64_IMM (BPF_REG_2, key);
  p[n++] = CALL (BPF_FUNC_map_lookup_elem);
  *jump = n;
  p[n++] = JEQ_IMM (BPF_REG_0, 0, 0);
  return n;
}

/* For each level of the sending task's cgroup, from the top: a registered
 * cgroup there gets the event in its ring, or a count in the drops map when
 * its ring is full. Nested registered cgroups each get it, as each of their
 * sockets did. The datagram is always dropped: the socket never queues. */
static int
load_filter (int rings, int drops)
{
  enum { KEY = -56, EV = -48 };
  struct bpf_insn p[40 + NODE_LEVELS * 48];
  size_t n = 0, to_end[NODE_LEVELS + 2], nend = 0;
  p[n++] = MOV64_REG (BPF_REG_6, BPF_REG_1);
  p[n++] = MOV64_IMM (BPF_REG_2, EV_OFF);
  p[n++] = MOV64_REG (BPF_REG_3, BPF_REG_10);
  p[n++] = ADD64_IMM (BPF_REG_3, EV);
  p[n++] = MOV64_IMM (BPF_REG_4, EV_LEN);
  p[n++] = CALL (BPF_FUNC_skb_load_bytes);
  to_end[nend++] = n;
  p[n++] = JNE_IMM (BPF_REG_0, 0, 0);   /* not a whole event (the subscription's reply is one) */
  for (int level = 1; level <= NODE_LEVELS; level++)
    {
      size_t next[8], nnext = 0;
      p[n++] = MOV64_IMM (BPF_REG_1, level);
      p[n++] = CALL (BPF_FUNC_get_current_ancestor_cgroup_id);
      to_end[nend++] = n;
      p[n++] = JEQ_IMM (BPF_REG_0, 0, 0);   /* past the task's own level */
      p[n++] = STX64 (BPF_REG_10, BPF_REG_0, KEY);
      n = lookup_or_jump (p, n, rings, KEY, &next[nnext++]);
      p[n++] = MOV64_REG (BPF_REG_1, BPF_REG_0);
      p[n++] = MOV64_REG (BPF_REG_2, BPF_REG_10);
      p[n++] = ADD64_IMM (BPF_REG_2, EV);
      p[n++] = MOV64_IMM (BPF_REG_3, EV_LEN);
      p[n++] = MOV64_IMM (BPF_REG_4, 0);
      p[n++] = CALL (BPF_FUNC_ringbuf_output);
      next[nnext++] = n;
      p[n++] = JEQ_IMM (BPF_REG_0, 0, 0);   /* in the ring */
      n = lookup_or_jump (p, n, drops, KEY, &next[nnext++]);
      p[n++] = MOV64_IMM (BPF_REG_1, 1);
      p[n++] = INSN (BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 0, BPF_ADD);
      /* A process's death by a fault signal among them: counted apart, so
       * the log can say how many deaths went without a record. */
      p[n++] = INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_10, EV + EV_WHAT, 0);
      next[nnext++] = n;
      p[n++] = INSN (BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_1, 0, 0, (int32_t) PROC_EVENT_EXIT);
      p[n++] = INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_10, EV + EV_EXIT_PID, 0);
      p[n++] = INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_10, EV + EV_EXIT_PID + 4, 0);
      next[nnext++] = n;
      p[n++] = INSN (BPF_JMP32 | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_2, 0, 0);   /* a thread, not the process */
      p[n++] = INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_10, EV + EV_EXIT_CODE, 0);
      p[n++] = INSN (BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, 0x7f);
      static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT };
      for (size_t k = 0; k < ARRAY_SIZE (fatal); k++)
        p[n++] = INSN (BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_1, 0, (int16_t) (ARRAY_SIZE (fatal) - k), fatal[k]);
      next[nnext++] = n;
      p[n++] = INSN (BPF_JMP | BPF_JA, 0, 0, 0, 0);
      p[n++] = MOV64_IMM (BPF_REG_1, 1);
      p[n++] = INSN (BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 8, BPF_ADD);
      for (size_t k = 0; k < nnext; k++)
        p[next[k]].off = (int16_t) (n - next[k] - 1);
    }
  size_t end = n;
  p[n++] = MOV64_IMM (BPF_REG_0, 0);
  p[n++] = EXIT ();
  for (size_t k = 0; k < nend; k++)
    p[to_end[k]].off = (int16_t) (end - to_end[k] - 1);
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = (uint64_t) (uintptr_t) p;
  a.insn_cnt = (uint32_t) n;
  a.license = (uint64_t) (uintptr_t) "GPL";
  snprintf (a.prog_name, sizeof a.prog_name, "moat_node");
  return (int) bpf (BPF_PROG_LOAD, &a);
}

/* A new node socket: the filter goes on before the subscription, so no
 * event is ever queued on it. */
static int
node_start (struct node *nd)
{
  nd->rings = map_create (BPF_MAP_TYPE_HASH_OF_MAPS, 8, 4, NODE_MAX, nd->ring, "moat_node_rings");
  /* per cgroup: events the ring could not take, and how many of them were
   * a process's death by a fault signal */
  nd->drops = map_create (BPF_MAP_TYPE_HASH, 8, 16, NODE_MAX, -1, "moat_node_drops");
  if (nd->rings < 0 || nd->drops < 0)
    return -1;
  int prog = load_filter (nd->rings, nd->drops);
  if (prog < 0)
    return -1;
  nd->sock = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  bool ok = nd->sock >= 0 && setsockopt (nd->sock, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog) == 0;
  close (prog);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
  if (!ok || bind (nd->sock, (struct sockaddr *) &sa, sizeof sa) < 0 || fault_cn_subscribe (nd->sock) < 0)
    return -1;
  return 0;
}

/* ---- the members' files --------------------------------------------------- */

struct member
{
  int pid, sock, rings, drops;
  unsigned long long sock_ino, cgid;
  unsigned rings_id, drops_id, ring_id;
};

static bool
read_member (const char *name, struct member *m)
{
  char path[sizeof NODE_DIR + NAME_MAX + 2], buf[256];
  snprintf (path, sizeof path, "%s/%s", NODE_DIR, name);
  fault_read_small (path, buf, sizeof buf);   /* (one line) */
  return sscanf (buf, "%d %d %d %d %llu %u %u %u %llu", &m->pid, &m->sock, &m->rings, &m->drops, &m->sock_ino,
                 &m->rings_id, &m->drops_id, &m->ring_id, &m->cgid)
         == 9;
}

static int
take_fd (int pidfd, int fd)
{
  return (int) syscall (SYS_pidfd_getfd, pidfd, fd, 0);
}

/* The member's socket and maps, if it is still the process that wrote the
 * file: the ids and the socket's inode are never reused while it holds
 * them, so a recycled pid's descriptors do not pass. */
static bool
take_from (const struct member *m, struct node *nd)
{
  int pidfd = (int) syscall (SYS_pidfd_open, m->pid, 0);
  if (pidfd < 0)
    return false;
  nd->sock = take_fd (pidfd, m->sock);
  nd->rings = take_fd (pidfd, m->rings);
  nd->drops = take_fd (pidfd, m->drops);
  close (pidfd);
  struct stat st;
  uint32_t t1 = 0, t2 = 0;
  if (nd->sock >= 0 && nd->rings >= 0 && nd->drops >= 0 && fstat (nd->sock, &st) == 0
      && (unsigned long long) st.st_ino == m->sock_ino && map_id (nd->rings, &t1) == m->rings_id
      && map_id (nd->drops, &t2) == m->drops_id && t1 == BPF_MAP_TYPE_HASH_OF_MAPS && t2 == BPF_MAP_TYPE_HASH)
    return true;
  for (int *fd = &nd->sock; fd <= &nd->drops; fd++)
    if (*fd >= 0)
      {
        close (*fd);
        *fd = -1;
      }
  return false;
}

static bool
pid_alive (int pid)
{
  int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (pidfd >= 0)
    close (pidfd);
  return pidfd >= 0 || errno != ESRCH;
}

static int
write_member (struct node *nd, int dirfd, unsigned long long cgid)
{
  struct stat st;
  if (fstat (nd->sock, &st) < 0)
    return -1;
  char buf[256], tmp[32];
  int n = snprintf (buf, sizeof buf, "%d %d %d %d %llu %u %u %u %llu\n", (int) getpid (), nd->sock, nd->rings,
                    nd->drops, (unsigned long long) st.st_ino, map_id (nd->rings, NULL), map_id (nd->drops, NULL),
                    nd->ring_id, cgid);
  snprintf (nd->file, sizeof nd->file, "%d", (int) getpid ());
  snprintf (tmp, sizeof tmp, ".%d", (int) getpid ());
  int fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return -1;
  bool ok = write (fd, buf, (size_t) n) == n;
  close (fd);
  if (!ok || renameat (dirfd, tmp, dirfd, nd->file) < 0)
    {
      (void) unlinkat (dirfd, tmp, 0);
      nd->file[0] = '\0';
      return -1;
    }
  return 0;
}

/* The registration lock, waited for at most a second (a holder is inside
 * a few syscalls; one that hangs there does not hang us). */
static int
lock_node (int dirfd)
{
  int fd = openat (dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return -1;
  for (int i = 0; i < 1000; i++)
    {
      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
      if (errno != EWOULDBLOCK && errno != EINTR)
        break;
      struct timespec ts = { 0, 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  close (fd);
  return -1;
}

/* A member's file ("PID"), or a tombstone ("~RING-ID": a member that
 * left, its map entry not yet deleted; ring ids are never reused, pids
 * are). */
static bool
member_name (const char *name, long *pid, bool *tomb)
{
  char *end;
  *tomb = name[0] == '~';
  *pid = strtol (name + *tomb, &end, 10);
  return *end == '\0' && *pid > 0 && end != name + *tomb;
}

static int map_delete (int map, const unsigned long long *key);
static void read_drops (const struct node *nd, unsigned long long cgid, uint64_t out[2]);
static bool entry_is (int rings, unsigned long long cgid, unsigned ring_id);

/* The directory's names, without opendir: it mallocs, and a thread that
 * mallocs gets an arena of its own, resident for good. fn returns false
 * to stop. */
static void
each_name (int dirfd, bool (*fn) (int dirfd, const char *name, void *ctx), void *ctx)
{
  char buf[4096] __attribute__ ((aligned (8)));
  long n;
  (void) lseek (dirfd, 0, SEEK_SET);
  while ((n = syscall (SYS_getdents64, dirfd, buf, sizeof buf)) > 0)
    for (long off = 0; off < n;)
      {
        const struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *e
          = (const void *) (buf + off);
        off += e->reclen;
        if (!fn (dirfd, e->name, ctx))
          return;
      }
}

/* Under the lock: the node's socket and maps from the first live member
 * that hands them over. */
static bool
try_member (int dirfd, const char *name, void *ctx)
{
  (void) dirfd;
  struct node *nd = ctx;
  long pid;
  bool tomb;
  struct member m;
  if (!member_name (name, &pid, &tomb) || tomb || pid == getpid ())
    return true;
  return !(read_member (name, &m) && m.pid == pid && take_from (&m, nd));
}

/* After registering: the members gone (a tombstone, or a pid that is no
 * more) are cleared. An entry still in this node's map costs a grace
 * period to delete, and this supervisor's exit waits for its threads: a
 * few per registration (each registered member leaves one tombstone, so
 * as many as leave, on average); files of another node's (a node gone
 * with its last member) cost only the unlink. */
struct sweep
{
  int rings, drops;
  unsigned deletes;
};

static bool
sweep_one (int dirfd, const char *name, void *ctx)
{
  struct sweep *sw = ctx;
  long pid;
  bool tomb;
  struct member m;
  if (!member_name (name, &pid, &tomb) || (!tomb && pid_alive ((int) pid)))
    return true;
  bool parsed = read_member (name, &m) && (tomb ? m.ring_id == (unsigned) pid : m.pid == pid);
  if (parsed && entry_is (sw->rings, m.cgid, m.ring_id))
    {
      if (sw->deletes >= 4)
        return true;   /* the next registration's */
      sw->deletes++;
      (void) map_delete (sw->rings, &m.cgid);
      (void) map_delete (sw->drops, &m.cgid);
    }
  (void) unlinkat (dirfd, name, 0);
  return true;
}

static void
node_free (struct node *nd)
{
  if (nd == NULL)
    return;
  if (nd->cons && nd->cons != MAP_FAILED)
    munmap (nd->cons, (size_t) sysconf (_SC_PAGESIZE));
  if (nd->prod && nd->prod != MAP_FAILED)
    munmap (nd->prod, (size_t) sysconf (_SC_PAGESIZE) + 2 * RING_SIZE);
  for (int *fd = &nd->sock; fd <= &nd->ring; fd++)
    if (*fd >= 0)
      close (*fd);
  free (nd);
}

static int
map_delete (int map, const unsigned long long *key)
{
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  a.map_fd = (uint32_t) map;
  a.key = (uint64_t) (uintptr_t) key;
  return (int) bpf (BPF_MAP_DELETE_ELEM, &a);
}

/* The cgroup's entry, if it still holds this ring (a live registration of
 * the same cgroup since keeps its own). */
static bool
entry_is (int rings, unsigned long long cgid, unsigned ring_id)
{
  uint32_t id = 0;
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  a.map_fd = (uint32_t) rings;
  a.key = (uint64_t) (uintptr_t) &cgid;
  a.value = (uint64_t) (uintptr_t) &id;
  return bpf (BPF_MAP_LOOKUP_ELEM, &a) == 0 && id == ring_id;
}

/* The registration, in a thread of its own: a map-of-maps update returns
 * only after an RCU grace period (synchronize_rcu: 10-15 ms here), which
 * no start and no delete may wait for. */
static void *
reg_main (void *arg)
{
  struct node_reg *r = arg;
  struct node *nd = r->nd;
  int dirfd = -1, lock = -1;
  if ((mkdir (NODE_DIR, 0700) < 0 && errno != EEXIST) || (dirfd = open (NODE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
      || (lock = lock_node (dirfd)) < 0)
    goto fail;
  each_name (dirfd, try_member, nd);
  if (nd->sock < 0 && node_start (nd) < 0)
    goto fail;
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  uint64_t zero[2] = { 0, 0 };
  uint32_t ringfd = (uint32_t) nd->ring;
  a.map_fd = (uint32_t) nd->drops;
  a.key = (uint64_t) (uintptr_t) &r->cgid;
  a.value = (uint64_t) (uintptr_t) zero;
  a.flags = BPF_ANY;
  if (bpf (BPF_MAP_UPDATE_ELEM, &a) < 0 || write_member (nd, dirfd, r->cgid) < 0)
    goto fail;
  close (lock);
  lock = -1;
  /* Its own descriptors for the sweep below: the supervisor may close
   * its own once it has the node. */
  struct sweep sw = { .rings = fcntl (nd->rings, F_DUPFD_CLOEXEC, 0), .drops = fcntl (nd->drops, F_DUPFD_CLOEXEC, 0) };
  /* Another live supervisor already has this cgroup (two containers
   * sharing one): it keeps it, this one keeps its own socket. The entry is
   * in effect as soon as it is in; the call returns a grace period later. */
  a.map_fd = (uint32_t) nd->rings;
  a.value = (uint64_t) (uintptr_t) &ringfd;
  a.flags = BPF_NOEXIST;
  if (sw.rings < 0 || sw.drops < 0 || bpf (BPF_MAP_UPDATE_ELEM, &a) < 0)
    {
      (void) unlinkat (dirfd, nd->file, 0);   /* not a member after all */
      nd->file[0] = '\0';
      if (sw.rings >= 0)
        close (sw.rings);
      if (sw.drops >= 0)
        close (sw.drops);
      goto fail;
    }
  /* The sweep before the hand-over (which waits for it): the supervisor
   * then joins this thread at once and unmaps its stack. */
  each_name (dirfd, sweep_one, &sw);
  close (sw.drops);
  close (sw.rings);
  close (dirfd);
  __atomic_store_n (&r->state, REG_DONE, __ATOMIC_RELEASE);
  __atomic_store_n (&r->exited, 1, __ATOMIC_RELEASE);
  return NULL;
fail:
  if (lock >= 0)
    close (lock);
  if (dirfd >= 0)
    close (dirfd);
  __atomic_store_n (&r->state, REG_FAILED, __ATOMIC_RELEASE);
  __atomic_store_n (&r->exited, 1, __ATOMIC_RELEASE);
  return NULL;
}

int
fault_node_begin (struct faults *f)
{
  if (f->cg_id == 0 || f->cg_level == 0 || f->cg_level > NODE_LEVELS)
    return -1;
  size_t pg = (size_t) sysconf (_SC_PAGESIZE);
  /* the stack, a guard page below it */
  void *stack = mmap (NULL, REG_STACK + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return -1;
  (void) mprotect (stack, pg, PROT_NONE);
  struct node_reg *r = xmalloc0 (sizeof *r);
  struct node *nd = r->nd = xmalloc0 (sizeof *r->nd);
  nd->sock = nd->rings = nd->drops = -1;
  r->cgid = f->cg_id;
  r->stack = stack;
  /* The ring first, here: the tracker reads it while registering too. */
  nd->ring = map_create (BPF_MAP_TYPE_RINGBUF, 0, 0, RING_SIZE, -1, "moat_ring");
  if (nd->ring >= 0)
    {
      nd->ring_id = map_id (nd->ring, NULL);
      nd->cons = mmap (NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, nd->ring, 0);
      nd->prod = mmap (NULL, pg + 2 * RING_SIZE, PROT_READ, MAP_SHARED, nd->ring, (off_t) pg);
    }
  if (nd->ring < 0 || nd->cons == MAP_FAILED || nd->prod == MAP_FAILED)
    {
      munmap (stack, REG_STACK + pg);
      node_free (nd);
      free (r);
      return -1;
    }
  pthread_attr_t at;
  pthread_attr_init (&at);
  pthread_attr_setstack (&at, (char *) stack + pg, REG_STACK);
  int e = pthread_create (&r->thread, &at, reg_main, r);
  pthread_attr_destroy (&at);
  if (e != 0)
    {
      munmap (stack, REG_STACK + pg);
      node_free (r->nd);
      free (r);
      return -1;
    }
  f->reg = r;
  f->recording = true;
  return 0;
}

/* The registration's thread, once it has ended: joined, its stack and
 * what the supervisor did not take freed. (Not before: it may still be
 * deleting gone members' entries after the supervisor took the node.) */
void
fault_node_reap (struct faults *f)
{
  struct node_reg *r = f->reg;
  if (r == NULL || !__atomic_load_n (&r->exited, __ATOMIC_ACQUIRE))
    return;
  pthread_join (r->thread, NULL);
  munmap (r->stack, REG_STACK + (size_t) sysconf (_SC_PAGESIZE));
  if (!r->taken)
    node_free (r->nd);
  free (r);
  f->reg = NULL;
}

/* 1: registered (fault_node_take may follow), 0: not yet, -1: no (it
 * failed, or the node is taken already). */
int
fault_node_ready (struct faults *f)
{
  struct node_reg *r = f->reg;
  if (r == NULL || r->taken)
    return -1;
  int st = __atomic_load_n (&r->state, __ATOMIC_ACQUIRE);
  if (st == REG_RUNNING)
    return 0;
  if (st == REG_FAILED)
    {
      fault_node_seen_done (f);
      fault_node_reap (f);
      return -1;
    }
  return 1;
}

/* The node's ring becomes the tracker's source. What the filter could not
 * write before now is not a loss: the tracker's own socket had it. */
void
fault_node_take (struct faults *f)
{
  struct node_reg *r = f->reg;
  struct node *nd = r->nd;
  r->taken = true;
  uint64_t now[2];
  read_drops (nd, f->cg_id, now);
  nd->drops_seen = now[0];
  nd->deaths_seen = now[1];
  f->node = nd;
}

/* Leaving costs no grace period: the member's file becomes a tombstone,
 * and the next supervisor to register deletes the entry in its thread.
 * (Until then the ring is kept by the map: 16 KiB, and its cgroup, gone,
 * sends nothing.) */
void
fault_node_leave (struct faults *f)
{
  /* A thread still registering is left to run out: the supervisor is
   * ending, its exit waits for it (a container that ended while it was
   * being registered: a grace period, once). */
  fault_node_reap (f);
  struct node *nd = f->node;
  if (nd == NULL)
    return;
  if (nd->file[0])
    {
      char from[sizeof NODE_DIR + 64], to[sizeof NODE_DIR + 64];
      snprintf (from, sizeof from, "%s/%s", NODE_DIR, nd->file);
      snprintf (to, sizeof to, "%s/~%u", NODE_DIR, nd->ring_id);
      (void) rename (from, to);
    }
  (void) map_delete (nd->drops, &f->cg_id);   /* a plain hash: no grace period */
  node_free (nd);
  f->node = NULL;
}

int
fault_node_fd (const struct faults *f)
{
  return f->node->ring;
}

/* The ring's producer has moved past what was read. */
bool
fault_node_waiting (const struct faults *f)
{
  const struct node *nd = f->node;
  return __atomic_load_n ((uint64_t *) nd->prod, __ATOMIC_ACQUIRE) != __atomic_load_n ((uint64_t *) nd->cons,
                                                                                       __ATOMIC_ACQUIRE);
}

/* ---- the hand-over from the tracker's own socket to the ring ------------- */

/* From the moment registration begins, an event may come both ways: on
 * the tracker's own socket, and (once the entry is in) in the ring. Each
 * event read from the socket is noted by its time and CPU (one event per
 * CPU per nanosecond), and the ring's copies of those are skipped. */
#define SEEN_CAP 4096
struct seen
{
  uint64_t ts;
  uint32_t cpu, used;
};

static size_t
seen_slot (uint64_t ts, uint32_t cpu)
{
  uint64_t h = (ts ^ ((uint64_t) cpu << 40)) * 0x9e3779b97f4a7c15ull;
  return (size_t) (h >> 52) & (SEEN_CAP - 1);
}

void
fault_node_seen (struct faults *f, const struct proc_event *ev)
{
  if (f->seen == NULL)
    f->seen = xmap0 (SEEN_CAP * sizeof (struct seen));
  if (f->nseen >= SEEN_CAP / 2)
    {
      f->seen_full = true;   /* too many to keep: the hand-over is off */
      return;
    }
  struct seen *s = f->seen;
  for (size_t i = seen_slot (ev->timestamp_ns, ev->cpu);; i = (i + 1) & (SEEN_CAP - 1))
    if (!s[i].used)
      {
        s[i] = (struct seen) { .ts = ev->timestamp_ns, .cpu = ev->cpu, .used = 1 };
        f->nseen++;
        return;
      }
}

bool
fault_node_was_seen (const struct faults *f, const struct proc_event *ev)
{
  const struct seen *s = f->seen;
  if (s == NULL)
    return false;
  for (size_t i = seen_slot (ev->timestamp_ns, ev->cpu); s[i].used; i = (i + 1) & (SEEN_CAP - 1))
    if (s[i].ts == ev->timestamp_ns && s[i].cpu == ev->cpu)
      return true;
  return false;
}

void
fault_node_seen_done (struct faults *f)
{
  if (f->seen)
    xunmap0 (f->seen, SEEN_CAP * sizeof (struct seen));
  f->seen = NULL;
  f->nseen = 0;
  f->seen_full = false;
  f->recording = false;
}

static void
read_drops (const struct node *nd, unsigned long long cgid, uint64_t out[2])
{
  out[0] = out[1] = 0;
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  a.map_fd = (uint32_t) nd->drops;
  a.key = (uint64_t) (uintptr_t) &cgid;
  a.value = (uint64_t) (uintptr_t) out;
  (void) bpf (BPF_MAP_LOOKUP_ELEM, &a);
}

/* Each event in ND's ring to fn, in the order the filter wrote them; the
 * ones already taken from the tracker's own socket are skipped, and while
 * both are read, each one taken here is noted for the socket's copy. */
static void
drain_ring (struct faults *f, struct node *nd, void (*fn) (struct faults *, const struct proc_event *))
{
  size_t pg = (size_t) sysconf (_SC_PAGESIZE);
  uint64_t *cons = nd->cons;
  const char *data = (const char *) nd->prod + pg;
  uint64_t pos = __atomic_load_n (cons, __ATOMIC_RELAXED);
  for (;;)
    {
      uint64_t prod = __atomic_load_n ((uint64_t *) nd->prod, __ATOMIC_ACQUIRE);
      if (pos >= prod)
        return;
      while (pos < prod)
        {
          const uint32_t *hdr = (const uint32_t *) (data + (pos & (RING_SIZE - 1)));
          uint32_t len = __atomic_load_n (hdr, __ATOMIC_ACQUIRE);
          if (len & BPF_RINGBUF_BUSY_BIT)
            return;   /* being written: its wake-up is on the way */
          uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
          if (!(len & BPF_RINGBUF_DISCARD_BIT))
            {
              struct proc_event ev;
              memset (&ev, 0, sizeof ev);
              memcpy (&ev, hdr + 2, size < sizeof ev ? size : sizeof ev);
              if (!fault_node_was_seen (f, &ev))
                {
                  fn (f, &ev);
                  if (f->recording)
                    fault_node_seen (f, &ev);
                }
            }
          pos += (size + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
          __atomic_store_n (cons, pos, __ATOMIC_RELEASE);
        }
    }
}

/* While registering: the ring is read too (with the socket), so it is
 * not full when the hand-over comes. */
void
fault_node_drain_pending (struct faults *f, void (*fn) (struct faults *, const struct proc_event *))
{
  struct node_reg *r = f->reg;
  if (r && !r->taken && f->recording && !f->seen_full)
    drain_ring (f, r->nd, fn);
}

/* The count of what the ring could not take, before the hand-over. */
uint64_t
fault_node_pending_drops (struct faults *f)
{
  uint64_t d[2];
  read_drops (f->reg->nd, f->cg_id, d);
  return d[0];
}

/* Each event in the ring to fn; then how many the filter could not write
 * (the ring was full) since the last look, and how many of those were a
 * process's death by a fault signal: the caller owns up to them as it did
 * to ENOBUFS, with the deaths counted exactly. */
uint64_t
fault_node_drain (struct faults *f, void (*fn) (struct faults *, const struct proc_event *), uint64_t *deaths)
{
  struct node *nd = f->node;
  drain_ring (f, nd, fn);
  uint64_t d[2];
  read_drops (nd, f->cg_id, d);
  *deaths = 0;
  if (d[0] <= nd->drops_seen)
    return 0;
  uint64_t fresh = d[0] - nd->drops_seen;
  nd->drops_seen = d[0];
  *deaths = d[1] > nd->deaths_seen ? d[1] - nd->deaths_seen : 0;
  nd->deaths_seen = d[1];
  return fresh;
}
