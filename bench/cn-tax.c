/* cn-tax: what listeners of the proc connector cost every other process of
 * the host. Each moat supervisor keeps one NETLINK_CONNECTOR socket
 * subscribed to fork, exec and exit events, with a socket filter that
 * keeps only its own container's; the kernel still hands each event to each
 * such socket, so every fork, exec and exit anywhere pays once per
 * container running.
 *
 *   cn-tax K [ROUNDS]
 *
 * Times fork + exec + exit of /bin/true (ROUNDS of them, default 1000) with
 * no listener, then with K sockets of each kind, in this one process:
 *   filter   fork|exec|exit, a socket filter that drops everything;
 *   cgroup   the same events, a filter like moat's (the sending task's
 *            cgroup at depth 2 against an id no task has), so each event
 *            asks for the cgroup;
 *   nonzero  PROC_EVENT_NONZERO_EXIT only (Linux 6.6+), no socket filter.
 * Prints microseconds per /bin/true for each. Needs root (the connector)
 * and, for the filters, BPF.
 * Build: cc -O2 -o cn-tax cn-tax.c */
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PROC_EVENT_NONZERO_EXIT
#define PROC_EVENT_NONZERO_EXIT 0x20000000
#endif

/* The 6.6 subscription with an event mask (older headers lack it). */
struct proc_input_66
{
  uint32_t mcast_op;
  uint32_t event_type;
};

static int
load_filter (const struct bpf_insn *insns, unsigned n)
{
  union bpf_attr a;
  memset (&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = (uintptr_t) insns;
  a.insn_cnt = n;
  a.license = (uintptr_t) "GPL";
  return (int) syscall (SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
}

/* A subscribed socket, with filter PROG (-1: none); -1 on failure. */
static int
listener (uint32_t events, int prog)
{
  int s = socket (PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
  if (s < 0 || bind (s, (struct sockaddr *) &sa, sizeof sa) < 0)
    return -1;
  if (prog >= 0 && setsockopt (s, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog) < 0)
    return -1;
  char buf[NLMSG_SPACE (sizeof (struct cn_msg) + sizeof (struct proc_input_66))] __attribute__ ((aligned (8)));
  memset (buf, 0, sizeof buf);
  struct nlmsghdr *nl = (struct nlmsghdr *) buf;
  struct cn_msg *cn = NLMSG_DATA (nl);
  struct proc_input_66 in = { PROC_CN_MCAST_LISTEN, events };
  nl->nlmsg_len = NLMSG_LENGTH (sizeof *cn + sizeof in);
  nl->nlmsg_type = NLMSG_DONE;
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = sizeof in;
  memcpy (cn->data, &in, sizeof in);
  return send (s, nl, nl->nlmsg_len, 0) < 0 ? -1 : s;
}

static double
spawn_us (int rounds)
{
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  for (int i = 0; i < rounds; i++)
    {
      pid_t p = fork ();
      if (p == 0)
        {
          execl ("/bin/true", "true", (char *) NULL);
          _exit (127);
        }
      if (p < 0 || waitpid (p, NULL, 0) < 0)
        return -1;
    }
  clock_gettime (CLOCK_MONOTONIC, &b);
  return ((double) (b.tv_sec - a.tv_sec) * 1e6 + (double) (b.tv_nsec - a.tv_nsec) / 1e3) / rounds;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: cn-tax K [ROUNDS]\n");
      return 2;
    }
  int k = atoi (argv[1]), rounds = argc > 2 ? atoi (argv[2]) : 1000;
  const struct bpf_insn drop[] = {
    { .code = BPF_ALU | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
    { .code = BPF_JMP | BPF_EXIT },
  };
  const struct bpf_insn cgroup[] = {
    { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 2 },
    { .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_current_ancestor_cgroup_id },
    { .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2, .imm = 1 }, { .imm = 0 },
    { .code = BPF_JMP | BPF_JNE | BPF_X, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_2, .off = 2 },
    { .code = BPF_ALU | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
    { .code = BPF_JMP | BPF_EXIT },
    { .code = BPF_ALU | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
    { .code = BPF_JMP | BPF_EXIT },
  };
  const uint32_t fee = PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_EXIT;
  struct
  {
    const char *name;
    uint32_t events;
    int prog;
  } kinds[] = {
    { "filter", fee, load_filter (drop, 2) },
    { "cgroup", fee, load_filter (cgroup, sizeof cgroup / sizeof cgroup[0]) },
    { "nonzero", PROC_EVENT_NONZERO_EXIT, -1 },
  };
  spawn_us (rounds / 10 + 1);   /* warm up */
  printf ("no listener        %8.1f us per fork+exec+exit of /bin/true\n", spawn_us (rounds));
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    {
      if (kinds[i].prog < 0 && kinds[i].events == fee)
        {
          printf ("%-8s x %-6d   (no BPF here)\n", kinds[i].name, k);
          continue;
        }
      int *fds = calloc ((size_t) k, sizeof *fds);
      int made = 0;
      while (fds && made < k && (fds[made] = listener (kinds[i].events, kinds[i].prog)) >= 0)
        made++;
      if (made < k)
        printf ("%-8s x %-6d   (could make only %d listeners)\n", kinds[i].name, k, made);
      else
        printf ("%-8s x %-6d %8.1f us\n", kinds[i].name, k, spawn_us (rounds));
      for (int j = 0; j < made; j++)
        close (fds[j]);
      free (fds);
    }
  return 0;
}
