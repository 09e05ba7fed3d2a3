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
 * member is left, or none can be reached, a newcomer starts a new socket;
 * when even that fails (no BPF, an old kernel), the supervisor keeps a
 * socket of its own, as before. Registration is under one lock file;
 * nothing here ever waits for another supervisor, so none can hang one.
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
#define NODE_DIR "/run/moat/node.1"
#define NODE_LEVELS 16            /* cgroups deeper than this keep a socket of their own */
#define NODE_MAX 8192             /* registered cgroups per node */
#define RING_SIZE (64 * 1024)     /* ~1,365 events between two reads */
/* The event's place in the connector's datagram: after the netlink header
 * and the connector's own (16 + 20 bytes); struct proc_event is 40. */
#define EV_OFF (NLMSG_HDRLEN + (int) sizeof (struct cn_msg))
#define EV_LEN ((int) sizeof (struct proc_event))

struct node
{
  int sock, rings, drops;         /* the node's: shared by every member */
  int ring;                       /* this supervisor's own */
  unsigned ring_id;
  void *cons;                     /* the consumer's page (ours to write) */
  void *prod;                     /* the producer's page, then the data twice */
  uint64_t drops_seen;
  char file[64];
};

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

/* For each level of the sending task's cgroup, from the top: a registered
 * cgroup there gets the event in its ring, or a count in the drops map when
 * its ring is full. Nested registered cgroups each get it, as each of their
 * sockets did. The datagram is always dropped: the socket never queues. */
