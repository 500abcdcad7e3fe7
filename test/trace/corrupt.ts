/** Helpers that break a valid trace in one precise way (tests of validation and the CLI). */

export type Header = Record<string, unknown> & { __metadata__: Record<string, string> };

export function headerEnd(bytes: Uint8Array): number {
  return 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
}

export function readHeader(bytes: Uint8Array): Header {
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, headerEnd(bytes)))) as Header;
}

/** Re-encodes the header (`mutate` edits it in place, or returns raw JSON text) in front of the same data. */
export function rewriteHeader(bytes: Uint8Array, mutate: (header: Header) => string | undefined): Uint8Array {
  const header = readHeader(bytes);
  const json = mutate(header) ?? JSON.stringify(header);
  let text = new TextEncoder().encode(json);
  const pad = (8 - ((8 + text.length) % 8)) % 8;
  text = new TextEncoder().encode(json + ' '.repeat(pad));
  const end = headerEnd(bytes);
  const out = new Uint8Array(8 + text.length + bytes.length - end);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(bytes.subarray(end), 8 + text.length);
  return out;
}

/** Drops the CRC tables, so data-level corruption is left for the data rules to find. */
export function withoutChecksums(bytes: Uint8Array): Uint8Array {
  return rewriteHeader(bytes, (h) => {
    delete h.__metadata__['deltasim.tensors'];
    delete h.__metadata__['deltasim.checksums'];
    return undefined;
  });
}

/** Drops the tensors' CRC-32s but keeps their I8 scales: a data edit then leaves a valid trace. */
export function withoutTensorCrcs(bytes: Uint8Array): Uint8Array {
  return rewriteHeader(bytes, (h) => {
    const table = JSON.parse(h.__metadata__['deltasim.tensors'] ?? '{}') as Record<
      string,
      { crc32?: number }
    >;
    for (const record of Object.values(table)) delete record.crc32;
    h.__metadata__['deltasim.tensors'] = JSON.stringify(table);
    delete h.__metadata__['deltasim.checksums'];
    return undefined;
  });
}

/** File offset of the first byte of tensor `name`. */
export function tensorOffset(bytes: Uint8Array, name: string): number {
  const entry = readHeader(bytes)[name] as { data_offsets: [number, number] };
  return headerEnd(bytes) + entry.data_offsets[0];
}

export function editManifest(
  bytes: Uint8Array,
  edit: (manifest: Record<string, unknown>) => void,
): Uint8Array {
  return rewriteHeader(bytes, (h) => {
    const m = JSON.parse(h.__metadata__['deltasim.manifest']!) as Record<string, unknown>;
    edit(m);
    h.__metadata__['deltasim.manifest'] = JSON.stringify(m);
    delete h.__metadata__['deltasim.checksums'];
    return undefined;
  });
}
