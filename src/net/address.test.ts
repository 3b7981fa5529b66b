// Address and prefix parsing/formatting: round trips, prefix ranges, range→prefix detection, and IPv6 text
// compared with inet_ntop (glibc, which nft uses) and with WHATWG's canonical form from Node's URL parser.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  AddressParseError,
  FAMILY_MAX,
  formatAddress,
  hasHostBits,
  isIPv4Mapped,
  parseAddress,
  parsePrefix,
  prefixRange,
  rangeAsPrefixLength,
  type Family,
} from "./address.js";

const SEED = 20240611;
const RUNS = 1000;
const check = <T>(property: fc.IProperty<T>) => fc.assert(property, { seed: SEED, numRuns: RUNS });

const MAX4 = FAMILY_MAX[4];
const MAX6 = FAMILY_MAX[6];
const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** IPv6 values built from 16-bit words that are often 0 or ffff, so zero runs, ties and the mapped forms occur. */
const word = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.constant(1), fc.integer({ min: 0, max: 0xffff }));
const words8 = fc.array(word, { minLength: 8, maxLength: 8 });
const fromWords = (ws: readonly number[]) => ws.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
const v6Arb = fc.oneof(words8.map(fromWords), fc.bigInt({ min: 0n, max: MAX6 }), fc.constantFrom(0n, 1n, MAX6, MAX6 - 1n, 0xffffn << 32n));
const v4Arb = fc.oneof(fc.bigInt({ min: 0n, max: MAX4 }), fc.constantFrom(0n, 1n, MAX4, MAX4 - 1n, 0x0a000000n));
const addressArb = fc.oneof(
  v4Arb.map((value) => ({ family: 4 as Family, value })),
  v6Arb.map((value) => ({ family: 6 as Family, value })),
);
const prefixArb = addressArb.chain(({ family, value }) =>
  fc.oneof(fc.integer({ min: 0, max: BITS[family] }), fc.constantFrom(0, BITS[family])).map((bits) => ({ family, value, bits })),
);

/** WHATWG's canonical IPv6 text (lower-case hex, first longest zero run of two or more compressed). */
const whatwg = (text: string) => new URL(`http://[${text}]/`).hostname.slice(1, -1);

/** The dotted-quad forms glibc's inet_ntop prints: ::ffff:a.b.c.d and ::a.b.c.d (only when that is the best zero run). */
function embeddedV4(value: bigint): string | null {
  const ws = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  const v4 = formatAddress(4, value & 0xffffffffn);
  if (ws.slice(0, 5).every((w) => w === 0) && ws[5] === 0xffff) return `::ffff:${v4}`;
  if (ws.slice(0, 6).every((w) => w === 0) && ws[6] !== 0) return `::${v4}`;
  return null;
}

