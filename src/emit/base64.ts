// The base64 decoder that generated modules carry (baked parameters, WebAssembly kernel bytes): no `atob`,
// so a module needs neither a DOM nor Node's globals in its types or at run time.

/** The decoder's source, a function of that name from base64 text to bytes. */
export function base64DecoderSource(name: string): string {
  return `function ${name}(text: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    value = (value << 6) | alphabet.indexOf(clean[i]!);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 255;
    }
  }
  return out;
}`;
}
