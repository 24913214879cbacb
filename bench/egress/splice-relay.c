/*
 * Reference CONNECT relay for the egress benchmark only (not part of Warden): accepts
 * `CONNECT host:port`, connects to 127.0.0.2:port without any policy, answers 200 and moves bytes
 * with splice(2) (zero-copy through a pipe), one thread per direction. It shows what a native
 * relay hop costs on the machine, next to Warden's proxy and a direct connection.
 *   cc -O2 -pthread -o splice-relay splice-relay.c && ./splice-relay PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "splice-pump.h"

static void *conn(void *arg) {
  int c = (int)(long)arg, one = 1, len = 0;
  char head[4096];
  while (len < (int)sizeof head - 1) {
    ssize_t n = read(c, head + len, 1);
    if (n <= 0) { close(c); return NULL; }
    len += (int)n;
    head[len] = 0;
    if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0) break;
  }
  char *colon = strchr(head, ':');
  int port = colon ? atoi(colon + 1) : 0;
  int u = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in b = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, "127.0.0.2", &b.sin_addr);
  if (connect(u, (struct sockaddr *)&b, sizeof b) != 0) { close(c); close(u); return NULL; }
  if (write(c, "HTTP/1.1 200 OK\r\n\r\n", 19) != 19) { close(c); close(u); return NULL; }
  struct pump up = {c, u}, down = {u, c};
  pthread_t t;
  pthread_create(&t, NULL, splice_pump, &up);
  splice_pump(&down);
  pthread_join(t, NULL);
  close(u);
  close(c);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 128) != 0) { perror("splice-relay"); return 1; }
  socklen_t sl = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &sl);
  printf("{\"port\":%d}\n", ntohs(a.sin_port));
  fflush(stdout);
  for (;;) {
    int c = accept(ls, NULL, NULL);
    if (c < 0) continue;
    pthread_t t;
    pthread_create(&t, NULL, conn, (void *)(long)c);
    pthread_detach(t);
  }
}