describe("formatAddress and parseAddress", () => {
  it("round-trip every address of both families", () => {
    check(
      fc.property(addressArb, ({ family, value }) => {
        const text = formatAddress(family, value);
        assert.deepEqual(parseAddress(text), { family, value }, text);
      }),
    );
  });

  it("IPv4 prints as dotted decimal without leading zeros", () => {
    check(
      fc.property(v4Arb, (value) => {
        const octets = [24n, 16n, 8n, 0n].map((s) => Number((value >> s) & 0xffn));
        assert.equal(formatAddress(4, value), octets.join("."));
      }),
    );
  });

  it("IPv6 prints as WHATWG's canonical form, except the two dotted forms inet_ntop uses", () => {
    check(
      fc.property(v6Arb, (value) => {
        const text = formatAddress(6, value);
        const dotted = embeddedV4(value);
        if (dotted !== null) assert.equal(text, dotted);
        else assert.equal(text, whatwg(text));
        // Either way it denotes the same address as WHATWG's own rendering of the full form.
        const full = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(":");
        assert.equal(whatwg(text), whatwg(full));
      }),
    );
  });

  it("parses every way of writing an IPv6 address: full, any zero run compressed, a dotted quad at the end", () => {
    const spellings = fc.tuple(v6Arb, fc.boolean(), fc.nat(8), fc.nat(8));
    check(
      fc.property(spellings, ([value, dotted, from, length]) => {
        const words = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
        const hexWords = words.slice(0, dotted ? 6 : 8).map((w) => w.toString(16));
        const quad = dotted ? `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}` : null;
        // Compress words [from, from + length) when they are all zero (at most one run, of at least one word).
        const end = Math.min(from + length, hexWords.length);
        const run = from < end && words.slice(from, end).every((w) => w === 0);
        const head = hexWords.slice(0, run ? from : hexWords.length).join(":");
        const tail = [...(run ? hexWords.slice(end) : []), ...(quad === null ? [] : [quad])].join(":");
        const text = run ? `${head}::${tail}` : [head, ...(quad === null ? [] : [quad])].join(":");
        assert.deepEqual(parseAddress(text), { family: 6, value }, text);
      }),
    );
  });

  it("matches glibc inet_ntop on fixed cases", () => {
    // Outputs taken from glibc's inet_ntop (via Python's socket.inet_ntop on Debian).
    const cases: [string, string][] = [
      ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
      ["::1.2.3.4", "::1.2.3.4"],
      ["::1", "::1"],
      ["::", "::"],
      ["::ffff:0:0", "::ffff:0.0.0.0"],
      ["::1:0", "::0.1.0.0"],
      ["::ffff:0:1", "::ffff:0.0.0.1"],
      ["0:0:0:0:0:0:ffff:1", "::255.255.0.1"],
      ["::fffe:1.2.3.4", "::fffe:102:304"],
      ["0:0:0:0:1:ffff:1:2", "::1:ffff:1:2"],
      ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
      ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"],
      ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
      ["1::", "1::"],
      ["::2:0:0", "::2:0:0"],
      ["FFFF:ffff:ffff:ffff:ffff:ffff:ffff:FFFF", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    ];
    for (const [input, expected] of cases) {
      const a = parseAddress(input);
      assert.ok(a && a.family === 6, input);
      assert.equal(formatAddress(6, a.value), expected, input);
    }
  });

  it("parses the top and bottom addresses", () => {
    assert.deepEqual(parseAddress("255.255.255.255"), { family: 4, value: MAX4 });
    assert.deepEqual(parseAddress("0.0.0.0"), { family: 4, value: 0n });
    assert.deepEqual(parseAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), { family: 6, value: MAX6 });
    assert.deepEqual(parseAddress("::"), { family: 6, value: 0n });
    assert.deepEqual(parseAddress("1:2:3:4:5:6:1.2.3.4"), { family: 6, value: fromWords([1, 2, 3, 4, 5, 6, 0x0102, 0x0304]) });
    assert.deepEqual(parseAddress("1:2:3:4:5:6:7::"), { family: 6, value: fromWords([1, 2, 3, 4, 5, 6, 7, 0]) });
  });

  it("rejects what Go's netip.ParseAddr rejects", () => {
    for (const bad of [
      "010.1.2.3",
      "1.2.3",
      "1.2.3.256",
      "1.2.3.4.5",
      "fe80::1%eth0",
      "1.2.3.4%x",
      "1:2:3:4:5:6:7:8:9",
      "1:::2",
      "00000::1",
      "::ffff:01.2.3.4",
      "",
      " 1.2.3.4",
      "1.2.3.4 ",
    ]) {
      assert.equal(parseAddress(bad), null, bad);
    }
  });
});

