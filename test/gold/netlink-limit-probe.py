#!/usr/bin/env python3
# Adds table inet <table>, chain c, rule `limit rate 5/second accept` through raw netlink, the way
# Talos (google/nftables) builds it: NFTA_LIMIT_BURST set to the given number, or left out ("absent").
# nft fills in a burst itself, so this is the only way to see what the kernel does with burst 0.
# Usage (inside a throwaway namespace): netlink-limit-probe.py <table> <burst|absent>
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE, NLM_F_APPEND = 0x1, 0x4, 0x400, 0x800
NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END = 0x10, 0x11
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE = 0, 3, 6
NFPROTO_INET = 1
NLMSG_ERROR = 2


def attr(kind, data):
    size = 4 + len(data)
    return struct.pack("=HH", size, kind) + data + b"\0" * (-size % 4)


def nested(kind, data):
    return attr(kind | 0x8000, data)  # NLA_F_NESTED


def cstr(text):
    return text.encode() + b"\0"


def expr(name, data):
    return nested(1, attr(1, cstr(name)) + nested(2, data))  # NFTA_LIST_ELEM{NFTA_EXPR_NAME, NFTA_EXPR_DATA}


def message(seq, kind, flags, family, payload, res_id=0):
    body = struct.pack("=BBH", family, 0, socket.htons(res_id)) + payload
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def main(table, burst):
    nft = lambda m: (NFNL_SUBSYS_NFTABLES << 8) | m
    limit = [attr(4, struct.pack(">I", 0)), attr(1, struct.pack(">Q", 5)), attr(2, struct.pack(">Q", 1))]  # type pkts, rate 5, unit 1 s
    if burst != "absent":
        limit.append(attr(3, struct.pack(">I", int(burst))))
    limit.append(attr(5, struct.pack(">I", 0)))  # flags
    # immediate: dreg = verdict register, data = verdict accept (NF_ACCEPT = 1)
    accept = expr("immediate", attr(1, struct.pack(">I", 0)) + nested(2, nested(2, attr(1, struct.pack(">i", 1)))))
    create = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK
    batch = b"".join(
        [
            message(1, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, b"", NFNL_SUBSYS_NFTABLES),
            message(2, nft(NFT_MSG_NEWTABLE), create, NFPROTO_INET, attr(1, cstr(table))),
            message(3, nft(NFT_MSG_NEWCHAIN), create, NFPROTO_INET, attr(1, cstr(table)) + attr(3, cstr("c"))),
            message(4, nft(NFT_MSG_NEWRULE), create | NLM_F_APPEND, NFPROTO_INET,
                    attr(1, cstr(table)) + attr(2, cstr("c")) + nested(4, expr("limit", b"".join(limit)) + accept)),
            message(5, NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, b"", NFNL_SUBSYS_NFTABLES),
        ]
    )
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    sock.settimeout(2)
    sock.send(batch)
    acked = set()
    for _ in range(10):  # one ack per message; bounded
        data = sock.recv(65536)
        off = 0
        while off < len(data):
            size, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
            if kind == NLMSG_ERROR:
                err = struct.unpack_from("=i", data, off + 16)[0]
                if err != 0:
                    sys.exit(f"netlink error {err} for message {seq}")
                acked.add(seq)
            off += (size + 3) & ~3
        if {2, 3, 4} <= acked:
            return
    sys.exit("no acknowledgement from nf_tables")


main(sys.argv[1], sys.argv[2])
