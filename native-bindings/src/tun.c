/* TUN device: open by name, read a batch of packets into slab slots, write a batch out.
 * Each TUN read or write is one packet per system call (the kernel has no
 * batched TUN read); the batching here saves the JS<->C crossings. */
#include "addon.h"
#include "offload.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define VNET_HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr))

/* The L4 protocol of a super-packet the TUN handed over (TCPV4/6: TCP, USO: UDP), or 0: not one. */
static uint8_t gso_proto(uint8_t gso_type) {
  uint8_t gso = gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6) return 6;
  return gso == TSO_GSO_UDP_L4 ? 17 : 0;
}

/* Sets the offloads the options ask for, with UDP segmentation (USO) where
 * the kernel has it (6.2 on): 1 if it took USO, 0 if not, or -errno. Set
 * either way: a device adopted from an earlier run keeps that run's
 * offloads otherwise. */
static int set_offload(int fd, uint32_t options) {
  if (!(options & TSO_TUN_OFFLOAD)) return ioctl(fd, TUNSETOFFLOAD, 0UL) < 0 ? -errno : 0;
  unsigned long tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  if (ioctl(fd, TUNSETOFFLOAD, tcp | TSO_TUN_F_USO4 | TSO_TUN_F_USO6) == 0) return 1;
  return ioctl(fd, TUNSETOFFLOAD, tcp) < 0 ? -errno : 0;
}

/* tunOpen(name, options) -> { fd, name, uso } */
napi_value tso_tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[IFNAMSIZ] = {0};
  size_t name_len = 0;
  uint32_t options = 0;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len) != napi_ok ||
      !tso_arg_u32(env, argv[1], &options))
    return tso_throw_range(env, "tunOpen(name, options)");

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return tso_throw_errno(env, "open /dev/net/tun", errno);

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (options & TSO_TUN_VNET_HDR) ifr.ifr_flags |= IFF_VNET_HDR;
  memcpy(ifr.ifr_name, name, name_len < IFNAMSIZ - 1 ? name_len : IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return tso_throw_errno(env, "TUNSETIFF", err);
  }
  int uso = set_offload(fd, options);
  if (uso < 0) {
    close(fd);
    return tso_throw_errno(env, "TUNSETOFFLOAD", -uso);
  }

  napi_value out, fd_value, name_value, uso_value;
  TSO_CALL(env, napi_create_object(env, &out));
  TSO_CALL(env, napi_create_int32(env, fd, &fd_value));
  TSO_CALL(env, napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &name_value));
  napi_set_named_property(env, out, "fd", fd_value);
  napi_set_named_property(env, out, "name", name_value);
  TSO_CALL(env, napi_get_boolean(env, uso == 1, &uso_value));
  napi_set_named_property(env, out, "uso", uso_value);
  return out;
}

/* tunSetOffload(fd, options) -> uso: the offloads of a device opened
 * elsewhere (a predecessor's, handed over), as tunOpen sets them. */
napi_value tso_tun_set_offload(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  uint32_t options;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_u32(env, argv[1], &options))
    return tso_throw_range(env, "tunSetOffload(fd, options)");
  int uso = set_offload(fd, options);
  if (uso < 0) return tso_throw_errno(env, "TUNSETOFFLOAD", -uso);
  napi_value out;
  TSO_CALL(env, napi_get_boolean(env, uso == 1, &out));
  return out;
}

/* tunSetPersist(fd, on): a persistent device outlives its last descriptor
 * (with its addresses and routes); cleared, it goes when that one closes. */
napi_value tso_tun_set_persist(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  uint32_t on;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_u32(env, argv[1], &on))
    return tso_throw_range(env, "tunSetPersist(fd, on)");
  if (ioctl(fd, TUNSETPERSIST, on ? 1UL : 0UL) < 0) return tso_throw_errno(env, "TUNSETPERSIST", errno);
  return NULL;
}

/* tunRead(fd, slab, slotSize, headroom, max, lengths) -> count | -errno
 * Packet i lands at slab[i*slotSize + headroom]; reads stop at EAGAIN or max. */
