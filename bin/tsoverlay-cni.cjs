#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// The CNI plugin, installed as <CNI bin dir>/tsoverlay (a link to this file):
// one CommonJS bundle, the quickest thing Node starts. It makes no TLS
// connection: unsetting NODE_EXTRA_CA_CERTS spares Node reading a CA bundle
// at every start.
require('../dist/cni/plugin.cjs');