describe("parsePrefix and prefixRange", () => {
  it("round-trips formatted prefixes, keeping host bits and the text", () => {
    check(
      fc.property(prefixArb, ({ family, value, bits }) => {
        const text = `${formatAddress(family, value)}/${bits}`;
        assert.deepEqual(parsePrefix(text), { family, addr: value, bits, text });
      }),
    );
  });

  it("prefixRange is the aligned block of 2^(width-bits) addresses containing the address", () => {
    check(
      fc.property(prefixArb, ({ family, value, bits }) => {
        const { lo, hi } = prefixRange({ family, addr: value, bits, text: "" });
        const size = 1n << BigInt(BITS[family] - bits);
        assert.equal(hi - lo + 1n, size);
        assert.equal(lo % size, 0n);
        assert.ok(lo <= value && value <= hi);
        assert.ok(hi <= FAMILY_MAX[family]);
        assert.equal(hasHostBits({ family, addr: value, bits, text: "" }), value !== lo);
        assert.equal(rangeAsPrefixLength(family, lo, hi), bits);
      }),
    );
  });

  it("handles /0, /32, /128 and the top addresses", () => {
    assert.deepEqual(prefixRange(parsePrefix("0.0.0.0/0")), { lo: 0n, hi: MAX4 });
    assert.deepEqual(prefixRange(parsePrefix("10.1.2.3/0")), { lo: 0n, hi: MAX4 });
    assert.deepEqual(prefixRange(parsePrefix("::/0")), { lo: 0n, hi: MAX6 });
    assert.deepEqual(prefixRange(parsePrefix("255.255.255.255/32")), { lo: MAX4, hi: MAX4 });
    assert.deepEqual(prefixRange(parsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")), { lo: MAX6, hi: MAX6 });
    assert.deepEqual(prefixRange(parsePrefix("255.255.255.255/1")), { lo: 1n << 31n, hi: MAX4 });
    assert.deepEqual(prefixRange(parsePrefix("10.0.0.5/8")), { lo: 0x0a000000n, hi: 0x0affffffn });
    const mapped = parsePrefix("::ffff:10.0.0.0/104");
    assert.deepEqual(prefixRange(mapped), { lo: (0xffffn << 32n) | 0x0a000000n, hi: (0xffffn << 32n) | 0x0affffffn });
  });

  it("classifies IPv4-mapped prefixes as IPv6 (only inside ::ffff:0:0/96)", () => {
    assert.equal(parsePrefix("::ffff:10.0.0.0/104").family, 6);
    assert.equal(isIPv4Mapped(parsePrefix("::ffff:10.0.0.0/104")), true);
    assert.equal(isIPv4Mapped(parsePrefix("::ffff:0.0.0.0/96")), true);
    assert.equal(isIPv4Mapped(parsePrefix("::ffff:0.0.0.0/95")), false);
    assert.equal(isIPv4Mapped(parsePrefix("::1.2.3.4/128")), false);
    assert.equal(isIPv4Mapped(parsePrefix("10.0.0.0/8")), false);
  });

  it('throws AddressParseError with Go\'s `netip.ParsePrefix("…"): ` prefix', () => {
    const cases: [string, string][] = [
      ["10.0.0.1", "no '/'"],
      ["", "no '/'"],
      ["fe80::1%eth0/64", "IPv6 zones cannot be present in a prefix"],
      ["10.0.0.0/33", "prefix length out of range"],
      ["::/129", "prefix length out of range"],
      ["10.0.0.0/+8", 'bad bits after slash: "+8"'],
      ["10.0.0.0/8 ", 'bad bits after slash: "8 "'],
      ["010.0.0.0/8", 'ParseAddr("010.0.0.0"): IPv4 field has octet with leading zero'],
    ];
    for (const [text, reason] of cases) {
      assert.throws(
        () => parsePrefix(text),
        (e: unknown) => e instanceof AddressParseError && e.message === `netip.ParsePrefix(${JSON.stringify(text)}): ${reason}`,
        text,
      );
    }
  });

  it("accepts upper-case hex", () => {
    assert.equal(parsePrefix("2001:DB8::/32").addr, parsePrefix("2001:db8::/32").addr);
  });
});

describe("rangeAsPrefixLength", () => {
  /** Brute force: the prefix length whose block starting at lo is exactly [lo, hi], if any. */
  function oracle(family: Family, lo: bigint, hi: bigint): number | null {
    for (let bits = 0; bits <= BITS[family]; bits++) {
      const r = prefixRange({ family, addr: lo, bits, text: "" });
      if (r.lo === lo && r.hi === hi) return bits;
    }
    return null;
  }

  it("agrees with brute force on arbitrary IPv4 ranges, near-aligned ones included", () => {
    const endArb = fc.oneof(
      v4Arb,
      fc.integer({ min: 0, max: 32 }).map((k) => (1n << BigInt(k)) - 1n),
      fc.integer({ min: 0, max: 32 }).map((k) => (1n << BigInt(k)) & MAX4),
    );
    check(
      fc.property(endArb, endArb, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        assert.equal(rangeAsPrefixLength(4, lo, hi), oracle(4, lo, hi));
      }),
    );
  });

  it("agrees with brute force on IPv6 ranges around block boundaries", () => {
    const arb = fc.tuple(v6Arb, fc.integer({ min: 0, max: 128 }), fc.constantFrom(-1n, 0n, 1n)).map(([v, bits, nudge]) => {
      const r = prefixRange({ family: 6, addr: v, bits, text: "" });
      const hi = r.hi + nudge;
      return { lo: r.lo, hi: hi < r.lo ? r.lo : hi > MAX6 ? MAX6 : hi };
    });
    check(fc.property(arb, ({ lo, hi }) => assert.equal(rangeAsPrefixLength(6, lo, hi), oracle(6, lo, hi))));
  });

  it("fixed cases: single addresses, whole spaces, adjacent halves, unaligned blocks", () => {
    assert.equal(rangeAsPrefixLength(4, 0n, MAX4), 0);
    assert.equal(rangeAsPrefixLength(6, 0n, MAX6), 0);
    assert.equal(rangeAsPrefixLength(4, MAX4, MAX4), 32);
    assert.equal(rangeAsPrefixLength(6, MAX6, MAX6), 128);
    assert.equal(rangeAsPrefixLength(4, 0x0a000000n, 0x0a03ffffn), 14); // 10.0.0.0/14
    assert.equal(rangeAsPrefixLength(4, 0x0a000000n, 0x0a02ffffn), null); // 10.0.0.0-10.2.255.255
    assert.equal(rangeAsPrefixLength(4, 0x0a000001n, 0x0a000002n), null); // size 2, unaligned
    assert.equal(rangeAsPrefixLength(4, 1n << 31n, MAX4), 1);
  });
});
