// Exact number formatting for people: thousands separators and byte sizes with labelled units.

/** Formats an exact integer with `,` thousands separators. */
export function grouped(n: bigint): string {
  const s = (n < 0n ? -n : n).toString();
  const out = s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0n ? `-${out}` : out;
}

/** Exact bytes with both binary (MiB, GiB) and decimal (MB, GB) units, two decimals. */
export function humanBytes(bytes: bigint): string {
  const unit = (base: bigint, names: string[]): string => {
    let value = bytes;
    let i = 0;
    let div = 1n;
    while (i < names.length - 1 && value >= base) {
      value /= base;
      div *= base;
      i++;
    }
    if (i === 0) return `${bytes} B`;
    // Two decimals, rounded half up, in exact arithmetic.
    const hundredths = (bytes * 100n + div / 2n) / div;
    return `${hundredths / 100n}.${String(hundredths % 100n).padStart(2, "0")} ${names[i]}`;
  };
  return `${grouped(bytes)} bytes (${unit(1024n, ["B", "KiB", "MiB", "GiB", "TiB"])}, ${unit(1000n, ["B", "kB", "MB", "GB", "TB"])})`;
}
