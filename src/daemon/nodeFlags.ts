// V8's options for the daemon, on node's command line (bin/tsoverlay's
// shebang; the lab starts node with them too): they cannot be set once V8
// runs. A young generation of 1 MB semi-spaces and a heap that favours size
// keep the RSS of a daemon under control-port churn at ≈ 73 MB instead of
// ≈ 104 (docs/performance.md); the live heap is ≈ 10 MB either way.
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'];
