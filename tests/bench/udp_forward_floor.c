/*
 * The kernel floor for a UDP DNS load balancer: forwards every query to the
 * backends in turn and every response back to its client, up to 32 datagrams
 * per recvmmsg/sendmmsg, one thread per SO_REUSEPORT listening socket with its
 * own connected socket per backend, and nothing else: no ID rewriting (the
 * client's ID indexes the table of clients, so two clients using one ID at
 * once get crossed answers), no checks of any kind, no health checks, no
 * timeouts, no metrics. It is not a balancer anyone should run; whatever CPU
 * per query it uses is what the kernel's loopback UDP path costs for the four
 * datagrams of a balanced query, which no real balancer can go below.
 * tests/bench/lb.sh compiles and measures it beside ours and dnsdist.
 *
 *   udp_forward_floor LISTEN_ADDR PORT THREADS BACKEND_ADDR:PORT...
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define SLOT 4096
#define MAX_BACKENDS 8

static struct sockaddr_in listen_addr;
static struct sockaddr_in backends[MAX_BACKENDS];
static int backend_count;

static void die(const char *what) {
    perror(what);
    exit(1);
}

struct batch {
    char bufs[BATCH][SLOT];
    struct sockaddr_in names[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr hdrs[BATCH];
};

static void prepare(struct batch *b) {
    for (int i = 0; i < BATCH; i++) {
        b->iov[i].iov_base = b->bufs[i];
        b->iov[i].iov_len = SLOT;
        memset(&b->hdrs[i], 0, sizeof b->hdrs[i]);
        b->hdrs[i].msg_hdr.msg_name = &b->names[i];
        b->hdrs[i].msg_hdr.msg_namelen = sizeof b->names[i];
        b->hdrs[i].msg_hdr.msg_iov = &b->iov[i];
        b->hdrs[i].msg_hdr.msg_iovlen = 1;
    }
}

static void send_all(int s, struct mmsghdr *hdrs, int n) {
    for (int sent = 0; sent < n;) {
        int k = sendmmsg(s, hdrs + sent, (unsigned)(n - sent), MSG_DONTWAIT);
        sent += k > 0 ? k : 1; /* a full socket drops, as UDP does */
    }
}

static void *serve(void *unused) {
    (void)unused;
    int one = 1;
    int front = socket(AF_INET, SOCK_DGRAM, 0);
    if (front < 0 || setsockopt(front, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
        bind(front, (struct sockaddr *)&listen_addr, sizeof listen_addr))
        die("udp_forward_floor: listen socket");
    struct pollfd fds[1 + MAX_BACKENDS];
    fds[0].fd = front;
    fds[0].events = POLLIN;
    for (int b = 0; b < backend_count; b++) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&backends[b], sizeof backends[b]))
            die("udp_forward_floor: backend socket");
        fds[1 + b].fd = s;
        fds[1 + b].events = POLLIN;
    }
    struct state {
        struct sockaddr_in clients[65536];
        struct batch in, out[MAX_BACKENDS];
        struct mmsghdr per_backend[MAX_BACKENDS][BATCH];
    } *st = calloc(1, sizeof *st);
    if (!st)
        die("udp_forward_floor: calloc");
    struct sockaddr_in *clients = st->clients;
    struct batch *in = &st->in;
    int next = 0;
    for (;;) {
        if (poll(fds, (nfds_t)(1 + backend_count), -1) <= 0)
            continue;
        if (fds[0].revents & POLLIN) {
            prepare(in);
            int n = recvmmsg(front, in->hdrs, BATCH, MSG_DONTWAIT, NULL);
            int counts[MAX_BACKENDS] = {0};
            for (int i = 0; i < n; i++) {
                if (in->hdrs[i].msg_len < 12)
                    continue;
                unsigned id = ((unsigned char)in->bufs[i][0] << 8) | (unsigned char)in->bufs[i][1];
                clients[id] = in->names[i];
                int b = next;
                next = (next + 1) % backend_count;
                struct mmsghdr *h = &st->per_backend[b][counts[b]++];
                memset(h, 0, sizeof *h);
                in->iov[i].iov_len = in->hdrs[i].msg_len;
                h->msg_hdr.msg_iov = &in->iov[i];
                h->msg_hdr.msg_iovlen = 1;
            }
            for (int b = 0; b < backend_count; b++)
                send_all(fds[1 + b].fd, st->per_backend[b], counts[b]);
        }
        for (int b = 0; b < backend_count; b++) {
            if (!(fds[1 + b].revents & POLLIN))
                continue;
            struct batch *r = &st->out[b];
            prepare(r);
            int n = recvmmsg(fds[1 + b].fd, r->hdrs, BATCH, MSG_DONTWAIT, NULL);
            int k = 0;
            for (int i = 0; i < n; i++) {
                if (r->hdrs[i].msg_len < 12)
                    continue;
                unsigned id = ((unsigned char)r->bufs[i][0] << 8) | (unsigned char)r->bufs[i][1];
                r->names[i] = clients[id];
                r->iov[i].iov_len = r->hdrs[i].msg_len;
                r->hdrs[i].msg_hdr.msg_namelen = sizeof r->names[i];
                r->hdrs[k++] = r->hdrs[i];
            }
            send_all(front, r->hdrs, k);
        }
    }
    return NULL;
}

static void parse_addr(const char *text, int port, struct sockaddr_in *out) {
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, text, &out->sin_addr) != 1) {
        fprintf(stderr, "udp_forward_floor: bad address %s\n", text);
        exit(64);
    }
}

int main(int argc, char **argv) {
    if (argc < 5 || argc - 4 > MAX_BACKENDS) {
        fprintf(stderr, "usage: %s LISTEN_ADDR PORT THREADS BACKEND_ADDR:PORT...\n", argv[0]);
        return 64;
    }
    parse_addr(argv[1], atoi(argv[2]), &listen_addr);
    for (int i = 4; i < argc; i++) {
        char host[64];
        const char *colon = strrchr(argv[i], ':');
        size_t len = colon ? (size_t)(colon - argv[i]) : 0;
        if (!colon || len >= sizeof host) {
            fprintf(stderr, "udp_forward_floor: bad backend %s\n", argv[i]);
            return 64;
        }
        memcpy(host, argv[i], len);
        host[len] = 0;
        parse_addr(host, atoi(colon + 1), &backends[backend_count++]);
    }
    int threads = atoi(argv[3]);
    if (threads < 1)
        threads = 1;
    for (int t = 1; t < threads; t++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, serve, NULL))
            die("udp_forward_floor: pthread_create");
    }
    serve(NULL);
    return 0;
}
