/*
 * null_dns: the cheapest UDP "DNS server" there is, for tests/bench/dns.sh. It answers every
 * query with the query itself flagged as a response (QR, AA, NXDOMAIN), reading and sending
 * in batches of 32 with recvmmsg/sendmmsg on one blocking socket, and does nothing else.
 *
 * What dnsperf gets from it is the ceiling of the load generator on this machine: no real
 * server can be measured above it, whatever it does.
 *
 *   cc -O2 -o null_dns tests/bench/null_dns.c && ./null_dns PORT
 *
 * Listens on 127.0.0.1:PORT until killed. Benchmark harness only: not part of koi.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 32
#define BUF 4096

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: null_dns PORT\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int rcvbuf = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind");
        return 1;
    }
    static char bufs[BATCH][BUF];
    struct sockaddr_in peers[BATCH];
    struct iovec iovs[BATCH];
    struct mmsghdr msgs[BATCH];
    for (;;) {
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < BATCH; i++) {
            iovs[i].iov_base = bufs[i];
            iovs[i].iov_len = BUF;
            msgs[i].msg_hdr.msg_name = &peers[i];
            msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue;
        int out = 0;
        for (int i = 0; i < n; i++) {
            unsigned len = msgs[i].msg_len;
            if (len < 12)
                continue;
            bufs[i][2] |= (char)0x84; /* QR, AA */
            bufs[i][3] = (char)0x83;  /* RA, NXDOMAIN */
            iovs[i].iov_len = len;
            if (out != i) {
                msgs[out] = msgs[i];
            }
            out++;
        }
        if (out > 0)
            sendmmsg(fd, msgs, out, MSG_DONTWAIT);
    }
}
