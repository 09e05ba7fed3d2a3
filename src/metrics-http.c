/* moat — `moat metrics --listen`: GET /metrics over HTTP/1.x.
 *
 * A scraper asks every few seconds: one connection at a time is enough,
 * and a single thread cannot race itself. What a client can do to it is
 * bounded: the request head is at most REQ_MAX bytes and must arrive
 * within CONN_DEADLINE_MS, the answer must be taken within the same time;
 * past either the connection is dropped and the next one served. */
#include "config-host.h"
#include "metrics.h"
#include "util.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 8192
#define CONN_DEADLINE_MS 5000

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address) into HOST and PORT. */
static int
split_addr (const char *addr, char *host, size_t hn, char *port, size_t pn, moat_error **err)
{
  cleanup_free char *shown = str_printable (addr);
  const char *colon = strrchr (addr, ':');
  const char *h = addr;
  size_t hl = colon ? (size_t) (colon - addr) : 0;
  if (colon && addr[0] == '[')
    {
      if (hl < 2 || addr[hl - 1] != ']')
        colon = NULL;
      h = addr + 1;
      hl -= 2;
    }
  if (colon == NULL || !colon[1] || hl >= hn || strlen (colon + 1) >= pn)
    return moat_error_set (err, 0, "--listen: `%s` is not ADDR:PORT (127.0.0.1:9500, [::1]:9500, :9500)", shown);
  for (const char *p = colon + 1; *p; p++)
    if (*p < '0' || *p > '9')
      return moat_error_set (err, 0, "--listen: `%s`: the port is not a number", shown);
  if (atoi (colon + 1) > 65535)
    return moat_error_set (err, 0, "--listen: `%s`: the port is past 65535", shown);
  memcpy (host, h, hl);
  host[hl] = '\0';
  snprintf (port, pn, "%s", colon + 1);
  return 0;
}

static int
listen_on (const char *addr, char *bound, size_t bn, moat_error **err)
{
  char host[256], port[16];
  if (split_addr (addr, host, sizeof host, port, sizeof port, err) < 0)
    return -1;
  /* Numeric addresses only (and "localhost"): moat is linked statically,
   * where glibc's name service cannot be loaded. */
  struct sockaddr_storage sa = { 0 };
  socklen_t salen;
  unsigned short pnum = (unsigned short) atoi (port);
  struct sockaddr_in *a4 = (struct sockaddr_in *) &sa;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &sa;
  if (host[0] == '\0' || strcmp (host, "localhost") == 0)
    {
      a4->sin_family = AF_INET;
      a4->sin_addr.s_addr = htonl (host[0] ? INADDR_LOOPBACK : INADDR_ANY);
      a4->sin_port = htons (pnum);
      salen = sizeof *a4;
    }
  else if (inet_pton (AF_INET, host, &a4->sin_addr) == 1)
    {
      a4->sin_family = AF_INET;
      a4->sin_port = htons (pnum);
      salen = sizeof *a4;
    }
  else if (inet_pton (AF_INET6, host, &a6->sin6_addr) == 1)
    {
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons (pnum);
      salen = sizeof *a6;
    }
  else
    {
      cleanup_free char *shown = str_printable (addr);
      return moat_error_set (err, 0, "--listen `%s`: not a numeric IPv4 or IPv6 address", shown);
    }
  int fd = socket (sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, salen) < 0 || listen (fd, 16) < 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      cleanup_free char *shown = str_printable (addr);
      return moat_error_set (err, e, "--listen `%s`", shown);
    }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char ip[INET6_ADDRSTRLEN] = "?";
  int p = 0;
  if (getsockname (fd, (struct sockaddr *) &ss, &sl) == 0)
    {
      if (ss.ss_family == AF_INET)
        {
          struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
          inet_ntop (AF_INET, &s4->sin_addr, ip, sizeof ip);
          p = ntohs (s4->sin_port);
        }
      else if (ss.ss_family == AF_INET6)
        {
          struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
          inet_ntop (AF_INET6, &s6->sin6_addr, ip, sizeof ip);
          p = ntohs (s6->sin6_port);
        }
    }
  snprintf (bound, bn, strchr (ip, ':') ? "[%s]:%d" : "%s:%d", ip, p);
  return fd;
}