napi_value tso_tun_read(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t fd;
  uint8_t* slab;
  size_t slab_len, lengths_len;
  uint32_t slot, headroom, max;
  uint32_t* lengths;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_u32(env, argv[2], &slot) || !tso_arg_u32(env, argv[3], &headroom) ||
      !tso_arg_u32(env, argv[4], &max) ||
      !tso_arg_typed(env, argv[5], napi_uint32_array, (void**)&lengths, &lengths_len))
    return tso_throw_range(env, "tunRead(fd, slab, slotSize, headroom, max, lengths)");
  if (headroom >= slot || max > lengths_len || (size_t)max * slot > slab_len)
    return tso_throw_range(env, "tunRead: batch does not fit the slab");

  uint32_t n = 0;
  while (n < max) {
    ssize_t r = read(fd, slab + (size_t)n * slot + headroom, slot - headroom);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || n > 0) break;
      return tso_int(env, -errno);
    }
    lengths[n++] = (uint32_t)r;
  }
  return tso_int(env, n);
}

/* tunReadVnet(fd, staging, slab, slotSize, headroom, max, lengths, unusable) -> slots filled | -errno
 * Reads [virtio_net_hdr][packet] into staging (65,546 bytes or more) and
 * lays the packet, or the segments of a TCP or UDP super-packet, into successive
 * slots; finishes partial checksums. Stops before a read whose segments might
 * not fit the free slots (a super-packet is at most 64 KiB / 536-byte MSS).
 * A read it cannot use (no header, a GSO type or headers it cannot cut, too
 * long for a slot) adds one to unusable[0]. */
#define MAX_SEGMENTS 128
napi_value tso_tun_read_vnet(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  int32_t fd;
  uint8_t *staging, *slab;
  size_t staging_len, slab_len, lengths_len, unusable_len;
  uint32_t slot, headroom, max;
  uint32_t *lengths, *unusable;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &staging, &staging_len) ||
      !tso_arg_buffer(env, argv[2], &slab, &slab_len) || !tso_arg_u32(env, argv[3], &slot) ||
      !tso_arg_u32(env, argv[4], &headroom) || !tso_arg_u32(env, argv[5], &max) ||
      !tso_arg_typed(env, argv[6], napi_uint32_array, (void**)&lengths, &lengths_len) ||
      !tso_arg_typed(env, argv[7], napi_uint32_array, (void**)&unusable, &unusable_len) || unusable_len < 1)
    return tso_throw_range(env, "tunReadVnet(fd, staging, slab, slotSize, headroom, max, lengths, unusable)");
  if (headroom >= slot || max > lengths_len || (size_t)max * slot > slab_len || staging_len < 65536 + VNET_HDR_LEN)
    return tso_throw_range(env, "tunReadVnet: batch does not fit the slab");

  uint32_t n = 0;
  uint32_t room = slot - headroom;
  while (n < max && (n == 0 || max - n >= MAX_SEGMENTS)) {
    ssize_t r = read(fd, staging, staging_len);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || n > 0) break;
      return tso_int(env, -errno);
    }
    if ((size_t)r < VNET_HDR_LEN) {
      unusable[0]++;
      continue;
    }
    struct virtio_net_hdr h;
    memcpy(&h, staging, sizeof h);
    uint8_t* pkt = staging + VNET_HDR_LEN;
    uint32_t len = (uint32_t)r - VNET_HDR_LEN;
    uint8_t* out = slab + (size_t)n * slot + headroom;
    uint8_t proto = gso_proto(h.gso_type);
    if (proto != 0) {
      int segments = tso_segment_count(pkt, len, proto, h.gso_size, room);
      if (segments < 0 || (uint32_t)segments > max - n) { /* cannot cut: lost, as with a bad NIC */
        unusable[0]++;
        continue;
      }
      n += tso_segment(pkt, len, h.gso_size, out, slot, lengths + n);
      continue;
    }
    if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE || len > room ||
        ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && tso_finish_checksum(pkt, len, h.csum_start, h.csum_offset) < 0)) {
      unusable[0]++;
      continue;
    }
    memcpy(out, pkt, len);
    lengths[n++] = len;
  }
  return tso_int(env, n);
}

/* tunReadWhole(fd, slab, headroom, segmentMax, max, offsets, lengths, gsoSizes, segments, segmentBytes, unusable, vnet) -> entries | -errno
 * Reads packets one after another into the slab, each `headroom` bytes past
 * a 64-byte line after the last, a TCP or UDP super-packet whole (with vnet: the
 * device has IFF_VNET_HDR), for udpSendCut to cut on its way out: none of
 * its bytes are copied here. offsets[i] and lengths[i] place entry i;
 * gsoSizes[i] is its segment size (0: a plain packet); segments[i] and
 * segmentBytes[i] are the IP packets and bytes it becomes once cut. Partial
 * checksums of plain packets are finished here; a super-packet's segments
 * get theirs when cut. A packet, or a segment, longer than segmentMax, or a
 * read that cannot be used (as tunReadVnet), adds one to unusable[0]. Stops
 * at EAGAIN, after max entries, or when less than 64 KiB is left. */
