/* Segmentation and coalescing of TCP over IPv4 and IPv6 for the TUN offloads (offload.c). */
#ifndef TSOVERLAY_OFFLOAD_H
#define TSOVERLAY_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdint.h>

/* Completes the checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
int tso_finish_checksum(uint8_t* pkt, uint32_t len, uint16_t start, uint16_t offset);
/* UDP segmentation offload (Linux 6.2; not in older headers). */
#define TSO_GSO_UDP_L4 5
#define TSO_TUN_F_USO4 0x20
#define TSO_TUN_F_USO6 0x40

/* Segments a TCP or UDP super-packet needs (proto 6 or 17, or 0: either), or
 * -1 if it is not one we can cut into segments of at most `room` bytes. */
int tso_segment_count(const uint8_t* pkt, uint32_t len, uint8_t proto, uint16_t gso_size, uint32_t room);
/* The IP and TCP or UDP header length of a super-packet tso_segment_count accepted. */
uint32_t tso_cut_header_len(const uint8_t* pkt, uint32_t len);
/* Writes the IP and TCP or UDP headers of segment k into out (its lengths,
 * TCP sequence number and flags, IPv4 ID and checksums, the payload summed where it lies in
 * pkt); returns the segment's payload length. */
uint32_t tso_segment_header(const uint8_t* pkt, uint32_t len, uint16_t gso_size, uint32_t k, uint8_t* out);
/* Cuts it into segments at out + i*stride, lengths[i]; returns the count. */
uint32_t tso_segment(const uint8_t* pkt, uint32_t len, uint16_t gso_size, uint8_t* out, uint32_t stride,
                     uint32_t* lengths);
/* How many of pkts[0..count) form one run of a TCP flow that can be glued (>= 1).
 * With unfinished (one flag per packet) set, a packet whose flag is 0 joins a run only
 * if its checksum holds: a glued run goes to the kernel as trusted. */
uint32_t tso_coalesce_run(uint8_t* const* pkts, const uint32_t* lens, uint32_t count, uint32_t max_total,
                          const uint8_t* unfinished);
/* The IP and TCP header length of a packet tso_coalesce_run can glue, or 0. */
uint32_t tso_header_len(const uint8_t* pkt, uint32_t len);
/* Rewrites the first packet's headers for a glued run of total_len bytes; fills the vnet header.
 * Returns the header length (what the other packets' payloads start after). */
uint32_t tso_coalesce_header(uint8_t* first, uint32_t first_len, uint32_t total_len, uint8_t last_flags,
                             struct virtio_net_hdr* h);

/* How many of pkts[0..count) are UDP datagrams of one flow, all as long as
 * the first but the last, that can be glued into one (>= 1). */
uint32_t uso_coalesce_run(uint8_t* const* pkts, const uint32_t* lens, uint32_t count, uint32_t max_segments, uint32_t max_total,
                          const uint8_t* unfinished);
/* Rewrites the first datagram's headers for a glued run of total_len bytes; fills the vnet header (GSO_UDP_L4). */
void uso_coalesce_header(uint8_t* first, uint32_t first_len, uint32_t total_len, struct virtio_net_hdr* h);

#endif
