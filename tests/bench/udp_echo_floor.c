/*
 * The kernel floor for a UDP DNS server: answers every datagram by echoing it
 * back with the QR bit set (an answer with no records), up to 32 per
 * recvmmsg/sendmmsg, one blocking thread per SO_REUSEPORT socket, no event
 * loop, no parsing, no cache. Whatever CPU per query this uses is the kernel's
 * loopback UDP path plus two system calls per batch: no real server can go
 * below it. tests/bench/resolver.sh compiles and measures it beside ours and
 * Unbound.
 *
 *   udp_echo_floor ADDR PORT THREADS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define SLOT 4096

static struct sockaddr_in listen_addr;

static int bound_socket(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
        bind(s, (struct sockaddr *)&listen_addr, sizeof listen_addr)) {
        perror("udp_echo_floor: socket");
        exit(1);
    }
    return s;
}

static void *serve(void *arg) {
    int s = (int)(long)arg;
    static __thread char bufs[BATCH][SLOT];
    struct sockaddr_in names[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr hdrs[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = SLOT;
            memset(&hdrs[i], 0, sizeof hdrs[i]);
            hdrs[i].msg_hdr.msg_name = &names[i];
            hdrs[i].msg_hdr.msg_namelen = sizeof names[i];
            hdrs[i].msg_hdr.msg_iov = &iov[i];
            hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(s, hdrs, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue;
        int out = 0;
        for (int i = 0; i < n; i++) {
            if (hdrs[i].msg_len < 12)
                continue; /* not a DNS header */
            bufs[i][2] |= (char)0x80;
            iov[i].iov_len = hdrs[i].msg_len;
            hdrs[out++] = hdrs[i];
        }
        for (int sent = 0; sent < out;) {
            int k = sendmmsg(s, hdrs + sent, (unsigned)(out - sent), 0);
            sent += k > 0 ? k : 1;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s ADDR PORT THREADS\n", argv[0]);
        return 64;
    }
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &listen_addr.sin_addr) != 1) {
        fprintf(stderr, "udp_echo_floor: bad address %s\n", argv[1]);
        return 64;
    }
    int threads = atoi(argv[3]);
    if (threads < 1)
        threads = 1;
    pthread_t tid;
    for (int t = 1; t < threads; t++)
        pthread_create(&tid, NULL, serve, (void *)(long)bound_socket());
    int first = bound_socket();
    fprintf(stderr, "ready\n");
    serve((void *)(long)first);
    return 0;
}
