{
  "targets": [
    {
      "target_name": "tsoverlay_native",
      "sources": ["src/addon.c", "src/tun.c", "src/udp.c", "src/poll.c", "src/offload.c", "src/seal.c", "src/handover.c"],
      "libraries": ["-lsodium"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