#define WHOLE_MAX 65535u
napi_value tso_tun_read_whole(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  int32_t fd;
  uint8_t* slab;
  size_t slab_len, offsets_len, lengths_len, gso_len, segments_len, bytes_len, unusable_len;
  uint32_t headroom, segment_max, max, vnet;
  uint32_t *offsets, *lengths, *segment_bytes, *unusable;
  uint16_t *gso_sizes, *segments;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 12 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_u32(env, argv[2], &headroom) || !tso_arg_u32(env, argv[3], &segment_max) ||
      !tso_arg_u32(env, argv[4], &max) ||
      !tso_arg_typed(env, argv[5], napi_uint32_array, (void**)&offsets, &offsets_len) ||
      !tso_arg_typed(env, argv[6], napi_uint32_array, (void**)&lengths, &lengths_len) ||
      !tso_arg_typed(env, argv[7], napi_uint16_array, (void**)&gso_sizes, &gso_len) ||
      !tso_arg_typed(env, argv[8], napi_uint16_array, (void**)&segments, &segments_len) ||
      !tso_arg_typed(env, argv[9], napi_uint32_array, (void**)&segment_bytes, &bytes_len) ||
      !tso_arg_typed(env, argv[10], napi_uint32_array, (void**)&unusable, &unusable_len) || unusable_len < 1 ||
      !tso_arg_u32(env, argv[11], &vnet))
    return tso_throw_range(env, "tunReadWhole(fd, slab, headroom, segmentMax, max, offsets, lengths, gsoSizes, segments, segmentBytes, unusable, vnet)");
  if (max > offsets_len || max > lengths_len || max > gso_len || max > segments_len || max > bytes_len ||
      headroom > 4096 || segment_max > WHOLE_MAX)
    return tso_throw_range(env, "tunReadWhole: batch does not fit the arrays");

  uint32_t n = 0;
  size_t line = 0; /* where the next entry's headroom starts */
  while (n < max && line + headroom + WHOLE_MAX <= slab_len) {
    uint8_t* pkt = slab + line + headroom;
    struct virtio_net_hdr h;
    struct iovec iov[2] = {{&h, sizeof h}, {pkt, WHOLE_MAX}};
    ssize_t r;
    do r = vnet ? readv(fd, iov, 2) : read(fd, pkt, WHOLE_MAX);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || n > 0) break;
      return tso_int(env, -errno);
    }
    if (!vnet) memset(&h, 0, sizeof h);
    else if ((size_t)r < VNET_HDR_LEN) {
      unusable[0]++;
      continue;
    }
    uint32_t len = (uint32_t)r - (vnet ? VNET_HDR_LEN : 0);
    uint8_t proto = gso_proto(h.gso_type);
    uint16_t gso_size = 0;
    uint32_t count = 1, bytes = len;
    if (proto != 0) {
      int cut = tso_segment_count(pkt, len, proto, h.gso_size, segment_max);
      if (cut < 0 || cut > MAX_SEGMENTS) { /* cannot cut: lost, as with a bad NIC */
        unusable[0]++;
        continue;
      }
      gso_size = h.gso_size;
      count = (uint32_t)cut;
      bytes = len + (count - 1) * tso_cut_header_len(pkt, len);
    } else if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE || len > segment_max ||
               ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && tso_finish_checksum(pkt, len, h.csum_start, h.csum_offset) < 0)) {
      unusable[0]++;
      continue;
    }
    offsets[n] = (uint32_t)(line + headroom);
    lengths[n] = len;
    gso_sizes[n] = gso_size;
    segments[n] = (uint16_t)count;
    segment_bytes[n] = bytes;
    n++;
    line = (line + headroom + len + 63) & ~(size_t)63;
  }
  return tso_int(env, n);
}

/* Datagrams glued into one UDP super-packet at most: the kernel's
 * UDP_MAX_SEGMENTS before 6.x raised it to 128. */
#define USO_MAX_SEGMENTS 64