static int
load_filter (int rings, int drops)
{
  enum { KEY = -56, EV = -48 };
  struct bpf_insn p[40 + NODE_LEVELS * 32];
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
      size_t next[3], nnext = 0;
      p[n++] = MOV64_IMM (BPF_REG_1, level);
      p[n++] = CALL (BPF_FUNC_get_current_ancestor_cgroup_id);
      to_end[nend++] = n;
      p[n++] = JEQ_IMM (BPF_REG_0, 0, 0);   /* past the task's own level */
      p[n++] = STX64 (BPF_REG_10, BPF_REG_0, KEY);
      n = ld_map (p, n, BPF_REG_1, rings);
      p[n++] = MOV64_REG (BPF_REG_2, BPF_REG_10);
      p[n++] = ADD64_IMM (BPF_REG_2, KEY);
      p[n++] = CALL (BPF_FUNC_map_lookup_elem);
      next[nnext++] = n;
      p[n++] = JEQ_IMM (BPF_REG_0, 0, 0);
      p[n++] = MOV64_REG (BPF_REG_1, BPF_REG_0);
      p[n++] = MOV64_REG (BPF_REG_2, BPF_REG_10);
      p[n++] = ADD64_IMM (BPF_REG_2, EV);
      p[n++] = MOV64_IMM (BPF_REG_3, EV_LEN);
      p[n++] = MOV64_IMM (BPF_REG_4, 0);
      p[n++] = CALL (BPF_FUNC_ringbuf_output);
      next[nnext++] = n;
      p[n++] = JEQ_IMM (BPF_REG_0, 0, 0);   /* in the ring */
      n = ld_map (p, n, BPF_REG_1, drops);
      p[n++] = MOV64_REG (BPF_REG_2, BPF_REG_10);
      p[n++] = ADD64_IMM (BPF_REG_2, KEY);
      p[n++] = CALL (BPF_FUNC_map_lookup_elem);
      next[nnext++] = n;
      p[n++] = JEQ_IMM (BPF_REG_0, 0, 0);
      p[n++] = MOV64_IMM (BPF_REG_1, 1);
      p[n++] = INSN (BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 0, BPF_ADD);
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
  nd->drops = map_create (BPF_MAP_TYPE_HASH, 8, 8, NODE_MAX, -1, "moat_node_drops");
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
read_member (int dirfd, const char *name, struct member *m)
{
  char buf[256];
  int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  ssize_t r = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  if (r <= 0)
    return false;
  buf[r] = '\0';
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

/* A member that ended without leaving (killed): its cgroup's entry goes,
 * unless a live registration took the same cgroup since (the ring's id
 * says whose it is). */
static void
forget (struct node *nd, int dirfd, const char *name, const struct member *m)
{
  if (nd->rings >= 0)
    {
      uint32_t id = 0;
      union bpf_attr a;
      memset (&a, 0, sizeof a);
      a.map_fd = (uint32_t) nd->rings;
      a.key = (uint64_t) (uintptr_t) &m->cgid;
      a.value = (uint64_t) (uintptr_t) &id;
      if (bpf (BPF_MAP_LOOKUP_ELEM, &a) == 0 && id == m->ring_id)
        {
          (void) bpf (BPF_MAP_DELETE_ELEM, &a);
          a.map_fd = (uint32_t) nd->drops;
          (void) bpf (BPF_MAP_DELETE_ELEM, &a);
        }
    }
  (void) unlinkat (dirfd, name, 0);
}

/* Under the lock: take the node's socket from a live member, or start it;
 * then forget the dead members. */
static int
find_or_start (struct node *nd, int dirfd)
{
  DIR *d = fdopendir (dup (dirfd));
  if (d == NULL)
    return -1;
  struct member dead[16];
  char dead_name[16][NAME_MAX + 1];
  size_t ndead = 0;
  bool have = false;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      char *end;
      long pid = strtol (e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0 || pid == getpid ())
        continue;
      struct member m;
      bool parsed = read_member (dirfd, e->d_name, &m) && m.pid == pid;
      if (parsed && !have && take_from (&m, nd))
        {
          have = true;
          continue;
        }
      if (parsed && pid_alive (m.pid))
        continue;   /* alive but not reachable: it keeps its place */
      if (ndead < ARRAY_SIZE (dead))
        {
          dead[ndead] = m;
          if (!parsed)
            dead[ndead].pid = 0;
          snprintf (dead_name[ndead++], sizeof dead_name[0], "%s", e->d_name);
        }
    }
  closedir (d);
  if (!have && node_start (nd) < 0)
    return -1;
  for (size_t i = 0; i < ndead; i++)
    if (dead[i].pid == 0)
      (void) unlinkat (dirfd, dead_name[i], 0);
    else
      forget (nd, dirfd, dead_name[i], &dead[i]);
  return 0;
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

static void
node_free (struct node *nd)
{
  if (nd->cons && nd->cons != MAP_FAILED)
    munmap (nd->cons, (size_t) sysconf (_SC_PAGESIZE));
  if (nd->prod && nd->prod != MAP_FAILED)
    munmap (nd->prod, (size_t) sysconf (_SC_PAGESIZE) + 2 * RING_SIZE);
  for (int *fd = &nd->sock; fd <= &nd->ring; fd++)
    if (*fd >= 0)
      close (*fd);
  free (nd);
}

int
fault_node_join (struct faults *f)
{
  if (f->cg_id == 0 || f->cg_level == 0 || f->cg_level > NODE_LEVELS)
    return -1;
  struct node *nd = xmalloc0 (sizeof *nd);
  nd->sock = nd->rings = nd->drops = -1;
  size_t pg = (size_t) sysconf (_SC_PAGESIZE);
  nd->ring = map_create (BPF_MAP_TYPE_RINGBUF, 0, 0, RING_SIZE, -1, "moat_ring");
  if (nd->ring >= 0)
    {
      nd->ring_id = map_id (nd->ring, NULL);
      nd->cons = mmap (NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, nd->ring, 0);
      nd->prod = mmap (NULL, pg + 2 * RING_SIZE, PROT_READ, MAP_SHARED, nd->ring, (off_t) pg);
    }
  moat_error *err = NULL;
  int dirfd = -1, lock = -1;
  if (nd->ring < 0 || nd->cons == MAP_FAILED || nd->prod == MAP_FAILED || mkdir_p (NODE_DIR, 0700, &err) < 0
      || (dirfd = open (NODE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (lock = lock_node (dirfd)) < 0
      || find_or_start (nd, dirfd) < 0)
    goto fail;
  /* Registered under the lock, the entry first and the file after: a
   * newcomer that sees the file finds the entry. */
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  uint64_t zero = 0;
  uint32_t ringfd = (uint32_t) nd->ring;
  a.map_fd = (uint32_t) nd->drops;
  a.key = (uint64_t) (uintptr_t) &f->cg_id;
  a.value = (uint64_t) (uintptr_t) &zero;
  a.flags = BPF_ANY;
  if (bpf (BPF_MAP_UPDATE_ELEM, &a) < 0)
    goto fail;
  /* Another live supervisor already has this cgroup (two containers
   * sharing one): it keeps it, this one keeps a socket of its own. */
  a.map_fd = (uint32_t) nd->rings;
  a.value = (uint64_t) (uintptr_t) &ringfd;
  a.flags = BPF_NOEXIST;
  if (bpf (BPF_MAP_UPDATE_ELEM, &a) < 0)
    goto fail;
  if (write_member (nd, dirfd, f->cg_id) < 0)
    {
      a.map_fd = (uint32_t) nd->rings;
      (void) bpf (BPF_MAP_DELETE_ELEM, &a);
      goto fail;
    }
  close (lock);
  close (dirfd);
  f->node = nd;
  return 0;
fail:
  moat_error_free (&err);
  if (lock >= 0)
    close (lock);
  if (dirfd >= 0)
    close (dirfd);
  node_free (nd);
  return -1;
}

void
fault_node_leave (struct faults *f)
{
  struct node *nd = f->node;
  if (nd == NULL)
    return;
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  uint32_t id = 0;
  a.map_fd = (uint32_t) nd->rings;
  a.key = (uint64_t) (uintptr_t) &f->cg_id;
  a.value = (uint64_t) (uintptr_t) &id;
  if (bpf (BPF_MAP_LOOKUP_ELEM, &a) == 0 && id == nd->ring_id)
    {
      (void) bpf (BPF_MAP_DELETE_ELEM, &a);
      a.map_fd = (uint32_t) nd->drops;
      (void) bpf (BPF_MAP_DELETE_ELEM, &a);
    }
  if (nd->file[0])
    {
      char path[sizeof NODE_DIR + 64];
      snprintf (path, sizeof path, "%s/%s", NODE_DIR, nd->file);
      (void) unlink (path);
    }
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

/* Each event in the ring to fn, in the order the filter wrote them; then
 * how many the filter could not write (the ring was full) since the last
 * look: the caller owns up to them as it did to ENOBUFS. */
uint64_t
fault_node_drain (struct faults *f, void (*fn) (struct faults *, const struct proc_event *))
{
  struct node *nd = f->node;
  size_t pg = (size_t) sysconf (_SC_PAGESIZE);
  uint64_t *cons = nd->cons;
  const char *data = (const char *) nd->prod + pg;
  uint64_t pos = __atomic_load_n (cons, __ATOMIC_RELAXED);
  for (;;)
    {
      uint64_t prod = __atomic_load_n ((uint64_t *) nd->prod, __ATOMIC_ACQUIRE);
      if (pos >= prod)
        break;
      while (pos < prod)
        {
          const uint32_t *hdr = (const uint32_t *) (data + (pos & (RING_SIZE - 1)));
          uint32_t len = __atomic_load_n (hdr, __ATOMIC_ACQUIRE);
          if (len & BPF_RINGBUF_BUSY_BIT)
            goto out;   /* being written: the next wake-up brings it */
          uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
          if (!(len & BPF_RINGBUF_DISCARD_BIT))
            {
              struct proc_event ev;
              memset (&ev, 0, sizeof ev);
              memcpy (&ev, hdr + 2, size < sizeof ev ? size : sizeof ev);
              fn (f, &ev);
            }
          pos += (size + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
          __atomic_store_n (cons, pos, __ATOMIC_RELEASE);
        }
    }
out:;
  uint64_t dropped = 0;
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  a.map_fd = (uint32_t) nd->drops;
  a.key = (uint64_t) (uintptr_t) &f->cg_id;
  a.value = (uint64_t) (uintptr_t) &dropped;
  if (bpf (BPF_MAP_LOOKUP_ELEM, &a) < 0 || dropped <= nd->drops_seen)
    return 0;
  uint64_t fresh = dropped - nd->drops_seen;
  nd->drops_seen = dropped;
  return fresh;
}
