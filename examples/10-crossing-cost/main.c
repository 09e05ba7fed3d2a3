/* 10-crossing-cost: the price of a crossing.
 *
 * Every syscall is a trip across the divide: `syscall` switches to ring 0,
 * the kernel saves registers, (with Meltdown/Spectre mitigations) switches
 * page tables or flushes buffers, runs the seccomp filter if there is one,
 * does the work, and returns with `sysret`.  The program measures that trip:
 *
 *   clock_gettime  no crossing at all: the vDSO reads the clock in user mode
 *   getpid         the smallest real syscall: the fixed cost of a crossing
 *   write 1 byte   one byte to /dev/null per call
 *   writev x64     64 one-byte buffers per call: one crossing, 64 writes
 *   io_uring x64   64 one-byte IORING_OP_WRITEs submitted and reaped with one
 *                  io_uring_enter: one crossing for the whole batch, but
 *                  each request still pays its own setup (file lookup,
 *                  buffer import, completion entry); io_uring wins on I/O
 *                  that would block, not on tiny writes
 *
 * Run it with no filter and under policies/default.json: the difference is
 * what the BPF filter adds to every allowed call (default.json compiles to
 * a binary tree of ~300 syscalls).  default.json denies io_uring_setup,
 * because io_uring operations run in the kernel without passing the
 * seccomp filter: under it that line reports EPERM, and the denial is
 * itself an audit record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MIN_NS 200000000.0        /* measure each case for at least 0.2 s */

static double
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int devnull;
static const char byte = 'x';
static struct iovec iov[BATCH];

/* One round of each case; returns how many "operations" it did. */
static long r_clock (void) { struct timespec ts; for (int i = 0; i < 1000; i++) clock_gettime (CLOCK_MONOTONIC, &ts); return 1000; }
static long r_getpid (void) { for (int i = 0; i < 1000; i++) syscall (SYS_getpid); return 1000; }
static long r_write (void) { for (int i = 0; i < 1000; i++) if (write (devnull, &byte, 1) != 1) return -1; return 1000; }
static long r_writev (void) { for (int i = 0; i < 100; i++) if (writev (devnull, iov, BATCH) != BATCH) return -1; return 100 * BATCH; }

/* io_uring by hand (no liburing): the rings are shared memory */
static struct
{
  int fd;
  unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
} ring;

static int
ring_setup (void)
{
  struct io_uring_params p;
  memset (&p, 0, sizeof p);
  ring.fd = (int) syscall (SYS_io_uring_setup, BATCH, &p);
  if (ring.fd < 0)
    return -1;
  size_t sqsz = p.sq_off.array + p.sq_entries * sizeof (unsigned);
  size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof (struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP)
    sqsz = cqsz = sqsz > cqsz ? sqsz : cqsz;
  char *sq = mmap (NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_SQ_RING);
  char *cq = (p.features & IORING_FEAT_SINGLE_MMAP) ? sq
    : mmap (NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_CQ_RING);
  ring.sqes = mmap (NULL, p.sq_entries * sizeof (struct io_uring_sqe), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || ring.sqes == MAP_FAILED)
    return -1;
  ring.sq_tail = (unsigned *) (sq + p.sq_off.tail);
  ring.sq_mask = (unsigned *) (sq + p.sq_off.ring_mask);
  ring.sq_array = (unsigned *) (sq + p.sq_off.array);
  ring.cq_head = (unsigned *) (cq + p.cq_off.head);
  ring.cq_tail = (unsigned *) (cq + p.cq_off.tail);
  ring.cq_mask = (unsigned *) (cq + p.cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *) (cq + p.cq_off.cqes);
  return 0;
}

static long
r_uring (void)
{
  unsigned tail = *ring.sq_tail;
  for (unsigned i = 0; i < BATCH; i++, tail++)
    {
      unsigned idx = tail & *ring.sq_mask;
      struct io_uring_sqe *e = &ring.sqes[idx];
      memset (e, 0, sizeof *e);
      e->opcode = IORING_OP_WRITE;
      e->fd = devnull;
      e->addr = (uintptr_t) &byte;
      e->len = 1;
      e->off = (uint64_t) -1;     /* the file's own position, like write() */
      ring.sq_array[idx] = idx;
    }
  __atomic_store_n (ring.sq_tail, tail, __ATOMIC_RELEASE);
  if (syscall (SYS_io_uring_enter, ring.fd, BATCH, BATCH, IORING_ENTER_GETEVENTS, NULL, 0) != BATCH)
    return -1;
  unsigned head = *ring.cq_head, ctail = __atomic_load_n (ring.cq_tail, __ATOMIC_ACQUIRE);
  for (; head != ctail; head++)
    if (ring.cqes[head & *ring.cq_mask].res != 1)
      return -1;
  __atomic_store_n (ring.cq_head, head, __ATOMIC_RELEASE);
  return BATCH;
}

/* Run ROUND for at least MIN_NS; each op is one call, or one byte of a
   batch of BATCH bytes per call. */
static void
measure (const char *name, long (*round) (void), int batched)
{
  long ops = 0, r;
  round ();                       /* warm up */
  double t0 = now_ns (), t;
  do
    {
      if ((r = round ()) < 0)
        {
          printf ("%-28s failed: %s\n", name, strerrorname_np (errno));
          return;
        }
      ops += r;
    }
  while ((t = now_ns ()) - t0 < MIN_NS);
  if (batched)
    printf ("%-28s %8.1f ns per byte, %7.1f ns per call of %d\n", name, (t - t0) / ops,
            (t - t0) / ops * BATCH, BATCH);
  else
    printf ("%-28s %8.1f ns per call\n", name, (t - t0) / ops);
}

int
main (void)
{
  char line[256];
  FILE *f = fopen ("/proc/self/status", "r");
  while (f && fgets (line, sizeof line, f))
    if (strncmp (line, "Seccomp:", 8) == 0)
      printf ("seccomp mode %s", line + 8 + strspn (line + 8, " \t"));
  if (f)
    fclose (f);

  devnull = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0)
    return 1;
  for (int i = 0; i < BATCH; i++)
    iov[i] = (struct iovec) { (void *) &byte, 1 };

  measure ("clock_gettime (vDSO)", r_clock, 0);
  measure ("getpid", r_getpid, 0);
  measure ("write 1 byte", r_write, 0);
  measure ("writev 64 x 1 byte", r_writev, 1);
  if (ring_setup () == 0)
    measure ("io_uring 64 x 1-byte write", r_uring, 1);
  else
    printf ("%-28s io_uring_setup: %s%s\n", "io_uring 64 x 1-byte write", strerrorname_np (errno),
            errno == EPERM ? " (denied by the policy: see the audit record)" : "");
  return 0;
}
