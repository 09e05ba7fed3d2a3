/* notify-rtt: the bare seccomp user-notification round trip on this host,
 * the physical limit for any audited denial. A child filters getppid to
 * SCMP_ACT_NOTIFY (a hand-written 4-instruction BPF program) and calls it
 * N times; the parent answers each with EPERM and does nothing else: no
 * decoding, no record. Prints "notify-rtt N calls/s".
 * With a second argument, a cgroup.procs file, the child first moves itself
 * there: a container's calls come from its own cgroup, and a wake-up
 * between two cpu cgroups costs more than one inside a cgroup (group
 * scheduling), which is part of the limit a supervisor can reach.
 * Build: cc -O2 -o notify-rtt notify-rtt.c */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW (4, __u64)
#endif

static int
send_fd (int s, int fd)
{
  char c = 'x', buf[CMSG_SPACE (sizeof (int))] = { 0 };
  struct iovec iov = { &c, 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf };
  struct cmsghdr *cm = CMSG_FIRSTHDR (&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cm), &fd, sizeof fd);
  return sendmsg (s, &m, 0) < 0 ? -1 : 0;
}

static int
recv_fd (int s)
{
  char c, buf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { &c, 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf };
  if (recvmsg (s, &m, 0) <= 0)
    return -1;
  int fd;
  memcpy (&fd, CMSG_DATA (CMSG_FIRSTHDR (&m)), sizeof fd);
  return fd;
}

int
main (int argc, char **argv)
{
  long n = argc > 1 ? atol (argv[1]) : 200000;
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sp) < 0)
    return 1;
  pid_t pid = fork ();
  if (pid == 0)
    {
      struct sock_filter f[] = {
        BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };
      struct sock_fprog prog = { 4, f };
      if (argc > 2)
        {
          FILE *cg = fopen (argv[2], "w");
          if (cg == NULL || fprintf (cg, "%d\n", (int) getpid ()) < 0 || fclose (cg) != 0)
            _exit (1);
        }
      prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      int lfd = (int) syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
      if (lfd < 0 || send_fd (sp[1], lfd) < 0)
        _exit (1);
      close (lfd);
      char go;
      if (read (sp[1], &go, 1) != 1)
        _exit (1);
      for (long i = 0; i < n; i++)
        syscall (SYS_getppid);
      _exit (0);
    }
  int lfd = recv_fd (sp[0]);
  if (lfd < 0)
    return 1;
  (void) ioctl (lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 1UL /* SYNC_WAKE_UP, 6.6+ */);
  struct seccomp_notif_sizes sz;
  syscall (SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz);
  struct seccomp_notif *req = calloc (1, sz.seccomp_notif);
  struct seccomp_notif_resp *resp = calloc (1, sz.seccomp_notif_resp);
  struct timespec a, b;
  clock_gettime (CLOCK_MONOTONIC, &a);
  if (write (sp[0], "g", 1) != 1)
    return 1;
  for (long i = 0; i < n; i++)
    {
      memset (req, 0, sz.seccomp_notif);
      if (ioctl (lfd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
        return 1;
      memset (resp, 0, sz.seccomp_notif_resp);
      resp->id = req->id;
      resp->error = -EPERM;
      ioctl (lfd, SECCOMP_IOCTL_NOTIF_SEND, resp);
    }
  clock_gettime (CLOCK_MONOTONIC, &b);
  waitpid (pid, NULL, 0);
  double s = (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9;
  printf ("notify-rtt %.0f calls/s\n", (double) n / s);
  return 0;
}
