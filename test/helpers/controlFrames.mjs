// Control-plane frames for the test tools: [u32 length][u8 type][payload] (docs/protocol.md).
export function frame(type, payload) {
  const b = Buffer.alloc(5 + payload.length);
  b.writeUInt32BE(1 + payload.length, 0);
  b[4] = type;
  payload.copy(b, 5);
  return b;
}