/* A TCP super-packet handed to a TUN without virtio-net headers is cut here. */
#define SUPER_SCRATCH (256 * 1024)
static uint8_t super_scratch[SUPER_SCRATCH];

/* Writes the TCP super-packet pkt[0, len) to a TUN without virtio-net headers,
 * cut into segments of gso_size with their checksums; 0 or the first errno
 * (EINVAL: not a TCP packet that can be cut). */
static int write_cut(int fd, const uint8_t* pkt, uint32_t len, uint16_t gso_size) {
  int segments = tso_segment_count(pkt, len, 6, gso_size, 65535);
  if (segments < 0) return EINVAL;
  uint32_t ihl = (uint32_t)(pkt[0] & 15) * 4;
  uint32_t stride = ihl + (uint32_t)(pkt[ihl + 12] >> 4) * 4 + gso_size;
  if ((size_t)segments * stride > SUPER_SCRATCH) return EMSGSIZE;
  uint32_t lengths[MAX_SEGMENTS * 2];
  if ((uint32_t)segments > sizeof lengths / sizeof lengths[0]) return EMSGSIZE;
  uint32_t n = tso_segment(pkt, len, gso_size, super_scratch, stride, lengths);
  int err = 0;
  for (uint32_t k = 0; k < n; k++) {
    ssize_t r;
    do r = write(fd, super_scratch + (size_t)k * stride, lengths[k]);
    while (r < 0 && errno == EINTR);
    if (r < 0 && err == 0) err = errno;
  }
  return err;
}

/* tunWrite(fd, slab, offsets, lengths, csumStarts, csumOffsets, gsoSizes, status, count, vnet) -> packets written
 * With vnet (the device has IFF_VNET_HDR), runs of consecutive segments of
 * one TCP flow go out as one super-packet (a virtio_net_hdr asking for TCPV4/6
 * segmentation, writev of the pieces), and with vnet & TSO_TUN_WRITE_USO (the
 * device took USO) so do runs of equal UDP datagrams of one flow (GSO_UDP_L4);
 * with vnet & TSO_TUN_WRITE_CHECK a packet whose checksum is complete joins a
 * run only if it holds (the kernel trusts a glued run and sums it anew), so a
 * bad one goes alone, for the kernel to check and drop;
 * everything else one by one behind a header of its own; without, one write per packet. csumStarts[i] != 0 marks
 * a packet whose L4 checksum is unfinished (the pseudo-header sum at
 * csumStarts[i] + csumOffsets[i]): with vnet the header asks the kernel to
 * finish it (NEEDS_CSUM), as the kernel does for its own such packets;
 * without, it is finished here, in place. gsoSizes[i] != 0 marks a TCP
 * super-packet (with its checksum unfinished) that a peer's kernel sent whole
 * over a veth: with vnet it goes behind a TCPV4/6 header for the kernel to cut
 * at gsoSizes[i], without it is cut here. status[i] is 0 for a packet
 * written, else the errno of its write (every packet of a glued run shares
 * one). After EAGAIN (the queue is full) nothing more is tried: the rest
 * have EAGAIN. Which packets to mark, and what to count, is TypeScript's. */