/* Send all of BUF before DEADLINE; false if the client did not take it. */
static bool
send_by (int fd, const char *buf, size_t n, long long deadline)
{
  while (n > 0)
    {
      long long left = deadline - now_ms ();
      struct pollfd p = { .fd = fd, .events = POLLOUT };
      if (left <= 0 || poll (&p, 1, (int) left) <= 0)
        return false;
      ssize_t w = send (fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (w <= 0)
        return false;
      buf += w;
      n -= (size_t) w;
    }
  return true;
}

static void
reply (int fd, const char *status, const char *type, const char *body, size_t blen, bool head, long long deadline)
{
  char hdr[256];
  int hl = snprintf (hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, type, blen);
  if (send_by (fd, hdr, (size_t) hl, deadline) && !head)
    send_by (fd, body, blen, deadline);
}

static void
reply_text (int fd, const char *status, const char *msg, long long deadline)
{
  reply (fd, status, "text/plain; charset=utf-8", msg, strlen (msg), false, deadline);
}

/* One connection: read the request head, answer, close. */
static void
serve_one (struct metrics *m, int fd)
{
  long long deadline = now_ms () + CONN_DEADLINE_MS;
  char req[REQ_MAX + 1];
  size_t have = 0;
  char *end = NULL;
  while (end == NULL)
    {
      if (have == REQ_MAX)
        {
          reply_text (fd, "431 Request Header Fields Too Large", "request too large\n", deadline);
          return;
        }
      long long left = deadline - now_ms ();
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (left <= 0 || poll (&p, 1, (int) left) <= 0)
        return;   /* too slow: dropped */
      ssize_t r = recv (fd, req + have, REQ_MAX - have, MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (r <= 0)
        return;
      have += (size_t) r;
      req[have] = '\0';
      if (memchr (req, '\0', have))
        {
          reply_text (fd, "400 Bad Request", "bad request\n", deadline);
          return;
        }
      end = strstr (req, "\r\n\r\n");
      if (end == NULL)
        end = strstr (req, "\n\n");
    }
  /* The request line: METHOD SP TARGET SP HTTP/1.x */
  char method[8], target[1024], version[16];
  if (sscanf (req, "%7s %1023s %15s", method, target, version) != 3 || strncmp (version, "HTTP/1.", 7) != 0)
    {
      reply_text (fd, "400 Bad Request", "bad request\n", deadline);
      return;
    }
  bool head = strcmp (method, "HEAD") == 0;
  if (!head && strcmp (method, "GET") != 0)
    {
      reply_text (fd, "405 Method Not Allowed", "only GET and HEAD\n", deadline);
      return;
    }
  char *q = strchr (target, '?');
  if (q)
    *q = '\0';
  if (strcmp (target, "/metrics") != 0)
    {
      reply_text (fd, "404 Not Found", "moat serves /metrics\n", deadline);
      return;
    }
  moat_error *e = NULL;
  if (metrics_collect (m, &e) < 0)
    {
      cleanup_free char *msg = moat_error_string (e);
      moat_error_free (&e);
      cleanup_free char *body = xasprintf ("%s\n", msg);
      reply_text (fd, "500 Internal Server Error", body, deadline);
      return;
    }
  /* OpenMetrics to a scraper that asks for it (Prometheus does, first),
   * the Prometheus text to everyone else. */
  bool om = false;
  for (char *h = strchr (req, '\n'); h && h < end; h = strchr (h + 1, '\n'))
    if (strncasecmp (h + 1, "accept:", 7) == 0)
      {
        char *eol = strchr (h + 1, '\n');
        char *om_at = strstr (h + 1, "application/openmetrics-text");
        om = om_at && (!eol || om_at < eol);
      }
  size_t len;
  cleanup_free char *text = metrics_render (m, om, &len);
  reply (fd, "200 OK", om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                          : "text/plain; version=0.0.4; charset=utf-8", text, len, head, deadline);
}

int
metrics_serve (struct metrics *m, const char *addr, void (*announce) (const char *bound), moat_error **err)
{
  /* SIGTERM and SIGINT end the loop between connections, through a
   * signalfd: no handler runs in the middle of a reply. */
  sigset_t stop, old;
  sigemptyset (&stop);
  sigaddset (&stop, SIGTERM);
  sigaddset (&stop, SIGINT);
  sigprocmask (SIG_BLOCK, &stop, &old);
  cleanup_close int sfd = signalfd (-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    {
      int e = errno;
      sigprocmask (SIG_SETMASK, &old, NULL);
      return moat_error_set (err, e, "signalfd");
    }
  char bound[INET6_ADDRSTRLEN + 16];
  cleanup_close int lfd = listen_on (addr, bound, sizeof bound, err);
  if (lfd < 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      return -1;
    }
  /* The first scrape need not read every log from the start. */
  moat_error *e = NULL;
  if (metrics_collect (m, &e) < 0)
    moat_error_free (&e);   /* said to the scraper, which asks again */
  if (announce)
    announce (bound);
  for (;;)
    {
      struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          int en = errno;
          sigprocmask (SIG_SETMASK, &old, NULL);
          return moat_error_set (err, en, "metrics server: poll");
        }
      if (p[1].revents)
        {
          /* Taken from the signalfd, so it is not delivered (and does not
           * kill) once the mask is put back: a stop on request is exit 0. */
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof si) == (ssize_t) sizeof si)
            ;
          break;
        }
      if (!(p[0].revents & POLLIN))
        continue;
      int c = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0)
        continue;   /* gone before it was taken, or out of fds for now */
      serve_one (m, c);
      close (c);
    }
  sigprocmask (SIG_SETMASK, &old, NULL);
  return 0;
}
