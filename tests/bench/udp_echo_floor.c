/*
 * The kernel floor for a UDP DNS server: answers every datagram by echoing it
 * back with the QR bit set (an answer with no records), up to 32 per
 * recvmmsg/sendmmsg, one blocking thread per SO_REUSEPORT socket, no event
 * loop, no parsing, no cache. Whatever CPU per query this uses is the kernel's
 * loopback UDP path plus two system calls per batch: no real server can go
 * below it. tests/bench/resolver.sh compiles and measures it beside ours and
 * Unbound.
 *
 *   udp_echo_floor ADDR PORT THREADS [answer]
 *
 * With `answer`, the reply also carries one A record (127.0.0.1, TTL 3600)
 * for the question's name, so packet caches have a TTL to keep it by.
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
static int with_answer;

/* Name pointer to the question, type A, class IN, TTL 3600, 127.0.0.1. */
static const unsigned char answer_rr[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 127, 0, 0, 1};

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

/* Inserts answer_rr right after the question of the query in `buf` (any OPT
 * record moves back); returns the new length, or `len` when the query is not
 * one plain question or there is no room. */
static size_t add_answer(char *buf, size_t len) {
    if (buf[4] != 0 || buf[5] != 1 || buf[6] != 0 || buf[7] != 0 || buf[8] != 0 || buf[9] != 0 ||
        len + sizeof answer_rr > SLOT)
        return len;
    size_t pos = 12;
    while (pos < len && buf[pos] != 0) {
        if ((unsigned char)buf[pos] > 63)
            return len; /* no compression in a question we accept */
        pos += 1 + (unsigned char)buf[pos];
    }
    pos += 1 + 4; /* root label, type, class */
    if (pos > len)
        return len;
    memmove(buf + pos + sizeof answer_rr, buf + pos, len - pos);
    memcpy(buf + pos, answer_rr, sizeof answer_rr);
    buf[7] = 1;
    return len + sizeof answer_rr;
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
            if (with_answer)
                iov[i].iov_len = add_answer(bufs[i], hdrs[i].msg_len);
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
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "answer") == 0)) {
        fprintf(stderr, "usage: %s ADDR PORT THREADS [answer]\n", argv[0]);
        return 64;
    }
    with_answer = argc == 5;
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