napi_value tso_tun_write(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  int32_t fd;
  uint8_t *slab, *csum_starts, *csum_offsets;
  size_t slab_len, offsets_len, lengths_len, starts_len, csum_offsets_len, gso_len, status_len;
  uint32_t *offsets, *lengths, count, vnet;
  uint16_t* gso_sizes;
  int32_t* status;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10 || !tso_arg_i32(env, argv[0], &fd) || !tso_arg_buffer(env, argv[1], &slab, &slab_len) ||
      !tso_arg_typed(env, argv[2], napi_uint32_array, (void**)&offsets, &offsets_len) ||
      !tso_arg_typed(env, argv[3], napi_uint32_array, (void**)&lengths, &lengths_len) ||
      !tso_arg_typed(env, argv[4], napi_uint8_array, (void**)&csum_starts, &starts_len) ||
      !tso_arg_typed(env, argv[5], napi_uint8_array, (void**)&csum_offsets, &csum_offsets_len) ||
      !tso_arg_typed(env, argv[6], napi_uint16_array, (void**)&gso_sizes, &gso_len) ||
      !tso_arg_typed(env, argv[7], napi_int32_array, (void**)&status, &status_len) ||
      !tso_arg_u32(env, argv[8], &count) || !tso_arg_u32(env, argv[9], &vnet))
    return tso_throw_range(env, "tunWrite(fd, slab, offsets, lengths, csumStarts, csumOffsets, gsoSizes, status, count, vnet)");
  if (count > offsets_len || count > lengths_len || count > starts_len || count > csum_offsets_len ||
      count > gso_len || count > status_len || count > TSO_MAX_SEND)
    return tso_throw_range(env, "tunWrite: count exceeds arrays");

  uint8_t* pkts[TSO_MAX_SEND];
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t)offsets[i] + lengths[i] > slab_len) return tso_throw_range(env, "tunWrite: packet outside slab");
    pkts[i] = slab + offsets[i];
  }
  uint32_t written = 0;
  struct iovec iov[MAX_SEGMENTS + 2];
  for (uint32_t i = 0; i < count;) {
    uint32_t limit = count - i < MAX_SEGMENTS ? count - i : MAX_SEGMENTS;
    const uint8_t* unfinished = vnet & TSO_TUN_WRITE_CHECK ? csum_starts + i : NULL;
    uint32_t run = vnet && gso_sizes[i] == 0 ? tso_coalesce_run(pkts + i, lengths + i, limit, 65535, unfinished) : 1;
    int udp_run = 0;
    if (run == 1 && (vnet & TSO_TUN_WRITE_USO) && gso_sizes[i] == 0) {
      run = uso_coalesce_run(pkts + i, lengths + i, limit, USO_MAX_SEGMENTS, 65535, unfinished);
      udp_run = run > 1;
    }
    if (gso_sizes[i] != 0 && !vnet) {
      /* Not glued, and no header: cut it into segments here. */
      int err = write_cut(fd, pkts[i], lengths[i], gso_sizes[i]);
      status[i] = err;
      i++;
      if (err == 0) written++;
      else if (err == EAGAIN) for (; i < count; i++) status[i] = EAGAIN;
      continue;
    }
    struct virtio_net_hdr h;
    memset(&h, 0, sizeof h);
    int iovs = 2;
    iov[0].iov_base = &h;
    iov[0].iov_len = sizeof h;
    if (run > 1) {
      uint32_t hlen = udp_run ? tso_cut_header_len(pkts[i], lengths[i]) : tso_header_len(pkts[i], lengths[i]);
      uint32_t flags_at = ((pkts[i][0] >> 4) == 6 ? 40 : 20) + 13;
      uint32_t total = lengths[i];
      for (uint32_t k = 1; k < run; k++) total += lengths[i + k] - hlen;
      if (udp_run) uso_coalesce_header(pkts[i], lengths[i], total, &h);
      else tso_coalesce_header(pkts[i], lengths[i], total, pkts[i + run - 1][flags_at], &h);
      iov[1].iov_base = pkts[i];
      iov[1].iov_len = lengths[i];
      for (uint32_t k = 1; k < run; k++) {
        iov[iovs].iov_base = pkts[i + k] + hlen;
        iov[iovs].iov_len = lengths[i + k] - hlen;
        iovs++;
      }
    } else {
      iov[1].iov_base = pkts[i];
      iov[1].iov_len = lengths[i];
      uint32_t start = csum_starts[i], field = csum_offsets[i];
      if (start != 0 && start + field + 2 <= lengths[i]) {
        if (vnet) {
          h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
          h.csum_start = (uint16_t)start;
          h.csum_offset = (uint16_t)field;
          if (gso_sizes[i] != 0 && start + 20 <= lengths[i]) {
            h.gso_type = (pkts[i][0] >> 4) == 6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
            h.gso_size = gso_sizes[i];
            h.hdr_len = (uint16_t)(start + (uint32_t)(pkts[i][start + 12] >> 4) * 4);
          }
        } else {
          tso_finish_checksum(pkts[i], lengths[i], (uint16_t)start, (uint16_t)field);
        }
      }
    }
    ssize_t r;
    do r = vnet ? writev(fd, iov, iovs) : write(fd, pkts[i], lengths[i]);
    while (r < 0 && errno == EINTR);
    int err = r >= 0 ? 0 : errno;
    for (uint32_t k = 0; k < run; k++) status[i + k] = err;
    i += run;
    if (err == 0) {
      written += run;
    } else if (err == EAGAIN) {
      for (; i < count; i++) status[i] = EAGAIN;
    }
  }
  return tso_int(env, written);
}
